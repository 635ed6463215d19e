//! Certificate paths and signer identities on the conformance bundles whose
//! signing time comes from a Rekor v1 SET. Each such case either chains to its
//! trusted root at the SET's integrated time, with the identity INDEX.tsv
//! names, or is one of the cases built to break the chain or its validity.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use sigward_core::bundle::{Bundle, Material};
use sigward_core::sct;
use sigward_core::tlog::set;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::x509::chain::{self, ChainError, Purpose};
use sigward_core::x509::identity;
use sigward_tests::{conformance_cases, conformance_root, production_trusted_root, shared_dir};
use x509_parser::prelude::FromDer;

/// Reasons of cases whose certificate, or its validity at the signing time,
/// is bad. (root-cert-in-bundle-chain is not one: the root it ships is
/// ignored, and the case fails for its missing checkpoint.)
const CHAIN_BREAKERS: [&str; 3] = [
    "cert-chain:staging-bundle-vs-production-root",
    "cert-validity:leaf-notBefore-2030-after-integrated-time",
    "set:integrated-time-outside-cert-validity",
];

#[test]
fn rekor_v1_cases_chain_at_the_integrated_time_or_are_built_not_to() {
    let mut checked = 0;
    let mut reached = Vec::new();
    for row in conformance_cases() {
        let (case, reason) = (&row["case"], &row["reason_or_feature"]);
        if reason.starts_with("parse:") {
            continue;
        }
        let dir = shared_dir().join("conformance/bundle-verify").join(case);
        let bundle =
            Bundle::parse(&std::fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
        let (leaf, untrusted) = match &bundle.material {
            Material::Certificate(c) => (c.clone(), vec![]),
            Material::CertificateChain(c) => (c[0].clone(), c[1..].to_vec()),
            Material::PublicKey { .. } => continue,
        };
        let root_json = conformance_root(&row);
        let root = match TrustedRoot::parse(&root_json) {
            Ok(root) => root,
            Err(errors) => {
                assert!(
                    reason.starts_with("trust-root:"),
                    "{case}: root refused: {errors:?}"
                );
                continue;
            }
        };
        let Some(entry) = bundle
            .tlog_entries
            .first()
            .filter(|e| e.signed_entry_timestamp.is_some())
        else {
            continue; // Rekor v2: the signing time comes from a TSA.
        };
        let Some(log) = root.tlogs.iter().find(|l| l.log_id == entry.log_id) else {
            continue;
        };
        let fields = set::SignedFields {
            body_base64: &entry.body_base64,
            integrated_time: entry.integrated_time,
            log_id: &entry.log_id,
            log_index: entry.log_index,
        };
        if set::verify(
            &fields,
            entry.signed_entry_timestamp.as_deref().unwrap(),
            log,
        )
        .is_err()
        {
            // Any case whose body or SET was altered fails here first.
            assert_eq!(
                row["expected"], "fail",
                "{case}: the SET of a passing case failed"
            );
            continue;
        }
        let verified = chain::verify(
            &leaf,
            &untrusted,
            &root.certificate_authorities,
            entry.integrated_time,
            Purpose::CodeSigning,
        );
        checked += 1;
        reached.push(reason.clone());
        if CHAIN_BREAKERS.contains(&reason.as_str()) {
            assert!(verified.is_err(), "{case} ({reason}) should not chain");
            continue;
        }
        let path = match verified {
            Ok(v) => v.path,
            Err(e) => panic!("{case} ({reason}): {e}"),
        };
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&leaf).unwrap();
        let (_, issuer) = x509_parser::certificate::X509Certificate::from_der(&path[1]).unwrap();
        let scts = sct::verify(&cert, issuer.public_key().raw, &root.ct_logs, 1);
        if reason.starts_with("cert-chain:sct-not-verifiable") {
            assert!(scts.is_err(), "{case}: SCT should not verify");
            continue;
        }
        assert_eq!(scts, Ok(1), "{case} ({reason})");
        if reason == "cert-chain:root-cert-in-bundle-chain" {
            // Its shipped root is ignored and it chains; its signer is not
            // the beacon, and it fails for its missing checkpoint
            // (bundle_conformance).
            continue;
        }
        let who = identity::identity(&cert).unwrap_or_else(|e| panic!("{case}: {e}"));
        if !row["certificate_identity"].is_empty() {
            assert_eq!(who.subject, row["certificate_identity"], "{case}");
            assert_eq!(who.issuer, row["certificate_oidc_issuer"], "{case}");
        }
    }
    assert!(
        checked >= 25,
        "only {checked} cases reached the chain check"
    );
}

#[test]
fn chain_errors_name_the_check_and_the_times() {
    let bundle = Bundle::parse(
        &std::fs::read(
            shared_dir().join("conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let Material::Certificate(leaf) = &bundle.material else {
        panic!()
    };
    let root = TrustedRoot::parse(&production_trusted_root()).unwrap();
    let later = bundle.tlog_entries[0].integrated_time + 3600;
    let err = chain::verify(
        leaf,
        &[],
        &root.certificate_authorities,
        later,
        Purpose::CodeSigning,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not valid at the signing time"), "{text}");
    assert!(text.contains("2024-03-19"), "{text}");
    let err = chain::verify(
        leaf,
        &[],
        &root.certificate_authorities,
        0,
        Purpose::CodeSigning,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ChainError::OutsideValidity { .. } | ChainError::NoAuthorityAtTime { .. }
    ));
    let wrong = chain::verify(
        leaf,
        &[],
        &root.certificate_authorities,
        bundle.tlog_entries[0].integrated_time,
        Purpose::TimeStamping,
    );
    assert!(matches!(wrong, Err(ChainError::WrongPurpose { .. })));
}

/// The links between an authority's own certificates are checked once, when
/// the root loads; a link that does not hold is never taken as checked.
#[test]
fn authority_links_are_checked_once_and_a_forged_one_never_passes() {
    use sigward_tests::testpki::{self, ISSUER, Pki, T0};
    let pki = Pki::new(T0 + 86_400 * 365);
    let root = TrustedRoot::parse(pki.trusted_root().to_string().as_bytes()).unwrap();
    assert_eq!(root.certificate_authorities[0].signed_by_next, vec![true]);
    let production = TrustedRoot::parse(&production_trusted_root()).unwrap();
    for ca in &production.certificate_authorities {
        assert_eq!(ca.signed_by_next.len(), ca.chain.len().saturating_sub(1));
        assert!(ca.signed_by_next.iter().all(|&linked| linked), "{}", ca.uri);
    }

    // An impostor intermediate, under the right names, listed above the real root.
    let impostor = Pki::with_ca_keys(31, 32, T0 + 86_400 * 365);
    let mut forged = pki.trusted_root();
    forged["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"] =
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            &impostor.intermediate,
        )
        .into();
    let forged = TrustedRoot::parse(forged.to_string().as_bytes()).unwrap();
    assert_eq!(
        forged.certificate_authorities[0].signed_by_next,
        vec![false]
    );
    let leaf = impostor.leaf(&testpki::key(20), Some(ISSUER), 1);
    let refused = chain::verify(
        &leaf,
        &[],
        &forged.certificate_authorities,
        T0 + 60,
        Purpose::CodeSigning,
    );
    assert!(
        matches!(&refused, Err(ChainError::NoPath { reasons, .. }) if reasons.iter().any(|r| r.contains("did not sign"))),
        "{refused:?}"
    );
    // The genuine chain still verifies through the checked link.
    let genuine = pki.leaf(&testpki::key(20), Some(ISSUER), 1);
    chain::verify(
        &genuine,
        &[],
        &root.certificate_authorities,
        T0 + 60,
        Purpose::CodeSigning,
    )
    .unwrap();
}
