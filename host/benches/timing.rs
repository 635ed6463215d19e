//! Timings for the notes: compiling the component, loading a policy, one warm
//! `match` call through the component, and a whole `sigward match` process.
//! Prints medians and spread; asserts nothing. Run with `just timing`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use sigward_host::{Limits, Runtime};

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
