//! Binding a transparency-log entry to the bundle: the logged body must name
//! the same signature, the same signer and the same artifact, field by field.
//! A valid SET or proof for some other entry proves nothing about this one.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::hex;
use crate::public_key::HashAlgorithm;

/// What the bundle claims, which the body must repeat.
pub struct Claims<'a> {
    pub signature: &'a [u8],
    /// The signer: a DER certificate, or a DER SubjectPublicKeyInfo.
    pub signer_der: &'a [u8],
    pub signed: Signed<'a>,
}

/// What the signature is over.
pub enum Signed<'a> {
    /// An artifact, by its digest (hashedrekord).
    Digest(HashAlgorithm, &'a [u8]),
    /// A DSSE envelope's payload (dsse, intoto; hashedrekord 0.0.2 logs the
    /// digest of its PAE).
    Dsse {
        payload_type: &'a str,
        payload: &'a [u8],
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    NotJson,
    UnsupportedKind {
        kind: String,
        version: String,
    },
    KindMismatch {
        entry: String,
        body: String,
    },
    Missing(&'static str),
    SignatureMismatch,
    SignerMismatch,
    DigestMismatch {
        what: &'static str,
        expected: String,
        found: String,
    },
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
            Self::DigestMismatch {
                what,
                expected,
                found,
            } => write!(
                f,
                "the log entry records {what} {found}, expected {expected}"
            ),
        }
    }
}

impl std::error::Error for BodyError {}

/// Checks an entry body against the bundle's claims, by the entry's kind:
/// hashedrekord 0.0.1 and 0.0.2, rekord 0.0.1 (hashed data only), dsse
/// 0.0.1 and 0.0.2, or intoto 0.0.2.
pub fn check(body: &[u8], kind: &str, version: &str, claims: &Claims<'_>) -> Result<(), BodyError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| BodyError::NotJson)?;
    let body_kind = value["kind"].as_str().unwrap_or_default();
    let body_version = value["apiVersion"].as_str().unwrap_or_default();
    if (body_kind, body_version) != (kind, version) {
        return Err(BodyError::KindMismatch {
            entry: format!("{kind} {version}"),
            body: format!("{body_kind} {body_version}"),
        });
    }
    let spec = &value["spec"];
    match (kind, version, &claims.signed) {
        // rekord 0.0.1, which cosign wrote before hashedrekord, records a
        // hashed artifact in the same fields.
        ("hashedrekord" | "rekord", "0.0.1", Signed::Digest(algorithm, digest)) => {
            let signature = base64_field(&spec["signature"]["content"], "signature")?;
            let signer = pem_field(&spec["signature"]["publicKey"]["content"])?;
            same_signature_and_signer(&[(signature, signer)], claims)?;
            let hash = &spec["data"]["hash"];
            same_digest(hash, *algorithm, digest, "artifact hash")
        }
        ("dsse", "0.0.1", Signed::Dsse { payload, .. }) => {
            let pairs = list(&spec["signatures"], |s| {
                Ok((
                    base64_field(&s["signature"], "signature")?,
                    pem_field(&s["verifier"])?,
                ))
            })?;
            same_signature_and_signer(&pairs, claims)?;
            same_digest(
                &spec["payloadHash"],
                HashAlgorithm::Sha256,
                &sha256(payload),
                "payload hash",
            )
        }
        ("intoto", "0.0.2", Signed::Dsse { payload, .. }) => {
            let content = &spec["content"];
            // intoto 0.0.2 stores each signature base64-encoded twice.
            let pairs = list(&content["envelope"]["signatures"], |s| {
                let once = base64_field(&s["sig"], "signature")?;
                let sig = std::str::from_utf8(&once)
                    .ok()
                    .and_then(|text| BASE64.decode(text).ok())
                    .ok_or(BodyError::Missing("signature"))?;
                Ok((sig, pem_field(&s["publicKey"])?))
            })?;
            same_signature_and_signer(&pairs, claims)?;
            same_digest(
                &content["payloadHash"],
                HashAlgorithm::Sha256,
                &sha256(payload),
                "payload hash",
            )
        }
        // Rekor v2 entries: DER instead of base64 PEM, and base64 digests.
        ("hashedrekord", "0.0.2", Signed::Digest(algorithm, digest)) => {
            let spec = &spec["hashedRekordV002"];
            same_signature_and_signer(&[v2_signature(&spec["signature"])?], claims)?;
            same_v2_digest(&spec["data"], *algorithm, digest, "artifact hash")
        }
        (
            "hashedrekord",
            "0.0.2",
            Signed::Dsse {
                payload_type,
                payload,
            },
        ) => {
            let spec = &spec["hashedRekordV002"];
            same_signature_and_signer(&[v2_signature(&spec["signature"])?], claims)?;
            let pae = crate::dsse::pae(payload_type, payload);
            same_v2_digest(
                &spec["data"],
                HashAlgorithm::Sha256,
                &sha256(&pae),
                "envelope hash",
            )
        }
        ("dsse", "0.0.2", Signed::Dsse { payload, .. }) => {
            let spec = &spec["dsseV002"];
            let pairs = list(&spec["signatures"], v2_signature)?;
            same_signature_and_signer(&pairs, claims)?;
            same_v2_digest(
                &spec["payloadHash"],
                HashAlgorithm::Sha256,
                &sha256(payload),
                "payload hash",
            )
        }
        _ => Err(BodyError::UnsupportedKind {
            kind: kind.to_owned(),
            version: version.to_owned(),
        }),
    }
}

/// A Rekor v2 signature: `{content, verifier: {x509Certificate | publicKey: {rawBytes}}}`.
fn v2_signature(value: &Value) -> Result<(Vec<u8>, Vec<u8>), BodyError> {
    let signature = base64_field(&value["content"], "signature")?;
    let verifier = &value["verifier"];
    let signer = if verifier["x509Certificate"].is_object() {
        base64_field(&verifier["x509Certificate"]["rawBytes"], "certificate")?
    } else {
        base64_field(&verifier["publicKey"]["rawBytes"], "public key")?
    };
    Ok((signature, signer))
}

fn same_v2_digest(
    hash: &Value,
    algorithm: HashAlgorithm,
    expected: &[u8],
    what: &'static str,
) -> Result<(), BodyError> {
    if hash["algorithm"].as_str() != Some(algorithm.protobuf_name()) {
        return Err(BodyError::Missing(what));
    }
    let found = base64_field(&hash["digest"], what)?;
    if found != expected {
        return Err(BodyError::DigestMismatch {
            what,
            expected: hex::encode(expected),
            found: hex::encode(&found),
        });
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

fn base64_field(value: &Value, what: &'static str) -> Result<Vec<u8>, BodyError> {
    value
        .as_str()
        .and_then(|s| BASE64.decode(s).ok())
        .ok_or(BodyError::Missing(what))
}

/// A base64 PEM block, as logs record certificates and keys, decoded to DER.
fn pem_field(value: &Value) -> Result<Vec<u8>, BodyError> {
    let missing = || BodyError::Missing("public key or certificate");
    let pem = base64_field(value, "public key or certificate")?;
    let text = std::str::from_utf8(&pem).map_err(|_| missing())?;
    crate::public_key::decode_pem(text)
        .map(|(_, der)| der)
        .ok_or_else(missing)
}

/// Reads a list of at most one entry per signature the bundle can carry.
fn list<T>(
    value: &Value,
    read: impl Fn(&Value) -> Result<T, BodyError>,
) -> Result<Vec<T>, BodyError> {
    let items = value.as_array().ok_or(BodyError::Missing("signatures"))?;
    if items.is_empty() || items.len() > 1 {
        return Err(BodyError::Missing("exactly one signature"));
    }
    items.iter().map(read).collect()
}

fn same_signature_and_signer(
    recorded: &[(Vec<u8>, Vec<u8>)],
    claims: &Claims<'_>,
) -> Result<(), BodyError> {
    let (signature, signer) = recorded.first().ok_or(BodyError::Missing("signatures"))?;
    if signature != claims.signature {
        return Err(BodyError::SignatureMismatch);
    }
    if signer != claims.signer_der {
        return Err(BodyError::SignerMismatch);
    }
    Ok(())
}

fn same_digest(
    hash: &Value,
    algorithm: HashAlgorithm,
    expected: &[u8],
    what: &'static str,
) -> Result<(), BodyError> {
    if hash["algorithm"].as_str() != Some(algorithm.name()) {
        return Err(BodyError::Missing(what));
    }
    let found = hash["value"].as_str().ok_or(BodyError::Missing(what))?;
    let expected = hex::encode(expected);
    if found != expected {
        return Err(BodyError::DigestMismatch {
            what,
            expected,
            found: found.to_owned(),
        });
    }
    Ok(())
}
