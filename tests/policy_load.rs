//! Loading policies: Talos documents load unchanged, every error is reported
//! at once with its rule and field, warnings flag likely mistakes, and hostile
//! documents are refused without a panic or a trap.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sigward_core::Policy;
use sigward_core::policy::{PolicyError, PolicyWarning, RuleKind};
use sigward_tests::{native_match, runtime};

const HEADER: &str = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\n";

fn errors(text: &str) -> Vec<(Option<usize>, String, PolicyError)> {
    match Policy::parse(text) {
        Ok(_) => panic!("policy should be invalid:\n{text}"),
        Err(errors) => errors
            .into_iter()
            .map(|d| (d.rule, d.field, d.kind))
            .collect(),
    }
}

/// The component must refuse the same documents with the same diagnostics.
fn component_errors(text: &str) -> Vec<(Option<u32>, String, String)> {
    match runtime()
        .load_policy(text)
        .expect("the guest must not trap")
    {
        Ok(_) => panic!("policy should be invalid in the component too"),
        Err(errors) => errors
            .into_iter()
            .map(|d| (d.rule, d.field, d.message))
            .collect(),
    }
}

fn native_as_component(text: &str) -> Vec<(Option<u32>, String, String)> {
    match Policy::parse(text) {
        Ok(_) => panic!("policy should be invalid"),
        Err(errors) => errors
            .into_iter()
            .map(|d| (d.rule.map(|r| r as u32), d.field, d.kind.to_string()))
            .collect(),
    }
}

#[test]
fn every_rule_error_is_reported_at_once_with_its_rule_and_field() {
    let text = format!(
        "{HEADER}rules:
  - image: ''
    skip: true
  - image: a.io/*
    skip: true
    deny: true
  - image: b.io/*
    skip: true
    keyless: {{issuer: https://x, subject: me}}
  - image: c.io/*
  - image: d.io/*
    keyless: {{issuer: https://x, subject: me}}
    publicKey: {{certificate: x}}
  - image: e.io/*
    keyless: {{subject: me}}
  - image: f.io/*
    keyless: {{issuer: https://x}}
  - image: g.io/*
    publicKey: {{certificate: ''}}
  - image: h.io/*
    keyless: {{issuer: https://x, subjectRegex: '(unclosed'}}
  - image: i.io/*
    publicKey: {{certificate: 'not a pem'}}
  - image: j.io/*
    deny: true
    colour: blue
"
    );
    let found = errors(&text);
    type Expected = (Option<usize>, &'static str, fn(&PolicyError) -> bool);
    let expected: Vec<Expected> = vec![
        (Some(0), "image", |e| *e == PolicyError::EmptyImage),
        (Some(1), "skip", |e| *e == PolicyError::SkipAndDeny),
        (Some(2), "keyless", |e| {
            *e == PolicyError::VerifierWithSkipOrDeny
        }),
        (Some(3), "rule", |e| *e == PolicyError::NoAction),
        (Some(4), "publicKey", |e| *e == PolicyError::BothVerifiers),
        (Some(4), "publicKey.certificate", |e| {
            matches!(e, PolicyError::InvalidPublicKey(_))
        }),
        (Some(5), "keyless.issuer", |e| {
            *e == PolicyError::KeylessWithoutIssuer
        }),
        (Some(6), "keyless.subject", |e| {
            *e == PolicyError::KeylessWithoutSubject
        }),
        (Some(7), "publicKey.certificate", |e| {
            *e == PolicyError::EmptyPublicKey
        }),
        (Some(8), "keyless.subjectRegex", |e| {
            matches!(e, PolicyError::InvalidRegex(_))
        }),
        (Some(9), "publicKey.certificate", |e| {
            matches!(e, PolicyError::InvalidPublicKey(_))
        }),
        (Some(10), "colour", |e| *e == PolicyError::UnknownField),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((rule, field, kind), (want_rule, want_field, want_kind)) in found.iter().zip(&expected) {
        assert_eq!((rule, field.as_str()), (want_rule, *want_field), "{kind:?}");
        assert!(
            want_kind(kind),
            "rule {rule:?} {field}: unexpected {kind:?}"
        );
    }
    assert_eq!(component_errors(&text), native_as_component(&text));
}

#[test]
fn document_errors_name_their_field() {
    let cases: &[(&str, &str)] = &[
        (
            "apiVersion: v1\nkind: ImageVerificationConfig\nrules: []\n",
            "apiVersion",
        ),
        (
            "apiVersion: v1alpha1\nkind: SomethingElse\nrules: []\n",
            "kind",
        ),
        ("kind: ImageVerificationConfig\nrules: []\n", "apiVersion"),
        (
            "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules: []\nextra: 1\n",
            "extra",
        ),
        (
            "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules: {}\n",
            "rules",
        ),
        (
            "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: x.io/*\n    skip: 'true'\n",
            "skip",
        ),
        (
            "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: x.io/*\n    keyless: {issuer: a, subject: b, audience: c}\n",
            "keyless.audience",
        ),
        ("- just\n- a list\n", "document"),
        ("rules: [\n", "document"),
        ("---\na: 1\n---\nb: 2\n", "document"),
        ("", "document"),
    ];
    for (text, field) in cases {
        let found = errors(text);
        assert!(
            found.iter().any(|(_, f, _)| f == field),
            "{text:?}: expected an error on {field}, got {found:?}"
        );
        assert_eq!(
            component_errors(text),
            native_as_component(text),
            "{text:?}"
        );
    }
}

#[test]
fn yaml_and_json_forms_of_a_talos_document_load_the_same() {
    let yaml = format!(
        "{HEADER}rules:
  - image: registry.k8s.io/*
    keyless:
      issuer: https://accounts.google.com
      subject: krel-trust@k8s-releng-prod.iam.gserviceaccount.com
  - image: localhost:3000/*
    deny: true
"
    );
    let json = r#"{"apiVersion":"v1alpha1","kind":"ImageVerificationConfig","rules":[
        {"image":"registry.k8s.io/*","keyless":{"issuer":"https://accounts.google.com",
         "subject":"krel-trust@k8s-releng-prod.iam.gserviceaccount.com"}},
        {"image":"localhost:3000/*","deny":true}]}"#;
    let a = Policy::parse(&yaml).unwrap();
    let b = Policy::parse(json).unwrap();
    for image in ["registry.k8s.io/pause:3.10", "localhost:3000/x", "nginx"] {
        assert_eq!(native_match(&a, image), native_match(&b, image), "{image}");
    }
    assert!(matches!(a.rules()[0].kind, RuleKind::Keyless(_)));
}

#[test]
fn null_fields_count_as_absent_as_in_go() {
    let text = format!(
        "{HEADER}rules:\n  - image: x.io/*\n    skip: true\n    deny: null\n    keyless: null\n"
    );
    assert!(Policy::parse(&text).is_ok());
}

fn warnings(text: &str) -> Vec<(Option<usize>, PolicyWarning)> {
    Policy::parse(text)
        .unwrap_or_else(|e| panic!("should load: {e:?}"))
        .warnings()
        .iter()
        .map(|w| (w.rule, w.kind.clone()))
        .collect()
}

#[test]
fn warnings_flag_patterns_that_cannot_match_and_unanchored_regexes() {
    let text = format!(
        "{HEADER}rules:
  - image: ghcr.io/org/app@sha256:abc
    skip: true
  - image: ghcr.io/org/app:v1
    skip: true
  - image: nginx
    skip: true
  - image: ghcr.io/o/*
    keyless: {{issuer: https://token.actions.githubusercontent.com, subjectRegex: 'https://github.com/o/r/.*'}}
  - image: ghcr.io/p/*
    keyless: {{issuer: https://x, subjectRegex: '^https://github\\.com/o/r/.*$'}}
  - image: '*'
    deny: true
  - image: quay.io/*
    skip: true
"
    );
    let found = warnings(&text);
    let expected = vec![
        (Some(0), PolicyWarning::PatternHasDigest),
        (Some(1), PolicyWarning::PatternHasTag),
        (Some(2), PolicyWarning::PatternWithoutRegistry),
        (
            Some(3),
            PolicyWarning::UnanchoredRegex {
                start: true,
                end: true,
            },
        ),
        (Some(6), PolicyWarning::Shadowed { by: 5 }),
    ];
    assert_eq!(found, expected);
}

#[test]
fn talos_regex_example_with_anchors_in_its_branches_gives_no_warning() {
    let text = format!(
        "{HEADER}rules:
  - image: ghcr.io/siderolabs/*
    keyless:
      issuer: https://accounts.google.com
      subjectRegex: '(@siderolabs\\.com$|^releasemgr-svc@talos-production\\.iam\\.gserviceaccount\\.com$)'
"
    );
    assert_eq!(warnings(&text), vec![]);
}

#[test]
fn regex_matches_unanchored_as_go_does() {
    // SECURITY-CASES row 16: the unanchored form matches a hostile SAN (Go
    // semantics, hence the lint warning), the anchored form refuses it.
    let hostile = "https://evil/?https://github.com/o/r/x";
    let regex = |source: &str| {
        let text = format!(
            "{HEADER}rules:\n  - image: x.io/*\n    keyless: {{issuer: https://x, subjectRegex: '{source}'}}\n"
        );
        let policy = Policy::parse(&text).unwrap();
        match &policy.rules()[0].kind {
            RuleKind::Keyless(k) => k.subject_regex.clone().unwrap(),
            other => panic!("{other:?}"),
        }
    };
    assert!(regex("https://github.com/o/r/.*").is_match(hostile));
    assert!(!regex("^https://github\\.com/o/r/.*$").is_match(hostile));
    assert!(regex("^https://github\\.com/o/r/.*$").is_match("https://github.com/o/r/x"));
}

#[test]
fn adversarial_regex_matches_in_linear_time() {
    // `(a+)+$` takes exponential time in a backtracking engine on "aaaa…b".
    let text = format!(
        "{HEADER}rules:\n  - image: x.io/*\n    keyless: {{issuer: https://x, subjectRegex: '^(a+)+$'}}\n"
    );
    let policy = Policy::parse(&text).unwrap();
    let RuleKind::Keyless(k) = &policy.rules()[0].kind else {
        panic!("keyless rule expected")
    };
    let regex = k.subject_regex.as_ref().unwrap();
    let time = |n: usize| {
        let subject = format!("{}b", "a".repeat(n));
        (0..3)
            .map(|_| {
                let start = Instant::now();
                assert!(!regex.is_match(&subject));
                start.elapsed()
            })
            .min()
            .unwrap()
    };
    let small = time(2_000).max(Duration::from_micros(50));
    let large = time(16_000);
    // Eight times the input: linear is ~8x; anything exponential is astronomically more.
    assert!(
        large < small * 40,
        "8x input took {:?} vs {:?}: not linear",
        large,
        small
    );
    assert!(large < Duration::from_secs(2), "took {large:?}");
}

#[test]
fn oversized_documents_are_refused_before_parsing() {
    let huge = format!("{HEADER}rules: []\n# {}\n", "x".repeat(5 * 1024 * 1024));
    let found = errors(&huge);
    assert!(
        matches!(found[0].2, PolicyError::TooLarge { .. }),
        "{found:?}"
    );
    assert_eq!(component_errors(&huge), native_as_component(&huge));
}

#[test]
fn too_many_rules_are_refused() {
    let rule = "  - {image: x.io/*, skip: true}\n";
    let text = format!("{HEADER}rules:\n{}", rule.repeat(70_000));
    let found = errors(&text);
    assert!(
        matches!(found[0].2, PolicyError::TooManyRules { .. }),
        "{found:?}"
    );
}

#[test]
fn hostile_yaml_is_an_error_not_a_crash() {
    let deep = format!(
        "{HEADER}rules: {}{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    let deep_json = format!("{{\"rules\": {}", "[".repeat(100_000));
    let quoted_closers = format!("{HEADER}rules: {}\n", "[ \"]\", ".repeat(100_000));
    let texts = [
        deep.as_str(),
        bomb,
        &deep_json,
        &quoted_closers,
        "\u{0}\u{1}\u{2}",
        "{\"a\": 1e999999}",
    ];
    for text in texts {
        let start = Instant::now();
        assert!(Policy::parse(text).is_err(), "{:.40}", text);
        assert_eq!(
            component_errors(text),
            native_as_component(text),
            "{:.40}",
            text
        );
        assert!(start.elapsed() < Duration::from_secs(5), "{:.40}", text);
    }
}

/// A small deterministic generator, so that the mutation set is the same on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[test]
fn mutated_policies_never_trap_and_agree_with_native() {
    let sources = ["talos-skip.yaml", "public-key.json"].map(|name| {
        std::fs::read(sigward_tests::project_root().join("policies").join(name)).unwrap()
    });
    let mut rng = SplitMix(0x5167_7a7d);
    let mut checked = 0;
    for source in &sources {
        for _ in 0..150 {
            let mut bytes = source.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % bytes.len();
                match rng.next() % 3 {
                    0 => bytes[at] = rng.next() as u8,
                    1 => {
                        bytes.remove(at);
                    }
                    _ => {
                        let alphabet = b"*:@-{}[]'\"\n #&";
                        bytes.insert(at, alphabet[(rng.next() as usize) % alphabet.len()]);
                    }
                }
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let native = Policy::parse(&text);
            let component = runtime()
                .load_policy(&text)
                .expect("the guest must not trap");
            assert_eq!(native.is_ok(), component.is_ok(), "{text}");
            if let (Err(n), Err(c)) = (&native, &component) {
                let n: Vec<String> = n.iter().map(|d| d.kind.to_string()).collect();
                let c: Vec<String> = c.iter().map(|d| d.message.clone()).collect();
                assert_eq!(n, c, "{text}");
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "only {checked} mutations were valid UTF-8");
}

fn many_rules(patterns: impl Iterator<Item = String>) -> String {
    let mut text = format!("{HEADER}rules:\n");
    for pattern in patterns {
        text.push_str(&format!("  - image: '{pattern}'\n    skip: true\n"));
    }
    text
}

/// The shadowing lint compares a rule only with earlier rules whose literal
/// prefix it starts with: a 10 000-rule policy loads well within the
/// component's fuel budget, and still finds the one shadowed rule.
#[test]
fn a_large_policy_lints_without_comparing_every_pair() {
    let text = many_rules(
        (0..10_000)
            .map(|i| format!("registry.example/team-{i}/*"))
            .chain(["registry.example/team-5000/app".to_owned()]),
    );
    let policy = Policy::parse(&text).unwrap();
    let shadowed: Vec<_> = policy
        .warnings()
        .iter()
        .filter(|w| matches!(w.kind, PolicyWarning::Shadowed { .. }))
        .map(|w| (w.rule, w.kind.clone()))
        .collect();
    assert_eq!(
        shadowed,
        vec![(Some(10_000), PolicyWarning::Shadowed { by: 5000 })]
    );

    let mut session = runtime().load_policy(&text).unwrap().unwrap();
    let warnings = session.warnings().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.rule == Some(10_000) && w.message.contains("(5000)")),
        "{warnings:?}"
    );
}

/// Rules that all share a prefix would need every pair compared; the lint
/// stops at its budget and says so, rather than running for minutes.
#[test]
fn the_shadowing_lint_is_bounded() {
    let text = many_rules((0..3000).map(|i| format!("registry.example/*/app-{i}")));
    let started = Instant::now();
    let policy = Policy::parse(&text).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        policy
            .warnings()
            .iter()
            .any(|w| w.kind == PolicyWarning::ShadowingNotChecked),
        "{:?}",
        policy.warnings().len()
    );
}
