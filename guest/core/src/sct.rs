//! Embedded Signed Certificate Timestamps (RFC 6962 §3): proof that a CT log
//! saw the precertificate. The signature covers the leaf's TBS rebuilt without
//! the SCT extension, bound to the issuer's key.

use std::fmt;

use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;

use crate::der::{self, Reader};
use crate::hex;
use crate::trust_root::TransparencyLog;

/// DER of OID 1.3.6.1.4.1.11129.2.4.2, the embedded SCT list extension.
const SCT_LIST_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02];
/// Most SCTs read from one certificate.
const MAX_SCTS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SctError {
    NoSctList,
    Malformed(&'static str),
    TooMany {
        count: usize,
    },
    NoneVerified {
        reasons: Vec<String>,
    },
    Threshold {
        verified_logs: usize,
        required: usize,
    },
}

impl fmt::Display for SctError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSctList => write!(f, "the certificate embeds no SCT"),
            Self::Malformed(what) => write!(f, "malformed SCT: {what}"),
            Self::TooMany { count } => write!(f, "{count} SCTs, at most {MAX_SCTS}"),
            Self::NoneVerified { reasons } => {
                write!(
                    f,
                    "no SCT verifies against a CT log of the trusted root: {}",
                    reasons.join("; ")
                )
            }
            Self::Threshold {
                verified_logs,
                required,
            } => write!(
                f,
                "SCTs from {verified_logs} distinct CT logs verified, {required} required"
            ),
        }
    }
}

impl std::error::Error for SctError {}

/// One parsed SCT.
#[derive(Clone, Debug)]
struct Sct<'a> {
    log_id: &'a [u8],
    timestamp_ms: u64,
    extensions: &'a [u8],
    signature: &'a [u8],
}

/// Verifies the leaf's embedded SCTs: at least `threshold` distinct CT logs of
/// the trusted root, each valid at the SCT's time, must have signed one.
pub fn verify(
    leaf: &X509Certificate<'_>,
    issuer_spki: &[u8],
    logs: &[TransparencyLog],
    threshold: usize,
) -> Result<usize, SctError> {
    let list = leaf
        .extensions()
        .iter()
        .find(|e| e.oid.as_bytes() == SCT_LIST_OID)
        .ok_or(SctError::NoSctList)?;
    // The extension value is an OCTET STRING around the TLS-encoded list.
    let mut value = Reader::new(list.value);
    let inner = value
        .expect(der::OCTET_STRING)
        .filter(|_| value.is_empty())
        .ok_or(SctError::Malformed("extension value"))?
        .content;
    let scts = parse_list(inner)?;
    let tbs = tbs_without_sct(leaf.tbs_certificate.as_ref())
        .ok_or(SctError::Malformed("certificate TBS"))?;
    let issuer_key_hash: [u8; 32] = Sha256::digest(issuer_spki).into();

    let mut verified: Vec<&[u8]> = Vec::new();
    let mut reasons = Vec::new();
    for sct in &scts {
        let Some(log) = logs.iter().find(|l| l.log_id == sct.log_id) else {
            reasons.push(format!("SCT from unknown log {}", hex::encode(sct.log_id)));
            continue;
        };
        let seconds = i64::try_from(sct.timestamp_ms / 1000).unwrap_or(i64::MAX);
        if !log.valid_for.contains(seconds) {
            reasons.push(format!(
                "CT log {} was not valid at the SCT's time",
                log.base_url
            ));
            continue;
        }
        let signed = signed_data(sct, &issuer_key_hash, &tbs);
        match log.verify(&signed, sct.signature) {
            Ok(()) if !verified.contains(&sct.log_id) => verified.push(sct.log_id),
            Ok(()) => {}
            Err(e) => reasons.push(format!("SCT from {}: {e}", log.base_url)),
        }
    }
    if verified.is_empty() {
        return Err(SctError::NoneVerified { reasons });
    }
    if verified.len() < threshold {
        return Err(SctError::Threshold {
            verified_logs: verified.len(),
            required: threshold,
        });
    }
    Ok(verified.len())
}

fn parse_list(mut input: &[u8]) -> Result<Vec<Sct<'_>>, SctError> {
    let total = take_u16(&mut input).ok_or(SctError::Malformed("list length"))?;
    if total != input.len() {
        return Err(SctError::Malformed("list length"));
    }
    let mut scts = Vec::new();
    while !input.is_empty() {
        if scts.len() == MAX_SCTS {
            return Err(SctError::TooMany {
                count: MAX_SCTS + 1,
            });
        }
        let len = take_u16(&mut input).ok_or(SctError::Malformed("SCT length"))?;
        let mut sct = take(&mut input, len).ok_or(SctError::Malformed("SCT length"))?;
        let version = take(&mut sct, 1).ok_or(SctError::Malformed("version"))?;
        if version != [0] {
            return Err(SctError::Malformed("version is not v1"));
        }
        let log_id = take(&mut sct, 32).ok_or(SctError::Malformed("log ID"))?;
        let time = take(&mut sct, 8).ok_or(SctError::Malformed("timestamp"))?;
        let ext_len = take_u16(&mut sct).ok_or(SctError::Malformed("extensions"))?;
        let extensions = take(&mut sct, ext_len).ok_or(SctError::Malformed("extensions"))?;
        // Hash and signature algorithm bytes: the log key decides how to verify.
        take(&mut sct, 2).ok_or(SctError::Malformed("signature algorithm"))?;
        let sig_len = take_u16(&mut sct).ok_or(SctError::Malformed("signature"))?;
        let signature = take(&mut sct, sig_len).ok_or(SctError::Malformed("signature"))?;
        if !sct.is_empty() {
            return Err(SctError::Malformed("trailing bytes"));
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(time);
        scts.push(Sct {
            log_id,
            timestamp_ms: u64::from_be_bytes(ts),
            extensions,
            signature,
        });
    }
    Ok(scts)
}

/// RFC 6962 §3.2 `digitally-signed` struct for a precertificate entry.
fn signed_data(sct: &Sct<'_>, issuer_key_hash: &[u8; 32], tbs: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tbs.len() + 64 + sct.extensions.len());
    out.push(0); // version v1
    out.push(0); // signature_type: certificate_timestamp
    out.extend_from_slice(&sct.timestamp_ms.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // entry_type: precert_entry
    out.extend_from_slice(issuer_key_hash);
    let len = tbs.len() as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]); // uint24 length
    out.extend_from_slice(tbs);
    out.extend_from_slice(&(sct.extensions.len() as u16).to_be_bytes());
    out.extend_from_slice(sct.extensions);
    out
}

/// The TBSCertificate re-encoded without the SCT list extension, as the CT log
/// signed it.
fn tbs_without_sct(tbs: &[u8]) -> Option<Vec<u8>> {
    let mut outer = Reader::new(tbs);
    let body = outer.expect(der::SEQUENCE).filter(|_| outer.is_empty())?;
    let mut fields = Vec::new();
    let mut cursor = Reader::new(body.content);
    while !cursor.is_empty() {
        let field = cursor.any()?;
        if field.tag != der::CONTEXT_3 {
            fields.extend_from_slice(field.whole);
            continue;
        }
        let mut wrapper = Reader::new(field.content);
        let extensions = wrapper
            .expect(der::SEQUENCE)
            .filter(|_| wrapper.is_empty())?;
        let mut kept = Vec::new();
        let mut each = Reader::new(extensions.content);
        while !each.is_empty() {
            let extension = each.any()?;
            let oid = Reader::new(extension.content).expect(der::OID)?;
            if oid.content != SCT_LIST_OID {
                kept.extend_from_slice(extension.whole);
            }
        }
        fields.extend(der::encode(
            der::CONTEXT_3,
            &der::encode(der::SEQUENCE, &kept),
        ));
    }
    Some(der::encode(der::SEQUENCE, &fields))
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, tail) = (input.get(..n)?, input.get(n..)?);
    *input = tail;
    Some(head)
}

fn take_u16(input: &mut &[u8]) -> Option<usize> {
    let b = take(input, 2)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}
