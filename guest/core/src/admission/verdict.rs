//! From the decisions on an object's images to the admission verdict:
//! admitted only if every image is; a refusal names each refused image, its
//! container, the rule and the failing check; skipped and unmatched images
//! become warnings; when pinning, each verified image without a digest is
//! replaced by the reference pinned to the digest that verified. The
//! webhook and the Kubewarden policy both answer with [`verdict`].

use serde_json::Value;

use super::workload::{Site, pinned};
use crate::decision::{Action, rule_label};

/// kube-apiserver shows warnings to the user; long ones are cut, as it
/// advises (at most 256 characters are kept whole).
const WARNING_CHARS: usize = 256;

/// Whether the verdict may change the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Admit or refuse, never change the object.
    Validate,
    /// Admit or refuse, and pin admitted images to their digests.
    Pin,
}

/// What the verdict needs of one image's decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub allowed: bool,
    pub action: Action,
    pub rule: Option<usize>,
    pub message: String,
}

/// One image, judged: its decision, or why none could be made (a refusal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    pub decision: Result<Summary, String>,
    /// The digest whose signatures verified: set only for an allowed,
    /// verified image, and the only digest an image may be pinned to.
    pub verified_digest: Option<String>,
}

/// One JSON patch operation (RFC 6902): sigward only replaces images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replace {
    /// An RFC 6901 pointer to an `image` field.
    pub path: String,
    pub value: String,
}

/// The answer to one admission request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// Why the object is refused; set when `allowed` is false.
    pub message: String,
    /// Images to pin, in [`Mode::Pin`] only; empty for none.
    pub patch: Vec<Replace>,
    /// Shown to the user by kubectl: skipped and unmatched images.
    pub warnings: Vec<String>,
}

fn rule_name(rule: Option<usize>) -> String {
    rule.map_or_else(
        || "no rule".to_owned(),
        |r| format!("rule {}", rule_label(r)),
    )
}

fn cut(text: String) -> String {
    if text.chars().count() <= WARNING_CHARS {
        return text;
    }
    let mut kept: String = text.chars().take(WARNING_CHARS - 1).collect();
    kept.push('…');
    kept
}

/// The verdict on an object whose images are `sites`, given the decision on
/// each distinct image by `judged`. An image without one is refused.
pub fn verdict<'a>(
    sites: &[Site],
    judged: impl Fn(&str) -> Option<&'a Judged>,
    mode: Mode,
) -> Verdict {
    let mut verdict = Verdict {
        allowed: true,
        ..Verdict::default()
    };
    let mut refusals = Vec::new();
    for site in sites {
        let container = format!("{} {:?}", site.list, site.container);
        let Some(answer) = judged(&site.image) else {
            refusals.push(format!(
                "{container}: image {:?} was not judged",
                site.image
            ));
            continue;
        };
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

/// The JSON patch of `patch`, as the webhook sends it.
pub fn json_patch(patch: &[Replace]) -> Value {
    Value::Array(
        patch
            .iter()
            .map(|op| serde_json::json!({"op": "replace", "path": op.path, "value": op.value}))
            .collect(),
    )
}

/// `object` with `patch` applied, as a policy engine that takes the mutated
/// object (Kubewarden) wants it. Every path came from [`super::workload`]
/// walking this same object, so each points at an existing string; one that
/// does not is an error, never a silent skip.
pub fn apply(object: &Value, patch: &[Replace]) -> Result<Value, String> {
    let mut mutated = object.clone();
    for op in patch {
        match mutated.pointer_mut(&op.path) {
            Some(slot @ Value::String(_)) => *slot = Value::String(op.value.clone()),
            _ => return Err(format!("no image at {} to pin", op.path)),
        }
    }
    Ok(mutated)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::admission::workload::images;
    use serde_json::json;
    use std::collections::HashMap;

    fn summary(allowed: bool, action: Action, message: &str) -> Summary {
        Summary {
            allowed,
            action,
            rule: Some(1),
            message: message.to_owned(),
        }
    }

    #[test]
    fn every_image_must_be_admitted_and_verified_ones_are_pinned() {
        let pod = json!({"spec": {"containers": [
            {"name": "a", "image": "r.test/a:1"},
            {"name": "b", "image": "r.test/b:1"},
            {"name": "c", "image": "r.test/c@sha256:00"}]}});
        let sites = images("Pod", &pod).unwrap();
        let mut judged = HashMap::new();
        judged.insert(
            "r.test/a:1",
            Judged {
                decision: Ok(summary(true, Action::Verify, "verified")),
                verified_digest: Some("sha256:aa".into()),
            },
        );
        judged.insert(
            "r.test/b:1",
            Judged {
                decision: Ok(summary(true, Action::Skip, "skipped")),
                verified_digest: None,
            },
        );
        judged.insert(
            "r.test/c@sha256:00",
            Judged {
                decision: Ok(summary(true, Action::Verify, "verified")),
                verified_digest: Some("sha256:00".into()),
            },
        );
        let pinned = verdict(&sites, |i| judged.get(i), Mode::Pin);
        assert!(pinned.allowed);
        assert_eq!(
            pinned.patch,
            [Replace {
                path: "/spec/containers/0/image".into(),
                value: "r.test/a:1@sha256:aa".into()
            }]
        );
        assert_eq!(
            pinned.warnings,
            ["containers \"b\": image \"r.test/b:1\" admitted unverified (rule (0001)): skipped"]
        );
        let mutated = apply(&pod, &pinned.patch).unwrap();
        assert_eq!(
            mutated["spec"]["containers"][0]["image"],
            "r.test/a:1@sha256:aa"
        );
        assert!(
            verdict(&sites, |i| judged.get(i), Mode::Validate)
                .patch
                .is_empty()
        );

        judged.get_mut("r.test/b:1").unwrap().decision = Ok(summary(
            false,
            Action::Verify,
            "image verification failed: x",
        ));
        let refused = verdict(&sites, |i| judged.get(i), Mode::Pin);
        assert!(!refused.allowed);
        assert!(refused.patch.is_empty() && refused.warnings.is_empty());
        assert_eq!(
            refused.message,
            "containers \"b\": image \"r.test/b:1\" refused by rule (0001): image verification failed: x"
        );
        judged.remove("r.test/a:1");
        let unjudged = verdict(&sites, |i| judged.get(i), Mode::Pin);
        assert!(
            unjudged
                .message
                .starts_with("containers \"a\": image \"r.test/a:1\" was not judged")
        );
    }

    #[test]
    fn a_patch_never_writes_where_no_image_is() {
        let op = Replace {
            path: "/spec/containers/3/image".into(),
            value: "x".into(),
        };
        assert!(apply(&json!({"spec": {"containers": []}}), &[op]).is_err());
    }
}
