//! The texts an admission decision carries: warning lines within the API
//! server's length limit, the denial's status message, rule lists for
//! audit annotations.

use super::*;

/// One warning line: rule, field and message, within the API server's length.
pub(super) fn warning(f: &Finding) -> String {
    truncate(palisade_core::redacted(format!(
        "[{}] {}: {}",
        f.rule, f.path, f.message
    )))
}

pub(super) fn truncate(mut s: String) -> String {
    if s.len() > MAX_WARNING {
        let mut end = MAX_WARNING - 3;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

pub(super) fn rule_list(findings: &[&Finding]) -> String {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.join(",")
}

/// The denial message: each violation with its rule, container and field.
pub(super) fn status_message(
    kind: &str,
    name: &str,
    namespace: &str,
    blocking: &[&Finding],
) -> String {
    let mut s = format!(
        "palisade denied {kind} {}{name:?}: {} violation{}",
        if namespace.is_empty() {
            String::new()
        } else {
            format!("{namespace}/")
        },
        blocking.len(),
        if blocking.len() == 1 { "" } else { "s" }
    );
    for f in blocking {
        s.push_str("; ");
        s.push_str(&format!("[{}] ", f.rule));
        if let Some(c) = &f.container {
            s.push_str(&format!("container {c:?} "));
        }
        s.push_str(&format!("{}: {}", f.path, f.message));
    }
    // Constraint messages are built by Rego, not by palisade's rules.
    palisade_core::redacted(s)
}

pub(super) fn operation_name(op: &Operation) -> &'static str {
    match op {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}
