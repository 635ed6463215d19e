//! TUF metadata at each step of an update, after the real steps before it:
//! the frozen Sigstore repository's root, timestamp and snapshot, at the
//! time it was frozen. The first byte picks the step; the rest is the file.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sigward_core::tuf::trusted::TrustedSet;

const ROOT: &[u8] = include_bytes!(
    "../../../shared/tuf-conformance/tuf_conformance/static_data/sigstore-root-signing/initial_root.json"
);
const TIMESTAMP: &[u8] = include_bytes!(
    "../../../shared/tuf-conformance/tuf_conformance/static_data/sigstore-root-signing/metadata/timestamp.json"
);
const SNAPSHOT: &[u8] = include_bytes!(
    "../../../shared/tuf-conformance/tuf_conformance/static_data/sigstore-root-signing/metadata/159.snapshot.json"
);
/// 2025-02-09T12:02:08Z, the repository's `faketime`.
const NOW: i64 = 1_739_102_528;

/// The trusted set after the real root, after the real timestamp, and
/// after the real snapshot: verified once, cloned for each input.
fn prefixes() -> &'static [Option<TrustedSet>; 3] {
    static SETS: OnceLock<[Option<TrustedSet>; 3]> = OnceLock::new();
    SETS.get_or_init(|| {
        let root = TrustedSet::new(ROOT, NOW).ok();
        let timestamp = root
            .clone()
            .and_then(|mut s| s.update_timestamp(TIMESTAMP).ok().map(|_| s));
        let snapshot = timestamp
            .clone()
            .and_then(|mut s| s.update_snapshot(SNAPSHOT, false).ok().map(|_| s));
        [root, timestamp, snapshot]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((step, file)) = data.split_first() else {
        return;
    };
    let [root, timestamp, snapshot] = prefixes();
    match step % 5 {
        0 => {
            let _ = TrustedSet::new(file, NOW);
        }
        1 => {
            if let Some(mut set) = root.clone() {
                let _ = set.update_root(file);
            }
        }
        2 => {
            if let Some(mut set) = root.clone() {
                let _ = set.update_timestamp(file);
            }
        }
        3 => {
            if let Some(mut set) = timestamp.clone() {
                let _ = set.update_snapshot(file, data.len() % 2 == 0);
            }
        }
        _ => {
            if let Some(mut set) = snapshot.clone() {
                let _ = set.update_targets("targets", "root", file, false);
            }
        }
    }
});
