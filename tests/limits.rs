//! Hostile sizes and counts (SPEC §5, SECURITY-CASES rows 9 to 11): each is
//! refused quickly, with a clear reason, natively and through the component,
//! and never traps.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sigward_core::bundle::{Bundle, BundleError};
use sigward_core::statement::{self, StatementError};
use sigward_host::PolicySession;
use sigward_host::runtime::{Signature, TrustedRootHandle, VerifyError};
use sigward_tests::{component_policy, production_trusted_root, shared_dir};

fn happy_bundle() -> Value {
    let path = shared_dir().join("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn parse(value: &Value) -> Result<Bundle, BundleError> {
    Bundle::parse(&serde_json::to_vec(value).unwrap())
}

fn quickly<T>(f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    out
}

#[test]
fn thirty_three_tlog_entries_are_refused() {
    let mut bundle = happy_bundle();
    let entry = bundle["verificationMaterial"]["tlogEntries"][0].clone();
    bundle["verificationMaterial"]["tlogEntries"] = Value::Array(vec![entry; 33]);
    let err = quickly(|| parse(&bundle)).unwrap_err();
    assert_eq!(
        err,
        BundleError::TooMany {
            field: "tlogEntries",
            count: 33,
            max: 32
        }
    );
}

#[test]
fn thirty_three_timestamps_are_refused() {
    let mut bundle = happy_bundle();
    let stamps = vec![json!({"signedTimestamp": "MAA="}); 33];
    bundle["verificationMaterial"]["timestampVerificationData"] =
        json!({ "rfc3161Timestamps": stamps });
    let err = quickly(|| parse(&bundle)).unwrap_err();
    assert_eq!(
        err,
        BundleError::TooMany {
            field: "rfc3161Timestamps",
            count: 33,
            max: 32
        }
    );
}

#[test]
fn a_bundle_over_one_mebibyte_is_refused_before_parsing() {
    let big = vec![b' '; 1024 * 1024 + 1];
    let err = quickly(|| Bundle::parse(&big)).unwrap_err();
    assert_eq!(
        err,
        BundleError::TooLarge {
            bytes: 1024 * 1024 + 1,
            max: 1024 * 1024
        }
    );
}

#[test]
fn a_statement_with_1025_subjects_is_refused() {
    let digest = "ab".repeat(32);
    let subjects: Vec<Value> = (0..1025)
        .map(|i| json!({"name": i.to_string(), "digest": {"sha256": digest}}))
        .collect();
    let payload = serde_json::to_vec(
        &json!({"_type": "https://in-toto.io/Statement/v1", "subject": subjects}),
    )
    .unwrap();
    let err = quickly(|| {
        statement::check_subject(
            "application/vnd.in-toto+json",
            &payload,
            &statement::Digests {
                sha256: Some(&[0xab; 32]),
                sha512: None,
            },
        )
    })
    .unwrap_err();
    assert_eq!(err, StatementError::TooManySubjects { count: 1025 });
}

/// A component session whose one rule verifies every image keyless, its
/// trusted root, and a digested image.
fn keyless_session() -> (PolicySession, TrustedRootHandle, String) {
    let policy = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: '*'\n    keyless: {issuer: 'https://x', subject: me}\n";
    let mut session = component_policy(policy);
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    (
        session,
        root,
        format!("ghcr.io/x/y@sha256:{}", "ab".repeat(32)),
    )
}

#[test]
fn a_hundred_thousand_signatures_are_refused_by_the_component() {
    let (mut session, root, image) = keyless_session();
    let signatures = vec![Signature::TagBundle(String::new()); 100_000];
    let result = quickly(|| session.verify(&image, &signatures, &root)).expect("no trap");
    assert!(
        matches!(result, Err(VerifyError::LimitExceeded(ref m)) if m.contains("100000 signatures")),
        "{result:?}"
    );
}

#[test]
fn an_oversized_bundle_is_a_refusal_in_the_component() {
    let (mut session, root, image) = keyless_session();
    let huge = "{".repeat(8 * 1024 * 1024);
    let decision = quickly(|| session.verify(&image, &[Signature::TagBundle(huge)], &root))
        .expect("no trap")
        .expect("a decision");
    assert!(!decision.allowed);
    assert!(
        decision.message.contains("at most 1048576 allowed"),
        "{}",
        decision.message
    );
}

/// A few MiB of rules whose regexes each compile to a large program: refused
/// at load for the regex budget, once, naming the rule and field; never a
/// trap at the guest's memory cap.
#[test]
fn a_policy_of_many_large_regexes_is_refused_for_its_budget() {
    let mut policy = String::from("apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n");
    let mut rules = 0;
    while policy.len() < 3 * 1024 * 1024 {
        policy.push_str(&format!(
            "  - image: 'r{rules}/*'\n    keyless: {{issuer: 'https://x', subjectRegex: '^[a-z]{{2000}}$'}}\n"
        ));
        rules += 1;
    }
    let errors = match sigward_tests::runtime()
        .load_policy(&policy)
        .expect("the guest must not trap")
    {
        Ok(_) => panic!("a policy over the regex budget must not load"),
        Err(errors) => errors,
    };
    assert_eq!(errors.len(), 1, "{:?}", &errors[..errors.len().min(3)]);
    assert_eq!(errors[0].field, "keyless.subjectRegex", "{:?}", errors[0]);
    assert!(errors[0].rule.is_some_and(|r| r > 0), "{:?}", errors[0]);
    assert!(
        errors[0].message.contains("compile to more than"),
        "{errors:?}"
    );
    assert!(rules > 10_000, "{rules} rules");
}
