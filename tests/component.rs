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
        vec!["sigward:verifier/types@0.5.0"]
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
fn verify_rules_need_a_digest_and_refuse_bad_signatures() {
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
    let digested = format!("registry.k8s.io/pause@{DIGEST}");
    let none = session.verify(&digested, &[], &root).unwrap().unwrap();
    assert!(!none.allowed && !none.verified);
    assert_eq!(
        none.message,
        "image verification failed: no signatures found"
    );
    let signatures = [
        Signature::TagBundle("{}".to_owned()),
        Signature::TagBundle("not json".to_owned()),
    ];
    let decision = session
        .verify(&digested, &signatures, &root)
        .unwrap()
        .unwrap();
    assert!(!decision.allowed && !decision.verified);
    assert_eq!(decision.reference, digested);
    assert!(
        decision
            .message
            .starts_with("image verification failed: signature 0: bundle: "),
        "{}",
        decision.message
    );
    assert!(
        decision.message.contains("; signature 1: bundle: "),
        "{}",
        decision.message
    );
}

/// The real cosign v3 bundle of ghcr.io/kubewarden/kubewarden-controller v1.34.0.
const KUBEWARDEN: &str = "ghcr.io/kubewarden/kubewarden-controller@sha256:c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172";

fn kubewarden_bundle() -> String {
    std::fs::read_to_string(
        sigward_tests::shared_dir().join("corpus/sigstore-rs/tests/data/bundle_v03.json"),
    )
    .unwrap()
}

fn kubewarden_policy(subject_regex: &str) -> String {
    format!(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: ghcr.io/kubewarden/*\n    keyless:\n      issuer: https://token.actions.githubusercontent.com\n      subjectRegex: '{subject_regex}'\n  - image: '*'\n    deny: true\n"
    )
}

/// Verifies the kubewarden image with its bundle from the tag, under a policy
/// demanding `subject_regex`.
fn verify_kubewarden(subject_regex: &str, image: &str) -> sigward_host::runtime::Decision {
    let mut session = component_policy(&kubewarden_policy(subject_regex));
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    session
        .verify(image, &[Signature::TagBundle(kubewarden_bundle())], &root)
        .unwrap()
        .unwrap()
}

#[test]
fn a_real_cosign_v3_image_bundle_is_verified_via_bundle() {
    let decision = verify_kubewarden(
        "^https://github\\.com/kubewarden/kubewarden-controller/",
        KUBEWARDEN,
    );
    assert!(decision.allowed && decision.verified, "{decision:?}");
    assert_eq!(decision.message, "verified via bundle");
    assert_eq!(decision.reference, KUBEWARDEN);
    assert_eq!(decision.rule, Some(0));
    for check in [
        "tlog.set",
        "tlog.inclusion",
        "timestamp",
        "certificate.chain",
        "certificate.sct",
        "certificate.identity",
        "signature",
        "dsse.subject",
    ] {
        assert!(
            decision
                .trace
                .iter()
                .any(|c| c.name == format!("signature[0].{check}")),
            "no {check} in the trace"
        );
    }

    let mut session = component_policy(&kubewarden_policy("^https://github\\.com/kubewarden/"));
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let referrer =
        Signature::ReferrerBundle((format!("sha256:{}", "ab".repeat(32)), kubewarden_bundle()));
    let decision = session
        .verify(
            KUBEWARDEN,
            &[Signature::TagBundle("{}".to_owned()), referrer],
            &root,
        )
        .unwrap()
        .unwrap();
    assert!(decision.allowed, "{decision:?}");
    let bad_referrer =
        Signature::ReferrerBundle(("sha256:not-hex".to_owned(), kubewarden_bundle()));
    let refused = session
        .verify(KUBEWARDEN, &[bad_referrer], &root)
        .unwrap()
        .unwrap();
    assert!(!refused.allowed, "{refused:?}");
    assert!(
        refused.message.contains("referrer manifest digest"),
        "{}",
        refused.message
    );
    assert_eq!(
        decision.message,
        format!(
            "verified via bundle referrer with digest sha256:{}",
            "ab".repeat(32)
        )
    );
}

#[test]
fn the_same_bundle_is_refused_for_another_identity_or_image() {
    let decision = verify_kubewarden("^https://github\\.com/siderolabs/", KUBEWARDEN);
    assert!(!decision.allowed && !decision.verified);
    assert!(
        decision.message.contains("expected SAN matching `^https://github\\.com/siderolabs/`, got `https://github.com/kubewarden/"),
        "{}",
        decision.message
    );

    let moved = format!("ghcr.io/kubewarden/other@{DIGEST}");
    let decision = verify_kubewarden("^https://github\\.com/kubewarden/", &moved);
    assert!(!decision.allowed);
    assert!(
        decision.message.contains("dsse.subject"),
        "{}",
        decision.message
    );
}

#[test]
fn too_many_signatures_are_refused() {
    let mut session = component_policy(POLICY);
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let signatures = vec![Signature::TagBundle(String::new()); 101];
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

#[test]
fn a_public_key_rule_verifies_a_key_signed_bundle() {
    // The conformance suite's managed-key bundle signs a.txt: pin an image to
    // a.txt's digest and the rule's key must verify it.
    let dir = sigward_tests::shared_dir().join("conformance/bundle-verify");
    let pem = std::fs::read_to_string(dir.join("managed-key-happy-path/key.pub")).unwrap();
    let bundle =
        std::fs::read_to_string(dir.join("managed-key-happy-path/bundle.sigstore.json")).unwrap();
    let digest = {
        use sha2::Digest;
        let bytes = std::fs::read(dir.join("a.txt")).unwrap();
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let indented: String = pem.lines().map(|l| format!("        {l}\n")).collect();
    let policy = format!(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: registry.example.com/*\n    publicKey:\n      certificate: |\n{indented}"
    );
    let mut session = component_policy(&policy);
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let image = format!("registry.example.com/app@sha256:{digest}");
    let decision = session
        .verify(&image, &[Signature::TagBundle(bundle.clone())], &root)
        .unwrap()
        .unwrap();
    assert!(decision.allowed && decision.verified, "{decision:?}");
    assert_eq!(decision.message, "verified via bundle");

    let other = format!("registry.example.com/app@{DIGEST}");
    let decision = session
        .verify(&other, &[Signature::TagBundle(bundle)], &root)
        .unwrap()
        .unwrap();
    assert!(!decision.allowed, "{decision:?}");
}

#[test]
fn a_bundle_that_is_not_utf8_is_refused_not_repaired() {
    // A host passes bytes that are not UTF-8 with U+FFFD in their place
    // (`runtime::document`): the changed bundle must fail its checks.
    let mut bytes = kubewarden_bundle().into_bytes();
    let at = bytes.len() / 2;
    bytes[at] = 0xff;
    let bundle = sigward_host::runtime::document(bytes);
    assert!(bundle.contains('\u{fffd}'));
    let mut session = component_policy(&kubewarden_policy("^https://github.com/kubewarden/"));
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let decision = session
        .verify(KUBEWARDEN, &[Signature::TagBundle(bundle)], &root)
        .unwrap()
        .unwrap();
    assert!(!decision.allowed && !decision.verified, "{decision:?}");
}

#[test]
fn an_artifact_digest_must_be_exact_hex() {
    use sigward_host::runtime::{Artifact, BundleOutcome, KeylessIdentity, Signer};
    let root = production_trusted_root();
    let signer = Signer::Keyless(KeylessIdentity {
        issuer: "https://token.actions.githubusercontent.com".to_owned(),
        subject: None,
        subject_regex: Some(".".to_owned()),
    });
    let bundle = kubewarden_bundle().into_bytes();
    for digest in [
        "+a".repeat(32),
        "ab".repeat(31),
        "ab".repeat(33),
        "zz".repeat(32),
    ] {
        let outcome = runtime()
            .verify_bundle(&root, &bundle, &Artifact::Sha256(digest.clone()), &signer)
            .unwrap();
        match outcome {
            BundleOutcome::Failed(f) => {
                assert_eq!(f.check, "input", "{digest}");
                assert!(f.message.contains("64 hex digits"), "{}", f.message);
            }
            other => panic!("{digest}: {other:?}"),
        }
    }
}
