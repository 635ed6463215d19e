//! Finding an image's signatures in OCI storage: a registry over the
//! distribution API, or an OCI image layout directory. Everything read is
//! untrusted: sizes and counts are capped before anything is kept, and every
//! blob and manifest fetched by digest is checked against that digest.
//!
//! The component verifies; this module only fetches.

pub mod discover;
pub mod layout;
pub mod publish;
pub mod registry;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub use oci_client::Reference;

/// An OCI image manifest.
pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// A Docker v2 manifest, which cosign writes for `.sig` images.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// A Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Every Sigstore bundle media type starts so.
pub const BUNDLE_MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
/// The media type of a legacy cosign signature layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The media types accepted for a manifest.
pub const MANIFEST_TYPES: &[&str] = &[
    IMAGE_MANIFEST,
    IMAGE_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// SPEC §5 limits on what is fetched.
pub mod limits {
    /// A manifest or index, in bytes.
    pub const MANIFEST_BYTES: u64 = 128 * 1024;
    /// A bundle or a legacy payload, in bytes.
    pub const BLOB_BYTES: u64 = 1024 * 1024;
    /// A bundle or layer found as an attestation: it may carry an SBOM (the
    /// component's own limit is the same).
    pub const ATTESTATION_BYTES: u64 = 16 * 1024 * 1024;
    /// Signature layers, referrers or index entries read for one image.
    pub const SIGNATURES: usize = 100;
    /// Tags listed for one repository (`sigward inventory scan`), and per
    /// page of `tags/list`, and one page's bytes.
    pub const TAGS: usize = 10_000;
    pub const TAGS_PAGE: usize = 1_000;
    pub const TAGS_PAGE_BYTES: u64 = 1024 * 1024;
}

/// A content descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// In an index: the platform the manifest runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// An index entry's platform.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
}

/// An image manifest or an index: the fields sigward reads.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Manifest {
    /// Parses a manifest already held to [`limits::MANIFEST_BYTES`], and
    /// bounds its lists.
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, FetchError> {
        let manifest: Self = serde_json::from_slice(bytes).map_err(|e| FetchError::Invalid {
            what: what.to_owned(),
            reason: format!("not an OCI manifest: {e}"),
        })?;
        let count = manifest.layers.len().max(manifest.manifests.len());
        if count > limits::SIGNATURES {
            return Err(FetchError::TooMany {
                what: format!("entries in {what}"),
                count,
                max: limits::SIGNATURES,
            });
        }
        Ok(manifest)
    }

    /// Whether this is an index rather than an image manifest.
    pub fn is_index(&self) -> bool {
        matches!(self.media_type.as_str(), IMAGE_INDEX | DOCKER_MANIFEST_LIST)
            || (self.media_type.is_empty() && !self.manifests.is_empty())
    }
}

/// Why something could not be fetched. Every one refuses the image, except
/// [`FetchError::NotFound`], which moves on to the next source (SPEC §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    NotFound(String),
    TooLarge {
        what: String,
        size: u64,
        max: u64,
    },
    TooMany {
        what: String,
        count: usize,
        max: usize,
    },
    DigestMismatch {
        what: String,
        expected: String,
        found: String,
    },
    Invalid {
        what: String,
        reason: String,
    },
    /// The store could not be reached or refused to answer: network, timeout,
    /// authentication, server errors.
    Unavailable {
        what: String,
        reason: String,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound(what) => write!(f, "{what} not found"),
            Self::TooLarge { what, size, max } => {
                write!(f, "{what} is {size} bytes, at most {max} allowed")
            }
            Self::TooMany { what, count, max } => {
                write!(f, "{count} {what}, at most {max} allowed")
            }
            Self::DigestMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected digest {expected}, got {found}"),
            Self::Invalid { what, reason } => write!(f, "{what}: {reason}"),
            Self::Unavailable { what, reason } => write!(f, "cannot fetch {what}: {reason}"),
        }
    }
}

impl std::error::Error for FetchError {}

/// A request [`Store::prefetch`] makes ahead.
#[derive(Clone, Debug)]
pub enum Wanted {
    /// [`Store::manifest`] of this tag or digest.
    Manifest(Reference),
    /// [`Store::referrers`] of this digest reference.
    Referrers(Reference),
}

/// Where manifests and blobs come from.
pub trait Store {
    /// Starts the clock of a new image: a store with deadlines bounds all of
    /// one image's requests together from here.
    fn start_image(&mut self) {}

    /// Bounds every request from now on by `deadline` too (an admission
    /// request's time budget), or lifts that bound.
    fn set_deadline(&mut self, _deadline: Option<std::time::Instant>) {}

    /// Fetches together, ahead of the calls that read them, requests one
    /// image's search will make whatever they answer (its signature sources,
    /// each of which needs only the digest). The answers, failures included,
    /// are kept until the next [`Store::start_image`] and given to the calls
    /// that ask for the same thing; a store that gains nothing from it does
    /// nothing.
    fn prefetch(&mut self, _wanted: &[Wanted]) {}

    /// The digest (`sha256:<hex>`) that a tag or digest reference names.
    fn resolve(&mut self, image: &Reference) -> Result<String, FetchError>;

    /// A manifest by tag or digest, at most [`limits::MANIFEST_BYTES`], with
    /// its digest. One fetched by digest has been checked against it.
    fn manifest(&mut self, image: &Reference) -> Result<(Vec<u8>, String), FetchError>;

    /// A blob of `repository`, at most `max` bytes, checked against its digest.
    fn blob(
        &mut self,
        repository: &Reference,
        descriptor: &Descriptor,
        max: u64,
    ) -> Result<Vec<u8>, FetchError>;

    /// The referrers of `subject` (a digest reference). `None` when the
    /// store has no referrers API, so the caller reads the referrers tag.
    fn referrers(&mut self, subject: &Reference) -> Result<Option<Vec<Descriptor>>, FetchError>;

    /// Every tag of `repository`, sorted, at most [`limits::TAGS`]
    /// (signature and attestation tags included; the caller filters).
    fn tags(&mut self, repository: &Reference) -> Result<Vec<String>, FetchError>;
}

/// An error with its causes (connection refused, TLS), as one line.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut reason = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    reason
}

/// Refuses `size` bytes of `what` when more than `max` are allowed.
pub fn within(what: &str, size: u64, max: u64) -> Result<(), FetchError> {
    if size > max {
        return Err(FetchError::TooLarge {
            what: what.to_owned(),
            size,
            max,
        });
    }
    Ok(())
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Checks `bytes` against `digest`; only sha256 digests are accepted.
pub fn check_digest(what: &str, bytes: &[u8], digest: &str) -> Result<(), FetchError> {
    if !digest.starts_with("sha256:") {
        return Err(FetchError::Invalid {
            what: what.to_owned(),
            reason: format!("only sha256 digests are supported, got {digest}"),
        });
    }
    let found = sha256_digest(bytes);
    if found != digest {
        return Err(FetchError::DigestMismatch {
            what: what.to_owned(),
            expected: digest.to_owned(),
            found,
        });
    }
    Ok(())
}

/// The tag a digest's signatures hang from: `sha256:<hex>` → `sha256-<hex>`
/// plus `suffix`.
pub fn digest_tag(digest: &str, suffix: &str) -> String {
    format!("{}{suffix}", digest.replacen(':', "-", 1))
}

/// `image` with `tag` in place of its tag or digest.
pub fn with_tag(image: &Reference, tag: &str) -> Reference {
    Reference::with_tag(
        image.registry().to_owned(),
        image.repository().to_owned(),
        tag.to_owned(),
    )
}

/// `image` pinned to `digest`.
pub fn with_digest(image: &Reference, digest: &str) -> Reference {
    Reference::with_digest(
        image.registry().to_owned(),
        image.repository().to_owned(),
        digest.to_owned(),
    )
}

/// `registry/repository@digest`: the digested reference a decision names.
pub fn digested_name(image: &Reference, digest: &str) -> String {
    format!("{}/{}@{digest}", image.registry(), image.repository())
}
