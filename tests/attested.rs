//! An image signed by the test PKI, and its attestations: what the tests of
//! policy-required attestations and of advisory gates share.
#![allow(dead_code)]

use serde_json::Value;
use sha2::{Digest, Sha256};
use sigward_core::hex;
use sigward_core::policy::Policy;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::{Signature, verify_attested};
use sigward_tests::testpki::{self, ISSUER, Pki, SUBJECT, T0};

pub const IMAGE: &str = "registry.test/app/web";
pub const SLSA: &str = "https://slsa.dev/provenance/v1";
pub const SPDX: &str = "https://spdx.dev/Document";
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";
pub const VULN: &str = "https://cosign.sigstore.dev/attestation/vuln/v1";
pub const SIGNED_AT: i64 = T0 + 60;

pub struct World {
    pub pki: Pki,
    pub key: testpki::SigningKey,
    pub leaf: Vec<u8>,
    pub root: TrustedRoot,
    pub digest: [u8; 32],
}

impl World {
    pub fn new() -> Self {
        let pki = Pki::new(T0 + 86_400 * 365);
        let key = testpki::key(50);
        let leaf = pki.leaf(&key, Some(ISSUER), 1);
        let root = TrustedRoot::parse(&serde_json::to_vec(&pki.trusted_root()).unwrap()).unwrap();
        Self {
            pki,
            key,
            leaf,
            root,
            digest: Sha256::digest(b"the image manifest").into(),
        }
    }

    pub fn image(&self) -> String {
        format!("{IMAGE}@sha256:{}", hex::encode(&self.digest))
    }

    /// A signature: a message-signature bundle over the image digest.
    pub fn signature(&self) -> Signature {
        let signature = testpki::sign_digest(&self.key, &self.digest);
        let body = testpki::hashedrekord(&self.digest, &signature, &self.leaf);
        let entry = self.pki.entry(&body, "hashedrekord", SIGNED_AT);
        let bundle = testpki::message_bundle(&self.leaf, entry, &self.digest, &signature);
        Signature::TagBundle(bundle.to_string().into_bytes())
    }

    pub fn attestation_about(
        &self,
        digest: &[u8],
        predicate_type: &str,
        predicate: Value,
    ) -> Signature {
        let statement = testpki::Statement {
            name: IMAGE,
            digest: &hex::encode(digest),
            predicate_type,
            predicate,
        };
        let bundle =
            testpki::attestation_bundle(&self.pki, &self.key, &self.leaf, &statement, SIGNED_AT);
        Signature::ReferrerBundle {
            manifest_digest: format!("sha256:{}", "ab".repeat(32)),
            bundle: bundle.to_string().into_bytes(),
        }
    }

    /// A legacy cosign `.att` layer, its statement changed by `edit` after
    /// signing.
    pub fn legacy_attestation(
        &self,
        predicate_type: &str,
        predicate: Value,
        edit: impl Fn(&mut Value),
    ) -> Signature {
        let statement = testpki::Statement {
            name: IMAGE,
            digest: &hex::encode(&self.digest),
            predicate_type,
            predicate,
        };
        let (payload, annotations) = testpki::legacy_attestation_layer(
            &self.pki, &self.key, &self.leaf, &statement, SIGNED_AT, edit,
        );
        Signature::Legacy {
            payload,
            annotations,
        }
    }

    pub fn attestation(&self, predicate_type: &str, predicate: Value) -> Signature {
        self.attestation_about(&self.digest.clone(), predicate_type, predicate)
    }

    pub fn decide(
        &self,
        attestations_yaml: &str,
        signatures: &[Signature],
        attestations: &[Signature],
        now: Option<i64>,
    ) -> (bool, String) {
        let policy = format!(
            "apiVersion: v1alpha1\nkind: ImageVerificationConfig\nrules:\n  - image: {IMAGE}\n    keyless:\n      issuer: {ISSUER}\n      subject: {SUBJECT}\n    attestations:\n{attestations_yaml}"
        );
        let policy = Policy::parse(&policy).unwrap_or_else(|e| panic!("{e:?}\n{policy}"));
        let decision = verify_attested(
            &policy,
            &self.image(),
            signatures,
            attestations,
            &self.root,
            now,
        )
        .unwrap();
        (decision.allowed, decision.message)
    }
}
