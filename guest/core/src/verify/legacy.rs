//! Verifying one legacy cosign signature layer (SPEC §3): the payload names
//! this image, the Rekor SET is bound to this signature, signer and payload,
//! the certificate held at the integrated time, and the signature is over the
//! payload bytes exactly as stored.

use sha2::{Digest, Sha256};

use crate::cosign::{self, Layer};
use crate::decision::{Check, Outcome};
use crate::hex;
use crate::public_key::{HashAlgorithm, PublicKey};
use crate::tlog::{body, set};
use crate::trust_root::TrustedRoot;
use crate::verify::bundle::{Failure, Signer, fail, trusted_log, verify_certificate, verify_set};
use crate::x509::chain::{self, rfc3339};

/// Verifies a layer body (`payload`) and its annotations as a signature of
/// the image `image_digest` (`sha256:<hex>`). Returns whether a SET was
/// verified, which the decision message reports.
pub fn verify(
    payload: &[u8],
    annotations: &[(String, String)],
    image_digest: &str,
    signer: Signer<'_>,
    root: &TrustedRoot,
    trace: &mut Vec<Check>,
) -> Result<bool, Failure> {
    let mut pass =
        |name: &str, detail: String| trace.push(Check::new(name, Outcome::Passed, detail));

    cosign::check_payload(payload, image_digest).or_else(|e| fail("cosign.payload", e))?;
    pass(
        "cosign.payload",
        format!("a cosign image signature payload for {image_digest}"),
    );
    let layer = cosign::parse_layer(annotations).or_else(|e| fail("cosign.layer", e))?;

    let (signer_der, key) = signer_material(&layer, signer)?;

    let payload_digest: [u8; 32] = Sha256::digest(payload).into();
    let signed = body::Signed::Digest(HashAlgorithm::Sha256, &payload_digest);
    let time = verify_rekor_bundle(&layer, &signer_der, signed, root, &mut pass)?;
    if time.is_none() && matches!(signer, Signer::Keyless(_)) {
        return fail(
            "tlog.set",
            format!(
                "expected a Rekor signed entry timestamp ({}) for a keyless signature, found none",
                cosign::BUNDLE_ANNOTATION
            ),
        );
    }
    if time.is_none() {
        pass(
            "tlog.entries",
            "none, and a public-key rule needs none".to_owned(),
        );
    }

    if let (Some(leaf), Signer::Keyless(expected), Some(time)) = (&layer.certificate, signer, time)
    {
        // The chain annotation offers intermediates only: the path builder
        // never takes an anchor from it.
        verify_certificate(leaf, &layer.chain, &[time], expected, root, 1, &mut pass)?;
    }

    // cosign signs the payload with SHA-256 whatever the curve; a key's own
    // hash is accepted as well.
    key.verify_with_hash(payload, &layer.signature, HashAlgorithm::Sha256)
        .or_else(|first| key.verify(payload, &layer.signature).map_err(|_| first))
        .or_else(|e| fail("signature", format!("over the payload: {e}")))?;
    pass(
        "signature",
        format!(
            "{} signature over the payload, sha256:{}",
            key.algorithm(),
            hex::encode(&payload_digest)
        ),
    );
    Ok(time.is_some())
}

/// The signer as the log records it (the certificate, or the key as SPKI)
/// and the key that signed: the rule's key, or the layer's certificate's.
pub(crate) fn signer_material(
    layer: &Layer,
    signer: Signer<'_>,
) -> Result<(Vec<u8>, PublicKey), Failure> {
    match (&layer.certificate, signer) {
        (_, Signer::Key(key, _)) => Ok((key.spki_der().or_else(|e| fail("key", e))?, key.clone())),
        (Some(der), Signer::Keyless(_)) => {
            let cert =
                chain::parse(der, "the signing certificate").or_else(|e| fail("certificate", e))?;
            let key = PublicKey::from_spki_der(cert.public_key().raw)
                .or_else(|e| fail("certificate", e))?;
            Ok((der.clone(), key))
        }
        (None, Signer::Keyless(_)) => fail(
            "material",
            format!(
                "expected a certificate ({}) for a keyless identity, found none",
                cosign::CERTIFICATE_ANNOTATION
            ),
        ),
    }
}

/// Checks the Rekor bundle annotation, if any, and returns the integrated
/// time its SET proves. A bundle that is present must verify, and its entry
/// must record `signed` (a payload digest, or a DSSE envelope's payload).
pub(crate) fn verify_rekor_bundle(
    layer: &Layer,
    signer_der: &[u8],
    signed: body::Signed<'_>,
    root: &TrustedRoot,
    pass: &mut impl FnMut(&str, String),
) -> Result<Option<i64>, Failure> {
    let Some(rekor) = &layer.rekor else {
        return Ok(None);
    };
    let log = trusted_log(root, &rekor.log_id)?;
    let value: serde_json::Value = serde_json::from_slice(&rekor.body)
        .or_else(|_| fail("tlog.body", "the log entry body is not JSON"))?;
    let kind = value["kind"].as_str().unwrap_or_default();
    let version = value["apiVersion"].as_str().unwrap_or_default();
    let claims = body::Claims {
        signature: &layer.signature,
        signer_der,
        signed,
    };
    body::check(&rekor.body, kind, version, &claims).or_else(|e| fail("tlog.body", e))?;
    pass(
        "tlog.body",
        format!(
            "{kind} {version} entry {} names this signature, signer and payload",
            rekor.log_index
        ),
    );
    let fields = set::SignedFields {
        body_base64: &rekor.body_base64,
        integrated_time: rekor.integrated_time,
        log_id: &rekor.log_id,
        log_index: rekor.log_index,
    };
    verify_set(&fields, &rekor.signed_entry_timestamp, log)?;
    pass(
        "tlog.set",
        format!(
            "signed by {} at {}",
            log.base_url,
            rfc3339(rekor.integrated_time)
        ),
    );
    Ok(Some(rekor.integrated_time))
}
