//! Reading a document's fields: typed access to one mapping at a time, each
//! mistake a diagnostic naming its rule and field, and regexes compiled
//! within one budget for the whole document.

use serde_json::{Map, Value};

use super::diagnostic::{Diagnostic, PolicyError};
use crate::limits;

pub(super) type Errors = Vec<Diagnostic<PolicyError>>;

/// One regex within the per-expression program limit, outside any
/// document's budget.
pub(super) fn compile_regex(source: &str) -> Result<regex_lite::Regex, String> {
    compile_within(source, limits::REGEX_PROGRAM_BYTES)
}

fn compile_within(source: &str, size_limit: usize) -> Result<regex_lite::Regex, String> {
    regex_lite::RegexBuilder::new(source)
        .size_limit(size_limit)
        .build()
        .map_err(|e| e.to_string())
}

/// The program memory all of a policy's regexes may take together. Each
/// regex is charged the smallest size limit of a ladder that it compiles
/// within, at least what its program takes, so that a document of many
/// small expressions that each compile to a large program is refused at
/// load, never grows the guest to its memory cap.
#[derive(Default)]
pub(super) struct RegexBudget {
    charged: usize,
    exhausted: bool,
}

pub(super) enum RegexRefusal {
    Invalid(String),
    /// `first` is set for the first regex past the budget only, so that the
    /// refusal is reported once.
    OverBudget {
        first: bool,
    },
}

impl RegexBudget {
    const LADDER: [usize; 3] = [4 * 1024, 64 * 1024, limits::REGEX_PROGRAM_BYTES];

    pub(super) fn compile(&mut self, source: &str) -> Result<regex_lite::Regex, RegexRefusal> {
        let mut last_error = None;
        for tier in Self::LADDER {
            if self.exhausted || self.charged + tier > limits::REGEX_TOTAL_BYTES {
                let first = !self.exhausted;
                self.exhausted = true;
                return Err(RegexRefusal::OverBudget { first });
            }
            match compile_within(source, tier) {
                Ok(regex) => {
                    self.charged += tier;
                    return Ok(regex);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(RegexRefusal::Invalid(last_error.unwrap_or_default()))
    }
}

/// Typed access to one mapping's fields; every mistake becomes a diagnostic.
/// A null value counts as absent, as it does in Talos's Go decoding.
pub(super) struct Fields<'a, 'e> {
    map: &'a Map<String, Value>,
    rule: Option<usize>,
    prefix: String,
    pub(super) errors: &'e mut Errors,
}

impl<'a, 'e> Fields<'a, 'e> {
    pub(super) fn new(
        map: &'a Map<String, Value>,
        rule: Option<usize>,
        prefix: impl Into<String>,
        errors: &'e mut Errors,
    ) -> Self {
        Self {
            map,
            rule,
            prefix: prefix.into(),
            errors,
        }
    }

    pub(super) fn error(&mut self, field: &str, kind: PolicyError) {
        self.errors.push(Diagnostic {
            rule: self.rule,
            field: format!("{}{field}", self.prefix),
            kind,
        });
    }

    pub(super) fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn typed<T>(
        &mut self,
        field: &str,
        expected: &'static str,
        read: impl Fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        let value = self.get(field)?;
        let found = read(value);
        if found.is_none() {
            self.error(
                field,
                PolicyError::WrongType {
                    expected,
                    found: type_name(value),
                },
            );
        }
        found
    }

    pub(super) fn string(&mut self, field: &str) -> Option<String> {
        self.typed(field, "a string", |v| v.as_str().map(str::to_owned))
    }

    pub(super) fn boolean(&mut self, field: &str) -> Option<bool> {
        self.typed(field, "a boolean", Value::as_bool)
    }

    pub(super) fn object(&mut self, field: &str) -> Option<&'a Map<String, Value>> {
        self.typed(field, "a mapping", Value::as_object)
    }

    pub(super) fn array(&mut self, field: &str) -> Option<&'a Vec<Value>> {
        self.typed(field, "a list", Value::as_array)
    }

    pub(super) fn constant(&mut self, field: &str, expected: &'static str) {
        match self.get(field) {
            None => self.error(field, PolicyError::Missing),
            Some(Value::String(s)) if s == expected => {}
            Some(other) => self.error(
                field,
                PolicyError::WrongValue {
                    expected,
                    found: other
                        .as_str()
                        .map_or_else(|| other.to_string(), str::to_owned),
                },
            ),
        }
    }

    pub(super) fn reject_unknown(&mut self, known: &[&str]) {
        let unknown: Vec<String> = self
            .map
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for field in unknown {
            self.error(&field, PolicyError::UnknownField);
        }
    }
}

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
