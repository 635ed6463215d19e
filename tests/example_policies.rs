//! The example policies in `policies/`: each loads, in the component too, and
//! matches what its comments promise.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sigward_tests::{Answer, component_match, component_policy, native_match, project_root};

fn check(file: &str, cases: &[(&str, Option<u32>, &str)]) {
    let text = std::fs::read_to_string(project_root().join("policies").join(file)).unwrap();
    let native = sigward_core::Policy::parse(&text).unwrap_or_else(|e| panic!("{file}: {e:?}"));
    assert!(
        native.warnings().is_empty(),
        "{file}: {:?}",
        native.warnings()
    );
    let mut session = component_policy(&text);
    for (image, rule, action) in cases {
        let answer = native_match(&native, image);
        assert_eq!(
            answer,
            component_match(&mut session, image),
            "{file} {image}"
        );
        match answer {
            Answer::Matched {
                rule: r, action: a, ..
            } => {
                assert_eq!((r, a), (*rule, *action), "{file} {image}")
            }
            Answer::Invalid(e) => panic!("{file} {image}: {e}"),
        }
    }
}

#[test]
fn talos_open_policy() {
    check(
        "talos-open.yaml",
        &[
            ("registry.k8s.io/kube-apiserver:v1.31.0", Some(0), "verify"),
            ("ghcr.io/siderolabs/installer:v1.13.0", Some(1), "verify"),
            ("ghcr.io/siderolabs/talosctl", Some(1), "verify"),
            ("nginx:1.27", None, "none"),
            ("quay.io/cilium/cilium:v1.16.0", None, "none"),
        ],
    );
}

#[test]
fn talos_closed_policy() {
    check(
        "talos-closed.yaml",
        &[
            ("registry.k8s.io/pause:3.10", Some(0), "verify"),
            ("ghcr.io/siderolabs/kubelet:v1.31.0", Some(1), "verify"),
            ("nginx", Some(2), "deny"),
            ("localhost:5000/app", Some(2), "deny"),
        ],
    );
}

#[test]
fn talos_skip_policy() {
    check(
        "talos-skip.yaml",
        &[
            (
                "registry.k8s.io/e2e-test-images/agnhost:2.39",
                Some(0),
                "skip",
            ),
            ("registry.k8s.io/coredns/coredns:v1.11.1", Some(1), "verify"),
            ("ghcr.io/siderolabs/flannel:v0.25.1", Some(2), "verify"),
            ("docker.io/library/busybox", Some(3), "deny"),
        ],
    );
}

#[test]
fn public_key_policy() {
    check(
        "public-key.json",
        &[
            ("registry.example.com/platform/api:v2", Some(0), "verify"),
            ("registry.example.com/sandbox/tool", Some(1), "skip"),
            ("localhost:5000/dev/app", Some(2), "skip"),
            ("registry.example.com/other", Some(3), "deny"),
        ],
    );
}
