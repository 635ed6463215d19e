//! The shared corpus's legacy cosign signatures, as containers/image stores
//! them. Standalone (std, base64 and serde_json only), so that the host's
//! end-to-end tests include it by path as well.

use std::path::PathBuf;

/// One legacy signature layer as containers/image stores it in a file:
/// `"\0sigstore-json\n"` then `{mimeType, payload (base64), annotations}`.
pub struct StoredSignature {
    pub media_type: String,
    pub payload: Vec<u8>,
    pub annotations: Vec<(String, String)>,
}

/// Reads a `signature-N` file of the shared containers-image corpus.
pub fn stored_signature(path: &std::path::Path) -> StoredSignature {
    use base64::Engine as _;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json = bytes
        .strip_prefix(b"\x00sigstore-json\n")
        .unwrap_or_else(|| panic!("{} is not a stored sigstore signature", path.display()));
    let value: serde_json::Value = serde_json::from_slice(json).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(value["payload"].as_str().unwrap())
        .unwrap();
    let annotations = value["annotations"]
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    StoredSignature {
        media_type: value["mimeType"].as_str().unwrap_or_default().to_owned(),
        payload,
        annotations,
    }
}

/// `../shared/corpus/containers-image/signature/fixtures`.
pub fn containers_image_fixtures() -> PathBuf {
    // Every crate that includes this file sits one level below the root.
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let dir = shared.join("corpus/containers-image/signature/fixtures");
    assert!(
        dir.is_dir(),
        "the shared corpus must be at {} (CI puts it beside the project root)",
        dir.display()
    );
    dir
}
