//! The Signed Entry Timestamp (SET): Rekor v1's signed promise that an entry
//! was integrated into the log at a given time.
//!
//! The signature covers the RFC 8785 canonical JSON of
//! `{body, integratedTime, logID, logIndex}`. Only after it verifies may
//! `integratedTime` serve as the signing time.

use std::fmt;

use crate::hex;
use crate::trust_root::TransparencyLog;

/// The entry fields the SET signs.
#[derive(Clone, Copy, Debug)]
pub struct SignedFields<'a> {
    /// The entry body as base64, exactly as the bundle carries it.
    pub body_base64: &'a str,
    pub integrated_time: i64,
    pub log_id: &'a [u8],
    pub log_index: i64,
}

/// Why a SET is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetError {
    /// The base64 body holds a character canonical JSON would escape.
    NonBase64Body,
    BadSignature(String),
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NonBase64Body => write!(f, "entry body is not base64"),
            Self::BadSignature(e) => write!(f, "signed entry timestamp does not verify: {e}"),
        }
    }
}

impl std::error::Error for SetError {}

/// The canonical JSON the SET signs. The keys are already in RFC 8785 order
/// and every value is a base64 string, lowercase hex, or an integer, so no
/// escaping is ever needed; a body that would need it is refused.
pub fn canonical_payload(fields: &SignedFields<'_>) -> Result<String, SetError> {
    let base64_alphabet = |b: u8| b.is_ascii_alphanumeric() || b"+/=".contains(&b);
    if !fields.body_base64.bytes().all(base64_alphabet) {
        return Err(SetError::NonBase64Body);
    }
    let log_id = hex::encode(fields.log_id);
    Ok(format!(
        r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
        fields.body_base64, fields.integrated_time, log_id, fields.log_index
    ))
}

/// Verifies a SET with the log's key.
pub fn verify(
    fields: &SignedFields<'_>,
    set: &[u8],
    log: &TransparencyLog,
) -> Result<(), SetError> {
    let payload = canonical_payload(fields)?;
    log.verify(payload.as_bytes(), set)
        .map_err(|e| SetError::BadSignature(e.to_string()))
}
