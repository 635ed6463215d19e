//! Sigstore bundles (protobuf-specs `Bundle`, JSON form), media types v0.1 to
//! v0.3. Parsing only: every byte field is decoded, every count and size is
//! bounded, nothing is trusted yet.

use std::fmt;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

use crate::limits;
use crate::public_key::HashAlgorithm;
use crate::tlog::merkle::Hash;

/// The bundle versions, which differ in what they require.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V01,
    V02,
    V03,
}

/// A decoded bundle.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub version: Version,
    pub material: Material,
    pub tlog_entries: Vec<TlogEntry>,
    /// DER RFC 3161 timestamp tokens.
    pub timestamps: Vec<Vec<u8>>,
    pub content: Content,
}

/// What the signature is to be checked with.
#[derive(Clone, Debug)]
pub enum Material {
    /// DER certificates, leaf first (v0.1 and v0.2).
    CertificateChain(Vec<Vec<u8>>),
    /// One DER leaf certificate (v0.3).
    Certificate(Vec<u8>),
    /// A key the verifier already has, named by a hint.
    PublicKey { hint: String },
}

/// One transparency-log entry.
#[derive(Clone, Debug)]
pub struct TlogEntry {
    pub log_index: i64,
    pub log_id: Vec<u8>,
    pub kind: String,
    pub version: String,
    pub integrated_time: i64,
    pub signed_entry_timestamp: Option<Vec<u8>>,
    pub inclusion_proof: Option<InclusionProof>,
    /// The canonicalized body, decoded.
    pub body: Vec<u8>,
    /// The canonicalized body exactly as the bundle carries it, for the SET.
    pub body_base64: String,
}

#[derive(Clone, Debug)]
pub struct InclusionProof {
    pub log_index: i64,
    pub root_hash: Hash,
    pub tree_size: i64,
    pub hashes: Vec<Hash>,
    pub checkpoint: Option<String>,
}

/// What was signed.
#[derive(Clone, Debug)]
pub enum Content {
    MessageSignature {
        /// The hash the signature is over: the stated `messageDigest`
        /// algorithm, SHA-256 when none is stated.
        digest_algorithm: HashAlgorithm,
        /// The artifact's digest, when the bundle states it.
        digest: Option<Vec<u8>>,
        signature: Vec<u8>,
    },
    Dsse(Envelope),
}

/// A DSSE envelope.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub payload: Vec<u8>,
    pub payload_type: String,
    pub signatures: Vec<Vec<u8>>,
}

/// Why a bundle could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BundleError {
    TooLarge {
        bytes: usize,
        max: usize,
    },
    Json(String),
    UnknownMediaType(String),
    Missing(&'static str),
    Base64 {
        field: &'static str,
    },
    Integer {
        field: &'static str,
        value: String,
    },
    WrongLength {
        field: &'static str,
        expected: usize,
        found: usize,
    },
    TooMany {
        field: &'static str,
        count: usize,
        max: usize,
    },
    EmptyCertificateChain,
    UnsupportedDigest(String),
    /// A v0.3 bundle carries `x509CertificateChain`, which v0.3 replaced
    /// with a single `certificate`.
    ChainInV03,
    BothContents,
    DsseSignatureCount(usize),
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { bytes, max } => {
                write!(f, "bundle is {bytes} bytes, at most {max} allowed")
            }
            Self::Json(e) => write!(f, "bundle is not valid JSON: {e}"),
            Self::UnknownMediaType(m) => write!(f, "unknown bundle media type `{m}`"),
            Self::Missing(field) => write!(f, "bundle has no `{field}`"),
            Self::Base64 { field } => write!(f, "bundle field `{field}` is not valid base64"),
            Self::Integer { field, value } => {
                write!(
                    f,
                    "bundle field `{field}` is not a non-negative integer: `{value}`"
                )
            }
            Self::WrongLength {
                field,
                expected,
                found,
            } => write!(
                f,
                "bundle field `{field}` must be {expected} bytes, got {found}"
            ),
            Self::TooMany { field, count, max } => {
                write!(f, "bundle has {count} `{field}`, at most {max} allowed")
            }
            Self::EmptyCertificateChain => write!(f, "bundle certificate chain is empty"),
            Self::UnsupportedDigest(a) => {
                write!(
                    f,
                    "unsupported message digest algorithm `{a}`, expected SHA2_256, SHA2_384 or SHA2_512"
                )
            }
            Self::ChainInV03 => write!(
                f,
                "a v0.3 bundle must carry its signing certificate as `certificate`, not as `x509CertificateChain`"
            ),
            Self::BothContents => {
                write!(f, "bundle has both a message signature and a DSSE envelope")
            }
            Self::DsseSignatureCount(n) => {
                write!(f, "DSSE envelope must carry exactly one signature, got {n}")
            }
        }
    }
}

impl std::error::Error for BundleError {}

const MEDIA_TYPES: [(&str, Version); 5] = [
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.1",
        Version::V01,
    ),
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.2",
        Version::V02,
    ),
    (
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
        Version::V03,
    ),
    (
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        Version::V03,
    ),
    (
        "application/vnd.dev.sigstore.bundle.v0.3.1+json",
        Version::V03,
    ),
];

impl Bundle {
    pub fn parse(json: &[u8]) -> Result<Self, BundleError> {
        Self::parse_within(json, limits::BUNDLE_BYTES)
    }

    /// [`Bundle::parse`], for a bundle of at most `max` bytes (an
    /// attestation's: an SBOM is larger than a signature).
    pub fn parse_within(json: &[u8], max: usize) -> Result<Self, BundleError> {
        if json.len() > max {
            return Err(BundleError::TooLarge {
                bytes: json.len(),
                max,
            });
        }
        let raw: RawBundle =
            serde_json::from_slice(json).map_err(|e| BundleError::Json(e.to_string()))?;
        let media_type = raw.media_type.ok_or(BundleError::Missing("mediaType"))?;
        let version = MEDIA_TYPES
            .iter()
            .find(|(m, _)| *m == media_type)
            .map(|(_, v)| *v)
            .ok_or(BundleError::UnknownMediaType(media_type))?;
        let material = raw
            .verification_material
            .ok_or(BundleError::Missing("verificationMaterial"))?;
        let tlog_entries = bounded(material.tlog_entries, "tlogEntries", limits::TLOG_ENTRIES)?
            .into_iter()
            .map(RawTlogEntry::decode)
            .collect::<Result<_, _>>()?;
        let timestamps = match material.timestamp_verification_data {
            Some(data) => bounded(
                data.rfc3161_timestamps,
                "rfc3161Timestamps",
                limits::TIMESTAMPS,
            )?
            .into_iter()
            .map(|t| decode(t.signed_timestamp.as_deref(), "signedTimestamp"))
            .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let key_material = match (
            material.x509_certificate_chain,
            material.certificate,
            material.public_key,
        ) {
            (Some(_), None, None) if version == Version::V03 => {
                return Err(BundleError::ChainInV03);
            }
            (Some(chain), None, None) => {
                let certs = bounded(
                    chain.certificates,
                    "certificates",
                    limits::CHAIN_CERTIFICATES,
                )?;
                if certs.is_empty() {
                    return Err(BundleError::EmptyCertificateChain);
                }
                Material::CertificateChain(
                    certs
                        .into_iter()
                        .map(|c| decode(c.raw_bytes.as_deref(), "rawBytes"))
                        .collect::<Result<_, _>>()?,
                )
            }
            (None, Some(cert), None) => {
                Material::Certificate(decode(cert.raw_bytes.as_deref(), "rawBytes")?)
            }
            (None, None, Some(key)) => Material::PublicKey {
                hint: key.hint.unwrap_or_default(),
            },
            _ => return Err(BundleError::Missing("verificationMaterial content")),
        };
        let content = match (raw.message_signature, raw.dsse_envelope) {
            (Some(_), Some(_)) => return Err(BundleError::BothContents),
            (Some(m), None) => {
                let (digest_algorithm, digest) = match m.message_digest {
                    Some(d) => {
                        let name = d.algorithm.unwrap_or_default();
                        let Some(algorithm) = [
                            HashAlgorithm::Sha256,
                            HashAlgorithm::Sha384,
                            HashAlgorithm::Sha512,
                        ]
                        .into_iter()
                        .find(|a| a.protobuf_name() == name) else {
                            return Err(BundleError::UnsupportedDigest(name));
                        };
                        let digest = decode(d.digest.as_deref(), "messageDigest.digest")?;
                        exact(&digest, algorithm.digest_len(), "messageDigest.digest")?;
                        (algorithm, Some(digest))
                    }
                    None => (HashAlgorithm::Sha256, None),
                };
                Content::MessageSignature {
                    digest_algorithm,
                    digest,
                    signature: decode(m.signature.as_deref(), "messageSignature.signature")?,
                }
            }
            (None, Some(e)) => {
                let signatures = bounded(e.signatures, "signatures", 1)?;
                if signatures.len() != 1 {
                    return Err(BundleError::DsseSignatureCount(signatures.len()));
                }
                Content::Dsse(Envelope {
                    payload: decode(e.payload.as_deref(), "dsseEnvelope.payload")?,
                    payload_type: e.payload_type.ok_or(BundleError::Missing("payloadType"))?,
                    signatures: signatures
                        .into_iter()
                        .map(|s| decode(s.sig.as_deref(), "dsseEnvelope.signatures.sig"))
                        .collect::<Result<_, _>>()?,
                })
            }
            (None, None) => return Err(BundleError::Missing("messageSignature or dsseEnvelope")),
        };
        Ok(Self {
            version,
            material: key_material,
            tlog_entries,
            timestamps,
            content,
        })
    }
}

fn bounded<T>(items: Vec<T>, field: &'static str, max: usize) -> Result<Vec<T>, BundleError> {
    if items.len() > max {
        return Err(BundleError::TooMany {
            field,
            count: items.len(),
            max,
        });
    }
    Ok(items)
}

/// Protobuf JSON's bytes: standard or URL-safe base64, padded or not. Line
/// breaks are skipped, as Go's decoder skips them (tools wrap at 76 columns).
fn decode(text: Option<&str>, field: &'static str) -> Result<Vec<u8>, BundleError> {
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    let text = text.ok_or(BundleError::Missing(field))?;
    let unwrapped: String;
    let text = if text.contains(['\r', '\n']) {
        unwrapped = text.replace(['\r', '\n'], "");
        unwrapped.as_str()
    } else {
        text
    };
    let engine = if text.contains(['-', '_']) {
        &URL_SAFE
    } else {
        &STANDARD
    };
    engine
        .decode(text)
        .map_err(|_| BundleError::Base64 { field })
}

fn exact(bytes: &[u8], expected: usize, field: &'static str) -> Result<(), BundleError> {
    if bytes.len() != expected {
        return Err(BundleError::WrongLength {
            field,
            expected,
            found: bytes.len(),
        });
    }
    Ok(())
}

fn hash(text: &str, field: &'static str) -> Result<Hash, BundleError> {
    let bytes = decode(Some(text), field)?;
    exact(&bytes, 32, field)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// Protobuf JSON writes int64 as a string, but a number is accepted too.
#[derive(Deserialize)]
#[serde(untagged)]
enum Int64 {
    Text(String),
    Number(i64),
}

fn integer(value: Option<Int64>, field: &'static str) -> Result<i64, BundleError> {
    match value {
        None => Ok(0),
        Some(Int64::Number(n)) if n >= 0 => Ok(n),
        Some(Int64::Number(n)) => Err(BundleError::Integer {
            field,
            value: n.to_string(),
        }),
        Some(Int64::Text(s)) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0 && s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(BundleError::Integer { field, value: s }),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    media_type: Option<String>,
    verification_material: Option<RawMaterial>,
    message_signature: Option<RawMessageSignature>,
    dsse_envelope: Option<RawEnvelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    message_digest: Option<RawDigest>,
    signature: Option<String>,
}

#[derive(Deserialize)]
struct RawDigest {
    algorithm: Option<String>,
    digest: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEnvelope {
    payload: Option<String>,
    payload_type: Option<String>,
    #[serde(default)]
    signatures: Vec<RawDsseSignature>,
}

#[derive(Deserialize)]
struct RawDsseSignature {
    sig: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    x509_certificate_chain: Option<RawChain>,
    certificate: Option<RawBytes>,
    public_key: Option<RawKeyHint>,
    #[serde(default)]
    tlog_entries: Vec<RawTlogEntry>,
    timestamp_verification_data: Option<RawTimestampData>,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawBytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytes {
    raw_bytes: Option<String>,
}

#[derive(Deserialize)]
struct RawKeyHint {
    hint: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestampData {
    #[serde(default)]
    rfc3161_timestamps: Vec<RawTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTimestamp {
    signed_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTlogEntry {
    log_index: Option<Int64>,
    log_id: Option<RawLogId>,
    kind_version: Option<RawKindVersion>,
    integrated_time: Option<Int64>,
    inclusion_promise: Option<RawPromise>,
    inclusion_proof: Option<RawProof>,
    canonicalized_body: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: Option<String>,
}

#[derive(Deserialize)]
struct RawKindVersion {
    kind: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPromise {
    signed_entry_timestamp: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProof {
    log_index: Option<Int64>,
    root_hash: Option<String>,
    tree_size: Option<Int64>,
    #[serde(default)]
    hashes: Vec<String>,
    checkpoint: Option<RawCheckpoint>,
}

#[derive(Deserialize)]
struct RawCheckpoint {
    envelope: Option<String>,
}

impl RawTlogEntry {
    fn decode(self) -> Result<TlogEntry, BundleError> {
        let kind_version = self
            .kind_version
            .ok_or(BundleError::Missing("kindVersion"))?;
        let body_base64 = self
            .canonicalized_body
            .ok_or(BundleError::Missing("canonicalizedBody"))?;
        let inclusion_proof = match self.inclusion_proof {
            Some(p) => Some(InclusionProof {
                log_index: integer(p.log_index, "inclusionProof.logIndex")?,
                root_hash: hash(
                    p.root_hash
                        .as_deref()
                        .ok_or(BundleError::Missing("rootHash"))?,
                    "inclusionProof.rootHash",
                )?,
                tree_size: integer(p.tree_size, "inclusionProof.treeSize")?,
                hashes: bounded(p.hashes, "inclusionProof.hashes", 64)?
                    .iter()
                    .map(|h| hash(h, "inclusionProof.hashes"))
                    .collect::<Result<_, _>>()?,
                checkpoint: p.checkpoint.and_then(|c| c.envelope),
            }),
            None => None,
        };
        Ok(TlogEntry {
            log_index: integer(self.log_index, "logIndex")?,
            log_id: decode(self.log_id.and_then(|l| l.key_id).as_deref(), "logId.keyId")?,
            kind: kind_version.kind.unwrap_or_default(),
            version: kind_version.version.unwrap_or_default(),
            integrated_time: integer(self.integrated_time, "integratedTime")?,
            signed_entry_timestamp: self
                .inclusion_promise
                .and_then(|p| p.signed_entry_timestamp)
                .map(|s| decode(Some(&s), "signedEntryTimestamp"))
                .transpose()?,
            inclusion_proof,
            body: decode(Some(&body_base64), "canonicalizedBody")?,
            body_base64,
        })
    }
}
