//! `sigward trust` end to end, on the frozen copy of Sigstore's TUF
//! repository that the tuf-conformance suite carries, at the time it was
//! frozen (through Debian's `faketime`, as the suite runs its clients): an
//! update, the air-gapped export and import, and `verify-bundle` taking the
//! cached trusted root, current or not.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn frozen_repository() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/tuf-conformance/tuf_conformance/static_data/sigstore-root-signing");
    assert!(
        dir.join("initial_root.json").is_file(),
        "the TUF conformance suite must be at {} (CI puts ../shared beside the project)",
        dir.display()
    );
    dir
}

/// The repository laid out as Sigstore's CDN is (metadata at the top,
/// targets under `targets/`), in a fresh directory.
fn cdn_layout(into: &Path) -> PathBuf {
    let repo = frozen_repository();
    let dir = into.join("cdn");
    std::fs::create_dir_all(dir.join("targets")).unwrap();
    for (from, to) in [
        (repo.join("metadata"), dir.clone()),
        (repo.join("targets"), dir.join("targets")),
    ] {
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
    dir
}

/// `sigward ARGS` at the frozen time (or now), with its own home.
fn sigward(home: &Path, frozen: bool, args: &[&str]) -> Output {
    let mut command = if frozen {
        let when = std::fs::read_to_string(frozen_repository().join("faketime")).unwrap();
        let mut c = Command::new("faketime");
        c.arg(when.trim()).arg(env!("CARGO_BIN_EXE_sigward"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_sigward"))
    };
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("SIGWARD_TRUSTED_ROOT")
        .output()
        .expect("faketime (Debian's faketime) and sigward run")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn target_bytes() -> Vec<u8> {
    let dir = frozen_repository().join("targets");
    let entry = std::fs::read_dir(dir).unwrap().next().unwrap().unwrap();
    std::fs::read(entry.path()).unwrap()
}

#[test]
fn update_export_and_import_across_an_air_gap() {
    let tmp = tempdir("air-gap");
    let cdn = cdn_layout(&tmp);
    let initial = frozen_repository().join("initial_root.json");
    let connected = tmp.join("connected");
    let cache = connected.join("cache");

    let out = sigward(
        &connected,
        true,
        &[
            "trust",
            "update",
            "--repository",
            cdn.to_str().unwrap(),
            "--root",
            initial.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("root version 12"), "{}", text(&out));
    assert_eq!(
        std::fs::read(cache.join("targets/trusted_root.json")).unwrap(),
        target_bytes()
    );

    // The same cache, checked offline: current then, expired now.
    let status = ["trust", "status", "--cache", cache.to_str().unwrap()];
    let out = sigward(&connected, true, &status);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = sigward(&connected, false, &status);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("tuf.expiry: root expired at 2025-"),
        "{}",
        text(&out)
    );

    // Export, carry, import into an empty cache on the other side.
    let export = tmp.join("usb");
    let out = sigward(
        &connected,
        true,
        &[
            "trust",
            "export",
            export.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for file in [
        "12.root.json",
        "timestamp.json",
        "159.snapshot.json",
        "11.targets.json",
    ] {
        assert!(
            export.join(file).is_file(),
            "{file} not exported: {}",
            text(&out)
        );
    }
    let isolated = tmp.join("isolated");
    let url = format!("file://{}", export.display());
    let out = sigward(
        &isolated,
        true,
        &[
            "trust",
            "update",
            "--repository",
            &url,
            "--root",
            initial.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A directory is a mirror of the public-good repository: its cache.
    let imported =
        isolated.join("cache/sigward/tuf/tuf-repo-cdn.sigstore.dev/targets/trusted_root.json");
    assert_eq!(std::fs::read(&imported).unwrap(), target_bytes());

    // verify-bundle takes the cached root, says so, and gets to the bundle.
    let bundle = tmp.join("bundle.json");
    std::fs::write(&bundle, b"{}").unwrap();
    let key = tmp.join("key.pem");
    std::fs::write(
        &key,
        b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let verify = [
        "verify-bundle",
        "--offline",
        "--bundle",
        bundle.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ];
    let out = sigward(&isolated, true, &verify);
    assert!(
        text(&out).contains("(from the TUF cache, current until 2025-"),
        "{}",
        text(&out)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "refused as a bundle, not for want of a root: {}",
        text(&out)
    );
    // Now, offline: the cache has expired, and that is reported.
    let out = sigward(&isolated, false, &verify);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is not current (tuf.expiry: root expired at 2025-"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("--offline forbids updating it"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_tampered_export_is_refused_on_the_other_side() {
    let tmp = tempdir("tampered");
    let cdn = cdn_layout(&tmp);
    let initial = frozen_repository().join("initial_root.json");
    let target = std::fs::read_dir(cdn.join("targets"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut body = std::fs::read(&target).unwrap();
    let last = body.len() - 2;
    body[last] ^= 1;
    std::fs::write(&target, body).unwrap();
    let out = sigward(
        &tmp,
        true,
        &[
            "trust",
            "update",
            "--repository",
            cdn.to_str().unwrap(),
            "--root",
            initial.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("tuf.hashes: trusted_root.json: expected sha256"),
        "{}",
        text(&out)
    );
    assert!(
        !tmp.join("cache/sigward/tuf/tuf-repo-cdn.sigstore.dev/targets/trusted_root.json")
            .exists()
    );
}

#[test]
fn a_new_repository_needs_a_root_to_start_from() {
    let tmp = tempdir("no-root");
    let out = sigward(
        &tmp,
        false,
        &[
            "trust",
            "update",
            "--repository",
            "https://tuf.example.test",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("pass --root FILE"), "{}", text(&out));
}

fn tempdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("trust-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
