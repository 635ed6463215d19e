//! `sigward match --policy POLICY [--output json] IMAGE...`

use std::path::Path;

use serde_json::json;
use sigward_host::runtime::{Evidence, MatchResult};

use sigward_host::decide::action_name;

use super::{Exit, Line, Loaded, fail, load_policy, runtime};
use crate::Output;

/// One image's answer, before printing.
struct Row<'a> {
    image: &'a str,
    result: Result<MatchResult, String>,
}

pub fn run(policy: &Path, output: Output, images: &[String]) -> Exit {
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut session = match load_policy(&runtime, policy) {
        Err(e) => return fail(e),
        Ok(Loaded::Invalid(errors)) => {
            eprintln!("sigward: {}: invalid policy", policy.display());
            for error in &errors {
                eprintln!("  error: {}", Line(error));
            }
            return Exit::Invalid;
        }
        Ok(Loaded::Valid(session)) => session,
    };
    let mut rows = Vec::with_capacity(images.len());
    for image in images {
        let result = match session.match_image(image) {
            Ok(answer) => answer.map_err(|e| e.message),
            // The guest stopped: nothing more can be answered.
            Err(e) => return fail(e),
        };
        rows.push(Row { image, result });
    }
    match output {
        Output::Json => {
            for row in &rows {
                println!("{}", to_json(row));
            }
        }
        Output::Text => print_table(&rows),
    }
    if rows.iter().any(|r| r.result.is_err()) {
        Exit::Invalid
    } else {
        Exit::Ok
    }
}

/// What a verify rule asks for, in words.
fn describe(evidence: &Evidence) -> String {
    match evidence {
        Evidence::Keyless(k) => {
            let mut s = format!("keyless: issuer {}", k.issuer);
            if let Some(subject) = &k.subject {
                s.push_str(&format!(", subject {subject}"));
            }
            if let Some(regex) = &k.subject_regex {
                s.push_str(&format!(", subject matching `{regex}`"));
            }
            s
        }
        Evidence::PublicKey(_) => "signature by the rule's public key".to_owned(),
    }
}

fn to_json(row: &Row<'_>) -> serde_json::Value {
    match &row.result {
        Ok(m) => json!({
            "image": row.image,
            "reference": m.reference,
            "digest": m.digest,
            "rule": m.rule,
            "action": action_name(m.action),
            "message": m.message,
            "evidence": m.evidence.as_ref().map(evidence_json),
            "error": null,
        }),
        Err(e) => json!({
            "image": row.image,
            "reference": null,
            "digest": null,
            "rule": null,
            "action": null,
            "message": null,
            "evidence": null,
            "error": e,
        }),
    }
}

fn evidence_json(evidence: &Evidence) -> serde_json::Value {
    match evidence {
        Evidence::Keyless(k) => json!({
            "keyless": {
                "issuer": k.issuer,
                "subject": k.subject,
                "subjectRegex": k.subject_regex,
            }
        }),
        Evidence::PublicKey(pem) => json!({ "publicKey": pem }),
    }
}

fn print_table(rows: &[Row<'_>]) {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|row| match &row.result {
            Ok(m) => [
                row.image.to_owned(),
                m.reference.clone(),
                m.rule
                    .map_or_else(|| "-".to_owned(), |r| format!("({r:04})")),
                action_name(m.action).to_owned(),
                match &m.evidence {
                    Some(evidence) => describe(evidence),
                    None => m.message.clone(),
                },
            ],
            Err(e) => [
                row.image.to_owned(),
                "-".to_owned(),
                "-".to_owned(),
                "error".to_owned(),
                format!("invalid image reference: {e}"),
            ],
        })
        .collect();
    let header = ["IMAGE", "REFERENCE", "RULE", "ACTION", "DETAIL"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&cells) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        println!("{}", line.trim_end());
    }
}
