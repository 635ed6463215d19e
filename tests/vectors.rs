//! The decision vectors (`vectors/decisions.jsonl`, frozen and reviewed):
//! the Rust host gives every line's `expect`, with the fast and with the
//! portable component. The conformance lines also agree with the suite's
//! own verdict. The Python and Node packages replay the same file.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigward_demo::vectors::replay;
use sigward_host::runtime::Build;
use sigward_host::{Limits, Runtime};
use sigward_tests::{project_root, shared_dir};

fn lines() -> Vec<Value> {
    let text = std::fs::read_to_string(project_root().join("vectors/decisions.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_vector_is_answered_as_frozen_by_both_builds() {
    let lines = lines();
    let count = |kind: &str| lines.iter().filter(|l| l["kind"] == kind).count();
    assert_eq!(count("bundle"), 140);
    assert!(count("decision") >= 60, "{}", count("decision"));
    assert!(count("attested") >= 30, "{}", count("attested"));
    assert!(count("sbom") >= 8, "{}", count("sbom"));
    assert_eq!(count("affected"), count("sbom"));
    let shared = shared_dir();
    for build in Build::ALL {
        let runtime = Runtime::with_build(
            build,
            Limits::default(),
            Runtime::default_cache_dir().as_deref(),
        )
        .unwrap();
        let mut wrong = Vec::new();
        for line in &lines {
            let answer = replay(&runtime, line, &shared).unwrap();
            if answer != line["expect"] {
                wrong.push(format!(
                    "{}: expected {}, got {answer}",
                    line["id"], line["expect"]
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} build, {} of {} differ:\n{}",
            build.name(),
            wrong.len(),
            lines.len(),
            wrong.join("\n")
        );
    }
}

#[test]
fn the_conformance_lines_agree_with_the_suite() {
    for line in lines().iter().filter(|l| l["kind"] == "bundle") {
        let verified = line["expect"]["verified"] == true;
        assert_eq!(
            verified,
            line["expected_by_the_suite"] == "pass",
            "{}",
            line["id"]
        );
    }
}

#[test]
fn every_changed_signature_of_a_keyless_or_key_image_is_refused_or_named() {
    // A changed signature may only still verify when the change is in the
    // certificate chain annotation: its certificates are candidates only,
    // and the trusted root holds the intermediates.
    for line in lines().iter().filter(|l| l["kind"] == "decision") {
        let id = line["id"].as_str().unwrap();
        let changed = id.matches('/').count() > 1;
        if changed && line["expect"]["allowed"] == true {
            assert!(
                id.contains("dev.sigstore.cosign/chain@"),
                "{id} still verifies"
            );
        }
    }
}

#[test]
fn every_changed_attestation_is_refused_and_max_age_holds_to_its_bound() {
    let lines = lines();
    let attested: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "attested").collect();
    let changed: Vec<&&Value> = attested
        .iter()
        .filter(|l| l["id"].as_str().unwrap().contains("/attestation["))
        .collect();
    assert!(changed.len() >= 20, "{}", changed.len());
    for line in changed {
        assert_eq!(
            line["expect"]["allowed"], false,
            "{} is allowed",
            line["id"]
        );
    }
    let by_id = |suffix: &str| {
        attested
            .iter()
            .find(|l| l["id"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no line ends with {suffix}"))
    };
    assert_eq!(by_id("/maxAge-1h/at-its-bound")["expect"]["allowed"], true);
    let past = by_id("/maxAge-1h/past-its-bound");
    assert_eq!(past["expect"]["allowed"], false);
    let message = past["expect"]["message"].as_str().unwrap();
    assert!(message.contains("maxAge"), "{message}");
}
