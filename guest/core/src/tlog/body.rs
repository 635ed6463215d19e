//! Binding a transparency-log entry to the bundle: the logged body must name
//! the same signature, the same signer and the same artifact, field by field.
//! A valid SET or proof for some other entry proves nothing about this one.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

/// What the bundle claims, which the body must repeat.
pub struct Claims<'a> {
    pub signature: &'a [u8],
    /// The signer: a DER certificate, or a DER SubjectPublicKeyInfo.
    pub signer_der: &'a [u8],
    /// The artifact's SHA-256 digest.
    pub digest: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    NotJson,
    UnsupportedKind { kind: String, version: String },
    KindMismatch { entry: String, body: String },
    Missing(&'static str),
    SignatureMismatch,
    SignerMismatch,
    DigestMismatch { expected: String, found: String },
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotJson => write!(f, "the log entry body is not JSON"),
            Self::UnsupportedKind { kind, version } => {
                write!(f, "unsupported log entry kind {kind} {version}")
            }
            Self::KindMismatch { entry, body } => {
                write!(f, "the entry says it is {entry}, its body says {body}")
            }
            Self::Missing(field) => write!(f, "the log entry body has no {field}"),
            Self::SignatureMismatch => write!(f, "the log entry records a different signature"),
            Self::SignerMismatch => {
                write!(f, "the log entry records a different certificate or key")
            }
            Self::DigestMismatch { expected, found } => write!(
                f,
                "the log entry records artifact digest {found}, expected {expected}"
            ),
        }
    }
}

impl std::error::Error for BodyError {}

/// Checks a `hashedrekord` 0.0.1 body against the bundle's claims.
pub fn check_hashedrekord(
    body: &[u8],
    kind: &str,
    version: &str,
    claims: &Claims<'_>,
) -> Result<(), BodyError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| BodyError::NotJson)?;
    let body_kind = value["kind"].as_str().unwrap_or_default();
    let body_version = value["apiVersion"].as_str().unwrap_or_default();
    if (body_kind, body_version) != (kind, version) {
        return Err(BodyError::KindMismatch {
            entry: format!("{kind} {version}"),
            body: format!("{body_kind} {body_version}"),
        });
    }
    if (kind, version) != ("hashedrekord", "0.0.1") {
        return Err(BodyError::UnsupportedKind {
            kind: kind.to_owned(),
            version: version.to_owned(),
        });
    }
    let spec = &value["spec"];
    let signature = spec["signature"]["content"]
        .as_str()
        .and_then(|s| BASE64.decode(s).ok())
        .ok_or(BodyError::Missing("signature"))?;
    if signature != claims.signature {
        return Err(BodyError::SignatureMismatch);
    }
    let signer = spec["signature"]["publicKey"]["content"]
        .as_str()
        .and_then(|s| BASE64.decode(s).ok())
        .and_then(|pem| pem_rfc7468::decode_vec(&pem).ok().map(|(_, der)| der))
        .ok_or(BodyError::Missing("public key or certificate"))?;
    if signer != claims.signer_der {
        return Err(BodyError::SignerMismatch);
    }
    let hash = &spec["data"]["hash"];
    if hash["algorithm"].as_str() != Some("sha256") {
        return Err(BodyError::Missing("sha256 artifact hash"));
    }
    let found = hash["value"]
        .as_str()
        .ok_or(BodyError::Missing("artifact hash"))?;
    let expected: String = claims.digest.iter().map(|b| format!("{b:02x}")).collect();
    if found != expected {
        return Err(BodyError::DigestMismatch {
            expected,
            found: found.to_owned(),
        });
    }
    Ok(())
}
