//! What the targets share: trusted roots and identities to verify against.
#![allow(dead_code)]

use std::sync::OnceLock;

use sigward_core::policy::KeylessIdentity;
use sigward_core::trust_root::TrustedRoot;
use sigward_testpki::{ISSUER, Pki, SUBJECT, T0};

/// The production trusted root, read from `../shared` when the target is
/// built (the conformance seeds verify against it).
const PRODUCTION_ROOT: &[u8] =
    include_bytes!("../../../../shared/corpus/root-signing/targets/trusted_root.json");

/// The identity of the conformance suite's signatures.
pub const BEACON: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
pub const ACTIONS: &str = "https://token.actions.githubusercontent.com";

pub fn production_root() -> &'static TrustedRoot {
    static ROOT: OnceLock<TrustedRoot> = OnceLock::new();
    ROOT.get_or_init(|| TrustedRoot::parse(PRODUCTION_ROOT).expect("the production root loads"))
}

pub fn test_pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| Pki::new(T0 + 86_400 * 1000))
}

pub fn test_root() -> &'static TrustedRoot {
    static ROOT: OnceLock<TrustedRoot> = OnceLock::new();
    ROOT.get_or_init(|| {
        let json = serde_json::to_vec(&test_pki().trusted_root()).expect("serializes");
        TrustedRoot::parse(&json).expect("the test PKI's root loads")
    })
}

pub fn beacon() -> KeylessIdentity {
    KeylessIdentity::new(ACTIONS.to_owned(), Some(BEACON.to_owned()), None).expect("valid")
}

pub fn test_identity() -> KeylessIdentity {
    KeylessIdentity::new(ISSUER.to_owned(), Some(SUBJECT.to_owned()), None).expect("valid")
}
