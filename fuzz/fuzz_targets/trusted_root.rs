//! `trusted_root.json`: parsing and the load-time checks of the authorities' links.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigward_core::trust_root::TrustedRoot;

fuzz_target!(|data: &[u8]| {
    let _ = TrustedRoot::parse(data);
});
