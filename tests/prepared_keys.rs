//! Keys fixed by a trusted root verify with precomputed multiples
//! (`fixed_base`). They must agree with the curve crates' own verification
//! on every signature, valid or not: differential checks over many keys,
//! messages and single-byte edits, on P-256 (the test PKI) and P-384 (a
//! signature made by OpenSSL).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sigward_core::fixed_base::PreparedKey;
use sigward_core::public_key::{HashAlgorithm, PublicKey};
use sigward_tests::project_root;
use sigward_tests::testpki;

/// Both verifiers' answers on `signature`, which must be the same.
fn agree(key: &PublicKey, prepared: &PreparedKey, message: &[u8], signature: &[u8]) -> bool {
    let plain = key.verify(message, signature).is_ok();
    let fast = prepared
        .verify_with_hash(message, signature, key.default_hash())
        .is_ok();
    assert_eq!(
        plain, fast,
        "message {message:?}, signature {signature:02x?}"
    );
    fast
}

/// With each hash a certificate may name: digests shorter and longer than
/// the curve's order are truncated or padded alike.
fn agree_with_every_hash(
    key: &PublicKey,
    prepared: &PreparedKey,
    message: &[u8],
    signature: &[u8],
) {
    for hash in [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        assert_eq!(
            key.verify_with_hash(message, signature, hash).is_ok(),
            prepared.verify_with_hash(message, signature, hash).is_ok(),
            "{hash:?}"
        );
    }
}

/// Every single-byte edit of `signature` (each byte xor 0x01 and 0x80), and
/// a truncation: none may verify on one side only.
fn edits(key: &PublicKey, prepared: &PreparedKey, message: &[u8], signature: &[u8]) -> usize {
    let mut accepted = 0;
    for i in 0..signature.len() {
        for flip in [0x01u8, 0x80] {
            let mut edited = signature.to_vec();
            edited[i] ^= flip;
            accepted += usize::from(agree(key, prepared, message, &edited));
        }
    }
    accepted += usize::from(agree(
        key,
        prepared,
        message,
        &signature[..signature.len() - 1],
    ));
    accepted
}

#[test]
fn p256_agrees_with_the_curve_crate() {
    for seed in 1..=8u8 {
        let signer = testpki::key(seed);
        let key = PublicKey::from_spki_der(&testpki::spki(&signer)).unwrap();
        let prepared = PreparedKey::new(&key).expect("P-256 keys are prepared");
        for message in [&b""[..], b"a", b"sigward", &[0xffu8; 300]] {
            let signature = testpki::sign(&signer, message);
            assert!(agree(&key, &prepared, message, &signature));
            agree_with_every_hash(&key, &prepared, message, &signature);
            assert!(!agree(&key, &prepared, b"another message", &signature));
            assert_eq!(edits(&key, &prepared, message, &signature), 0);
        }
        // Another key's signature.
        let other = testpki::sign(&testpki::key(seed.wrapping_add(100)), b"sigward");
        assert!(!agree(&key, &prepared, b"sigward", &other));
    }
}

#[test]
fn p384_agrees_with_the_curve_crate() {
    let dir = project_root().join("tests/data/keys");
    let key =
        PublicKey::from_pem(&std::fs::read_to_string(dir.join("P-384.pub")).unwrap()).unwrap();
    let prepared = PreparedKey::new(&key).expect("P-384 keys are prepared");
    let message = std::fs::read(dir.join("msg")).unwrap();
    let signature = std::fs::read(dir.join("P-384.sig")).unwrap();
    assert!(agree(&key, &prepared, &message, &signature));
    agree_with_every_hash(&key, &prepared, &message, &signature);
    assert!(!agree(&key, &prepared, b"another message", &signature));
    assert_eq!(edits(&key, &prepared, &message, &signature), 0);
}

#[test]
fn other_keys_are_not_prepared() {
    let dir = project_root().join("tests/data/keys");
    for name in ["rsa.pub", "ed.pub", "P-521.pub"] {
        let key = PublicKey::from_pem(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        assert!(PreparedKey::new(&key).is_none(), "{name}");
    }
}
