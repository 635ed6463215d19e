//! The embedded SCT list: the fuzzer's bytes become the extension's value in
//! a leaf the test CA issues, and the SCTs are checked against its CT log.
#![no_main]

#[path = "common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sigward_core::der::{self, encode};
use sigward_core::sct;
use sigward_testpki::{CertSpec, T0};
use x509_parser::prelude::FromDer;

const OID_SCT_LIST: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];

fuzz_target!(|data: &[u8]| {
    let pki = common::test_pki();
    let key = sigward_testpki::key(10);
    let spec = CertSpec {
        serial: 3,
        issuer: "test-intermediate",
        subject: "",
        key: &key,
        not_before: T0,
        not_after: T0 + 600,
        ca: false,
        san_uri: Some(sigward_testpki::SUBJECT),
        oidc_issuer: Some(sigward_testpki::ISSUER),
        eku: &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03],
    };
    let extension =
        sigward_testpki::extension(OID_SCT_LIST, false, &encode(der::OCTET_STRING, data));
    let leaf = sigward_testpki::certificate(&spec, &[extension], &pki.intermediate_key);
    let Ok((_, leaf)) = x509_parser::certificate::X509Certificate::from_der(&leaf) else {
        return;
    };
    let issuer = sigward_testpki::spki(&pki.intermediate_key);
    let _ = sct::verify(&leaf, &issuer, &common::test_root().ct_logs, 1);
});
