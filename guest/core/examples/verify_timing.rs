//! Native timing of one whole bundle verification, built with `--release`:
//! `cargo run --release -p sigward-core --example verify_timing -- ../shared`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use sigward_core::policy::KeylessIdentity;
use sigward_core::verify::bundle::{self, Artifact, Signer};

fn main() {
    let shared = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../shared".into()),
    );
    let artifact = std::fs::read(shared.join("conformance/bundle-verify/a.txt")).unwrap();
    let identity = KeylessIdentity::new(
        "https://token.actions.githubusercontent.com".into(),
        Some("https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into()),
        None,
    )
    .unwrap();
    for case in ["happy-path-v0.3", "rekor2-happy-path"] {
        let dir = shared.join("conformance/bundle-verify").join(case);
        let root_path = if dir.join("trusted_root.json").exists() {
            dir.join("trusted_root.json")
        } else {
            shared.join("corpus/root-signing/targets/trusted_root.json")
        };
        let root = sigward_core::TrustedRoot::parse(&std::fs::read(root_path).unwrap()).unwrap();
        let json = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();
        let run = || {
            bundle::verify_json(
                &json,
                Artifact::Bytes(&artifact),
                Signer::Keyless(&identity),
                &root,
                &mut Vec::new(),
            )
            .unwrap()
        };
        run();
        let mut samples: Vec<f64> = (0..200)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        samples.sort_by(f64::total_cmp);
        println!(
            "{case}: native release median {:.0} us  p10 {:.0}  p90 {:.0} (n=200)",
            samples[100], samples[20], samples[180]
        );
    }
}
