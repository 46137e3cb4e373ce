//! The strict decoder's primitives: every value is checked for its type
//! and every mapping for unknown keys, each error at its line and column.

use std::collections::BTreeMap;

use crate::loader::Diagnostic;
use crate::node::{Node, Pos, Value};

use super::{err, type_name};

/// Collects the errors of one policy file while its sections are decoded.
pub(super) struct Decoder<'e> {
    pub(super) errors: &'e mut Vec<Diagnostic>,
}

impl Decoder<'_> {
    pub(super) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(err(pos, message));
    }

    /// Checks that `node` is a mapping with only `allowed` keys; returns its entries.
    pub(super) fn map<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Option<&'n Node> {
        match &node.value {
            Value::Map(entries) => {
                for e in entries {
                    if !allowed.contains(&e.key.as_str()) {
                        self.error(
                            e.key_pos,
                            format!(
                                "unknown key {:?} in {what} (expected one of: {})",
                                e.key,
                                allowed.join(", ")
                            ),
                        );
                    }
                }
                Some(node)
            }
            Value::Null => None,
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be a mapping, not {}", type_name(node)),
                );
                None
            }
        }
    }

    pub(super) fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be a string, not {}", type_name(node)),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be true or false, not {}", type_name(node)),
                );
                None
            }
        }
    }

    pub(super) fn strings(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i, &format!("each entry of {what}")))
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be a list of strings, not {}", type_name(node)),
                );
                Vec::new()
            }
        }
    }

    pub(super) fn parsed<T>(
        &mut self,
        node: &Node,
        what: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let s = self.string(node, what)?;
        match parse(&s) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(node.pos, format!("{what}: {e}"));
                None
            }
        }
    }

    /// A mapping of strings to strings (labels).
    pub(super) fn string_map(&mut self, node: &Node, what: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match &node.value {
            Value::Map(entries) => {
                for e in entries {
                    if let Some(v) = self.string(&e.node, &format!("{what}.{}", e.key)) {
                        out.insert(e.key.clone(), v);
                    }
                }
            }
            Value::Null => {}
            _ => self.error(
                node.pos,
                format!(
                    "{what} must be a mapping of strings, not {}",
                    type_name(node)
                ),
            ),
        }
        out
    }
}
