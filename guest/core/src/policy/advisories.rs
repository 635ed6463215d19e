//! sigward's extension of the Talos document: `advisories` on a verify rule,
//! a gate on the vulnerabilities known at admission. The image's verified
//! SBOM (one of the rule's own `attestations`) is matched against the OSV
//! advisories the host holds now, and the image is refused when one of at
//! least `severity` affects a package.
//!
//! ```yaml
//! attestations:
//!   - predicateType: cyclonedx
//! advisories:
//!   deny:
//!     severity: HIGH        # UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL
//!     fixAvailable: true    # only advisories that name a fixed version
//!   ignore: [CVE-2026-0001] # ids or aliases never counted
//! ```
//!
//! Levels are ordered UNKNOWN < NONE < LOW < MEDIUM < HIGH < CRITICAL, so
//! `severity: UNKNOWN` counts every advisory, those without a severity too,
//! and any other level leaves out the advisories that give none.

use serde_json::{Map, Value};

use super::diagnostic::{Diagnostic, PolicyError};
use super::fields::{Errors, Fields};
use crate::advisory::severity::Level;
use crate::sbom;

/// The most entries `ignore` may have.
pub const IGNORED: usize = 10_000;

/// A rule's `advisories`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvisoryGate {
    /// Advisories of at least this level refuse the image.
    pub severity: Level,
    /// Only advisories that name a fixed version after the package's count.
    pub fix_available: bool,
    /// Ids or aliases never counted.
    pub ignore: Vec<String>,
}

impl AdvisoryGate {
    /// Whether an advisory of `level`, named `is_named`, with a fix or not,
    /// refuses the image.
    pub fn denies(&self, level: Level, has_fix: bool, is_named: impl Fn(&str) -> bool) -> bool {
        level >= self.severity
            && (has_fix || !self.fix_available)
            && !self.ignore.iter().any(|name| is_named(name))
    }
}

/// Reads a rule's `advisories`. `verifies`: whether the rule is a verify
/// rule; `sbom`: whether its `attestations` require an SBOM.
pub(super) fn parse(
    index: usize,
    map: &Map<String, Value>,
    verifies: bool,
    sbom: bool,
    errors: &mut Errors,
) -> Option<AdvisoryGate> {
    let before = errors.len();
    let mut fields = Fields::new(map, Some(index), "advisories.", errors);
    let deny = fields.object("deny");
    let ignore = fields.array("ignore");
    fields.reject_unknown(&["deny", "ignore"]);
    let misplaced = if !verifies {
        Some(PolicyError::AdvisoriesWithoutVerifier)
    } else if !sbom {
        Some(PolicyError::AdvisoriesWithoutSbom)
    } else {
        None
    };
    if let Some(kind) = misplaced {
        fields.errors.push(Diagnostic {
            rule: Some(index),
            field: "advisories".to_owned(),
            kind,
        });
    }
    let (mut severity, mut fix_available) = (None, false);
    match deny {
        None => fields.error("deny", PolicyError::Missing),
        Some(deny) => {
            let mut deny = Fields::new(deny, Some(index), "advisories.deny.", fields.errors);
            let level = deny.string("severity");
            fix_available = deny.boolean("fixAvailable").unwrap_or(false);
            deny.reject_unknown(&["severity", "fixAvailable"]);
            match level {
                None => deny.error("severity", PolicyError::Missing),
                Some(text) => match text.parse::<Level>() {
                    Ok(Level::None) | Err(_) => deny.error(
                        "severity",
                        PolicyError::WrongValue {
                            expected: "UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL",
                            found: text,
                        },
                    ),
                    Ok(level) => severity = Some(level),
                },
            }
        }
    }
    let mut names = Vec::new();
    let list = ignore.map_or(&[][..], Vec::as_slice);
    if list.len() > IGNORED {
        fields.error(
            "ignore",
            PolicyError::InvalidCondition(format!(
                "{} entries, at most {IGNORED} allowed",
                list.len()
            )),
        );
    }
    for (i, entry) in list.iter().enumerate().take(IGNORED) {
        match entry.as_str() {
            Some(name) if !name.is_empty() => names.push(name.to_owned()),
            _ => fields.errors.push(Diagnostic {
                rule: Some(index),
                field: format!("advisories.ignore[{i}]"),
                kind: PolicyError::WrongType {
                    expected: "an advisory id or alias (a non-empty string)",
                    found: super::type_name(entry),
                },
            }),
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(AdvisoryGate {
        severity: severity?,
        fix_available,
        ignore: names,
    })
}

/// Whether a rule's attestations include an SBOM, which the gate reads.
pub(super) fn requires_sbom(requirements: &[super::attestation::Requirement]) -> bool {
    requirements
        .iter()
        .any(|r| sbom::is_sbom(&r.predicate_type))
}
