//! Warnings: things that load but probably do not do what the author meant.

use super::diagnostic::{Diagnostic, PolicyWarning};
use super::{Rule, RuleKind};

pub(super) fn lint(rules: &[Rule]) -> Vec<Diagnostic<PolicyWarning>> {
    let mut warnings = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let mut warn = |field: &str, kind| {
            warnings.push(Diagnostic {
                rule: Some(index),
                field: field.to_owned(),
                kind,
            })
        };
        let pattern = rule.pattern.as_str();
        if pattern.contains('@') {
            warn("image", PolicyWarning::PatternHasDigest);
        }
        let before_digest = pattern.split('@').next().unwrap_or_default();
        if before_digest
            .split_once('/')
            .is_some_and(|(_, path)| path.contains(':'))
        {
            warn("image", PolicyWarning::PatternHasTag);
        }
        if !pattern.contains('/') && pattern.chars().any(|c| c != '*') {
            warn("image", PolicyWarning::PatternWithoutRegistry);
        }
        if let RuleKind::Keyless(keyless) = &rule.kind
            && let Some(regex) = &keyless.subject_regex
        {
            let start = !regex.as_str().contains('^');
            let end = !regex.as_str().contains('$');
            if start || end {
                warn(
                    "keyless.subjectRegex",
                    PolicyWarning::UnanchoredRegex { start, end },
                );
            }
            if keyless.subject.is_some() {
                warn("keyless.subject", PolicyWarning::SubjectAndRegex);
            }
        }
        // Quadratic in the number of rules: a 10 000-rule policy costs a few
        // hundred milliseconds once, at load, never per image.
        if let Some(by) = rules[..index]
            .iter()
            .position(|earlier| rule.pattern.is_covered_by(&earlier.pattern))
        {
            warn("image", PolicyWarning::Shadowed { by });
        }
    }
    warnings
}
