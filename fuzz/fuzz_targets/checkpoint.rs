//! Signed checkpoints (signed notes): parsing, and the signature check against
//! every log of the production and test roots, with and without an origin.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sigward_core::checkpoint::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(checkpoint) = Checkpoint::parse(text) else {
        return;
    };
    for root in [common::production_root(), common::test_root()] {
        for log in &root.tlogs {
            let _ = checkpoint.verify(log, None);
            let _ = checkpoint.verify(log, Some("rekor.sigstore.dev"));
        }
    }
});
