//! `sigward serve` gating admission on current advisories (sigward's
//! `advisories`): an advisory that appears while the server runs refuses
//! the next admission of an affected image under a rule that asks for it,
//! naming the advisory, the package and the fixed version; images under
//! other rules are untouched; `/metrics` counts the admitted images
//! affected, by severity. The advisories come from a directory, and from
//! the inventory store on both back ends (a SQLite file, a real
//! PostgreSQL), where a store that cannot be read refuses gated images
//! only.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

#[path = "../../tests/apiserver.rs"]
mod apiserver;
#[path = "../../tests/postgres_server.rs"]
mod postgres_server;
#[path = "../../tests/registry_server.rs"]
#[allow(dead_code)]
mod registry_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use apiserver::{ApiServer, Call, Webhook, demo_world};
use postgres_server::PostgresServer;

/// lodash command injection: HIGH 7.2, fixed in 4.17.21 (the demo SBOM
/// holds lodash 4.17.20).
const HIGH: &str = "GHSA-35jh-r3h4-6jhm";
/// lodash ReDoS: MEDIUM 5.3, fixed in 4.17.21.
const MEDIUM: &str = "GHSA-29mw-wpgm-hmr9";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigward-gate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn record(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/osv/{id}.json"))
}

/// The demo world, its attested rule (the policy's last) gating on
/// advisories of HIGH or worse.
fn gated_world(dir: &Path) -> registry_server::RegistryServer {
    let (server, world) = demo_world(dir);
    let policy = format!(
        "{}    advisories:\n      deny: {{severity: HIGH}}\n",
        world.policy
    );
    std::fs::write(dir.join("policy.yaml"), policy).unwrap();
    server
}

fn pod(name: &str, image: &str) -> Call {
    let mut call = Call::create(
        "validate",
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"containers": [{"name": "app", "image": image}]},
        }),
    );
    call.namespace = "shop".into();
    call
}

fn eventually(what: &str, mut check: impl FnMut() -> bool, debug: impl Fn() -> String) {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never: {what}; {}",
            debug()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn metrics(api: &ApiServer) -> String {
    api.fetch("/metrics").map(|r| r.1).unwrap_or_default()
}

fn gauge(body: &str, line: &str) -> bool {
    body.lines().any(|l| l == line)
}

fn import(url: &str, id: &str) {
    let out = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .args(["advisories", "import", "--db", url])
        .arg(record(id))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

/// What every source must show: admitted while only the MEDIUM advisory
/// is held, refused once the HIGH one appears (`add`), other rules
/// untouched throughout.
fn gate(api: &ApiServer, server: &str, add: &dyn Fn(), webhook: &Webhook) {
    let app = format!("{server}/attested/app:v1");
    let signed = format!("{server}/signed/tagged:v1");
    let admitted = api.admit(&pod("web-1", &app)).unwrap();
    assert!(admitted.allowed, "{}\n{}", admitted.message, webhook.log());
    eventually(
        "the admitted image is counted as affected by a MEDIUM advisory",
        || {
            let body = metrics(api);
            gauge(
                &body,
                "sigward_admitted_images_affected{severity=\"MEDIUM\"} 1",
            ) && gauge(
                &body,
                "sigward_admitted_images_affected{severity=\"HIGH\"} 0",
            )
        },
        || metrics(api),
    );

    add();
    eventually(
        "the new advisory is read",
        || {
            gauge(
                &metrics(api),
                "sigward_admitted_images_affected{severity=\"HIGH\"} 1",
            )
        },
        || format!("{}\n{}", metrics(api), webhook.log()),
    );
    let refused = api.admit(&pod("web-2", &app)).unwrap();
    assert!(!refused.allowed);
    for part in [
        &format!("advisory {HIGH} (CVE-2021-23337), HIGH 7.2"),
        "affects pkg:npm/lodash@4.17.20, fixed in 4.17.21",
    ] {
        assert!(
            refused.message.contains(part),
            "{part}\n{}",
            refused.message
        );
    }
    assert!(!refused.message.contains(MEDIUM), "{}", refused.message);
    // Both of the rule's SBOMs list lodash: one finding.
    assert_eq!(
        refused.message.matches(HIGH).count(),
        1,
        "{}",
        refused.message
    );
    // Another rule, no gate: admitted as before.
    let other = api.admit(&pod("plain", &signed)).unwrap();
    assert!(other.allowed, "{}", other.message);
}

#[test]
fn an_advisory_added_to_a_directory_refuses_the_next_admission() {
    let dir = scratch("files");
    let server = gated_world(&dir);
    let osv = dir.join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::copy(record(MEDIUM), osv.join(format!("{MEDIUM}.json"))).unwrap();
    let webhook = Webhook::start(&dir, &["--advisories", osv.to_str().unwrap()]);
    let api = webhook.api();
    assert!(gauge(&metrics(&api), "sigward_advisories_held 1"));
    let add = || {
        std::fs::copy(record(HIGH), osv.join(format!("{HIGH}.json"))).unwrap();
    };
    gate(&api, &server.address, &add, &webhook);
    assert!(gauge(&metrics(&api), "sigward_advisories_held 2"));

    // Withdrawn: admitted again, and no longer counted.
    let mut withdrawn: Value =
        serde_json::from_slice(&std::fs::read(record(HIGH)).unwrap()).unwrap();
    withdrawn["withdrawn"] = json!("2026-12-01T00:00:00Z");
    withdrawn["modified"] = json!("2026-12-01T00:00:00Z");
    std::fs::write(osv.join(format!("{HIGH}.json")), withdrawn.to_string()).unwrap();
    eventually(
        "the withdrawal is read",
        || {
            gauge(
                &metrics(&api),
                "sigward_admitted_images_affected{severity=\"HIGH\"} 0",
            )
        },
        || metrics(&api),
    );
    let app = format!("{}/attested/app:v1", server.address);
    let admitted = api.admit(&pod("web-3", &app)).unwrap();
    assert!(admitted.allowed, "{}", admitted.message);
}

#[test]
fn an_advisory_imported_into_the_store_refuses_the_next_admission_on_both_back_ends() {
    let dir = scratch("store");
    let server = gated_world(&dir);
    let sqlite = dir.join("inventory.db").display().to_string();
    let mut postgres = PostgresServer::start("gate");
    for url in [sqlite, postgres.url()] {
        import(&url, MEDIUM);
        let webhook = Webhook::start(&dir, &["--db", &url]);
        let api = webhook.api();
        gate(&api, &server.address, &|| import(&url, HIGH), &webhook);
    }

    // The store cannot be read: gated images are refused, saying why;
    // the others are admitted.
    let url = postgres.url();
    let webhook = Webhook::start(&dir, &["--db", &url]);
    let api = webhook.api();
    postgres.stop();
    let app = format!("{}/attested/app:v1", server.address);
    let refused = api.admit(&pod("web-9", &app)).unwrap();
    assert!(!refused.allowed);
    assert!(
        refused.message.contains("fetch.advisories: advisories:"),
        "{}",
        refused.message
    );
    let signed = format!("{}/signed/tagged:v1", server.address);
    assert!(api.admit(&pod("plain-9", &signed)).unwrap().allowed);
}
