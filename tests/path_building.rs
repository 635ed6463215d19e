//! Hostile certificates and paths (issue 9), with the project's test PKI:
//! path building is bounded in work, certificates with extensions it cannot
//! honour are refused, and a certificate's signature algorithm is bound to
//! its issuer's key and to the algorithm inside the signed part.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sigward_core::der::{self, encode};
use sigward_core::policy::KeylessIdentity;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{self, Artifact, Signer};
use sigward_core::x509::chain::{self, ChainError, Purpose};
use sigward_tests::testpki::{self, ISSUER, Pki, SUBJECT, T0};

const ARTIFACT: &[u8] = b"the artifact\n";
const LATER: i64 = T0 + 86_400 * 1000;

fn root_of(value: &Value) -> TrustedRoot {
    TrustedRoot::parse(&serde_json::to_vec(value).unwrap()).unwrap()
}

fn identity() -> KeylessIdentity {
    KeylessIdentity::new(ISSUER.into(), Some(SUBJECT.into()), None).unwrap()
}

/// A v0.2 bundle over `ARTIFACT` by `leaf`, with `chain` after it and one
/// logged entry per integrated time.
fn chain_bundle(pki: &Pki, leaf: &[u8], chain: &[Vec<u8>], signer: usize, times: &[i64]) -> Value {
    let key = testpki::key(signer as u8);
    let digest = Sha256::digest(ARTIFACT);
    let signature = testpki::sign(&key, ARTIFACT);
    let body = testpki::hashedrekord(&digest, &signature, leaf);
    let entries: Vec<Value> = times
        .iter()
        .map(|t| pki.entry(&body, "hashedrekord", *t))
        .collect();
    let certificates: Vec<Value> = std::iter::once(leaf)
        .chain(chain.iter().map(Vec::as_slice))
        .map(|c| json!({"rawBytes": B64.encode(c)}))
        .collect();
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": certificates},
            "tlogEntries": entries
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(digest)},
            "signature": B64.encode(signature)
        }
    })
}

fn verify(root: &TrustedRoot, bundle: &Value) -> Result<(), bundle::Failure> {
    bundle::verify_json(
        &serde_json::to_vec(bundle).unwrap(),
        Artifact::Bytes(ARTIFACT),
        Signer::Keyless(&identity()),
        root,
        &mut Vec::new(),
    )
}

/// Eight CA certificates a bundle ships before the real intermediate: two
/// that bear the leaf's issuer name and the real intermediate's public key
/// (anyone can put a public key in a certificate), issued by a `mesh-b`
/// group that issues a `mesh-c` group and is issued by it. Every link
/// verifies, so a depth-first search wanders through them, to the depth
/// limit, before it reaches the real intermediate.
fn mesh(pki: &Pki) -> Vec<Vec<u8>> {
    let (b_key, c_key) = (testpki::key(51), testpki::key(52));
    let mut out = Vec::new();
    for k in 0..2u8 {
        let spec = testpki::ca_spec(
            10 + k,
            "mesh-b",
            "test-intermediate",
            &pki.intermediate_key,
            LATER,
        );
        out.push(testpki::certificate(&spec, &[], &b_key));
    }
    for k in 0..3u8 {
        let spec = testpki::ca_spec(20 + k, "mesh-c", "mesh-b", &b_key, LATER);
        out.push(testpki::certificate(&spec, &[], &c_key));
        let spec = testpki::ca_spec(30 + k, "mesh-b", "mesh-c", &c_key, LATER);
        out.push(testpki::certificate(&spec, &[], &b_key));
    }
    out
}

#[test]
fn a_mesh_of_cross_signed_certificates_exhausts_a_budget_not_the_machine() {
    let pki = Pki::new(LATER);
    // The trusted root holds the Fulcio root alone; the bundle ships the
    // intermediate, after the mesh.
    let mut root = pki.trusted_root();
    root["certificateAuthorities"][0]["certChain"]["certificates"] =
        json!([{"rawBytes": B64.encode(&pki.root)}]);
    let root = root_of(&root);
    let leaf = pki.leaf(&testpki::key(10), Some(ISSUER), 1);
    let mut shipped = mesh(&pki);
    shipped.push(pki.intermediate.clone());
    assert_eq!(
        shipped.len(),
        9,
        "one leaf and nine shipped: the chain limit"
    );

    // One signing time, repeated in every entry: the times are deduplicated,
    // one search wanders through the mesh and then finds the real path.
    let bundle = chain_bundle(&pki, &leaf, &shipped, 10, &[T0 + 60; 32]);
    assert_eq!(verify(&root, &bundle), Ok(()));

    // 32 entries, each at its own second: 32 such searches exceed the
    // budget of issuer candidates, and the bundle is refused naming it.
    let times: Vec<i64> = (0..32).map(|i| T0 + 60 + i).collect();
    let bundle = chain_bundle(&pki, &leaf, &shipped, 10, &times);
    let failure = verify(&root, &bundle).unwrap_err();
    assert_eq!(failure.check, "certificate.chain", "{failure}");
    assert!(
        failure.message.contains(&format!(
            "budget of {} issuer candidates",
            chain::CANDIDATE_BUDGET
        )),
        "{failure}"
    );
}

#[test]
fn many_authorities_with_the_leaf_issuer_name_exhaust_the_signature_budget() {
    let pki = Pki::new(LATER);
    let mut root = pki.trusted_root();
    let template = root["certificateAuthorities"][0].clone();
    // 120 authorities whose intermediate bears the leaf's issuer name, each
    // with a key other than the one that signed the leaf.
    let mut authorities = Vec::new();
    for seed in 100..220u8 {
        let key = testpki::key(seed);
        let spec = testpki::ca_spec(seed, "test-root", "test-intermediate", &key, LATER);
        let intermediate = testpki::certificate(&spec, &[], &pki.root_key);
        let mut authority = template.clone();
        authority["certChain"]["certificates"][0]["rawBytes"] = json!(B64.encode(intermediate));
        authorities.push(authority);
    }
    root["certificateAuthorities"] = Value::Array(authorities);
    let root = root_of(&root);
    let leaf = pki.leaf(&testpki::key(10), Some(ISSUER), 1);
    let err = chain::verify(
        &leaf,
        &[],
        &root.certificate_authorities,
        T0 + 60,
        Purpose::CodeSigning,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ChainError::Budget {
            what: "signature checks",
            limit: chain::SIGNATURE_BUDGET
        }
    );
}

#[test]
fn the_fulcio_root_shipped_in_a_chain_is_ignored_not_an_anchor() {
    let pki = Pki::new(LATER);
    let root = root_of(&pki.trusted_root());
    let leaf = pki.leaf(&testpki::key(10), Some(ISSUER), 1);
    // leaf, intermediate and root, as 2023 bundles carry them: verifies.
    let shipped = vec![pki.intermediate.clone(), pki.root.clone()];
    let bundle = chain_bundle(&pki, &leaf, &shipped, 10, &[T0 + 60]);
    assert_eq!(verify(&root, &bundle), Ok(()));

    // An impostor's whole chain, its self-signed root included, never
    // becomes trusted.
    let impostor = Pki::with_ca_keys(40, 41, LATER);
    let leaf = impostor.leaf(&testpki::key(10), Some(ISSUER), 1);
    let shipped = vec![impostor.intermediate.clone(), impostor.root.clone()];
    let bundle = chain_bundle(&pki, &leaf, &shipped, 10, &[T0 + 60]);
    let failure = verify(&root, &bundle).unwrap_err();
    assert_eq!(failure.check, "certificate.chain", "{failure}");
}

/// The default PKI with its intermediate re-issued to carry `extra`
/// extensions (after the usual ones).
fn root_with_intermediate(pki: &Pki, extra: &[Vec<u8>]) -> TrustedRoot {
    let spec = testpki::ca_spec(
        2,
        "test-root",
        "test-intermediate",
        &pki.intermediate_key,
        LATER,
    );
    let intermediate = testpki::certificate(&spec, extra, &pki.root_key);
    let mut root = pki.trusted_root();
    root["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
        json!(B64.encode(intermediate));
    root_of(&root)
}

fn chain_error(root: &TrustedRoot, leaf: &[u8]) -> String {
    chain::verify(
        leaf,
        &[],
        &root.certificate_authorities,
        T0 + 60,
        Purpose::CodeSigning,
    )
    .unwrap_err()
    .to_string()
}

const OID_NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];

#[test]
fn issuers_with_extensions_that_cannot_be_honoured_are_refused() {
    let pki = Pki::new(LATER);
    let leaf = pki.leaf(&testpki::key(10), Some(ISSUER), 1);
    assert!(
        chain::verify(
            &leaf,
            &[],
            &root_with_intermediate(&pki, &[]).certificate_authorities,
            T0 + 60,
            Purpose::CodeSigning
        )
        .is_ok(),
        "the re-issued intermediate without extra extensions must chain"
    );

    // Name constraints (permitted: a DNS subtree), critical as RFC 5280 requires.
    let subtree = encode(der::SEQUENCE, &encode(0x82, b"example.com"));
    let constraints = encode(der::SEQUENCE, &encode(0xa0, &subtree));
    let nc = testpki::extension(OID_NAME_CONSTRAINTS, true, &constraints);
    let err = chain_error(&root_with_intermediate(&pki, &[nc]), &leaf);
    assert!(err.contains("name constraints"), "{err}");

    // A second keyUsage, which would mask the first.
    let second_ku = testpki::extension(testpki::OID_KEY_USAGE, false, &encode(0x03, &[0x01, 0x06]));
    let err = chain_error(&root_with_intermediate(&pki, &[second_ku]), &leaf);
    assert!(err.contains("more than once"), "{err}");
}

/// A CA certificate like the test intermediate, whose keyUsage or
/// basicConstraints value is `ku` or `bc` as given (DER, possibly broken).
fn intermediate_with(pki: &Pki, ku: &[u8], bc: &[u8]) -> Vec<u8> {
    // Built by hand: the test PKI's own CA extensions are always well formed.
    let spki = testpki::spki(&pki.intermediate_key);
    let name = |cn: &str| {
        let atv = encode(
            der::SEQUENCE,
            &[
                encode(der::OID, &[0x55, 0x04, 0x03]),
                encode(0x0c, cn.as_bytes()),
            ]
            .concat(),
        );
        encode(der::SEQUENCE, &encode(der::SET, &atv))
    };
    let ecdsa_sha256 = encode(
        der::SEQUENCE,
        &encode(der::OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]),
    );
    let validity = encode(
        der::SEQUENCE,
        &[
            encode(0x17, b"221115000000Z"),
            encode(0x17, b"490101000000Z"),
        ]
        .concat(),
    );
    let extensions = [
        testpki::extension(testpki::OID_BASIC_CONSTRAINTS, true, bc),
        testpki::extension(testpki::OID_KEY_USAGE, true, ku),
    ]
    .concat();
    let tbs = encode(
        der::SEQUENCE,
        &[
            encode(0xa0, &encode(der::INTEGER, &[2])),
            encode(der::INTEGER, &[2]),
            ecdsa_sha256.clone(),
            name("test-root"),
            validity,
            name("test-intermediate"),
            spki,
            encode(0xa3, &encode(der::SEQUENCE, &extensions)),
        ]
        .concat(),
    );
    let mut bits = vec![0u8];
    bits.extend(testpki::sign(&pki.root_key, &tbs));
    encode(
        der::SEQUENCE,
        &[tbs, ecdsa_sha256, encode(0x03, &bits)].concat(),
    )
}

#[test]
fn a_malformed_key_usage_or_basic_constraints_refuses_never_skips() {
    let pki = Pki::new(LATER);
    let leaf = pki.leaf(&testpki::key(10), Some(ISSUER), 1);
    let good_ku = encode(0x03, &[0x01, 0x06]);
    let good_bc = encode(der::SEQUENCE, &encode(0x01, &[0xff]));
    let root_with = |intermediate: Vec<u8>| {
        let mut root = pki.trusted_root();
        root["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
            json!(B64.encode(intermediate));
        root_of(&root)
    };
    let ok = root_with(intermediate_with(&pki, &good_ku, &good_bc));
    assert!(
        chain::verify(
            &leaf,
            &[],
            &ok.certificate_authorities,
            T0 + 60,
            Purpose::CodeSigning
        )
        .is_ok(),
        "the hand-built intermediate must chain when well formed"
    );
    // keyUsage as an OCTET STRING instead of a BIT STRING.
    let broken_ku = root_with(intermediate_with(&pki, &encode(0x04, &[0x06]), &good_bc));
    let err = chain_error(&broken_ku, &leaf);
    assert!(err.contains("malformed extension 2.5.29.15"), "{err}");
    // basicConstraints as a bare BOOLEAN, not a SEQUENCE.
    let broken_bc = encode(0x01, &[0xff]);
    let broken_bc = root_with(intermediate_with(&pki, &good_ku, &broken_bc));
    let err = chain_error(&broken_bc, &leaf);
    assert!(err.contains("2.5.29.19"), "{err}");
}

#[test]
fn the_signature_algorithm_outside_must_be_the_one_inside() {
    let pki = Pki::new(LATER);
    let root = root_of(&pki.trusted_root());
    let mut leaf = pki.leaf(&testpki::key(10), Some(ISSUER), 1);
    // The outer AlgorithmIdentifier follows the TBS: ecdsa-with-SHA256's last
    // arc becomes SHA-384's, so the two copies disagree.
    let oid = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    let at = leaf
        .windows(oid.len())
        .rposition(|w| w == oid)
        .expect("the outer algorithm");
    leaf[at + oid.len() - 1] = 0x03;
    let err = chain_error(&root, &leaf);
    assert!(err.contains("differs from the one inside"), "{err}");
}

#[test]
fn an_ecdsa_algorithm_does_not_verify_with_an_rsa_issuer_nor_pkcs1_accept_pss() {
    use sigward_core::public_key::{HashAlgorithm, PublicKey};
    let dir = sigward_tests::project_root().join("tests/data/keys");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let rsa = PublicKey::from_pem(&String::from_utf8(read("rsa.pub")).unwrap()).unwrap();
    let digest = Sha256::digest(read("msg"));
    // The X.509 path verifies RSA with PKCS#1 v1.5 alone.
    assert!(
        rsa.verify_pkcs1v15(&digest, HashAlgorithm::Sha256, &read("rsa-v15.sig"))
            .is_ok()
    );
    assert!(
        rsa.verify_pkcs1v15(&digest, HashAlgorithm::Sha256, &read("rsa-pss.sig"))
            .is_err()
    );
    // A P-256-signed certificate checked with an RSA issuer key: refused for
    // the key type, before any signature arithmetic.
    let pki = Pki::new(LATER);
    let leaf = pki.leaf(&testpki::key(10), Some(ISSUER), 1);
    let (_, cert) = <x509_parser::certificate::X509Certificate as x509_parser::prelude::FromDer<
        _,
    >>::from_der(&leaf)
    .unwrap();
    let err = sigward_core::x509::signature::verify(&rsa, &cert)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected a signature by an ECDSA key"),
        "{err}"
    );
}
