//! `sigward-demo` writes a layout the host can open, with the policy, trusted
//! root and image list beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use sigward_host::oci::layout::Layout;
use sigward_host::oci::{Reference, Store};

#[test]
fn the_demo_writes_a_world() {
    let out = std::env::temp_dir().join(format!("sigward-demo-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_sigward-demo"))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let policy = std::fs::read_to_string(out.join("policy.yaml")).unwrap();
    assert!(policy.contains("kind: ImageVerificationConfig"));
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("trusted_root.json")).unwrap()).unwrap();
    assert!(root["certificateAuthorities"].is_array());
    let list = std::fs::read_to_string(out.join("images.txt")).unwrap();
    let mut layout = Layout::open(&out.join("layout")).unwrap();
    // Every image the demo signs is in the layout, by its tag.
    let signed = ["signed/legacy:v1", "signed/referrer:v1", "keyed/tool:v1"];
    for path in signed {
        let image = format!("registry.demo.test/{path}");
        assert!(list.lines().any(|l| l.starts_with(&format!("{image}\t"))));
        let reference: Reference = image.parse().unwrap();
        assert!(layout.resolve(&reference).unwrap().starts_with("sha256:"));
    }
    // Writing twice gives the same layout: the demo is reproducible.
    let first = std::fs::read(out.join("layout/index.json")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_sigward-demo"))
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(std::fs::read(out.join("layout/index.json")).unwrap(), first);
    let _ = std::fs::remove_dir_all(&out);
}
