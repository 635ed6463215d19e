//! TUF metadata at each step of an update, after the real steps before it:
//! the frozen Sigstore repository's root, timestamp and snapshot, at the
//! time it was frozen. The first byte picks the step; the rest is the file.
#![no_main]

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

fuzz_target!(|data: &[u8]| {
    let Some((step, file)) = data.split_first() else {
        return;
    };
    let Ok(mut set) = TrustedSet::new(ROOT, NOW) else {
        return;
    };
    match step % 5 {
        0 => {
            let _ = TrustedSet::new(file, NOW);
        }
        1 => {
            let _ = set.update_root(file);
        }
        2 => {
            let _ = set.update_timestamp(file);
        }
        step => {
            if set.update_timestamp(TIMESTAMP).is_err() {
                return;
            }
            if step == 3 {
                let _ = set.update_snapshot(file, data.len() % 2 == 0);
                return;
            }
            if set.update_snapshot(SNAPSHOT, false).is_err() {
                return;
            }
            let _ = set.update_targets("targets", "root", file, false);
        }
    }
});
