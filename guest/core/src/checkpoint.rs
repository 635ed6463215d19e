//! Signed checkpoints (signed notes, c2sp.org/tlog-checkpoint): a log's signed
//! commitment to its tree size and root hash.
//!
//! A note may carry several signature lines: the log's own and witnesses'.
//! Only a line whose key hint is the log key's counts; the others are ignored.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use crate::hex;
use crate::public_key::PublicKey;
use crate::tlog::merkle::Hash;
use crate::trust_root::TransparencyLog;

/// Largest checkpoint accepted, in bytes.
const MAX_BYTES: usize = 16 * 1024;
/// Most signature lines accepted on one note.
const MAX_SIGNATURES: usize = 32;

/// A parsed checkpoint, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: Hash,
    /// The signed text: every line up to and including the blank line's newline.
    signed: String,
    signatures: Vec<NoteSignature>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct NoteSignature {
    name: String,
    key_hint: [u8; 4],
    signature: Vec<u8>,
}

/// Why a checkpoint is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointError {
    TooLarge { bytes: usize },
    NoSignatures,
    TooManySignatures { count: usize },
    MissingOrigin,
    MissingTreeSize,
    InvalidTreeSize(String),
    MissingRootHash,
    InvalidRootHash(String),
    MalformedSignatureLine(String),
    WrongOrigin { expected: String, found: String },
    NoSignatureByLog { key_hint: String },
    BadSignature { name: String, reason: String },
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { bytes } => {
                write!(f, "checkpoint is {bytes} bytes, at most {MAX_BYTES}")
            }
            Self::NoSignatures => write!(f, "checkpoint has no signature lines"),
            Self::TooManySignatures { count } => {
                write!(
                    f,
                    "checkpoint has {count} signature lines, at most {MAX_SIGNATURES}"
                )
            }
            Self::MissingOrigin => write!(f, "checkpoint has no origin line"),
            Self::MissingTreeSize => write!(f, "checkpoint has no tree size line"),
            Self::InvalidTreeSize(s) => write!(f, "checkpoint tree size `{s}` is not a number"),
            Self::MissingRootHash => write!(f, "checkpoint has no root hash line"),
            Self::InvalidRootHash(s) => {
                write!(f, "checkpoint root hash `{s}` is not 32 bytes of base64")
            }
            Self::MalformedSignatureLine(s) => {
                write!(f, "malformed checkpoint signature line `{s}`")
            }
            Self::WrongOrigin { expected, found } => {
                write!(f, "expected checkpoint origin `{expected}`, got `{found}`")
            }
            Self::NoSignatureByLog { key_hint } => write!(
                f,
                "no checkpoint signature line carries the log's name and key hint {key_hint}"
            ),
            Self::BadSignature { name, reason } => {
                write!(
                    f,
                    "checkpoint signature by `{name}` does not verify: {reason}"
                )
            }
        }
    }
}

impl std::error::Error for CheckpointError {}

impl Checkpoint {
    /// Parses a signed note holding a checkpoint.
    pub fn parse(envelope: &str) -> Result<Self, CheckpointError> {
        if envelope.len() > MAX_BYTES {
            return Err(CheckpointError::TooLarge {
                bytes: envelope.len(),
            });
        }
        let split = envelope.find("\n\n").ok_or(CheckpointError::NoSignatures)?;
        let (signed, rest) = envelope.split_at(split + 1);
        let mut lines = signed.lines();
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(CheckpointError::MissingOrigin)?;
        let size = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(CheckpointError::MissingTreeSize)?;
        let tree_size = size
            .parse::<u64>()
            .ok()
            .filter(|_| size.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| CheckpointError::InvalidTreeSize(size.to_owned()))?;
        let root = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(CheckpointError::MissingRootHash)?;
        let root_hash: Hash = BASE64
            .decode(root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CheckpointError::InvalidRootHash(root.to_owned()))?;

        let mut signatures = Vec::new();
        for line in rest[1..].lines().filter(|l| !l.is_empty()) {
            if signatures.len() == MAX_SIGNATURES {
                return Err(CheckpointError::TooManySignatures {
                    count: rest.lines().count(),
                });
            }
            signatures.push(parse_signature_line(line)?);
        }
        if signatures.is_empty() {
            return Err(CheckpointError::NoSignatures);
        }
        Ok(Self {
            origin: origin.to_owned(),
            tree_size,
            root_hash,
            signed: signed.to_owned(),
            signatures,
        })
    }

    /// Verifies the log's own signature on the note. `origin`, when given, is
    /// the origin the log must have written (Rekor v2 derives it from the URL).
    pub fn verify(
        &self,
        log: &TransparencyLog,
        origin: Option<&str>,
    ) -> Result<(), CheckpointError> {
        if let Some(expected) = origin
            && expected != self.origin
        {
            return Err(CheckpointError::WrongOrigin {
                expected: expected.to_owned(),
                found: self.origin.clone(),
            });
        }
        // The log signs under its own name, the origin's first field; lines by
        // other names are witnesses', which this check does not need.
        let name = self.origin.split(" - ").next().unwrap_or_default();
        let mut candidates = self
            .signatures
            .iter()
            .filter(|s| s.name == name && s.key_hint == key_hint(log, &s.name))
            .peekable();
        if candidates.peek().is_none() {
            return Err(CheckpointError::NoSignatureByLog {
                key_hint: hex::encode(&key_hint(log, name)),
            });
        }
        let mut last = None;
        for candidate in candidates {
            match log.verify(self.signed.as_bytes(), &candidate.signature) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    last = Some(CheckpointError::BadSignature {
                        name: candidate.name.clone(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Err(last.unwrap_or(CheckpointError::NoSignatures))
    }
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, CheckpointError> {
    let malformed = || CheckpointError::MalformedSignatureLine(line.chars().take(80).collect());
    let rest = line.strip_prefix("\u{2014} ").ok_or_else(malformed)?;
    let (name, encoded) = rest.rsplit_once(' ').ok_or_else(malformed)?;
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(malformed());
    }
    let raw = BASE64.decode(encoded).map_err(|_| malformed())?;
    if raw.len() < 5 {
        return Err(malformed());
    }
    let (hint, signature) = raw.split_at(4);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_hint: [hint[0], hint[1], hint[2], hint[3]],
        signature: signature.to_vec(),
    })
}

/// The 4-byte key hint a log's signature line carries. Ed25519 notes follow
/// the Go note format, `SHA-256(name || "\n" || 0x01 || key)`; ECDSA logs
/// (Rekor v1) use the first bytes of the key's log ID, `SHA-256(SPKI DER)`.
fn key_hint(log: &TransparencyLog, name: &str) -> [u8; 4] {
    let digest: [u8; 32] = match &log.key {
        PublicKey::Ed25519(key) => {
            let mut h = Sha256::new();
            h.update(name.as_bytes());
            h.update(b"\n\x01");
            h.update(key.as_bytes());
            h.finalize().into()
        }
        _ => Sha256::digest(&log.key_der).into(),
    };
    [digest[0], digest[1], digest[2], digest[3]]
}
