//! The Kubewarden policy's `validate` and `validate_settings`, with a host
//! that answers every capability call from the input: a JSON object with
//! the `request` (an AdmissionRequest), the `digest` answer and the
//! `manifest` answer (text, passed as bytes), under fixed settings (skip,
//! deny and keyless rules, the test PKI's root). Also the input's
//! `settings`, when present, through `validate_settings`.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sigward_core::kubewarden::{self, Capabilities, State};

struct Answers {
    digest: Vec<u8>,
    manifest: Vec<u8>,
}

impl Capabilities for Answers {
    fn manifest_digest(&mut self, _: &str) -> Result<Vec<u8>, String> {
        Ok(self.digest.clone())
    }
    fn manifest(&mut self, image: &str) -> Result<Vec<u8>, String> {
        // The bundle tag is never there; the `.sig` tag holds the input.
        if image.ends_with(".sig") {
            Ok(self.manifest.clone())
        } else {
            Err("not found".to_owned())
        }
    }
}

const POLICY: &str = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: registry.test/skip/*\n    skip: true\n  - image: registry.test/deny/*\n    deny: true\n  - image: '*'\n    keyless:\n      issuer: https://issuer.test\n      subject: https://github.com/test/repo/.github/workflows/release.yml@refs/heads/main\n";

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Some(settings) = input.get("settings") {
        let _ = kubewarden::validate_settings(settings.to_string().as_bytes());
    }
    let settings = json!({"policy": POLICY, "trustedRoot": common::test_pki().trusted_root()});
    let text = |key: &str| input[key].as_str().unwrap_or_default().as_bytes().to_vec();
    let mut host = Answers {
        digest: text("digest"),
        manifest: text("manifest"),
    };
    let payload = json!({"request": input["request"], "settings": settings});
    let answer = kubewarden::validate(&mut State::default(), payload.to_string().as_bytes(), &mut host);
    let answer: Value = serde_json::from_slice(&answer).expect("validate answers JSON");
    assert!(answer["accepted"].is_boolean());
});
