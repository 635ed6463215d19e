//! Bundle JSON (v0.1 to v0.3): parsing never panics and stays bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigward_core::bundle::Bundle;

fuzz_target!(|data: &[u8]| {
    let _ = Bundle::parse(data);
});
