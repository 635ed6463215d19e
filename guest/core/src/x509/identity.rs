//! The signer identity in a Fulcio certificate: its OIDC issuer and subject.

use std::fmt;

use x509_parser::certificate::X509Certificate;
use x509_parser::der_parser::oid;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::Oid;

/// OIDC issuer, as a DER UTF8String (Fulcio v2).
const OID_ISSUER_V2: Oid<'static> = oid!(1.3.6.1.4.1.57264.1.8);
/// OIDC issuer, as raw bytes (Fulcio v1, deprecated).
const OID_ISSUER_V1: Oid<'static> = oid!(1.3.6.1.4.1.57264.1.1);
/// Fulcio's otherName SAN for usernames.
const OID_OTHERNAME_USERNAME: Oid<'static> = oid!(1.3.6.1.4.1.57264.1.7);

/// Who a certificate names as the signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityError {
    NoIssuer,
    MalformedIssuer,
    IssuersDisagree { v1: String, v2: String },
    NoSubject,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoIssuer => write!(
                f,
                "the certificate names no OIDC issuer (OID 1.3.6.1.4.1.57264.1.8 or .1.1)"
            ),
            Self::MalformedIssuer => write!(
                f,
                "the certificate's OIDC issuer extension is not a UTF-8 string"
            ),
            Self::IssuersDisagree { v1, v2 } => write!(
                f,
                "the certificate's two issuer extensions disagree: `{v2}` (.1.8) and `{v1}` (.1.1)"
            ),
            Self::NoSubject => write!(
                f,
                "the certificate has no URI, email or username subject alternative name"
            ),
        }
    }
}

impl std::error::Error for IdentityError {}

/// Reads the issuer (.1.8, else .1.1; both must agree) and the subject (the
/// first URI SAN, else email, else Fulcio username otherName).
pub fn identity(cert: &X509Certificate<'_>) -> Result<Identity, IdentityError> {
    let v2 = match cert.get_extension_unique(&OID_ISSUER_V2) {
        Ok(Some(ext)) => Some(utf8_string(ext.value).ok_or(IdentityError::MalformedIssuer)?),
        Ok(None) => None,
        Err(_) => return Err(IdentityError::MalformedIssuer),
    };
    let v1 = match cert.get_extension_unique(&OID_ISSUER_V1) {
        Ok(Some(ext)) => Some(
            std::str::from_utf8(ext.value)
                .map_err(|_| IdentityError::MalformedIssuer)?
                .to_owned(),
        ),
        Ok(None) => None,
        Err(_) => return Err(IdentityError::MalformedIssuer),
    };
    let issuer = match (v1, v2) {
        (Some(v1), Some(v2)) if v1 != v2 => return Err(IdentityError::IssuersDisagree { v1, v2 }),
        (_, Some(v2)) => v2,
        (Some(v1), None) => v1,
        (None, None) => return Err(IdentityError::NoIssuer),
    };
    Ok(Identity {
        issuer,
        subject: subject(cert).ok_or(IdentityError::NoSubject)?,
    })
}

fn subject(cert: &X509Certificate<'_>) -> Option<String> {
    let san = cert.subject_alternative_name().ok()??;
    let names = &san.value.general_names;
    let uri = names.iter().find_map(|n| match n {
        GeneralName::URI(u) => Some(u.to_string()),
        _ => None,
    });
    let email = || {
        names.iter().find_map(|n| match n {
            GeneralName::RFC822Name(e) => Some(e.to_string()),
            _ => None,
        })
    };
    let username = || {
        names.iter().find_map(|n| match n {
            GeneralName::OtherName(oid, value) if *oid == OID_OTHERNAME_USERNAME => {
                // [0] EXPLICIT UTF8String: skip the explicit tag, then read the string.
                let inner = strip_header(value, 0xa0)?;
                utf8_string(inner)
            }
            _ => None,
        })
    };
    uri.or_else(email).or_else(username)
}

/// The contents of a DER UTF8String.
fn utf8_string(der: &[u8]) -> Option<String> {
    let body = strip_header(der, 0x0c)?;
    std::str::from_utf8(body).ok().map(str::to_owned)
}

/// The contents of one DER element with tag `tag` that fills `der` exactly.
fn strip_header(der: &[u8], tag: u8) -> Option<&[u8]> {
    let (&first, rest) = der.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = match len {
        0..=0x7f => (usize::from(len), rest),
        0x81 => (usize::from(*rest.first()?), rest.get(1..)?),
        0x82 => (
            usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?])),
            rest.get(2..)?,
        ),
        _ => return None,
    };
    (rest.len() == len).then_some(rest)
}
