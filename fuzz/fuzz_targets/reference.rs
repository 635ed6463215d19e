//! Image references: parsing, normalization, and matching against the
//! example policy's patterns. A reference that parses must parse again,
//! unchanged, from its own normalized form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigward_core::{Policy, Reference};

const POLICY: &str = include_str!("../../policies/talos-open.yaml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(reference) = Reference::parse(text) {
        let mut again = reference.repository();
        if let Some(tag) = reference.tag() {
            again = format!("{again}:{tag}");
        }
        if let Some(digest) = reference.digest() {
            again = format!("{again}@{digest}");
        }
        let reparsed = Reference::parse(&again).expect("a normalized reference parses");
        assert_eq!(reparsed.repository(), reference.repository());
        assert_eq!(reparsed.tag(), reference.tag());
    }
    if let Ok(policy) = Policy::parse(POLICY) {
        let _ = policy.match_image(text);
    }
});
