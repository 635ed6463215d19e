//! The broad net: every valid conformance bundle stops verifying when a byte
//! of any signed or bound field changes: signature, DSSE payload, certificate,
//! stated digest, log entry body, SET and its fields, inclusion proof hashes
//! and root, the checkpoint's signed text and the log's signature line, and
//! the RFC 3161 TSTInfo and signature.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use sigward_core::bundle::{Bundle, Content, Material};
use sigward_core::der::{self, Reader};
use sigward_core::policy::KeylessIdentity;
use sigward_core::public_key::PublicKey;
use sigward_core::trust_root::TrustedRoot;
use sigward_core::verify::bundle::{self, Artifact, KeyLog, Signer};
use sigward_tests::{conformance_cases, conformance_root, shared_dir};

struct Fixture {
    case: String,
    bundle: Bundle,
    root: TrustedRoot,
    artifact: [u8; 32],
    identity: KeylessIdentity,
    key: Option<PublicKey>,
}

impl Fixture {
    fn verifies(&self, bundle: &Bundle) -> bool {
        let signer = match &self.key {
            Some(key) => Signer::Key(key, KeyLog::Required),
            None => Signer::Keyless(&self.identity),
        };
        bundle::verify(
            bundle,
            Artifact::Digest(self.artifact),
            signer,
            &self.root,
            &mut Vec::new(),
        )
        .is_ok()
    }
}

/// The test PKI's own bundles: a message signature, with and without a
/// timestamp, and a DSSE envelope.
fn test_pki_fixtures() -> Vec<Fixture> {
    use sigward_tests::testpki::{self, ISSUER, Pki, SUBJECT, T0};
    let pki = Pki::new(T0 + 86_400 * 1000);
    let root = TrustedRoot::parse(&serde_json::to_vec(&pki.trusted_root()).unwrap()).unwrap();
    let signer = testpki::key(10);
    let cert = pki.leaf(&signer, Some(ISSUER), 1);
    let artifact = b"the artifact\n";
    let digest: [u8; 32] = Sha256::digest(artifact).into();

    let signature = testpki::sign(&signer, artifact);
    let entry = pki.entry(
        &testpki::hashedrekord(&digest, &signature, &cert),
        "hashedrekord",
        T0 + 60,
    );
    let message = testpki::message_bundle(&cert, entry, &digest, &signature);
    let stamped = testpki::with_timestamps(message.clone(), &[pki.timestamp(&signature, T0 + 30)]);

    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let statement = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"a","digest":{{"sha256":"{hex}"}}}}]}}"#
    );
    let payload_type = "application/vnd.in-toto+json";
    let signature = testpki::sign(
        &signer,
        &sigward_core::dsse::pae(payload_type, statement.as_bytes()),
    );
    let entry = pki.entry(
        &testpki::dsse_body(statement.as_bytes(), &signature, &cert),
        "dsse",
        T0 + 60,
    );
    let envelope =
        testpki::dsse_bundle(&cert, entry, payload_type, statement.as_bytes(), &signature);

    [
        ("test-pki message signature", message),
        ("test-pki timestamped", stamped),
        ("test-pki DSSE", envelope),
    ]
    .into_iter()
    .map(|(case, json)| Fixture {
        case: case.to_owned(),
        bundle: Bundle::parse(&serde_json::to_vec(&json).unwrap()).unwrap(),
        root: root.clone(),
        artifact: digest,
        identity: KeylessIdentity::new(ISSUER.into(), Some(SUBJECT.into()), None).unwrap(),
        key: None,
    })
    .collect()
}

fn fixtures() -> Vec<Fixture> {
    let conformance = shared_dir().join("conformance");
    let mut all: Vec<Fixture> = conformance_cases()
        .into_iter()
        .filter(|row| row["expected"] == "pass")
        .map(|row| {
            let root = conformance_root(&row);
            let row: HashMap<&str, &str> =
                row.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let path = conformance
                .join("bundle-verify")
                .join(row["case"])
                .join("bundle.sigstore.json");
            let key = (row["verify_with"] == "key").then(|| {
                PublicKey::from_pem(&std::fs::read_to_string(conformance.join(row["key"])).unwrap())
                    .unwrap()
            });
            Fixture {
                case: row["case"].to_owned(),
                bundle: Bundle::parse(&std::fs::read(path).unwrap()).unwrap(),
                root: TrustedRoot::parse(&root).unwrap(),
                artifact: Sha256::digest(std::fs::read(conformance.join(row["artifact"])).unwrap())
                    .into(),
                identity: KeylessIdentity::new(
                    row["certificate_oidc_issuer"].to_owned(),
                    Some(row["certificate_identity"].to_owned()),
                    None,
                )
                .unwrap(),
                key,
            }
        })
        .collect();
    all.extend(test_pki_fixtures());
    all
}

/// Positions to flip in a field of `len` bytes: all of a short one, a spread of a long one.
fn positions(len: usize) -> impl Iterator<Item = usize> {
    let step = if len <= 128 { 1 } else { len / 97 + 1 };
    (0..len).step_by(step)
}

/// The byte range of the TSTInfo and of the SignerInfo inside a timestamp response.
fn signed_ranges(token: &[u8]) -> Vec<std::ops::Range<usize>> {
    let offset = |inner: &[u8]| inner.as_ptr() as usize - token.as_ptr() as usize;
    let mut top = Reader::new(token);
    let mut r = Reader::new(top.expect(der::SEQUENCE).unwrap().content);
    if r.peek_tag() == Some(der::SEQUENCE) {
        r.expect(der::SEQUENCE).unwrap();
    }
    let content_info = r.expect(der::SEQUENCE).map_or(token, |e| e.content);
    let mut ci = Reader::new(content_info);
    ci.expect(der::OID).unwrap();
    let signed_data = Reader::new(ci.expect(der::CONTEXT_0).unwrap().content)
        .expect(der::SEQUENCE)
        .unwrap();
    let mut sd = Reader::new(signed_data.content);
    sd.expect(der::INTEGER);
    sd.expect(der::SET);
    let encap = sd.expect(der::SEQUENCE).unwrap();
    sd.optional(der::CONTEXT_0);
    sd.optional(der::CONTEXT_1);
    let signer_infos = sd.expect(der::SET).unwrap();
    [encap.content, signer_infos.content]
        .iter()
        .map(|part| offset(part)..offset(part) + part.len())
        .collect()
}

#[test]
fn no_mutation_of_a_signed_or_bound_byte_still_verifies() {
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 24,
        "only {} passing fixtures",
        fixtures.len()
    );
    let mut survivors = Vec::new();
    let mut tried = 0usize;
    for f in &fixtures {
        assert!(
            f.verifies(&f.bundle),
            "{}: the unmutated fixture must verify",
            f.case
        );
        let mut check = |what: String, mutate: &dyn Fn(&mut Bundle)| {
            let mut b = f.bundle.clone();
            mutate(&mut b);
            tried += 1;
            if f.verifies(&b) {
                survivors.push(format!("{}: {what}", f.case));
            }
        };
        let signature_len = match &f.bundle.content {
            Content::MessageSignature { signature, .. } => signature.len(),
            Content::Dsse(e) => e.signatures[0].len(),
        };
        for i in positions(signature_len) {
            check(format!("signature byte {i}"), &|b| match &mut b.content {
                Content::MessageSignature { signature, .. } => signature[i] ^= 1,
                Content::Dsse(e) => e.signatures[0][i] ^= 1,
            });
        }
        match &f.bundle.content {
            Content::Dsse(e) => {
                for i in positions(e.payload.len()) {
                    check(format!("DSSE payload byte {i}"), &|b| {
                        if let Content::Dsse(e) = &mut b.content {
                            e.payload[i] ^= 1;
                        }
                    });
                }
                check("DSSE payload type".into(), &|b| {
                    if let Content::Dsse(e) = &mut b.content {
                        e.payload_type.push('x');
                    }
                });
            }
            Content::MessageSignature {
                digest: Some(d), ..
            } => {
                for i in positions(d.len()) {
                    check(format!("message digest byte {i}"), &|b| {
                        if let Content::MessageSignature {
                            digest: Some(d), ..
                        } = &mut b.content
                        {
                            d[i] ^= 1;
                        }
                    });
                }
            }
            Content::MessageSignature { digest: None, .. } => {}
        }
        let cert_len = match &f.bundle.material {
            Material::Certificate(c) => c.len(),
            Material::CertificateChain(c) => c[0].len(),
            Material::PublicKey { .. } => 0,
        };
        for i in positions(cert_len) {
            check(
                format!("certificate byte {i}"),
                &|b| match &mut b.material {
                    Material::Certificate(c) => c[i] ^= 1,
                    Material::CertificateChain(c) => c[0][i] ^= 1,
                    Material::PublicKey { .. } => {}
                },
            );
        }
        for (n, entry) in f.bundle.tlog_entries.iter().enumerate() {
            for i in positions(entry.body.len()) {
                check(format!("entry {n} body byte {i}"), &|b| {
                    let e = &mut b.tlog_entries[n];
                    e.body[i] ^= 1;
                    e.body_base64 = BASE64.encode(&e.body);
                });
            }
            // Without a SET, integratedTime is bound to nothing and trusted for
            // nothing; the entry's index is bound by the SET, or for Rekor v2 by the proof.
            if entry.signed_entry_timestamp.is_some() {
                check(format!("entry {n} integrated time"), &|b| {
                    b.tlog_entries[n].integrated_time += 1
                });
            }
            if entry.signed_entry_timestamp.is_some() || entry.version == "0.0.2" {
                check(format!("entry {n} log index"), &|b| {
                    b.tlog_entries[n].log_index += 1
                });
            }
            check(format!("entry {n} log id"), &|b| {
                b.tlog_entries[n].log_id[0] ^= 1
            });
            if let Some(set) = &entry.signed_entry_timestamp {
                for i in positions(set.len()) {
                    check(format!("entry {n} SET byte {i}"), &|b| {
                        b.tlog_entries[n].signed_entry_timestamp.as_mut().unwrap()[i] ^= 1
                    });
                }
            }
            let Some(proof) = &entry.inclusion_proof else {
                continue;
            };
            for h in 0..proof.hashes.len() {
                check(format!("entry {n} proof hash {h}"), &|b| {
                    b.tlog_entries[n].inclusion_proof.as_mut().unwrap().hashes[h][h % 32] ^= 1
                });
            }
            check(format!("entry {n} proof root"), &|b| {
                b.tlog_entries[n]
                    .inclusion_proof
                    .as_mut()
                    .unwrap()
                    .root_hash[7] ^= 1
            });
            check(format!("entry {n} proof index"), &|b| {
                b.tlog_entries[n]
                    .inclusion_proof
                    .as_mut()
                    .unwrap()
                    .log_index += 1
            });
            check(format!("entry {n} proof tree size"), &|b| {
                b.tlog_entries[n]
                    .inclusion_proof
                    .as_mut()
                    .unwrap()
                    .tree_size += 1
            });
            let Some(checkpoint) = &proof.checkpoint else {
                continue;
            };
            // The signed text, then each signature line: a line whose change breaks
            // the check is the log's, and every byte of it must matter. Witness
            // lines and lines by other keys are not checked, so they may change.
            let signed_end = checkpoint.find("\n\n").unwrap() + 1;
            let with_byte_flipped = |b: &mut Bundle, i: usize| {
                let p = b.tlog_entries[n].inclusion_proof.as_mut().unwrap();
                let mut bytes = p.checkpoint.take().unwrap().into_bytes();
                bytes[i] ^= 1;
                p.checkpoint = Some(String::from_utf8_lossy(&bytes).into_owned());
            };
            for i in positions(signed_end + 1) {
                check(format!("entry {n} checkpoint text byte {i}"), &|b| {
                    with_byte_flipped(b, i)
                });
            }
            let mut start = signed_end + 1;
            let mut log_lines = 0;
            for line in checkpoint[start..].split_inclusive('\n') {
                let range = start..start + line.len();
                start += line.len();
                // Probe with a signature that still decodes: one base64 digit swapped.
                let mut probe = f.bundle.clone();
                let at = range.end - 12;
                let p = probe.tlog_entries[n].inclusion_proof.as_mut().unwrap();
                let mut bytes = p.checkpoint.take().unwrap().into_bytes();
                bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
                p.checkpoint = Some(String::from_utf8(bytes).unwrap());
                if f.verifies(&probe) {
                    continue;
                }
                log_lines += 1;
                for i in range {
                    check(format!("entry {n} checkpoint log line byte {i}"), &|b| {
                        with_byte_flipped(b, i)
                    });
                }
            }
            assert!(
                log_lines >= 1,
                "{}: no checkpoint line is the log's",
                f.case
            );
        }
        for (n, token) in f.bundle.timestamps.iter().enumerate() {
            for range in signed_ranges(token) {
                for i in positions(range.len()).map(|i| range.start + i) {
                    check(format!("timestamp {n} byte {i}"), &|b| {
                        b.timestamps[n][i] ^= 1
                    });
                }
            }
        }
    }
    println!(
        "{tried} mutations of {} fixtures, none may verify",
        fixtures.len()
    );
    assert!(
        survivors.is_empty(),
        "{} mutations still verified:\n{}",
        survivors.len(),
        survivors.join("\n")
    );
}
