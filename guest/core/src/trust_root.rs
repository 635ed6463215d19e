//! `trusted_root.json`: the Sigstore `TrustedRoot` (protobuf-specs), parsed once.
//!
//! Every key and certificate is decoded at load time, so a broken root is
//! refused before it can be used. Validity windows are closed at both ends; an
//! absent or null `end` means open-ended, an absent `start` is an error.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use crate::fixed_base::{LazyTables, PreparedKey};
use crate::limits;
use crate::policy::Diagnostic;
use crate::public_key::{KeyError, PublicKey, SignatureError};

/// A parsed trusted root.
#[derive(Clone, Debug)]
pub struct TrustedRoot {
    pub tlogs: Vec<TransparencyLog>,
    pub certificate_authorities: Vec<CertificateAuthority>,
    pub ct_logs: Vec<TransparencyLog>,
    pub timestamp_authorities: Vec<CertificateAuthority>,
}

/// A Rekor log or a CT log.
#[derive(Clone, Debug)]
pub struct TransparencyLog {
    pub base_url: String,
    pub key: PublicKey,
    /// The key's multiples, for ECDSA keys: built on first use, then kept
    /// as long as the root.
    pub prepared: LazyTables,
    /// The key's DER SubjectPublicKeyInfo.
    pub key_der: Vec<u8>,
    pub log_id: Vec<u8>,
    pub valid_for: ValidityWindow,
}

impl TransparencyLog {
    /// Verifies a signature by the log's key, as [`PublicKey::verify`] does.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
        match self.prepared.get_or_build(|| PreparedKey::new(&self.key)) {
            Some(prepared) => {
                prepared.verify_with_hash(message, signature, self.key.default_hash())
            }
            None => self.key.verify(message, signature),
        }
    }
}

/// A Fulcio CA or a timestamp authority: a certificate chain, leaf-most first.
#[derive(Clone, Debug)]
pub struct CertificateAuthority {
    pub uri: String,
    pub chain: Vec<Vec<u8>>,
    pub valid_for: ValidityWindow,
    /// `signed_by_next[i]`: `chain[i]` carries a valid signature by
    /// `chain[i + 1]`'s key. Checked once, when the root is loaded, so that
    /// a path through the authority's own certificates costs no signature
    /// check per verification. Nothing else about the link is cached.
    pub signed_by_next: Vec<bool>,
    /// Each certificate's key with its multiples, for ECDSA keys (the keys
    /// that sign leaf certificates): built on first use, then kept.
    pub prepared: Vec<LazyTables>,
}

/// `[start, end]` in Unix seconds; `end` is `None` when open-ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidityWindow {
    pub start: i64,
    pub end: Option<i64>,
}

impl ValidityWindow {
    pub fn contains(&self, time: i64) -> bool {
        time >= self.start && self.end.is_none_or(|end| time <= end)
    }
}

/// Why a trusted root is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustRootError {
    TooLarge { bytes: usize, max: usize },
    Json(String),
    Missing,
    Base64(String),
    Time(String),
    Key(KeyError),
    Certificate(String),
    EmptyChain,
}

impl std::fmt::Display for TrustRootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes, max } => {
                write!(f, "trusted root is {bytes} bytes, at most {max} allowed")
            }
            Self::Json(e) => write!(f, "not a trusted root: {e}"),
            Self::Missing => write!(f, "required field is missing"),
            Self::Base64(e) => write!(f, "invalid base64: {e}"),
            Self::Time(e) => write!(f, "invalid RFC 3339 time: {e}"),
            Self::Key(e) => write!(f, "{e}"),
            Self::Certificate(e) => write!(f, "invalid certificate: {e}"),
            Self::EmptyChain => write!(f, "certificate chain is empty"),
        }
    }
}

impl std::error::Error for TrustRootError {}

type Errors = Vec<Diagnostic<TrustRootError>>;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRoot {
    #[serde(default)]
    tlogs: Vec<RawLog>,
    #[serde(default)]
    certificate_authorities: Vec<RawAuthority>,
    #[serde(default)]
    ctlogs: Vec<RawLog>,
    #[serde(default)]
    timestamp_authorities: Vec<RawAuthority>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLog {
    base_url: Option<String>,
    public_key: Option<RawKey>,
    log_id: Option<RawLogId>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawKey {
    raw_bytes: Option<String>,
    key_details: Option<String>,
    valid_for: Option<RawWindow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawLogId {
    key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAuthority {
    uri: Option<String>,
    cert_chain: Option<RawChain>,
    valid_for: Option<RawWindow>,
}

#[derive(Deserialize)]
struct RawChain {
    #[serde(default)]
    certificates: Vec<RawCertificate>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCertificate {
    raw_bytes: Option<String>,
}

#[derive(Deserialize)]
struct RawWindow {
    start: Option<String>,
    end: Option<String>,
}

impl TrustedRoot {
    /// Parses `trusted_root.json`. On failure, returns every problem found.
    pub fn parse(json: &[u8]) -> Result<Self, Errors> {
        let fail = |kind| {
            vec![Diagnostic {
                rule: None,
                field: "trusted root".to_owned(),
                kind,
            }]
        };
        if json.len() > limits::TRUSTED_ROOT_BYTES {
            return Err(fail(TrustRootError::TooLarge {
                bytes: json.len(),
                max: limits::TRUSTED_ROOT_BYTES,
            }));
        }
        let raw: RawRoot =
            serde_json::from_slice(json).map_err(|e| fail(TrustRootError::Json(e.to_string())))?;
        let mut errors = Errors::new();
        let root = Self {
            tlogs: collect(&raw.tlogs, "tlogs", &mut errors, read_log),
            certificate_authorities: collect(
                &raw.certificate_authorities,
                "certificateAuthorities",
                &mut errors,
                read_authority,
            ),
            ct_logs: collect(&raw.ctlogs, "ctlogs", &mut errors, read_log),
            timestamp_authorities: collect(
                &raw.timestamp_authorities,
                "timestampAuthorities",
                &mut errors,
                read_authority,
            ),
        };
        if errors.is_empty() {
            Ok(root)
        } else {
            Err(errors)
        }
    }
}

fn collect<R, T>(
    raw: &[R],
    list: &str,
    errors: &mut Errors,
    read: fn(&R, &str, &mut Errors) -> Option<T>,
) -> Vec<T> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, item)| read(item, &format!("{list}[{i}]"), errors))
        .collect()
}

fn error(errors: &mut Errors, field: String, kind: TrustRootError) {
    errors.push(Diagnostic {
        rule: None,
        field,
        kind,
    });
}

fn required<'a, T>(value: Option<&'a T>, field: String, errors: &mut Errors) -> Option<&'a T> {
    if value.is_none() {
        error(errors, field, TrustRootError::Missing);
    }
    value
}

fn decode(text: &str, field: String, errors: &mut Errors) -> Option<Vec<u8>> {
    BASE64
        .decode(text)
        .map_err(|e| error(errors, field, TrustRootError::Base64(e.to_string())))
        .ok()
}

fn read_log(raw: &RawLog, at: &str, errors: &mut Errors) -> Option<TransparencyLog> {
    let base_url = required(raw.base_url.as_ref(), format!("{at}.baseUrl"), errors);
    let key = required(raw.public_key.as_ref(), format!("{at}.publicKey"), errors);
    let log_id = required(raw.log_id.as_ref(), format!("{at}.logId"), errors)
        .and_then(|id| required(id.key_id.as_ref(), format!("{at}.logId.keyId"), errors))
        .and_then(|id| decode(id, format!("{at}.logId.keyId"), errors));
    let key_der = key
        .and_then(|k| {
            required(
                k.raw_bytes.as_ref(),
                format!("{at}.publicKey.rawBytes"),
                errors,
            )
        })
        .and_then(|b| decode(b, format!("{at}.publicKey.rawBytes"), errors));
    // `PKCS1_*` keys are bare PKCS#1 RSA keys; all others are SubjectPublicKeyInfo.
    let pkcs1 = key
        .and_then(|k| k.key_details.as_deref())
        .is_some_and(|d| d.starts_with("PKCS1_"));
    let parsed = key_der.as_ref().and_then(|der| {
        let decoded = if pkcs1 {
            PublicKey::from_pkcs1_der(der)
        } else {
            PublicKey::from_spki_der(der)
        };
        decoded
            .map_err(|e| {
                error(
                    errors,
                    format!("{at}.publicKey.rawBytes"),
                    TrustRootError::Key(e),
                )
            })
            .ok()
    });
    let valid_for = key.and_then(|k| {
        read_window(
            k.valid_for.as_ref(),
            &format!("{at}.publicKey.validFor"),
            errors,
        )
    });
    let key = parsed?;
    Some(TransparencyLog {
        base_url: base_url?.clone(),
        prepared: LazyTables::default(),
        key,
        key_der: key_der?,
        log_id: log_id?,
        valid_for: valid_for?,
    })
}

fn read_authority(
    raw: &RawAuthority,
    at: &str,
    errors: &mut Errors,
) -> Option<CertificateAuthority> {
    let chain_field = format!("{at}.certChain");
    let raw_chain = required(raw.cert_chain.as_ref(), chain_field.clone(), errors);
    let mut chain = Vec::new();
    if let Some(raw_chain) = raw_chain {
        if raw_chain.certificates.is_empty() {
            error(errors, chain_field.clone(), TrustRootError::EmptyChain);
        }
        for (i, cert) in raw_chain.certificates.iter().enumerate() {
            let field = format!("{chain_field}.certificates[{i}].rawBytes");
            let Some(der) = required(cert.raw_bytes.as_ref(), field.clone(), errors)
                .and_then(|b| decode(b, field.clone(), errors))
            else {
                continue;
            };
            match x509_parser::parse_x509_certificate(&der) {
                Ok(_) => chain.push(der),
                Err(e) => error(errors, field, TrustRootError::Certificate(e.to_string())),
            }
        }
    }
    let valid_for = read_window(raw.valid_for.as_ref(), &format!("{at}.validFor"), errors);
    let signed_by_next = chain
        .windows(2)
        .map(|pair| match pair {
            [child, issuer] => crate::x509::chain::signs(issuer, child),
            _ => false,
        })
        .collect();
    let prepared = chain.iter().map(|_| LazyTables::default()).collect();
    Some(CertificateAuthority {
        uri: raw.uri.clone().unwrap_or_default(),
        chain,
        valid_for: valid_for?,
        signed_by_next,
        prepared,
    })
}

fn read_window(raw: Option<&RawWindow>, at: &str, errors: &mut Errors) -> Option<ValidityWindow> {
    let raw = required(raw, at.to_owned(), errors)?;
    let start = required(raw.start.as_ref(), format!("{at}.start"), errors)
        .and_then(|s| parse_time(s, format!("{at}.start"), errors));
    let end = match &raw.end {
        Some(end) => Some(parse_time(end, format!("{at}.end"), errors)?),
        None => None,
    };
    Some(ValidityWindow { start: start?, end })
}

fn parse_time(text: &str, field: String, errors: &mut Errors) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| error(errors, field, TrustRootError::Time(e.to_string())))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_start_is_an_error_and_null_end_is_open() {
        let json = br#"{"tlogs":[{"baseUrl":"https://x","hashAlgorithm":"SHA2_256",
            "publicKey":{"rawBytes":"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
            "keyDetails":"PKIX_ED25519","validFor":{"end":null}},"logId":{"keyId":"AAAA"}}]}"#;
        let errors = TrustedRoot::parse(json).err().unwrap_or_default();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "tlogs[0].publicKey.validFor.start");
        assert_eq!(errors[0].kind, TrustRootError::Missing);

        let open = br#"{"tlogs":[{"baseUrl":"https://x",
            "publicKey":{"rawBytes":"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=",
            "validFor":{"start":"2025-01-01T00:00:00Z","end":null}},"logId":{"keyId":"AAAA"}}]}"#;
        let root = TrustedRoot::parse(open).map_err(|e| format!("{e:?}"));
        let window = root.map(|r| r.tlogs[0].valid_for);
        assert_eq!(
            window,
            Ok(ValidityWindow {
                start: 1_735_689_600,
                end: None
            })
        );
    }

    #[test]
    fn window_is_closed_at_both_ends() {
        let w = ValidityWindow {
            start: 10,
            end: Some(20),
        };
        assert!(!w.contains(9));
        assert!(w.contains(10));
        assert!(w.contains(20));
        assert!(!w.contains(21));
    }
}
