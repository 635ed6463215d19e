//! RFC 3161 responses and tokens (a DER reader of the project's own), verified
//! against the test PKI's timestamp authority.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sigward_core::timestamp;

fuzz_target!(|data: &[u8]| {
    let root = common::test_root();
    let _ = timestamp::verify(data, b"a signature", &root.timestamp_authorities);
    let production = common::production_root();
    let _ = timestamp::verify(data, b"a signature", &production.timestamp_authorities);
});
