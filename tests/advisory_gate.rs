//! Admission gates on current advisories (sigward's `advisories`): the
//! policy extension checked at load, and the gate deciding on the SBOM the
//! rule's attestations proved, natively and through the component alike:
//! by severity, by whether a fix exists, ignoring named advisories, a
//! malformed advisory, no advisories given, an unverified SBOM.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod attested;

use attested::*;
use serde_json::{Value, json};
use sigward_core::policy::Policy;
use sigward_core::verify::{Signature, verify_attested, verify_with_advisories};
use sigward_host::runtime::{Signature as WitSignature, TrustedRootHandle};
use sigward_tests::component_policy;
use sigward_tests::testpki::{ISSUER, SUBJECT};

const NOW: i64 = SIGNED_AT + 3600;

fn policy(gate: &str) -> String {
    format!(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: {IMAGE}\n    keyless:\n      issuer: {ISSUER}\n      subject: {SUBJECT}\n    attestations:\n      - predicateType: cyclonedx\n    advisories:\n{gate}"
    )
}

/// The demo advisories (lodash 4.17.20 in the demo SBOM is affected by
/// DEMO-NPM-0001, CVE-2026-9001, CRITICAL 9.8, fixed in 4.17.21), with
/// `edit` applied to each.
fn advisories(edit: impl Fn(&mut Value)) -> Vec<String> {
    sigward_demo::advisories()
        .into_iter()
        .map(|(mut a, _)| {
            edit(&mut a);
            a.to_string()
        })
        .collect()
}

struct Gated {
    world: World,
    signatures: Vec<Signature>,
    attestations: Vec<Signature>,
}

impl Gated {
    fn new() -> Self {
        let world = World::new();
        let signatures = vec![world.signature()];
        let attestations = vec![world.attestation(CYCLONEDX, sigward_demo::cyclonedx())];
        Self {
            world,
            signatures,
            attestations,
        }
    }

    /// The decision natively, then the component's, which must agree.
    fn decide(&self, gate: &str, advisories: &[String]) -> (bool, String, String) {
        let text = policy(gate);
        let parsed = Policy::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let given: Vec<&[u8]> = advisories.iter().map(|a| a.as_bytes()).collect();
        let native = verify_with_advisories(
            &parsed,
            &self.world.image(),
            &self.signatures,
            &self.attestations,
            &self.world.root,
            NOW,
            &given,
        )
        .unwrap();
        let mut session = component_policy(&text);
        let root: TrustedRootHandle = session
            .load_trusted_root(&serde_json::to_vec(&self.world.pki.trusted_root()).unwrap())
            .unwrap()
            .unwrap();
        assert!(session.gates_on_advisories(0).unwrap());
        let component = session
            .verify_with_advisories(
                &self.world.image(),
                &wit(&self.signatures),
                &wit(&self.attestations),
                &root,
                NOW,
                advisories,
            )
            .unwrap()
            .unwrap();
        assert_eq!(native.allowed, component.allowed, "{}", native.message);
        assert_eq!(native.message, component.message);
        let gate_check = |trace: Vec<(String, String)>| {
            trace
                .into_iter()
                .find(|(name, _)| name == "advisories")
                .map(|(_, detail)| detail)
                .unwrap_or_default()
        };
        let detail = gate_check(
            native
                .trace
                .iter()
                .map(|c| (c.name.clone(), c.detail.clone()))
                .collect(),
        );
        assert_eq!(
            detail,
            gate_check(
                component
                    .trace
                    .iter()
                    .map(|c| (c.name.clone(), c.detail.clone()))
                    .collect()
            )
        );
        assert!(
            native.verified,
            "the signature verified: {}",
            native.message
        );
        (native.allowed, native.message, detail)
    }
}

fn wit(signatures: &[Signature]) -> Vec<WitSignature> {
    signatures
        .iter()
        .map(|s| match s {
            Signature::TagBundle(b) => {
                WitSignature::TagBundle(String::from_utf8(b.clone()).unwrap())
            }
            Signature::ReferrerBundle {
                manifest_digest,
                bundle,
            } => WitSignature::ReferrerBundle((
                manifest_digest.clone(),
                String::from_utf8(bundle.clone()).unwrap(),
            )),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_critical_advisory_refuses_and_names_the_advisory_the_package_and_the_fix() {
    let g = Gated::new();
    let all = advisories(|_| {});
    let (allowed, message, detail) = g.decide("      deny: {severity: CRITICAL}\n", &all);
    assert!(!allowed);
    // Hand-checked: the demo SBOM holds lodash 4.17.20; DEMO-NPM-0001 is
    // the first demo advisory, so its vector is the 9.8 one.
    assert!(
        message.starts_with(
            "image verification failed: advisories: advisory DEMO-NPM-0001 (CVE-2026-9001), CRITICAL 9.8, affects pkg:npm/lodash@4.17.20, fixed in 4.17.21"
        ),
        "{message}"
    );
    assert_eq!(
        detail,
        message["image verification failed: advisories: ".len()..]
    );
    // Without the affected package's advisory, nothing else is critical.
    let others: Vec<String> = all
        .iter()
        .filter(|a| !a.contains("DEMO-NPM-0001"))
        .cloned()
        .collect();
    let (allowed, message, detail) = g.decide("      deny: {severity: CRITICAL}\n", &others);
    assert!(allowed, "{message}");
    assert!(detail.contains("none is CRITICAL or worse"), "{detail}");
}

#[test]
fn the_threshold_orders_levels_and_unknown_counts_everything() {
    let g = Gated::new();
    // Every advisory at LOW (3.7): HIGH lets them through, LOW does not.
    let low = advisories(|a| {
        a["severity"] =
            json!([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L"}]);
    });
    assert!(g.decide("      deny: {severity: HIGH}\n", &low).0);
    let (allowed, message, _) = g.decide("      deny: {severity: LOW}\n", &low);
    assert!(!allowed && message.contains("LOW 3.7"), "{message}");
    // No severity at all: only a threshold of UNKNOWN counts them.
    let unscored = advisories(|a| {
        a.as_object_mut().unwrap().remove("severity");
    });
    assert!(g.decide("      deny: {severity: LOW}\n", &unscored).0);
    let (allowed, message, _) = g.decide("      deny: {severity: UNKNOWN}\n", &unscored);
    assert!(
        !allowed && message.contains(", UNKNOWN, affects"),
        "{message}"
    );
    // A database's own level counts when no vector is given.
    let named = advisories(|a| {
        a.as_object_mut().unwrap().remove("severity");
        a["database_specific"] = json!({"severity": "HIGH"});
    });
    let (allowed, message, _) = g.decide("      deny: {severity: HIGH}\n", &named);
    assert!(!allowed && message.contains(", HIGH, affects"), "{message}");
}

#[test]
fn fix_available_and_ignore_narrow_what_refuses() {
    let g = Gated::new();
    // Every range without its fixed event: affected, with no fix.
    let unfixed = advisories(|a| {
        for entry in a["affected"].as_array_mut().unwrap() {
            for range in entry["ranges"].as_array_mut().unwrap() {
                range["events"] = json!([{"introduced": "0"}]);
            }
        }
    });
    let (allowed, message, _) = g.decide("      deny: {severity: LOW}\n", &unfixed);
    assert!(
        !allowed && message.contains("no fixed version"),
        "{message}"
    );
    let (allowed, message, _) = g.decide(
        "      deny: {severity: LOW, fixAvailable: true}\n",
        &unfixed,
    );
    assert!(allowed, "{message}");
    // Ignored by alias or by id: the next worst refuses, or none does.
    let all = advisories(|_| {});
    let (allowed, message, _) = g.decide(
        "      deny: {severity: CRITICAL}\n      ignore: [CVE-2026-9001]\n",
        &all,
    );
    assert!(allowed, "{message}");
    let (allowed, message, _) = g.decide(
        "      deny: {severity: HIGH}\n      ignore: [DEMO-NPM-0001]\n",
        &all,
    );
    assert!(!allowed, "{message}");
    assert!(!message.contains("DEMO-NPM-0001"), "{message}");
    assert!(message.contains(", HIGH 7.5, affects"), "{message}");
}

#[test]
fn a_malformed_advisory_or_none_given_refuses() {
    let g = Gated::new();
    let mut given = advisories(|_| {});
    given.push("{\"affected\": []}".to_owned());
    let last = given.len() - 1;
    let (allowed, message, _) = g.decide("      deny: {severity: CRITICAL}\n", &given);
    assert!(!allowed);
    assert_eq!(
        message,
        format!("image verification failed: advisories: advisory {last}: no `id`")
    );
    // No advisories at all: nothing affects the image.
    assert!(g.decide("      deny: {severity: LOW}\n", &[]).0);
    // verify-attested is not told what the host holds: it refuses.
    let parsed = Policy::parse(&policy("      deny: {severity: LOW}\n")).unwrap();
    let d = verify_attested(
        &parsed,
        &g.world.image(),
        &g.signatures,
        &g.attestations,
        &g.world.root,
        Some(NOW),
    )
    .unwrap();
    assert!(!d.allowed && d.verified);
    assert!(
        d.message.contains("the rule gates on advisories") && d.message.contains("gave none"),
        "{}",
        d.message
    );
}

#[test]
fn the_gate_reads_only_the_sbom_the_rule_proved() {
    let mut g = Gated::new();
    // The SBOM about another image: the rule's attestation is unmet, and
    // the gate is never reached.
    let other = <sha2::Sha256 as sha2::Digest>::digest(b"another image");
    g.attestations = vec![
        g.world
            .attestation_about(&other, CYCLONEDX, sigward_demo::cyclonedx()),
    ];
    let (allowed, message, detail) = g.decide("      deny: {severity: LOW}\n", &advisories(|_| {}));
    assert!(!allowed);
    assert!(message.contains("attestation[0]"), "{message}");
    assert!(detail.is_empty(), "{detail}");
}

#[test]
fn the_extension_is_checked_at_load() {
    let cases = [
        (
            "  - image: a.test/*\n    skip: true\n    advisories: {deny: {severity: HIGH}}\n",
            "rule (0000) advisories: advisories need a verify rule",
        ),
        (
            "  - image: a.test/*\n    keyless: {issuer: i, subject: s}\n    advisories: {deny: {severity: HIGH}}\n",
            "rule (0000) advisories: advisories are matched against the image's verified SBOM",
        ),
        (
            "  - image: a.test/*\n    keyless: {issuer: i, subject: s}\n    attestations: [{predicateType: spdx}]\n    advisories: {deny: {severity: SEVERE}, ignore: ['', 3], other: 1}\n",
            "rule (0000) advisories.deny.severity: expected `UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL`, got `SEVERE`",
        ),
        (
            "  - image: a.test/*\n    keyless: {issuer: i, subject: s}\n    attestations: [{predicateType: spdx}]\n    advisories: {ignore: [x]}\n",
            "rule (0000) advisories.deny: required field is missing",
        ),
    ];
    for (rule, expected) in cases {
        let text = format!("apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n{rule}");
        let errors = Policy::parse(&text).unwrap_err();
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            lines.iter().any(|l| l.starts_with(expected)),
            "{expected}\n{lines:#?}"
        );
    }
    let text = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: a.test/*\n    keyless: {issuer: i, subject: s}\n    attestations: [{predicateType: spdx}]\n    advisories: {deny: {severity: SEVERE}, ignore: ['', 3], other: 1}\n";
    let lines: Vec<String> = Policy::parse(text)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    for field in [
        "advisories.other",
        "advisories.ignore[0]",
        "advisories.ignore[1]",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("rule (0000) {field}:"))),
            "{field}\n{lines:#?}"
        );
    }
    // A gate the policy does not have, or a rule that is not there.
    let plain = component_policy(&format!(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: {IMAGE}\n    keyless: {{issuer: i, subject: s}}\n"
    ));
    let mut plain = plain;
    assert!(!plain.gates_on_advisories(0).unwrap());
    assert!(!plain.gates_on_advisories(7).unwrap());
}
