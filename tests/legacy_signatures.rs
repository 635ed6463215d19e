//! Legacy cosign signatures (`sha256-<hex>.sig` layers): the real ones of the
//! containers-image corpus, and SECURITY-CASES rows 1, 3, 18, 20 and 21 on
//! signatures made by the test PKI.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigward_core::verify::{self, Signature};
use sigward_core::{Decision, Policy, TrustedRoot};
use sigward_tests::testpki::{self, ISSUER, Pki, SUBJECT, T0};
use sigward_tests::{
    StoredSignature, component_policy, containers_image_fixtures, key_policy, keyless_policy,
    production_trusted_root, sha256_digest, stored_signature,
};

const REPO: &str = "mirror.example.test/cosign-signed/app";

fn legacy(s: &StoredSignature) -> Signature {
    Signature::Legacy {
        payload: s.payload.clone(),
        annotations: s.annotations.clone(),
    }
}

/// The image a fixture directory signs, by digest, on a mirror.
fn image_of(dir: &str) -> String {
    let manifest = std::fs::read(containers_image_fixtures().join(dir).join("manifest.json"))
        .expect("a manifest.json");
    format!("{REPO}@{}", sha256_digest(&manifest))
}

fn signatures_of(dir: &str) -> Vec<Signature> {
    let mut files: Vec<_> = std::fs::read_dir(containers_image_fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("signature-")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir} has signatures");
    files.iter().map(|p| legacy(&stored_signature(p))).collect()
}

/// A fixture's signatures with the annotation `name` removed from each.
fn without_annotation(dir: &str, name: &str) -> Vec<Signature> {
    signatures_of(dir)
        .into_iter()
        .map(|s| match s {
            Signature::Legacy {
                payload,
                annotations,
            } => Signature::Legacy {
                payload,
                annotations: annotations.into_iter().filter(|(k, _)| k != name).collect(),
            },
            other => other,
        })
        .collect()
}

fn fixture_key(name: &str) -> String {
    std::fs::read_to_string(containers_image_fixtures().join(name)).unwrap()
}

fn decide(policy: &str, image: &str, signatures: &[Signature], root: &[u8]) -> Decision {
    let policy = Policy::parse(policy).expect("policy loads");
    let root = TrustedRoot::parse(root).expect("root loads");
    verify::verify(&policy, image, signatures, &root).expect("a decision")
}

fn real_keyless_policy(subject: &str) -> String {
    keyless_policy(
        "mirror.example.test/*",
        "https://github.com/login/oauth",
        subject,
    )
}

#[test]
fn real_key_signatures_verify_on_a_mirror() {
    let root = production_trusted_root();
    for (dir, key, set) in [
        ("dir-img-cosign-valid", "cosign.pub", false),
        ("dir-img-cosign-valid-2", "cosign.pub", false),
        ("dir-img-cosign-valid-with-tag", "cosign.pub", false),
        ("dir-img-cosign-mixed", "cosign.pub", false),
        ("dir-img-cosign-key-rekor-valid", "cosign2.pub", true),
    ] {
        let policy = key_policy("mirror.example.test/*", &fixture_key(key));
        let d = decide(&policy, &image_of(dir), &signatures_of(dir), &root);
        assert!(d.allowed && d.verified, "{dir}: {}", d.message);
        assert_eq!(
            d.message,
            format!("verified via legacy signature (bundle verified {set})"),
            "{dir}"
        );
    }
}

#[test]
fn the_real_keyless_signature_verifies_against_the_production_root() {
    let dir = "dir-img-cosign-fulcio-rekor-valid";
    let d = decide(
        &real_keyless_policy("mitr@redhat.com"),
        &image_of(dir),
        &signatures_of(dir),
        &production_trusted_root(),
    );
    assert!(d.allowed && d.verified, "{}", d.message);
    assert_eq!(
        d.message,
        "verified via legacy signature (bundle verified true)"
    );
    for check in [
        "cosign.payload",
        "tlog.body",
        "tlog.set",
        "certificate.chain",
        "certificate.sct",
        "certificate.identity",
        "signature",
    ] {
        let name = format!("signature[0].{check}");
        assert!(
            d.trace.iter().any(|c| c.name == name),
            "trace has {name}: {:?}",
            d.trace
        );
    }
}

#[test]
fn the_real_keyless_signature_through_the_component() {
    use sigward_host::runtime::Signature as WitSignature;
    let dir = "dir-img-cosign-fulcio-rekor-valid";
    let mut session = component_policy(&real_keyless_policy("mitr@redhat.com"));
    let root = session
        .load_trusted_root(&production_trusted_root())
        .unwrap()
        .unwrap();
    let signatures: Vec<WitSignature> = signatures_of(dir)
        .into_iter()
        .map(|s| match s {
            Signature::Legacy {
                payload,
                annotations,
            } => WitSignature::Legacy(sigward_host::runtime::LegacySignature {
                payload: String::from_utf8(payload).unwrap(),
                annotations,
            }),
            other => panic!("{other:?}"),
        })
        .collect();
    let d = session
        .verify(&image_of(dir), &signatures, &root)
        .unwrap()
        .unwrap();
    assert!(d.allowed && d.verified, "{}", d.message);
    assert_eq!(
        d.message,
        "verified via legacy signature (bundle verified true)"
    );
}

/// Each refusal names the check that failed.
#[test]
fn real_signatures_are_refused_for_the_right_reason() {
    let root = production_trusted_root();
    let keyed = key_policy("mirror.example.test/*", &fixture_key("cosign.pub"));
    let refused = |policy: &str, image: &str, signatures: &[Signature], reason: &str| {
        let d = decide(policy, image, signatures, &root);
        assert!(!d.allowed && !d.verified, "{image} must be refused");
        assert!(
            d.message.starts_with("image verification failed: ") && d.message.contains(reason),
            "expected `{reason}` in: {}",
            d.message
        );
    };
    // The manifest changed after signing.
    refused(
        &keyed,
        &image_of("dir-img-cosign-modified-manifest"),
        &signatures_of("dir-img-cosign-modified-manifest"),
        "cosign.payload: expected critical.image.docker-manifest-digest",
    );
    refused(
        &keyed,
        &image_of("dir-img-cosign-manifest-digest-error"),
        &signatures_of("dir-img-cosign-manifest-digest-error"),
        "the signature is for another image",
    );
    // Not a signature at all (a text/plain attachment).
    let other = signatures_of("dir-img-cosign-other-attachment");
    refused(
        &keyed,
        &image_of("dir-img-cosign-other-attachment"),
        &other,
        "cosign.payload: the payload is not simple-signing JSON",
    );
    // A key nobody trusts.
    let unknown =
        stored_signature(&containers_image_fixtures().join("unknown-cosign-key.signature"));
    let image = format!(
        "{REPO}@{}",
        serde_json::from_slice::<Value>(&unknown.payload).unwrap()["critical"]["image"]
            ["docker-manifest-digest"]
            .as_str()
            .unwrap()
    );
    refused(
        &keyed,
        &image,
        &[legacy(&unknown)],
        "signature: over the payload",
    );
    // The wrong key for a SET-bearing signature: the SET's body names cosign2.
    refused(
        &keyed,
        &image_of("dir-img-cosign-key-rekor-valid"),
        &signatures_of("dir-img-cosign-key-rekor-valid"),
        "tlog.body: the log entry records a different certificate or key",
    );
    // Keyless: another identity, no certificate, no SET.
    let dir = "dir-img-cosign-fulcio-rekor-valid";
    refused(
        &real_keyless_policy("someone@example.com"),
        &image_of(dir),
        &signatures_of(dir),
        "expected SAN `someone@example.com`, got `mitr@redhat.com`",
    );
    let subject = real_keyless_policy("mitr@redhat.com");
    refused(
        &subject,
        &image_of(dir),
        &without_annotation(dir, "dev.sigstore.cosign/certificate"),
        "material: expected a certificate",
    );
    refused(
        &subject,
        &image_of(dir),
        &without_annotation(dir, "dev.sigstore.cosign/bundle"),
        "tlog.set: expected a Rekor signed entry timestamp",
    );
    // The private-PKI signature has no log entry, which keyless requires.
    refused(
        &subject,
        &image_of("dir-img-cosign-pki-valid"),
        &signatures_of("dir-img-cosign-pki-valid"),
        "tlog.set: expected a Rekor signed entry timestamp",
    );
}

#[test]
fn a_garbled_set_is_refused_even_where_none_is_needed() {
    let dir = "dir-img-cosign-key-rekor-valid";
    let policy = key_policy("mirror.example.test/*", &fixture_key("cosign2.pub"));
    let root = production_trusted_root();
    let edit = |f: &dyn Fn(&mut Value)| -> Vec<Signature> {
        signatures_of(dir)
            .into_iter()
            .map(|s| match s {
                Signature::Legacy {
                    payload,
                    mut annotations,
                } => {
                    for (k, v) in &mut annotations {
                        if k == "dev.sigstore.cosign/bundle" {
                            let mut bundle: Value = serde_json::from_str(v).unwrap();
                            f(&mut bundle);
                            *v = bundle.to_string();
                        }
                    }
                    Signature::Legacy {
                        payload,
                        annotations,
                    }
                }
                other => other,
            })
            .collect()
    };
    let set_edit = edit(&|b| {
        let t = b["Payload"]["integratedTime"].as_i64().unwrap();
        b["Payload"]["integratedTime"] = (t + 1).into();
    });
    let d = decide(&policy, &image_of(dir), &set_edit, &root);
    assert!(!d.allowed, "{}", d.message);
    assert!(
        d.message
            .contains("tlog.set: signed entry timestamp does not verify"),
        "{}",
        d.message
    );

    // Without the annotation the key alone decides, as Talos does; the
    // message says no SET was checked.
    let without = without_annotation(dir, "dev.sigstore.cosign/bundle");
    let d = decide(&policy, &image_of(dir), &without, &root);
    assert!(d.allowed, "{}", d.message);
    assert_eq!(
        d.message,
        "verified via legacy signature (bundle verified false)"
    );
}

// --- the test PKI ---------------------------------------------------------

struct Signed {
    root: Vec<u8>,
    image: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
    leaf: Vec<u8>,
    pki: Pki,
}

const IMAGE_DIGEST: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn signed_by_test_pki() -> Signed {
    let pki = Pki::new(T0 + 86_400 * 365);
    let signer = testpki::key(20);
    let leaf = pki.leaf(&signer, Some(ISSUER), 1);
    let payload = testpki::simple_signing_payload("registry.test/app", IMAGE_DIGEST);
    let signature = testpki::sign(&signer, &payload);
    Signed {
        root: pki.trusted_root().to_string().into_bytes(),
        image: format!("registry.test/app@{IMAGE_DIGEST}"),
        payload,
        signature,
        leaf,
        pki,
    }
}

fn body_for(s: &Signed) -> Value {
    use sha2::Digest as _;
    testpki::hashedrekord(&sha2::Sha256::digest(&s.payload), &s.signature, &s.leaf)
}

fn layer(s: &Signed, payload: &[u8], chain: &[&[u8]], body: &Value) -> Signature {
    Signature::Legacy {
        payload: payload.to_vec(),
        annotations: testpki::legacy_annotations(
            &s.signature,
            Some(&s.leaf),
            chain,
            Some(s.pki.rekor_bundle_annotation(body, T0 + 60)),
        ),
    }
}

fn test_policy() -> String {
    keyless_policy("registry.test/*", ISSUER, SUBJECT)
}

#[test]
fn a_test_pki_signature_verifies() {
    let s = signed_by_test_pki();
    let sig = layer(&s, &s.payload, &[&s.pki.intermediate], &body_for(&s));
    let d = decide(&test_policy(), &s.image, &[sig], &s.root);
    assert!(d.allowed, "{}", d.message);
    assert_eq!(
        d.message,
        "verified via legacy signature (bundle verified true)"
    );
}

/// Row 1 (GHSA-ccxc-vr6p-4858): a valid SET for another signature.
#[test]
fn row_1_a_set_for_another_signature_is_refused() {
    let s = signed_by_test_pki();
    let other_payload = testpki::simple_signing_payload("registry.test/other", IMAGE_DIGEST);
    let other = Signed {
        signature: testpki::sign(&testpki::key(20), &other_payload),
        payload: other_payload,
        ..signed_by_test_pki()
    };
    // The other signature's entry and valid SET, on this layer.
    let sig = layer(&s, &s.payload, &[], &body_for(&other));
    let d = decide(&test_policy(), &s.image, &[sig], &s.root);
    assert!(!d.allowed);
    assert!(
        d.message
            .contains("tlog.body: the log entry records a different signature"),
        "{}",
        d.message
    );
}

/// Row 3 (GHSA-whqx-f9j3-ch6m): each field of the body, edited, with the SET
/// re-signed by the log over the edited body.
#[test]
fn row_3_each_body_field_is_bound() {
    let s = signed_by_test_pki();
    let good = body_for(&s);
    let other_cert = s.pki.leaf(&testpki::key(21), Some(ISSUER), 1);
    type Edit<'a> = (&'a str, &'a dyn Fn(&mut Value), &'a str);
    let edits: [Edit; 3] = [
        (
            "digest",
            &|b| b["spec"]["data"]["hash"]["value"] = "00".repeat(32).into(),
            "records artifact hash",
        ),
        (
            "signature",
            &|b| b["spec"]["signature"]["content"] = "MEUCIQ==".into(),
            "records a different signature",
        ),
        (
            "key",
            &|b| {
                use base64::Engine as _;
                b["spec"]["signature"]["publicKey"]["content"] =
                    base64::engine::general_purpose::STANDARD
                        .encode(testpki::pem("CERTIFICATE", &other_cert))
                        .into()
            },
            "records a different certificate or key",
        ),
    ];
    for (what, edit, reason) in edits {
        let mut body = good.clone();
        edit(&mut body);
        let d = decide(
            &test_policy(),
            &s.image,
            &[layer(&s, &s.payload, &[], &body)],
            &s.root,
        );
        assert!(!d.allowed, "{what}");
        assert!(d.message.contains(reason), "{what}: {}", d.message);
    }
}

/// Row 18 (GHSA-7rmh-48mx-2vwc): the payload re-serialized.
#[test]
fn row_18_the_signature_is_over_the_stored_bytes() {
    let s = signed_by_test_pki();
    let value: Value = serde_json::from_slice(&s.payload).unwrap();
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let reordered = format!(
        r#"{{"optional":null,"critical":{{"type":"cosign container image signature","image":{{"docker-manifest-digest":"{IMAGE_DIGEST}"}},"identity":{{"docker-reference":"registry.test/app"}}}}}}"#
    );
    for payload in [pretty, reordered.into_bytes()] {
        assert_ne!(payload, s.payload);
        let d = decide(
            &test_policy(),
            &s.image,
            &[layer(&s, &payload, &[], &body_for(&s))],
            &s.root,
        );
        assert!(!d.allowed);
        // The SET's body names the original payload's digest.
        assert!(d.message.contains("tlog.body"), "{}", d.message);
    }
    // With a key and no SET, it is the signature check that refuses.
    let key = testpki::key(20);
    let pem = testpki::pem("PUBLIC KEY", &testpki::spki(&key));
    let policy = key_policy("registry.test/*", &pem);
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    let sig = Signature::Legacy {
        payload: pretty,
        annotations: testpki::legacy_annotations(&s.signature, None, &[], None),
    };
    let d = decide(&policy, &s.image, &[sig], &s.root);
    assert!(!d.allowed);
    assert!(
        d.message.contains("signature: over the payload"),
        "{}",
        d.message
    );
}

/// Row 20 (Talos gap): a valid signature copied onto another image's tag.
#[test]
fn row_20_a_signature_for_another_image_is_refused() {
    let s = signed_by_test_pki();
    let sig = layer(&s, &s.payload, &[], &body_for(&s));
    let elsewhere = format!("registry.test/app@sha256:{}", "22".repeat(32));
    let d = decide(&test_policy(), &elsewhere, &[sig], &s.root);
    assert!(!d.allowed);
    assert!(
        d.message.contains("the signature is for another image"),
        "{}",
        d.message
    );
}

/// Row 21 (cosign spec): the chain annotation carries the attacker's root.
#[test]
fn row_21_a_root_in_the_chain_annotation_is_no_anchor() {
    let s = signed_by_test_pki();
    // An impostor CA under the same names issues a leaf for the signer; the
    // log records it like any other entry.
    let impostor = Pki::with_ca_keys(31, 32, T0 + 86_400 * 365);
    let leaf = impostor.leaf(&testpki::key(20), Some(ISSUER), 1);
    let forged = Signed {
        leaf,
        ..signed_by_test_pki()
    };
    let sig = layer(
        &forged,
        &forged.payload,
        &[&impostor.intermediate, &impostor.root],
        &body_for(&forged),
    );
    let d = decide(&test_policy(), &s.image, &[sig], &s.root);
    assert!(!d.allowed);
    assert!(
        d.message
            .contains("certificate.chain: no path from the certificate to a trusted root"),
        "{}",
        d.message
    );
}
