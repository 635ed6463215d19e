//! The policy loader reads YAML with yaml-rust2 (memory-safe Rust), no longer
//! with serde_yaml_ng (libyaml translated from C). Both must read every
//! document a policy can be the same way: the example policies, the demo's,
//! and documents that exercise each YAML construct a hand-written policy
//! may use. Where they differ on purpose (duplicate keys, which Talos
//! refuses; aliases past the budget), the new reader refuses.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use sigward_core::policy::document_tree;

fn libyaml(text: &str) -> Result<Value, String> {
    serde_yaml_ng::from_str::<Value>(text).map_err(|e| e.to_string())
}

fn same(text: &str) {
    let ours = document_tree(text).map_err(|e| e.to_string());
    let theirs = libyaml(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "read differently:\n{text}"),
        (Err(_), Err(_)) => {}
        _ => panic!("one reader refused:\n{text}\nyaml-rust2: {ours:?}\nlibyaml: {theirs:?}"),
    }
}

#[test]
fn the_example_and_demo_policies_read_alike() {
    let root = sigward_tests::project_root();
    let mut read = 0;
    for dir in ["policies"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            same(&text);
            read += 1;
        }
    }
    let world = sigward_demo::fill(
        &mut sigward_host::oci::layout::Layout::create(
            &std::env::temp_dir().join(format!("sigward-yaml-{}", std::process::id())),
        )
        .unwrap(),
        "registry.demo.test",
    )
    .unwrap();
    same(&world.policy);
    assert!(read >= 4);
}

const HEADER: &str = "apiVersion: v1alpha1\nkind: ImageVerificationConfig\n";

#[test]
fn each_yaml_construct_reads_alike() {
    let documents = [
        // Block and flow styles, comments, document markers.
        "rules:\n  - image: ghcr.io/org/*  # a comment\n    skip: true\n",
        "rules: [{image: 'x.io/*', deny: true}, {image: \"y.io/*\", skip: yes}]\n",
        "---\nrules:\n- image: a\n  skip: true\n...\n",
        "# leading comment\n\nrules:\n\n  - image: a\n\n    skip: true\n",
        // Scalars: quoting styles, escapes, block scalars, keys with colons.
        "rules:\n  - image: 'it''s'\n    keyless: {issuer: \"https://x\\u0041\\n\", subject: plain text here}\n",
        "rules:\n  - image: a\n    publicKey:\n      certificate: |\n        -----BEGIN PUBLIC KEY-----\n        abc\n        -----END PUBLIC KEY-----\n",
        "rules:\n  - image: a\n    publicKey:\n      certificate: >-\n        folded\n        lines\n\n        kept\n",
        "rules:\n  - image: a\n    publicKey:\n      certificate: |+\n        keep\n\n",
        "key: \"a: b\"\nurl: https://example.com:8443/path?q=1#frag\n",
        // Resolution of plain scalars by the core schema.
        "a: true\nb: False\nc: TRUE\nd: null\ne: ~\nf:\ng: 12\nh: -7\ni: 0x1F\nj: 0o17\nk: 1.5\nl: -.5\nm: 1e3\nn: .inf\no: yes\np: no\nq: on\nr: 007\ns: +12\nt: 1_000\nu: 2001-12-14\nv: 12.\n",
        "neg: -9223372036854775808\nover: 18446744073709551615\n",
        // Core tags.
        "a: !!str 123\nb: !!str true\nc: !!int 42\nd: !!bool true\n",
        // Anchors and aliases.
        "base: &b {issuer: 'https://x', subject: me}\nrules:\n  - image: a\n    keyless: *b\n",
        "list: &l [a, b]\nagain: *l\n",
        // Unicode, a byte-order mark, CRLF line ends, tabs inside scalars.
        "\u{feff}rules:\n  - image: \"ü.io/*\"\n    skip: true\n",
        "rules:\r\n  - image: a\r\n    skip: true\r\n",
        "a: \"tab\there\"\nb: 'x'\n",
        // Empty and odd documents.
        "",
        "# only a comment\n",
        "just a string\n",
        "- a\n- b\n",
        "{}\n",
        // Malformed: both must refuse.
        "rules: [\n",
        "a: b: c\n",
        "a:\n  - b\n c: d\n",
        "rules:\n\t- image: a\n",
        "a: *nothing\n",
        "--- a\n--- b\n",
    ];
    for text in documents {
        same(text);
        // A byte-order mark belongs at the start of the stream only.
        if !text.starts_with('\u{feff}') {
            same(&format!("{HEADER}{text}"));
        }
    }
}

#[test]
fn where_talos_refuses_the_new_reader_refuses() {
    // Go's yaml.v3, which Talos decodes with, refuses duplicate keys.
    let duplicate = "rules:\n  - image: a\n    image: b\n    skip: true\n";
    let err = document_tree(duplicate).unwrap_err().to_string();
    assert!(err.contains("`image` appears more than once"), "{err}");
    // Keys that are not strings cannot name a policy field.
    let err = document_tree("? [a, b]\n: c\n").unwrap_err().to_string();
    assert!(err.contains("keys must be strings"), "{err}");
    // An integer past 64 bits is a float here, as Go's decoder widens it;
    // serde_yaml_ng refuses it (serde_json has no number that large).
    let big = document_tree("big: 123456789012345678901234567890\n").unwrap();
    assert!(big["big"].as_f64().is_some_and(|f| f > 1e29), "{big}");
    // Nesting past the limit, and an alias bomb past the node budget.
    let deep = format!("a: {}{}\n", "[".repeat(65), "]".repeat(65));
    let err = document_tree(&deep).unwrap_err().to_string();
    assert!(err.contains("at most 64"), "{err}");
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (name, previous) in ["b", "c", "d", "e", "f", "g"]
        .iter()
        .zip(["a", "b", "c", "d", "e", "f"])
    {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{previous}"); 10].join(", ")
        ));
    }
    let err = document_tree(&bomb).unwrap_err().to_string();
    assert!(err.contains("more than 1000000 values"), "{err}");
}
