//! sigward's extension of the Talos document: `attestations` on a verify
//! rule. Each entry names an in-toto predicate type, optionally a signer of
//! its own, and declarative conditions on the predicate. Talos has no such
//! field; a document without it loads unchanged in both.
//!
//! ```yaml
//! attestations:
//!   - predicateType: slsaprovenance1          # or the full URI
//!     require:
//!       - path: runDetails.builder.id
//!         equals: https://github.com/actions/runner
//!     maxAge: 168h
//!   - predicateType: vuln
//!     deny:
//!       - path: scanner.result.Results[*].Vulnerabilities[*].Severity
//!         oneOf: [CRITICAL]
//! ```
//!
//! A condition's `path` is dotted keys, with `[*]` for every element of an
//! array and `[N]` for one. `require`: at least one value is at the path,
//! and every value there passes the test. `deny`: no value at the path may
//! pass it.

use std::fmt;

use serde_json::Value;

use super::{KeyVerifier, KeylessIdentity, SubjectRegex};

/// cosign's short names for predicate types (`cosign attest --type`).
pub const SHORT_NAMES: [(&str, &str); 9] = [
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
    ("custom", "https://cosign.sigstore.dev/attestation/v1"),
];

/// The predicate type cosign gives a signature made as a DSSE statement:
/// such a bundle is a signature, never an attestation.
pub const SIGNATURE_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// The full predicate type URI for a short name or a URI.
pub fn predicate_type(name: &str) -> Option<&str> {
    if let Some((_, uri)) = SHORT_NAMES.iter().find(|(short, _)| *short == name) {
        return Some(uri);
    }
    (name.contains("://") && name != SIGNATURE_PREDICATE).then_some(name)
}

/// One entry of `attestations`.
#[derive(Clone, Debug)]
pub struct Requirement {
    /// The full predicate type URI.
    pub predicate_type: String,
    /// Who must have signed it; none means the rule's own signer.
    pub signer: Option<AttestationSigner>,
    pub require: Vec<Condition>,
    pub deny: Vec<Condition>,
    /// The attestation's signing time must be at most this many seconds ago.
    pub max_age: Option<i64>,
}

#[derive(Clone, Debug)]
pub enum AttestationSigner {
    Keyless(KeylessIdentity),
    PublicKey(KeyVerifier),
}

/// A test on the values at a path of the predicate.
#[derive(Clone, Debug)]
pub struct Condition {
    pub path: Path,
    pub test: Test,
}

#[derive(Clone, Debug)]
pub enum Test {
    Equals(Value),
    Regex(SubjectRegex),
    OneOf(Vec<Value>),
}

impl Test {
    fn passes(&self, value: &Value) -> bool {
        match self {
            Self::Equals(expected) => value == expected,
            Self::Regex(regex) => value.as_str().is_some_and(|s| regex.is_match(s)),
            Self::OneOf(list) => list.contains(value),
        }
    }
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Equals(v) => write!(f, "equals {v}"),
            Self::Regex(r) => write!(f, "matches /{}/", r.as_str()),
            Self::OneOf(list) => write!(
                f,
                "is one of [{}]",
                list.iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A dotted path into the predicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    source: String,
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    Every,
}

/// The most values one path may reach (`[*]` under `[*]` multiplies).
pub const PATH_VALUES: usize = 1_000_000;

impl Path {
    /// Parses `a.b[*].c` or `a[0]`. Keys are non-empty and hold no `.`,
    /// `[` or `]`.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.is_empty() {
            return Err("the path is empty".into());
        }
        let mut segments = Vec::new();
        for part in source.split('.') {
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if key.is_empty() && (segments.is_empty() || rest.is_empty()) {
                return Err(format!("empty key in {source:?}"));
            }
            if key.contains(']') {
                return Err(format!("unexpected `]` in {source:?}"));
            }
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_owned()));
            }
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("unclosed `[` in {source:?}"))?;
                let inside = &rest[1..close];
                segments.push(match inside {
                    "*" => Segment::Every,
                    n => Segment::Index(n.parse().map_err(|_| {
                        format!("`[{n}]` in {source:?}: expected `[*]` or an index")
                    })?),
                });
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("expected `.` or `[` after `]` in {source:?}"));
                }
            }
        }
        Ok(Self {
            source: source.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The values at this path; an error when they are more than [`PATH_VALUES`].
    pub fn values<'v>(&self, root: &'v Value) -> Result<Vec<&'v Value>, usize> {
        let mut current = vec![root];
        for segment in &self.segments {
            let mut next = Vec::new();
            for value in current {
                match (segment, value) {
                    (Segment::Key(k), Value::Object(map)) => next.extend(map.get(k)),
                    (Segment::Index(i), Value::Array(items)) => next.extend(items.get(*i)),
                    (Segment::Every, Value::Array(items)) => next.extend(items.iter()),
                    _ => {}
                }
                if next.len() > PATH_VALUES {
                    return Err(next.len());
                }
            }
            current = next;
        }
        Ok(current)
    }
}

/// Why a predicate does not meet an entry's conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet(pub String);

impl Requirement {
    /// Checks the conditions on a predicate, in order: every `require`,
    /// then every `deny`. Returns a line per condition that held.
    pub fn check(&self, predicate: &Value) -> Result<Vec<String>, Unmet> {
        let mut held = Vec::new();
        for condition in &self.require {
            let path = condition.path.as_str();
            let values = condition.path.values(predicate).map_err(|n| {
                Unmet(format!(
                    "require {path}: {n} values, more than {PATH_VALUES}"
                ))
            })?;
            if values.is_empty() {
                return Err(Unmet(format!(
                    "require {path} {}: the predicate has no value there",
                    condition.test
                )));
            }
            if let Some(bad) = values.iter().find(|v| !condition.test.passes(v)) {
                return Err(Unmet(format!(
                    "require {path} {}: found {}",
                    condition.test,
                    shorten(bad)
                )));
            }
            held.push(format!(
                "{path} {} ({} value(s))",
                condition.test,
                values.len()
            ));
        }
        for condition in &self.deny {
            let path = condition.path.as_str();
            let values = condition
                .path
                .values(predicate)
                .map_err(|n| Unmet(format!("deny {path}: {n} values, more than {PATH_VALUES}")))?;
            if let Some(bad) = values.iter().find(|v| condition.test.passes(v)) {
                return Err(Unmet(format!(
                    "deny {path} {}: found {}",
                    condition.test,
                    shorten(bad)
                )));
            }
            held.push(format!("no {path} {}", condition.test));
        }
        Ok(held)
    }
}

fn shorten(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Parses a Go duration of hours, minutes and seconds (`168h`, `1h30m`,
/// `90s`) into seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not a duration such as 168h, 30m or 1h30m");
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total <= 0 {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_keys_indexes_and_every_element() {
        let doc = json!({"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]}, "x.y": 4});
        let at = |p: &str| {
            Path::parse(p)
                .unwrap()
                .values(&doc)
                .unwrap()
                .into_iter()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(at("a.b[*].c"), [json!(1), json!(2)]);
        assert_eq!(at("a.b[1].c"), [json!(2)]);
        assert_eq!(at("a.b[7].c"), Vec::<Value>::new());
        assert_eq!(at("a.missing"), Vec::<Value>::new());
        for bad in ["", "a..b", "a[", "a[x]", "a]b", "a[*]b", ".a"] {
            assert!(Path::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn durations_are_go_hours_minutes_seconds() {
        assert_eq!(parse_duration("168h"), Ok(168 * 3600));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("90s"), Ok(90));
        for bad in ["", "7d", "h", "10", "-1h", "0s", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn short_names_and_uris() {
        assert_eq!(
            predicate_type("slsaprovenance1"),
            Some("https://slsa.dev/provenance/v1")
        );
        assert_eq!(
            predicate_type("https://example.com/p/v1"),
            Some("https://example.com/p/v1")
        );
        assert_eq!(predicate_type("provenance"), None);
        assert_eq!(predicate_type(SIGNATURE_PREDICATE), None);
    }
}
