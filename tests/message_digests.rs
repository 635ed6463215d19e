//! Message signatures over SHA-384 and SHA-512 digests, as sigstore-java signs
//! with P-384 and P-521 keys: the bundle's `messageDigest.algorithm` says which
//! hash the signature is over, and the log entry must record the same.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384, Sha512};
use sigward_core::policy::KeylessIdentity;
use sigward_core::public_key::PublicKey;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{self, Artifact, KeyLog, Signer};
use sigward_tests::testpki::{self, ISSUER, Pki, SUBJECT, T0};

fn keys_dir(name: &str) -> Vec<u8> {
    std::fs::read(
        sigward_tests::project_root()
            .join("tests/data/keys")
            .join(name),
    )
    .unwrap()
}

/// A key-signed bundle, without log entries, as a `publicKey` rule takes it.
fn key_bundle(algorithm: &str, digest: &[u8], signature: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "openssl"}, "tlogEntries": []},
        "messageSignature": {
            "messageDigest": {"algorithm": algorithm, "digest": B64.encode(digest)},
            "signature": B64.encode(signature)
        }
    }))
    .unwrap()
}

fn verify_by_key(bundle: &[u8], key: &PublicKey, artifact: Artifact<'_>) -> Result<(), String> {
    let root =
        TrustedRoot::parse(&serde_json::to_vec(&Pki::new(T0).trusted_root()).unwrap()).unwrap();
    bundle::verify_json(
        bundle,
        artifact,
        Signer::Key(key, KeyLog::IfPresent),
        &root,
        &mut Vec::new(),
    )
    .map_err(|f| f.to_string())
}

#[test]
fn openssl_p384_and_p521_signatures_verify_over_their_own_digests() {
    let message = keys_dir("msg");
    for (name, algorithm, hash, digest) in [
        (
            "P-384",
            "SHA2_384",
            "sha384",
            Sha384::digest(&message).to_vec(),
        ),
        (
            "P-521",
            "SHA2_512",
            "sha512",
            Sha512::digest(&message).to_vec(),
        ),
    ] {
        let key =
            PublicKey::from_pem(&String::from_utf8(keys_dir(&format!("{name}.pub"))).unwrap())
                .unwrap();
        let signature = keys_dir(&format!("{name}.sig"));
        let bundle = key_bundle(algorithm, &digest, &signature);
        assert_eq!(
            verify_by_key(&bundle, &key, Artifact::Bytes(&message)),
            Ok(()),
            "{name}"
        );
        // Another artifact: its digest is not the bundle's.
        let err = verify_by_key(&bundle, &key, Artifact::Bytes(b"other")).unwrap_err();
        assert!(err.starts_with("artifact.digest"), "{name}: {err}");
        // Only the artifact's SHA-256 is known: the signature cannot be checked.
        let sha256: [u8; 32] = Sha256::digest(&message).into();
        let err = verify_by_key(&bundle, &key, Artifact::Digest(sha256)).unwrap_err();
        assert!(
            err.starts_with("artifact.digest") && err.contains(hash),
            "{name}: {err}"
        );
        // The digest labelled SHA-256 is refused at parse: it has the wrong length.
        let mislabelled = key_bundle("SHA2_256", &digest, &signature);
        let err = verify_by_key(&mislabelled, &key, Artifact::Bytes(&message)).unwrap_err();
        assert!(err.starts_with("bundle"), "{name}: {err}");
    }
    // SHA3 and the like stay refused, naming what is accepted.
    let err = verify_by_key(
        &key_bundle("SHA3_256", &[0; 32], &[0; 64]),
        &PublicKey::from_pem(&String::from_utf8(keys_dir("P-384.pub")).unwrap()).unwrap(),
        Artifact::Bytes(b"x"),
    )
    .unwrap_err();
    assert!(err.contains("SHA2_256, SHA2_384 or SHA2_512"), "{err}");
}

/// A keyless SHA-384 message signature, logged by the test PKI: the log's
/// hashedrekord body must record a sha384 hash of the artifact.
fn keyless_sha384(record_as: &str) -> Value {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let signer = testpki::key(10);
    let cert = pki.leaf(&signer, Some(ISSUER), 1);
    let artifact = b"the artifact\n";
    let digest = Sha384::digest(artifact);
    let signature = testpki::sign_digest(&signer, &digest);
    let mut body = testpki::hashedrekord(&digest, &signature, &cert);
    body["spec"]["data"]["hash"]["algorithm"] = record_as.into();
    let entry = pki.entry(&body, "hashedrekord", T0 + 60);
    let mut bundle = testpki::message_bundle(&cert, entry, &digest, &signature);
    bundle["messageSignature"]["messageDigest"]["algorithm"] = "SHA2_384".into();
    bundle
}

#[test]
fn a_keyless_sha384_signature_binds_its_log_entry_by_algorithm() {
    let pki = Pki::new(T0 + 86_400 * 1000);
    let root = TrustedRoot::parse(&serde_json::to_vec(&pki.trusted_root()).unwrap()).unwrap();
    let identity = KeylessIdentity::new(ISSUER.into(), Some(SUBJECT.into()), None).unwrap();
    let run = |bundle: &Value| {
        bundle::verify_json(
            &serde_json::to_vec(bundle).unwrap(),
            Artifact::Bytes(b"the artifact\n"),
            Signer::Keyless(&identity),
            &root,
            &mut Vec::new(),
        )
    };
    assert_eq!(run(&keyless_sha384("sha384")), Ok(()));
    // The same digest logged as a sha256 hash does not bind.
    assert_eq!(
        run(&keyless_sha384("sha256")).unwrap_err().check,
        "tlog.body"
    );
}
