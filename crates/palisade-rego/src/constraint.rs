//! Constraints (`constraints.gatekeeper.sh/v1beta1`, of the kinds the
//! templates define): their match block, parameters (validated against the
//! template's schema) and enforcement action.
//!
//! <https://open-policy-agent.github.io/gatekeeper/website/docs/howto#constraints>

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use palisade_core::node::Seg;
use palisade_core::{Node, Object, Pos, Severity};
use serde::Serialize;

use crate::error::LoadError;
use crate::matcher::Match;
use crate::schema;
use crate::source::{field_pos, group_of, object_pos};
use crate::template::Template;

/// The API group of constraints.
pub(crate) const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh";

/// `spec.enforcementAction`: what a violation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnforcementAction {
    /// Reject the request (the default).
    Deny,
    /// Admit, and record the violation (audit only).
    Dryrun,
    /// Admit, with a warning returned to the client.
    Warn,
}

impl EnforcementAction {
    /// The name as written in a constraint.
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementAction::Deny => "deny",
            EnforcementAction::Dryrun => "dryrun",
            EnforcementAction::Warn => "warn",
        }
    }

    /// The severity of findings under this action: `deny` high, `warn`
    /// medium, `dryrun` info (reported, never failing a default `--fail-on`).
    pub fn severity(self) -> Severity {
        match self {
            EnforcementAction::Deny => Severity::High,
            EnforcementAction::Warn => Severity::Medium,
            EnforcementAction::Dryrun => Severity::Info,
        }
    }

    /// Whether the admission webhook rejects a request with such a violation.
    pub fn denies(self) -> bool {
        self == EnforcementAction::Deny
    }
}

impl fmt::Display for EnforcementAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A loaded constraint.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    /// Its kind (the template's CRD kind).
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// The file it was read from.
    pub file: Arc<str>,
    /// Where it starts.
    pub pos: Pos,
    /// `spec.enforcementAction`.
    pub action: EnforcementAction,
    /// `spec.match`.
    pub matcher: Match,
    /// `spec.parameters` (`{}` when absent).
    pub parameters: regorus::Value,
    /// Index of its template.
    pub template: usize,
    /// The whole constraint, which a CEL template sees as `params`
    /// (converted once).
    pub object: palisade_cel::Data,
}

/// Why a constraint was refused.
#[derive(Debug, Clone)]
pub(crate) enum Refusal {
    /// It does not fit its CRD: parameters or match block (gator's `ErrSchema`,
    /// which a suite test with `invalid: true` expects).
    Schema(Vec<LoadError>),
    /// Anything else (no template for its kind, no name, bad action).
    Other(Vec<LoadError>),
}

impl Refusal {
    /// The errors, whatever the reason.
    pub fn into_errors(self) -> Vec<LoadError> {
        match self {
            Refusal::Schema(e) | Refusal::Other(e) => e,
        }
    }
}

/// Whether an object is a constraint (of any kind).
pub(crate) fn is_constraint(obj: &Object) -> bool {
    group_of(&obj.id.api_version) == CONSTRAINT_GROUP
}

/// Reads a constraint against the loaded templates (`by_kind` maps a kind
/// to its index in `templates`).
pub(crate) fn parse(
    obj: &Object,
    templates: &[Template],
    by_kind: &HashMap<String, usize>,
) -> Result<Constraint, Refusal> {
    let file = obj.file.clone();
    let root = &obj.root;
    let kind = obj.id.kind.clone();
    let other = |pos: Pos, msg: String| Refusal::Other(vec![LoadError::new(&file, pos, msg)]);
    let name = match root.get_path(&["metadata", "name"]).and_then(Node::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            return Err(other(
                object_pos(obj),
                format!("{kind} constraint has no metadata.name"),
            ))
        }
    };
    let Some(&template) = by_kind.get(&kind) else {
        let mut known: Vec<&str> = by_kind.keys().map(String::as_str).collect();
        known.sort_unstable();
        let known = if known.is_empty() {
            "no template is loaded".to_string()
        } else {
            format!("templates define {}", known.join(", "))
        };
        return Err(other(
            object_pos(obj),
            format!(
                "constraint {kind}/{name}: no ConstraintTemplate defines kind {kind} ({known})"
            ),
        ));
    };
    let action = match root.get_path(&["spec", "enforcementAction"]) {
        None => EnforcementAction::Deny,
        Some(n) => match n.as_str() {
            Some("deny") | Some("") => EnforcementAction::Deny,
            Some("dryrun") => EnforcementAction::Dryrun,
            Some("warn") => EnforcementAction::Warn,
            other_value => {
                return Err(other(
                    field_pos(root, &["spec", "enforcementAction"]),
                    format!(
                        "constraint {kind}/{name}: enforcementAction {:?} is not deny, dryrun or warn{}",
                        other_value.unwrap_or(""),
                        if other_value == Some("scoped") { " (scoped enforcement actions are not supported)" } else { "" }
                    ),
                ))
            }
        },
    };
    let mut schema_errors = Vec::new();
    let matcher = match root.get_path(&["spec", "match"]) {
        None => Match::all(),
        Some(m) => match Match::parse(m) {
            Ok(m) => m,
            Err(errs) => {
                schema_errors.extend(errs.into_iter().map(|(pos, msg)| {
                    LoadError::new(&file, pos, format!("constraint {kind}/{name}: {msg}"))
                }));
                Match::all()
            }
        },
    };
    let params = root.get_path(&["spec", "parameters"]);
    if let (Some(p), Some(schema)) = (
        params,
        templates.get(template).and_then(|t| t.schema.as_ref()),
    ) {
        let pos = field_pos(root, &["spec", "parameters"]);
        let mut path = vec![Seg::key("spec"), Seg::key("parameters")];
        for e in schema::validate(schema, p, pos, &mut path) {
            schema_errors.push(LoadError::new(
                &file,
                e.pos,
                format!("constraint {kind}/{name}: {}", e.message),
            ));
        }
    }
    if !schema_errors.is_empty() {
        return Err(Refusal::Schema(schema_errors));
    }
    let parameters = params
        .map(|p| crate::review::to_rego(&p.to_json()))
        .unwrap_or_else(regorus::Value::new_object);
    Ok(Constraint {
        kind,
        name,
        file,
        pos: object_pos(obj),
        action,
        matcher,
        parameters,
        template,
        object: palisade_cel::Data::from_json(&root.to_json()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_map_to_severity_and_admission() {
        assert_eq!(EnforcementAction::Deny.severity(), Severity::High);
        assert_eq!(EnforcementAction::Warn.severity(), Severity::Medium);
        assert_eq!(EnforcementAction::Dryrun.severity(), Severity::Info);
        assert!(EnforcementAction::Deny.denies());
        assert!(!EnforcementAction::Warn.denies());
        assert_eq!(EnforcementAction::Dryrun.to_string(), "dryrun");
    }
}
