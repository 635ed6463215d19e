//! The `sigward` binary as a user runs it: exit codes, output formats, and
//! working from any directory.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies")
}

/// Runs sigward from a directory that holds nothing of the project.
fn sigward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigward"))
        .args(args)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("sigward runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigward-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_accepts_every_example_policy_from_any_directory() {
    for entry in std::fs::read_dir(policies()).unwrap() {
        let path = entry.unwrap().path();
        let out = sigward(&["check", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            stdout(&out)
        );
        assert!(stdout(&out).contains(": valid, "), "{}", stdout(&out));
    }
}

#[test]
fn check_lists_every_error_and_exits_2() {
    let path = write_temp(
        "invalid.yaml",
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n\
         - image: a.io/*\n  keyless: {subject: me}\n\
         - image: b.io/*\n  skip: true\n  deny: true\n",
    );
    let out = sigward(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(text.contains("invalid, 2 errors"), "{text}");
    assert!(
        text.contains("error: rule (0000) keyless.issuer: keyless verification needs an issuer"),
        "{text}"
    );
    assert!(
        text.contains("error: rule (0001) skip: skip and deny cannot both be true"),
        "{text}"
    );
}

#[test]
fn check_prints_warnings_and_still_exits_0() {
    let path = write_temp(
        "warned.yaml",
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n\
         - image: '*'\n  deny: true\n\
         - image: ghcr.io/*\n  skip: true\n",
    );
    let out = sigward(&["check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("warning: rule (0001) image: rule can never match: rule (0000)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn check_of_a_missing_file_exits_2_with_a_reason() {
    let out = sigward(&["check", "/nonexistent/policy.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/policy.yaml"));
}

#[test]
fn match_json_gives_one_object_per_image() {
    let policy = policies().join("talos-skip.yaml");
    let images = [
        "registry.k8s.io/e2e-test-images/agnhost:2.39",
        "registry.k8s.io/pause:3.10",
        "nginx",
    ];
    let mut args = vec![
        "match",
        "--policy",
        policy.to_str().unwrap(),
        "--output",
        "json",
    ];
    args.extend(images);
    let out = sigward(&args);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let expected = [
        ("registry.k8s.io/e2e-test-images/agnhost", 0, "skip"),
        ("registry.k8s.io/pause", 1, "verify"),
        ("docker.io/library/nginx", 3, "deny"),
    ];
    for ((line, image), (reference, rule, action)) in lines.iter().zip(images).zip(expected) {
        assert_eq!(line["image"], image);
        assert_eq!(line["reference"], reference);
        assert_eq!(line["rule"], rule);
        assert_eq!(line["action"], action);
        assert!(line["error"].is_null());
    }
    assert_eq!(
        lines[2]["message"],
        "verification denied by matched rule (0003)"
    );
    assert_eq!(
        lines[1]["evidence"]["keyless"]["issuer"],
        "https://accounts.google.com"
    );
}

#[test]
fn match_reports_an_invalid_reference_and_exits_2() {
    let policy = policies().join("talos-open.yaml");
    let out = sigward(&[
        "match",
        "--policy",
        policy.to_str().unwrap(),
        "--output",
        "json",
        "nginx",
        "Bad/Name",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["action"], "none");
    assert_eq!(lines[0]["message"], "no matched rule");
    assert!(lines[0]["rule"].is_null());
    assert!(lines[1]["error"].as_str().unwrap().contains("lowercase"));
    assert!(lines[1]["rule"].is_null());
}

#[test]
fn match_with_an_invalid_policy_exits_2() {
    let path = write_temp(
        "empty-rule.yaml",
        "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n- image: x.io/*\n",
    );
    let out = sigward(&["match", "--policy", path.to_str().unwrap(), "nginx"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rule (0000) rule: rule has no action"));
}

#[test]
fn match_text_output_is_aligned() {
    let policy = policies().join("talos-closed.yaml");
    let out = sigward(&[
        "match",
        "--policy",
        policy.to_str().unwrap(),
        "nginx",
        "registry.k8s.io/kube-apiserver:v1.31.0",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let at = lines[0].find("REFERENCE").unwrap();
    assert!(
        lines[1][at..].starts_with("docker.io/library/nginx "),
        "{text}"
    );
    assert!(
        lines[2][at..].starts_with("registry.k8s.io/kube-apiserver "),
        "{text}"
    );
    assert!(
        lines[1].contains("verification denied by matched rule (0002)"),
        "{text}"
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(sigward(&["match", "nginx"]).status.code(), Some(2));
    assert_eq!(sigward(&["frobnicate"]).status.code(), Some(2));
}
