//! The rule index against the plain scan: for 100 000 images drawn at random
//! against random policies, the rule `Policy::match_image` finds (through the
//! rules' literal prefixes) is the first rule, in order, whose pattern
//! matches the image's repository.

#![allow(clippy::panic)]

use sigward_core::policy::Policy;
use sigward_core::reference::Reference;

/// xorshift64*: a fixed seed, so a failure names an image that fails again.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap_or(1)).unwrap_or(0)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from.get(self.below(from.len()))
            .copied()
            .unwrap_or_default()
    }
}

/// Few letters and short names, so that patterns and images share prefixes
/// and patterns often match.
fn repository(draw: &mut Draw) -> String {
    let host = draw.pick(&[
        "r.io",
        "r.io:5000",
        "ghcr.io",
        "docker.io",
        "index.docker.io",
    ]);
    let segments = 1 + draw.below(3);
    let mut path = Vec::new();
    for _ in 0..segments {
        let mut segment = String::new();
        for _ in 0..1 + draw.below(3) {
            segment.push_str(draw.pick(&["a", "b", "ab", "ba", "a-b", "a.b", "a_b"]));
        }
        path.push(segment);
    }
    format!("{host}/{}", path.join("/"))
}

/// A pattern made from a repository: cut short, with stars put in, or a
/// literal of another shape (multi-byte characters included, which no image
/// holds but a prefix lookup must step around).
fn pattern(draw: &mut Draw) -> String {
    let base = repository(draw);
    match draw.below(8) {
        0 => base,
        1 => format!(
            "{}*",
            draw.pick(&["r.io/", "ghcr.io/a", "docker.io/library/"])
        ),
        2 => format!("*{}", &base[draw.below(base.len())..]),
        3 => format!("é{base}*"),
        4 => format!("{}ü*", &base[..draw.below(base.len())]),
        _ => {
            let mut chars: Vec<char> = base.chars().collect();
            for _ in 0..1 + draw.below(3) {
                let at = draw.below(chars.len() + 1);
                let cut = draw.below(4).min(chars.len().saturating_sub(at));
                chars.splice(at..at + cut, ['*']);
            }
            chars.into_iter().collect()
        }
    }
}

/// Random rules; a catch-all `*` last when `catch_all`.
fn policy(draw: &mut Draw, rules: usize, catch_all: bool) -> Policy {
    let mut rules: Vec<serde_json::Value> = (0..rules)
        .map(|_| serde_json::json!({"image": pattern(draw), "skip": true}))
        .collect();
    if catch_all {
        rules.push(serde_json::json!({"image": "*", "deny": true}));
    }
    let document = serde_json::json!({
        "apiVersion": "v1alpha1",
        "kind": "ImageVerificationConfig",
        "rules": rules,
    });
    match Policy::parse(&document.to_string()) {
        Ok(policy) => policy,
        Err(errors) => panic!("a generated policy does not load: {errors:?}"),
    }
}

#[test]
fn the_index_finds_the_rule_the_plain_scan_finds() {
    let mut draw = Draw(0x5eed_0f51_67ad);
    let (mut first, mut later, mut unmatched) = (0usize, 0usize, 0usize);
    for round in 0..100 {
        let rules = 1 + draw.below(300);
        let policy = policy(&mut draw, rules, round % 4 == 0);
        for _ in 0..1000 {
            let image = format!("{}:v1", repository(&mut draw));
            let found = match policy.match_image(&image) {
                Ok(found) => found,
                Err(error) => panic!("{image} does not parse: {error}"),
            };
            let reference = Reference::parse(&image).unwrap_or_else(|e| panic!("{image}: {e}"));
            let repository = reference.repository();
            let scanned = policy
                .rules()
                .iter()
                .position(|rule| rule.pattern.matches(&repository));
            assert_eq!(
                found.rule, scanned,
                "round {round}: {image} ({repository}) matched rule {:?} through the index, rule \
                 {scanned:?} by the plain scan",
                found.rule
            );
            match scanned {
                Some(0) => first += 1,
                Some(_) => later += 1,
                None => unmatched += 1,
            }
        }
    }
    // The draw must exercise every outcome: no match, the first rule, a later one.
    let seen = format!("first rule {first}, a later rule {later}, none {unmatched}");
    assert!(
        first > 1000 && later > 10_000 && unmatched > 10_000,
        "{seen}"
    );
}
