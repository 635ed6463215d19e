//! Timings for the notes: compiling the component, loading a policy, one warm
//! `match` call through the component, and a whole `sigward match` process.
//! Prints medians and spread; asserts nothing. Run with `just timing`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use sigward_core::verify::bundle as core_bundle;
use sigward_host::runtime::{Artifact, KeylessIdentity, Signer};
use sigward_host::{Limits, Runtime};

const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const ACTIONS: &str = "https://token.actions.githubusercontent.com";

/// One whole offline verification of real conformance bundles, warm, in the
/// component and natively.
fn bundles(runtime: &Runtime, policy: &str) {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    let artifact = std::fs::read(shared.join("conformance/bundle-verify/a.txt")).unwrap();
    for case in ["happy-path-v0.3", "rekor2-happy-path"] {
        let dir = shared.join("conformance/bundle-verify").join(case);
        let root_path = if dir.join("trusted_root.json").exists() {
            dir.join("trusted_root.json")
        } else {
            shared.join("corpus/root-signing/targets/trusted_root.json")
        };
        let root_json = std::fs::read(root_path).unwrap();
        let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap();

        let mut session = runtime.load_policy(policy).unwrap().unwrap();
        let root = session.load_trusted_root(&root_json).unwrap().unwrap();
        let signer = Signer::Keyless(KeylessIdentity {
            issuer: ACTIONS.into(),
            subject: Some(BEACON.into()),
            subject_regex: None,
        });
        let input = Artifact::Bytes(artifact.clone());
        let mut once = || {
            session
                .verify_bundle(&bundle, &input, &signer, &root)
                .unwrap()
                .unwrap()
        };
        once();
        println!("verify {case:<18} component {}", time(200, || drop(once())));

        let core_root = sigward_core::TrustedRoot::parse(&root_json).unwrap();
        let identity =
            sigward_core::policy::KeylessIdentity::new(ACTIONS.into(), Some(BEACON.into()), None)
                .unwrap();
        let native = || {
            core_bundle::verify_json(
                &bundle,
                core_bundle::Artifact::Bytes(&artifact),
                core_bundle::Signer::Keyless(&identity),
                &core_root,
                &mut Vec::new(),
            )
            .unwrap()
        };
        println!("verify {case:<18} native    {}", time(200, native));
    }
}

/// Median and the 10th to 90th percentile range of `runs` timings.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    format!(
        "median {:>10.1?}  p10 {:>10.1?}  p90 {:>10.1?}  (n={})",
        at(0.5),
        at(0.1),
        at(0.9),
        samples.len()
    )
}

fn time(runs: usize, mut f: impl FnMut()) -> String {
    summary(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let policy = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/talos-skip.yaml"
    ))
    .unwrap();
    let cache = std::env::temp_dir().join(format!("sigward-timing-{}", std::process::id()));

    println!("component: {} bytes", Runtime::component_bytes().len());
    println!(
        "compile, no cache        {}",
        time(3, || drop(Runtime::new(Limits::default(), None).unwrap()))
    );
    drop(Runtime::new(Limits::default(), Some(&cache)).unwrap());
    println!(
        "compile, warm disk cache {}",
        time(10, || drop(
            Runtime::new(Limits::default(), Some(&cache)).unwrap()
        ))
    );

    let runtime = Runtime::new(Limits::default(), Some(&cache)).unwrap();
    println!(
        "instantiate + load policy {}",
        time(200, || drop(runtime.load_policy(&policy).unwrap().unwrap()))
    );
    let mut session = runtime.load_policy(&policy).unwrap().unwrap();
    for _ in 0..1000 {
        session
            .match_image("ghcr.io/siderolabs/talosctl:v1.13.0")
            .unwrap()
            .unwrap();
    }
    println!(
        "match, warm instance     {}",
        time(10_000, || drop(
            session
                .match_image("ghcr.io/siderolabs/talosctl:v1.13.0")
                .unwrap()
                .unwrap()
        ))
    );

    let native = sigward_core::Policy::parse(&policy).unwrap();
    println!(
        "match, native            {}",
        time(10_000, || drop(
            native
                .match_image("ghcr.io/siderolabs/talosctl:v1.13.0")
                .unwrap()
        ))
    );

    bundles(&runtime, &policy);

    let bin = env!("CARGO_BIN_EXE_sigward");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/talos-skip.yaml");
    let run = || {
        let out = Command::new(bin)
            .args(["match", "--policy", path, "nginx"])
            .env("SIGWARD_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    run();
    println!("process start to answer, warm cache {}", time(20, run));
    let _ = std::fs::remove_dir_all(&cache);
}
