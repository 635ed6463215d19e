//! Whole bundle verification against the production root (the conformance
//! seeds verify there) and the test PKI's, keyless, by bytes and by digest.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use sigward_core::verify::bundle::{Artifact, Signer, verify_json};

/// The conformance suite's artifact (`a.txt`), the one its bundles sign.
const ARTIFACT: &[u8] = b"DO NOT TRUST\n";

fuzz_target!(|data: &[u8]| {
    let beacon = common::beacon();
    let digest: [u8; 32] = Sha256::digest(ARTIFACT).into();
    for artifact in [Artifact::Bytes(ARTIFACT), Artifact::Digest(digest)] {
        let _ = verify_json(
            data,
            artifact,
            Signer::Keyless(&beacon),
            common::production_root(),
            &mut Vec::new(),
        );
    }
    let identity = common::test_identity();
    let _ = verify_json(
        data,
        Artifact::Bytes(b"the artifact\n"),
        Signer::Keyless(&identity),
        common::test_root(),
        &mut Vec::new(),
    );
});
