//! The component as a host meets it: it imports nothing, refuses under its
//! limits instead of crashing the host, and decides skip, deny and no-match.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sigward_host::runtime::{Action, Signature, VerifyError};
use sigward_host::{HostError, Limits, Runtime};
use sigward_tests::{component_policy, production_trusted_root, runtime};

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const POLICY: &str = "apiVersion: v1alpha1
kind: ImageVerificationConfig
rules:
  - image: registry.k8s.io/e2e-test-images/*
    skip: true
  - image: registry.k8s.io/*
    keyless:
      issuer: https://accounts.google.com
      subject: krel-trust@k8s-releng-prod.iam.gserviceaccount.com
  - image: docker.io/*
    deny: true
";

#[test]
fn component_imports_no_capability() {
    // The only import is the interface of shared type definitions; it has no
    // functions. No WASI: no clock, no random, no files, no environment.
    assert_eq!(
        runtime().component_imports(),
        vec!["sigward:verifier/types@0.2.0"]
    );
}

#[test]
fn production_trusted_root_loads_natively_and_in_the_component() {
    let json = production_trusted_root();
    let root = sigward_core::TrustedRoot::parse(&json).expect("production root must parse");
    // Counts from the corpus README: Rekor v1 and v2, two Fulcio CAs, two CT logs, one TSA.
    assert_eq!(root.tlogs.len(), 2);
    assert_eq!(root.certificate_authorities.len(), 2);
    assert_eq!(root.ct_logs.len(), 2);
    assert_eq!(root.timestamp_authorities.len(), 1);
    let mut session = component_policy(POLICY);
    assert!(session.load_trusted_root(&json).unwrap().is_ok());
}

#[test]
fn broken_trusted_roots_are_refused_with_the_field() {
    let mut session = component_policy(POLICY);
    let good = String::from_utf8(production_trusted_root()).unwrap();
    let no_start = good.replacen("\"start\"", "\"begin\"", 1);
    let errors = session
        .load_trusted_root(no_start.as_bytes())
        .unwrap()
        .err()
        .unwrap();
    assert!(
        errors
            .iter()
            .any(|d| d.field.ends_with("validFor.start") && d.message.contains("missing")),
        "{errors:?}"
    );
    let errors = session
        .load_trusted_root(b"{not json")
        .unwrap()
        .err()
        .unwrap();
    assert_eq!(errors.len(), 1);
}

#[test]
fn skip_deny_and_no_match_are_decided_without_signatures() {
    let mut session = component_policy(POLICY);
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let cases = [
        (
            "registry.k8s.io/e2e-test-images/agnhost:2.39",
            true,
            Action::Skip,
            "verification skipped by matched rule (0000)",
        ),
        (
            "nginx:1.27",
            false,
            Action::Deny,
            "verification denied by matched rule (0002)",
        ),
        ("quay.io/org/app:v1", true, Action::None, "no matched rule"),
    ];
    for (image, allowed, action, message) in cases {
        let decision = session.verify(image, &[], &root).unwrap().unwrap();
        assert_eq!(decision.allowed, allowed, "{image}");
        assert!(!decision.verified, "{image}");
        assert_eq!(decision.action, action, "{image}");
        assert_eq!(decision.message, message, "{image}");
        assert_eq!(decision.trace.len(), 1, "{image}");
    }
}

#[test]
fn verify_rules_are_never_allowed_before_the_checks_exist() {
    let mut session = component_policy(POLICY);
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let tagged = session
        .verify("registry.k8s.io/pause:3.10", &[], &root)
        .unwrap();
    assert!(
        matches!(tagged, Err(VerifyError::InvalidReference(_))),
        "{tagged:?}"
    );
    let signatures = [Signature::TagBundle(b"{}".to_vec())];
    let digested = format!("registry.k8s.io/pause@{DIGEST}");
    let result = session.verify(&digested, &signatures, &root).unwrap();
    assert!(
        matches!(result, Err(VerifyError::NotImplemented(_))),
        "{result:?}"
    );
}

#[test]
fn too_many_signatures_are_refused() {
    let mut session = component_policy(POLICY);
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let signatures = vec![Signature::TagBundle(Vec::new()); 101];
    let digested = format!("registry.k8s.io/pause@{DIGEST}");
    let result = session.verify(&digested, &signatures, &root).unwrap();
    assert!(
        matches!(result, Err(VerifyError::LimitExceeded(_))),
        "{result:?}"
    );
}

#[test]
fn exhausted_fuel_is_an_error_and_poisons_the_instance() {
    let starved = Runtime::new(
        Limits {
            fuel_per_call: 10_000,
            ..Limits::default()
        },
        Runtime::default_cache_dir().as_deref(),
    )
    .unwrap();
    let rules = "  - {image: 'x.io/*', skip: true}\n".repeat(2_000);
    let text = format!("apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n{rules}");
    match starved.load_policy(&text) {
        Err(HostError::Trap(message)) => assert!(message.contains("fuel"), "{message}"),
        other => panic!("expected a trap, got {:?}", other.map(|r| r.is_ok())),
    }
}

#[test]
fn memory_cap_is_an_error_not_a_crash() {
    let small = Runtime::new(
        Limits {
            memory_bytes: 2 * 1024 * 1024,
            ..Limits::default()
        },
        Runtime::default_cache_dir().as_deref(),
    )
    .unwrap();
    // 3 MiB of text cannot even be copied into a 2 MiB guest.
    let text = format!("# {}\n", "x".repeat(3 * 1024 * 1024));
    assert!(matches!(small.load_policy(&text), Err(HostError::Trap(_))));
}

#[test]
fn a_trap_poisons_the_session() {
    let runtime = Runtime::new(
        Limits {
            memory_bytes: 4 * 1024 * 1024,
            ..Limits::default()
        },
        Runtime::default_cache_dir().as_deref(),
    )
    .unwrap();
    let mut session = runtime.load_policy(POLICY).unwrap().unwrap();
    let huge = "a".repeat(6 * 1024 * 1024);
    assert!(matches!(
        session.match_image(&huge),
        Err(HostError::Trap(_))
    ));
    assert!(matches!(
        session.match_image("nginx"),
        Err(HostError::Poisoned)
    ));
}
