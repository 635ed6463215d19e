//! The sigstore-conformance suite through `sigward verify-bundle`, so through
//! the component: 70 cases, once with the artifact's path and once with its
//! digest. Every outcome must be the one INDEX.tsv gives.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

fn conformance_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    assert!(
        dir.join("INDEX.tsv").is_file(),
        "the conformance suite must be at {} (CI puts ../shared beside the project)",
        dir.display()
    );
    dir
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn all_140_conformance_runs_through_the_cli() {
    let dir = conformance_dir();
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let header: Vec<&str> = index.lines().next().unwrap().split('\t').collect();
    let production = dir.join("../corpus/root-signing/targets/trusted_root.json");
    let mut wrong = Vec::new();
    let mut runs = 0;
    for line in index.lines().skip(1) {
        let row: HashMap<&str, &str> = header.iter().copied().zip(line.split('\t')).collect();
        let root = if row["trusted_root"].starts_with("PRODUCTION") {
            production.clone()
        } else {
            dir.join(row["trusted_root"])
        };
        let artifact = dir.join(row["artifact"]);
        let digest = format!("sha256:{}", sha256_hex(&std::fs::read(&artifact).unwrap()));
        for target in [artifact.to_str().unwrap().to_owned(), digest] {
            runs += 1;
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigward"));
            cmd.arg("verify-bundle")
                .arg("--bundle")
                .arg(
                    dir.join("bundle-verify")
                        .join(row["case"])
                        .join("bundle.sigstore.json"),
                )
                .arg("--trusted-root")
                .arg(&root);
            if row["verify_with"] == "key" {
                cmd.arg("--key").arg(dir.join(row["key"]));
            } else {
                cmd.args(["--certificate-identity", row["certificate_identity"]]);
                cmd.args(["--certificate-oidc-issuer", row["certificate_oidc_issuer"]]);
            }
            let out = cmd.arg(&target).output().unwrap();
            let verified = out.status.success();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if verified != (row["expected"] == "pass") {
                wrong.push(format!(
                    "{} on {target}: exit {:?}: {stderr}",
                    row["case"],
                    out.status.code()
                ));
            }
            if !verified {
                // A refusal says which check failed.
                assert!(
                    stderr.contains("verification failed: ")
                        || stderr.contains("invalid trusted root"),
                    "{}: {stderr}",
                    row["case"]
                );
            }
        }
    }
    assert_eq!(runs, 140);
    assert!(
        wrong.is_empty(),
        "{} of 140 runs wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn without_a_trusted_root_it_says_how_to_provide_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_sigward"))
        .args([
            "verify-bundle",
            "--bundle",
            "b.json",
            "--key",
            "k.pem",
            "sha256:00",
        ])
        .env_remove("SIGWARD_TRUSTED_ROOT")
        .env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--trusted-root")
            && stderr.contains("SIGWARD_TRUSTED_ROOT")
            && stderr.contains("sigward trust update"),
        "{stderr}"
    );
}
