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

use saphyr_parser::{Parser, ScanError};

use crate::node::{Node, Pos, Value};

mod builder;
mod scalars;

use builder::Builder;
pub use scalars::resolve_plain;

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
    /// Aliases (`*name`) the document uses: what it repeats is written once.
    pub aliases: usize,
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
    if let Some(encoding) = wide_encoding(bytes) {
        return Err(Diagnostic {
            pos: start,
            message: format!("file is {encoding}; convert it to UTF-8"),
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

/// The wide Unicode encoding a byte-order mark at the start of `bytes`
/// names (`UTF-32` is checked first: its little-endian mark begins with
/// UTF-16's), or `None`.
pub fn wide_encoding(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) || bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        Some("UTF-32")
    } else if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        Some("UTF-16")
    } else {
        None
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
    /// 0-based column the text starts at on that line (a JSON value that
    /// follows another on the same line); 0 for chunks of YAML.
    pub col_offset: u32,
}

/// Cuts a stream at document-start lines (`---` at column 0) and after
/// document-end lines (`...`). Both are "forbidden" inside any scalar by
/// the YAML spec, so the cut is exact. Directives (`%YAML`, `%TAG`) stay
/// with the document they precede. A stream of concatenated JSON objects
/// (`{...}{...}`, which kubectl reads as a JSON stream) is cut between them.
pub fn split_documents(text: &str) -> Vec<Chunk<'_>> {
    if let Some(values) = split_json_stream(text) {
        return values;
    }
    let bytes = text.as_bytes();
    let mut chunks = Vec::new();
    let mut chunk_start = 0usize;
    let mut chunk_line = 0u32;
    // Whether the chunk so far holds only directives, comments and blank lines.
    let mut preamble = true;
    let mut line_no = 0u32;
    let mut line_start = 0usize;
    while line_start < bytes.len() {
        let line_end =
            memchr::memchr(b'\n', &bytes[line_start..]).map_or(bytes.len(), |i| line_start + i + 1);
        let line = &bytes[line_start..line_end];
        let marker = |m: &[u8]| {
            line.starts_with(m) && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r' | b'\n'))
        };
        if marker(b"---") && line_start > chunk_start && !preamble {
            chunks.push(Chunk {
                text: &text[chunk_start..line_start],
                line_offset: chunk_line,
                col_offset: 0,
            });
            chunk_start = line_start;
            chunk_line = line_no;
        }
        preamble &= match line.iter().position(|b| !matches!(b, b' ' | b'\t')) {
            None => true,
            Some(i) => matches!(line[i], b'#' | b'\r' | b'\n') || (i == 0 && line[0] == b'%'),
        };
        line_no += 1;
        if marker(b"...") {
            chunks.push(Chunk {
                text: &text[chunk_start..line_end],
                line_offset: chunk_line,
                col_offset: 0,
            });
            chunk_start = line_end;
            chunk_line = line_no;
            preamble = true;
        }
        line_start = line_end;
    }
    if chunk_start < bytes.len() {
        chunks.push(Chunk {
            text: &text[chunk_start..],
            line_offset: chunk_line,
            col_offset: 0,
        });
    }
    chunks
}

/// The objects of a JSON stream, when `text` starts with `{` (as kubectl
/// decides between JSON and YAML) and holds two or more objects separated
/// only by whitespace; `None` otherwise, and the text is read as YAML.
fn split_json_stream(text: &str) -> Option<Vec<Chunk<'_>>> {
    let bytes = text.as_bytes();
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[first] != b'{' {
        return None;
    }
    let mut values = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut start, mut line, mut line_start) = (first, 0u32, 0usize);
    let mut value_pos = (0u32, first as u32);
    for (i, &b) in bytes.iter().enumerate().skip(first) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
        } else if depth == 0 {
            match b {
                b'{' => {
                    start = i;
                    value_pos = (line, (i - line_start) as u32);
                    depth = 1;
                }
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => return None,
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        values.push(Chunk {
                            text: &text[start..=i],
                            line_offset: value_pos.0,
                            col_offset: value_pos.1,
                        });
                    }
                }
                _ => {}
            }
        }
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    (depth == 0 && values.len() > 1).then_some(values)
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
    let mut builder = Builder::new((chunk.line_offset, chunk.col_offset), limits, braces);
    let mut parser = Parser::new_from_str(chunk.text);
    loop {
        match parser.next_event() {
            None => break,
            Some(Err(e)) => {
                let mut d = scan_error(&e, (chunk.line_offset, chunk.col_offset), limits);
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

fn scan_error(e: &ScanError, offset: (u32, u32), limits: &Limits) -> Diagnostic {
    let m = e.marker();
    let (line_offset, col_offset) = offset;
    let message = if e.info().contains("recursion limit") {
        format!("nesting deeper than {} levels", limits.max_depth)
    } else {
        format!("malformed YAML: {}", e.info())
    };
    Diagnostic {
        pos: Pos {
            line: m.line() as u32 + line_offset,
            col: m.col() as u32 + 1 + if m.line() == 1 { col_offset } else { 0 },
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

#[cfg(test)]
mod tests;
