//! Errors and warnings found in a policy document, each tied to a rule and field.

use std::fmt;

use crate::decision::rule_label;
use crate::public_key::KeyError;

/// A problem with its place: the rule index (none for the document) and the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic<K> {
    pub rule: Option<usize>,
    pub field: String,
    pub kind: K,
}

impl<K: fmt::Display> fmt::Display for Diagnostic<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(index) => write!(
                f,
                "rule {} {}: {}",
                rule_label(index),
                self.field,
                self.kind
            ),
            None => write!(f, "{}: {}", self.field, self.kind),
        }
    }
}

/// Why a policy does not load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    TooLarge {
        bytes: usize,
        max: usize,
    },
    TooDeep {
        depth: usize,
        max: usize,
    },
    TooManyRules {
        count: usize,
        max: usize,
    },
    Syntax(String),
    NotOneDocument,
    WrongType {
        expected: &'static str,
        found: &'static str,
    },
    Missing,
    UnknownField,
    WrongValue {
        expected: &'static str,
        found: String,
    },
    EmptyImage,
    SkipAndDeny,
    VerifierWithSkipOrDeny,
    NoAction,
    BothVerifiers,
    KeylessWithoutIssuer,
    KeylessWithoutSubject,
    EmptyPublicKey,
    InvalidRegex(String),
    /// The policy's regexes together compile past their budget.
    RegexBudget {
        max: usize,
    },
    InvalidPublicKey(KeyError),
    /// `attestations` on a skip or deny rule (sigward's extension).
    AttestationsWithoutVerifier,
    /// Neither a full predicate type URI nor one of cosign's short names.
    UnknownPredicateType(String),
    /// A condition's path, test or `maxAge` that cannot be used.
    InvalidCondition(String),
    /// `advisories` on a skip or deny rule (sigward's extension).
    AdvisoriesWithoutVerifier,
    /// `advisories` on a rule whose `attestations` require no SBOM.
    AdvisoriesWithoutSbom,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { bytes, max } => {
                write!(f, "document is {bytes} bytes, at most {max} allowed")
            }
            Self::TooManyRules { count, max } => {
                write!(f, "{count} rules, at most {max} allowed")
            }
            Self::TooDeep { depth, max } => {
                write!(f, "collections nest {depth} deep, at most {max} allowed")
            }
            Self::Syntax(e) => write!(f, "not valid YAML or JSON: {e}"),
            Self::NotOneDocument => write!(f, "expected exactly one YAML document"),
            Self::WrongType { expected, found } => write!(f, "expected {expected}, got {found}"),
            Self::Missing => write!(f, "required field is missing"),
            Self::UnknownField => write!(f, "unknown field"),
            Self::WrongValue { expected, found } => {
                write!(f, "expected `{expected}`, got `{found}`")
            }
            Self::EmptyImage => write!(f, "image pattern must not be empty"),
            Self::SkipAndDeny => write!(f, "skip and deny cannot both be true"),
            Self::VerifierWithSkipOrDeny => {
                write!(f, "a rule with skip or deny cannot also have a verifier")
            }
            Self::NoAction => write!(
                f,
                "rule has no action: set skip, deny, keyless or publicKey"
            ),
            Self::BothVerifiers => write!(f, "keyless and publicKey cannot both be set"),
            Self::KeylessWithoutIssuer => write!(f, "keyless verification needs an issuer"),
            Self::KeylessWithoutSubject => {
                write!(f, "keyless verification needs subject or subjectRegex")
            }
            Self::EmptyPublicKey => write!(f, "public key certificate must not be empty"),
            Self::InvalidRegex(e) => write!(f, "regular expression does not compile: {e}"),
            Self::RegexBudget { max } => write!(
                f,
                "the policy's regular expressions compile to more than {max} bytes together; this one and the rest are not compiled"
            ),
            Self::InvalidPublicKey(e) => write!(f, "{e}"),
            Self::AttestationsWithoutVerifier => write!(
                f,
                "attestations need a verify rule (keyless or publicKey), not skip or deny"
            ),
            Self::UnknownPredicateType(name) => write!(
                f,
                "predicate type {name:?} is neither a URI nor one of {}",
                super::attestation::SHORT_NAMES
                    .iter()
                    .map(|(short, _)| *short)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::InvalidCondition(e) => write!(f, "{e}"),
            Self::AdvisoriesWithoutVerifier => write!(
                f,
                "advisories need a verify rule (keyless or publicKey), not skip or deny"
            ),
            Self::AdvisoriesWithoutSbom => write!(
                f,
                "advisories are matched against the image's verified SBOM: add an SBOM \
                 (predicateType spdx or cyclonedx) to this rule's attestations"
            ),
        }
    }
}

/// What is suspicious in a policy that still loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyWarning {
    /// Patterns match references without digest, so an `@` never matches.
    PatternHasDigest,
    /// Patterns match references without tag, so a `:` after the first `/` never matches.
    PatternHasTag,
    /// References always start with a registry, so a pattern without `/` never matches.
    PatternWithoutRegistry,
    /// An unanchored regex is a classic bypass (GHSA-59jp-pj84-45mr).
    UnanchoredRegex { start: bool, end: bool },
    /// An earlier rule matches everything this one matches.
    Shadowed { by: usize },
    /// Both subject and subjectRegex are set; both must hold.
    SubjectAndRegex,
    /// The policy is too large for the shadowing lint to finish; rules from
    /// this one on were not checked.
    ShadowingNotChecked,
}

impl fmt::Display for PolicyWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PatternHasDigest => write!(
                f,
                "pattern contains `@`, but digests are removed before matching, so it can never match"
            ),
            Self::PatternHasTag => write!(
                f,
                "pattern contains `:` after its first `/`, but tags are removed before matching, so it can never match"
            ),
            Self::PatternWithoutRegistry => write!(
                f,
                "pattern has no `/`, but references always start with a registry (`docker.io/library/nginx`), so it can never match"
            ),
            Self::UnanchoredRegex { start, end } => {
                let missing = match (start, end) {
                    (true, true) => "`^` at the start or `$` at the end",
                    (true, false) => "`^` at the start",
                    _ => "`$` at the end",
                };
                write!(
                    f,
                    "regular expression has no {missing}; it matches anywhere in the subject, so a longer subject can pass"
                )
            }
            Self::Shadowed { by } => write!(
                f,
                "rule can never match: rule {} before it matches every image it would",
                rule_label(*by)
            ),
            Self::ShadowingNotChecked => write!(
                f,
                "too many rules share pattern prefixes: rules from this one on were not checked for being shadowed"
            ),
            Self::SubjectAndRegex => write!(
                f,
                "both subject and subjectRegex are set: the subject must equal `subject` and match `subjectRegex`"
            ),
        }
    }
}
