//! A policy's YAML as a JSON value tree, over yaml-rust2's event parser:
//! memory-safe Rust, where libyaml-based parsers run C translated to Rust.
//!
//! It loads what Talos's decoder loads: one document of mappings, sequences
//! and scalars, plain scalars resolved by the YAML 1.2 core schema (null,
//! booleans, numbers, else strings), anchors and aliases. Keys must be
//! strings, each once in its mapping. Work is bounded: nesting depth, and
//! nodes with alias expansions counted, so a document that is small on disk
//! cannot grow large in memory.

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use super::diagnostic::PolicyError;
use crate::limits;

/// Nodes one document may hold, alias expansions included.
const MAX_NODES: usize = 1_000_000;

/// Reads one YAML document into a value.
pub(super) fn to_value(text: &str) -> Result<Value, PolicyError> {
    // A stream may start with a byte-order mark, which is not content.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut parser = Parser::new_from_str(text);
    let mut tree = Tree::default();
    let mut documents = 0;
    loop {
        let (event, _) = parser
            .next_token()
            .map_err(|e| PolicyError::Syntax(e.to_string()))?;
        match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(PolicyError::NotOneDocument);
                }
            }
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            Event::Scalar(text, style, anchor, tag) => {
                tree.count(1)?;
                let value = scalar(text, style, tag.as_ref())?;
                tree.add(value, anchor)?;
            }
            Event::SequenceStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "seq")?;
                tree.open(Frame::Sequence(Vec::new()), anchor)?;
            }
            Event::MappingStart(anchor, tag) => {
                collection_tag(tag.as_ref(), "map")?;
                tree.open(
                    Frame::Mapping {
                        map: Map::new(),
                        key: None,
                    },
                    anchor,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => tree.close()?,
            Event::Alias(id) => tree.alias(id)?,
        }
    }
    // An empty stream is a null document, as serde_yaml and Go's decoder read it.
    Ok(tree.root.unwrap_or(Value::Null))
}

/// A collection being read.
enum Frame {
    Sequence(Vec<Value>),
    Mapping {
        map: Map<String, Value>,
        key: Option<String>,
    },
}

#[derive(Default)]
struct Tree {
    /// Open collections, outermost first, each with its anchor.
    open: Vec<(Frame, usize)>,
    root: Option<Value>,
    /// Anchored values by anchor id, with their node count and depth.
    anchors: Vec<(usize, Value, usize, usize)>,
    nodes: usize,
}

impl Tree {
    fn count(&mut self, nodes: usize) -> Result<(), PolicyError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > MAX_NODES {
            return Err(PolicyError::Syntax(format!(
                "more than {MAX_NODES} values, aliases expanded"
            )));
        }
        Ok(())
    }

    fn too_deep(depth: usize) -> PolicyError {
        PolicyError::TooDeep {
            depth,
            max: limits::POLICY_NESTING,
        }
    }

    fn open(&mut self, frame: Frame, anchor: usize) -> Result<(), PolicyError> {
        self.count(1)?;
        if self.open.len() >= limits::POLICY_NESTING {
            return Err(Self::too_deep(self.open.len() + 1));
        }
        self.open.push((frame, anchor));
        Ok(())
    }

    fn close(&mut self) -> Result<(), PolicyError> {
        let Some((frame, anchor)) = self.open.pop() else {
            return Err(PolicyError::Syntax("unbalanced collection end".to_owned()));
        };
        let value = match frame {
            Frame::Sequence(items) => Value::Array(items),
            Frame::Mapping { map, key: None } => Value::Object(map),
            Frame::Mapping { key: Some(_), .. } => {
                return Err(PolicyError::Syntax("a mapping key has no value".to_owned()));
            }
        };
        self.add(value, anchor)
    }

    fn alias(&mut self, id: usize) -> Result<(), PolicyError> {
        let Some((_, value, nodes, depth)) = self.anchors.iter().find(|(a, ..)| *a == id) else {
            return Err(PolicyError::Syntax(
                "an alias names no anchor before it".to_owned(),
            ));
        };
        let (value, nodes, depth) = (value.clone(), *nodes, *depth);
        self.count(nodes)?;
        if self.open.len() + depth > limits::POLICY_NESTING {
            return Err(Self::too_deep(self.open.len() + depth));
        }
        self.add(value, 0)
    }

    /// Places a finished value in the collection open around it.
    fn add(&mut self, value: Value, anchor: usize) -> Result<(), PolicyError> {
        if anchor != 0 {
            let (nodes, depth) = measure(&value);
            self.anchors.retain(|(a, ..)| *a != anchor);
            self.anchors.push((anchor, value.clone(), nodes, depth));
        }
        match self.open.last_mut() {
            None => {
                self.root = Some(value);
                Ok(())
            }
            Some((Frame::Sequence(items), _)) => {
                items.push(value);
                Ok(())
            }
            Some((Frame::Mapping { map, key }, _)) => match key.take() {
                Some(name) => {
                    map.insert(name, value);
                    Ok(())
                }
                None => {
                    let Value::String(name) = value else {
                        return Err(PolicyError::Syntax(format!(
                            "mapping keys must be strings, found {}",
                            kind(&value)
                        )));
                    };
                    if map.contains_key(&name) {
                        return Err(PolicyError::Syntax(format!(
                            "mapping key `{name}` appears more than once"
                        )));
                    }
                    *key = Some(name);
                    Ok(())
                }
            },
        }
    }
}

/// A value's node count and nesting depth, without recursion.
fn measure(value: &Value) -> (usize, usize) {
    let (mut nodes, mut depth) = (0, 0);
    let mut stack = vec![(value, 0usize)];
    while let Some((value, level)) = stack.pop() {
        nodes += 1;
        match value {
            Value::Array(items) => {
                depth = depth.max(level + 1);
                stack.extend(items.iter().map(|v| (v, level + 1)));
            }
            Value::Object(map) => {
                depth = depth.max(level + 1);
                stack.extend(map.values().map(|v| (v, level + 1)));
            }
            _ => {}
        }
    }
    (nodes, depth)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

/// The suffix of a core-schema tag (`!!str`), else the whole tag.
fn core_tag(tag: &Tag) -> Result<&str, PolicyError> {
    match tag.handle.as_str() {
        "!!" | "tag:yaml.org,2002:" => Ok(tag.suffix.as_str()),
        _ => Err(PolicyError::Syntax(format!(
            "unsupported tag `{}{}`",
            tag.handle, tag.suffix
        ))),
    }
}

fn collection_tag(tag: Option<&Tag>, expected: &str) -> Result<(), PolicyError> {
    match tag.map(core_tag).transpose()? {
        None => Ok(()),
        Some(suffix) if suffix == expected => Ok(()),
        Some(suffix) => Err(PolicyError::Syntax(format!(
            "unsupported tag `!!{suffix}` on a collection"
        ))),
    }
}

/// A scalar's value: quoted and block scalars are strings; plain ones are
/// resolved; a core tag forces its type.
fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, PolicyError> {
    let wrong =
        |tag: &str, text: &str| PolicyError::Syntax(format!("`{text}` is not a valid !!{tag}"));
    match tag.map(core_tag).transpose()? {
        Some("str") => Ok(Value::String(text)),
        Some("null") => null(&text).ok_or_else(|| wrong("null", &text)),
        Some("bool") => boolean(&text).ok_or_else(|| wrong("bool", &text)),
        Some("int") => integer(&text).ok_or_else(|| wrong("int", &text)),
        Some("float") => float(&text)
            .or_else(|| integer(&text))
            .ok_or_else(|| wrong("float", &text)),
        Some(other) => Err(PolicyError::Syntax(format!("unsupported tag `!!{other}`"))),
        None if style != TScalarStyle::Plain => Ok(Value::String(text)),
        None => Ok(null(&text)
            .or_else(|| boolean(&text))
            .or_else(|| integer(&text))
            .or_else(|| float(&text))
            .unwrap_or(Value::String(text))),
    }
}

fn null(text: &str) -> Option<Value> {
    matches!(text, "" | "~" | "null" | "Null" | "NULL").then_some(Value::Null)
}

fn boolean(text: &str) -> Option<Value> {
    match text {
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        _ => None,
    }
}

/// `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`.
fn integer(text: &str) -> Option<Value> {
    let radix_digits = |prefix: &str, radix: u32| {
        text.strip_prefix(prefix)
            .filter(|d| !d.is_empty() && d.chars().all(|c| c.is_digit(radix)))
            .map(|d| (radix, d))
    };
    if let Some((radix, digits)) = radix_digits("0x", 16).or_else(|| radix_digits("0o", 8)) {
        return u64::from_str_radix(digits, radix)
            .ok()
            .map(|n| Value::Number(Number::from(n)));
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    // `007` is a string, as serde_yaml reads it.
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::Number(Number::from(n)));
    }
    if let Ok(n) = digits.parse::<u64>()
        && !text.starts_with('-')
    {
        return Some(Value::Number(Number::from(n)));
    }
    // Out of range: a float, as YAML decoders widen it.
    float(text)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, and the infinities
/// and NaN, which JSON cannot hold (null, as serde_json makes of them).
fn float(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(body, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(Value::Null);
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() > 1 && whole.starts_with('0') {
        return None;
    }
    let mantissa_ok = match fraction {
        Some(fraction) => {
            digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !whole.is_empty() && digits(whole),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    Some(Number::from_f64(value).map_or(Value::Null, Value::Number))
}
