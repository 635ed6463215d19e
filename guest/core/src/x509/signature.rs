//! A certificate's signature: the algorithm it names, bound to the issuer's
//! key type, and the same algorithm inside and outside the signed part.
//!
//! Only the algorithms Sigstore's authorities use are accepted: ECDSA with
//! SHA-2, RSA PKCS#1 v1.5 with SHA-2, and Ed25519. An algorithm names one
//! scheme: an RSA PKCS#1 v1.5 identifier never accepts a PSS signature.

use std::fmt;

use x509_parser::certificate::X509Certificate;
use x509_parser::oid_registry::{
    OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA, OID_PKCS1_SHA512WITHRSA,
    OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384, OID_SIG_ECDSA_WITH_SHA512,
    OID_SIG_ED25519,
};
use x509_parser::x509::AlgorithmIdentifier;

use crate::fixed_base::PreparedKey;
use crate::public_key::{HashAlgorithm, PublicKey};

/// A certificate signature algorithm this verifier accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertSignatureAlgorithm {
    Ecdsa(HashAlgorithm),
    RsaPkcs1v15(HashAlgorithm),
    Ed25519,
}

/// Why a certificate's signature was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertSignatureError {
    /// The algorithm is not one of [`CertSignatureAlgorithm`].
    Unsupported(String),
    /// The algorithm's parameters are not the ones its definition requires.
    BadParameters(String),
    /// `signatureAlgorithm` and the TBS `signature` field differ.
    OuterInnerMismatch,
    /// The algorithm is for another key type than the issuer's.
    WrongKeyType {
        algorithm: CertSignatureAlgorithm,
        key: &'static str,
    },
    /// The issuer's key did not make this signature.
    Invalid(String),
}

impl fmt::Display for CertSignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(oid) => write!(f, "unsupported signature algorithm {oid}"),
            Self::BadParameters(oid) => {
                write!(
                    f,
                    "signature algorithm {oid} has parameters it must not have"
                )
            }
            Self::OuterInnerMismatch => write!(
                f,
                "the signature algorithm differs from the one inside the signed certificate"
            ),
            Self::WrongKeyType { algorithm, key } => write!(
                f,
                "expected a signature by an {} key, the issuer's key is {key}",
                algorithm.key_type()
            ),
            Self::Invalid(reason) => write!(f, "{reason}"),
        }
    }
}

impl CertSignatureAlgorithm {
    /// The algorithm of `cert`'s signature, checked against the copy inside
    /// the signed part.
    pub fn of(cert: &X509Certificate<'_>) -> Result<Self, CertSignatureError> {
        let outer = &cert.signature_algorithm;
        let inner = &cert.tbs_certificate.signature;
        if outer.algorithm != inner.algorithm || raw_parameters(outer) != raw_parameters(inner) {
            return Err(CertSignatureError::OuterInnerMismatch);
        }
        Self::from_identifier(outer)
    }

    fn from_identifier(id: &AlgorithmIdentifier<'_>) -> Result<Self, CertSignatureError> {
        let oid = &id.algorithm;
        let (algorithm, null_allowed) = if *oid == OID_SIG_ECDSA_WITH_SHA256 {
            (Self::Ecdsa(HashAlgorithm::Sha256), false)
        } else if *oid == OID_SIG_ECDSA_WITH_SHA384 {
            (Self::Ecdsa(HashAlgorithm::Sha384), false)
        } else if *oid == OID_SIG_ECDSA_WITH_SHA512 {
            (Self::Ecdsa(HashAlgorithm::Sha512), false)
        } else if *oid == OID_PKCS1_SHA256WITHRSA {
            (Self::RsaPkcs1v15(HashAlgorithm::Sha256), true)
        } else if *oid == OID_PKCS1_SHA384WITHRSA {
            (Self::RsaPkcs1v15(HashAlgorithm::Sha384), true)
        } else if *oid == OID_PKCS1_SHA512WITHRSA {
            (Self::RsaPkcs1v15(HashAlgorithm::Sha512), true)
        } else if *oid == OID_SIG_ED25519 {
            (Self::Ed25519, false)
        } else {
            return Err(CertSignatureError::Unsupported(oid.to_id_string()));
        };
        // ECDSA and Ed25519 take no parameters (RFC 5758 §3.2, RFC 8410 §3);
        // RSA PKCS#1 v1.5 takes NULL, which some encoders leave out.
        let fits = match raw_parameters(id) {
            None => true,
            Some((class, constructed, tag, contents)) => {
                null_allowed && class == 0 && !constructed && tag == 5 && contents.is_empty()
            }
        };
        if !fits {
            return Err(CertSignatureError::BadParameters(oid.to_id_string()));
        }
        Ok(algorithm)
    }

    fn key_type(self) -> &'static str {
        match self {
            Self::Ecdsa(_) => "ECDSA",
            Self::RsaPkcs1v15(_) => "RSA",
            Self::Ed25519 => "Ed25519",
        }
    }
}

/// The parameters as (class, constructed, tag, contents), if there are any.
fn raw_parameters<'a>(id: &AlgorithmIdentifier<'a>) -> Option<(u8, bool, u32, &'a [u8])> {
    id.parameters.as_ref().map(|any| {
        let header = &any.header;
        (
            header.class() as u8,
            header.constructed(),
            header.tag().0,
            any.data,
        )
    })
}

/// Checks `child`'s signature with `issuer`'s key.
pub fn verify(
    issuer_key: &PublicKey,
    child: &X509Certificate<'_>,
) -> Result<(), CertSignatureError> {
    let algorithm = CertSignatureAlgorithm::of(child)?;
    let tbs = child.tbs_certificate.as_ref();
    let signature = &child.signature_value.data;
    let wrong = || CertSignatureError::WrongKeyType {
        algorithm,
        key: issuer_key.algorithm(),
    };
    let invalid = |e: crate::public_key::SignatureError| CertSignatureError::Invalid(e.to_string());
    match (algorithm, issuer_key) {
        (
            CertSignatureAlgorithm::Ecdsa(hash),
            PublicKey::P256(_) | PublicKey::P384(_) | PublicKey::P521(_),
        ) => issuer_key
            .verify_with_hash(tbs, signature, hash)
            .map_err(invalid),
        (CertSignatureAlgorithm::RsaPkcs1v15(hash), PublicKey::Rsa(_)) => issuer_key
            .verify_pkcs1v15(&hash.digest(tbs), hash, signature)
            .map_err(invalid),
        (CertSignatureAlgorithm::Ed25519, PublicKey::Ed25519(_)) => {
            issuer_key.verify(tbs, signature).map_err(invalid)
        }
        _ => Err(wrong()),
    }
}

/// Checks `child`'s signature with a trusted issuer's prepared ECDSA key.
pub fn verify_prepared(
    issuer_key: &PreparedKey,
    child: &X509Certificate<'_>,
) -> Result<(), CertSignatureError> {
    let algorithm = CertSignatureAlgorithm::of(child)?;
    let CertSignatureAlgorithm::Ecdsa(hash) = algorithm else {
        return Err(CertSignatureError::WrongKeyType {
            algorithm,
            key: issuer_key.algorithm(),
        });
    };
    issuer_key
        .verify_with_hash(
            child.tbs_certificate.as_ref(),
            &child.signature_value.data,
            hash,
        )
        .map_err(|e| CertSignatureError::Invalid(e.to_string()))
}
