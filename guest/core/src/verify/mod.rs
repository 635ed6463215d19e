//! The verify operation: from a policy, a digested image and the signatures a
//! host fetched for it, to a decision.

pub mod bundle;

use std::fmt;

use crate::decision::{self, Action, Check, Decision, Outcome};
use crate::limits;
use crate::policy::Policy;
use crate::reference::ReferenceError;
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
/// rule needs the image pinned by digest.
pub fn verify(
    policy: &Policy,
    image: &str,
    signatures: &[Signature],
    _root: &TrustedRoot,
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
    if matched.reference.digest().is_none() {
        return Err(VerifyError::MissingDigest {
            image: image.to_owned(),
        });
    }
    if signatures.len() > limits::SIGNATURES {
        return Err(VerifyError::LimitExceeded {
            what: "signatures",
            count: signatures.len(),
            max: limits::SIGNATURES,
        });
    }
    Err(VerifyError::NotImplemented(
        "signature verification arrives with the bundle and legacy-signature checks",
    ))
}
