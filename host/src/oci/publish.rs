//! Writing images and their signatures the way cosign lays them out, to a
//! registry or a layout alike: so that tests and the demo fill both stores
//! the same way.

use std::collections::BTreeMap;

use super::layout::Layout;
use super::registry::Registry;
use super::{
    BUNDLE_MEDIA_TYPE_PREFIX, Descriptor, FetchError, IMAGE_INDEX, IMAGE_MANIFEST, Manifest,
    Platform, Reference, SIMPLE_SIGNING, digest_tag, with_tag,
};

/// The OCI empty descriptor's media type and content.
const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
const EMPTY: &[u8] = b"{}";
/// The media type of a v0.3 bundle.
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Where images are written.
pub trait Sink {
    fn put_blob(&mut self, repository: &Reference, bytes: &[u8]) -> Result<String, FetchError>;
    /// Writes a manifest, tagged with `image`'s tag if it has one.
    fn put_manifest(
        &mut self,
        image: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String, FetchError>;
}

impl Sink for Registry {
    fn put_blob(&mut self, repository: &Reference, bytes: &[u8]) -> Result<String, FetchError> {
        Registry::put_blob(self, repository, bytes)
    }

    fn put_manifest(
        &mut self,
        image: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String, FetchError> {
        Registry::put_manifest(self, image, bytes, media_type)
    }
}

impl Sink for Layout {
    fn put_blob(&mut self, _repository: &Reference, bytes: &[u8]) -> Result<String, FetchError> {
        Layout::put_blob(self, bytes)
    }

    /// Tags by the whole `registry/repository:tag`, so that one layout holds
    /// several repositories.
    fn put_manifest(
        &mut self,
        image: &Reference,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<String, FetchError> {
        let name = image
            .tag()
            .map(|tag| format!("{}/{}:{tag}", image.registry(), image.repository()));
        Layout::put_manifest(self, bytes, media_type, name.as_deref())
    }
}

fn blob(
    sink: &mut dyn Sink,
    repository: &Reference,
    media_type: &str,
    bytes: &[u8],
) -> Result<Descriptor, FetchError> {
    Ok(Descriptor {
        media_type: media_type.to_owned(),
        digest: sink.put_blob(repository, bytes)?,
        size: bytes.len() as u64,
        ..Descriptor::default()
    })
}

fn encode(manifest: &Manifest) -> Result<Vec<u8>, FetchError> {
    serde_json::to_vec(manifest).map_err(|e| FetchError::Invalid {
        what: "a manifest".to_owned(),
        reason: e.to_string(),
    })
}

fn manifest(
    sink: &mut dyn Sink,
    image: &Reference,
    manifest: &Manifest,
) -> Result<Descriptor, FetchError> {
    let bytes = encode(manifest)?;
    Ok(Descriptor {
        media_type: manifest.media_type.clone(),
        digest: sink.put_manifest(image, &bytes, &manifest.media_type)?,
        size: bytes.len() as u64,
        artifact_type: manifest.artifact_type.clone(),
        ..Descriptor::default()
    })
}

/// An image of one layer, `content`, tagged as `image`. Returns its
/// manifest's descriptor: the digest is what signatures name.
pub fn image(
    sink: &mut dyn Sink,
    image: &Reference,
    content: &[u8],
) -> Result<Descriptor, FetchError> {
    platform_image(sink, image, content, "amd64", true)
}

/// [`image`] for a Linux platform (`amd64`, `arm64`, …), as its config says;
/// untagged unless `tagged`, as an index's entries are.
fn platform_image(
    sink: &mut dyn Sink,
    image: &Reference,
    content: &[u8],
    architecture: &str,
    tagged: bool,
) -> Result<Descriptor, FetchError> {
    let config = format!(
        r#"{{"architecture":{},"os":"linux","rootfs":{{"type":"layers","diff_ids":[]}}}}"#,
        serde_json::Value::from(architecture)
    );
    let config = blob(
        sink,
        image,
        "application/vnd.oci.image.config.v1+json",
        config.as_bytes(),
    )?;
    let layer = blob(
        sink,
        image,
        "application/vnd.oci.image.layer.v1.tar",
        content,
    )?;
    let m = Manifest {
        schema_version: 2,
        media_type: IMAGE_MANIFEST.to_owned(),
        config: Some(config),
        layers: vec![layer],
        ..Manifest::default()
    };
    let bytes = encode(&m)?;
    let target = if tagged {
        image.clone()
    } else {
        super::with_digest(image, &super::sha256_digest(&bytes))
    };
    manifest(sink, &target, &m)
}

/// The descriptors of a multi-platform image.
pub struct MultiPlatform {
    pub index: Descriptor,
    /// One per architecture, in the order given.
    pub platforms: Vec<Descriptor>,
}

/// A multi-platform image: an index of one Linux manifest per architecture,
/// each holding `content` and its architecture, tagged as `image`.
pub fn multi_platform(
    sink: &mut dyn Sink,
    image: &Reference,
    content: &[u8],
    architectures: &[&str],
) -> Result<MultiPlatform, FetchError> {
    let mut platforms = Vec::new();
    for architecture in architectures {
        let mut bytes = content.to_vec();
        bytes.extend_from_slice(architecture.as_bytes());
        let mut d = platform_image(sink, image, &bytes, architecture, false)?;
        d.platform = Some(Platform {
            architecture: (*architecture).to_owned(),
            os: "linux".to_owned(),
        });
        platforms.push(d);
    }
    let index = Manifest {
        schema_version: 2,
        media_type: IMAGE_INDEX.to_owned(),
        manifests: platforms.clone(),
        ..Manifest::default()
    };
    Ok(MultiPlatform {
        index: manifest(sink, image, &index)?,
        platforms,
    })
}

/// A legacy cosign signature layer.
pub struct LegacyLayer {
    pub payload: Vec<u8>,
    pub annotations: Vec<(String, String)>,
}

/// The `sha256-<hex>.sig` image for `subject`: one layer per signature.
pub fn legacy_signatures(
    sink: &mut dyn Sink,
    image: &Reference,
    subject: &str,
    layers: &[LegacyLayer],
) -> Result<Descriptor, FetchError> {
    legacy_image(sink, image, subject, ".sig", SIMPLE_SIGNING, layers)
}

/// The `sha256-<hex>.att` image for `subject`: one DSSE envelope layer per
/// attestation, as cosign wrote attestations before bundles.
pub fn legacy_attestations(
    sink: &mut dyn Sink,
    image: &Reference,
    subject: &str,
    layers: &[LegacyLayer],
) -> Result<Descriptor, FetchError> {
    legacy_image(
        sink,
        image,
        subject,
        ".att",
        "application/vnd.dsse.envelope.v1+json",
        layers,
    )
}

fn legacy_image(
    sink: &mut dyn Sink,
    image: &Reference,
    subject: &str,
    suffix: &str,
    media_type: &str,
    layers: &[LegacyLayer],
) -> Result<Descriptor, FetchError> {
    let tag = with_tag(image, &digest_tag(subject, suffix));
    let config = blob(sink, &tag, EMPTY_MEDIA_TYPE, EMPTY)?;
    let mut descriptors = Vec::new();
    for layer in layers {
        let mut d = blob(sink, &tag, media_type, &layer.payload)?;
        d.annotations = layer
            .annotations
            .iter()
            .cloned()
            .collect::<BTreeMap<_, _>>();
        descriptors.push(d);
    }
    let m = Manifest {
        schema_version: 2,
        media_type: IMAGE_MANIFEST.to_owned(),
        config: Some(config),
        layers: descriptors,
        ..Manifest::default()
    };
    manifest(sink, &tag, &m)
}

/// A bundle as an OCI referrer of `subject`, untagged, as cosign v3 writes
/// it. Returns the referrer manifest's descriptor, for [`referrers_index`].
pub fn bundle_referrer(
    sink: &mut dyn Sink,
    image: &Reference,
    subject: &Descriptor,
    bundle: &[u8],
) -> Result<Descriptor, FetchError> {
    annotated_referrer(sink, image, subject, bundle, None)
}

/// [`bundle_referrer`] with cosign's `dev.sigstore.bundle.predicateType`
/// annotation on the manifest and the returned descriptor: the statement's
/// predicate type for an attestation.
pub fn annotated_referrer(
    sink: &mut dyn Sink,
    image: &Reference,
    subject: &Descriptor,
    bundle: &[u8],
    predicate_type: Option<&str>,
) -> Result<Descriptor, FetchError> {
    let annotations: BTreeMap<String, String> = predicate_type
        .map(|p| ("dev.sigstore.bundle.predicateType".to_owned(), p.to_owned()))
        .into_iter()
        .collect();
    debug_assert!(BUNDLE_V03.starts_with(BUNDLE_MEDIA_TYPE_PREFIX));
    let config = blob(sink, image, EMPTY_MEDIA_TYPE, EMPTY)?;
    let layer = blob(sink, image, BUNDLE_V03, bundle)?;
    let m = Manifest {
        schema_version: 2,
        media_type: IMAGE_MANIFEST.to_owned(),
        artifact_type: Some(BUNDLE_V03.to_owned()),
        config: Some(config),
        layers: vec![layer],
        subject: Some(Descriptor {
            media_type: subject.media_type.clone(),
            digest: subject.digest.clone(),
            size: subject.size,
            ..Descriptor::default()
        }),
        annotations: annotations.clone(),
        ..Manifest::default()
    };
    let untagged = super::with_digest(image, &super::sha256_digest(&encode(&m)?));
    let mut descriptor = manifest(sink, &untagged, &m)?;
    descriptor.annotations = annotations;
    Ok(descriptor)
}

/// The referrers tag (`sha256-<hex>`) of `subject`: an index of its
/// referrers, for stores without a referrers API.
pub fn referrers_index(
    sink: &mut dyn Sink,
    image: &Reference,
    subject: &str,
    referrers: &[Descriptor],
) -> Result<Descriptor, FetchError> {
    let m = Manifest {
        schema_version: 2,
        media_type: IMAGE_INDEX.to_owned(),
        manifests: referrers.to_vec(),
        ..Manifest::default()
    };
    manifest(sink, &with_tag(image, &digest_tag(subject, "")), &m)
}

/// The bundle tag (`sha256-<hex>`) of `subject`: one manifest whose layers
/// are bundles.
pub fn tag_bundles(
    sink: &mut dyn Sink,
    image: &Reference,
    subject: &str,
    bundles: &[Vec<u8>],
) -> Result<Descriptor, FetchError> {
    let tag = with_tag(image, &digest_tag(subject, ""));
    let config = blob(sink, &tag, EMPTY_MEDIA_TYPE, EMPTY)?;
    let mut layers = Vec::new();
    for bundle in bundles {
        layers.push(blob(sink, &tag, BUNDLE_V03, bundle)?);
    }
    let m = Manifest {
        schema_version: 2,
        media_type: IMAGE_MANIFEST.to_owned(),
        config: Some(config),
        layers,
        ..Manifest::default()
    };
    manifest(sink, &tag, &m)
}
