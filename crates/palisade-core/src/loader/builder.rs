//! Builds the spanned [`Node`] tree of one document from the parser's
//! events: mappings and sequences with their positions, anchors and
//! aliases (counted against the expansion limit), merge keys, duplicate
//! keys, and the depth and size limits.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, ScalarStyle, Span};

use super::scalars::{resolve_non_str, resolve_scalar};
use super::{is_helm_action, Diagnostic, Document, DuplicateKey, Limits, HELM_MESSAGE};
use crate::node::{Entry, Node, Pos, Value};

/// A collection under construction.
pub(super) enum Frame {
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
pub(super) struct Builder<'l> {
    line_offset: u32,
    col_offset: u32,
    braces: bool,
    limits: &'l Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    root: Option<Node>,
    nodes: usize,
    duplicates: Vec<DuplicateKey>,
    aliases: usize,
}

impl<'l> Builder<'l> {
    /// `offset`: the 0-based line and column the chunk starts at.
    pub(super) fn new(offset: (u32, u32), limits: &'l Limits, braces: bool) -> Self {
        Builder {
            line_offset: offset.0,
            col_offset: offset.1,
            braces,
            limits,
            stack: Vec::new(),
            anchors: HashMap::new(),
            root: None,
            nodes: 0,
            duplicates: Vec::new(),
            aliases: 0,
        }
    }

    pub(super) fn pos(&self, span: &Span) -> Pos {
        Pos {
            line: span.start.line() as u32 + self.line_offset,
            col: span.start.col() as u32
                + 1
                + if span.start.line() == 1 {
                    self.col_offset
                } else {
                    0
                },
        }
    }

    pub(super) fn err(pos: Pos, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            pos,
            message: message.into(),
        }
    }

    pub(super) fn count(&mut self, n: usize, pos: Pos) -> Result<(), Diagnostic> {
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

    /// Feeds one event; returns a finished document at its end. One match
    /// over the event kinds, kept whole on purpose: it runs for every YAML
    /// event of every scan (the parse floor of `bench/run.sh`).
    pub(super) fn event(
        &mut self,
        event: Event<'_>,
        span: Span,
    ) -> Result<Option<Document>, Diagnostic> {
        let pos = self.pos(&span);
        match event {
            Event::DocumentEnd => {
                self.anchors.clear();
                self.nodes = 0;
                let root = self.root.take().unwrap_or(Node::new(pos, Value::Null));
                return Ok(Some(Document {
                    root,
                    duplicate_keys: std::mem::take(&mut self.duplicates),
                    aliases: std::mem::take(&mut self.aliases),
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
                    let key = key_text(text, plain);
                    if anchor > 0 {
                        let node = Node::new(pos, Value::Str(key.clone()));
                        self.anchors.insert(anchor, (node, 1));
                    }
                    return self.key(key, pos, merge);
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
                self.aliases += 1;
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

    pub(super) fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    pub(super) fn key(
        &mut self,
        key: String,
        pos: Pos,
        merge: bool,
    ) -> Result<Option<Document>, Diagnostic> {
        if let Some(Frame::Map { key: slot, .. }) = self.stack.last_mut() {
            *slot = Some((key, pos, merge));
        }
        Ok(None)
    }

    /// Attaches a finished node to its parent (or makes it the root).
    pub(super) fn complete(&mut self, node: Node, size: usize) -> Result<(), Diagnostic> {
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
pub(super) fn apply_merges(entries: &mut Vec<Entry>, merges: Vec<Node>) {
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
pub(super) fn key_text(text: Cow<'_, str>, plain: bool) -> String {
    if plain {
        if let Some(Value::Bool(b)) = resolve_non_str(&text) {
            return b.to_string();
        }
    }
    text.into_owned()
}
