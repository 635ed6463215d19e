//! The verify operation: from a policy, a digested image and the signatures a
//! host fetched for it, to a decision.

pub mod advisories;
pub mod attestation;
pub mod attestations;
pub mod bundle;
pub mod legacy;
pub mod legacy_attestation;
pub mod sbom;

use std::fmt;

use crate::decision::{self, Action, Check, Decision, Outcome};
use crate::hex;
use crate::limits;
use crate::policy::{Policy, RuleKind};
use crate::reference::{Digest, DigestAlgorithm, ReferenceError};
use crate::trust_root::TrustedRoot;

/// A signature as a host found it, with the place it came from.
#[derive(Clone, Debug)]
pub enum Signature {
    /// A Sigstore bundle from an OCI referrer, with the referrer manifest digest.
    ReferrerBundle {
        manifest_digest: String,
        bundle: Vec<u8>,
    },
    /// A Sigstore bundle from the `sha256-<hex>` tag.
    TagBundle(Vec<u8>),
    /// A legacy cosign layer from the `sha256-<hex>.sig` tag.
    Legacy {
        payload: Vec<u8>,
        annotations: Vec<(String, String)>,
    },
}

/// Why no decision could be made. A caller must refuse the image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifyError {
    InvalidReference {
        image: String,
        error: ReferenceError,
    },
    MissingDigest {
        image: String,
    },
    LimitExceeded {
        what: &'static str,
        count: usize,
        max: usize,
    },
    NotImplemented(&'static str),
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidReference { image, error } => {
                write!(f, "invalid image reference `{image}`: {error}")
            }
            Self::MissingDigest { image } => write!(
                f,
                "image `{image}` must be verified by digest: resolve its tag to a digest first"
            ),
            Self::LimitExceeded { what, count, max } => {
                write!(f, "{count} {what}, at most {max} allowed")
            }
            Self::NotImplemented(what) => write!(f, "not implemented: {what}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Decides on one image. Skip, deny and no match need no signatures; a verify
/// rule needs the image pinned by digest. A rule that requires attestations
/// is refused here: see [`verify_attested`].
pub fn verify(
    policy: &Policy,
    image: &str,
    signatures: &[Signature],
    root: &TrustedRoot,
) -> Result<Decision, VerifyError> {
    verify_attested(policy, image, signatures, &[], root, None)
}

/// [`verify`], and then, when the matched rule requires attestations, each
/// of them from `attestations` (found as signatures are, and told apart by
/// their content), at `now` (seconds since the epoch) for `maxAge`. A rule
/// that gates on advisories is refused here: see [`verify_with_advisories`].
pub fn verify_attested(
    policy: &Policy,
    image: &str,
    signatures: &[Signature],
    attestations: &[Signature],
    root: &TrustedRoot,
    now: Option<i64>,
) -> Result<Decision, VerifyError> {
    decide(policy, image, signatures, attestations, root, now, None)
}

/// [`verify_attested`], and then, when the matched rule gates on
/// advisories, its verified SBOM against `advisories` (OSV JSON, each
/// record the host holds now that may affect it).
pub fn verify_with_advisories(
    policy: &Policy,
    image: &str,
    signatures: &[Signature],
    attestations: &[Signature],
    root: &TrustedRoot,
    now: i64,
    advisories: &[&[u8]],
) -> Result<Decision, VerifyError> {
    if advisories.len() > limits::ADVISORIES {
        return Err(VerifyError::LimitExceeded {
            what: "advisories",
            count: advisories.len(),
            max: limits::ADVISORIES,
        });
    }
    let given = Some(advisories);
    decide(
        policy,
        image,
        signatures,
        attestations,
        root,
        Some(now),
        given,
    )
}

fn decide(
    policy: &Policy,
    image: &str,
    signatures: &[Signature],
    attestations: &[Signature],
    root: &TrustedRoot,
    now: Option<i64>,
    advisories: Option<&[&[u8]]>,
) -> Result<Decision, VerifyError> {
    let matched = policy
        .match_image(image)
        .map_err(|error| VerifyError::InvalidReference {
            image: image.to_owned(),
            error,
        })?;
    let match_check = Check::new(
        "policy.match",
        Outcome::Passed,
        match matched.rule {
            Some(i) => format!(
                "`{}` matched rule {} ({})",
                matched.reference.repository(),
                decision::rule_label(i),
                matched.action
            ),
            None => format!("`{}` matched no rule", matched.reference.repository()),
        },
    );
    if let Some(message) = matched.message() {
        return Ok(Decision {
            allowed: decision::allows_unverified(matched.action),
            verified: false,
            rule: matched.rule,
            action: matched.action,
            reference: matched.reference.to_string(),
            message,
            trace: vec![match_check],
        });
    }
    debug_assert_eq!(matched.action, Action::Verify);
    for (what, list) in [("signatures", signatures), ("attestations", attestations)] {
        if list.len() > limits::SIGNATURES {
            return Err(VerifyError::LimitExceeded {
                what,
                count: list.len(),
                max: limits::SIGNATURES,
            });
        }
    }
    let rule = matched.rule.and_then(|i| policy.rule(i));
    let signer = match rule.map(|r| &r.kind) {
        Some(RuleKind::Keyless(identity)) => bundle::Signer::Keyless(identity),
        Some(RuleKind::PublicKey(key)) => bundle::Signer::Key(&key.key, bundle::KeyLog::IfPresent),
        _ => {
            return Err(VerifyError::NotImplemented(
                "a verify rule without a verifier",
            ));
        }
    };
    let requirements = rule.map_or(&[][..], |r| r.attestations.as_slice());
    let gate = rule.and_then(|r| r.advisories.as_ref());
    let digested = match matched.reference.digest() {
        Some(digest) => matched.reference.with_digest(digest.clone()),
        None => {
            return Err(VerifyError::MissingDigest {
                image: image.to_owned(),
            });
        }
    };
    let mut decision = Decision {
        allowed: false,
        verified: false,
        rule: matched.rule,
        action: Action::Verify,
        reference: digested.to_string(),
        message: String::new(),
        trace: vec![match_check],
    };
    let artifact = digested
        .digest()
        .filter(|d| d.algorithm() == DigestAlgorithm::Sha256)
        .and_then(|d| crate::hex::decode_array::<32>(d.hex()));
    let Some(artifact) = artifact else {
        decision.message =
            "image verification failed: signatures are checked against sha256 image digests only"
                .to_owned();
        return Ok(decision);
    };

    let image_digest = format!("sha256:{}", hex::encode(&artifact));

    // Referrers, when there are any, are the only signatures tried (SPEC §3).
    let referrers = signatures
        .iter()
        .any(|s| matches!(s, Signature::ReferrerBundle { .. }));
    let mut reasons = Vec::new();
    for (index, signature) in signatures.iter().enumerate() {
        if referrers && !matches!(signature, Signature::ReferrerBundle { .. }) {
            continue;
        }
        let mut trace = Vec::new();
        let result = match signature {
            Signature::ReferrerBundle {
                manifest_digest,
                bundle,
            } => Digest::parse(manifest_digest)
                .map_err(|e| bundle::Failure {
                    check: "referrer",
                    message: format!("referrer manifest digest: {e}"),
                })
                .and_then(|digest| {
                    signature_bundle(bundle, artifact, signer, root, &mut trace)
                        .map(|()| format!("verified via bundle referrer with digest {digest}"))
                }),
            Signature::TagBundle(bundle) => {
                signature_bundle(bundle, artifact, signer, root, &mut trace)
                    .map(|()| "verified via bundle".to_owned())
            }
            Signature::Legacy {
                payload,
                annotations,
            } => legacy::verify(
                payload,
                annotations,
                &image_digest,
                signer,
                root,
                &mut trace,
            )
            .map(|set| format!("verified via legacy signature (bundle verified {set})")),
        };
        decision.trace.extend(trace.into_iter().map(|mut c| {
            c.name = format!("signature[{index}].{}", c.name);
            c
        }));
        match result {
            Ok(success) => {
                decision.verified = true;
                let mut offered = attestations::Offered::new(attestations, artifact, signer, root);
                let checked =
                    attestations::check(requirements, &mut offered, now, &mut decision.trace);
                let gated = checked.and_then(|met| match (gate, advisories) {
                    (None, _) => Ok(()),
                    (Some(gate), Some(given)) => {
                        let checked = advisories::check(gate, &met, given);
                        let (outcome, detail) = match &checked {
                            Ok(detail) => (Outcome::Passed, detail.clone()),
                            Err(refusal) => (Outcome::Failed, refusal.to_string()),
                        };
                        decision
                            .trace
                            .push(Check::new("advisories", outcome, detail));
                        checked.map(|_| ()).map_err(|r| format!("advisories: {r}"))
                    }
                    (Some(_), None) => {
                        let detail = "the rule gates on advisories (sigward's `advisories`), \
                                      and this host gave none: it must pass the advisories \
                                      it holds (verify-with-advisories)";
                        decision.trace.push(Check::new(
                            "advisories",
                            Outcome::Failed,
                            detail.to_owned(),
                        ));
                        Err(format!("advisories: {detail}"))
                    }
                });
                match gated {
                    Ok(()) => {
                        decision.allowed = true;
                        decision.message = success;
                    }
                    Err(unmet) => {
                        decision.message = format!("image verification failed: {unmet}");
                    }
                }
                return Ok(decision);
            }
            Err(failure) => {
                decision.trace.push(Check::new(
                    &format!("signature[{index}].{}", failure.check),
                    Outcome::Failed,
                    failure.message.clone(),
                ));
                reasons.push(format!("signature {index}: {failure}"));
            }
        }
    }
    if reasons.is_empty() {
        reasons.push("no signatures found".to_owned());
    }
    decision.message = format!("image verification failed: {}", reasons.join("; "));
    Ok(decision)
}

/// A bundle offered as a signature: parsed, told apart from an attestation,
/// then verified over the image digest.
fn signature_bundle(
    json: &[u8],
    digest: [u8; 32],
    signer: bundle::Signer<'_>,
    root: &TrustedRoot,
    trace: &mut Vec<Check>,
) -> Result<(), bundle::Failure> {
    let parsed = crate::bundle::Bundle::parse(json).map_err(|e| bundle::Failure {
        check: "bundle",
        message: e.to_string(),
    })?;
    trace.push(Check::new(
        "bundle",
        Outcome::Passed,
        format!("{:?} bundle parsed", parsed.version),
    ));
    attestation::is_signature(&parsed)?;
    bundle::verify(
        &parsed,
        bundle::Artifact::Digest(digest),
        signer,
        root,
        trace,
    )
}
