//! Embedded Signed Certificate Timestamps (RFC 6962 §3): proof that a CT log
//! saw the precertificate. The signature covers the leaf's TBS rebuilt without
//! the SCT extension, bound to the issuer's key.

use std::fmt;

use sha2::{Digest, Sha256};
use x509_parser::certificate::X509Certificate;

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
    let (inner, rest) =
        der_element(list.value, 0x04).ok_or(SctError::Malformed("extension value"))?;
    if !rest.is_empty() {
        return Err(SctError::Malformed("extension value"));
    }
    let scts = parse_list(inner)?;
    let tbs = tbs_without_sct(leaf.tbs_certificate.as_ref())
        .ok_or(SctError::Malformed("certificate TBS"))?;
    let issuer_key_hash: [u8; 32] = Sha256::digest(issuer_spki).into();

    let mut verified: Vec<&[u8]> = Vec::new();
    let mut reasons = Vec::new();
    for sct in &scts {
        let Some(log) = logs.iter().find(|l| l.log_id == sct.log_id) else {
            reasons.push(format!("SCT from unknown log {}", hex(sct.log_id)));
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
        match log.key.verify(&signed, sct.signature) {
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
    let (body, rest) = der_element(tbs, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let mut fields = Vec::new();
    let mut cursor = body;
    while !cursor.is_empty() {
        let field = der_any(cursor)?;
        if field.tag == 0xa3 {
            let (exts, after) = der_element(field.content, 0x30)?;
            if !after.is_empty() {
                return None;
            }
            let mut kept = Vec::new();
            let mut ext_cursor = exts;
            while !ext_cursor.is_empty() {
                let extension = der_any(ext_cursor)?;
                let (oid, _) = der_element(extension.content, 0x06)?;
                if oid != SCT_LIST_OID {
                    kept.extend_from_slice(extension.whole);
                }
                ext_cursor = extension.rest;
            }
            fields.extend(encode(0xa3, &encode(0x30, &kept)));
        } else {
            fields.extend_from_slice(field.whole);
        }
        cursor = field.rest;
    }
    Some(encode(0x30, &fields))
}

/// One DER element read off the front of some input.
struct Element<'a> {
    tag: u8,
    content: &'a [u8],
    /// Header and content together.
    whole: &'a [u8],
    /// The input after this element.
    rest: &'a [u8],
}

fn der_any(input: &[u8]) -> Option<Element<'_>> {
    let (&tag, after_tag) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag numbers do not occur here
    }
    let (&first, mut rest) = after_tag.split_first()?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let bytes = rest.get(..n)?;
            rest = &rest[n..];
            bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        }
        _ => return None,
    };
    let content = rest.get(..len)?;
    let header = input.len() - rest.len();
    Some(Element {
        tag,
        content,
        whole: &input[..header + len],
        rest: &rest[len..],
    })
}

fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let element = der_any(input)?;
    (element.tag == tag).then_some((element.content, element.rest))
}

fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
