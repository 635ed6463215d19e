//! The settings of the Kubewarden policy: the JSON object Kubewarden passes
//! beside each request, and alone to `validate_settings`.
//!
//! - `policy`: the image verification document (Talos's, with sigward's
//!   extensions), YAML or JSON, as a string;
//! - `trustedRoot`: a `trusted_root.json`, as a JSON object or a string.
//!   A waPC policy reads no files, so nothing stands in for it: a policy
//!   with a verify rule needs it, and settings without it are invalid;
//! - `mutate`: pin each verified tag to its digest (default true).
//!
//! Unknown settings are refused, as a misspelt `mutate` would otherwise
//! silently pin (or not).

use serde::Deserialize;
use serde_json::Value;

use crate::decision::Action;
use crate::policy::Policy;
use crate::trust_root::TrustedRoot;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Raw {
    policy: Option<String>,
    #[serde(default)]
    trusted_root: Value,
    mutate: Option<bool>,
}

/// Settings that validated.
pub struct Settings {
    pub policy: Policy,
    /// Absent only when no rule verifies.
    pub root: Option<TrustedRoot>,
    pub mutate: bool,
    /// Problems that do not stop the policy: the document's own warnings,
    /// in `sigward check`'s words, then what cannot be verified inside
    /// Kubewarden.
    pub warnings: Vec<String>,
}

/// Reads settings. Fails with every error, each in `sigward check`'s words
/// (`rule (0001) keyless.issuer: …`), after the setting it is in.
pub fn parse(json: &[u8]) -> Result<Settings, Vec<String>> {
    let raw: Raw = if json.iter().all(u8::is_ascii_whitespace) {
        // Kubewarden sends `{}`, or nothing, for a policy deployed without settings.
        Raw {
            policy: None,
            trusted_root: Value::Null,
            mutate: None,
        }
    } else {
        serde_json::from_slice(json).map_err(|e| vec![format!("settings: {e}")])?
    };
    let mut errors = Vec::new();
    let policy = match raw.policy.as_deref() {
        None => {
            errors.push("policy: required: the image verification document, as a string".into());
            None
        }
        Some(text) => match Policy::parse(text) {
            Ok(policy) => Some(policy),
            Err(diagnostics) => {
                errors.extend(diagnostics.iter().map(|d| format!("policy: {d}")));
                None
            }
        },
    };
    let root_text = match &raw.trusted_root {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        object @ Value::Object(_) => Some(object.to_string()),
        other => {
            errors.push(format!(
                "trustedRoot: expected a trusted_root.json as an object or a string, found {}",
                crate::policy::type_name(other)
            ));
            None
        }
    };
    let root = match root_text {
        None => None,
        Some(text) => match TrustedRoot::parse(text.as_bytes()) {
            Ok(root) => Some(root),
            Err(diagnostics) => {
                errors.extend(diagnostics.iter().map(|d| format!("trustedRoot: {d}")));
                None
            }
        },
    };
    let Some(policy) = policy else {
        return Err(errors);
    };
    let verifies = policy
        .rules()
        .iter()
        .any(|rule| rule.kind.action() == Action::Verify);
    if verifies && root.is_none() && raw.trusted_root.is_null() {
        errors.push(
            "trustedRoot: required: the policy has verify rules, and a Kubewarden policy reads no files".into(),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut warnings: Vec<String> = policy
        .warnings()
        .iter()
        .map(|w| format!("policy: {w}"))
        .collect();
    for (index, rule) in policy.rules().iter().enumerate() {
        if !rule.attestations.is_empty() {
            warnings.push(format!(
                "policy: rule {} attestations: cannot be verified inside Kubewarden (no host capability returns attestation layers): images matching this rule are refused",
                crate::decision::rule_label(index)
            ));
        } else if rule.kind.action() == Action::Verify {
            warnings.push(format!(
                "policy: rule {}: inside Kubewarden only legacy cosign .sig signatures whose payload names no annotations are verified; Sigstore bundles (OCI referrers, the sha256-<hex> tag) are refused",
                crate::decision::rule_label(index)
            ));
        }
    }
    Ok(Settings {
        policy,
        root,
        mutate: raw.mutate.unwrap_or(true),
        warnings,
    })
}
