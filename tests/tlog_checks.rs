//! The transparency-log checks on real public-good bundles from the
//! sigstore-conformance suite: the SET, the inclusion proof and the signed
//! checkpoint each hold on the happy path, and each conformance case built to
//! break one of them is refused by that check.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sigward_core::bundle::{Bundle, TlogEntry};
use sigward_core::checkpoint::Checkpoint;
use sigward_core::tlog::{merkle, set};
use sigward_core::trust_root::{TransparencyLog, TrustedRoot};
use sigward_tests::{production_trusted_root, shared_dir};

fn bundle(case: &str) -> Bundle {
    let path = shared_dir()
        .join("conformance/bundle-verify")
        .join(case)
        .join("bundle.sigstore.json");
    let json = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Bundle::parse(&json).unwrap_or_else(|e| panic!("{case}: {e}"))
}

fn root() -> TrustedRoot {
    TrustedRoot::parse(&production_trusted_root()).unwrap()
}

fn log_for<'a>(root: &'a TrustedRoot, entry: &TlogEntry) -> &'a TransparencyLog {
    root.tlogs
        .iter()
        .find(|l| l.log_id == entry.log_id)
        .expect("the entry's log is in the trusted root")
}

fn check_set(entry: &TlogEntry, log: &TransparencyLog) -> Result<(), set::SetError> {
    let fields = set::SignedFields {
        body_base64: &entry.body_base64,
        integrated_time: entry.integrated_time,
        log_id: &entry.log_id,
        log_index: entry.log_index,
    };
    set::verify(
        &fields,
        entry.signed_entry_timestamp.as_deref().unwrap(),
        log,
    )
}

fn check_proof(entry: &TlogEntry) -> Result<(), merkle::InclusionError> {
    let proof = entry.inclusion_proof.as_ref().unwrap();
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry.body),
        proof.log_index as u64,
        proof.tree_size as u64,
        &proof.hashes,
        &proof.root_hash,
    )
}

fn check_checkpoint(entry: &TlogEntry, log: &TransparencyLog) -> Result<(), String> {
    let proof = entry.inclusion_proof.as_ref().unwrap();
    let envelope = proof
        .checkpoint
        .as_deref()
        .ok_or("the proof has no checkpoint")?;
    let checkpoint = Checkpoint::parse(envelope).map_err(|e| e.to_string())?;
    checkpoint.verify(log, None).map_err(|e| e.to_string())?;
    if checkpoint.root_hash != proof.root_hash || checkpoint.tree_size != proof.tree_size as u64 {
        return Err("checkpoint does not commit to the proof's root".into());
    }
    Ok(())
}

#[test]
fn happy_path_entries_pass_every_log_check() {
    let root = root();
    for case in [
        "happy-path-v0.1",
        "happy-path-v0.2",
        "happy-path-v0.3",
        "happy-path-v0.3-new-mediaType",
    ] {
        let bundle = bundle(case);
        for entry in &bundle.tlog_entries {
            let log = log_for(&root, entry);
            assert_eq!(check_set(entry, log), Ok(()), "{case}: SET");
            if let Some(proof) = &entry.inclusion_proof {
                assert_eq!(check_proof(entry), Ok(()), "{case}: inclusion proof");
                if proof.checkpoint.is_some() {
                    assert_eq!(check_checkpoint(entry, log), Ok(()), "{case}: checkpoint");
                }
            }
        }
    }
}

#[test]
fn conformance_cases_built_to_break_one_log_check_break_it() {
    let root = root();
    let entry = |case: &str| bundle(case).tlog_entries.into_iter().next().unwrap();

    let e = entry("set-invalid-signature_fail");
    assert!(matches!(
        check_set(&e, log_for(&root, &e)),
        Err(set::SetError::BadSignature(_))
    ));

    for case in [
        "inclusion-proof-corrupted-hash_fail",
        "invalid-inclusion-proof_fail",
    ] {
        let e = entry(case);
        let proof = check_proof(&e);
        let checkpoint = check_checkpoint(&e, log_for(&root, &e));
        assert!(
            proof.is_err() || checkpoint.is_err(),
            "{case}: {proof:?} {checkpoint:?}"
        );
    }

    let e = entry("invalid-checkpoint-signature_fail");
    let err = check_checkpoint(&e, log_for(&root, &e)).unwrap_err();
    assert!(err.contains("does not verify"), "{err}");

    let e = entry("checkpoint-wrong-roothash_fail");
    assert!(check_checkpoint(&e, log_for(&root, &e)).is_err());

    let e = entry("checkpoint-bad-keyhint_fail");
    let err = check_checkpoint(&e, log_for(&root, &e)).unwrap_err();
    assert!(err.contains("hint"), "{err}");
}

#[test]
fn flipping_any_byte_of_set_proof_or_checkpoint_breaks_its_check() {
    let root = root();
    let good = bundle("happy-path-v0.3").tlog_entries.remove(0);
    let log = log_for(&root, &good);

    let set_bytes = good.signed_entry_timestamp.clone().unwrap();
    for i in 0..set_bytes.len() {
        let mut e = good.clone();
        e.signed_entry_timestamp.as_mut().unwrap()[i] ^= 0x01;
        assert!(check_set(&e, log).is_err(), "SET byte {i}");
    }
    for field in 0..4 {
        let mut e = good.clone();
        match field {
            0 => e.integrated_time += 1,
            1 => e.log_index += 1,
            2 => e.log_id[0] ^= 1,
            _ => e.body_base64.replace_range(0..1, "f"),
        }
        assert!(check_set(&e, log).is_err(), "SET field {field}");
    }

    let proof = good.inclusion_proof.clone().unwrap();
    for h in 0..proof.hashes.len() {
        for byte in [0, 31] {
            let mut e = good.clone();
            e.inclusion_proof.as_mut().unwrap().hashes[h][byte] ^= 0x80;
            assert!(check_proof(&e).is_err(), "proof hash {h} byte {byte}");
        }
    }
    let mut e = good.clone();
    e.body[10] ^= 1;
    assert!(check_proof(&e).is_err(), "body");

    let envelope = proof.checkpoint.clone().unwrap();
    for i in 0..envelope.len() {
        let mut bytes = envelope.clone().into_bytes();
        bytes[i] ^= 0x01;
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let mut e = good.clone();
        e.inclusion_proof.as_mut().unwrap().checkpoint = Some(text);
        assert!(check_checkpoint(&e, log).is_err(), "checkpoint byte {i}");
    }
}

#[test]
fn bundle_parsing_refuses_exactly_the_conformance_parse_cases() {
    let rows = sigward_tests::conformance_cases();
    assert_eq!(rows.len(), 70);
    for row in rows {
        let (case, reason) = (&row["case"], &row["reason_or_feature"]);
        let path = shared_dir()
            .join("conformance/bundle-verify")
            .join(case)
            .join("bundle.sigstore.json");
        let parsed = Bundle::parse(&std::fs::read(&path).unwrap());
        if reason.starts_with("parse:") {
            assert!(parsed.is_err(), "{case} ({reason}) should not parse");
        } else {
            assert!(
                parsed.is_ok(),
                "{case} ({reason}) should parse: {:?}",
                parsed.err()
            );
        }
    }
}
