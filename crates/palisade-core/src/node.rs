//! The value tree that keeps source spans: every node and every mapping key
//! knows the line and column it came from, so a finding can point at the
//! offending field rather than at the start of its document.

use std::fmt::Write as _;

/// A position in a source file: 1-based line, 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
}

/// A YAML/JSON value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts in the source.
    pub pos: Pos,
    /// The value itself.
    pub value: Value,
}

/// A mapping entry: the key, where the key was written, and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key as a string (non-string keys are rendered as text, as
    /// `sigs.k8s.io/yaml` does when it turns YAML into JSON).
    pub key: String,
    /// Where the key was written: findings about a field point here.
    pub key_pos: Pos,
    /// The value.
    pub node: Node,
}

/// The value of a [`Node`]: the JSON data model (YAML is resolved to it).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true`/`false` (and YAML 1.1 `yes`/`no`/`on`/`off`, as kubectl reads them).
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order, keys unique (last one wins, as the API server does).
    Map(Vec<Entry>),
}

impl Node {
    /// A node holding `value` at `pos`.
    pub fn new(pos: Pos, value: Value) -> Self {
        Node { pos, value }
    }

    /// The value of `key` when this is a mapping; `None` for a missing key or a `null` value,
    /// because the Kubernetes API decodes an explicit `null` as an unset field.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.node)
    }

    /// The mapping entry for `key`, when present and not `null`.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|e| e.key == key)
                .filter(|e| !matches!(e.node.value, Value::Null)),
            _ => None,
        }
    }

    /// Follows a chain of keys.
    pub fn get_path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    /// The string, when this node is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The boolean, when this node is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The integer, when this node is one (a float with an integral value counts).
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }

    /// The items, when this node is a sequence; empty otherwise.
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries, when this node is a mapping; empty otherwise.
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// Whether this is a mapping.
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// The position of the field at `path` below this node: the key of the
    /// deepest segment that exists, or the node itself when none does.
    pub fn locate(&self, path: &[Seg]) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for seg in path {
            match seg {
                Seg::Key(k) => match node.entry(k) {
                    Some(e) => {
                        pos = e.key_pos;
                        node = &e.node;
                    }
                    None => break,
                },
                Seg::Index(i) => match node.items().get(*i) {
                    Some(n) => {
                        pos = n.pos;
                        node = n;
                    }
                    None => break,
                },
            }
        }
        pos
    }

    /// Builds a tree from a JSON value (an object received by the admission
    /// webhook). There is no source text, so every position is line 0,
    /// column 0. Integers that fit in 64 bits stay integers, as the loader
    /// reads them. Depth is bounded by the JSON parser (serde_json stops at
    /// 128 levels).
    pub fn from_json(value: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let value = match value {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::Seq(items.iter().map(Node::from_json).collect()),
            J::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| Entry {
                        key: k.clone(),
                        key_pos: Pos::default(),
                        node: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node {
            pos: Pos::default(),
            value,
        }
    }

    /// Converts to a `serde_json::Value` (for JSON output and policy engines).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.node.to_json()))
                    .collect(),
            ),
        }
    }
}

/// One segment of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A mapping key.
    Key(std::borrow::Cow<'static, str>),
    /// A sequence index.
    Index(usize),
}

impl Seg {
    /// A key segment from a static string.
    pub const fn key(k: &'static str) -> Seg {
        Seg::Key(std::borrow::Cow::Borrowed(k))
    }
}

impl From<&'static str> for Seg {
    fn from(k: &'static str) -> Self {
        Seg::key(k)
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

/// Renders a path as Kubernetes field paths are written:
/// `spec.containers[0].securityContext.privileged`. Keys that are not plain
/// identifiers are quoted: `metadata.annotations["seccomp.security.alpha.kubernetes.io/pod"]`.
pub fn render_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let plain = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if plain {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                } else {
                    let _ = write!(out, "[{}]", serde_json::Value::String(k.to_string()));
                }
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_round_trip_through_the_tree() {
        let v = serde_json::json!({"a": [1, -2, 3.5, "x", null, true], "b": {"c": {}}, "big": 18446744073709551615u64});
        let n = Node::from_json(&v);
        assert_eq!(n.get("a").map(|a| a.items().len()), Some(6));
        assert_eq!(n.get_path(&["a"]).unwrap().items()[1].as_i64(), Some(-2));
        // Integers beyond i64 become floats, as the YAML loader reads them.
        assert!(matches!(n.get("big").unwrap().value, Value::Float(_)));
        let back = n.to_json();
        assert_eq!(back["a"], v["a"]);
        assert_eq!(back["b"], v["b"]);
    }

    #[test]
    fn render_path_quotes_keys_with_dots() {
        let p = vec![
            Seg::key("metadata"),
            Seg::key("annotations"),
            Seg::Key("seccomp.security.alpha.kubernetes.io/pod".into()),
        ];
        assert_eq!(
            render_path(&p),
            "metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]"
        );
        let p = vec![Seg::key("spec"), Seg::key("containers"), Seg::Index(2)];
        assert_eq!(render_path(&p), "spec.containers[2]");
    }
}
