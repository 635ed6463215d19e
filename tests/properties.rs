//! Property tests: image-pattern matching and reference normalization against
//! plain reference implementations written here, on generated inputs.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use sigward_core::Reference;
use sigward_core::glob::Glob;

/// Wildcard matching by dynamic programming over (pattern, text) prefixes:
/// `*` matches any run of characters, everything else itself.
fn plain_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // matched[j]: the pattern so far matches text[..j].
    let mut matched = vec![false; t.len() + 1];
    matched[0] = true;
    for &c in &p {
        let mut next = vec![false; t.len() + 1];
        if c == '*' {
            let mut any = false;
            for j in 0..=t.len() {
                any |= matched[j];
                next[j] = any;
            }
        } else {
            for j in 1..=t.len() {
                next[j] = matched[j - 1] && t[j - 1] == c;
            }
        }
        matched = next;
    }
    matched[t.len()]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn glob_matching_is_wildcard_matching(
        pattern in "[ab/.*]{0,10}",
        text in "[ab/.]{0,14}",
    ) {
        prop_assert_eq!(Glob::new(&pattern).matches(&text), plain_match(&pattern, &text));
    }

    /// The shadowing lint's test is sound: when it says an earlier pattern
    /// covers a later one, every text the later one matches, the earlier
    /// one matches too.
    #[test]
    fn a_covered_pattern_matches_nothing_its_cover_does_not(
        later in "[ab/*]{0,8}",
        earlier in "[ab/*]{0,8}",
        text in "[ab/]{0,12}",
    ) {
        let (later, earlier) = (Glob::new(&later), Glob::new(&earlier));
        if later.is_covered_by(&earlier) && later.matches(&text) {
            prop_assert!(earlier.matches(&text));
        }
    }
}

/// What a reference normalizes to, by Docker's rules written out plainly:
/// the first component is a registry if it has a `.` or `:`, is
/// `localhost`, or has an uppercase letter; otherwise the registry is Docker
/// Hub. Docker Hub's aliases become `docker.io`, and a one-component Docker
/// Hub path gains `library/`.
fn plain_normalize(name: &str) -> (String, String) {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => ("docker.io".to_owned(), name.to_owned()),
    };
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
        _ => registry,
    };
    let path = if registry == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    (registry, path)
}

fn registry() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("docker.io".to_owned())),
        Just(Some("index.docker.io".to_owned())),
        Just(Some("registry-1.docker.io".to_owned())),
        Just(Some("localhost".to_owned())),
        "[a-z][a-z0-9-]{0,6}[a-z0-9]\\.(io|dev|test)".prop_map(Some),
        "(localhost|[a-z]{1,8}\\.io):[0-9]{1,5}".prop_map(Some),
        "[A-Z][a-zA-Z]{0,5}".prop_map(Some),
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9]{1,4}((\\.|_|__|-+)[a-z0-9]{1,4})?", 1..4)
        .prop_map(|components| components.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn references_normalize_as_docker_does(
        registry in registry(),
        path in path(),
        tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}"),
        digest in proptest::option::of("[0-9a-f]{64}"),
    ) {
        let name = match &registry {
            Some(registry) => format!("{registry}/{path}"),
            None => path.clone(),
        };
        // A name of 64 hex digits alone on Docker Hub is refused (it reads as an image ID).
        prop_assume!(!(registry.is_none() && !path.contains('/') && path.len() == 64));
        let mut input = name.clone();
        if let Some(tag) = &tag {
            input = format!("{input}:{tag}");
        }
        if let Some(hex) = &digest {
            input = format!("{input}@sha256:{hex}");
        }
        let parsed = Reference::parse(&input).map_err(|e| TestCaseError::fail(format!("{input}: {e}")))?;
        let (expected_registry, expected_path) = plain_normalize(&name);
        prop_assert_eq!(parsed.registry(), expected_registry.as_str(), "{}", input);
        prop_assert_eq!(parsed.path(), expected_path.as_str(), "{}", input);
        prop_assert_eq!(parsed.tag(), tag.as_deref(), "{}", input);
        prop_assert_eq!(
            parsed.digest().map(|d| d.to_string()),
            digest.map(|hex| format!("sha256:{hex}")),
            "{}", input
        );
        // The normalized form is a fixed point.
        let again = Reference::parse(&parsed.to_string()).unwrap();
        prop_assert_eq!(again, parsed);
    }

    /// Whatever the input, parsing never panics, and what parses is a fixed
    /// point of normalization.
    #[test]
    fn any_text_parses_or_is_refused(input in "[a-zA-Z0-9:/@._-]{0,40}") {
        if let Ok(parsed) = Reference::parse(&input) {
            prop_assert_eq!(Reference::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
