//! Errors of loading policies (with the file, line and column of the
//! offending field) and of evaluating them (naming the constraint).

use std::fmt;

/// A template, constraint, suite or inventory file that could not be used,
/// located at the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file (as given on the command line, or `-`).
    pub file: String,
    /// 1-based line (0 when the file could not be read at all).
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub column: u32,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl LoadError {
    /// An error at a position of a file.
    pub fn new(file: &str, pos: palisade_core::Pos, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_string(),
            line: pos.line,
            column: pos.col,
            message: message.into(),
        }
    }

    /// An error about a whole file (unreadable, missing).
    pub fn file(file: &str, message: impl Into<String>) -> LoadError {
        LoadError {
            file: file.to_string(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }
}

/// Every error on its own `file:line:col: message` entry, joined by `separator`.
pub fn join_errors(errors: &[LoadError], separator: &str) -> String {
    errors
        .iter()
        .map(LoadError::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (0, _) => write!(f, "{}: {}", self.file, self.message),
            (l, 0) => write!(f, "{}:{}: {}", self.file, l, self.message),
            (l, c) => write!(f, "{}:{}:{}: {}", self.file, l, c, self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// What went wrong while reviewing an object against one constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalErrorKind {
    /// The match block could not be decided (a `namespaceSelector` on an
    /// object whose Namespace is unknown, as gator reports it).
    Match,
    /// The template's Rego failed at run time (a builtin error, a conflict,
    /// a time limit).
    Rego,
    /// A ValidatingAdmissionPolicy's CEL failed (an expression error, the
    /// cost budget, a missing param) under `failurePolicy: Fail`.
    Cel,
    /// The template returned a violation that is not `{"msg": string, "details": any}`.
    Result,
}

/// A constraint that could not be evaluated on an object. Never read as
/// "no violation": callers report it and fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    /// The constraint's kind (its template's `spec.crd.spec.names.kind`).
    pub constraint_kind: String,
    /// The constraint's `metadata.name`.
    pub constraint_name: String,
    /// Which step failed.
    pub kind: EvalErrorKind,
    /// What failed; Rego errors start with `template-file:line:column:`.
    pub message: String,
}

impl EvalError {
    /// The rule id of the constraint, as findings carry it: `rego/<Kind>/<name>`.
    pub fn rule_id(&self) -> String {
        crate::policy_set::rule_id(&self.constraint_kind, &self.constraint_name)
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule_id(), self.message)
    }
}

impl std::error::Error for EvalError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_error_displays_file_line_and_column() {
        let e = LoadError::new("p.yaml", palisade_core::Pos { line: 3, col: 7 }, "bad");
        assert_eq!(e.to_string(), "p.yaml:3:7: bad");
        assert_eq!(
            LoadError::file("q.yaml", "missing").to_string(),
            "q.yaml: missing"
        );
    }
}
