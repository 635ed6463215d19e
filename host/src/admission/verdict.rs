//! From the component's answers for an object's images to the webhook's
//! verdict: admitted only if every image is; a refusal names each refused
//! image, its container, the rule and the failing check; skipped and
//! unmatched images become warnings; in `/mutate`, each verified image
//! without a digest is pinned to the digest that verified.

use std::collections::HashMap;

use serde_json::Value;

use super::review::{Replace, Verdict};
use super::workload::{Site, pinned};
use crate::decide::Answer;
use crate::runtime::Action;

/// kube-apiserver shows warnings to the user; long ones are cut, as it
/// advises (at most 256 characters are kept whole).
const WARNING_CHARS: usize = 256;

/// The audit annotation holding every image's decision and trace.
pub const AUDIT_KEY: &str = "decisions";

/// Whether the verdict may carry a patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `/validate`: admit or refuse, never change the object.
    Validate,
    /// `/mutate`: admit or refuse, and pin admitted images to their digests.
    Pin,
}

fn rule_name(rule: Option<u32>) -> String {
    rule.map_or_else(|| "no rule".to_owned(), |r| format!("rule ({r:04})"))
}

fn cut(text: String) -> String {
    if text.chars().count() <= WARNING_CHARS {
        return text;
    }
    let mut kept: String = text.chars().take(WARNING_CHARS - 1).collect();
    kept.push('…');
    kept
}

/// The verdict on an object whose images are `sites`, given the answer for
/// each distinct image. An image without an answer is refused.
pub fn verdict(sites: &[Site], answers: &HashMap<String, Answer>, mode: Mode) -> Verdict {
    let mut verdict = Verdict {
        allowed: true,
        ..Verdict::default()
    };
    let mut refusals = Vec::new();
    let mut audit = Vec::new();
    for site in sites {
        let container = format!("{} {:?}", site.list, site.container);
        let Some(answer) = answers.get(&site.image) else {
            refusals.push(format!(
                "{container}: image {:?} was not judged",
                site.image
            ));
            continue;
        };
        let mut entry = answer.to_json();
        entry["path"] = Value::String(site.pointer());
        audit.push(entry);
        let decision = match &answer.decision {
            Ok(decision) => decision,
            Err(error) => {
                refusals.push(format!("{container}: image {:?}: {error}", site.image));
                continue;
            }
        };
        let rule = rule_name(decision.rule);
        if !decision.allowed {
            refusals.push(format!(
                "{container}: image {:?} refused by {rule}: {}",
                site.image, decision.message
            ));
            continue;
        }
        if matches!(decision.action, Action::Skip | Action::None) {
            verdict.warnings.push(cut(format!(
                "{container}: image {:?} admitted unverified ({rule}): {}",
                site.image, decision.message
            )));
        }
        if mode == Mode::Pin
            && let Some(digest) = &answer.verified_digest
            && let Some(value) = pinned(&site.image, digest)
        {
            verdict.patch.push(Replace {
                path: site.pointer(),
                value,
            });
        }
    }
    if !audit.is_empty() {
        let value = Value::Array(audit);
        verdict
            .audit
            .insert(AUDIT_KEY.to_owned(), value.to_string());
    }
    if !refusals.is_empty() {
        verdict.allowed = false;
        verdict.message = refusals.join("; ");
        verdict.patch.clear();
        verdict.warnings.clear();
    }
    verdict
}

/// The verdict on an object whose images cannot be read.
pub fn malformed(reason: &str) -> Verdict {
    Verdict {
        allowed: false,
        message: format!("the object's images cannot be read: {reason}"),
        ..Verdict::default()
    }
}
