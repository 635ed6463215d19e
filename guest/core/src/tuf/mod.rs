//! A TUF client (The Update Framework, specification 1.0), as Sigstore
//! uses it to distribute `trusted_root.json`.
//!
//! The client is a state machine ([`Client`]): it says which file it needs
//! next, from the local metadata store or from the repository, and a host
//! fetches it and hands it back. Every check, and every choice of what to
//! fetch, keep or trust, is made here; the host only moves bytes and reads
//! the clock.
//!
//! - `canonical`: the canonical JSON that signatures cover;
//! - `key`: keys and signature schemes;
//! - `metadata`: the roles as read from JSON;
//! - `threshold`: that enough of a role's keys signed;
//! - `trusted`: versions, expiry, hashes, rollback, in update order;
//! - `delegation`: which delegated role is trusted for a path;
//! - `client`: the workflow, and what the host is asked for.

pub mod canonical;
pub mod client;
pub mod delegation;
pub mod key;
pub mod metadata;
pub mod threshold;
pub mod trusted;

use std::fmt;

pub use client::{Client, Request, Source, Step, TargetInfo};

/// The most bytes each kind of metadata file may have (python-tuf's limits).
pub mod limits {
    pub const ROOT: u64 = 512_000;
    pub const TIMESTAMP: u64 = 16_384;
    pub const SNAPSHOT: u64 = 2_000_000;
    pub const TARGETS: u64 = 5_000_000;
    /// Root versions taken in one refresh.
    pub const ROOT_ROTATIONS: u64 = 256;
    /// Targets roles visited in one search.
    pub const DELEGATIONS: usize = 32;
}

/// Why metadata or a target was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TufError {
    /// Not JSON, or not the shape the specification gives the role.
    Malformed {
        role: &'static str,
        reason: String,
    },
    /// `signed._type` names another role.
    WrongType {
        expected: &'static str,
        found: String,
    },
    /// Fewer valid signatures by the role's keys than its threshold.
    Threshold {
        role: String,
        signer: String,
        valid: u64,
        threshold: u64,
    },
    /// Not the version the referrer names (or, for root, the next one).
    Version {
        role: String,
        expected: String,
        found: u64,
    },
    /// An older version than the one trusted.
    Rollback {
        role: String,
        trusted: u64,
        found: u64,
    },
    /// A file the trusted snapshot listed is no longer listed.
    Removed(String),
    /// Expired (seconds since the epoch).
    Expired {
        role: String,
        expires: i64,
        now: i64,
    },
    Length {
        what: String,
        expected: u64,
        found: u64,
    },
    Hash {
        what: String,
        algorithm: String,
        expected: String,
        found: String,
    },
    UnknownHash {
        what: String,
        algorithm: String,
    },
    /// Larger than its limit: the rest was not read.
    TooLarge {
        what: String,
        limit: u64,
    },
    /// The snapshot does not list this targets role.
    NotInSnapshot(String),
    /// `.0` is not delegated by `.1`.
    NotDelegated(String, String),
    /// The repository (or the local store) does not have a file it must have.
    Missing(String),
    /// The target is in no trusted targets metadata.
    UnknownTarget(String),
    /// An update asked for out of the workflow's order.
    OutOfOrder(&'static str),
}

impl TufError {
    /// The check that failed, as traces name checks.
    pub fn check(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "tuf.metadata",
            Self::WrongType { .. } => "tuf.type",
            Self::Threshold { .. } => "tuf.signatures",
            Self::Version { .. } => "tuf.version",
            Self::Rollback { .. } | Self::Removed(_) => "tuf.rollback",
            Self::Expired { .. } => "tuf.expiry",
            Self::Length { .. } | Self::TooLarge { .. } => "tuf.length",
            Self::Hash { .. } | Self::UnknownHash { .. } => "tuf.hashes",
            Self::NotInSnapshot(_) | Self::NotDelegated(..) => "tuf.delegation",
            Self::Missing(_) => "tuf.fetch",
            Self::UnknownTarget(_) => "tuf.target",
            Self::OutOfOrder(_) => "tuf.order",
        }
    }
}

impl fmt::Display for TufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { role, reason } => write!(f, "{role} metadata is malformed: {reason}"),
            Self::WrongType { expected, found } => {
                write!(f, "expected {expected} metadata, got _type {found:?}")
            }
            Self::Threshold {
                role,
                signer,
                valid,
                threshold,
            } => write!(
                f,
                "{role} needs {threshold} valid signature(s) by keys {signer} gives it, found {valid}"
            ),
            Self::Version {
                role,
                expected,
                found,
            } => write!(f, "{role}: expected version {expected}, got {found}"),
            Self::Rollback {
                role,
                trusted,
                found,
            } => write!(
                f,
                "{role} rolled back: version {found} is older than the trusted {trusted}"
            ),
            Self::Removed(name) => write!(
                f,
                "the new snapshot no longer lists {name}, which the trusted one does"
            ),
            Self::Expired { role, expires, now } => write!(
                f,
                "{role} expired at {}, and it is now {}",
                crate::x509::chain::rfc3339(*expires),
                crate::x509::chain::rfc3339(*now)
            ),
            Self::Length {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected {expected} bytes, got {found}"),
            Self::Hash {
                what,
                algorithm,
                expected,
                found,
            } => write!(f, "{what}: expected {algorithm} {expected}, got {found}"),
            Self::UnknownHash { what, algorithm } => write!(
                f,
                "{what}: hash algorithm {algorithm:?} is unknown, expected sha256, sha384 or sha512"
            ),
            Self::TooLarge { what, limit } => {
                write!(f, "{what} is larger than its limit of {limit} bytes")
            }
            Self::NotInSnapshot(role) => {
                write!(f, "the trusted snapshot does not list {role}.json")
            }
            Self::NotDelegated(role, by) => write!(f, "{by} does not delegate to {role:?}"),
            Self::Missing(file) => write!(f, "{file} is not available"),
            Self::UnknownTarget(path) => {
                write!(f, "target {path:?} is in no trusted targets metadata")
            }
            Self::OutOfOrder(what) => write!(f, "update out of order: {what}"),
        }
    }
}

impl std::error::Error for TufError {}

/// Percent-encodes a role name or target path for a file name or URL, as
/// Python's `urllib.parse.quote(name, "")` does.
pub fn quote(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
