//! in-toto statements in DSSE envelopes: the statement must name the
//! artifact among its subjects. A validly signed payload that is not a
//! statement, or names something else, proves nothing about the artifact.

use std::fmt;

use serde_json::Value;

use crate::hex;
use crate::limits;

const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const STATEMENT_TYPES: [&str; 2] = [
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatementError {
    PayloadType(String),
    NotJson,
    StatementType(String),
    NoSubjects,
    TooManySubjects { count: usize },
    NotASubject { digest: String },
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PayloadType(t) => write!(
                f,
                "expected payload type `{IN_TOTO_PAYLOAD_TYPE}`, got `{t}`"
            ),
            Self::NotJson => write!(f, "the DSSE payload is not a JSON object"),
            Self::StatementType(t) => write!(f, "expected an in-toto statement `_type`, got `{t}`"),
            Self::NoSubjects => write!(f, "the in-toto statement has no subjects"),
            Self::TooManySubjects { count } => write!(
                f,
                "the in-toto statement has {count} subjects, at most {} allowed",
                limits::DSSE_SUBJECTS
            ),
            Self::NotASubject { digest } => {
                write!(
                    f,
                    "expected a subject with sha256 {digest}, the statement names none"
                )
            }
        }
    }
}

impl std::error::Error for StatementError {}

/// The artifact's digests a subject may name.
#[derive(Clone, Copy, Debug)]
pub struct Digests<'a> {
    pub sha256: Option<&'a [u8]>,
    pub sha512: Option<&'a [u8]>,
}

/// Checks that the payload is an in-toto statement naming the artifact among
/// its subjects, by SHA-256 or SHA-512, and returns the digest it matched.
pub fn check_subject(
    payload_type: &str,
    payload: &[u8],
    digests: &Digests<'_>,
) -> Result<String, StatementError> {
    if payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(StatementError::PayloadType(payload_type.to_owned()));
    }
    let statement: Value = serde_json::from_slice(payload).map_err(|_| StatementError::NotJson)?;
    let statement_type = statement["_type"].as_str().unwrap_or_default();
    if !STATEMENT_TYPES.contains(&statement_type) {
        return Err(StatementError::StatementType(statement_type.to_owned()));
    }
    let subjects = statement["subject"]
        .as_array()
        .ok_or(StatementError::NoSubjects)?;
    if subjects.is_empty() {
        return Err(StatementError::NoSubjects);
    }
    if subjects.len() > limits::DSSE_SUBJECTS {
        return Err(StatementError::TooManySubjects {
            count: subjects.len(),
        });
    }
    let wanted: Vec<(&str, String)> = [("sha256", digests.sha256), ("sha512", digests.sha512)]
        .into_iter()
        .filter_map(|(name, d)| d.map(|d| (name, hex::encode(d))))
        .collect();
    for subject in subjects {
        for (algorithm, value) in &wanted {
            if subject["digest"][*algorithm].as_str() == Some(value.as_str()) {
                return Ok(format!("{algorithm}:{value}"));
            }
        }
    }
    Err(StatementError::NotASubject {
        digest: wanted
            .iter()
            .map(|(a, v)| format!("{a}:{v}"))
            .collect::<Vec<_>>()
            .join(" or "),
    })
}
