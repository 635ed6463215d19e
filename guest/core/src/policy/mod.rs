//! The Talos `ImageVerificationConfig` policy: rules matched top-down by image
//! pattern, the first match wins.

pub mod advisories;
pub mod attestation;
mod diagnostic;
mod document;
mod fields;
mod index;
mod lint;
mod yaml;

use regex_lite::Regex;

use crate::decision::{self, Action};
use crate::glob::Glob;
use crate::public_key::PublicKey;
use crate::reference::{Reference, ReferenceError};

pub use diagnostic::{Diagnostic, PolicyError, PolicyWarning};
/// How a value is named in messages: `a string`, `a mapping`, …
pub use fields::type_name;

/// A policy document's tree as the loader reads it (YAML or JSON), before
/// any field is checked: what the YAML reader makes of a document can be
/// compared with other readers'.
pub fn document_tree(text: &str) -> Result<serde_json::Value, PolicyError> {
    document::read_tree(text)
}

/// A loaded, validated policy. Parse it once and reuse it for every image.
#[derive(Clone, Debug)]
pub struct Policy {
    rules: Vec<Rule>,
    index: index::RuleIndex,
    warnings: Vec<Diagnostic<PolicyWarning>>,
}

/// One rule: a pattern and what to do with the images it matches.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The pattern, with Docker Hub host aliases normalized to `docker.io`.
    pub pattern: Glob,
    pub kind: RuleKind,
    /// The attestations a verify rule also requires (sigward's extension).
    pub attestations: Vec<attestation::Requirement>,
    /// The gate on current advisories (sigward's extension).
    pub advisories: Option<advisories::AdvisoryGate>,
}

#[derive(Clone, Debug)]
pub enum RuleKind {
    Skip,
    Deny,
    Keyless(KeylessIdentity),
    PublicKey(KeyVerifier),
}

/// The signer a keyless rule demands. When both `subject` and `subject_regex`
/// are given, both must hold.
#[derive(Clone, Debug)]
pub struct KeylessIdentity {
    pub issuer: String,
    pub subject: Option<String>,
    pub subject_regex: Option<SubjectRegex>,
}

impl KeylessIdentity {
    /// An identity to verify against, built outside a policy document (the
    /// conformance client's flags). The regex, if any, is compiled as a
    /// policy's would be.
    pub fn new(
        issuer: String,
        subject: Option<String>,
        subject_regex: Option<&str>,
    ) -> Result<Self, String> {
        let subject_regex = subject_regex
            .map(|source| {
                fields::compile_regex(source).map(|regex| SubjectRegex {
                    source: source.to_owned(),
                    regex,
                })
            })
            .transpose()?;
        Ok(Self {
            issuer,
            subject,
            subject_regex,
        })
    }
}

/// A compiled `subjectRegex`. It matches anywhere in the subject, as Go's does.
#[derive(Clone, Debug)]
pub struct SubjectRegex {
    source: String,
    regex: Regex,
}

impl SubjectRegex {
    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, subject: &str) -> bool {
        self.regex.is_match(subject)
    }
}

/// A public-key rule: the PEM as written and the decoded key.
#[derive(Clone, Debug)]
pub struct KeyVerifier {
    pub pem: String,
    pub key: PublicKey,
}

impl RuleKind {
    pub fn action(&self) -> Action {
        match self {
            Self::Skip => Action::Skip,
            Self::Deny => Action::Deny,
            Self::Keyless(_) | Self::PublicKey(_) => Action::Verify,
        }
    }
}

/// Which rule an image matched, and what that rule asks for.
#[derive(Clone, Debug)]
pub struct MatchResult {
    pub reference: Reference,
    /// Index of the matched rule; `None` when no rule matched.
    pub rule: Option<usize>,
    pub action: Action,
}

impl MatchResult {
    /// The Talos message for skip, deny and no match; `None` for verify.
    pub fn message(&self) -> Option<String> {
        decision::unverified_message(self.action, self.rule)
    }
}

impl Policy {
    /// Parses a policy document, YAML or JSON. On failure, returns every error found.
    pub fn parse(text: &str) -> Result<Self, Vec<Diagnostic<PolicyError>>> {
        let rules = document::parse(text)?;
        let warnings = lint::lint(&rules);
        let index = index::RuleIndex::new(&rules);
        Ok(Self {
            rules,
            index,
            warnings,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, index: usize) -> Option<&Rule> {
        self.rules.get(index)
    }

    pub fn warnings(&self) -> &[Diagnostic<PolicyWarning>] {
        &self.warnings
    }

    /// Finds the first rule matching an image reference. An invalid reference
    /// is an error, never a match.
    pub fn match_image(&self, image: &str) -> Result<MatchResult, ReferenceError> {
        let reference = Reference::parse(image)?;
        Ok(self.match_reference(reference))
    }

    pub fn match_reference(&self, reference: Reference) -> MatchResult {
        let found = self.first_match(&reference.repository());
        let action = found
            .and_then(|i| self.rules.get(i))
            .map_or(Action::None, |rule| rule.kind.action());
        MatchResult {
            reference,
            rule: found,
            action,
        }
    }

    /// The index of the first rule whose pattern matches a repository
    /// (`host/path`, Docker Hub written `docker.io`), found through the rules'
    /// literal prefixes: the same rule as trying each in order.
    pub fn first_match(&self, repository: &str) -> Option<usize> {
        self.index.first_match(&self.rules, repository)
    }
}
