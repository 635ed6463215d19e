//! The order in which an image's signatures are looked for (SPEC §3), the
//! same for every store: bundle referrers, then the `sha256-<hex>` bundle
//! tag, then the legacy `sha256-<hex>.sig` tag. The next source is tried
//! only when one has nothing; any other failure refuses the image.

use super::{
    BUNDLE_MEDIA_TYPE_PREFIX, Descriptor, FetchError, Manifest, Reference, SIMPLE_SIGNING, Store,
    Wanted, digest_tag, limits, with_digest, with_tag, within,
};
use crate::runtime::{Check, LegacySignature, Outcome, Signature, document};

/// The signatures found for one digest, and how they were found.
#[derive(Debug, Default)]
pub struct Found {
    pub signatures: Vec<Signature>,
    pub trace: Vec<Check>,
}

/// The failure that stopped the search, and the trace up to it.
#[derive(Debug)]
pub struct Failed {
    pub check: &'static str,
    pub error: FetchError,
    pub trace: Vec<Check>,
}

/// The requests the search for `image`'s signatures at `digest` makes
/// whatever they answer, and its search for attestations too when
/// `attestations`: each source needs only the digest, so a store may fetch
/// them together ([`Store::prefetch`]); the order in which their answers are
/// read stays the one above.
pub fn sources(image: &Reference, digest: &str, attestations: bool) -> Vec<Wanted> {
    let mut wanted = vec![
        Wanted::Referrers(with_digest(image, digest)),
        Wanted::Manifest(with_tag(image, &digest_tag(digest, ""))),
        Wanted::Manifest(with_tag(image, &digest_tag(digest, ".sig"))),
    ];
    if attestations {
        wanted.push(Wanted::Manifest(with_tag(
            image,
            &digest_tag(digest, ".att"),
        )));
    }
    wanted
}

/// Finds the signatures of `image` at `digest` in `store`.
pub fn signatures(store: &mut dyn Store, image: &Reference, digest: &str) -> Result<Found, Failed> {
    store.prefetch(&sources(image, digest, false));
    let mut found = Found::default();
    let step = |found: &mut Found,
                check: &'static str,
                result: Result<Option<Vec<Signature>>, FetchError>|
     -> Result<bool, Failed> {
        match result {
            Ok(Some(signatures)) if !signatures.is_empty() => {
                found.trace.push(passed(
                    check,
                    format!("{} signature(s) found", signatures.len()),
                ));
                found.signatures = signatures;
                Ok(true)
            }
            Ok(_) | Err(FetchError::NotFound(_)) => {
                found.trace.push(Check {
                    name: check.to_owned(),
                    outcome: Outcome::Skipped,
                    detail: "none found".to_owned(),
                });
                Ok(false)
            }
            Err(error) => {
                let mut trace = std::mem::take(&mut found.trace);
                trace.push(Check {
                    name: check.to_owned(),
                    outcome: Outcome::Failed,
                    detail: error.to_string(),
                });
                Err(Failed {
                    check,
                    error,
                    trace,
                })
            }
        }
    };
    let subject = with_digest(image, digest);
    if step(
        &mut found,
        "fetch.referrers",
        referrer_bundles(store, &subject, Kind::Signatures),
    )? {
        return Ok(found);
    }
    let tag = with_tag(image, &digest_tag(digest, ""));
    if step(
        &mut found,
        "fetch.bundle-tag",
        tag_bundles(store, &tag, limits::BLOB_BYTES),
    )? {
        return Ok(found);
    }
    let tag = with_tag(image, &digest_tag(digest, ".sig"));
    step(
        &mut found,
        "fetch.legacy-tag",
        legacy_layers(store, &tag, SIMPLE_SIGNING, limits::BLOB_BYTES),
    )?;
    Ok(found)
}

fn passed(name: &str, detail: String) -> Check {
    Check {
        name: name.to_owned(),
        outcome: Outcome::Passed,
        detail,
    }
}

fn is_bundle(media_type: Option<&str>) -> bool {
    media_type.is_some_and(|t| t.starts_with(BUNDLE_MEDIA_TYPE_PREFIX))
}

/// Which bundles a search is for. The referrer's `predicateType`
/// annotation (unsigned) only narrows the search; the component tells
/// signatures from attestations by their signed content.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Signatures,
    Attestations,
}

/// The annotation cosign puts on a bundle referrer: the statement's
/// predicate type, or cosign's signature predicate.
const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
const SIGNATURE_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";
/// The media type of a legacy `.att` layer: a DSSE envelope.
const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";

fn wanted(kind: Kind, descriptor: &Descriptor) -> bool {
    let predicate = descriptor.annotations.get(PREDICATE_TYPE_ANNOTATION);
    match kind {
        Kind::Signatures => predicate.is_none_or(|p| p == SIGNATURE_PREDICATE),
        Kind::Attestations => predicate.is_none_or(|p| p != SIGNATURE_PREDICATE),
    }
}

/// What one source gave: its bundles or layers, or none.
type Searched = Result<Option<Vec<Signature>>, FetchError>;

/// Finds the attestations of `image` at `digest`: every bundle referrer not
/// annotated as a signature, the bundles of the `sha256-<hex>` tag and the
/// DSSE layers of the legacy `sha256-<hex>.att` tag, together. A source
/// that is missing has none; any other failure refuses the image.
pub fn attestations(
    store: &mut dyn Store,
    image: &Reference,
    digest: &str,
) -> Result<Found, Failed> {
    let subject = with_digest(image, digest);
    let tag = with_tag(image, &digest_tag(digest, ""));
    let legacy = with_tag(image, &digest_tag(digest, ".att"));
    // What a caller prefetched with the signature sources is not asked again.
    store.prefetch(&[
        Wanted::Referrers(subject.clone()),
        Wanted::Manifest(tag.clone()),
        Wanted::Manifest(legacy.clone()),
    ]);
    let mut found = Found::default();
    let sources: [(&'static str, Searched); 3] = [
        (
            "fetch.attestation-referrers",
            referrer_bundles(store, &subject, Kind::Attestations),
        ),
        (
            "fetch.attestation-tag",
            tag_bundles(store, &tag, limits::ATTESTATION_BYTES),
        ),
        (
            "fetch.legacy-attestations",
            legacy_layers(store, &legacy, DSSE_ENVELOPE, limits::ATTESTATION_BYTES),
        ),
    ];
    for (check, result) in sources {
        match result {
            Ok(Some(list)) if !list.is_empty() => {
                found.trace.push(passed(
                    check,
                    format!("{} bundle(s) or layer(s) found", list.len()),
                ));
                found.signatures.extend(list);
            }
            Ok(_) | Err(FetchError::NotFound(_)) => found.trace.push(Check {
                name: check.to_owned(),
                outcome: Outcome::Skipped,
                detail: "none found".to_owned(),
            }),
            Err(error) => {
                let mut trace = std::mem::take(&mut found.trace);
                trace.push(Check {
                    name: check.to_owned(),
                    outcome: Outcome::Failed,
                    detail: error.to_string(),
                });
                return Err(Failed {
                    check,
                    error,
                    trace,
                });
            }
        }
    }
    if found.signatures.len() > limits::SIGNATURES {
        let count = found.signatures.len();
        return Err(Failed {
            check: "fetch.attestations",
            error: FetchError::TooMany {
                what: "attestations".to_owned(),
                count,
                max: limits::SIGNATURES,
            },
            trace: found.trace,
        });
    }
    Ok(found)
}

/// Referrers with a bundle artifact type, each a manifest with the bundle
/// as its layer. Without a referrers API, the referrers tag's index is read.
fn referrer_bundles(
    store: &mut dyn Store,
    subject: &Reference,
    kind: Kind,
) -> Result<Option<Vec<Signature>>, FetchError> {
    let digest = subject.digest().unwrap_or_default().to_owned();
    let referrers = match store.referrers(subject)? {
        Some(list) => list,
        None => {
            let tag = with_tag(subject, &digest_tag(&digest, ""));
            match store.manifest(&tag) {
                Ok((bytes, _)) => {
                    let index = Manifest::parse(&bytes, "the referrers index")?;
                    if !index.is_index() {
                        return Ok(None);
                    }
                    index.manifests
                }
                Err(FetchError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    };
    let bundles: Vec<&Descriptor> = referrers
        .iter()
        .filter(|d| is_bundle(d.artifact_type.as_deref()) && wanted(kind, d))
        .collect();
    if bundles.len() > limits::SIGNATURES {
        return Err(FetchError::TooMany {
            what: "bundle referrers".to_owned(),
            count: bundles.len(),
            max: limits::SIGNATURES,
        });
    }
    let mut out = Vec::new();
    for descriptor in bundles {
        let what = format!("referrer {}", descriptor.digest);
        within(&what, descriptor.size, limits::MANIFEST_BYTES)?;
        let (bytes, _) = store.manifest(&with_digest(subject, &descriptor.digest))?;
        let manifest = Manifest::parse(&bytes, &what)?;
        if manifest.subject.as_ref().map(|s| s.digest.as_str()) != Some(digest.as_str()) {
            return Err(FetchError::Invalid {
                what,
                reason: format!("expected its subject to be {digest}"),
            });
        }
        let Some(layer) = manifest
            .layers
            .iter()
            .find(|l| is_bundle(Some(&l.media_type)))
        else {
            return Err(FetchError::Invalid {
                what,
                reason: "no bundle layer".to_owned(),
            });
        };
        let max = match kind {
            Kind::Signatures => limits::BLOB_BYTES,
            Kind::Attestations => limits::ATTESTATION_BYTES,
        };
        let bundle = store.blob(subject, layer, max)?;
        out.push(Signature::ReferrerBundle((
            descriptor.digest.clone(),
            document(bundle),
        )));
    }
    Ok(Some(out))
}

/// The bundle tag: an image manifest whose layers are bundles. An index
/// there is the referrers tag, already read.
fn tag_bundles(
    store: &mut dyn Store,
    tag: &Reference,
    max: u64,
) -> Result<Option<Vec<Signature>>, FetchError> {
    let (bytes, _) = store.manifest(tag)?;
    let manifest = Manifest::parse(&bytes, "the bundle tag's manifest")?;
    if manifest.is_index() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for layer in manifest
        .layers
        .iter()
        .filter(|l| is_bundle(Some(&l.media_type)))
    {
        let bundle = store.blob(tag, layer, max)?;
        out.push(Signature::TagBundle(document(bundle)));
    }
    Ok(Some(out))
}

/// A legacy tag: one layer of `media_type` per signature (simple-signing
/// on `.sig`) or attestation (DSSE envelopes on `.att`); other layers are
/// attachments.
fn legacy_layers(
    store: &mut dyn Store,
    tag: &Reference,
    media_type: &str,
    max: u64,
) -> Result<Option<Vec<Signature>>, FetchError> {
    let (bytes, _) = store.manifest(tag)?;
    let what = if media_type == SIMPLE_SIGNING {
        "the signature tag's manifest"
    } else {
        "the attestation tag's manifest"
    };
    let manifest = Manifest::parse(&bytes, what)?;
    let mut out = Vec::new();
    for layer in manifest
        .layers
        .iter()
        .filter(|l| l.media_type == media_type)
    {
        let payload = store.blob(tag, layer, max)?;
        out.push(Signature::Legacy(LegacySignature {
            payload: document(payload),
            annotations: layer
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }));
    }
    Ok(Some(out))
}
