//! Decisions and their traces, with the messages Talos prints.

use std::fmt;

/// What a matched rule tells the caller to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Verify,
    Skip,
    Deny,
    /// No rule matched.
    None,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Skip => "skip",
            Self::Deny => "deny",
            Self::None => "none",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// One line of a trace: a named check, its outcome, what it expected and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub outcome: Outcome,
    pub detail: String,
}

impl Check {
    pub fn new(name: &str, outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            outcome,
            detail: detail.into(),
        }
    }
}

/// The final answer for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub verified: bool,
    pub rule: Option<usize>,
    pub action: Action,
    /// The digested reference the decision is about.
    pub reference: String,
    pub message: String,
    pub trace: Vec<Check>,
}

/// Talos prints rule indexes as four digits: `(0002)`.
pub fn rule_label(index: usize) -> String {
    format!("({index:04})")
}

/// The Talos message for an action that needs no verification, if it has one.
pub fn unverified_message(action: Action, rule: Option<usize>) -> Option<String> {
    let label = rule.map(rule_label).unwrap_or_default();
    match action {
        Action::Skip => Some(format!("verification skipped by matched rule {label}")),
        Action::Deny => Some(format!("verification denied by matched rule {label}")),
        Action::None => Some("no matched rule".to_owned()),
        Action::Verify => None,
    }
}

/// Whether an action admits the image without any verification.
pub fn allows_unverified(action: Action) -> bool {
    matches!(action, Action::Skip | Action::None)
}
