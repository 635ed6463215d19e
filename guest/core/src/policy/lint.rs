//! Warnings: things that load but probably do not do what the author meant.

use std::collections::{BTreeSet, HashMap};

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
    }
    warnings.extend(shadowed(rules));
    // Per rule, in the order the checks run: shadowing comes last.
    warnings.sort_by_key(|w| w.rule);
    warnings
}

/// Most pattern comparisons the shadowing lint makes for one policy.
const SHADOW_CHECKS: usize = 1_000_000;

/// Rules an earlier rule makes unreachable. An earlier pattern can cover a
/// later one only if its literal prefix starts the later one, so each rule is
/// compared only with the earlier rules whose prefix it starts with, found
/// by prefix length; a budget bounds the rest (many rules sharing a prefix).
fn shadowed(rules: &[Rule]) -> Vec<Diagnostic<PolicyWarning>> {
    let mut warnings = Vec::new();
    let mut by_prefix: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut lengths = BTreeSet::new();
    let mut budget = SHADOW_CHECKS;
    for (index, rule) in rules.iter().enumerate() {
        let text = rule.pattern.with_stand_ins();
        let mut candidates: Vec<usize> = lengths
            .iter()
            .filter_map(|&len| text.get(..len))
            .filter_map(|prefix| by_prefix.get(prefix))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        for earlier in candidates {
            if budget == 0 {
                warnings.push(Diagnostic {
                    rule: Some(index),
                    field: "image".to_owned(),
                    kind: PolicyWarning::ShadowingNotChecked,
                });
                return warnings;
            }
            budget -= 1;
            if rules[earlier].pattern.matches(&text) {
                warnings.push(Diagnostic {
                    rule: Some(index),
                    field: "image".to_owned(),
                    kind: PolicyWarning::Shadowed { by: earlier },
                });
                break;
            }
        }
        let prefix = rule.pattern.literal_prefix();
        lengths.insert(prefix.len());
        by_prefix.entry(prefix).or_default().push(index);
    }
    warnings
}
