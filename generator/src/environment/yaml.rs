//! A YAML document as a tree whose every node knows where it came from.
//!
//! Why not deserialize the YAML straight into the typed model? Environments
//! are merged (`extends`) before they are typed, and every later error (an
//! unknown key, a name too long, a dangling reference) must point at the file,
//! line and column that said it — which may be the parent's file. So the loader
//! keeps a small located tree, the merge works on trees, and the typed model is
//! built from the merged tree afterwards.
//!
//! The parser is `saphyr-parser`: pure Rust, maintained, YAML 1.2, and it gives
//! a span for every event. `serde_yaml` is archived upstream, `serde_yml` is
//! unsound (RUSTSEC-2025-0068), and the libyaml forks put a duplicate key at 1:1
//! (see DESIGN.md, "Crate facts"). Working from events also lets this loader
//! refuse what a configuration file never needs: duplicate keys, custom tags,
//! several documents, alias expansion past a budget ("billion laughs").

use std::collections::HashMap;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diagnostic::{Diagnostic, Location, SourceFile};

/// Largest environment file accepted. Real ones are a few kilobytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Most nodes a document may expand to, aliases included.
pub const MAX_NODES: usize = 100_000;
/// Deepest nesting accepted; the model is at most six levels deep.
pub const MAX_DEPTH: usize = 64;

/// A located YAML node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub location: Location,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing at all (`key:`).
    Null,
    /// Any scalar, kept as written. `quoted` scalars are always strings; plain
    /// ones are typed by the schema that reads them (so `account: 012345678901`
    /// keeps its leading zero when a string is expected).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub location: Location,
}

impl Node {
    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key entry (with its location) for `key` in a mapping.
    pub fn key(&self, key: &str) -> Option<&Key> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Removes `key` from a mapping, returning its entry.
    pub fn remove(&mut self, key: &str) -> Option<(Key, Node)> {
        match &mut self.value {
            Value::Map(entries) => {
                let i = entries.iter().position(|(k, _)| k.name == key)?;
                Some(entries.remove(i))
            }
            _ => None,
        }
    }

    /// A short name of the node's YAML type, for messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { .. } => "scalar",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// The location of the node at a key path such as `functions.ingest.trigger`
    /// or `topics.alerts.subscriptions[1].endpoint`. Falls back to the deepest
    /// existing ancestor, so a diagnostic about a missing key points at the
    /// mapping that should hold it. For a key path that ends at a mapping key, the
    /// location is the value's (where the wrong thing is written).
    pub fn locate(&self, path: &str) -> Location {
        let mut node = self;
        for segment in path_segments(path) {
            let next = match segment {
                Segment::Key(k) => node.get(k),
                Segment::Index(i) => match &node.value {
                    Value::Seq(items) => items.get(i),
                    _ => None,
                },
            };
            match next {
                Some(n) => node = n,
                None => break,
            }
        }
        node.location.clone()
    }

    /// The location of the key itself at the end of `path` (used for "unknown
    /// key" and "collides" messages, which are about the key, not its value).
    pub fn locate_key(&self, path: &str) -> Location {
        let (parent, last) = match path.rsplit_once('.') {
            Some((p, l)) => (self.locate_node(p), l),
            None => (Some(self), path),
        };
        parent
            .and_then(|p| p.key(last))
            .map(|k| k.location.clone())
            .unwrap_or_else(|| self.locate(path))
    }

    fn locate_node(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for segment in path_segments(path) {
            node = match segment {
                Segment::Key(k) => node.get(k)?,
                Segment::Index(i) => match &node.value {
                    Value::Seq(items) => items.get(i)?,
                    _ => return None,
                },
            };
        }
        Some(node)
    }

    fn count(&self) -> usize {
        1 + match &self.value {
            Value::Seq(items) => items.iter().map(Node::count).sum(),
            Value::Map(entries) => entries.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn path_segments(path: &str) -> impl Iterator<Item = Segment<'_>> {
    path.split('.').filter(|s| !s.is_empty()).flat_map(|part| {
        let mut out = Vec::new();
        let (name, rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
        out
    })
}

/// Parses one environment file. `Ok(None)` is an empty document.
pub fn parse(file: &Arc<SourceFile>) -> Result<Option<Node>, Diagnostic> {
    let loc = |line: usize, col: usize| Location {
        file: file.clone(),
        line: line.max(1),
        col: col.max(1),
    };
    if file.text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::new(
            Some(loc(1, 1)),
            "",
            format!(
                "the file is {} bytes; environment files are limited to {} bytes",
                file.text.len(),
                MAX_FILE_BYTES
            ),
        )
        .with_help("an environment describes one pipeline in a few kilobytes; split generated data out of it"));
    }
    if let Some((line, col)) = first_control_char(&file.text) {
        return Err(Diagnostic::new(
            Some(loc(line, col)),
            "",
            "the file contains a control character (binary data?), which YAML does not allow",
        )
        .with_help("environment files are UTF-8 text; check that the right file was named"));
    }

    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(&file.text);
    while let Some(next) = parser.next_event() {
        match next {
            Ok((event, span)) => builder.on_event(event, span)?,
            Err(e) => {
                let m = e.marker();
                let (mut line, mut col) = (m.line(), m.col() + 1);
                // The scanner reports a tab at the start of the token it was
                // reading; point at the tab itself.
                if e.info().contains("tab")
                    && let Some(at) = first_tab_from(&file.text, line)
                {
                    (line, col) = at;
                }
                return Err(
                    Diagnostic::new(Some(loc(line, col)), "", format!("invalid YAML: {}", e.info()))
                        .with_help(yaml_help(e.info())),
                );
            }
        }
    }
    Ok(builder
        .root
        .and_then(|n| if n.value == Value::Null { None } else { Some(n) }))
}

fn yaml_help(info: &str) -> &'static str {
    if info.contains("tab") {
        "YAML indentation must use spaces, not tabs"
    } else if info.contains("quoted") || info.contains("quote") {
        "close the quoted string on the same logical line, or use a block scalar (|) for long text"
    } else {
        "check the indentation and the `key: value` syntax around this position"
    }
}

/// The first tab at or after a 1-based line, as (line, column).
fn first_tab_from(text: &str, from_line: usize) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .skip(from_line.saturating_sub(1))
        .find_map(|(i, l)| l.chars().position(|c| c == '\t').map(|c| (i + 1, c + 1)))
}

/// The first character YAML forbids (C0 controls other than tab, CR, LF; DEL;
/// the replacement character from a lossy decode), as (line, column).
fn first_control_char(text: &str) -> Option<(usize, usize)> {
    let mut line = 1;
    let mut col = 1;
    for c in text.chars() {
        if (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}')) || c == '\u{FFFD}' {
            return Some((line, col));
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    None
}

enum Frame {
    Seq {
        items: Vec<Node>,
        location: Location,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        location: Location,
        anchor: usize,
    },
}

struct Builder {
    file: Arc<SourceFile>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    root: Option<Node>,
    documents: usize,
}

impl Builder {
    fn location(&self, span: &Span) -> Location {
        Location {
            file: self.file.clone(),
            line: span.start.line().max(1),
            col: span.start.col() + 1,
        }
    }

    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<(), Diagnostic> {
        let location = self.location(&span);
        match event {
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => Ok(()),
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::new(
                        Some(location),
                        "",
                        "a second YAML document starts here; an environment file holds exactly one",
                    )
                    .with_help("put each environment in its own file (the file name is the environment name)"));
                }
                Ok(())
            }
            Event::Alias(id) => {
                let Some(size) = self.anchors.get(&id).map(Node::count) else {
                    return Err(Diagnostic::new(Some(location), "", "alias to an unknown anchor"));
                };
                self.grow(size, &location)?;
                let mut node = self.anchors[&id].clone();
                node.location = location;
                self.push_node(node)
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.grow(1, &location)?;
                let mut quoted = !matches!(style, ScalarStyle::Plain);
                if let Some(tag) = tag {
                    if tag.is_yaml_core_schema() && tag.suffix == "str" {
                        quoted = true;
                    } else if !tag.is_yaml_core_schema() {
                        return Err(Diagnostic::new(
                            Some(location),
                            "",
                            format!("YAML tag `{}{}` is not supported here", tag.handle, tag.suffix),
                        )
                        .with_help("remove the tag; pipegen reads plain values"));
                    }
                }
                let value = if !quoted && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        quoted,
                    }
                };
                let node = Node { value, location };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_node(node)
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) if tag.is_some() => {
                let tag = tag.expect("checked");
                let _ = anchor;
                Err(Diagnostic::new(
                    Some(location),
                    "",
                    format!("YAML tag `{}{}` is not supported here", tag.handle, tag.suffix),
                )
                .with_help("remove the tag; pipegen reads plain values"))
            }
            Event::SequenceStart(anchor, _) => {
                self.grow(1, &location)?;
                self.enter(&location)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    location,
                    anchor,
                });
                Ok(())
            }
            Event::MappingStart(anchor, _) => {
                self.grow(1, &location)?;
                self.enter(&location)?;
                self.stack.push(Frame::Map {
                    entries: Vec::new(),
                    pending_key: None,
                    location,
                    anchor,
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().expect("parser balances start and end events");
                let (node, anchor) = match frame {
                    Frame::Seq {
                        items,
                        location,
                        anchor,
                    } => (
                        Node {
                            value: Value::Seq(items),
                            location,
                        },
                        anchor,
                    ),
                    Frame::Map {
                        entries,
                        location,
                        anchor,
                        ..
                    } => (
                        Node {
                            value: Value::Map(entries),
                            location,
                        },
                        anchor,
                    ),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_node(node)
            }
        }
    }

    fn grow(&mut self, by: usize, location: &Location) -> Result<(), Diagnostic> {
        self.nodes += by;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::new(
                Some(location.clone()),
                "",
                format!("the document expands to more than {MAX_NODES} values (an alias bomb?)"),
            )
            .with_help("environment files do not need anchors that expand recursively; write the values out"));
        }
        Ok(())
    }

    fn enter(&self, location: &Location) -> Result<(), Diagnostic> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Diagnostic::new(
                Some(location.clone()),
                "",
                format!("nesting deeper than {MAX_DEPTH} levels"),
            )
            .with_help("the environment format is at most a few levels deep; check the indentation"));
        }
        Ok(())
    }

    fn push_node(&mut self, node: Node) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                Ok(())
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries, pending_key, ..
            }) => match pending_key.take() {
                Some(key) => {
                    entries.push((key, node));
                    Ok(())
                }
                None => {
                    let name = match node.value {
                        Value::Scalar { text, .. } => text,
                        Value::Null => "null".to_string(),
                        _ => {
                            let what = node.type_name();
                            return Err(Diagnostic::new(
                                Some(node.location),
                                "",
                                format!("a {what} cannot be a mapping key"),
                            )
                            .with_help("keys are plain names such as `memory_mb`"));
                        }
                    };
                    if let Some((first, _)) = entries.iter().find(|(k, _)| k.name == name) {
                        return Err(Diagnostic::new(
                            Some(node.location),
                            name.clone(),
                            format!(
                                "duplicate key `{name}` (first written at line {}, column {})",
                                first.location.line, first.location.col
                            ),
                        )
                        .with_help("remove one of the two; YAML keeps only one and pipegen will not guess which"));
                    }
                    *pending_key = Some(Key {
                        name,
                        location: node.location,
                    });
                    Ok(())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Option<Node>, Diagnostic> {
        parse(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn locations_are_one_based_line_and_column() {
        let root = load("a: 1\nb:\n  c: [x, y]\n").unwrap().unwrap();
        let c = root.get("b").unwrap().get("c").unwrap();
        assert_eq!((c.location.line, c.location.col), (3, 6));
        let key = root.get("b").unwrap().key("c").unwrap();
        assert_eq!((key.location.line, key.location.col), (3, 3));
        assert_eq!(root.locate("b.c[1]").col, 10);
    }

    #[test]
    fn duplicate_key_points_at_the_second() {
        let err = load("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            err.one_line(),
            "t.yaml:3:1: a: duplicate key `a` (first written at line 1, column 1)"
        );
    }

    #[test]
    fn empty_and_null_documents_are_none() {
        assert_eq!(load("").unwrap(), None);
        assert_eq!(load("# only a comment\n").unwrap(), None);
        assert_eq!(load("~\n").unwrap(), None);
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = load(&text).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err}");
    }

    #[test]
    fn aliases_within_budget_are_expanded() {
        let root = load("a: &x {m: 1}\nb: *x\n").unwrap().unwrap();
        assert_eq!(root.get("b").unwrap().get("m").unwrap().as_str(), Some("1"));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let root = load("a: '12'\nb: 12\nc: !!str 13\nd:\n").unwrap().unwrap();
        assert_eq!(
            root.get("a").unwrap().value,
            Value::Scalar {
                text: "12".into(),
                quoted: true
            }
        );
        assert_eq!(
            root.get("b").unwrap().value,
            Value::Scalar {
                text: "12".into(),
                quoted: false
            }
        );
        assert_eq!(
            root.get("c").unwrap().value,
            Value::Scalar {
                text: "13".into(),
                quoted: true
            }
        );
        assert_eq!(root.get("d").unwrap().value, Value::Null);
    }
}
