//! sigward as a Kubewarden policy: the three waPC functions Kubewarden
//! calls (`validate`, `validate_settings`, `protocol_version`), over a
//! [`Capabilities`] the guest adapter backs with waPC host calls. The walk
//! to the images, the verdict and its words are [`crate::admission`]'s, as
//! in `sigward serve`; each image is decided by [`crate::verify`], with the
//! signatures [`evidence`] can read through the capabilities. Skip, deny and
//! no match call no capability.

pub mod evidence;
pub mod settings;

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::admission::request::Request;
use crate::admission::verdict::{self, Judged, Mode, Summary, Verdict};
use crate::admission::workload;
use crate::decision::Action;
use crate::verify::{self, VerifyError};

pub use evidence::Capabilities;
pub use settings::Settings;

/// The answer to `protocol_version`: Kubewarden's policy protocol v1.
pub fn protocol_version() -> Vec<u8> {
    b"\"v1\"".to_vec()
}

/// The answer to `validate_settings`: `{"valid": …, "message": …}`, with
/// every error (or, when valid, every warning) in the message, one per line.
pub fn validate_settings(payload: &[u8]) -> Vec<u8> {
    let answer = match settings::parse(payload) {
        Ok(settings) if settings.warnings.is_empty() => json!({"valid": true}),
        Ok(settings) => json!({"valid": true, "message": settings.warnings.join("\n")}),
        Err(errors) => json!({"valid": false, "message": errors.join("\n")}),
    };
    answer.to_string().into_bytes()
}

#[derive(Deserialize)]
struct ValidationRequest {
    request: Value,
    #[serde(default)]
    settings: Value,
}

/// Settings parsed once and reused while Kubewarden sends the same ones,
/// with the verified decisions made under them.
#[derive(Default)]
pub struct State {
    settings: Option<(Value, Settings)>,
    verified: HashMap<(usize, String), Summary>,
}

/// Verified decisions kept under one set of settings; past this the cache
/// starts afresh.
const CACHED_DECISIONS: usize = 4096;

/// The answer to `validate`: Kubewarden's `ValidationResponse` JSON.
pub fn validate(state: &mut State, payload: &[u8], caps: &mut dyn Capabilities) -> Vec<u8> {
    let response = match respond(state, payload, caps) {
        Ok((verdict, mutated)) => response(&verdict, mutated),
        Err(message) => response(
            &Verdict {
                allowed: false,
                message,
                ..Verdict::default()
            },
            None,
        ),
    };
    response.to_string().into_bytes()
}

fn response(verdict: &Verdict, mutated: Option<Value>) -> Value {
    let mut answer = json!({"accepted": verdict.allowed});
    if !verdict.allowed {
        answer["message"] = json!(verdict.message);
        answer["code"] = json!(403);
    }
    if let Some(object) = mutated {
        answer["mutated_object"] = object;
    }
    if !verdict.warnings.is_empty() {
        answer["warnings"] = json!(verdict.warnings);
    }
    answer
}

fn respond(
    state: &mut State,
    payload: &[u8],
    caps: &mut dyn Capabilities,
) -> Result<(Verdict, Option<Value>), String> {
    let input: ValidationRequest = serde_json::from_slice(payload)
        .map_err(|e| format!("not a Kubewarden ValidationRequest: {e}"))?;
    let request = Request::from_value(input.request).map_err(|e| e.to_string())?;
    // Compared as values: no serialization per request while they stay the same.
    if state.settings.as_ref().map(|(given, _)| given) != Some(&input.settings) {
        let parsed = settings::parse(input.settings.to_string().as_bytes())
            .map_err(|errors| format!("invalid settings: {}", errors.join("; ")))?;
        state.settings = Some((input.settings, parsed));
        state.verified.clear();
    }
    let Some((_, settings)) = &state.settings else {
        return Err("invalid settings".to_owned());
    };
    let sites = match workload::images(&request.kind.kind, &request.object) {
        Ok(sites) => sites,
        Err(malformed) => return Ok((verdict::malformed(&malformed.to_string()), None)),
    };
    let mut judged: HashMap<String, Judged> = HashMap::new();
    for site in &sites {
        if !judged.contains_key(&site.image) {
            let answer = judge(settings, &mut state.verified, caps, &site.image);
            judged.insert(site.image.clone(), answer);
        }
    }
    let mode = if settings.mutate {
        Mode::Pin
    } else {
        Mode::Validate
    };
    let verdict = verdict::verdict(&sites, |image| judged.get(image), mode);
    let mutated = if verdict.allowed && !verdict.patch.is_empty() {
        Some(verdict::apply(&request.object, &verdict.patch)?)
    } else {
        None
    };
    Ok((verdict, mutated))
}

fn refused(rule: Option<usize>, message: String) -> Judged {
    Judged {
        decision: Ok(Summary {
            allowed: false,
            action: Action::Verify,
            rule,
            message: format!("image verification failed: {message}"),
        }),
        verified_digest: None,
    }
}

/// One image, decided as `sigward serve` decides it, with the evidence the
/// capabilities can give.
fn judge(
    settings: &Settings,
    verified: &mut HashMap<(usize, String), Summary>,
    caps: &mut dyn Capabilities,
    image: &str,
) -> Judged {
    let policy = &settings.policy;
    let matched = match policy.match_image(image) {
        Ok(matched) => matched,
        Err(e) => {
            return Judged {
                decision: Err(format!("invalid image reference: {e}")),
                verified_digest: None,
            };
        }
    };
    let Some(rule_index) = matched.rule.filter(|_| matched.action == Action::Verify) else {
        return Judged {
            decision: Ok(Summary {
                allowed: crate::decision::allows_unverified(matched.action),
                action: matched.action,
                rule: matched.rule,
                message: matched.message().unwrap_or_default(),
            }),
            verified_digest: None,
        };
    };
    let rule = matched.rule;
    if policy
        .rule(rule_index)
        .is_some_and(|r| !r.attestations.is_empty())
    {
        return refused(
            rule,
            "the rule requires attestations (sigward's extension), which cannot be verified inside Kubewarden: no host capability returns attestation layers".to_owned(),
        );
    }
    let Some(root) = settings.root.as_ref() else {
        return refused(rule, "no trustedRoot in the settings".to_owned());
    };
    let reference = &matched.reference;
    let digest = match reference.digest() {
        Some(digest) => digest.to_string(),
        None => match evidence::resolve(caps, &reference.to_string()) {
            Ok(digest) => digest,
            Err(e) => return refused(rule, format!("fetch.resolve: {e}")),
        },
    };
    let digested = format!("{}@{digest}", reference.repository());
    let key = (rule_index, digested.clone());
    if let Some(summary) = verified.get(&key) {
        return Judged {
            decision: Ok(summary.clone()),
            verified_digest: Some(digest),
        };
    }
    let found = evidence::signatures(caps, reference, &digest);
    let decision = match verify::verify(policy, &digested, &found.signatures, root) {
        Ok(decision) => decision,
        Err(VerifyError::LimitExceeded { what, count, max }) => {
            return refused(rule, format!("{count} {what}, at most {max} allowed"));
        }
        Err(e) => return refused(rule, e.to_string()),
    };
    let mut message = decision.message;
    if !decision.allowed && !found.unusable.is_empty() {
        message = format!("{message} ({})", found.unusable.join("; "));
    }
    let summary = Summary {
        allowed: decision.allowed,
        action: decision.action,
        rule: decision.rule,
        message,
    };
    if summary.allowed && decision.verified {
        if verified.len() >= CACHED_DECISIONS {
            verified.clear();
        }
        verified.insert(key, summary.clone());
        return Judged {
            decision: Ok(summary),
            verified_digest: Some(digest),
        };
    }
    Judged {
        decision: Ok(summary),
        verified_digest: None,
    }
}
