//! The project's own test PKI: a Fulcio-like CA (root and intermediate), a
//! Rekor-like log that signs SETs and checkpoints, a CT log, and the
//! `trusted_root.json` that describes them. Keys come from fixed scalars and
//! ECDSA signing is deterministic (RFC 6979), so every fixture is the same on
//! every run; nothing is hand-edited. Built with the same crates the verifier
//! uses, on the producer's side.
#![forbid(unsafe_code)]
// It signs fixed inputs; a failure is a bug in this crate, so it panics.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
pub use p256::ecdsa::SigningKey;
use p256::ecdsa::{DerSignature, signature::Signer as _};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sigward_core::der::{self, encode};
use spki::EncodePublicKey;

/// 2023-11-14T22:13:20Z: the test PKI's "now".
pub const T0: i64 = 1_700_000_000;
pub const ISSUER: &str = "https://issuer.test";
pub const SUBJECT: &str =
    "https://github.com/test/repo/.github/workflows/release.yml@refs/heads/main";

const OID_EC_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
pub const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
pub const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];
const OID_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
const OID_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];
const OID_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_FULCIO_ISSUER: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xbf, 0x30, 0x01, 0x08];
const OID_SCT_LIST: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];

/// A deterministic P-256 key from a small seed.
pub fn key(seed: u8) -> SigningKey {
    let mut bytes = [0u8; 32];
    bytes[31] = seed;
    bytes[0] = 0x42;
    SigningKey::from_slice(&bytes).expect("a valid scalar")
}

pub fn spki(key: &SigningKey) -> Vec<u8> {
    key.verifying_key()
        .to_public_key_der()
        .expect("encodes")
        .as_bytes()
        .to_vec()
}

/// ECDSA over a message known only by its SHA-256 `digest`.
pub fn sign_digest(key: &SigningKey, digest: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::hazmat::PrehashSigner as _;
    let signature: p256::ecdsa::Signature = key.sign_prehash(digest).expect("a 32-byte digest");
    signature.to_der().as_bytes().to_vec()
}

pub fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let signature: DerSignature = key.sign(message);
    signature.as_bytes().to_vec()
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    encode(der::SEQUENCE, &parts.concat())
}

fn oid(value: &[u8]) -> Vec<u8> {
    encode(der::OID, value)
}

fn name(common_name: &str) -> Vec<u8> {
    let attribute = seq(&[&oid(OID_CN), &encode(0x0c, common_name.as_bytes())]);
    seq(&[&encode(der::SET, &attribute)])
}

fn utc_time(unix: i64) -> Vec<u8> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).expect("in range");
    let text = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        t.year() % 100,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    encode(0x17, text.as_bytes())
}

/// An X.509 extension: its OID's content bytes, criticality and DER value.
pub fn extension(id: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let flag = if critical {
        encode(0x01, &[0xff])
    } else {
        Vec::new()
    };
    seq(&[&oid(id), &flag, &encode(der::OCTET_STRING, value)])
}

/// What goes into one certificate.
pub struct CertSpec<'a> {
    pub serial: u8,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub key: &'a SigningKey,
    pub not_before: i64,
    pub not_after: i64,
    pub ca: bool,
    pub san_uri: Option<&'a str>,
    pub oidc_issuer: Option<&'a str>,
    /// The extended key usage of a leaf.
    pub eku: &'a [u8],
}

/// A CA certificate's spec, valid from a year before [`T0`] to `not_after`.
pub fn ca_spec<'a>(
    serial: u8,
    issuer: &'a str,
    subject: &'a str,
    key: &'a SigningKey,
    not_after: i64,
) -> CertSpec<'a> {
    CertSpec {
        serial,
        issuer,
        subject,
        key,
        not_before: T0 - 86_400 * 365,
        not_after,
        ca: true,
        san_uri: None,
        oidc_issuer: None,
        eku: OID_CODE_SIGNING,
    }
}

fn tbs(spec: &CertSpec<'_>, extra: &[Vec<u8>]) -> Vec<u8> {
    let mut extensions = Vec::new();
    if spec.ca {
        extensions.push(extension(
            OID_BASIC_CONSTRAINTS,
            true,
            &seq(&[&encode(0x01, &[0xff])]),
        ));
        extensions.push(extension(OID_KEY_USAGE, true, &encode(0x03, &[0x01, 0x06])));
    } else {
        extensions.push(extension(OID_KEY_USAGE, true, &encode(0x03, &[0x07, 0x80])));
        extensions.push(extension(OID_EXT_KEY_USAGE, false, &seq(&[&oid(spec.eku)])));
    }
    if let Some(uri) = spec.san_uri {
        extensions.push(extension(
            OID_SAN,
            true,
            &seq(&[&encode(0x86, uri.as_bytes())]),
        ));
    }
    if let Some(issuer) = spec.oidc_issuer {
        extensions.push(extension(
            OID_FULCIO_ISSUER,
            false,
            &encode(0x0c, issuer.as_bytes()),
        ));
    }
    extensions.extend_from_slice(extra);
    seq(&[
        &encode(0xa0, &encode(der::INTEGER, &[2])),
        &encode(der::INTEGER, &[spec.serial]),
        &seq(&[&oid(OID_EC_SHA256)]),
        &name(spec.issuer),
        &seq(&[&utc_time(spec.not_before), &utc_time(spec.not_after)]),
        &name(spec.subject),
        &spki(spec.key),
        &encode(0xa3, &seq(&[&extensions.concat()])),
    ])
}

/// A certificate made to `spec`, with `extra` extensions after the usual
/// ones, signed by `signer` (ECDSA P-256 with SHA-256).
pub fn certificate(spec: &CertSpec<'_>, extra: &[Vec<u8>], signer: &SigningKey) -> Vec<u8> {
    signed_cert(&tbs(spec, extra), signer)
}

fn signed_cert(tbs: &[u8], signer: &SigningKey) -> Vec<u8> {
    let mut bits = vec![0u8];
    bits.extend(sign(signer, tbs));
    seq(&[tbs, &seq(&[&oid(OID_EC_SHA256)]), &encode(0x03, &bits)])
}

/// The test PKI: keys and CA certificates.
pub struct Pki {
    pub root_key: SigningKey,
    pub intermediate_key: SigningKey,
    pub log_key: SigningKey,
    pub ct_key: SigningKey,
    pub root: Vec<u8>,
    pub intermediate: Vec<u8>,
    pub tsa_key: SigningKey,
    pub tsa_root: Vec<u8>,
    pub tsa_leaf: Vec<u8>,
}

impl Pki {
    /// The default PKI; `intermediate_not_after` moves the intermediate's expiry.
    pub fn new(intermediate_not_after: i64) -> Self {
        Self::with_ca_keys(1, 2, intermediate_not_after)
    }

    /// A PKI whose CA keys come from other seeds, under the same names: an
    /// impostor CA. The log, CT log and TSA are the default ones.
    pub fn with_ca_keys(root_seed: u8, intermediate_seed: u8, intermediate_not_after: i64) -> Self {
        let (root_key, intermediate_key) = (key(root_seed), key(intermediate_seed));
        let root = signed_cert(
            &tbs(
                &ca_spec(
                    root_seed,
                    "test-root",
                    "test-root",
                    &root_key,
                    T0 + 86_400 * 3650,
                ),
                &[],
            ),
            &root_key,
        );
        let intermediate = signed_cert(
            &tbs(
                &ca_spec(
                    2,
                    "test-root",
                    "test-intermediate",
                    &intermediate_key,
                    intermediate_not_after,
                ),
                &[],
            ),
            &root_key,
        );
        let (tsa_root_key, tsa_key) = (key(5), key(6));
        let ten_years = T0 + 86_400 * 3650;
        let tsa_root_spec = ca_spec(
            5,
            "test-tsa-root",
            "test-tsa-root",
            &tsa_root_key,
            ten_years,
        );
        let tsa_root = signed_cert(&tbs(&tsa_root_spec, &[]), &tsa_root_key);
        let tsa_leaf_spec = CertSpec {
            ca: false,
            eku: OID_TIME_STAMPING,
            ..ca_spec(6, "test-tsa-root", "test-tsa", &tsa_key, ten_years)
        };
        let tsa_leaf = signed_cert(&tbs(&tsa_leaf_spec, &[]), &tsa_root_key);
        Self {
            root_key,
            intermediate_key,
            log_key: key(3),
            ct_key: key(4),
            root,
            intermediate,
            tsa_key,
            tsa_root,
            tsa_leaf,
        }
    }

    /// The `dev.sigstore.cosign/bundle` annotation for `body`: a SET by the
    /// test log over the entry at `integrated_time`.
    pub fn rekor_bundle_annotation(&self, body: &Value, integrated_time: i64) -> String {
        let body_b64 = B64.encode(serde_json::to_vec(body).expect("serializes"));
        let hex: String = self.log_id().iter().map(|b| format!("{b:02x}")).collect();
        let canonical = format!(
            r#"{{"body":"{body_b64}","integratedTime":{integrated_time},"logID":"{hex}","logIndex":7}}"#
        );
        let set = sign(&self.log_key, canonical.as_bytes());
        json!({
            "SignedEntryTimestamp": B64.encode(set),
            "Payload": {"body": body_b64, "integratedTime": integrated_time, "logIndex": 7, "logID": hex}
        })
        .to_string()
    }

    pub fn log_id(&self) -> Vec<u8> {
        Sha256::digest(spki(&self.log_key)).to_vec()
    }

    /// The trusted root that describes this PKI.
    pub fn trusted_root(&self) -> Value {
        let window = json!({"start": "2020-01-01T00:00:00Z"});
        let log = |key: &SigningKey, url: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": B64.encode(spki(key)), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": window},
                "logId": {"keyId": B64.encode(Sha256::digest(spki(key)))}
            })
        };
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.log_key, "https://testlog.test")],
            "certificateAuthorities": [{
                "uri": "https://ca.test",
                "certChain": {"certificates": [{"rawBytes": B64.encode(&self.intermediate)}, {"rawBytes": B64.encode(&self.root)}]},
                "validFor": window
            }],
            "ctlogs": [log(&self.ct_key, "https://ct.test")],
            "timestampAuthorities": [{
                "uri": "https://tsa.test",
                "certChain": {"certificates": [{"rawBytes": B64.encode(&self.tsa_leaf)}, {"rawBytes": B64.encode(&self.tsa_root)}]},
                "validFor": window
            }]
        })
    }

    /// A Fulcio-like leaf for `key`, with `scts` embedded SCTs from the CT log
    /// (all from the same log), issued by the intermediate.
    pub fn leaf(&self, key: &SigningKey, oidc_issuer: Option<&str>, scts: usize) -> Vec<u8> {
        let spec = CertSpec {
            serial: 3,
            issuer: "test-intermediate",
            subject: "",
            key,
            not_before: T0,
            not_after: T0 + 600,
            ca: false,
            san_uri: Some(SUBJECT),
            oidc_issuer,
            eku: OID_CODE_SIGNING,
        };
        let precert = tbs(&spec, &[]);
        let issuer_key_hash = Sha256::digest(spki(&self.intermediate_key));
        let mut list = Vec::new();
        for i in 0..scts {
            let timestamp = (T0 as u64 + i as u64) * 1000;
            let mut signed = vec![0u8, 0u8];
            signed.extend(timestamp.to_be_bytes());
            signed.extend(1u16.to_be_bytes());
            signed.extend(issuer_key_hash);
            signed.extend(&(precert.len() as u32).to_be_bytes()[1..]);
            signed.extend(&precert);
            signed.extend(0u16.to_be_bytes());
            let signature = sign(&self.ct_key, &signed);
            let mut sct = vec![0u8];
            sct.extend(Sha256::digest(spki(&self.ct_key)));
            sct.extend(timestamp.to_be_bytes());
            sct.extend(0u16.to_be_bytes());
            sct.extend([4u8, 3u8]);
            sct.extend((signature.len() as u16).to_be_bytes());
            sct.extend(signature);
            list.extend((sct.len() as u16).to_be_bytes());
            list.extend(sct);
        }
        let mut tls = (list.len() as u16).to_be_bytes().to_vec();
        tls.extend(list);
        let sct_ext = extension(OID_SCT_LIST, false, &encode(der::OCTET_STRING, &tls));
        signed_cert(&tbs(&spec, &[sct_ext]), &self.intermediate_key)
    }

    /// An RFC 3161 TimeStampResp over `signature` at `time`, by the test TSA,
    /// with its signing certificate in the bag.
    pub fn timestamp(&self, signature: &[u8], time: i64) -> Vec<u8> {
        let t = time::OffsetDateTime::from_unix_timestamp(time).expect("in range");
        let gen_time = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
        let sha256 = seq(&[&oid(OID_SHA256)]);
        let tst_info = seq(&[
            &encode(der::INTEGER, &[1]),
            &oid(&[0x2a, 0x03, 0x04]),
            &seq(&[
                &sha256,
                &encode(der::OCTET_STRING, &Sha256::digest(signature)),
            ]),
            &encode(der::INTEGER, &[7]),
            &encode(der::GENERALIZED_TIME, gen_time.as_bytes()),
        ]);
        let attributes = [
            seq(&[
                &oid(OID_CONTENT_TYPE),
                &encode(der::SET, &oid(OID_TST_INFO)),
            ]),
            seq(&[
                &oid(OID_MESSAGE_DIGEST),
                &encode(
                    der::SET,
                    &encode(der::OCTET_STRING, &Sha256::digest(&tst_info)),
                ),
            ]),
        ]
        .concat();
        let attr_signature = sign(&self.tsa_key, &encode(der::SET, &attributes));
        let signer_info = seq(&[
            &encode(der::INTEGER, &[1]),
            &seq(&[&name("test-tsa-root"), &encode(der::INTEGER, &[6])]),
            &sha256,
            &encode(der::CONTEXT_0, &attributes),
            &seq(&[&oid(OID_EC_SHA256)]),
            &encode(der::OCTET_STRING, &attr_signature),
        ]);
        let signed_data = seq(&[
            &encode(der::INTEGER, &[3]),
            &encode(der::SET, &sha256),
            &seq(&[
                &oid(OID_TST_INFO),
                &encode(der::CONTEXT_0, &encode(der::OCTET_STRING, &tst_info)),
            ]),
            &encode(der::CONTEXT_0, &self.tsa_leaf),
            &encode(der::SET, &signer_info),
        ]);
        let token = seq(&[&oid(OID_SIGNED_DATA), &encode(der::CONTEXT_0, &signed_data)]);
        seq(&[&seq(&[&encode(der::INTEGER, &[0])]), &token])
    }

    /// A log entry for `body`, alone in its tree, with a SET, an inclusion
    /// proof and a signed checkpoint, all by the test log.
    pub fn entry(&self, body: &Value, kind: &str, integrated_time: i64) -> Value {
        self.entry_at(body, kind, integrated_time, 0, 0)
    }

    /// A log entry for `body` whose SET names `log_index`, the log's global
    /// index, and whose inclusion proof puts it at `proof_index` (0 or 1) in
    /// the tree of its shard: alone, or after one other leaf.
    pub fn entry_at(
        &self,
        body: &Value,
        kind: &str,
        integrated_time: i64,
        log_index: u64,
        proof_index: u64,
    ) -> Value {
        assert!(
            proof_index <= 1,
            "the test log's trees hold one or two leaves"
        );
        let body = serde_json::to_vec(body).expect("serializes");
        let body_b64 = B64.encode(&body);
        let log_id = self.log_id();
        let hex: String = log_id.iter().map(|b| format!("{b:02x}")).collect();
        let canonical = format!(
            r#"{{"body":"{body_b64}","integratedTime":{integrated_time},"logID":"{hex}","logIndex":{log_index}}}"#
        );
        let set = sign(&self.log_key, canonical.as_bytes());
        let leaf_hash = |data: &[u8]| {
            let mut leaf = vec![0u8];
            leaf.extend(data);
            Sha256::digest(&leaf).to_vec()
        };
        let ours = leaf_hash(&body);
        let (root, hashes) = if proof_index == 0 {
            (ours, Vec::new())
        } else {
            let other = leaf_hash(b"an earlier entry");
            let mut node = vec![1u8];
            node.extend(&other);
            node.extend(&ours);
            (Sha256::digest(&node).to_vec(), vec![B64.encode(other)])
        };
        let size = proof_index + 1;
        let note = format!("testlog - 1\n{size}\n{}\n", B64.encode(&root));
        let mut hinted = log_id[..4].to_vec();
        hinted.extend(sign(&self.log_key, note.as_bytes()));
        let checkpoint = format!("{note}\n\u{2014} testlog {}\n", B64.encode(hinted));
        json!({
            "logIndex": log_index.to_string(),
            "logId": {"keyId": B64.encode(&log_id)},
            "kindVersion": {"kind": kind, "version": "0.0.1"},
            "integratedTime": integrated_time.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": B64.encode(set)},
            "inclusionProof": {
                "logIndex": proof_index.to_string(),
                "rootHash": B64.encode(&root),
                "treeSize": size.to_string(),
                "hashes": hashes,
                "checkpoint": {"envelope": checkpoint}
            },
            "canonicalizedBody": body_b64
        })
    }
}

/// PEM files for a TLS server at `ip`: a CA certificate, the server's
/// certificate (SAN `ip`, serverAuth) and its PKCS#8 key. Valid from a year
/// before [`T0`] to 2043, so real clocks accept them.
pub struct TlsServer {
    pub ca_pem: String,
    pub certificate_pem: String,
    pub key_pem: String,
}

pub fn tls_server(ip: [u8; 4]) -> TlsServer {
    tls_server_numbered(ip, 71)
}

/// A server certificate for `ip` from the same test CA as [`tls_server`],
/// with its own key and serial `number` (not 70, the CA's): a rotated
/// certificate that the same CA bundle trusts.
pub fn tls_server_numbered(ip: [u8; 4], number: u8) -> TlsServer {
    use p256::pkcs8::EncodePrivateKey as _;
    let until = T0 + 86_400 * 365 * 19;
    let (ca_key, server_key) = (key(70), key(number));
    let ca = signed_cert(
        &tbs(
            &ca_spec(70, "test-tls-ca", "test-tls-ca", &ca_key, until),
            &[],
        ),
        &ca_key,
    );
    let spec = CertSpec {
        ca: false,
        not_before: T0 - 86_400,
        eku: OID_SERVER_AUTH,
        ..ca_spec(number, "test-tls-ca", "test-registry", &server_key, until)
    };
    let san = extension(OID_SAN, false, &seq(&[&encode(0x87, &ip)]));
    let certificate = signed_cert(&tbs(&spec, &[san]), &ca_key);
    let key_der = server_key.to_pkcs8_der().expect("encodes");
    TlsServer {
        ca_pem: pem("CERTIFICATE", &ca),
        certificate_pem: pem("CERTIFICATE", &certificate),
        key_pem: pem("PRIVATE KEY", key_der.as_bytes()),
    }
}

pub fn pem(label: &str, der: &[u8]) -> String {
    let body = B64.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// A hashedrekord body for a signature over `digest` by the certificate.
pub fn hashedrekord(digest: &[u8], signature: &[u8], cert: &[u8]) -> Value {
    hashedrekord_by(digest, signature, &pem("CERTIFICATE", cert))
}

/// A hashedrekord body for a signature over `digest` by `signer`, a PEM
/// certificate or public key.
pub fn hashedrekord_by(digest: &[u8], signature: &[u8], signer: &str) -> Value {
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex}},
            "signature": {"content": B64.encode(signature), "publicKey": {"content": B64.encode(signer)}}
        }
    })
}

/// A cosign simple-signing payload naming `digest` (`sha256:<hex>`) of the
/// image `repository`, as cosign writes it.
pub fn simple_signing_payload(repository: &str, digest: &str) -> Vec<u8> {
    format!(
        r#"{{"critical":{{"identity":{{"docker-reference":"{repository}"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
    )
    .into_bytes()
}

/// The annotations of a legacy cosign signature layer.
pub fn legacy_annotations(
    signature: &[u8],
    certificate: Option<&[u8]>,
    chain: &[&[u8]],
    rekor_bundle: Option<String>,
) -> Vec<(String, String)> {
    let mut out = vec![(
        "dev.cosignproject.cosign/signature".to_owned(),
        B64.encode(signature),
    )];
    if let Some(cert) = certificate {
        out.push((
            "dev.sigstore.cosign/certificate".to_owned(),
            pem("CERTIFICATE", cert),
        ));
    }
    if !chain.is_empty() {
        let text: String = chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
        out.push(("dev.sigstore.cosign/chain".to_owned(), text));
    }
    if let Some(bundle) = rekor_bundle {
        out.push(("dev.sigstore.cosign/bundle".to_owned(), bundle));
    }
    out
}

/// Adds RFC 3161 timestamps to a bundle.
pub fn with_timestamps(mut bundle: Value, tokens: &[Vec<u8>]) -> Value {
    let stamps: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"signedTimestamp": B64.encode(t)}))
        .collect();
    bundle["verificationMaterial"]["timestampVerificationData"] =
        json!({"rfc3161Timestamps": stamps});
    bundle
}

/// A v0.3 bundle with a message signature.
pub fn message_bundle(cert: &[u8], entry: Value, digest: &[u8], signature: &[u8]) -> Value {
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": B64.encode(cert)}, "tlogEntries": [entry]},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": B64.encode(digest)},
            "signature": B64.encode(signature)
        }
    })
}

/// A dsse 0.0.1 body for an envelope signature by the certificate.
pub fn dsse_body(payload: &[u8], signature: &[u8], cert: &[u8]) -> Value {
    let hex: String = Sha256::digest(payload)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {"algorithm": "sha256", "value": hex},
            "signatures": [{"signature": B64.encode(signature), "verifier": B64.encode(pem("CERTIFICATE", cert))}]
        }
    })
}

/// A v0.3 bundle with a DSSE envelope.
pub fn dsse_bundle(
    cert: &[u8],
    entry: Value,
    payload_type: &str,
    payload: &[u8],
    signature: &[u8],
) -> Value {
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": B64.encode(cert)}, "tlogEntries": [entry]},
        "dsseEnvelope": {"payload": B64.encode(payload), "payloadType": payload_type, "signatures": [{"sig": B64.encode(signature)}]}
    })
}

/// The in-toto media type of a DSSE payload.
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// What an attestation is about and says: the subject's name and SHA-256
/// (64 hex digits), the predicate type and the predicate.
pub struct Statement<'a> {
    pub name: &'a str,
    pub digest: &'a str,
    pub predicate_type: &'a str,
    pub predicate: Value,
}

impl Statement<'_> {
    fn to_json(&self) -> Value {
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": self.name, "digest": {"sha256": self.digest}}],
            "predicateType": self.predicate_type,
            "predicate": self.predicate,
        })
    }
}

/// A statement's payload, signed by `key` over the DSSE PAE, and the `dsse`
/// log entry body that records it under `leaf`.
fn sign_statement(key: &SigningKey, leaf: &[u8], statement: &Value) -> (Vec<u8>, Vec<u8>, Value) {
    let payload = statement.to_string().into_bytes();
    let mut pae = format!("DSSEv1 {} {IN_TOTO} {} ", IN_TOTO.len(), payload.len()).into_bytes();
    pae.extend_from_slice(&payload);
    let signature = sign(key, &pae);
    let body = dsse_body(&payload, &signature, leaf);
    (payload, signature, body)
}

/// A keyless attestation: a v0.3 bundle whose DSSE envelope holds the
/// statement, signed by `key` under `leaf` and logged at `integrated_time`.
pub fn attestation_bundle(
    pki: &Pki,
    key: &SigningKey,
    leaf: &[u8],
    statement: &Statement<'_>,
    integrated_time: i64,
) -> Value {
    let (payload, signature, body) = sign_statement(key, leaf, &statement.to_json());
    let entry = pki.entry(&body, "dsse", integrated_time);
    dsse_bundle(leaf, entry, IN_TOTO, &payload, &signature)
}

/// A legacy cosign `.att` layer (before bundles): the DSSE envelope of the
/// statement as the layer body, and the `.sig` annotations (certificate,
/// chain, a Rekor SET over a `dsse` entry; the signature annotation empty,
/// as cosign leaves it). `edit` changes the statement after it is signed
/// and logged, as an attacker who cannot sign might.
pub fn legacy_attestation_layer(
    pki: &Pki,
    key: &SigningKey,
    leaf: &[u8],
    statement: &Statement<'_>,
    integrated_time: i64,
    edit: impl Fn(&mut Value),
) -> (Vec<u8>, Vec<(String, String)>) {
    let mut json = statement.to_json();
    let (_, signature, body) = sign_statement(key, leaf, &json);
    let set = pki.rekor_bundle_annotation(&body, integrated_time);
    edit(&mut json);
    let envelope = json!({
        "payloadType": IN_TOTO,
        "payload": B64.encode(json.to_string()),
        "signatures": [{"keyid": "", "sig": B64.encode(&signature)}],
    });
    let annotations =
        legacy_annotations(&[], Some(leaf), &[&pki.intermediate, &pki.root], Some(set));
    (envelope.to_string().into_bytes(), annotations)
}
