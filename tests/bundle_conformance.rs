//! The core bundle verifier on all 70 sigstore-conformance cases, each with
//! the artifact's bytes and with only its digest: 140 runs.
//!
//! Every case expected to fail must fail, and every case expected to pass
//! must pass. (The CLI runs of the same suite, through the component, arrive
//! with `sigward verify-bundle`.)
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};
use sigward_core::bundle::Bundle;
use sigward_core::policy::KeylessIdentity;
use sigward_core::public_key::PublicKey;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{self, Artifact, KeyLog, Signer};
use sigward_tests::{conformance_cases, conformance_root, shared_dir};

/// One run's outcome: Ok, or the failing check and its message.
fn run(row: &sigward_tests::ConformanceCase, by_digest: bool) -> Result<(), String> {
    let conformance = shared_dir().join("conformance");
    let root_json = conformance_root(row);
    let root = TrustedRoot::parse(&root_json).map_err(|e| format!("trust-root: {e:?}"))?;
    let bundle_path = conformance
        .join("bundle-verify")
        .join(&row["case"])
        .join("bundle.sigstore.json");
    let bundle =
        Bundle::parse(&std::fs::read(bundle_path).unwrap()).map_err(|e| format!("parse: {e}"))?;
    let bytes = std::fs::read(conformance.join(&row["artifact"])).unwrap();
    let artifact = if by_digest {
        Artifact::Digest(Sha256::digest(&bytes).into())
    } else {
        Artifact::Bytes(&bytes)
    };
    let mut trace = Vec::new();
    let result = match row["verify_with"].as_str() {
        "key" => {
            let pem = std::fs::read_to_string(conformance.join(&row["key"])).unwrap();
            let key = PublicKey::from_pem(&pem).map_err(|e| format!("key: {e}"))?;
            bundle::verify(
                &bundle,
                artifact,
                Signer::Key(&key, KeyLog::Required),
                &root,
                &mut trace,
            )
        }
        _ => {
            let identity = KeylessIdentity {
                issuer: row["certificate_oidc_issuer"].clone(),
                subject: Some(row["certificate_identity"].clone()),
                subject_regex: None,
            };
            bundle::verify(
                &bundle,
                artifact,
                Signer::Keyless(&identity),
                &root,
                &mut trace,
            )
        }
    };
    result.map_err(|f| f.to_string())
}

#[test]
fn all_conformance_cases_by_bytes_and_by_digest() {
    let rows = conformance_cases();
    assert_eq!(rows.len(), 70);
    let mut wrong = Vec::new();
    let mut runs = 0;
    for row in &rows {
        for by_digest in [false, true] {
            runs += 1;
            let outcome = run(row, by_digest);
            let case = &row["case"];
            match (row["expected"].as_str(), outcome) {
                ("fail", Err(_)) | ("pass", Ok(())) => {}
                (expected, outcome) => wrong.push(format!(
                    "{case} (by digest: {by_digest}) expected {expected}, got {outcome:?}"
                )),
            }
        }
    }
    assert_eq!(runs, 140);
    assert!(
        wrong.is_empty(),
        "{} of 140 runs wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// bundle-with-root-cert_fail carries the Fulcio root in its v0.1 chain,
/// which sigstore-go and sigstore-js ignore; they refuse the bundle because
/// its inclusion proof has no checkpoint, and so does sigward.
#[test]
fn the_root_in_the_chain_case_fails_for_its_missing_checkpoint() {
    let row = conformance_cases()
        .into_iter()
        .find(|r| r["case"] == "bundle-with-root-cert_fail")
        .expect("the case");
    for by_digest in [false, true] {
        let err = run(&row, by_digest).unwrap_err();
        assert!(
            err.starts_with("tlog.checkpoint: the inclusion proof has no signed checkpoint"),
            "{err}"
        );
    }
}

/// A v0.3 bundle must carry its certificate as `certificate`; moved into an
/// `x509CertificateChain`, the happy path is refused whatever else it holds.
#[test]
fn a_v03_bundle_with_a_certificate_chain_is_refused() {
    let path = shared_dir().join("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(Bundle::parse(&serde_json::to_vec(&value).unwrap()).is_ok());
    let material = &mut value["verificationMaterial"];
    let cert = material["certificate"].take();
    material.as_object_mut().unwrap().remove("certificate");
    material["x509CertificateChain"] = serde_json::json!({"certificates": [cert]});
    let err = Bundle::parse(&serde_json::to_vec(&value).unwrap()).unwrap_err();
    assert_eq!(err, sigward_core::bundle::BundleError::ChainInV03);
    // The same chain under the v0.2 media type is what v0.2 bundles carry.
    value["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2".into();
    assert!(Bundle::parse(&serde_json::to_vec(&value).unwrap()).is_ok());
}
