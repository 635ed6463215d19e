//! Reading a policy document into rules, collecting every error at once.
//!
//! The text is first read into a plain value tree (YAML is a superset of JSON),
//! then walked field by field, so that one bad rule does not hide the next.

use serde_json::{Map, Value};

use super::advisories;
use super::attestation::{self, AttestationSigner, Condition, Requirement, Test};
use super::diagnostic::{Diagnostic, PolicyError};
use super::fields::{Errors, Fields, RegexBudget, RegexRefusal, type_name};
use super::{KeyVerifier, KeylessIdentity, Rule, RuleKind, SubjectRegex};
use crate::glob::Glob;
use crate::limits;
use crate::public_key::PublicKey;

const API_VERSION: &str = "v1alpha1";
const KIND: &str = "ImageVerificationConfig";
/// Pattern prefixes that mean Docker Hub; rewritten to `docker.io/`, as references are.
const DOCKER_HUB_PATTERN_ALIASES: [&str; 2] = ["index.docker.io/", "registry-1.docker.io/"];

pub(super) fn parse(text: &str) -> Result<Vec<Rule>, Errors> {
    let document_error = |field: &str, kind| {
        vec![Diagnostic {
            rule: None,
            field: field.to_owned(),
            kind,
        }]
    };
    if text.len() > limits::POLICY_BYTES {
        return Err(document_error(
            "document",
            PolicyError::TooLarge {
                bytes: text.len(),
                max: limits::POLICY_BYTES,
            },
        ));
    }
    let root = read_tree(text).map_err(|kind| document_error("document", kind))?;
    let Value::Object(root) = root else {
        return Err(document_error(
            "document",
            PolicyError::WrongType {
                expected: "a mapping",
                found: type_name(&root),
            },
        ));
    };

    let mut errors = Errors::new();
    let mut doc = Fields::new(&root, None, "", &mut errors);
    doc.constant("apiVersion", API_VERSION);
    doc.constant("kind", KIND);
    let rules = doc.array("rules");
    doc.reject_unknown(&["apiVersion", "kind", "rules"]);

    let rules: &[Value] = rules.map_or(&[], Vec::as_slice);
    if rules.len() > limits::POLICY_RULES {
        return Err(document_error(
            "rules",
            PolicyError::TooManyRules {
                count: rules.len(),
                max: limits::POLICY_RULES,
            },
        ));
    }
    let mut regexes = RegexBudget::default();
    let parsed: Vec<Option<Rule>> = rules
        .iter()
        .enumerate()
        .map(|(index, value)| parse_rule(index, value, &mut regexes, &mut errors))
        .collect();
    if errors.is_empty() {
        Ok(parsed.into_iter().flatten().collect())
    } else {
        Err(errors)
    }
}

pub(super) fn read_tree(text: &str) -> Result<Value, PolicyError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        return serde_json::from_str(trimmed).map_err(|e| PolicyError::Syntax(e.to_string()));
    }
    super::yaml::to_value(text)
}

fn parse_rule(
    index: usize,
    value: &Value,
    regexes: &mut RegexBudget,
    errors: &mut Errors,
) -> Option<Rule> {
    let Value::Object(map) = value else {
        errors.push(Diagnostic {
            rule: Some(index),
            field: "rule".to_owned(),
            kind: PolicyError::WrongType {
                expected: "a mapping",
                found: type_name(value),
            },
        });
        return None;
    };
    let before = errors.len();
    let mut rule = Fields::new(map, Some(index), "", errors);
    let image = rule.string("image");
    let skip = rule.boolean("skip").unwrap_or(false);
    let deny = rule.boolean("deny").unwrap_or(false);
    let keyless = rule.object("keyless");
    let public_key = rule.object("publicKey");
    rule.reject_unknown(&[
        "image",
        "skip",
        "deny",
        "keyless",
        "publicKey",
        "attestations",
        "advisories",
    ]);

    match image.as_deref() {
        None | Some("") => rule.error("image", PolicyError::EmptyImage),
        Some(_) => {}
    }
    if skip && deny {
        rule.error("skip", PolicyError::SkipAndDeny);
    }
    let has_verifier = keyless.is_some() || public_key.is_some();
    if (skip || deny) && has_verifier {
        rule.error(
            if keyless.is_some() {
                "keyless"
            } else {
                "publicKey"
            },
            PolicyError::VerifierWithSkipOrDeny,
        );
    }
    if !skip && !deny && !has_verifier {
        rule.error("rule", PolicyError::NoAction);
    }
    if keyless.is_some() && public_key.is_some() {
        rule.error("publicKey", PolicyError::BothVerifiers);
    }
    let attestation_list = rule.array("attestations");
    let keyless = keyless.and_then(|map| parse_keyless(index, "", map, regexes, rule.errors));
    let public_key = public_key.and_then(|map| parse_public_key(index, "", map, rule.errors));
    let attestations = match attestation_list {
        Some(_) if skip || deny => {
            rule.error("attestations", PolicyError::AttestationsWithoutVerifier);
            Vec::new()
        }
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| parse_attestation(index, i, entry, regexes, rule.errors))
            .collect(),
        None => Vec::new(),
    };
    let advisories = rule.object("advisories").and_then(|map| {
        let sbom = advisories::requires_sbom(&attestations);
        advisories::parse(index, map, has_verifier, sbom, rule.errors)
    });

    if errors.len() > before {
        return None;
    }
    let kind = match (skip, deny, keyless, public_key) {
        (true, _, _, _) => RuleKind::Skip,
        (_, true, _, _) => RuleKind::Deny,
        (_, _, Some(keyless), _) => RuleKind::Keyless(keyless),
        (_, _, _, Some(key)) => RuleKind::PublicKey(key),
        _ => return None,
    };
    Some(Rule {
        pattern: Glob::new(&normalize_pattern(&image.unwrap_or_default())),
        kind,
        attestations,
        advisories,
    })
}

/// One entry of a rule's `attestations` (sigward's extension).
fn parse_attestation(
    index: usize,
    position: usize,
    value: &Value,
    regexes: &mut RegexBudget,
    errors: &mut Errors,
) -> Option<Requirement> {
    let prefix = format!("attestations[{position}].");
    let Value::Object(map) = value else {
        errors.push(Diagnostic {
            rule: Some(index),
            field: format!("attestations[{position}]"),
            kind: PolicyError::WrongType {
                expected: "a mapping",
                found: type_name(value),
            },
        });
        return None;
    };
    let before = errors.len();
    let mut fields = Fields::new(map, Some(index), prefix.clone(), errors);
    let name = fields.string("predicateType");
    let keyless = fields.object("keyless");
    let public_key = fields.object("publicKey");
    let require = fields.array("require");
    let deny = fields.array("deny");
    let max_age = fields.string("maxAge");
    fields.reject_unknown(&[
        "predicateType",
        "keyless",
        "publicKey",
        "require",
        "deny",
        "maxAge",
    ]);
    let predicate_type = match name.as_deref() {
        None => {
            fields.error("predicateType", PolicyError::Missing);
            None
        }
        Some(name) => {
            let uri = attestation::predicate_type(name).map(str::to_owned);
            if uri.is_none() {
                fields.error(
                    "predicateType",
                    PolicyError::UnknownPredicateType(name.to_owned()),
                );
            }
            uri
        }
    };
    if keyless.is_some() && public_key.is_some() {
        fields.error("publicKey", PolicyError::BothVerifiers);
    }
    let max_age = max_age.and_then(|text| match attestation::parse_duration(&text) {
        Ok(seconds) => Some(seconds),
        Err(e) => {
            fields.error("maxAge", PolicyError::InvalidCondition(e));
            None
        }
    });
    let signer = match (keyless, public_key) {
        (Some(map), _) => parse_keyless(index, &prefix, map, regexes, fields.errors)
            .map(AttestationSigner::Keyless),
        (_, Some(map)) => {
            parse_public_key(index, &prefix, map, fields.errors).map(AttestationSigner::PublicKey)
        }
        _ => None,
    };
    let mut conditions = |list: Option<&Vec<Value>>, field: &str| -> Vec<Condition> {
        list.map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| {
                parse_condition(
                    index,
                    &format!("{prefix}{field}[{i}]"),
                    entry,
                    regexes,
                    fields.errors,
                )
            })
            .collect()
    };
    let require = conditions(require, "require");
    let deny = conditions(deny, "deny");
    if errors.len() > before {
        return None;
    }
    Some(Requirement {
        predicate_type: predicate_type?,
        signer,
        require,
        deny,
        max_age,
    })
}

/// `{path, equals | regex | oneOf}`: exactly one test.
fn parse_condition(
    index: usize,
    at: &str,
    value: &Value,
    regexes: &mut RegexBudget,
    errors: &mut Errors,
) -> Option<Condition> {
    let Value::Object(map) = value else {
        errors.push(Diagnostic {
            rule: Some(index),
            field: at.to_owned(),
            kind: PolicyError::WrongType {
                expected: "a mapping",
                found: type_name(value),
            },
        });
        return None;
    };
    let mut fields = Fields::new(map, Some(index), format!("{at}."), errors);
    let path = fields.string("path");
    let regex = fields.string("regex");
    let one_of = fields.array("oneOf");
    fields.reject_unknown(&["path", "equals", "regex", "oneOf"]);
    let equals = map.get("equals").filter(|v| !v.is_null());
    let path = match path.as_deref().map(attestation::Path::parse) {
        None => {
            fields.error("path", PolicyError::Missing);
            None
        }
        Some(Err(e)) => {
            fields.error("path", PolicyError::InvalidCondition(e));
            None
        }
        Some(Ok(path)) => Some(path),
    };
    let scalar = |v: &Value| !v.is_array() && !v.is_object();
    let test = match (equals, regex, one_of) {
        (Some(v), None, None) if scalar(v) => Some(Test::Equals(v.clone())),
        (None, Some(source), None) => match regexes.compile(&source) {
            Ok(regex) => Some(Test::Regex(SubjectRegex { source, regex })),
            Err(RegexRefusal::Invalid(e)) => {
                fields.error("regex", PolicyError::InvalidRegex(e));
                None
            }
            Err(RegexRefusal::OverBudget { .. }) => {
                fields.error(
                    "regex",
                    PolicyError::RegexBudget {
                        max: limits::REGEX_TOTAL_BYTES,
                    },
                );
                None
            }
        },
        (None, None, Some(list)) if !list.is_empty() && list.iter().all(scalar) => {
            Some(Test::OneOf(list.clone()))
        }
        _ => {
            fields.error(
                "path",
                PolicyError::InvalidCondition(
                    "a condition needs exactly one of `equals` (a scalar), `regex` or `oneOf` (a non-empty list of scalars)"
                        .to_owned(),
                ),
            );
            None
        }
    };
    Some(Condition {
        path: path?,
        test: test?,
    })
}

fn parse_keyless(
    index: usize,
    prefix: &str,
    map: &Map<String, Value>,
    regexes: &mut RegexBudget,
    errors: &mut Errors,
) -> Option<KeylessIdentity> {
    let mut keyless = Fields::new(map, Some(index), format!("{prefix}keyless."), errors);
    let issuer = keyless.string("issuer").filter(|s| !s.is_empty());
    let subject = keyless.string("subject").filter(|s| !s.is_empty());
    let regex_source = keyless.string("subjectRegex").filter(|s| !s.is_empty());
    keyless.reject_unknown(&["issuer", "subject", "subjectRegex"]);
    if issuer.is_none() {
        keyless.error("issuer", PolicyError::KeylessWithoutIssuer);
    }
    if subject.is_none() && regex_source.is_none() {
        keyless.error("subject", PolicyError::KeylessWithoutSubject);
    }
    let subject_regex = match regex_source.map(|source| (regexes.compile(&source), source)) {
        Some((Ok(regex), source)) => Some(SubjectRegex { source, regex }),
        Some((Err(RegexRefusal::Invalid(e)), _)) => {
            keyless.error("subjectRegex", PolicyError::InvalidRegex(e));
            None
        }
        Some((Err(RegexRefusal::OverBudget { first }), _)) => {
            if first {
                keyless.error(
                    "subjectRegex",
                    PolicyError::RegexBudget {
                        max: limits::REGEX_TOTAL_BYTES,
                    },
                );
            }
            None
        }
        None => None,
    };
    Some(KeylessIdentity {
        issuer: issuer?,
        subject,
        subject_regex,
    })
}

fn parse_public_key(
    index: usize,
    prefix: &str,
    map: &Map<String, Value>,
    errors: &mut Errors,
) -> Option<KeyVerifier> {
    let mut fields = Fields::new(map, Some(index), format!("{prefix}publicKey."), errors);
    let pem = fields
        .string("certificate")
        .filter(|s| !s.trim().is_empty());
    fields.reject_unknown(&["certificate"]);
    let Some(pem) = pem else {
        fields.error("certificate", PolicyError::EmptyPublicKey);
        return None;
    };
    match PublicKey::from_pem(&pem) {
        Ok(key) => Some(KeyVerifier { pem, key }),
        Err(e) => {
            fields.error("certificate", PolicyError::InvalidPublicKey(e));
            None
        }
    }
}

fn normalize_pattern(pattern: &str) -> String {
    DOCKER_HUB_PATTERN_ALIASES
        .iter()
        .find_map(|alias| pattern.strip_prefix(alias))
        .map_or_else(|| pattern.to_owned(), |rest| format!("docker.io/{rest}"))
}
