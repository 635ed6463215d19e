//! `sigward affected` without images: every image of the inventory store
//! that a stored advisory affects, with the advisory, its aliases, its
//! severity, the fixed version and where the image runs.

use serde_json::json;
use sigward_host::inventory::severity::Level;
use sigward_host::inventory::{Exposure, Query};

use super::inventory::Db;
use super::{Exit, fail};
use crate::Output;

#[derive(clap::Args)]
pub struct StoreQuery {
    #[command(flatten)]
    db: Db,
    /// Only this advisory, by its id or an alias (a CVE id).
    #[arg(long)]
    advisory: Option<String>,
    /// Only advisories at least this severe (LOW, MEDIUM, HIGH, CRITICAL).
    #[arg(long, value_parser = parse_level)]
    severity: Option<Level>,
    /// Only what became affected through advisories imported (added or
    /// changed) after this time: RFC 3339, or a duration ago (`90m`, `24h`, `7d`).
    #[arg(long, value_parser = parse_since)]
    since: Option<i64>,
    /// Exit 1 when a finding is at least this severe (as `trivy --exit-code 1
    /// --severity LEVEL`).
    #[arg(long, value_parser = parse_level)]
    fail_on: Option<Level>,
}

impl StoreQuery {
    /// Whether any of the store's options was given.
    pub fn is_set(&self) -> bool {
        self.db.url.is_some()
            || self.advisory.is_some()
            || self.severity.is_some()
            || self.since.is_some()
            || self.fail_on.is_some()
    }
}

fn parse_level(text: &str) -> Result<Level, String> {
    text.parse()
}

/// RFC 3339, or `N{s,m,h,d}` before now: microseconds since the epoch.
fn parse_since(text: &str) -> Result<i64, String> {
    if let Some(t) = sigward_host::inventory::osv::micros(text) {
        return Ok(t);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 && n >= 0 => Ok(sigward_host::inventory::now_micros()
            .saturating_sub(n.saturating_mul(seconds).saturating_mul(1_000_000))),
        _ => Err(format!(
            "`{text}` is neither an RFC 3339 time nor a duration such as 24h"
        )),
    }
}

pub fn run(args: &StoreQuery, output: Output) -> Exit {
    let mut store = match args.db.open() {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let query = Query {
        advisory: args.advisory.clone(),
        severity: args.severity,
        since: args.since,
    };
    let mut worst: Option<Level> = None;
    let mut findings = 0usize;
    let done = store.affected(&query, &mut |e| {
        findings += e.images.len();
        worst = worst.max(Some(e.severity));
        match output {
            Output::Json => println!("{}", to_json(&e)),
            Output::Text => print_text(&e),
        }
    });
    if let Err(e) = done {
        return fail(e);
    }
    if output == Output::Text && findings == 0 {
        println!("CLEAN    no stored image is affected by the advisories asked about");
    }
    match (args.fail_on, worst) {
        (Some(threshold), Some(worst)) if worst >= threshold => Exit::Refused,
        _ => Exit::Ok,
    }
}

fn to_json(e: &Exposure) -> serde_json::Value {
    json!({
        "advisory": e.advisory,
        "aliases": e.aliases,
        "severity": e.severity.as_str(),
        "score": e.score,
        "summary": e.summary,
        "package": {"name": e.package.name, "version": e.package.version, "purl": e.package.purl},
        "fixed": e.fixed,
        "images": e.images.iter().map(|h| json!({
            "digest_ref": format!("{}@{}", h.repository, h.digest),
            "repository": h.repository,
            "digest": h.digest,
            "rule": h.rule,
            "tags": h.tags,
            "running": h.places.iter().map(|p| json!({
                "cluster": p.cluster, "namespace": p.namespace, "kind": p.kind, "name": p.name,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn print_text(e: &Exposure) {
    let aliases = if e.aliases.is_empty() {
        String::new()
    } else {
        format!(" ({})", e.aliases.join(", "))
    };
    let fix = e
        .fixed
        .as_deref()
        .map_or_else(|| "no fix".to_owned(), |v| format!("fixed in {v}"));
    println!(
        "AFFECTED {}{aliases} {}  {}  {fix}",
        e.advisory,
        e.severity,
        e.package.purl.as_deref().unwrap_or(&e.package.name),
    );
    for h in &e.images {
        let tags = if h.tags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", h.tags.join(", "))
        };
        println!("  {}@{}{tags}", h.repository, h.digest);
        for p in &h.places {
            if p.name.is_empty() {
                println!("    running in {}/{}", p.cluster, p.namespace);
            } else {
                println!(
                    "    running in {}/{}: {} {}",
                    p.cluster, p.namespace, p.kind, p.name
                );
            }
        }
    }
}
