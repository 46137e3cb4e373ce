//! A small YAML writer for the exported objects: block style, with
//! scalars written as JSON (which YAML reads unchanged).

use super::*;

/// A key written plain, or quoted when YAML could read it otherwise.
fn yaml_key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'))
        && !matches!(
            k,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && !k.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if plain {
        k.to_string()
    } else {
        Json::String(k.to_string()).to_string()
    }
}

/// Block-style YAML for `v` (a mapping or sequence) at `indent`; scalars
/// are JSON, which YAML reads unchanged (strings double-quoted).
pub(super) fn yaml(v: &Json, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Json::Object(m) => {
            for (k, val) in m {
                out.push_str(&format!("{pad}{}:", yaml_key(k)));
                nested(val, indent + 2, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                out.push_str(&format!("{pad}-"));
                match item {
                    Json::Object(m) if !m.is_empty() => {
                        // The first key on the dash's line, the rest below it.
                        let mut first = true;
                        for (k, val) in m {
                            if first {
                                out.push_str(&format!(" {}:", yaml_key(k)));
                                first = false;
                            } else {
                                out.push_str(&format!("{pad}  {}:", yaml_key(k)));
                            }
                            nested(val, indent + 4, out);
                        }
                    }
                    other => nested(other, indent + 2, out),
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
}

/// The value after `key:` or `-`: inline when scalar or empty, else below.
fn nested(v: &Json, indent: usize, out: &mut String) {
    match v {
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml(v, indent, out);
        }
        Json::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml(v, indent, out);
        }
        Json::Object(_) => out.push_str(" {}\n"),
        Json::Array(_) => out.push_str(" []\n"),
        scalar => out.push_str(&format!(" {scalar}\n")),
    }
}
