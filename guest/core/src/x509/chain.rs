//! Certificate path validation at a given time: the leaf chains to a root of
//! the trusted root, through the authority's own intermediates and, if need
//! be, intermediates shipped with the signature, every certificate valid at
//! that time.
//!
//! Certificates shipped with a signature are untrusted: they may serve as
//! intermediates, never as an anchor, and a self-signed one is refused
//! outright (an attacker's root in the chain annotation is a known attack).

use std::fmt;

use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512,
    OID_SIG_ED25519, Oid,
};
use x509_parser::prelude::FromDer;

use crate::fixed_base::{LazyTables, PreparedKey};
use crate::public_key::{HashAlgorithm, PublicKey};
use crate::trust_root::CertificateAuthority;

/// Longest path tried, leaf and anchor included.
const MAX_DEPTH: usize = 8;

/// What the leaf must be fit for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    CodeSigning,
    TimeStamping,
}

/// Why no valid path was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainError {
    Parse {
        which: String,
        reason: String,
    },
    OutsideValidity {
        which: String,
        time: i64,
        not_before: i64,
        not_after: i64,
    },
    NoAuthorityAtTime {
        time: i64,
    },
    RootInBundleChain,
    LeafIsCa,
    WrongPurpose {
        expected: &'static str,
    },
    UnknownCriticalExtension {
        which: String,
        oid: String,
    },
    NoPath {
        time: i64,
        reasons: Vec<String>,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse { which, reason } => {
                write!(f, "{which} is not a valid certificate: {reason}")
            }
            Self::OutsideValidity {
                which,
                time,
                not_before,
                not_after,
            } => write!(
                f,
                "{which} is not valid at the signing time: expected {} within [{}, {}]",
                rfc3339(*time),
                rfc3339(*not_before),
                rfc3339(*not_after)
            ),
            Self::NoAuthorityAtTime { time } => write!(
                f,
                "no certificate authority of the trusted root is valid at {}",
                rfc3339(*time)
            ),
            Self::RootInBundleChain => write!(
                f,
                "the signature's certificate chain carries a self-signed root; roots come only from the trusted root"
            ),
            Self::LeafIsCa => write!(f, "the signing certificate is a CA certificate"),
            Self::WrongPurpose { expected } => {
                write!(
                    f,
                    "the certificate is not for {expected} (extended key usage)"
                )
            }
            Self::UnknownCriticalExtension { which, oid } => {
                write!(f, "{which} has an unknown critical extension {oid}")
            }
            Self::NoPath { time, reasons } => write!(
                f,
                "no path from the certificate to a trusted root valid at {}: {}",
                rfc3339(*time),
                if reasons.is_empty() {
                    "no issuer found".to_owned()
                } else {
                    reasons.join("; ")
                }
            ),
        }
    }
}

impl std::error::Error for ChainError {}

/// A verified path: which authority of the trusted root it ends at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedChain {
    pub authority: usize,
    /// DER certificates from the leaf to the anchor.
    pub path: Vec<Vec<u8>>,
}

struct Candidate<'a> {
    der: &'a [u8],
    cert: X509Certificate<'a>,
    anchor: bool,
    /// Its index in the authority's chain; none for shipped certificates.
    position: Option<usize>,
}

/// An authority's own certificates, and which of their links were checked
/// when the trusted root was loaded.
#[derive(Clone, Copy)]
struct Trusted<'t, 'a> {
    candidates: &'t [Candidate<'a>],
    signed_by_next: &'t [bool],
    prepared: &'t [LazyTables],
}

/// What `extend` needs to know of the certificate it finds an issuer for.
#[derive(Clone, Copy)]
struct Child<'c, 'a> {
    cert: &'c X509Certificate<'a>,
    position: Option<usize>,
}

/// Validates `leaf` at `time` for `purpose` against `authorities`.
pub fn verify(
    leaf: &[u8],
    untrusted: &[Vec<u8>],
    authorities: &[CertificateAuthority],
    time: i64,
    purpose: Purpose,
) -> Result<VerifiedChain, ChainError> {
    let leaf_cert = parse(leaf, "the signing certificate")?;
    check_validity(&leaf_cert, "the signing certificate", time)?;
    check_critical(&leaf_cert, "the signing certificate")?;
    check_leaf_usage(&leaf_cert, purpose)?;

    let mut shipped = Vec::with_capacity(untrusted.len());
    for (i, der) in untrusted.iter().enumerate() {
        let cert = parse(der, &format!("chain certificate {i}"))?;
        if cert.subject().as_raw() == cert.issuer().as_raw() {
            return Err(ChainError::RootInBundleChain);
        }
        shipped.push(Candidate {
            der,
            cert,
            anchor: false,
            position: None,
        });
    }

    let mut reasons = Vec::new();
    let mut any_authority = false;
    for (index, authority) in authorities.iter().enumerate() {
        if !authority.valid_for.contains(time) || authority.chain.is_empty() {
            continue;
        }
        any_authority = true;
        let last = authority.chain.len() - 1;
        let mut candidates = Vec::with_capacity(authority.chain.len());
        for (i, der) in authority.chain.iter().enumerate() {
            candidates.push(Candidate {
                der,
                cert: parse(der, "a trusted-root certificate")?,
                anchor: i == last,
                position: Some(i),
            });
        }
        let mut path = vec![leaf.to_vec()];
        // A timestamp authority's leaf is often the chain's own first one.
        let leaf_position = (authority.chain.first().map(Vec::as_slice) == Some(leaf)).then_some(0);
        let child = Child {
            cert: &leaf_cert,
            position: leaf_position,
        };
        let trusted = Trusted {
            candidates: &candidates,
            signed_by_next: &authority.signed_by_next,
            prepared: &authority.prepared,
        };
        match extend(child, trusted, &shipped, time, 0, &mut path, &mut reasons) {
            true => {
                return Ok(VerifiedChain {
                    authority: index,
                    path,
                });
            }
            false => continue,
        }
    }
    if !any_authority {
        return Err(ChainError::NoAuthorityAtTime { time });
    }
    reasons.dedup();
    Err(ChainError::NoPath { time, reasons })
}

/// Depth-first search for an issuer of `child`, then of that issuer, until an
/// anchor. `cas_below` counts the CA certificates already under the next one.
fn extend(
    child: Child<'_, '_>,
    trusted: Trusted<'_, '_>,
    shipped: &[Candidate<'_>],
    time: i64,
    cas_below: u32,
    path: &mut Vec<Vec<u8>>,
    reasons: &mut Vec<String>,
) -> bool {
    if path.len() >= MAX_DEPTH {
        reasons.push(format!("path longer than {MAX_DEPTH} certificates"));
        return false;
    }
    for candidate in trusted.candidates.iter().chain(shipped) {
        if candidate.cert.subject().as_raw() != child.cert.issuer().as_raw()
            || path.iter().any(|p| p == candidate.der)
        {
            continue;
        }
        let known_signed = match (child.position, candidate.position) {
            (Some(i), Some(j)) => j == i + 1 && trusted.signed_by_next.get(i) == Some(&true),
            _ => false,
        };
        let signature = match (known_signed, candidate.position) {
            (true, _) => IssuerSignature::CheckedAtLoad,
            (false, Some(j)) => match trusted
                .prepared
                .get(j)
                .and_then(|lazy| lazy.get_or_build(|| prepare(&candidate.cert)))
            {
                Some(key) => IssuerSignature::Prepared(key),
                None => IssuerSignature::Check,
            },
            (false, None) => IssuerSignature::Check,
        };
        if let Err(reason) = check_issuer(&candidate.cert, child.cert, time, cas_below, signature) {
            reasons.push(reason);
            continue;
        }
        path.push(candidate.der.to_vec());
        if candidate.anchor
            || extend(
                Child {
                    cert: &candidate.cert,
                    position: candidate.position,
                },
                trusted,
                shipped,
                time,
                cas_below + 1,
                path,
                reasons,
            )
        {
            return true;
        }
        path.pop();
    }
    false
}

/// Tables for a trusted certificate's ECDSA key.
fn prepare(cert: &X509Certificate<'_>) -> Option<PreparedKey> {
    PreparedKey::new(&PublicKey::from_spki_der(cert.public_key().raw).ok()?)
}

/// How the issuer's signature on a child is to be checked.
enum IssuerSignature<'k> {
    /// Already checked, when the trusted root was loaded.
    CheckedAtLoad,
    /// With the trusted issuer's prepared key.
    Prepared(&'k PreparedKey),
    /// With the issuer certificate's key.
    Check,
}

/// Whether `issuer` may have issued `child` at `time`, and did.
fn check_issuer(
    issuer: &X509Certificate<'_>,
    child: &X509Certificate<'_>,
    time: i64,
    cas_below: u32,
    signature: IssuerSignature<'_>,
) -> Result<(), String> {
    let name = format!("issuer `{}`", issuer.subject());
    check_validity(issuer, &name, time).map_err(|e| e.to_string())?;
    check_critical(issuer, &name).map_err(|e| e.to_string())?;
    match issuer.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {
            if bc
                .value
                .path_len_constraint
                .is_some_and(|max| cas_below > max)
            {
                return Err(format!(
                    "{name} allows at most {:?} CAs below it",
                    bc.value.path_len_constraint
                ));
            }
        }
        _ => return Err(format!("{name} is not a CA")),
    }
    if let Ok(Some(ku)) = issuer.key_usage()
        && !ku.value.key_cert_sign()
    {
        return Err(format!("{name} may not sign certificates"));
    }
    let verified = match signature {
        IssuerSignature::CheckedAtLoad => return Ok(()),
        IssuerSignature::Prepared(key) => signature_hash(&child.signature_algorithm.algorithm)
            .and_then(|hash| {
                key.verify_with_hash(
                    child.tbs_certificate.as_ref(),
                    &child.signature_value.data,
                    hash,
                )
                .map_err(|e| e.to_string())
            }),
        IssuerSignature::Check => verify_signature(issuer, child),
    };
    verified.map_err(|e| format!("{name} did not sign `{}`: {e}", child.subject()))
}

/// Whether the certificate `issuer` (DER) signed the certificate `child`.
pub fn signs(issuer: &[u8], child: &[u8]) -> bool {
    match (parse(issuer, "issuer"), parse(child, "child")) {
        (Ok(issuer), Ok(child)) => verify_signature(&issuer, &child).is_ok(),
        _ => false,
    }
}

/// Checks the certificate signature on `child` with `issuer`'s key.
pub fn verify_signature(
    issuer: &X509Certificate<'_>,
    child: &X509Certificate<'_>,
) -> Result<(), String> {
    let key = PublicKey::from_spki_der(issuer.public_key().raw).map_err(|e| e.to_string())?;
    let hash = signature_hash(&child.signature_algorithm.algorithm)?;
    key.verify_with_hash(
        child.tbs_certificate.as_ref(),
        &child.signature_value.data,
        hash,
    )
    .map_err(|e| e.to_string())
}

fn signature_hash(oid: &Oid<'_>) -> Result<HashAlgorithm, String> {
    if *oid == OID_SIG_ECDSA_WITH_SHA256
        || *oid == OID_PKCS1_SHA256WITHRSA
        || *oid == OID_SIG_ED25519
    {
        Ok(HashAlgorithm::Sha256)
    } else if *oid == OID_SIG_ECDSA_WITH_SHA384 || *oid == OID_PKCS1_SHA384WITHRSA {
        Ok(HashAlgorithm::Sha384)
    } else if *oid == OID_SIG_ECDSA_WITH_SHA512 || *oid == OID_PKCS1_SHA512WITHRSA {
        Ok(HashAlgorithm::Sha512)
    } else {
        Err(format!("unsupported signature algorithm {oid}"))
    }
}

pub(crate) fn parse<'a>(der: &'a [u8], which: &str) -> Result<X509Certificate<'a>, ChainError> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(ChainError::Parse {
            which: which.to_owned(),
            reason: "trailing bytes".to_owned(),
        }),
        Err(e) => Err(ChainError::Parse {
            which: which.to_owned(),
            reason: e.to_string(),
        }),
    }
}

pub(crate) fn check_validity(
    cert: &X509Certificate<'_>,
    which: &str,
    time: i64,
) -> Result<(), ChainError> {
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    if time < not_before || time > not_after {
        return Err(ChainError::OutsideValidity {
            which: which.to_owned(),
            time,
            not_before,
            not_after,
        });
    }
    Ok(())
}

/// Extensions a verifier must understand when marked critical; any other
/// critical extension makes the certificate unusable (RFC 5280 §4.2).
fn check_critical(cert: &X509Certificate<'_>, which: &str) -> Result<(), ChainError> {
    use x509_parser::oid_registry::{
        OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE,
        OID_X509_EXT_NAME_CONSTRAINTS, OID_X509_EXT_SUBJECT_ALT_NAME,
    };
    let known = [
        OID_X509_EXT_BASIC_CONSTRAINTS,
        OID_X509_EXT_KEY_USAGE,
        OID_X509_EXT_EXTENDED_KEY_USAGE,
        OID_X509_EXT_SUBJECT_ALT_NAME,
        OID_X509_EXT_NAME_CONSTRAINTS,
    ];
    for ext in cert.extensions() {
        if ext.critical && !known.contains(&ext.oid) {
            return Err(ChainError::UnknownCriticalExtension {
                which: which.to_owned(),
                oid: ext.oid.to_id_string(),
            });
        }
    }
    Ok(())
}

fn check_leaf_usage(leaf: &X509Certificate<'_>, purpose: Purpose) -> Result<(), ChainError> {
    if matches!(leaf.basic_constraints(), Ok(Some(bc)) if bc.value.ca) {
        return Err(ChainError::LeafIsCa);
    }
    let (expected, fits): (
        &'static str,
        fn(&x509_parser::extensions::ExtendedKeyUsage<'_>) -> bool,
    ) = match purpose {
        Purpose::CodeSigning => ("code signing", |eku| eku.code_signing),
        Purpose::TimeStamping => ("time stamping", |eku| eku.time_stamping),
    };
    match leaf.extended_key_usage() {
        Ok(Some(eku)) if fits(eku.value) => Ok(()),
        _ => Err(ChainError::WrongPurpose { expected }),
    }
}

/// Unix seconds as RFC 3339, for messages.
pub fn rfc3339(time: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(time)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{time}"))
}
