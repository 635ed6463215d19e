//! Attestations: a Sigstore bundle whose DSSE envelope holds an in-toto
//! statement. It is verified as a bundle signature is (certificate or key,
//! log, SET or proof, identity), its statement must name the image's digest
//! among its subjects, and its predicate type and predicate are then read.
//!
//! A bundle is a signature or an attestation, never both: a message
//! signature, or a DSSE statement of cosign's signature predicate type, is
//! a signature; a DSSE statement of any other predicate type is an
//! attestation.

use serde_json::Value;

use super::bundle::{self, Artifact, Failure, Signer, Thresholds, fail};
use crate::bundle::{Bundle, Content};
use crate::decision::Check;
use crate::limits;
use crate::policy::attestation::SIGNATURE_PREDICATE;
use crate::trust_root::TrustedRoot;

/// A verified attestation.
#[derive(Clone, Debug)]
pub struct Attested {
    pub predicate_type: String,
    pub predicate: Value,
    /// The earliest verified signing time; none for a key bundle without one.
    pub signed_at: Option<i64>,
}

/// What a bundle holds, read without verifying it: the predicate type of a
/// DSSE statement (empty when it names none), or none for a message
/// signature or a payload that is not a JSON object. Used to keep
/// attestations out of the signature search and the reverse.
pub fn statement_type(bundle: &Bundle) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Typed {
        #[serde(rename = "predicateType", default)]
        predicate_type: Option<String>,
    }
    let Content::Dsse(envelope) = &bundle.content else {
        return None;
    };
    let typed: Typed = serde_json::from_slice(&envelope.payload).ok()?;
    Some(typed.predicate_type.unwrap_or_default())
}

/// Whether a bundle may count as a signature.
pub fn is_signature(bundle: &Bundle) -> Result<(), Failure> {
    match statement_type(bundle) {
        None => Ok(()),
        Some(t) if t == SIGNATURE_PREDICATE => Ok(()),
        Some(t) => fail(
            "signature.kind",
            format!(
                "expected a signature (a message signature or predicate type {SIGNATURE_PREDICATE}), \
                 the bundle is an attestation of predicate type {t:?}"
            ),
        ),
    }
}

/// Parses a bundle offered as an attestation, within
/// [`limits::ATTESTATION_BYTES`].
pub fn parse(json: &[u8]) -> Result<Bundle, Failure> {
    Bundle::parse_within(json, limits::ATTESTATION_BYTES).or_else(|e| fail("bundle", e))
}

/// Verifies an attestation bundle about `subject` (an image's digest) for
/// `signer`.
pub fn verify(
    bundle: &Bundle,
    subject: Artifact<'_>,
    signer: Signer<'_>,
    root: &TrustedRoot,
    trace: &mut Vec<Check>,
) -> Result<Attested, Failure> {
    let Content::Dsse(envelope) = &bundle.content else {
        return fail(
            "attestation.kind",
            "expected a DSSE in-toto statement, the bundle is a message signature",
        );
    };
    let predicate_type = match statement_type(bundle) {
        Some(t) if t == SIGNATURE_PREDICATE => {
            return fail(
                "attestation.kind",
                format!(
                    "the bundle is a signature (predicate type {SIGNATURE_PREDICATE}), not an attestation"
                ),
            );
        }
        Some(t) => t,
        None => {
            return fail(
                "attestation.statement",
                "the DSSE payload is not a JSON statement",
            );
        }
    };
    let times =
        bundle::verify_signing_times(bundle, subject, signer, root, Thresholds::default(), trace)?;
    let statement: Value = serde_json::from_slice(&envelope.payload)
        .or_else(|_| fail("attestation.statement", "the DSSE payload is not JSON"))?;
    let predicate = match statement.get("predicate") {
        Some(p @ Value::Object(_)) => p.clone(),
        _ => {
            return fail(
                "attestation.statement",
                format!("the {predicate_type} statement has no predicate object"),
            );
        }
    };
    Ok(Attested {
        predicate_type,
        predicate,
        signed_at: times.into_iter().min(),
    })
}
