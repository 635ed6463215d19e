//! The reference/pattern table, run natively and through the component: every
//! row must give its expected answer, and both sides the same answer.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sigward_tests::table::{self, Expect};
use sigward_tests::{Answer, component_match, component_policy, native_match, single_rule_policy};

fn expectation(answer: &Answer) -> Expect {
    match answer.rule() {
        None => Expect::Invalid,
        Some(Some(0)) => Expect::Match,
        Some(None) => Expect::NoMatch,
        Some(Some(other)) => panic!("a one-rule policy matched rule {other}"),
    }
}

#[test]
fn table_has_at_least_sixty_rows() {
    assert!(table::ROWS.len() >= 60, "only {} rows", table::ROWS.len());
}

#[test]
fn every_row_gives_its_answer_natively_and_in_the_component() {
    let mut failures = Vec::new();
    let mut rows = table::rows();
    rows.push(("*".into(), table::overlong_reference(), Expect::Invalid));
    for (pattern, image, expected) in rows {
        let text = single_rule_policy(&pattern);
        let native = sigward_core::Policy::parse(&text)
            .unwrap_or_else(|e| panic!("pattern {pattern:?} should load: {e:?}"));
        let native = native_match(&native, &image);
        let component = component_match(&mut component_policy(&text), &image);
        if native != component {
            failures.push(format!(
                "{pattern:?} vs {image:?}: native {native:?}, component {component:?}"
            ));
        }
        if expectation(&native) != expected {
            failures.push(format!(
                "{pattern:?} vs {image:?}: expected {expected:?}, got {native:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn matched_rows_report_the_normalized_reference() {
    let mut session = component_policy(&single_rule_policy("*"));
    let cases = [
        ("nginx:1.27", "docker.io/library/nginx"),
        (
            "index.docker.io/library/nginx:1.27",
            "docker.io/library/nginx",
        ),
        ("localhost:5000/app:v1", "localhost:5000/app"),
        ("bitnami/redis", "docker.io/bitnami/redis"),
    ];
    for (image, reference) in cases {
        match component_match(&mut session, image) {
            Answer::Matched { reference: got, .. } => assert_eq!(got, reference, "{image}"),
            other => panic!("{image}: {other:?}"),
        }
    }
}

#[test]
fn first_match_wins() {
    let text = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n\
        - image: ghcr.io/org/special\n  deny: true\n\
        - image: ghcr.io/org/*\n  skip: true\n\
        - image: '*'\n  deny: true\n";
    let native = sigward_core::Policy::parse(text).unwrap();
    let mut component = component_policy(text);
    for (image, rule, action) in [
        ("ghcr.io/org/special:v1", Some(0), "deny"),
        ("ghcr.io/org/other", Some(1), "skip"),
        ("quay.io/x/y", Some(2), "deny"),
    ] {
        let answer = native_match(&native, image);
        assert_eq!(answer, component_match(&mut component, image));
        match answer {
            Answer::Matched {
                rule: r, action: a, ..
            } => {
                assert_eq!((r, a), (rule, action), "{image}");
            }
            Answer::Invalid(e) => panic!("{image}: {e}"),
        }
    }
}
