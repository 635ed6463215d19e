//! An image's signatures, found through Kubewarden's host capabilities.
//!
//! A waPC policy reaches a registry only through the host:
//! `oci/v1/manifest_digest` resolves a tag, `oci/v1/oci_manifest` returns a
//! manifest. No capability returns a blob, so a signature can be verified
//! here only when every byte it covers can be had without one. A legacy
//! cosign `.sig` layer qualifies: its descriptor's annotations carry the
//! signature, certificate, chain and Rekor bundle, and its body is cosign's
//! simple-signing payload, which is determined by the repository and the
//! digest. A payload rebuilt here whose SHA-256 is the layer descriptor's
//! digest is the layer's body, byte for byte, whoever supplied the manifest;
//! it is then verified in full, as any legacy layer is. A layer whose body
//! is something else (a payload with annotations, a signature for another
//! image) cannot be read, and is reported as such. Bundles, under OCI
//! referrers or the `sha256-<hex>` tag, are blobs: an image signed only
//! that way is refused, saying why.

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::cosign::SIMPLE_SIGNING_MEDIA_TYPE;
use crate::hex;
use crate::limits;
use crate::reference::Reference;
use crate::verify::Signature;

/// The host capabilities the policy uses. Each returns the host's error as
/// text: a missing manifest and an unreachable registry look the same here,
/// and both leave the image without that evidence (never admitted by it).
pub trait Capabilities {
    /// `kubewarden/oci/v1/manifest_digest`: `{"digest": …}`, the digest of
    /// `image`'s manifest.
    fn manifest_digest(&mut self, image: &str) -> Result<Vec<u8>, String>;
    /// `kubewarden/oci/v1/oci_manifest`: `image`'s manifest, JSON.
    fn manifest(&mut self, image: &str) -> Result<Vec<u8>, String>;
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct DigestResponse {
    digest: String,
}

/// What was found for one image.
pub struct Found {
    pub signatures: Vec<Signature>,
    /// Why evidence that may exist could not be used, for the refusal.
    pub unusable: Vec<String>,
}

/// Reads `manifest_digest`'s answer: `{"digest": "sha256:…"}`.
pub fn resolve(caps: &mut dyn Capabilities, image: &str) -> Result<String, String> {
    let answer = caps.manifest_digest(image)?;
    let answer: DigestResponse = serde_json::from_slice(&answer)
        .map_err(|e| format!("the host's manifest_digest answer is not {{\"digest\": …}}: {e}"))?;
    crate::reference::Digest::parse(&answer.digest)
        .map_err(|e| format!("the host's manifest_digest answer: {e}"))?;
    Ok(answer.digest)
}

/// Candidate bodies of a cosign signature of `repository` at `digest`: the
/// payload `cosign sign` writes (no annotations), for each spelling of the
/// repository it may have signed under (Docker Hub's two host names).
pub fn cosign_payloads(repository: &str, digest: &str) -> Vec<Vec<u8>> {
    let mut names = vec![repository.to_owned()];
    if let Some(path) = repository.strip_prefix("docker.io/") {
        names.push(format!("index.docker.io/{path}"));
    }
    names
        .iter()
        .map(|name| {
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"{name}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
            .into_bytes()
        })
        .collect()
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(&Sha256::digest(bytes)))
}

/// The legacy signatures of `reference` at `digest`, from the manifest of
/// its `sha256-<hex>.sig` tag; and, when there are none, whether Sigstore
/// bundles sit under its `sha256-<hex>` tag, to say why it is refused.
pub fn signatures(caps: &mut dyn Capabilities, reference: &Reference, digest: &str) -> Found {
    let repository = reference.repository();
    let tag = digest.replacen(':', "-", 1);
    let mut found = Found {
        signatures: Vec::new(),
        unusable: Vec::new(),
    };
    let sig_image = format!("{repository}:{tag}.sig");
    // No manifest (or no answer) is no legacy signature.
    if let Ok(bytes) = caps.manifest(&sig_image) {
        legacy_layers(&bytes, &repository, digest, &sig_image, &mut found);
    }
    if found.signatures.is_empty() {
        let bundle_image = format!("{repository}:{tag}");
        if caps.manifest(&bundle_image).is_ok() {
            found.unusable.push(format!(
                "{bundle_image} holds Sigstore bundles, which no Kubewarden capability returns"
            ));
        }
        found.unusable.push(
            "OCI referrers are not reachable through Kubewarden's capabilities: only legacy .sig signatures are verified here"
                .to_owned(),
        );
    }
    found
}

fn legacy_layers(bytes: &[u8], repository: &str, digest: &str, image: &str, found: &mut Found) {
    if bytes.len() > limits::MANIFEST_BYTES {
        found.unusable.push(format!(
            "the manifest of {image} is {} bytes, at most {} allowed",
            bytes.len(),
            limits::MANIFEST_BYTES
        ));
        return;
    }
    let manifest: Manifest = match serde_json::from_slice(bytes) {
        Ok(manifest) => manifest,
        Err(e) => {
            found.unusable.push(format!(
                "the manifest of {image} is not an image manifest: {e}"
            ));
            return;
        }
    };
    let layers: Vec<&Descriptor> = manifest
        .layers
        .iter()
        .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
        .collect();
    if layers.len() > limits::SIGNATURES {
        found.unusable.push(format!(
            "{image} has {} signature layers, at most {} allowed",
            layers.len(),
            limits::SIGNATURES
        ));
        return;
    }
    let candidates = cosign_payloads(repository, digest);
    for (index, layer) in layers.iter().enumerate() {
        let body = candidates.iter().find(|p| sha256_digest(p) == layer.digest);
        let Some(payload) = body else {
            let why = format!(
                "{image} layer {index}: its payload {} is not the one cosign signs for {repository}@{digest} (a payload with annotations, or a signature for another image), and no Kubewarden capability returns the layer",
                layer.digest
            );
            found.unusable.push(why);
            continue;
        };
        found.signatures.push(Signature::Legacy {
            payload: payload.clone(),
            annotations: layer
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rebuilt_payload_is_cosigns() {
        // What `cosign sign` stores, as sigward-testpki builds it too.
        let payload = &cosign_payloads("registry.test/app", "sha256:00")[0];
        assert_eq!(
            std::str::from_utf8(payload).ok(),
            Some(
                r#"{"critical":{"identity":{"docker-reference":"registry.test/app"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":null}"#
            )
        );
        assert_eq!(
            cosign_payloads("docker.io/library/nginx", "sha256:00").len(),
            2
        );
    }
}
