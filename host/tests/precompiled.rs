//! Code compiled ahead of time (`sigward component --precompile`): used when
//! it is whole and made from the embedded component, and otherwise set
//! aside for compiling, with the reason.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sigward-precompiled-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `sigward ARGS` with this precompiled file (or none) and this cache.
fn sigward(args: &[&str], precompiled: Option<&Path>, cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigward"))
        .args(args)
        .env("SIGWARD_PRECOMPILED", precompiled.unwrap_or(Path::new("")))
        .env("SIGWARD_CACHE_DIR", cache)
        .output()
        .expect("sigward runs")
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The fast component's line about its machine code.
fn machine_code(out: &Output) -> String {
    text(out)
        .lines()
        .find(|l| l.contains("machine code:"))
        .unwrap_or_else(|| panic!("{}", text(out)))
        .trim()
        .to_owned()
}

const POLICY: &str = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: docker.io/*\n    deny: true\n";

/// `sigward match` answers (so the component ran); the cache's files after it.
fn match_and_cache(dir: &Path, precompiled: Option<&Path>, cache: &Path) -> usize {
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let out = sigward(
        &["match", "--policy", policy.to_str().unwrap(), "nginx"],
        precompiled,
        cache,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("deny"), "{}", text(&out));
    walk(cache)
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|e| {
                let path = e.unwrap().path();
                if path.is_dir() { walk(&path) } else { 1 }
            })
            .sum()
    })
}

fn precompile(dir: &Path) -> PathBuf {
    let file = dir.join("sigward.cwasm");
    let out = sigward(
        &["component", "--precompile", file.to_str().unwrap()],
        None,
        &dir.join("cache-for-precompile"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    file
}

#[test]
fn precompiled_code_is_run_without_compiling() {
    let dir = scratch("used");
    let file = precompile(&dir);
    let out = sigward(&["component"], Some(&file), &dir.join("cache-a"));
    assert_eq!(
        machine_code(&out),
        format!("machine code: precompiled, from {}", file.display())
    );
    // Nothing compiled, so nothing cached; without the file, the same
    // command compiles the component and caches it.
    assert_eq!(match_and_cache(&dir, Some(&file), &dir.join("cache-b")), 0);
    assert!(match_and_cache(&dir, None, &dir.join("cache-c")) > 0);
}

#[test]
fn a_damaged_or_foreign_file_is_set_aside_with_its_reason() {
    let dir = scratch("unused");
    let file = precompile(&dir);
    let good = std::fs::read(&file).unwrap();
    let header = b"sigward precompiled component 1\n".len();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let mut foreign = good.clone();
    foreign[header] ^= 1;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "garbage",
            b"not compiled code".to_vec(),
            "not a sigward precompiled file",
        ),
        ("truncated", good[..good.len() / 2].to_vec(), "damaged"),
        ("flipped", flipped, "damaged"),
        ("foreign", foreign, "compiled from another component"),
    ];
    for (name, bytes, reason) in cases {
        let path = dir.join(format!("{name}.cwasm"));
        std::fs::write(&path, bytes).unwrap();
        let out = sigward(
            &["component"],
            Some(&path),
            &dir.join(format!("cache-{name}")),
        );
        let line = machine_code(&out);
        assert!(
            line.contains("compiled or cached") && line.contains(reason),
            "{name}: {line}"
        );
        assert!(match_and_cache(&dir, Some(&path), &dir.join(format!("cache-m-{name}"))) > 0);
    }
    let out = sigward(
        &["component"],
        Some(&dir.join("absent.cwasm")),
        &dir.join("cache-absent"),
    );
    assert!(machine_code(&out).contains("no precompiled file"));
}

#[test]
fn compiled_code_is_cached_in_a_directory_of_its_own() {
    // wasmtime's cache cleanup deletes every file in its directory that it
    // did not write. The TUF cache and the Python package's compiled code
    // live beside it under the same `sigward` directory, so wasmtime's must
    // be a subdirectory: before, it was `sigward/` itself, and its cleanup
    // deleted a freshly updated TUF cache (seen under load in CI).
    let dir = scratch("own-directory");
    let cache = dir.join("cache");
    let tuf_root = cache.join("tuf/example/metadata/root.json");
    std::fs::create_dir_all(tuf_root.parent().unwrap()).unwrap();
    std::fs::write(&tuf_root, b"{}").unwrap();
    assert!(match_and_cache(&dir, None, &cache) > 1);
    let mut top: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["tuf", "wasmtime"]);
    assert!(walk(&cache.join("wasmtime")) > 0);
    assert!(tuf_root.is_file());
}
