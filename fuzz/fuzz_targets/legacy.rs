//! Legacy cosign signature layers, as containers/image stores them: JSON with
//! a base64 `payload` and the layer's `annotations`. The image digest is the
//! one the payload claims, so that the checks after the payload's run too.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sigward_core::cosign;
use sigward_core::policy::KeylessIdentity;
use sigward_core::verify::bundle::Signer;
use sigward_core::verify::legacy;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let payload = value["payload"].as_str().unwrap_or_default().as_bytes();
    let annotations: Vec<(String, String)> = value["annotations"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let _ = cosign::parse_layer(&annotations);
    let claimed = serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|p| {
            p["critical"]["image"]["docker-manifest-digest"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("sha256:{}", "0".repeat(64)));
    let identity = KeylessIdentity::new(
        "https://github.com/login/oauth".to_owned(),
        Some("mitr@redhat.com".to_owned()),
        None,
    )
    .expect("valid");
    let _ = legacy::verify(
        payload,
        &annotations,
        &claimed,
        Signer::Keyless(&identity),
        common::production_root(),
        &mut Vec::new(),
    );
});
