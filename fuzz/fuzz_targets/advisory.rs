//! OSV records: parsing (severity vectors included), match keys, and
//! matching against packages of every ordered ecosystem never panic and
//! stay bounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigward_core::advisory::{Advisory, package_keys};
use sigward_core::sbom::Package;

const PURLS: [&str; 8] = [
    "pkg:npm/lodash@4.17.20",
    "pkg:npm/%40babel/core@7.0.0-beta.1",
    "pkg:pypi/requests@2.31.0",
    "pkg:cargo/time@0.1.45",
    "pkg:golang/golang.org/x/net@v0.16.0",
    "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64",
    "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
    "pkg:npm/x@not.a.version",
];

fuzz_target!(|data: &[u8]| {
    let Ok(advisory) = Advisory::parse(data) else {
        return;
    };
    let _ = advisory.keys();
    for purl in PURLS {
        let package = Package {
            name: String::new(),
            version: String::new(),
            purl: Some(purl.to_owned()),
        };
        let _ = package_keys(&package);
        if let Some(finding) = advisory.affects(&package) {
            assert_eq!(finding.advisory, advisory.id);
        }
    }
});
