//! Certificate path validation at a given time: the leaf chains to a root of
//! the trusted root, through the authority's own intermediates and, if need
//! be, intermediates shipped with the signature, every certificate valid at
//! that time.
//!
//! Certificates shipped with a signature are untrusted: they may serve as
//! intermediates, never as an anchor. A self-signed one among them (the
//! Fulcio root that 2023 bundles carry, or an attacker's) is ignored, as
//! sigstore-go and sigstore-js ignore it.
//!
//! The search is bounded: a budget of signature checks and of issuer
//! candidates examined (rustls-webpki's figures), and an issuer's signature
//! on a child is checked once per search, whatever the signing time.

use std::fmt;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use crate::fixed_base::{LazyTables, PreparedKey};
use crate::public_key::PublicKey;
use crate::trust_root::CertificateAuthority;
use crate::x509::signature;

/// Longest path tried, leaf and anchor included.
const MAX_DEPTH: usize = 8;
/// Signature checks one search may make (rustls-webpki allows 100).
pub const SIGNATURE_BUDGET: u32 = 100;
/// Issuer candidates one verification may examine, over all its signing
/// times: a real path needs a few per time and authority.
pub const CANDIDATE_BUDGET: u32 = 2_000;
/// Distinct reasons kept for a refusal's message.
const MAX_REASONS: usize = 8;

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
    LeafIsCa,
    WrongPurpose {
        expected: &'static str,
    },
    UnknownCriticalExtension {
        which: String,
        oid: String,
    },
    /// An extension this verifier reads does not parse.
    MalformedExtension {
        which: String,
        oid: String,
        reason: String,
    },
    /// An extension appears twice (RFC 5280 §4.2 forbids it).
    DuplicateExtension {
        which: String,
        oid: String,
    },
    /// Name constraints are not enforced here, so a certificate carrying
    /// them is refused rather than trusted beyond them.
    NameConstraints {
        which: String,
    },
    /// The search ran out of its work budget.
    Budget {
        what: &'static str,
        limit: u32,
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
            Self::MalformedExtension { which, oid, reason } => {
                write!(f, "{which} has a malformed extension {oid}: {reason}")
            }
            Self::DuplicateExtension { which, oid } => {
                write!(f, "{which} has the extension {oid} more than once")
            }
            Self::NameConstraints { which } => write!(
                f,
                "{which} carries name constraints, which this verifier does not enforce"
            ),
            Self::Budget { what, limit } => write!(
                f,
                "path building exceeded its budget of {limit} {what}: too many candidate certificates"
            ),
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

/// Which certificate a candidate is, for remembering checked signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CertId {
    Leaf,
    Shipped(usize),
    /// (authority, position in its chain)
    Trusted(usize, usize),
}

struct Candidate<'a> {
    id: CertId,
    der: &'a [u8],
    cert: X509Certificate<'a>,
    anchor: bool,
}

/// An authority's own certificates, and which of their links were checked
/// when the trusted root was loaded.
struct Trusted<'a> {
    candidates: Vec<Candidate<'a>>,
    signed_by_next: &'a [bool],
    prepared: &'a [LazyTables],
}

/// The work one search has done, and the signatures it has checked.
#[derive(Default)]
struct Work {
    signature_checks: u32,
    candidates: u32,
    /// (issuer, child, whether the issuer's signature on the child holds)
    checked: Vec<(CertId, CertId, Result<(), String>)>,
    reasons: Vec<String>,
    /// Reasons not kept, past [`MAX_REASONS`].
    more_reasons: usize,
}

impl Work {
    fn reason(&mut self, reason: String) {
        if self.reasons.contains(&reason) {
            return;
        }
        if self.reasons.len() < MAX_REASONS {
            self.reasons.push(reason);
        } else {
            self.more_reasons += 1;
        }
    }
}

/// Path searches for one leaf at one or more signing times, sharing their
/// parsed certificates, their budget and the signatures already checked.
pub struct PathBuilder<'a> {
    leaf: &'a [u8],
    leaf_cert: X509Certificate<'a>,
    shipped: Vec<Candidate<'a>>,
    authorities: &'a [CertificateAuthority],
    trusted: Vec<Option<Trusted<'a>>>,
    work: Work,
}

impl<'a> PathBuilder<'a> {
    /// Parses the leaf and the shipped certificates and checks what does not
    /// depend on the time: the leaf's extensions and purpose.
    pub fn new(
        leaf: &'a [u8],
        untrusted: &'a [Vec<u8>],
        authorities: &'a [CertificateAuthority],
        purpose: Purpose,
    ) -> Result<Self, ChainError> {
        let leaf_cert = parse(leaf, "the signing certificate")?;
        check_extensions(&leaf_cert, "the signing certificate")?;
        check_leaf_usage(&leaf_cert, purpose)?;
        let mut shipped = Vec::with_capacity(untrusted.len());
        for (i, der) in untrusted.iter().enumerate() {
            let cert = parse(der, &format!("chain certificate {i}"))?;
            if cert.subject().as_raw() == cert.issuer().as_raw() {
                continue;
            }
            shipped.push(Candidate {
                id: CertId::Shipped(i),
                der,
                cert,
                anchor: false,
            });
        }
        Ok(Self {
            leaf,
            leaf_cert,
            shipped,
            authorities,
            trusted: authorities.iter().map(|_| None).collect(),
            work: Work::default(),
        })
    }

    /// A path from the leaf to an authority valid at `time`.
    pub fn verify_at(&mut self, time: i64) -> Result<VerifiedChain, ChainError> {
        check_validity(&self.leaf_cert, "the signing certificate", time)?;
        let mut any_authority = false;
        self.work.reasons.clear();
        self.work.more_reasons = 0;
        for (index, authority) in self.authorities.iter().enumerate() {
            if !authority.valid_for.contains(time) || authority.chain.is_empty() {
                continue;
            }
            any_authority = true;
            if self.trusted[index].is_none() {
                self.trusted[index] = Some(parse_authority(index, authority)?);
            }
            let Some(trusted) = &self.trusted[index] else {
                continue;
            };
            // A timestamp authority's leaf is often the chain's own first one.
            let leaf_id = if authority.chain.first().map(Vec::as_slice) == Some(self.leaf) {
                CertId::Trusted(index, 0)
            } else {
                CertId::Leaf
            };
            let child = Child {
                id: leaf_id,
                cert: &self.leaf_cert,
            };
            let mut path = vec![self.leaf.to_vec()];
            let search = Search {
                trusted,
                shipped: &self.shipped,
                time,
            };
            if search.extend(child, 0, &mut path, &mut self.work)? {
                return Ok(VerifiedChain {
                    authority: index,
                    path,
                });
            }
        }
        if !any_authority {
            return Err(ChainError::NoAuthorityAtTime { time });
        }
        let mut reasons = std::mem::take(&mut self.work.reasons);
        if self.work.more_reasons > 0 {
            reasons.push(format!("{} more", self.work.more_reasons));
        }
        Err(ChainError::NoPath { time, reasons })
    }
}

/// Validates `leaf` at `time` for `purpose` against `authorities`.
pub fn verify(
    leaf: &[u8],
    untrusted: &[Vec<u8>],
    authorities: &[CertificateAuthority],
    time: i64,
    purpose: Purpose,
) -> Result<VerifiedChain, ChainError> {
    PathBuilder::new(leaf, untrusted, authorities, purpose)?.verify_at(time)
}

fn parse_authority<'a>(
    index: usize,
    authority: &'a CertificateAuthority,
) -> Result<Trusted<'a>, ChainError> {
    let last = authority.chain.len().saturating_sub(1);
    let mut candidates = Vec::with_capacity(authority.chain.len());
    for (i, der) in authority.chain.iter().enumerate() {
        candidates.push(Candidate {
            id: CertId::Trusted(index, i),
            der,
            cert: parse(der, "a trusted-root certificate")?,
            anchor: i == last,
        });
    }
    Ok(Trusted {
        candidates,
        signed_by_next: &authority.signed_by_next,
        prepared: &authority.prepared,
    })
}

/// What `extend` needs to know of the certificate it finds an issuer for.
#[derive(Clone, Copy)]
struct Child<'c, 'a> {
    id: CertId,
    cert: &'c X509Certificate<'a>,
}

/// One authority's search at one time.
struct Search<'s, 'a> {
    trusted: &'s Trusted<'a>,
    shipped: &'s [Candidate<'a>],
    time: i64,
}

impl Search<'_, '_> {
    /// Depth-first search for an issuer of `child`, then of that issuer,
    /// until an anchor. `cas_below` counts the CA certificates already under
    /// the next one.
    fn extend(
        &self,
        child: Child<'_, '_>,
        cas_below: u32,
        path: &mut Vec<Vec<u8>>,
        work: &mut Work,
    ) -> Result<bool, ChainError> {
        if path.len() >= MAX_DEPTH {
            work.reason(format!("path longer than {MAX_DEPTH} certificates"));
            return Ok(false);
        }
        for candidate in self.trusted.candidates.iter().chain(self.shipped) {
            if candidate.cert.subject().as_raw() != child.cert.issuer().as_raw()
                || path.iter().any(|p| p == candidate.der)
            {
                continue;
            }
            work.candidates += 1;
            if work.candidates > CANDIDATE_BUDGET {
                return Err(ChainError::Budget {
                    what: "issuer candidates",
                    limit: CANDIDATE_BUDGET,
                });
            }
            if let Err(reason) = self.check_issuer(candidate, child, cas_below, work)? {
                work.reason(reason);
                continue;
            }
            path.push(candidate.der.to_vec());
            let next = Child {
                id: candidate.id,
                cert: &candidate.cert,
            };
            if candidate.anchor || self.extend(next, cas_below + 1, path, work)? {
                return Ok(true);
            }
            path.pop();
        }
        Ok(false)
    }

    /// Whether `issuer` may have issued `child` at the search's time, and
    /// did. The outer error ends the search; the inner one rules out this
    /// issuer only.
    fn check_issuer(
        &self,
        issuer: &Candidate<'_>,
        child: Child<'_, '_>,
        cas_below: u32,
        work: &mut Work,
    ) -> Result<Result<(), String>, ChainError> {
        let name = format!("issuer `{}`", super::name::display(issuer.cert.subject()));
        let usable = check_validity(&issuer.cert, &name, self.time)
            .and_then(|()| check_extensions(&issuer.cert, &name))
            .map_err(|e| e.to_string())
            .and_then(|()| check_ca(&issuer.cert, &name, cas_below));
        if let Err(reason) = usable {
            return Ok(Err(reason));
        }
        if let Some((_, _, known)) = work
            .checked
            .iter()
            .find(|(i, c, _)| *i == issuer.id && *c == child.id)
        {
            return Ok(known.clone());
        }
        let verified = match self.how_to_check(issuer, child) {
            IssuerSignature::CheckedAtLoad => Ok(()),
            how => {
                work.signature_checks += 1;
                if work.signature_checks > SIGNATURE_BUDGET {
                    return Err(ChainError::Budget {
                        what: "signature checks",
                        limit: SIGNATURE_BUDGET,
                    });
                }
                match how {
                    IssuerSignature::Prepared(key) => {
                        signature::verify_prepared(key, child.cert).map_err(|e| e.to_string())
                    }
                    _ => verify_signature(&issuer.cert, child.cert),
                }
            }
        }
        .map_err(|e| {
            let child = super::name::display(child.cert.subject());
            format!("{name} did not sign `{child}`: {e}")
        });
        work.checked.push((issuer.id, child.id, verified.clone()));
        Ok(verified)
    }

    fn how_to_check<'k>(
        &'k self,
        issuer: &Candidate<'_>,
        child: Child<'_, '_>,
    ) -> IssuerSignature<'k> {
        let CertId::Trusted(_, j) = issuer.id else {
            return IssuerSignature::Check;
        };
        if let CertId::Trusted(_, i) = child.id
            && j == i + 1
            && self.trusted.signed_by_next.get(i) == Some(&true)
        {
            return IssuerSignature::CheckedAtLoad;
        }
        match self
            .trusted
            .prepared
            .get(j)
            .and_then(|lazy| lazy.get_or_build(|| prepare(&issuer.cert)))
        {
            Some(key) => IssuerSignature::Prepared(key),
            None => IssuerSignature::Check,
        }
    }
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

/// Whether `issuer` is a CA that may sign certificates, with room for the
/// CAs already below it.
fn check_ca(issuer: &X509Certificate<'_>, name: &str, cas_below: u32) -> Result<(), String> {
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
    match issuer.key_usage() {
        Ok(Some(ku)) if !ku.value.key_cert_sign() => {
            Err(format!("{name} may not sign certificates"))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{name} has an unusable key usage: {e}")),
    }
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
    signature::verify(&key, child).map_err(|e| e.to_string())
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

/// Extensions are each present at most once (RFC 5280 §4.2); the ones read
/// here parse; name constraints, never enforced here, are refused; and any
/// other critical extension makes the certificate unusable.
fn check_extensions(cert: &X509Certificate<'_>, which: &str) -> Result<(), ChainError> {
    use x509_parser::oid_registry::{
        OID_X509_EXT_BASIC_CONSTRAINTS, OID_X509_EXT_EXTENDED_KEY_USAGE, OID_X509_EXT_KEY_USAGE,
        OID_X509_EXT_NAME_CONSTRAINTS, OID_X509_EXT_SUBJECT_ALT_NAME,
    };
    let understood = [
        OID_X509_EXT_BASIC_CONSTRAINTS,
        OID_X509_EXT_KEY_USAGE,
        OID_X509_EXT_EXTENDED_KEY_USAGE,
        OID_X509_EXT_SUBJECT_ALT_NAME,
    ];
    let extensions = cert.extensions();
    for (i, ext) in extensions.iter().enumerate() {
        let oid = || ext.oid.to_id_string();
        if extensions[..i].iter().any(|earlier| earlier.oid == ext.oid) {
            return Err(ChainError::DuplicateExtension {
                which: which.to_owned(),
                oid: oid(),
            });
        }
        if ext.oid == OID_X509_EXT_NAME_CONSTRAINTS {
            return Err(ChainError::NameConstraints {
                which: which.to_owned(),
            });
        }
        let read_here = understood.contains(&ext.oid);
        if let (true, ParsedExtension::ParseError { error }) = (read_here, ext.parsed_extension()) {
            return Err(ChainError::MalformedExtension {
                which: which.to_owned(),
                oid: oid(),
                reason: error.to_string(),
            });
        }
        if ext.critical && !read_here {
            return Err(ChainError::UnknownCriticalExtension {
                which: which.to_owned(),
                oid: oid(),
            });
        }
    }
    Ok(())
}

fn check_leaf_usage(leaf: &X509Certificate<'_>, purpose: Purpose) -> Result<(), ChainError> {
    match leaf.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => return Err(ChainError::LeafIsCa),
        Ok(_) => {}
        Err(e) => {
            return Err(ChainError::MalformedExtension {
                which: "the signing certificate".to_owned(),
                oid: "2.5.29.19".to_owned(),
                reason: e.to_string(),
            });
        }
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
