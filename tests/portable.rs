//! The portable component (plain wasm, for hosts without the
//! `wide-arithmetic` proposal) against the fast one: it loads in an engine
//! with the proposal off, imports nothing, and gives the same answer, to the
//! last check and message, on every sigstore-conformance case (by bytes and
//! by digest) and on every image of the demo world.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};
use sigward_host::oci::discover;
use sigward_host::oci::layout::Layout;
use sigward_host::oci::{Reference, Store as _, digested_name};
use sigward_host::runtime::{Artifact, Build, BundleOutcome, KeylessIdentity, Signer};
use sigward_host::{Limits, Runtime};
use sigward_tests::{conformance_cases, conformance_root, shared_dir};

fn runtimes() -> [Runtime; 2] {
    Build::ALL.map(|build| {
        Runtime::with_build(
            build,
            Limits::default(),
            Runtime::default_cache_dir().as_deref(),
        )
        .unwrap_or_else(|e| panic!("the {} component loads: {e}", build.name()))
    })
}

#[test]
fn the_portable_component_needs_no_proposal_and_imports_nothing() {
    assert!(Build::Portable.required_features().is_empty());
    let [fast, portable] = runtimes();
    assert_eq!(portable.component_imports(), fast.component_imports());
    assert_eq!(
        portable.component_imports(),
        vec!["sigward:verifier/types@0.5.0"]
    );
    assert_ne!(Build::Fast.bytes(), Build::Portable.bytes());
}

/// The outcome as text, to compare every field.
fn outcome(result: BundleOutcome) -> String {
    format!("{result:?}")
}

#[test]
fn both_builds_agree_on_every_conformance_case() {
    let runtimes = runtimes();
    let conformance = shared_dir().join("conformance");
    let rows = conformance_cases();
    assert_eq!(rows.len(), 70);
    let mut compared = 0;
    for row in &rows {
        let root = conformance_root(row);
        let bundle = std::fs::read(
            conformance
                .join("bundle-verify")
                .join(&row["case"])
                .join("bundle.sigstore.json"),
        )
        .unwrap();
        let bytes = std::fs::read(conformance.join(&row["artifact"])).unwrap();
        let signer = match row["verify_with"].as_str() {
            "key" => {
                Signer::PublicKey(std::fs::read_to_string(conformance.join(&row["key"])).unwrap())
            }
            _ => Signer::Keyless(KeylessIdentity {
                issuer: row["certificate_oidc_issuer"].clone(),
                subject: Some(row["certificate_identity"].clone()),
                subject_regex: None,
            }),
        };
        for artifact in [
            Artifact::Bytes(bytes.clone()),
            Artifact::Sha256(sigward_core::hex::encode(&Sha256::digest(&bytes))),
        ] {
            let [fast, portable] = runtimes.each_ref().map(|runtime| {
                outcome(
                    runtime
                        .verify_bundle(&root, &bundle, &artifact, &signer)
                        .unwrap(),
                )
            });
            assert_eq!(fast, portable, "{}", row["case"]);
            compared += 1;
        }
    }
    assert_eq!(compared, 140);
}

#[test]
fn both_builds_agree_on_every_image_of_the_demo_world() {
    let dir = std::env::temp_dir().join(format!("sigward-portable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut layout = Layout::create(&dir).unwrap();
    let world = sigward_demo::fill(&mut layout, "registry.demo.test").unwrap();
    let runtimes = runtimes();
    let mut sessions: Vec<_> = runtimes
        .iter()
        .map(|runtime| {
            let mut session = runtime.load_policy(&world.policy).unwrap().unwrap();
            let root = session
                .load_trusted_root(&world.trusted_root)
                .unwrap()
                .unwrap();
            (session, root)
        })
        .collect();
    let mut verified = 0;
    for case in &world.cases {
        let reference: Reference = case.image.parse().unwrap();
        let answers: Vec<String> = sessions
            .iter_mut()
            .map(|(session, root)| {
                let matched = session.match_image(&case.image).unwrap().unwrap();
                let Ok(digest) = layout.resolve(&reference) else {
                    return format!("{matched:?}");
                };
                let found = discover::signatures(&mut layout, &reference, &digest)
                    .map(|f| f.signatures)
                    .unwrap_or_default();
                let image = digested_name(&reference, &digest);
                format!(
                    "{matched:?} {:?}",
                    session.verify(&image, &found, root).unwrap()
                )
            })
            .collect();
        assert_eq!(answers[0], answers[1], "{}", case.image);
        verified += usize::from(case.verified);
    }
    assert!(verified >= 4, "the world verifies signatures of each kind");
    let _ = std::fs::remove_dir_all(&dir);
}
