//! The legacy cosign signature format: one layer of the `sha256-<hex>.sig`
//! image. The layer body is a simple-signing payload; the signature, the
//! certificate, its chain and the Rekor SET ride in the layer's annotations.
//!
//! Everything here only reads the format. What it proves is decided in
//! `verify::legacy`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::limits;

/// The media type of a legacy signature layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The base64 signature over the layer body.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The signing certificate, PEM.
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// Certificates above the signing one, PEM, concatenated.
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The Rekor bundle: the SET and the entry it signs, JSON.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// `critical.type` of every cosign image signature.
pub const SIGNATURE_TYPE: &str = "cosign container image signature";

/// A legacy layer's annotations, decoded.
#[derive(Clone, Debug)]
pub struct Layer {
    pub signature: Vec<u8>,
    /// DER; absent for a key signature.
    pub certificate: Option<Vec<u8>>,
    /// DER, in the order given. Untrusted: candidates for intermediates only.
    pub chain: Vec<Vec<u8>>,
    pub rekor: Option<RekorBundle>,
}

/// The `dev.sigstore.cosign/bundle` annotation: an entry and its SET.
#[derive(Clone, Debug)]
pub struct RekorBundle {
    pub signed_entry_timestamp: Vec<u8>,
    /// The body as base64, exactly as given: the SET signs this text.
    pub body_base64: String,
    pub body: Vec<u8>,
    pub integrated_time: i64,
    pub log_index: i64,
    pub log_id: Vec<u8>,
}

/// Why a layer or payload is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    MissingSignature,
    Base64(&'static str),
    Pem(&'static str),
    TooManyCertificates { count: usize },
    RekorBundle(String),
    PayloadTooLarge { size: usize },
    PayloadNotJson(String),
    WrongType { found: String },
    WrongImage { expected: String, found: String },
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSignature => write!(f, "the layer has no {SIGNATURE_ANNOTATION}"),
            Self::Base64(what) => write!(f, "{what} is not base64"),
            Self::Pem(what) => write!(f, "{what} is not a PEM certificate"),
            Self::TooManyCertificates { count } => write!(
                f,
                "the chain annotation carries {count} certificates, at most {} allowed",
                limits::CHAIN_CERTIFICATES
            ),
            Self::RekorBundle(e) => write!(f, "the Rekor bundle annotation is malformed: {e}"),
            Self::PayloadTooLarge { size } => write!(
                f,
                "the payload is {size} bytes, at most {} allowed",
                limits::PAYLOAD_BYTES
            ),
            Self::PayloadNotJson(e) => write!(f, "the payload is not simple-signing JSON: {e}"),
            Self::WrongType { found } => {
                write!(
                    f,
                    "expected critical.type `{SIGNATURE_TYPE}`, got `{found}`"
                )
            }
            Self::WrongImage { expected, found } => write!(
                f,
                "expected critical.image.docker-manifest-digest `{expected}`, got `{found}`: the signature is for another image"
            ),
        }
    }
}

impl std::error::Error for FormatError {}

/// Decodes a layer's annotations. Unknown annotations are ignored.
pub fn parse_layer(annotations: &[(String, String)]) -> Result<Layer, FormatError> {
    let get = |name: &str| {
        annotations
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let signature = get(SIGNATURE_ANNOTATION).ok_or(FormatError::MissingSignature)?;
    // Go's decoder, which cosign uses, skips line breaks; some signers wrap.
    let unwrapped: String = signature
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r'))
        .collect();
    let signature = BASE64
        .decode(unwrapped.trim())
        .map_err(|_| FormatError::Base64("the signature"))?;
    let certificate = match get(CERTIFICATE_ANNOTATION).filter(|v| !v.trim().is_empty()) {
        Some(pem) => match pem_certificates(pem)?.as_slice() {
            [one] => Some(one.clone()),
            _ => return Err(FormatError::Pem("the certificate annotation")),
        },
        None => None,
    };
    let chain = match get(CHAIN_ANNOTATION) {
        Some(pem) if !pem.trim().is_empty() => pem_certificates(pem)?,
        _ => Vec::new(),
    };
    let rekor = get(BUNDLE_ANNOTATION).map(parse_rekor_bundle).transpose()?;
    Ok(Layer {
        signature,
        certificate,
        chain,
        rekor,
    })
}

/// Every `CERTIFICATE` block of a PEM text, as DER.
fn pem_certificates(text: &str) -> Result<Vec<Vec<u8>>, FormatError> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let end = block
            .find(END)
            .ok_or(FormatError::Pem("a chain or certificate annotation"))?
            + END.len();
        if out.len() == limits::CHAIN_CERTIFICATES {
            return Err(FormatError::TooManyCertificates {
                count: out.len() + 1,
            });
        }
        match crate::public_key::decode_pem(&block[..end]) {
            Some((label, der)) if label == "CERTIFICATE" => out.push(der),
            _ => return Err(FormatError::Pem("a chain or certificate annotation")),
        }
        rest = &block[end..];
    }
    if out.is_empty() {
        return Err(FormatError::Pem("a chain or certificate annotation"));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RekorBundleJson {
    signed_entry_timestamp: String,
    payload: RekorPayloadJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RekorPayloadJson {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

fn parse_rekor_bundle(text: &str) -> Result<RekorBundle, FormatError> {
    let json: RekorBundleJson =
        serde_json::from_str(text).map_err(|e| FormatError::RekorBundle(e.to_string()))?;
    let signed_entry_timestamp = BASE64
        .decode(&json.signed_entry_timestamp)
        .map_err(|_| FormatError::Base64("the signed entry timestamp"))?;
    let body = BASE64
        .decode(&json.payload.body)
        .map_err(|_| FormatError::Base64("the log entry body"))?;
    let log_id = crate::hex::decode(&json.payload.log_id)
        .ok_or_else(|| FormatError::RekorBundle("logID is not hex".to_owned()))?;
    Ok(RekorBundle {
        signed_entry_timestamp,
        body_base64: json.payload.body,
        body,
        integrated_time: json.payload.integrated_time,
        log_index: json.payload.log_index,
        log_id,
    })
}

#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    #[serde(rename = "type")]
    kind: String,
    image: Image,
}

#[derive(Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Checks that a simple-signing payload is a cosign image signature for
/// `image_digest` (`sha256:<hex>`). `critical.identity.docker-reference` is
/// not read: a mirrored image keeps its signatures.
pub fn check_payload(payload: &[u8], image_digest: &str) -> Result<(), FormatError> {
    if payload.len() > limits::PAYLOAD_BYTES {
        return Err(FormatError::PayloadTooLarge {
            size: payload.len(),
        });
    }
    let parsed: Payload =
        serde_json::from_slice(payload).map_err(|e| FormatError::PayloadNotJson(e.to_string()))?;
    if parsed.critical.kind != SIGNATURE_TYPE {
        return Err(FormatError::WrongType {
            found: parsed.critical.kind,
        });
    }
    if parsed.critical.image.docker_manifest_digest != image_digest {
        return Err(FormatError::WrongImage {
            expected: image_digest.to_owned(),
            found: parsed.critical.image.docker_manifest_digest,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    const DIGEST: &str = "sha256:0489474da8ea22426ece86ace6c1c0026ab2fd3cdfbbd62b7e94650266c37d9a";

    fn payload(kind: &str, digest: &str) -> Vec<u8> {
        format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"example.test/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"{kind}"}},"optional":null}}"#
        )
        .into_bytes()
    }

    #[test]
    fn payload_names_the_image() {
        assert_eq!(
            check_payload(&payload(SIGNATURE_TYPE, DIGEST), DIGEST),
            Ok(())
        );
        let other = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        assert!(matches!(
            check_payload(&payload(SIGNATURE_TYPE, other), DIGEST),
            Err(FormatError::WrongImage { .. })
        ));
        assert!(matches!(
            check_payload(
                &payload("cosign container image attestation", DIGEST),
                DIGEST
            ),
            Err(FormatError::WrongType { .. })
        ));
        assert!(matches!(
            check_payload(b"not json", DIGEST),
            Err(FormatError::PayloadNotJson(_))
        ));
        let big = vec![b' '; limits::PAYLOAD_BYTES + 1];
        assert!(matches!(
            check_payload(&big, DIGEST),
            Err(FormatError::PayloadTooLarge { .. })
        ));
    }

    #[test]
    fn a_layer_needs_a_base64_signature() {
        assert_eq!(parse_layer(&[]).err(), Some(FormatError::MissingSignature));
        let bad = [(SIGNATURE_ANNOTATION.to_owned(), "!!".to_owned())];
        assert_eq!(
            parse_layer(&bad).err(),
            Some(FormatError::Base64("the signature"))
        );
        let good = [(SIGNATURE_ANNOTATION.to_owned(), "AAEC".to_owned())];
        let layer = parse_layer(&good).unwrap();
        assert_eq!(layer.signature, vec![0, 1, 2]);
        assert!(layer.certificate.is_none() && layer.chain.is_empty() && layer.rekor.is_none());
    }

    #[test]
    fn a_chain_is_bounded() {
        let block = "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n";
        let layer = |n: usize| {
            [
                (SIGNATURE_ANNOTATION.to_owned(), "AAEC".to_owned()),
                (CHAIN_ANNOTATION.to_owned(), block.repeat(n)),
            ]
        };
        assert_eq!(parse_layer(&layer(3)).unwrap().chain.len(), 3);
        assert!(matches!(
            parse_layer(&layer(limits::CHAIN_CERTIFICATES + 1)),
            Err(FormatError::TooManyCertificates { .. })
        ));
    }
}
