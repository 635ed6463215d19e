//! A legacy cosign attestation: one layer of the `sha256-<hex>.att` image,
//! its body a DSSE envelope holding an in-toto statement, its annotations
//! those of a `.sig` layer (certificate, chain, Rekor bundle; the signature
//! annotation empty, the signature being in the envelope). Verified as a
//! legacy signature is (the Rekor entry, `intoto` or `dsse`, must record
//! this envelope), then as an attestation (the statement names the image).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use super::attestation::Attested;
use super::bundle::{Failure, Signer, fail, verify_certificate};
use super::legacy::{signer_material, verify_rekor_bundle};
use crate::cosign::{self, SIGNATURE_ANNOTATION};
use crate::decision::{Check, Outcome};
use crate::dsse;
use crate::statement;
use crate::tlog::body;
use crate::trust_root::TrustedRoot;

/// The envelope as cosign writes it in the layer.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(serde::Deserialize)]
struct EnvelopeSignature {
    sig: String,
}

/// The predicate type the envelope's statement claims, unverified; none when
/// the layer is not an envelope of a JSON statement.
pub fn statement_type(layer: &[u8]) -> Option<String> {
    let envelope: Envelope = serde_json::from_slice(layer).ok()?;
    let payload = BASE64.decode(envelope.payload).ok()?;
    let statement: Value = serde_json::from_slice(&payload).ok()?;
    Some(statement.get("predicateType")?.as_str()?.to_owned())
}

/// Verifies a `.att` layer (`layer`, with its `annotations`) as an
/// attestation about the image `digest`, for `signer`.
pub fn verify(
    layer: &[u8],
    annotations: &[(String, String)],
    digest: [u8; 32],
    signer: Signer<'_>,
    root: &TrustedRoot,
    trace: &mut Vec<Check>,
) -> Result<Attested, Failure> {
    let mut pass =
        |name: &str, detail: String| trace.push(Check::new(name, Outcome::Passed, detail));
    let envelope: Envelope = serde_json::from_slice(layer).or_else(|e| {
        fail(
            "dsse",
            format!("the .att layer is not a DSSE envelope: {e}"),
        )
    })?;
    let [signature] = envelope.signatures.as_slice() else {
        return fail(
            "dsse",
            format!(
                "expected exactly one signature, found {}",
                envelope.signatures.len()
            ),
        );
    };
    let payload = BASE64
        .decode(&envelope.payload)
        .or_else(|e| fail("dsse", format!("the payload is not base64: {e}")))?;
    // The layer's signature annotation is empty: the envelope carries it.
    let mut annotations: Vec<(String, String)> = annotations
        .iter()
        .filter(|(k, _)| k != SIGNATURE_ANNOTATION)
        .cloned()
        .collect();
    annotations.push((SIGNATURE_ANNOTATION.to_owned(), signature.sig.clone()));
    let layer = cosign::parse_layer(&annotations).or_else(|e| fail("cosign.layer", e))?;
    let (signer_der, key) = signer_material(&layer, signer)?;
    let signed = body::Signed::Dsse {
        payload_type: &envelope.payload_type,
        payload: &payload,
    };
    let time = verify_rekor_bundle(&layer, &signer_der, signed, root, &mut pass)?;
    if let (Some(leaf), Signer::Keyless(expected)) = (&layer.certificate, signer) {
        let Some(time) = time else {
            return fail(
                "tlog.set",
                "expected a Rekor signed entry timestamp for a keyless attestation, found none",
            );
        };
        verify_certificate(leaf, &layer.chain, &[time], expected, root, 1, &mut pass)?;
    }
    key.verify(
        &dsse::pae(&envelope.payload_type, &payload),
        &layer.signature,
    )
    .or_else(|e| fail("signature", format!("over the DSSE envelope: {e}")))?;
    pass(
        "signature",
        format!("{} signature over the DSSE envelope", key.algorithm()),
    );
    let digests = statement::Digests {
        sha256: Some(&digest),
        sha512: None,
    };
    let named = statement::check_subject(&envelope.payload_type, &payload, &digests)
        .or_else(|e| fail("dsse.subject", e))?;
    pass(
        "dsse.subject",
        format!("the in-toto statement names {named}"),
    );
    let statement: Value = serde_json::from_slice(&payload)
        .or_else(|_| fail("attestation.statement", "the DSSE payload is not JSON"))?;
    let predicate_type = statement
        .get("predicateType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(predicate @ Value::Object(_)) = statement.get("predicate") else {
        return fail(
            "attestation.statement",
            format!("the {predicate_type} statement has no predicate object"),
        );
    };
    Ok(Attested {
        predicate_type,
        predicate: predicate.clone(),
        signed_at: time,
    })
}
