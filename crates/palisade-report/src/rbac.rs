//! `palisade rbac` answers: who-can grants, a subject's effective rules and
//! attack paths as text or JSON, and the access graph in Graphviz DOT.
//! <https://graphviz.org/doc/info/lang.html>

use std::fmt::Write as _;
use std::io::{self, Write};

use palisade_rbac::{AccessGraph, AttackPath, EffectiveRule, Grant, NodeKind, Subject};

use crate::{RbacFormat, RbacPathsFormat};

/// `who-can VERB RESOURCE`: one grant per line, or JSON.
pub fn write_who_can(
    out: &mut dyn Write,
    grants: &[Grant],
    verb: &str,
    resource: &str,
    format: RbacFormat,
) -> io::Result<()> {
    match format {
        RbacFormat::Json => write_json(out, &grants),
        RbacFormat::Text if grants.is_empty() => writeln!(out, "nobody can {verb} {resource}"),
        RbacFormat::Text => grants.iter().try_for_each(|g| writeln!(out, "{g}")),
    }
}

/// `can SUBJECT`: the subject's effective rules, one per line, or JSON.
pub fn write_can(
    out: &mut dyn Write,
    subject: &Subject,
    rules: &[EffectiveRule],
    format: RbacFormat,
) -> io::Result<()> {
    match format {
        RbacFormat::Json => write_json(out, &rules),
        RbacFormat::Text if rules.is_empty() => {
            writeln!(out, "{} holds no permissions", subject.describe())
        }
        RbacFormat::Text => rules.iter().try_for_each(|r| writeln!(out, "{r}")),
    }
}

/// `paths`: privilege-escalation paths as text or JSON, or the access
/// graph of the findings as DOT (`graph` is only built for DOT).
pub fn write_paths(
    out: &mut dyn Write,
    paths: &[AttackPath],
    graph: impl FnOnce() -> AccessGraph,
    format: RbacPathsFormat,
) -> io::Result<()> {
    match format {
        RbacPathsFormat::Json => write_json(out, &paths),
        RbacPathsFormat::Dot => out.write_all(dot(&graph()).as_bytes()),
        RbacPathsFormat::Text if paths.is_empty() => {
            writeln!(out, "no privilege-escalation paths")
        }
        RbacPathsFormat::Text => paths.iter().try_for_each(|p| writeln!(out, "{p}")),
    }
}

fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}

/// The access graph in DOT: subjects as ellipses, bindings as diamonds,
/// roles as boxes, pods as components; red edges lead to privilege
/// escalation. Labels come from the input, so every string is escaped.
pub fn dot(graph: &AccessGraph) -> String {
    let mut out = String::from("digraph rbac {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for n in &graph.nodes {
        let shape = match n.kind {
            NodeKind::Pod => "component",
            NodeKind::Subject => "ellipse",
            NodeKind::Binding => "diamond",
            NodeKind::Role => "box",
        };
        let _ = writeln!(
            out,
            "  \"{}\" [shape={shape}, label=\"{}\"];",
            escape(&n.id),
            escape(&n.label)
        );
    }
    for e in &graph.edges {
        let color = if e.escalation {
            ", color=red, fontcolor=red"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"{color}];",
            escape(&e.from),
            escape(&e.to),
            escape(&e.label)
        );
    }
    out.push_str("}\n");
    out
}

/// Escapes text for a double-quoted DOT string.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn quotes_backslashes_and_newlines_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd\re\u{7}"), "a\\\"b\\\\c\\nde ");
    }
}
