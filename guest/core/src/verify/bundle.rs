//! Verifying one Sigstore bundle, in sigstore-go's order: the log entries
//! (bound to the bundle, SET, inclusion proof, checkpoint), the signing time
//! they prove, the certificate at that time (path, SCT, identity) or the key,
//! and last the signature over the artifact.
//!
//! Log kinds other than hashedrekord (0.0.1, 0.0.2), rekord 0.0.1, dsse
//! (0.0.1, 0.0.2) and intoto 0.0.2 fail closed, naming `tlog.body`.

use std::fmt;

use x509_parser::prelude::FromDer;

use crate::bundle::{Bundle, Content, Material, TlogEntry, Version};
use crate::checkpoint::Checkpoint;
use crate::decision::{Check, Outcome};
use crate::dsse;
use crate::hex;
use crate::policy::KeylessIdentity;
use crate::public_key::{HashAlgorithm, PublicKey};
use crate::sct;
use crate::statement;
use crate::timestamp;
use crate::tlog::{body, merkle, set};
use crate::trust_root::{TransparencyLog, TrustedRoot};
use crate::x509::chain::{self, Purpose, rfc3339};
use crate::x509::identity;

/// What was signed.
#[derive(Clone, Copy, Debug)]
pub enum Artifact<'a> {
    Bytes(&'a [u8]),
    /// Only the SHA-256 digest is known.
    Digest([u8; 32]),
    /// Only the SHA-512 digest is known: enough for an in-toto subject (npm
    /// packages name theirs so), not for a message signature.
    Sha512([u8; 64]),
}

/// Who must have signed.
#[derive(Clone, Copy, Debug)]
pub enum Signer<'a> {
    Keyless(&'a KeylessIdentity),
    Key(&'a PublicKey, KeyLog),
}

/// Whether a key signer also needs a transparency-log entry. Keyless always does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLog {
    /// As cosign and the conformance client: at least one verified entry.
    Required,
    /// As Talos for `publicKey` rules: none needed, but any present must verify.
    IfPresent,
}

/// The first check that failed: its name and what it expected and found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub check: &'static str,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.message)
    }
}

impl std::error::Error for Failure {}

pub(crate) fn fail<T>(check: &'static str, message: impl fmt::Display) -> Result<T, Failure> {
    Err(Failure {
        check,
        message: message.to_string(),
    })
}

/// Parses a bundle's JSON, then verifies it as [`verify`] does.
pub fn verify_json(
    json: &[u8],
    artifact: Artifact<'_>,
    signer: Signer<'_>,
    root: &TrustedRoot,
    trace: &mut Vec<Check>,
) -> Result<(), Failure> {
    let bundle = Bundle::parse(json).or_else(|e| fail("bundle", e))?;
    trace.push(Check::new(
        "bundle",
        Outcome::Passed,
        format!("{:?} bundle parsed", bundle.version),
    ));
    verify(&bundle, artifact, signer, root, trace)
}

/// How many distinct logs must vouch for a bundle. Entries and SCTs count
/// once per log, never once per copy (GHSA-9vcr-p3rj-q5q6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub tlogs: usize,
    pub ct_logs: usize,
}

impl Default for Thresholds {
    /// One transparency log and one CT log, as cosign and sigstore-go require.
    fn default() -> Self {
        Self {
            tlogs: 1,
            ct_logs: 1,
        }
    }
}

/// Verifies `bundle` over `artifact` for `signer` against `root`, with the
/// default thresholds. Each check that holds is appended to `trace`; the
/// first that does not is returned.
pub fn verify(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    signer: Signer<'_>,
    root: &TrustedRoot,
    trace: &mut Vec<Check>,
) -> Result<(), Failure> {
    verify_with(bundle, artifact, signer, root, Thresholds::default(), trace)
}

/// [`verify`], with thresholds of the caller's choosing.
pub fn verify_with(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    signer: Signer<'_>,
    root: &TrustedRoot,
    thresholds: Thresholds,
    trace: &mut Vec<Check>,
) -> Result<(), Failure> {
    verify_signing_times(bundle, artifact, signer, root, thresholds, trace).map(|_| ())
}

/// [`verify_with`], returning the verified signing times (log integrated
/// times and RFC 3161 times; empty for a key bundle that needs none).
pub fn verify_signing_times(
    bundle: &Bundle,
    artifact: Artifact<'_>,
    signer: Signer<'_>,
    root: &TrustedRoot,
    thresholds: Thresholds,
    trace: &mut Vec<Check>,
) -> Result<Vec<i64>, Failure> {
    let mut pass =
        |name: &str, detail: String| trace.push(Check::new(name, Outcome::Passed, detail));

    // A message signature is over the artifact's digest, by the bundle's hash.
    let message_digest = match &bundle.content {
        Content::MessageSignature {
            digest_algorithm, ..
        } => Some(
            artifact_digest(artifact, *digest_algorithm)
                .map(|d| (*digest_algorithm, d))
                .ok_or_else(|| Failure {
                    check: "artifact.digest",
                    message: format!(
                        "the message signature is over the artifact's {}, which was not given",
                        digest_algorithm.name()
                    ),
                })?,
        ),
        Content::Dsse(_) => None,
    };
    let (signature, signed) = match (&bundle.content, &message_digest) {
        (Content::MessageSignature { .. }, None) => {
            return fail("artifact.digest", "no digest of the artifact");
        }
        (
            Content::MessageSignature {
                digest, signature, ..
            },
            Some((algorithm, artifact_digest)),
        ) => {
            if let Some(stated) = digest
                && stated != artifact_digest
            {
                return fail(
                    "artifact.digest",
                    format!(
                        "expected the bundle's message digest {} to be the artifact's {}",
                        hex::encode(stated),
                        hex::encode(artifact_digest)
                    ),
                );
            }
            (
                signature.as_slice(),
                body::Signed::Digest(*algorithm, artifact_digest),
            )
        }
        (Content::Dsse(envelope), _) => match envelope.signatures.as_slice() {
            [signature] => (
                signature.as_slice(),
                body::Signed::Dsse {
                    payload_type: &envelope.payload_type,
                    payload: &envelope.payload,
                },
            ),
            other => {
                return fail(
                    "dsse",
                    format!("expected exactly one signature, found {}", other.len()),
                );
            }
        },
    };

    // The signer as the log must have recorded it, and the key that signed.
    let (leaf, untrusted) = match (&bundle.material, signer) {
        (Material::Certificate(c), Signer::Keyless(_)) => (Some(c.as_slice()), &[][..]),
        (Material::CertificateChain(c), Signer::Keyless(_)) => {
            (c.first().map(Vec::as_slice), c.get(1..).unwrap_or(&[]))
        }
        (Material::PublicKey { .. }, Signer::Key(..)) => (None, &[][..]),
        (Material::PublicKey { .. }, Signer::Keyless(_)) => {
            return fail(
                "material",
                "expected a certificate for a keyless identity, the bundle names a key",
            );
        }
        (_, Signer::Key(..)) => {
            return fail(
                "material",
                "expected a signature by the given key, the bundle carries a certificate",
            );
        }
    };
    let (signer_der, signing_key) = match (leaf, signer) {
        (Some(der), _) => {
            let cert =
                chain::parse(der, "the signing certificate").or_else(|e| fail("certificate", e))?;
            let key = PublicKey::from_spki_der(cert.public_key().raw)
                .or_else(|e| fail("certificate", e))?;
            (der.to_vec(), key)
        }
        (None, Signer::Key(key, _)) => (key.spki_der().or_else(|e| fail("key", e))?, key.clone()),
        (None, Signer::Keyless(_)) => return fail("material", "no certificate"),
    };

    let claims = body::Claims {
        signature,
        signer_der: &signer_der,
        signed,
    };
    let log_optional = matches!(signer, Signer::Key(_, KeyLog::IfPresent));
    let mut times = if log_optional && bundle.tlog_entries.is_empty() {
        pass(
            "tlog.entries",
            "none, and a public-key rule needs none".to_owned(),
        );
        Vec::new()
    } else {
        verify_tlog_entries(bundle, &claims, root, thresholds.tlogs, &mut pass)?
    };
    for token in &bundle.timestamps {
        let stamp = timestamp::verify(token, signature, &root.timestamp_authorities)
            .or_else(|e| fail("timestamp", e))?;
        pass(
            "timestamp",
            format!(
                "RFC 3161 timestamp at {} by a trusted TSA",
                rfc3339(stamp.time)
            ),
        );
        times.push(stamp.time);
    }
    // A key has no validity window here, so it needs a time only to check
    // entries it has; a certificate always needs one.
    if times.is_empty() && !(log_optional && bundle.tlog_entries.is_empty()) {
        return fail(
            "time",
            "no verified signing time: expected a signed entry timestamp or an RFC 3161 timestamp",
        );
    }

    if let (Some(leaf), Signer::Keyless(expected)) = (leaf, signer) {
        verify_certificate(
            leaf,
            untrusted,
            &times,
            expected,
            root,
            thresholds.ct_logs,
            &mut pass,
        )?;
    }

    match (&bundle.content, &message_digest) {
        (Content::MessageSignature { .. }, None) => {
            return fail("artifact.digest", "no digest of the artifact");
        }
        (Content::MessageSignature { .. }, Some((algorithm, artifact_digest))) => {
            let verified = match (artifact, &signing_key) {
                (Artifact::Bytes(bytes), PublicKey::Ed25519(_)) => {
                    signing_key.verify(bytes, signature)
                }
                _ => signing_key.verify_prehashed(artifact_digest, *algorithm, signature),
            };
            verified.or_else(|e| {
                fail(
                    "signature",
                    format!("over the artifact {}: {e}", hex::encode(artifact_digest)),
                )
            })?;
            pass(
                "signature",
                format!(
                    "{} signature over {}:{}",
                    signing_key.algorithm(),
                    algorithm.name(),
                    hex::encode(artifact_digest)
                ),
            );
        }
        (Content::Dsse(envelope), _) => {
            let pae = dsse::pae(&envelope.payload_type, &envelope.payload);
            signing_key
                .verify(&pae, signature)
                .or_else(|e| fail("signature", format!("over the DSSE envelope: {e}")))?;
            pass(
                "signature",
                format!(
                    "{} signature over the DSSE envelope",
                    signing_key.algorithm()
                ),
            );
            // Hashed here, not up front: a message signature needs only its own.
            let sha256 = artifact_digest(artifact, HashAlgorithm::Sha256);
            let sha512 = artifact_digest(artifact, HashAlgorithm::Sha512);
            let digests = statement::Digests {
                sha256: sha256.as_deref(),
                sha512: sha512.as_deref(),
            };
            let named =
                statement::check_subject(&envelope.payload_type, &envelope.payload, &digests)
                    .or_else(|e| fail("dsse.subject", e))?;
            pass(
                "dsse.subject",
                format!("the in-toto statement names {named}"),
            );
        }
    }
    Ok(times)
}

/// The artifact's digest under `algorithm`, if what was given allows it.
fn artifact_digest(artifact: Artifact<'_>, algorithm: HashAlgorithm) -> Option<Vec<u8>> {
    match (artifact, algorithm) {
        (Artifact::Bytes(bytes), _) => Some(algorithm.digest(bytes)),
        (Artifact::Digest(d), HashAlgorithm::Sha256) => Some(d.to_vec()),
        (Artifact::Sha512(d), HashAlgorithm::Sha512) => Some(d.to_vec()),
        _ => None,
    }
}

/// Checks every log entry and returns the signing times their SETs prove.
/// One bad entry fails the bundle: there is no falling back to another.
fn verify_tlog_entries(
    bundle: &Bundle,
    claims: &body::Claims<'_>,
    root: &TrustedRoot,
    threshold: usize,
    pass: &mut impl FnMut(&str, String),
) -> Result<Vec<i64>, Failure> {
    if bundle.tlog_entries.is_empty() {
        return fail(
            "tlog.entries",
            "expected at least 1 transparency-log entry, found none",
        );
    }
    let mut times = Vec::new();
    let mut logs: Vec<&[u8]> = Vec::new();
    for entry in &bundle.tlog_entries {
        let log = trusted_log(root, &entry.log_id)?;
        body::check(&entry.body, &entry.kind, &entry.version, claims)
            .or_else(|e| fail("tlog.body", e))?;
        pass(
            "tlog.body",
            format!(
                "{} {} entry {} names this signature, signer and artifact",
                entry.kind, entry.version, entry.log_index
            ),
        );

        let mut proven = false;
        match &entry.signed_entry_timestamp {
            Some(set_bytes) => {
                let fields = set::SignedFields {
                    body_base64: &entry.body_base64,
                    integrated_time: entry.integrated_time,
                    log_id: &entry.log_id,
                    log_index: entry.log_index,
                };
                verify_set(&fields, set_bytes, log)?;
                times.push(entry.integrated_time);
                proven = true;
                pass(
                    "tlog.set",
                    format!(
                        "signed by {} at {}",
                        log.base_url,
                        rfc3339(entry.integrated_time)
                    ),
                );
            }
            None if bundle.version == Version::V01 => {
                return fail(
                    "tlog.set",
                    "a v0.1 bundle's entry must carry a signed entry timestamp",
                );
            }
            None => {}
        }
        match &entry.inclusion_proof {
            Some(_) => {
                verify_inclusion(entry, log)?;
                proven = true;
                pass(
                    "tlog.inclusion",
                    format!(
                        "entry {} is in {}'s signed tree",
                        entry.log_index, log.base_url
                    ),
                );
            }
            None if bundle.version != Version::V01 => {
                return fail(
                    "tlog.inclusion",
                    "expected an inclusion proof (bundle v0.2 and later), found none",
                );
            }
            None => {}
        }
        if !proven {
            return fail(
                "tlog.entries",
                "entry has neither a signed entry timestamp nor an inclusion proof",
            );
        }
        if !logs.contains(&entry.log_id.as_slice()) {
            logs.push(&entry.log_id);
        }
    }
    if logs.len() < threshold {
        return fail(
            "tlog.threshold",
            format!(
                "expected entries from {threshold} distinct logs, found {}",
                logs.len()
            ),
        );
    }
    pass(
        "tlog.threshold",
        format!("{} distinct log(s), {threshold} required", logs.len()),
    );
    Ok(times)
}

/// The log of the trusted root that `log_id` names.
pub(crate) fn trusted_log<'r>(
    root: &'r TrustedRoot,
    log_id: &[u8],
) -> Result<&'r TransparencyLog, Failure> {
    root.tlogs
        .iter()
        .find(|l| l.log_id == log_id)
        .ok_or_else(|| Failure {
            check: "tlog.log",
            message: format!(
                "entry from log {} is not in the trusted root",
                hex::encode(log_id)
            ),
        })
}

/// A SET, by a log whose key was valid at the integrated time it signs.
pub(crate) fn verify_set(
    fields: &set::SignedFields<'_>,
    set_bytes: &[u8],
    log: &TransparencyLog,
) -> Result<(), Failure> {
    if !log.valid_for.contains(fields.integrated_time) {
        return fail(
            "tlog.set",
            format!(
                "log {} key was not valid at integrated time {}",
                log.base_url,
                rfc3339(fields.integrated_time)
            ),
        );
    }
    set::verify(fields, set_bytes, log).or_else(|e| fail("tlog.set", e))
}

fn verify_inclusion(entry: &TlogEntry, log: &TransparencyLog) -> Result<(), Failure> {
    let Some(proof) = &entry.inclusion_proof else {
        return fail("tlog.inclusion", "no inclusion proof");
    };
    let Some(envelope) = &proof.checkpoint else {
        return fail(
            "tlog.checkpoint",
            "the inclusion proof has no signed checkpoint",
        );
    };
    let (index, size) = (proof.log_index as u64, proof.tree_size as u64);
    merkle::verify_inclusion(
        &merkle::leaf_hash(&entry.body),
        index,
        size,
        &proof.hashes,
        &proof.root_hash,
    )
    .or_else(|e| fail("tlog.inclusion", e))?;
    let checkpoint = Checkpoint::parse(envelope).or_else(|e| fail("tlog.checkpoint", e))?;
    // Rekor v2 logs (hashedrekord and dsse 0.0.2) sign under their URL's host,
    // and, having no SET, bind the entry's index only through the proof.
    // A Rekor v1 entry's index is global across the log's shards while its
    // proof's is the shard's own (rekor#1599), so the global one is the
    // shard-local one plus the sizes of the shards before it: never less.
    let rekor_v2 =
        entry.version == "0.0.2" && matches!(entry.kind.as_str(), "hashedrekord" | "dsse");
    if rekor_v2 && entry.log_index != proof.log_index {
        return fail(
            "tlog.inclusion",
            format!(
                "expected the entry's log index {} to be the proof's {}",
                entry.log_index, proof.log_index
            ),
        );
    }
    if !rekor_v2 && entry.log_index < proof.log_index {
        return fail(
            "tlog.inclusion",
            format!(
                "expected the entry's global log index {} to be at least the proof's shard index {}",
                entry.log_index, proof.log_index
            ),
        );
    }
    let origin = rekor_v2.then(|| {
        let url = log.base_url.as_str();
        url.split_once("://")
            .map_or(url, |(_, host)| host)
            .trim_end_matches('/')
    });
    checkpoint
        .verify(log, origin)
        .or_else(|e| fail("tlog.checkpoint", e))?;
    if checkpoint.root_hash != proof.root_hash || checkpoint.tree_size != size {
        return fail(
            "tlog.checkpoint",
            format!(
                "expected the checkpoint to commit to root {} at size {size}, it commits to {} at size {}",
                hex::encode(&proof.root_hash),
                hex::encode(&checkpoint.root_hash),
                checkpoint.tree_size
            ),
        );
    }
    Ok(())
}

/// The certificate at every verified time: a path to a trusted Fulcio CA,
/// an SCT from a trusted CT log, and the identity the rule demands.
pub(crate) fn verify_certificate(
    leaf: &[u8],
    untrusted: &[Vec<u8>],
    times: &[i64],
    expected: &KeylessIdentity,
    root: &TrustedRoot,
    ct_threshold: usize,
    pass: &mut impl FnMut(&str, String),
) -> Result<(), Failure> {
    // Several entries and timestamps often prove the same second.
    let mut times = times.to_vec();
    times.sort_unstable();
    times.dedup();
    let mut paths = chain::PathBuilder::new(
        leaf,
        untrusted,
        &root.certificate_authorities,
        Purpose::CodeSigning,
    )
    .or_else(|e| fail("certificate.chain", e))?;
    let mut issuer_spki = None;
    for time in times {
        let path = paths
            .verify_at(time)
            .or_else(|e| fail("certificate.chain", e))?;
        pass(
            "certificate.chain",
            format!("chains to a trusted Fulcio CA at {}", rfc3339(time)),
        );
        issuer_spki = path.path.get(1).cloned();
    }
    let cert = chain::parse(leaf, "the signing certificate").or_else(|e| fail("certificate", e))?;
    let issuer_der = issuer_spki.ok_or_else(|| Failure {
        check: "certificate.chain",
        message: "no issuer".to_owned(),
    })?;
    let (_, issuer) =
        x509_parser::certificate::X509Certificate::from_der(&issuer_der).map_err(|e| Failure {
            check: "certificate.chain",
            message: e.to_string(),
        })?;
    let logs = sct::verify(&cert, issuer.public_key().raw, &root.ct_logs, ct_threshold)
        .or_else(|e| fail("certificate.sct", e))?;
    pass(
        "certificate.sct",
        format!("SCTs from {logs} trusted CT log(s)"),
    );

    let who = identity::identity(&cert).or_else(|e| fail("certificate.identity", e))?;
    if who.issuer != expected.issuer {
        return fail(
            "certificate.issuer",
            format!(
                "expected issuer `{}`, got `{}`",
                expected.issuer, who.issuer
            ),
        );
    }
    if let Some(subject) = &expected.subject
        && *subject != who.subject
    {
        return fail(
            "certificate.subject",
            format!("expected SAN `{subject}`, got `{}`", who.subject),
        );
    }
    if let Some(regex) = &expected.subject_regex
        && !regex.is_match(&who.subject)
    {
        return fail(
            "certificate.subject",
            format!(
                "expected SAN matching `{}`, got `{}`",
                regex.as_str(),
                who.subject
            ),
        );
    }
    pass(
        "certificate.identity",
        format!("issuer `{}`, SAN `{}`", who.issuer, who.subject),
    );
    Ok(())
}
