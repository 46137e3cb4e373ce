//! Reads `palisade.yaml` (`apiVersion: palisade.dev/v1alpha1`, `kind: Policy`)
//! into a [`Policy`]. Decoding is strict: an unknown key or a wrong type is
//! an error with its line and column, so a typo never silently weakens the
//! policy. Written over the spanned [`Node`] tree (not serde) because serde
//! loses the positions these errors need.

use crate::loader::{load_str, Diagnostic, Limits};
use crate::node::{Node, Pos, Value};
use crate::policy::Policy;

/// The `apiVersion` of the policy file.
pub const API_VERSION: &str = "palisade.dev/v1alpha1";

/// The file `scan` and `serve` look for in the working directory.
pub const DEFAULT_FILE: &str = ".palisade.yaml";

/// A commented policy equal to the built-in defaults (`palisade config init`),
/// kept in `policy_file/default.yaml`.
pub const DEFAULT_POLICY_YAML: &str = include_str!("policy_file/default.yaml");

/// Why a policy file could not be used.
#[derive(Debug)]
pub enum PolicyFileError {
    /// The file could not be read.
    Read(std::io::Error),
    /// The file is invalid: one `file:line:col: message` line per error.
    Invalid(Vec<String>),
}

/// Reads and validates a policy file; errors name it with line and column.
pub fn read_policy_file(path: &std::path::Path) -> Result<Policy, PolicyFileError> {
    let text = std::fs::read_to_string(path).map_err(PolicyFileError::Read)?;
    let name = path.display().to_string();
    parse_policy(&name, &text).map_err(|errors| {
        PolicyFileError::Invalid(
            errors
                .iter()
                .map(|e| format!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))
                .collect(),
        )
    })
}

/// Reads a policy from YAML text; `file` names it in errors and findings.
pub fn parse_policy(file: &str, text: &str) -> Result<Policy, Vec<Diagnostic>> {
    let loaded = load_str(text, &Limits::default());
    if !loaded.errors.is_empty() {
        return Err(loaded.errors);
    }
    let mut docs = loaded.documents.into_iter();
    let Some(doc) = docs.next() else {
        return Err(vec![err(Pos { line: 1, col: 1 }, "empty policy file")]);
    };
    if let Some(extra) = docs.next() {
        return Err(vec![err(
            extra.root.pos,
            "a policy file holds one document; found a second",
        )]);
    }
    let mut errors = Vec::new();
    let mut dup = doc
        .duplicate_keys
        .iter()
        .map(|d| {
            err(
                d.again,
                format!(
                    "key {:?} is written twice (first at line {})",
                    d.key, d.first.line
                ),
            )
        })
        .collect::<Vec<_>>();
    errors.append(&mut dup);
    let mut policy = Policy {
        file: Some(file.to_string()),
        ..Policy::default()
    };
    let mut d = Decoder {
        errors: &mut errors,
    };
    d.policy(&doc.root, &mut policy);
    if errors.is_empty() {
        Ok(policy)
    } else {
        errors.sort_by_key(|e| e.pos);
        Err(errors)
    }
}

fn err(pos: Pos, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        pos,
        message: message.into(),
    }
}

fn type_name(n: &Node) -> &'static str {
    match n.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

mod admission;
mod decoder;
mod spec;

use decoder::Decoder;

/// Validates regular-expression syntax without compiling it here (core
/// does not depend on `regex`; the secrets pack compiles the patterns).
fn regex_syntax_check(re: &str) -> Result<(), String> {
    let mut depth = 0i32;
    let mut escaped = false;
    let mut in_class = false;
    for c in re.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced ')'".into());
                }
            }
            _ => {}
        }
    }
    if escaped {
        return Err("trailing backslash".into());
    }
    if in_class {
        return Err("unclosed '['".into());
    }
    if depth != 0 {
        return Err("unclosed '('".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
