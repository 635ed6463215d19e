//! From the component's answers for an object's images to the webhook's
//! verdict, through the core's [`sigward_core::admission::verdict`] (the
//! Kubewarden policy answers with the same code): admitted only if every
//! image is, refusals naming image, container, rule and failing check,
//! warnings for skipped and unmatched images, and in `/mutate` each verified
//! image pinned. This adds the audit annotation: every image's decision and
//! trace.

use std::collections::HashMap;

use serde_json::Value;
use sigward_core::admission::verdict::{self as core, Judged, Summary};

use super::review::Verdict;
use super::workload::Site;
use crate::decide::Answer;
use crate::runtime::Action;

pub use sigward_core::admission::verdict::Mode;

/// The audit annotation holding every image's decision and trace.
pub const AUDIT_KEY: &str = "decisions";

fn action(action: Action) -> sigward_core::Action {
    match action {
        Action::Verify => sigward_core::Action::Verify,
        Action::Skip => sigward_core::Action::Skip,
        Action::Deny => sigward_core::Action::Deny,
        Action::None => sigward_core::Action::None,
    }
}

fn judged(answer: &Answer) -> Judged {
    Judged {
        decision: match &answer.decision {
            Ok(d) => Ok(Summary {
                allowed: d.allowed,
                action: action(d.action),
                rule: d.rule.map(|r| r as usize),
                message: d.message.clone(),
            }),
            Err(e) => Err(e.clone()),
        },
        verified_digest: answer.verified_digest.clone(),
    }
}

/// The verdict on an object whose images are `sites`, given the answer for
/// each distinct image. An image without an answer is refused.
pub fn verdict(sites: &[Site], answers: &HashMap<String, Answer>, mode: Mode) -> Verdict {
    let judged: HashMap<&str, Judged> = answers
        .iter()
        .map(|(image, answer)| (image.as_str(), judged(answer)))
        .collect();
    let mut verdict = Verdict::from(core::verdict(sites, |image| judged.get(image), mode));
    let audit: Vec<Value> = sites
        .iter()
        .filter_map(|site| {
            let mut entry = answers.get(&site.image)?.to_json();
            entry["path"] = Value::String(site.pointer());
            Some(entry)
        })
        .collect();
    if !audit.is_empty() {
        verdict
            .audit
            .insert(AUDIT_KEY.to_owned(), Value::Array(audit).to_string());
    }
    verdict
}

/// The verdict on an object whose images cannot be read.
pub fn malformed(reason: &str) -> Verdict {
    Verdict::from(core::malformed(reason))
}
