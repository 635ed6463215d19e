//! SECURITY-CASES rows that need signatures made to order, with the project's
//! own test PKI (tests/testpki.rs). Each starts from a fixture that verifies,
//! changes one thing the way the attack did, re-signs what the attacker could
//! re-sign, and must be refused by the check named.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sha2::{Digest, Sha256};
use sigward_core::policy::KeylessIdentity;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{self, Artifact, Signer};
use sigward_core::{dsse, sct};
use sigward_testpki::SigningKey;
use sigward_tests::testpki::{self, ISSUER, Pki, SUBJECT, T0};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

const ARTIFACT: &[u8] = b"the artifact\n";

fn verify(pki: &Pki, bundle: &Value, artifact: &[u8]) -> Result<(), bundle::Failure> {
    let root = TrustedRoot::parse(&serde_json::to_vec(&pki.trusted_root()).unwrap()).unwrap();
    let identity = KeylessIdentity::new(ISSUER.into(), Some(SUBJECT.into()), None).unwrap();
    bundle::verify_json(
        &serde_json::to_vec(bundle).unwrap(),
        Artifact::Bytes(artifact),
        Signer::Keyless(&identity),
        &root,
        &mut Vec::new(),
    )
}

fn check_of(result: Result<(), bundle::Failure>) -> String {
    match result {
        Ok(()) => panic!("expected a refusal"),
        Err(f) => f.check.to_owned(),
    }
}

/// A signed, logged message-signature bundle over `ARTIFACT`; `edit` may
/// change the body before the log signs it.
fn message_fixture(pki: &Pki, signer: &SigningKey, edit: impl Fn(&mut Value)) -> Value {
    let cert = pki.leaf(signer, Some(ISSUER), 1);
    let digest = Sha256::digest(ARTIFACT);
    let signature = testpki::sign(signer, ARTIFACT);
    let mut body = testpki::hashedrekord(&digest, &signature, &cert);
    edit(&mut body);
    let entry = pki.entry(&body, "hashedrekord", T0 + 60);
    testpki::message_bundle(&cert, entry, &digest, &signature)
}

#[test]
fn the_test_pki_fixtures_verify() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let bundle = message_fixture(&pki, &testpki::key(10), |_| {});
    assert_eq!(verify(&pki, &bundle, ARTIFACT), Ok(()));
    assert_eq!(
        check_of(verify(&pki, &bundle, b"another artifact")),
        "artifact.digest"
    );
}

/// Row 3 (GHSA-whqx-f9j3-ch6m): the body's digest, signature or key changed
/// one at a time, with the SET and proof re-signed by the log itself.
#[test]
fn row_3_a_logged_body_for_something_else_is_refused() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let signer = testpki::key(10);
    let other_cert = pki.leaf(&testpki::key(11), Some(ISSUER), 1);
    type Edit = (&'static str, Box<dyn Fn(&mut Value)>);
    let edits: [Edit; 3] = [
        (
            "digest",
            Box::new(|b: &mut Value| b["spec"]["data"]["hash"]["value"] = "00".repeat(32).into()),
        ),
        (
            "signature",
            Box::new(|b: &mut Value| b["spec"]["signature"]["content"] = "MEUCIQ==".into()),
        ),
        (
            "key",
            Box::new(move |b: &mut Value| {
                use base64::Engine as _;
                let pem = testpki::pem("CERTIFICATE", &other_cert);
                b["spec"]["signature"]["publicKey"]["content"] =
                    base64::engine::general_purpose::STANDARD.encode(pem).into();
            }),
        ),
    ];
    for (what, edit) in edits {
        let bundle = message_fixture(&pki, &signer, edit);
        assert_eq!(
            check_of(verify(&pki, &bundle, ARTIFACT)),
            "tlog.body",
            "{what}"
        );
    }
}

/// Row 5 (GHSA-w6c6-c85g-mmv6): a validly signed and logged DSSE envelope
/// whose payload is not JSON, or not an in-toto statement.
#[test]
fn row_5_a_signed_payload_that_is_not_a_statement_is_refused() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let signer = testpki::key(10);
    let cert = pki.leaf(&signer, Some(ISSUER), 1);
    let digest: String = Sha256::digest(ARTIFACT)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let statement = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"a","digest":{{"sha256":"{digest}"}}}}],"predicateType":"x","predicate":{{}}}}"#
    );
    let cases: [(&str, &str, String, bool); 4] = [
        (
            "a statement",
            "application/vnd.in-toto+json",
            statement.clone(),
            true,
        ),
        (
            "not JSON",
            "application/vnd.in-toto+json",
            "Verified OK".to_owned(),
            false,
        ),
        (
            "wrong type",
            "application/vnd.in-toto+json",
            statement.replace("Statement/v1", "Statement/v9"),
            false,
        ),
        ("wrong payload type", "text/plain", statement, false),
    ];
    for (what, payload_type, payload, ok) in cases {
        let signature = testpki::sign(&signer, &dsse::pae(payload_type, payload.as_bytes()));
        let entry = pki.entry(
            &testpki::dsse_body(payload.as_bytes(), &signature, &cert),
            "dsse",
            T0 + 60,
        );
        let bundle =
            testpki::dsse_bundle(&cert, entry, payload_type, payload.as_bytes(), &signature);
        let result = verify(&pki, &bundle, ARTIFACT);
        if ok {
            assert_eq!(result, Ok(()), "{what}");
        } else {
            assert_eq!(check_of(result), "dsse.subject", "{what}");
        }
    }
}

/// Row 6 (GHSA-wfqv-66vq-46rm): the intermediate expires after the leaf's
/// notBefore but before the integrated time.
#[test]
fn row_6_an_intermediate_expired_at_the_signing_time_is_refused() {
    let pki = Pki::new(T0 + 30);
    let bundle = message_fixture(&pki, &testpki::key(10), |_| {});
    assert_eq!(
        check_of(verify(&pki, &bundle, ARTIFACT)),
        "certificate.chain"
    );
    // The same leaf, signed while the intermediate was valid, verifies.
    let valid = Pki::new(T0 + 120);
    assert_eq!(
        verify(
            &valid,
            &message_fixture(&valid, &testpki::key(10), |_| {}),
            ARTIFACT
        ),
        Ok(())
    );
}

/// Row 7 (GHSA-9vcr-p3rj-q5q6): two SCTs from one CT log do not meet a
/// threshold of two logs.
#[test]
fn row_7_two_scts_from_one_log_count_once() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let der = pki.leaf(&testpki::key(10), Some(ISSUER), 2);
    let root = TrustedRoot::parse(&serde_json::to_vec(&pki.trusted_root()).unwrap()).unwrap();
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let (_, intermediate) = X509Certificate::from_der(&pki.intermediate).unwrap();
    let issuer = intermediate.public_key().raw;
    assert_eq!(sct::verify(&cert, issuer, &root.ct_logs, 1), Ok(1));
    assert_eq!(
        sct::verify(&cert, issuer, &root.ct_logs, 2),
        Err(sct::SctError::Threshold {
            verified_logs: 1,
            required: 2
        })
    );
}

/// Row 14 (GHSA-52v5-jr5w-gjxr): a certificate without the identity field the
/// rule needs (no OIDC issuer) is refused, not passed over.
#[test]
fn row_14_a_certificate_without_an_issuer_is_refused() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let signer = testpki::key(10);
    let cert = pki.leaf(&signer, None, 1);
    let digest = Sha256::digest(ARTIFACT);
    let signature = testpki::sign(&signer, ARTIFACT);
    let entry = pki.entry(
        &testpki::hashedrekord(&digest, &signature, &cert),
        "hashedrekord",
        T0 + 60,
    );
    let bundle = testpki::message_bundle(&cert, entry, &digest, &signature);
    assert_eq!(
        check_of(verify(&pki, &bundle, ARTIFACT)),
        "certificate.identity"
    );
}

/// Row 7, for log entries: the same entry twice is one log, not two.
#[test]
fn row_7_two_entries_from_one_log_count_once() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let mut bundle = message_fixture(&pki, &testpki::key(10), |_| {});
    let entry = bundle["verificationMaterial"]["tlogEntries"][0].clone();
    bundle["verificationMaterial"]["tlogEntries"] = serde_json::json!([entry.clone(), entry]);
    let root = TrustedRoot::parse(&serde_json::to_vec(&pki.trusted_root()).unwrap()).unwrap();
    let identity = KeylessIdentity::new(ISSUER.into(), Some(SUBJECT.into()), None).unwrap();
    let parsed =
        sigward_core::bundle::Bundle::parse(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    let run = |tlogs| {
        bundle::verify_with(
            &parsed,
            Artifact::Bytes(ARTIFACT),
            Signer::Keyless(&identity),
            &root,
            bundle::Thresholds { tlogs, ct_logs: 1 },
            &mut Vec::new(),
        )
    };
    assert_eq!(run(1), Ok(()));
    let failure = run(2).unwrap_err();
    assert_eq!(failure.check, "tlog.threshold");
    assert!(
        failure.message.contains("2 distinct logs, found 1"),
        "{failure}"
    );
}

/// The test TSA: a timestamp over the signature verifies beside the SET, and
/// each of the TSA's own checks refuses what it must.
#[test]
fn test_pki_timestamps_verify_and_their_checks_refuse() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let signer = testpki::key(10);
    let plain = message_fixture(&pki, &signer, |_| {});
    let signature = testpki::sign(&signer, ARTIFACT);
    let stamped = testpki::with_timestamps(plain.clone(), &[pki.timestamp(&signature, T0 + 30)]);
    assert_eq!(verify(&pki, &stamped, ARTIFACT), Ok(()));

    // Over another signature.
    let other = testpki::with_timestamps(plain.clone(), &[pki.timestamp(b"other", T0 + 30)]);
    assert_eq!(check_of(verify(&pki, &other, ARTIFACT)), "timestamp");
    // At a time the signing certificate was not valid.
    let late = testpki::with_timestamps(plain.clone(), &[pki.timestamp(&signature, T0 + 900)]);
    assert_eq!(check_of(verify(&pki, &late, ARTIFACT)), "certificate.chain");
    // By a TSA the trusted root does not list.
    let stranger = Pki::new(T0 + 86_400 * 1000);
    let mut root = pki.trusted_root();
    root["timestampAuthorities"] = serde_json::json!([]);
    let stamped_root = TrustedRoot::parse(&serde_json::to_vec(&root).unwrap()).unwrap();
    let identity = KeylessIdentity::new(ISSUER.into(), Some(SUBJECT.into()), None).unwrap();
    let result = bundle::verify_json(
        &serde_json::to_vec(&testpki::with_timestamps(
            plain,
            &[stranger.timestamp(&signature, T0 + 30)],
        ))
        .unwrap(),
        Artifact::Bytes(ARTIFACT),
        Signer::Keyless(&identity),
        &stamped_root,
        &mut Vec::new(),
    );
    assert_eq!(check_of(result), "timestamp");
}

/// A Rekor v1 entry's log index is global across the log's shards, its
/// proof's the shard's own: an entry in a later shard has the larger one
/// (and verifies), an entry whose global index is below its proof's is
/// refused, naming the inclusion check. The SET signs the global index.
#[test]
fn a_rekor_v1_entry_index_below_its_proof_index_is_refused() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let signer = testpki::key(10);
    let cert = pki.leaf(&signer, Some(ISSUER), 1);
    let digest = Sha256::digest(ARTIFACT);
    let signature = testpki::sign(&signer, ARTIFACT);
    let body = testpki::hashedrekord(&digest, &signature, &cert);
    let bundle_with = |log_index, proof_index| {
        let entry = pki.entry_at(&body, "hashedrekord", T0 + 60, log_index, proof_index);
        testpki::message_bundle(&cert, entry, &digest, &signature)
    };
    // Second in its shard, after a shard of 4 163 431 entries.
    assert_eq!(verify(&pki, &bundle_with(4_163_432, 1), ARTIFACT), Ok(()));
    // The same place in the shard, as the log's very first entry: impossible.
    let refused = verify(&pki, &bundle_with(0, 1), ARTIFACT).unwrap_err();
    assert_eq!(refused.check, "tlog.inclusion", "{refused}");
    assert!(
        refused
            .message
            .contains("at least the proof's shard index 1"),
        "{refused}"
    );
}
