//! Kubernetes manifests as files: multi-document YAML (or JSON, which is
//! YAML), read with the place of every scalar, so that `sigward pin` can
//! rewrite an image where it is written and leave every other byte alone
//! (comments, order, quoting). Images are found with [`workload::images`],
//! as the webhook finds them; a `List` is walked item by item.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::workload::{self, Site, Step};

/// Deepest nesting read; manifests are a handful of levels deep.
const MAX_DEPTH: usize = 64;

/// Most nodes read from one file, aliases expanded (so that a few lines of
/// nested aliases cannot expand into billions).
const MAX_NODES: usize = 1_000_000;

/// How a scalar is written, as far as rewriting it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// A block scalar, or a value given through an alias: not rewritten.
    Other,
}

/// Where a scalar starts in the file (at its quote, when quoted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// 1-based line.
    pub line: usize,
    /// 0-based column, in characters.
    pub column: usize,
    pub style: Style,
}

impl Place {
    /// The byte offset of this place in `text`.
    fn offset(&self, text: &str) -> Option<usize> {
        let line_start = if self.line <= 1 {
            0
        } else {
            text.match_indices('\n').nth(self.line - 2)?.0 + 1
        };
        let line = text.get(line_start..)?;
        let within = match line.char_indices().nth(self.column) {
            Some((at, _)) => at,
            None if line.chars().count() == self.column => line.len(),
            None => return None,
        };
        Some(line_start + within)
    }
}

/// One image in a file: where it is in its object, and in the text.
#[derive(Clone, Debug)]
pub struct FileSite {
    pub site: Site,
    /// 0-based index of the document in the file.
    pub document: usize,
    /// The object's kind and name, for messages.
    pub object: String,
    pub place: Option<Place>,
}

/// Why a file cannot be read as manifests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A node as read, before it becomes a value: scalars keep their place.
#[derive(Clone)]
enum Node {
    /// The text, whether it is plain and untagged (so typed by the core
    /// schema), and where it is.
    Scalar(String, bool, Place),
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
    /// The anchored node an alias names, and where the alias is: its
    /// scalars are judged, never rewritten.
    Alias(Box<Node>, Place),
}

impl Node {
    fn size(&self) -> usize {
        match self {
            Self::Scalar(..) => 1,
            Self::Sequence(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Self::Mapping(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
            Self::Alias(node, _) => node.size(),
        }
    }
}

#[derive(Default)]
struct Events(Vec<(Event, Marker)>);

impl MarkedEventReceiver for Events {
    fn on_event(&mut self, event: Event, mark: Marker) {
        self.0.push((event, mark));
    }
}

fn place(mark: Marker, style: Style) -> Place {
    Place {
        line: mark.line(),
        column: mark.col(),
        style,
    }
}

struct Builder {
    events: std::vec::IntoIter<(Event, Marker)>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
}

impl Builder {
    fn node(&mut self, first: (Event, Marker), depth: usize) -> Result<Node, Unreadable> {
        if depth > MAX_DEPTH {
            return Err(Unreadable(format!(
                "line {}: nested deeper than {MAX_DEPTH}",
                first.1.line()
            )));
        }
        let anchor = match &first.0 {
            Event::Scalar(_, _, anchor, _)
            | Event::SequenceStart(anchor, _)
            | Event::MappingStart(anchor, _) => *anchor,
            _ => 0,
        };
        let node = self.unanchored(first, depth)?;
        self.nodes += node.size();
        if self.nodes > MAX_NODES {
            return Err(Unreadable(format!(
                "more than {MAX_NODES} nodes, aliases expanded"
            )));
        }
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn unanchored(&mut self, first: (Event, Marker), depth: usize) -> Result<Node, Unreadable> {
        let (event, mark) = first;
        match event {
            Event::Scalar(text, style, _, tag) => {
                let written = match style {
                    TScalarStyle::Plain => Style::Plain,
                    TScalarStyle::SingleQuoted => Style::SingleQuoted,
                    TScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    _ => Style::Other,
                };
                let plain = style == TScalarStyle::Plain && tag.is_none();
                Ok(Node::Scalar(text, plain, place(mark, written)))
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| {
                    Unreadable(format!("line {}: an alias to no anchor", mark.line()))
                })?;
                Ok(Node::Alias(Box::new(node), place(mark, Style::Other)))
            }
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                loop {
                    let next = self.next()?;
                    if matches!(next.0, Event::SequenceEnd) {
                        return Ok(Node::Sequence(items));
                    }
                    items.push(self.node(next, depth + 1)?);
                }
            }
            Event::MappingStart(..) => {
                let mut entries = Vec::new();
                loop {
                    let next = self.next()?;
                    if matches!(next.0, Event::MappingEnd) {
                        return Ok(Node::Mapping(entries));
                    }
                    let key = self.node(next, depth + 1)?;
                    let value = self.next()?;
                    let value = self.node(value, depth + 1)?;
                    entries.push((key, value));
                }
            }
            other => Err(Unreadable(format!(
                "line {}: unexpected {other:?}",
                mark.line()
            ))),
        }
    }

    fn next(&mut self) -> Result<(Event, Marker), Unreadable> {
        self.events
            .next()
            .ok_or_else(|| Unreadable("the YAML ends inside a collection".to_owned()))
    }
}

/// The JSON value of a plain scalar, as the YAML core schema reads it.
fn plain_value(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => text
            .parse::<i64>()
            .ok()
            .map(Number::from)
            .or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
            .map_or_else(|| Value::String(text.to_owned()), Value::Number),
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The node as a value, recording each scalar's place under its JSON
/// pointer; under an alias, the alias's place, not to be rewritten.
fn value(
    node: Node,
    pointer: &str,
    aliased: Option<Place>,
    places: &mut HashMap<String, Place>,
) -> Value {
    match node {
        Node::Scalar(text, plain, at) => {
            places.insert(pointer.to_owned(), aliased.unwrap_or(at));
            if plain {
                plain_value(&text)
            } else {
                Value::String(text)
            }
        }
        Node::Alias(node, at) => value(*node, pointer, Some(aliased.unwrap_or(at)), places),
        Node::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| value(item, &format!("{pointer}/{i}"), aliased, places))
                .collect(),
        ),
        Node::Mapping(entries) => {
            let mut map = Map::new();
            for (key, item) in entries {
                let key = match key {
                    Node::Scalar(text, ..) => text,
                    _ => continue,
                };
                let at = format!("{pointer}/{}", escape(&key));
                map.insert(key, value(item, &at, aliased, places));
            }
            Value::Object(map)
        }
    }
}

/// Every image of every object in `text`, with its place.
pub fn images(text: &str) -> Result<Vec<FileSite>, Unreadable> {
    let mut events = Events::default();
    Parser::new_from_str(text)
        .load(&mut events, true)
        .map_err(|e| Unreadable(e.to_string()))?;
    let mut builder = Builder {
        events: events.0.into_iter(),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut sites = Vec::new();
    let mut document = 0;
    while let Some((event, _)) = builder.events.next() {
        if !matches!(event, Event::DocumentStart) {
            continue;
        }
        let first = builder.next()?;
        if matches!(first.0, Event::DocumentEnd) {
            document += 1;
            continue;
        }
        let mut places = HashMap::new();
        builder.anchors.clear();
        let root = value(builder.node(first, 0)?, "", None, &mut places);
        collect(&root, Vec::new(), document, &places, &mut sites)?;
        document += 1;
    }
    Ok(sites)
}

fn collect(
    object: &Value,
    prefix: Vec<Step>,
    document: usize,
    places: &HashMap<String, Place>,
    sites: &mut Vec<FileSite>,
) -> Result<(), Unreadable> {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "List" {
        let items = object.get("items").and_then(Value::as_array);
        for (i, item) in items.into_iter().flatten().enumerate() {
            let mut path = prefix.clone();
            path.extend([Step::Key("items"), Step::Index(i)]);
            collect(item, path, document, places, sites)?;
        }
        return Ok(());
    }
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    let found = workload::images(kind, object)
        .map_err(|e| Unreadable(format!("document {document}: {e}")))?;
    for mut site in found {
        let mut path = prefix.clone();
        path.append(&mut site.path);
        site.path = path;
        let place = places.get(&site.pointer()).copied();
        sites.push(FileSite {
            site,
            document,
            object: format!("{kind}/{name}"),
            place,
        });
    }
    Ok(())
}

/// Why an image cannot be rewritten where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRewritable(pub String);

/// Rewrites each `(place, old, new)` scalar of `text`, in the style it is
/// written in; everything else stays byte for byte.
pub fn rewrite(text: &str, edits: &[(Place, &str, &str)]) -> Result<String, NotRewritable> {
    let mut edits: Vec<_> = edits
        .iter()
        .map(|(place, old, new)| (place.offset(text), *place, *old, *new))
        .collect();
    edits.sort_by_key(|(offset, ..)| *offset);
    let mut out = String::with_capacity(text.len() + 80 * edits.len());
    let mut copied = 0;
    for (offset, place, old, new) in edits {
        let (open, close) = match place.style {
            Style::Plain => ("", ""),
            Style::SingleQuoted => ("'", "'"),
            Style::DoubleQuoted => ("\"", "\""),
            Style::Other => {
                return Err(NotRewritable(format!(
                    "line {}: {old:?} is written as a block scalar or an alias",
                    place.line
                )));
            }
        };
        let written = format!("{open}{old}{close}");
        let start = offset.unwrap_or(usize::MAX);
        let end = start.saturating_add(written.len());
        if start < copied || text.get(start..end) != Some(written.as_str()) {
            return Err(NotRewritable(format!(
                "line {}: {old:?} is not written as is (escaped or folded)",
                place.line
            )));
        }
        out.push_str(&text[copied..start]);
        out.push_str(&format!("{open}{new}{close}"));
        copied = end;
    }
    out.push_str(&text[copied..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FILE: &str = "# a comment é\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      initContainers:\n        - name: init   # keep me\n          image: 'reg.example/init:1'\n      containers:\n        - {name: app, image: \"reg.example/app:2\"}\n        - name: side\n          image: reg.example/side:3\n---\n# nothing\n---\nkind: List\nitems:\n  - kind: Pod\n    metadata: {name: p}\n    spec: {containers: [{name: c, image: reg.example/pod:4}]}\n";

    #[test]
    fn every_image_with_its_place() {
        let sites = images(FILE).unwrap();
        let found: Vec<(usize, String, &str, Option<Style>)> = sites
            .iter()
            .map(|s| {
                (
                    s.document,
                    s.site.pointer(),
                    s.site.image.as_str(),
                    s.place.map(|p| p.style),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    0,
                    "/spec/template/spec/initContainers/0/image".into(),
                    "reg.example/init:1",
                    Some(Style::SingleQuoted)
                ),
                (
                    0,
                    "/spec/template/spec/containers/0/image".into(),
                    "reg.example/app:2",
                    Some(Style::DoubleQuoted)
                ),
                (
                    0,
                    "/spec/template/spec/containers/1/image".into(),
                    "reg.example/side:3",
                    Some(Style::Plain)
                ),
                (
                    2,
                    "/items/0/spec/containers/0/image".into(),
                    "reg.example/pod:4",
                    Some(Style::Plain)
                ),
            ]
        );
        assert_eq!(sites[0].object, "Deployment/web");
        assert_eq!(sites[3].object, "Pod/p");
    }

    #[test]
    fn rewriting_changes_only_the_images() {
        let sites = images(FILE).unwrap();
        let edits: Vec<(Place, &str, &str)> = sites
            .iter()
            .map(|s| (s.place.unwrap(), s.site.image.as_str(), "NEW"))
            .collect();
        let out = rewrite(FILE, &edits).unwrap();
        let expected = FILE
            .replace("'reg.example/init:1'", "'NEW'")
            .replace("\"reg.example/app:2\"", "\"NEW\"")
            .replace("reg.example/side:3", "NEW")
            .replace("reg.example/pod:4", "NEW");
        assert_eq!(out, expected);
    }

    #[test]
    fn nested_aliases_cannot_expand_without_bound() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
                p = i - 1
            ));
        }
        assert!(images(&text).unwrap_err().0.contains("nodes"));
    }

    #[test]
    fn block_scalars_aliases_and_escapes_are_not_rewritten() {
        for text in [
            "kind: Pod\nspec:\n  containers:\n    - image: |-\n        reg.example/a:1\n",
            "kind: Pod\nx: &i reg.example/a:1\nspec:\n  containers:\n    - image: *i\n",
            "kind: Pod\nspec:\n  containers:\n    - image: \"reg.example/\\x61:1\"\n",
        ] {
            let sites = images(text).unwrap();
            assert_eq!(sites.len(), 1, "{text}: the image is judged");
            assert_eq!(sites[0].site.image, "reg.example/a:1");
            let edits = [(sites[0].place.unwrap(), "reg.example/a:1", "NEW")];
            assert!(rewrite(text, &edits).is_err(), "{text}");
        }
    }
}
