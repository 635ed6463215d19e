//! An image's SBOM, trusted only once verified: an SPDX or CycloneDX
//! attestation about its digest, signed for the rule it matches (by the
//! signer and under the conditions of the rule's own SBOM entry, when it
//! has one), read into packages; and the packages OSV advisories affect.

use super::attestations;
use super::bundle::{KeyLog, Signer};
use super::{Signature, VerifyError};
use crate::advisory::{self, Advisory, Finding};
use crate::policy::attestation::Requirement;
use crate::policy::{Policy, RuleKind};
use crate::reference::DigestAlgorithm;
use crate::sbom::{self, Package};
use crate::trust_root::TrustedRoot;

/// A verified SBOM.
#[derive(Clone, Debug)]
pub struct Sbom {
    pub predicate_type: String,
    pub packages: Vec<Package>,
}

/// Why no SBOM could be given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SbomError {
    /// The reference or the limits: as `verify` reports them.
    Verify(VerifyError),
    /// No verified SBOM: why.
    Unverified(String),
}

impl std::fmt::Display for SbomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Verify(e) => e.fmt(f),
            Self::Unverified(e) => f.write_str(e),
        }
    }
}

/// The SBOM of `image` (by digest) among `attestations`, verified as its
/// rule demands, at `now`.
pub fn verified(
    policy: &Policy,
    image: &str,
    attestations: &[Signature],
    root: &TrustedRoot,
    now: i64,
) -> Result<Sbom, SbomError> {
    let matched = policy.match_image(image).map_err(|error| {
        SbomError::Verify(VerifyError::InvalidReference {
            image: image.to_owned(),
            error,
        })
    })?;
    let rule = matched.rule.and_then(|i| policy.rule(i));
    let signer = match rule.map(|r| &r.kind) {
        Some(RuleKind::Keyless(identity)) => Signer::Keyless(identity),
        Some(RuleKind::PublicKey(key)) => Signer::Key(&key.key, KeyLog::IfPresent),
        _ => {
            return Err(SbomError::Unverified(format!(
                "`{}` matches no verify rule: an SBOM is verified for the signer its rule names",
                matched.reference.repository()
            )));
        }
    };
    let digest = matched
        .reference
        .digest()
        .filter(|d| d.algorithm() == DigestAlgorithm::Sha256)
        .and_then(|d| crate::hex::decode_array::<32>(d.hex()))
        .ok_or_else(|| {
            SbomError::Verify(VerifyError::MissingDigest {
                image: image.to_owned(),
            })
        })?;
    if attestations.len() > crate::limits::SIGNATURES {
        return Err(SbomError::Verify(VerifyError::LimitExceeded {
            what: "attestations",
            count: attestations.len(),
            max: crate::limits::SIGNATURES,
        }));
    }
    // The rule's own SBOM entries first, then either format for its signer.
    let mut candidates: Vec<Requirement> = rule
        .map(|r| {
            r.attestations
                .iter()
                .filter(|a| sbom::is_sbom(&a.predicate_type))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for format in [sbom::SPDX, sbom::CYCLONEDX] {
        if !candidates.iter().any(|c| c.predicate_type == format) {
            candidates.push(Requirement {
                predicate_type: format.to_owned(),
                signer: None,
                require: Vec::new(),
                deny: Vec::new(),
                max_age: None,
            });
        }
    }
    let mut offered = attestations::Offered::new(attestations, digest, signer, root);
    let mut reasons = Vec::new();
    for requirement in &candidates {
        let met = attestations::check(
            std::slice::from_ref(requirement),
            &mut offered,
            Some(now),
            &mut Vec::new(),
        );
        match met {
            Ok(mut met) => {
                let Some(attested) = met.pop() else { continue };
                let packages = sbom::packages(&attested.predicate_type, &attested.predicate)
                    .map_err(SbomError::Unverified)?;
                return Ok(Sbom {
                    predicate_type: attested.predicate_type,
                    packages,
                });
            }
            Err(e) => reasons.push(e.replacen("attestation[0] ", "", 1)),
        }
    }
    Err(SbomError::Unverified(format!(
        "no SBOM verifies: {}",
        reasons.join("; ")
    )))
}

/// The packages of the verified SBOM that `advisories` (OSV JSON) affect.
pub fn affected(
    policy: &Policy,
    image: &str,
    attestations: &[Signature],
    root: &TrustedRoot,
    now: i64,
    advisories: &[&[u8]],
) -> Result<Vec<Finding>, SbomError> {
    if advisories.len() > crate::limits::ADVISORIES {
        return Err(SbomError::Verify(VerifyError::LimitExceeded {
            what: "advisories",
            count: advisories.len(),
            max: crate::limits::ADVISORIES,
        }));
    }
    let parsed = advisories
        .iter()
        .enumerate()
        .map(|(i, json)| {
            Advisory::parse(json).map_err(|e| SbomError::Unverified(format!("advisory {i}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sbom = verified(policy, image, attestations, root, now)?;
    Ok(advisory::affected(&sbom.packages, &parsed))
}
