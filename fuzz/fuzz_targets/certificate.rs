//! DER certificates as a signing certificate: path building against the
//! production and test roots, the SCT check against the issuer found, and
//! the Fulcio identity extensions.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sigward_core::x509::chain::{self, Purpose};
use sigward_core::x509::identity;
use sigward_core::{sct, trust_root::TrustedRoot};
use x509_parser::prelude::FromDer;

fn try_root(data: &[u8], root: &TrustedRoot, time: i64) {
    if let Ok(path) = chain::verify(
        data,
        &[],
        &root.certificate_authorities,
        time,
        Purpose::CodeSigning,
    ) && let (Ok((_, leaf)), Some(issuer)) = (
        x509_parser::certificate::X509Certificate::from_der(data),
        path.path.get(1),
    ) && let Ok((_, issuer)) = x509_parser::certificate::X509Certificate::from_der(issuer)
    {
        let _ = sct::verify(&leaf, issuer.public_key().raw, &root.ct_logs, 1);
    }
}

fuzz_target!(|data: &[u8]| {
    try_root(data, common::production_root(), 1_700_000_000);
    try_root(data, common::test_root(), sigward_testpki::T0 + 60);
    if let Ok((_, cert)) = x509_parser::certificate::X509Certificate::from_der(data) {
        let _ = identity::identity(&cert);
    }
});
