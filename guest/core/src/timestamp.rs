//! RFC 3161 timestamps: a trusted timestamp authority's signed statement that
//! the bundle's signature existed at `genTime`.
//!
//! Checks, in order: the token is a CMS SignedData over a TSTInfo; the TSTInfo
//! imprints the signature; the signed attributes name TSTInfo and digest it;
//! the signer (the certificate the SignerInfo names, never merely the first
//! one in the bag) signed them; and that certificate chains to a TSA of the
//! trusted root at `genTime`, which the TSA's validity window contains.

use std::fmt;

use x509_parser::certificate::X509Certificate;

use crate::der::{self, Element, Reader};
use crate::public_key::{HashAlgorithm, PublicKey};
use crate::trust_root::CertificateAuthority;
use crate::x509::chain::{self, Purpose, rfc3339};

const OID_SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const OID_TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const OID_CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const OID_MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
const OID_ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_RSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
const OID_RSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
const OID_RSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const OID_SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const OID_SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
/// Most certificates read from one token's bag.
const MAX_CERTIFICATES: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimestampError {
    Malformed(&'static str),
    NotGranted { status: u8 },
    UnsupportedHash,
    ImprintMismatch,
    SignedAttributes(&'static str),
    NoSignerCertificate,
    SignerNotFirst,
    BadSignature(String),
    NoTrustedAuthority { time: i64, reasons: Vec<String> },
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(what) => write!(f, "malformed timestamp token: {what}"),
            Self::NotGranted { status } => write!(
                f,
                "the timestamp response was not granted (status {status})"
            ),
            Self::UnsupportedHash => write!(f, "unsupported hash algorithm in the timestamp"),
            Self::ImprintMismatch => write!(f, "the timestamp is over a different signature"),
            Self::SignedAttributes(what) => write!(f, "timestamp signed attributes: {what}"),
            Self::NoSignerCertificate => write!(
                f,
                "the certificate the timestamp's signer names is neither in the token nor in the trusted root"
            ),
            Self::SignerNotFirst => write!(
                f,
                "the first certificate in the timestamp's bag is not the one its signer names"
            ),
            Self::BadSignature(e) => write!(f, "the timestamp signature does not verify: {e}"),
            Self::NoTrustedAuthority { time, reasons } => write!(
                f,
                "no timestamp authority of the trusted root vouches for a timestamp at {}: {}",
                rfc3339(*time),
                if reasons.is_empty() {
                    "none is valid then".to_owned()
                } else {
                    reasons.join("; ")
                }
            ),
        }
    }
}

impl std::error::Error for TimestampError {}

/// A timestamp that verified: when, and by which authority of the trusted root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    pub time: i64,
    pub authority: usize,
}

fn malformed(what: &'static str) -> TimestampError {
    TimestampError::Malformed(what)
}

/// Verifies a DER timestamp (a TimeStampResp or a bare TimeStampToken) over
/// `signature` against the trusted root's timestamp authorities.
pub fn verify(
    token: &[u8],
    signature: &[u8],
    authorities: &[CertificateAuthority],
) -> Result<VerifiedTimestamp, TimestampError> {
    let content_info = unwrap_response(token)?;
    let mut info = Reader::new(content_info.content);
    let oid = info.expect(der::OID).ok_or(malformed("content type"))?;
    if oid.content != OID_SIGNED_DATA {
        return Err(malformed("not a CMS SignedData"));
    }
    let explicit = info.expect(der::CONTEXT_0).ok_or(malformed("SignedData"))?;
    let signed_data = Reader::new(explicit.content)
        .expect(der::SEQUENCE)
        .ok_or(malformed("SignedData"))?;

    let mut sd = Reader::new(signed_data.content);
    sd.expect(der::INTEGER)
        .ok_or(malformed("SignedData version"))?;
    sd.expect(der::SET).ok_or(malformed("digest algorithms"))?;
    let encap = sd
        .expect(der::SEQUENCE)
        .ok_or(malformed("encapsulated content"))?;
    let certificates = sd.optional(der::CONTEXT_0);
    sd.optional(der::CONTEXT_1);
    let signer_infos = sd.expect(der::SET).ok_or(malformed("signer infos"))?;

    let mut encap_reader = Reader::new(encap.content);
    let econtent_type = encap_reader
        .expect(der::OID)
        .ok_or(malformed("content type"))?;
    if econtent_type.content != OID_TST_INFO {
        return Err(malformed("content is not a TSTInfo"));
    }
    let wrapped = encap_reader
        .expect(der::CONTEXT_0)
        .ok_or(malformed("TSTInfo"))?;
    let tst_octets = Reader::new(wrapped.content)
        .expect(der::OCTET_STRING)
        .ok_or(malformed("TSTInfo"))?
        .content;
    let (imprint_hash, imprint, time) = read_tst_info(tst_octets)?;
    if imprint_hash.digest(signature) != imprint {
        return Err(TimestampError::ImprintMismatch);
    }

    let mut infos = Reader::new(signer_infos.content);
    let signer_info = infos
        .expect(der::SEQUENCE)
        .ok_or(malformed("signer info"))?;
    if !infos.is_empty() {
        return Err(malformed("more than one signer"));
    }
    let signer = read_signer_info(signer_info)?;

    let attrs_digest = signer.digest.digest(tst_octets);
    check_signed_attributes(signer.signed_attributes, &attrs_digest)?;

    let bag = read_bag(certificates)?;
    // A bag leads with its signer. Anything else in front is what the forged-
    // leaf attack (GHSA-xm5m-wrg3-rrg3) puts there, so it is refused outright.
    if let Some(first) = bag.first()
        && !names(first, &signer.sid)
    {
        return Err(TimestampError::SignerNotFirst);
    }
    let trusted = authorities
        .iter()
        .flat_map(|a| a.chain.iter().map(Vec::as_slice));
    let signer_der = bag
        .iter()
        .copied()
        .chain(trusted)
        .find(|der| names(der, &signer.sid))
        .ok_or(TimestampError::NoSignerCertificate)?;
    let cert = chain::parse(signer_der, "the timestamp signer")
        .map_err(|e| TimestampError::BadSignature(e.to_string()))?;
    let key = PublicKey::from_spki_der(cert.public_key().raw)
        .map_err(|e| TimestampError::BadSignature(e.to_string()))?;
    let family = match key {
        PublicKey::P256(_) | PublicKey::P384(_) | PublicKey::P521(_) => KeyFamily::Ecdsa,
        PublicKey::Rsa(_) => KeyFamily::Rsa,
        PublicKey::Ed25519(_) => KeyFamily::Ed25519,
    };
    if family != signer.family {
        return Err(TimestampError::BadSignature(format!(
            "the signer's key is {}, the token's signature algorithm says {:?}",
            key.algorithm(),
            signer.family
        )));
    }
    // The signature covers the attributes re-tagged as a SET (RFC 5652 §5.4).
    let mut signed = signer.signed_attributes.whole.to_vec();
    signed[0] = der::SET;
    key.verify_with_hash(&signed, signer.signature, signer.digest)
        .map_err(|e| TimestampError::BadSignature(e.to_string()))?;

    let mut reasons = Vec::new();
    for (index, authority) in authorities.iter().enumerate() {
        if !authority.valid_for.contains(time) {
            continue;
        }
        match chain::verify(
            signer_der,
            &[],
            std::slice::from_ref(authority),
            time,
            Purpose::TimeStamping,
        ) {
            Ok(_) => {
                return Ok(VerifiedTimestamp {
                    time,
                    authority: index,
                });
            }
            Err(e) => reasons.push(e.to_string()),
        }
    }
    Err(TimestampError::NoTrustedAuthority { time, reasons })
}

/// A TimeStampResp carries a status before the token; a bare token does not.
fn unwrap_response(input: &[u8]) -> Result<Element<'_>, TimestampError> {
    let mut outer = Reader::new(input);
    let top = outer
        .expect(der::SEQUENCE)
        .filter(|_| outer.is_empty())
        .ok_or(malformed("not a DER SEQUENCE"))?;
    let mut inner = Reader::new(top.content);
    if inner.peek_tag() == Some(der::OID) {
        return Ok(top);
    }
    let status_info = inner.expect(der::SEQUENCE).ok_or(malformed("status"))?;
    let status = Reader::new(status_info.content)
        .expect(der::INTEGER)
        .ok_or(malformed("status"))?;
    match status.content {
        [0] | [1] => {}
        [s] => return Err(TimestampError::NotGranted { status: *s }),
        _ => return Err(malformed("status")),
    }
    inner
        .expect(der::SEQUENCE)
        .ok_or(malformed("no token in the response"))
}

fn hash_of(algorithm: Element<'_>) -> Result<HashAlgorithm, TimestampError> {
    let oid = Reader::new(algorithm.content)
        .expect(der::OID)
        .ok_or(malformed("algorithm"))?;
    match oid.content {
        OID_SHA256 => Ok(HashAlgorithm::Sha256),
        OID_SHA384 => Ok(HashAlgorithm::Sha384),
        OID_SHA512 => Ok(HashAlgorithm::Sha512),
        _ => Err(TimestampError::UnsupportedHash),
    }
}

/// (imprint hash, imprint, genTime) of a TSTInfo.
fn read_tst_info(der_bytes: &[u8]) -> Result<(HashAlgorithm, &[u8], i64), TimestampError> {
    let mut outer = Reader::new(der_bytes);
    let tst = outer.expect(der::SEQUENCE).ok_or(malformed("TSTInfo"))?;
    let mut r = Reader::new(tst.content);
    r.expect(der::INTEGER).ok_or(malformed("TSTInfo version"))?;
    r.expect(der::OID).ok_or(malformed("TSTInfo policy"))?;
    let imprint = r
        .expect(der::SEQUENCE)
        .ok_or(malformed("message imprint"))?;
    r.expect(der::INTEGER).ok_or(malformed("TSTInfo serial"))?;
    let gen_time = r
        .expect(der::GENERALIZED_TIME)
        .ok_or(malformed("genTime"))?;
    let mut ir = Reader::new(imprint.content);
    let hash = hash_of(
        ir.expect(der::SEQUENCE)
            .ok_or(malformed("imprint algorithm"))?,
    )?;
    let hashed = ir
        .expect(der::OCTET_STRING)
        .ok_or(malformed("imprint"))?
        .content;
    Ok((hash, hashed, generalized_time(gen_time.content)?))
}

/// `YYYYMMDDHHMMSS[.fraction]Z`; the fraction is dropped.
fn generalized_time(text: &[u8]) -> Result<i64, TimestampError> {
    let text = std::str::from_utf8(text).map_err(|_| malformed("genTime"))?;
    let text = text
        .strip_suffix('Z')
        .ok_or(malformed("genTime is not UTC"))?;
    let whole = text.split('.').next().unwrap_or_default();
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("genTime"));
    }
    let n = |range: std::ops::Range<usize>| {
        whole[range]
            .parse::<u32>()
            .map_err(|_| malformed("genTime"))
    };
    let month = time::Month::try_from(n(4..6)? as u8).map_err(|_| malformed("genTime"))?;
    let date = time::Date::from_calendar_date(n(0..4)? as i32, month, n(6..8)? as u8)
        .map_err(|_| malformed("genTime"))?;
    let clock = time::Time::from_hms(n(8..10)? as u8, n(10..12)? as u8, n(12..14)? as u8)
        .map_err(|_| malformed("genTime"))?;
    Ok(time::PrimitiveDateTime::new(date, clock)
        .assume_utc()
        .unix_timestamp())
}

/// How a SignerInfo names its certificate.
enum SignerId<'a> {
    IssuerAndSerial { issuer: &'a [u8], serial: &'a [u8] },
    SubjectKeyId(&'a [u8]),
}

/// The key family a SignerInfo's signature algorithm names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyFamily {
    Ecdsa,
    Rsa,
    Ed25519,
}

struct SignerInfo<'a> {
    sid: SignerId<'a>,
    digest: HashAlgorithm,
    family: KeyFamily,
    signed_attributes: Element<'a>,
    signature: &'a [u8],
}

fn read_signer_info(info: Element<'_>) -> Result<SignerInfo<'_>, TimestampError> {
    let mut r = Reader::new(info.content);
    r.expect(der::INTEGER).ok_or(malformed("signer version"))?;
    let sid = match r.peek_tag() {
        Some(der::SEQUENCE) => {
            let ias = r.expect(der::SEQUENCE).ok_or(malformed("signer id"))?;
            let mut ir = Reader::new(ias.content);
            let issuer = ir.expect(der::SEQUENCE).ok_or(malformed("signer issuer"))?;
            let serial = ir.expect(der::INTEGER).ok_or(malformed("signer serial"))?;
            SignerId::IssuerAndSerial {
                issuer: issuer.whole,
                serial: serial.content,
            }
        }
        Some(0x80) => SignerId::SubjectKeyId(r.any().ok_or(malformed("signer id"))?.content),
        _ => return Err(malformed("signer id")),
    };
    let digest = hash_of(
        r.expect(der::SEQUENCE)
            .ok_or(malformed("digest algorithm"))?,
    )?;
    let signed_attributes = r
        .expect(der::CONTEXT_0)
        .ok_or(TimestampError::SignedAttributes("absent"))?;
    let algorithm = r
        .expect(der::SEQUENCE)
        .ok_or(malformed("signature algorithm"))?;
    let family = signature_family(algorithm, digest)?;
    let signature = r
        .expect(der::OCTET_STRING)
        .ok_or(malformed("signature"))?
        .content;
    Ok(SignerInfo {
        sid,
        digest,
        family,
        signed_attributes,
        signature,
    })
}

/// The signature algorithm must be known, and name the digest algorithm's
/// hash when it names one: the field is unsigned, so it is held to the rest.
fn signature_family(
    algorithm: Element<'_>,
    digest: HashAlgorithm,
) -> Result<KeyFamily, TimestampError> {
    let oid = Reader::new(algorithm.content)
        .expect(der::OID)
        .ok_or(malformed("signature algorithm"))?;
    let (family, hash) = match oid.content {
        OID_ECDSA_SHA256 => (KeyFamily::Ecdsa, Some(HashAlgorithm::Sha256)),
        OID_ECDSA_SHA384 => (KeyFamily::Ecdsa, Some(HashAlgorithm::Sha384)),
        OID_ECDSA_SHA512 => (KeyFamily::Ecdsa, Some(HashAlgorithm::Sha512)),
        OID_RSA => (KeyFamily::Rsa, None),
        OID_RSA_SHA256 => (KeyFamily::Rsa, Some(HashAlgorithm::Sha256)),
        OID_RSA_SHA384 => (KeyFamily::Rsa, Some(HashAlgorithm::Sha384)),
        OID_RSA_SHA512 => (KeyFamily::Rsa, Some(HashAlgorithm::Sha512)),
        OID_ED25519 => (KeyFamily::Ed25519, None),
        _ => return Err(malformed("unknown signature algorithm")),
    };
    if hash.is_some_and(|h| h != digest) {
        return Err(malformed("signature and digest algorithms disagree"));
    }
    Ok(family)
}

/// The content type must be TSTInfo and the message digest must be the TSTInfo's.
fn check_signed_attributes(
    attributes: Element<'_>,
    tst_digest: &[u8],
) -> Result<(), TimestampError> {
    let (mut content_type, mut message_digest) = (false, false);
    let mut r = Reader::new(attributes.content);
    while !r.is_empty() {
        let attribute = r
            .expect(der::SEQUENCE)
            .ok_or(TimestampError::SignedAttributes("malformed"))?;
        let mut ar = Reader::new(attribute.content);
        let oid = ar
            .expect(der::OID)
            .ok_or(TimestampError::SignedAttributes("malformed"))?;
        let values = ar
            .expect(der::SET)
            .ok_or(TimestampError::SignedAttributes("malformed"))?;
        let value = Reader::new(values.content)
            .any()
            .ok_or(TimestampError::SignedAttributes("malformed"))?;
        match oid.content {
            OID_CONTENT_TYPE => {
                if value.tag != der::OID || value.content != OID_TST_INFO {
                    return Err(TimestampError::SignedAttributes(
                        "content type is not TSTInfo",
                    ));
                }
                content_type = true;
            }
            OID_MESSAGE_DIGEST => {
                if value.tag != der::OCTET_STRING || value.content != tst_digest {
                    return Err(TimestampError::SignedAttributes(
                        "message digest is not the TSTInfo's",
                    ));
                }
                message_digest = true;
            }
            _ => {}
        }
    }
    if !(content_type && message_digest) {
        return Err(TimestampError::SignedAttributes(
            "content type or message digest missing",
        ));
    }
    Ok(())
}

fn read_bag(certificates: Option<Element<'_>>) -> Result<Vec<&[u8]>, TimestampError> {
    let mut bag = Vec::new();
    if let Some(set) = certificates {
        let mut r = Reader::new(set.content);
        while !r.is_empty() {
            if bag.len() == MAX_CERTIFICATES {
                return Err(malformed("too many certificates"));
            }
            bag.push(r.any().ok_or(malformed("certificates"))?.whole);
        }
    }
    Ok(bag)
}

/// Whether the DER certificate is the one `sid` names.
fn names(cert_der: &[u8], sid: &SignerId<'_>) -> bool {
    let Ok(cert) = chain::parse(cert_der, "certificate") else {
        return false;
    };
    match sid {
        SignerId::IssuerAndSerial { issuer, serial } => {
            cert.issuer().as_raw() == *issuer && cert.raw_serial() == *serial
        }
        SignerId::SubjectKeyId(id) => subject_key_id(&cert).is_some_and(|k| k == *id),
    }
}

fn subject_key_id<'a>(cert: &'a X509Certificate<'_>) -> Option<&'a [u8]> {
    use x509_parser::extensions::ParsedExtension;
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0),
            _ => None,
        })
}
