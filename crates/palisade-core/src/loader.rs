//! Turns bytes into [`Document`]s: multi-document YAML and JSON, parsed once
//! into a [`Node`] tree that keeps source positions.
//!
//! Parsing uses `saphyr-parser` (a YAML 1.2 event parser that reports spans);
//! the tree is built here because no maintained crate builds a spanned tree
//! with the two things Kubernetes needs: YAML 1.1 scalar resolution as
//! `sigs.k8s.io/yaml` does it (`yes` is `true`), and explicit limits on
//! depth, size and alias expansion.
//!
//! A stream is first cut into documents at `---` lines (the YAML spec forbids
//! such lines inside any scalar), so one malformed document is reported with
//! its position and the documents after it are still read.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use crate::node::{Entry, Node, Pos, Value};

/// Explicit limits on input; anything over them is refused with an error.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest single document, in bytes (the API server refuses requests over 3 MiB).
    pub max_document_bytes: usize,
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes one document may hold once aliases are expanded.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 512 * 1024 * 1024,
            max_document_bytes: 4 * 1024 * 1024,
            max_depth: 100,
            max_nodes: 1_000_000,
        }
    }
}

/// A problem found while loading, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where it is.
    pub pos: Pos,
    /// What is wrong, in one sentence.
    pub message: String,
}

/// A mapping key written twice in one mapping (the last one wins, as in the API server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The key.
    pub key: String,
    /// Where it was written first.
    pub first: Pos,
    /// Where it was written again.
    pub again: Pos,
}

/// One YAML document (or one JSON file).
#[derive(Debug, Clone)]
pub struct Document {
    /// The root value.
    pub root: Node,
    /// Keys written twice, in source order.
    pub duplicate_keys: Vec<DuplicateKey>,
}

/// What loading a file produced: the documents read and the errors met.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Documents parsed, in order. Empty documents are left out.
    pub documents: Vec<Document>,
    /// Errors, in order; each one stands for input that was not checked.
    pub errors: Vec<Diagnostic>,
}

/// Loads a file's bytes: refuses binary and non-UTF-8 content, strips a BOM.
pub fn load_bytes(bytes: &[u8], limits: &Limits) -> Loaded {
    match decode(bytes, limits) {
        Ok(text) => load_str(text, limits),
        Err(e) => Loaded {
            documents: Vec::new(),
            errors: vec![e],
        },
    }
}

/// Checks that a file is text within the limits and returns it without its BOM.
pub fn decode<'a>(bytes: &'a [u8], limits: &Limits) -> Result<&'a str, Diagnostic> {
    let start = Pos { line: 1, col: 1 };
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(Diagnostic {
            pos: start,
            message: format!(
                "file is {} bytes, over the limit of {} bytes",
                bytes.len(),
                limits.max_file_bytes
            ),
        });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Diagnostic {
            pos: start,
            message: "file is UTF-16; convert it to UTF-8".into(),
        });
    }
    if memchr::memchr(0, bytes).is_some() {
        return Err(Diagnostic {
            pos: start,
            message: "binary file (contains NUL bytes), not YAML or JSON".into(),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(t) => Ok(t.strip_prefix('\u{feff}').unwrap_or(t)),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let line = memchr::memchr_iter(b'\n', valid).count() as u32 + 1;
            Err(Diagnostic {
                pos: Pos { line, col: 1 },
                message: "file is not valid UTF-8 (binary data?)".into(),
            })
        }
    }
}

/// Loads YAML or JSON text: every document, or an error with its position.
pub fn load_str(text: &str, limits: &Limits) -> Loaded {
    let mut out = Loaded::default();
    for chunk in split_documents(text) {
        load_chunk_into(chunk, limits, &mut out);
    }
    out
}

/// Loads the documents of one chunk of a stream (see [`split_documents`]).
pub fn load_chunk(chunk: Chunk<'_>, limits: &Limits) -> Loaded {
    let mut out = Loaded::default();
    load_chunk_into(chunk, limits, &mut out);
    out
}

/// A piece of a stream that starts at a line boundary.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    /// The text.
    pub text: &'a str,
    /// 0-based number of the line the text starts on.
    pub line_offset: u32,
}

/// Cuts a stream at document-start lines (`---` at column 0). Such lines are
/// "forbidden" inside any scalar by the YAML spec, so the cut is exact.
pub fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    let bytes = text.as_bytes();
    let mut chunks = Vec::new();
    let mut chunk_start = 0usize;
    let mut chunk_line = 0u32;
    let mut line_no = 0u32;
    let mut line_start = 0usize;
    loop {
        let is_marker = bytes[line_start..].starts_with(b"---")
            && matches!(
                bytes.get(line_start + 3),
                None | Some(b' ' | b'\t' | b'\r' | b'\n')
            );
        if is_marker && line_start > chunk_start {
            chunks.push(Chunk {
                text: &text[chunk_start..line_start],
                line_offset: chunk_line,
            });
            chunk_start = line_start;
            chunk_line = line_no;
        }
        match memchr::memchr(b'\n', &bytes[line_start..]) {
            Some(i) => {
                line_start += i + 1;
                line_no += 1;
                if line_start >= bytes.len() {
                    break;
                }
            }
            None => break,
        }
    }
    if chunk_start < bytes.len() {
        chunks.push(Chunk {
            text: &text[chunk_start..],
            line_offset: chunk_line,
        });
    }
    chunks
}

fn load_chunk_into(chunk: Chunk<'_>, limits: &Limits, out: &mut Loaded) {
    let first = Pos {
        line: chunk.line_offset + 1,
        col: 1,
    };
    if chunk.text.len() > limits.max_document_bytes {
        out.errors.push(Diagnostic {
            pos: first,
            message: format!(
                "document is {} bytes, over the limit of {} bytes",
                chunk.text.len(),
                limits.max_document_bytes
            ),
        });
        return;
    }
    let braces = memchr::memmem::find(chunk.text.as_bytes(), b"{{").is_some();
    let mut builder = Builder::new(chunk.line_offset, limits, braces);
    let mut parser = Parser::new_from_str(chunk.text);
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                let mut d = scan_error(&e, chunk.line_offset, limits);
                if braces {
                    d.message = HELM_MESSAGE.into();
                }
                out.errors.push(d);
                return;
            }
            Some(Ok((event, span))) => match builder.event(event, span) {
                Ok(Some(doc)) => {
                    if !matches!(doc.root.value, Value::Null) {
                        out.documents.push(doc);
                    }
                }
                Ok(None) => {}
                Err(d) => {
                    out.errors.push(d);
                    return;
                }
            },
        }
    }
}

fn scan_error(e: &ScanError, line_offset: u32, limits: &Limits) -> Diagnostic {
    let m = e.marker();
    let message = if e.info().contains("recursion limit") {
        format!("nesting deeper than {} levels", limits.max_depth)
    } else {
        format!("malformed YAML: {}", e.info())
    };
    Diagnostic {
        pos: Pos {
            line: m.line() as u32 + line_offset,
            col: m.col() as u32 + 1,
        },
        message,
    }
}

const HELM_MESSAGE: &str = "unrendered Helm template syntax ({{ }}): render the chart with `helm template` first and scan its output";

/// Whether a plain or quoted scalar is an unrendered Helm action: `{{ }}`
/// naming one of Helm's built-in objects or functions. Go templates kept as
/// data (Alertmanager, Prometheus rules) sit in block scalars or name none
/// of these, so they are not flagged.
fn is_helm_action(text: &str) -> bool {
    const HELM_WORDS: [&str; 9] = [
        ".Values",
        ".Release",
        ".Chart",
        ".Capabilities",
        ".Files",
        "include ",
        "toYaml",
        "tpl ",
        "required ",
    ];
    text.find("{{")
        .is_some_and(|at| HELM_WORDS.iter().any(|w| text[at..].contains(w)))
}

/// A collection under construction.
enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
        nodes: usize,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        index: Option<HashMap<String, usize>>,
        key: Option<(String, Pos, bool)>,
        merges: Vec<Node>,
        nodes: usize,
    },
}

/// Builds nodes from parser events, enforcing the limits.
struct Builder<'l> {
    line_offset: u32,
    braces: bool,
    limits: &'l Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    nodes: usize,
    duplicates: Vec<DuplicateKey>,
}

impl<'l> Builder<'l> {
    fn new(line_offset: u32, limits: &'l Limits, braces: bool) -> Self {
        Builder {
            line_offset,
            braces,
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            nodes: 0,
            duplicates: Vec::new(),
        }
    }

    fn pos(&self, span: &Span) -> Pos {
        Pos {
            line: span.start.line() as u32 + self.line_offset,
            col: span.start.col() as u32 + 1,
        }
    }

    fn err(pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            pos,
            message: message.into(),
        }
    }

    fn count(&mut self, n: usize, pos: Pos) -> Result<(), Diagnostic> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes {
            return Err(Self::err(
                pos,
                format!(
                    "document expands to more than {} values (alias expansion bomb?)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    /// Feeds one event; returns a finished document at its end.
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<Option<Document>, Diagnostic> {
        let pos = self.pos(&span);
        match event {
            Event::DocumentEnd => {
                self.anchors.clear();
                self.nodes = 0;
                let root = self.root.take().unwrap_or(Node::new(pos, Value::Null));
                return Ok(Some(Document {
                    root,
                    duplicate_keys: std::mem::take(&mut self.duplicates),
                }));
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.braces
                    && !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && is_helm_action(&text)
                {
                    return Err(Self::err(pos, HELM_MESSAGE));
                }
                if self.expecting_key() {
                    let plain = style == ScalarStyle::Plain && tag.is_none();
                    let merge = plain && text == "<<";
                    return self.key(key_text(text, plain), pos, merge);
                }
                self.count(1, pos)?;
                let value = resolve_scalar(text, style, tag.as_deref());
                let node = Node::new(pos, value);
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.complete(node, 1)?;
            }
            Event::Alias(id) => {
                let Some((node, size)) = self.anchors.get(&id).cloned() else {
                    return Err(Self::err(pos, "alias to an unknown anchor"));
                };
                if self.expecting_key() {
                    return match &node.value {
                        Value::Str(s) => self.key(s.clone(), pos, false),
                        _ => Err(Self::err(
                            pos,
                            "mapping key is an alias to a collection; keys must be strings",
                        )),
                    };
                }
                self.count(size, pos)?;
                self.complete(Node::new(pos, node.value), size)?;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.expecting_key() {
                    if self.braces {
                        return Err(Self::err(pos, HELM_MESSAGE));
                    }
                    return Err(Self::err(
                        pos,
                        "complex mapping key (a mapping or sequence used as a key); Kubernetes keys are strings",
                    ));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(Self::err(
                        pos,
                        format!("nesting deeper than {} levels", self.limits.max_depth),
                    ));
                }
                self.count(1, pos)?;
                self.stack
                    .push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq {
                            pos,
                            anchor,
                            items: Vec::new(),
                            nodes: 1,
                        }
                    } else {
                        Frame::Map {
                            pos,
                            anchor,
                            entries: Vec::new(),
                            index: None,
                            key: None,
                            merges: Vec::new(),
                            nodes: 1,
                        }
                    });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Err(Self::err(pos, "unbalanced collection end"));
                };
                let (node, anchor, nodes) = match frame {
                    Frame::Seq {
                        pos,
                        anchor,
                        items,
                        nodes,
                    } => (Node::new(pos, Value::Seq(items)), anchor, nodes),
                    Frame::Map {
                        pos,
                        anchor,
                        mut entries,
                        merges,
                        nodes,
                        ..
                    } => {
                        apply_merges(&mut entries, merges);
                        (Node::new(pos, Value::Map(entries)), anchor, nodes)
                    }
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), nodes));
                }
                self.complete(node, nodes)?;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) => {}
        }
        Ok(None)
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn key(&mut self, key: String, pos: Pos, merge: bool) -> Result<Option<Document>, Diagnostic> {
        if let Some(Frame::Map { key: slot, .. }) = self.stack.last_mut() {
            *slot = Some((key, pos, merge));
        }
        Ok(None)
    }

    /// Attaches a finished node to its parent (or makes it the root).
    fn complete(&mut self, node: Node, size: usize) -> Result<(), Diagnostic> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, nodes, .. }) => {
                *nodes += size;
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                index,
                key,
                merges,
                nodes,
                ..
            }) => {
                *nodes += size;
                let Some((key, key_pos, merge)) = key.take() else {
                    return Err(Self::err(node.pos, "value without a key"));
                };
                if merge {
                    merges.push(node);
                    return Ok(());
                }
                let existing = match index {
                    Some(ix) => ix.get(&key).copied(),
                    None => entries.iter().position(|e| e.key == key),
                };
                if let Some(i) = existing {
                    self.duplicates.push(DuplicateKey {
                        key: key.clone(),
                        first: entries[i].key_pos,
                        again: key_pos,
                    });
                    entries[i] = Entry { key, key_pos, node };
                } else {
                    if let Some(ix) = index {
                        ix.insert(key.clone(), entries.len());
                    } else if entries.len() >= 16 {
                        let mut ix: HashMap<String, usize> = entries
                            .iter()
                            .enumerate()
                            .map(|(i, e)| (e.key.clone(), i))
                            .collect();
                        ix.insert(key.clone(), entries.len());
                        *index = Some(ix);
                    }
                    entries.push(Entry { key, key_pos, node });
                }
            }
        }
        Ok(())
    }
}

/// YAML merge keys (`<<: *base`): keys written in the mapping win, then
/// earlier merge sources over later ones, as go-yaml (and so kubectl) does.
fn apply_merges(entries: &mut Vec<Entry>, merges: Vec<Node>) {
    for source in merges {
        let maps: Vec<Node> = match source.value {
            Value::Seq(items) => items,
            other => vec![Node::new(source.pos, other)],
        };
        for map in maps {
            if let Value::Map(merged) = map.value {
                for e in merged {
                    if !entries.iter().any(|x| x.key == e.key) {
                        entries.push(e);
                    }
                }
            }
        }
    }
}

/// The text of a mapping key. Plain keys that YAML 1.1 reads as booleans
/// become `"true"`/`"false"`, as `sigs.k8s.io/yaml` renders them in JSON.
fn key_text(text: Cow<'_, str>, plain: bool) -> String {
    if plain {
        if let Some(Value::Bool(b)) = resolve_non_str(&text) {
            return b.to_string();
        }
    }
    text.into_owned()
}

/// Resolves a scalar event. The parser hands over owned text for most
/// scalars, so strings are moved, not copied: a scan makes millions of them.
fn resolve_scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let resolved = match tag {
        Some(tag) if tag.is_yaml_core_schema() || tag.handle == "!!" => match tag.suffix.as_str() {
            "str" | "binary" | "timestamp" => None,
            "null" => Some(Value::Null),
            "bool" => resolve_non_str(&text).filter(|v| matches!(v, Value::Bool(_))),
            "int" | "float" => {
                resolve_non_str(&text).filter(|v| matches!(v, Value::Int(_) | Value::Float(_)))
            }
            _ if style == ScalarStyle::Plain => resolve_non_str(&text),
            _ => None,
        },
        _ if style == ScalarStyle::Plain => resolve_non_str(&text),
        _ => None,
    };
    resolved.unwrap_or_else(|| Value::Str(text.into_owned()))
}

/// Resolves a plain scalar with the YAML 1.1 rules of go-yaml v2, the
/// library behind `sigs.k8s.io/yaml` and so behind kubectl and the API server.
pub fn resolve_plain(text: &str) -> Value {
    resolve_non_str(text).unwrap_or_else(|| Value::Str(text.to_string()))
}

/// The null, boolean or number a plain scalar stands for; `None` for a string.
fn resolve_non_str(text: &str) -> Option<Value> {
    let v = match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        _ => {
            let first = text.as_bytes()[0];
            if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
                return None;
            }
            if let Some(i) = parse_int(text) {
                return Some(Value::Int(i));
            }
            if is_yaml_float(text) {
                return text.parse::<f64>().ok().map(Value::Float);
            }
            return None;
        }
    };
    Some(v)
}

/// Go's `strconv.ParseInt(s, 0, 64)` after removing `_`: decimal, `0x`, `0o`,
/// `0b`, and a leading `0` for octal.
fn parse_int(text: &str) -> Option<i64> {
    let cleaned: String;
    let s = if text.contains('_') {
        cleaned = text.replace('_', "");
        cleaned.as_str()
    } else {
        text
    };
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let (radix, body) = if let Some(r) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, r)
    } else if let Some(r) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, r)
    } else if let Some(r) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, r)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// go-yaml v2's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if int_digits == 0 && i == frac_start {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests;
