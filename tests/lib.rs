//! What the cross-crate tests share: the reference/pattern table, a runtime
//! built once per test binary, and the way to ask native and component alike.
#![forbid(unsafe_code)]
// Tests fail by panicking; the workspace's bans on it are for product code.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod corpus;
pub mod registry_server;
pub mod table;
pub use corpus::{StoredSignature, containers_image_fixtures, stored_signature};
pub use sigward_testpki as testpki;

use std::path::PathBuf;
use std::sync::OnceLock;

use sigward_host::runtime::Action as WitAction;
use sigward_host::{Limits, PolicySession, Runtime};

/// The runtime, compiled once for the whole test binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Runtime::new(Limits::default(), Runtime::default_cache_dir().as_deref())
            .expect("the component must start")
    })
}

/// Loads a policy into the component, panicking with its errors if invalid.
pub fn component_policy(text: &str) -> PolicySession {
    match runtime()
        .load_policy(text)
        .expect("the guest must not trap")
    {
        Ok(session) => session,
        Err(errors) => panic!("policy should load: {errors:?}"),
    }
}

/// A single-rule policy admitting what `pattern` matches.
pub fn single_rule_policy(pattern: &str) -> String {
    format!(
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: '{}'\n    skip: true\n",
        pattern.replace('\'', "''")
    )
}

/// A match outcome as both sides report it, so the two can be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Matched {
        reference: String,
        rule: Option<u32>,
        action: &'static str,
        digest: Option<String>,
    },
    Invalid(String),
}

impl Answer {
    pub fn rule(&self) -> Option<Option<u32>> {
        match self {
            Self::Matched { rule, .. } => Some(*rule),
            Self::Invalid(_) => None,
        }
    }
}

pub fn native_match(policy: &sigward_core::Policy, image: &str) -> Answer {
    match policy.match_image(image) {
        Ok(m) => Answer::Matched {
            reference: m.reference.repository(),
            rule: m.rule.map(|r| u32::try_from(r).unwrap()),
            action: m.action.as_str(),
            digest: m.reference.digest().map(ToString::to_string),
        },
        Err(e) => Answer::Invalid(e.to_string()),
    }
}

pub fn component_match(session: &mut PolicySession, image: &str) -> Answer {
    match session.match_image(image).expect("the guest must not trap") {
        Ok(m) => Answer::Matched {
            reference: m.reference,
            rule: m.rule,
            action: match m.action {
                WitAction::Verify => "verify",
                WitAction::Skip => "skip",
                WitAction::Deny => "deny",
                WitAction::None => "none",
            },
            digest: m.digest,
        },
        Err(e) => Answer::Invalid(e.message),
    }
}

/// The project root (where `policies/` lives).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the project root")
        .to_path_buf()
}

/// `../shared` beside the project root, where CI puts the shared data.
/// Panics (fails the test loudly) when it is missing: such tests never skip.
pub fn shared_dir() -> PathBuf {
    let dir = project_root().join("..").join("shared");
    assert!(
        dir.join("SPEC.md").is_file(),
        "the shared data must be at {} (CI puts it beside the project root)",
        dir.display()
    );
    dir
}

/// The production public-good trusted root from the shared corpus.
pub fn production_trusted_root() -> Vec<u8> {
    let path = shared_dir().join("corpus/root-signing/targets/trusted_root.json");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One row of the conformance suite's `INDEX.tsv`, by column name.
pub type ConformanceCase = std::collections::HashMap<String, String>;

/// The 70 rows of the conformance suite's `INDEX.tsv`.
pub fn conformance_cases() -> Vec<ConformanceCase> {
    let text = std::fs::read_to_string(shared_dir().join("conformance/INDEX.tsv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    lines
        .map(|line| {
            header
                .iter()
                .map(|h| (*h).to_owned())
                .zip(line.split('\t').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The trusted root a conformance case verifies against: its own, or the
/// production root of the corpus.
pub fn conformance_root(case: &ConformanceCase) -> Vec<u8> {
    if case["trusted_root"].starts_with("PRODUCTION") {
        production_trusted_root()
    } else {
        let path = shared_dir().join("conformance").join(&case["trusted_root"]);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A one-rule policy verifying `pattern` with the PEM public key `pem`.
pub fn key_policy(pattern: &str, pem: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1alpha1",
        "kind": "ImageVerificationConfig",
        "rules": [{"image": pattern, "publicKey": {"certificate": pem}}]
    })
    .to_string()
}

/// A one-rule policy verifying `pattern` keyless, for `issuer` and `subject`.
pub fn keyless_policy(pattern: &str, issuer: &str, subject: &str) -> String {
    serde_json::json!({
        "apiVersion": "v1alpha1",
        "kind": "ImageVerificationConfig",
        "rules": [{"image": pattern, "keyless": {"issuer": issuer, "subject": subject}}]
    })
    .to_string()
}
