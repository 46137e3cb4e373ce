//! Gatekeeper's `K8sNativeValidation` engine: a ConstraintTemplate's CEL
//! code, run as Gatekeeper's k8scel driver runs it.
//!
//! <https://open-policy-agent.github.io/gatekeeper/website/docs/validating-admission-policy>
//!
//! - The source holds `variables`, `matchCondition` (singular, as
//!   Gatekeeper's schema spells it), `validations` and `failurePolicy`.
//! - Two variables come before the template's own: `anyObject` (the old
//!   object on DELETE, else the object) and `params` (the constraint's
//!   `spec.parameters`, or null). Only variables see the constraint itself
//!   (as `params`); validations, messages and conditions read
//!   `variables.params`, and a bare `params` there is an undeclared name,
//!   as Gatekeeper's compiler makes it.
//! - One evaluation (template, constraint and object) has the budget of
//!   one API server expression, 1,000,000, shared by all its expressions.
//! - A failed validation is a violation whose message is the validation's
//!   message; an error is an evaluation error under `failurePolicy: Fail`
//!   (the default) and dropped under `Ignore`.

use std::sync::Arc;

use palisade_cel::{Activation, Budget, Data};
use palisade_core::{Node, Pos};

use crate::cel_program::{run, Outcome, Parser, Program};
use crate::error::LoadError;

/// The engine's name in a template's `code`.
pub(crate) const ENGINE: &str = "K8sNativeValidation";
const RESERVED_PREFIX: &str = "gatekeeper_internal_";

/// The variables Gatekeeper defines before the template's own.
const PRELUDE: [(&str, &str); 2] = [
    (
        "anyObject",
        r#"has(request.operation) && request.operation == "DELETE" && object == null ? oldObject : object"#,
    ),
    (
        "params",
        "!has(params.spec) ? null : !has(params.spec.parameters) ? null: params.spec.parameters",
    ),
];

/// A template's compiled CEL code.
#[derive(Debug, Clone)]
pub(crate) struct NativeCode {
    program: Program,
    fail: bool,
}

/// Reads the `source` of a `K8sNativeValidation` code entry.
pub(crate) fn parse(
    file: &Arc<str>,
    source: &Node,
    template: &str,
) -> Result<NativeCode, Vec<LoadError>> {
    let mut p = Parser::new(file);
    let at = source.pos;
    let what = |f: &str| format!("ConstraintTemplate {template}: code[{ENGINE}].source.{f}");
    if let Some(plural) = source.entry("matchConditions") {
        p.err(
            plural.key_pos,
            format!(
                "{}: Gatekeeper reads matchCondition (singular) and would ignore this field",
                what("matchConditions")
            ),
        );
    }
    let vars_what = what("variables");
    let vars = source.get("variables");
    for (i, v) in vars.map(Node::items).unwrap_or_default().iter().enumerate() {
        let name = v.get("name").and_then(Node::as_str).unwrap_or("");
        if name == "params" || name == "anyObject" || name.starts_with(RESERVED_PREFIX) {
            p.err(
                v.pos,
                format!(
                    "{vars_what}[{i}]: {name:?} is reserved by Gatekeeper (params, anyObject and the prefix {RESERVED_PREFIX})"
                ),
            );
        }
    }
    let cond_what = what("matchCondition");
    for (i, c) in source
        .get("matchCondition")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = c.get("name").and_then(Node::as_str).unwrap_or("");
        if name.starts_with(RESERVED_PREFIX) {
            p.err(
                c.pos,
                format!("{cond_what}[{i}]: the prefix {RESERVED_PREFIX} is reserved by Gatekeeper"),
            );
        }
    }
    let program = p.program(
        PRELUDE.to_vec(),
        vars,
        (source.get("matchCondition"), &cond_what),
        (source.get("validations"), &what("validations")),
        &vars_what,
    );
    for (expr, field) in program
        .validations
        .iter()
        .flat_map(|v| {
            std::iter::once((&v.expr, "validations"))
                .chain(v.message_expr.iter().map(|m| (m, "validations")))
        })
        .chain(
            program
                .match_conditions
                .iter()
                .map(|c| (&c.expr, "matchCondition")),
        )
    {
        if expr.expr.uses_variable("params") {
            p.err(
                at,
                format!(
                    "{}: undeclared reference to 'params' in {:?}: Gatekeeper gives the parameters as variables.params",
                    what(field),
                    expr.expr.source()
                ),
            );
        }
    }
    if program.validations.is_empty() && p.errors.is_empty() {
        p.err(
            at,
            format!("{}: the code validates nothing", what("validations")),
        );
    }
    let fail = match source.get("failurePolicy") {
        None => true,
        Some(n) => match n.as_str() {
            Some("Fail") => true,
            Some("Ignore") => false,
            _ => {
                p.err(
                    n.pos,
                    format!("{} must be Fail or Ignore", what("failurePolicy")),
                );
                true
            }
        },
    };
    if p.errors.is_empty() {
        Ok(NativeCode { program, fail })
    } else {
        Err(p.errors)
    }
}

impl NativeCode {
    /// Evaluates the code for one constraint (its whole object) with the
    /// review's variables in `a` (its `params` and `variables` are
    /// replaced): the messages of the failed validations, or the first error.
    pub(crate) fn evaluate(
        &self,
        a: &mut Activation,
        constraint: &Data,
    ) -> Result<Vec<String>, String> {
        a.set("params", constraint.clone());
        let mut budget = Budget::new(palisade_cel::PER_CALL_LIMIT, palisade_cel::PER_CALL_LIMIT);
        let mut messages = Vec::new();
        for outcome in run(&self.program, a, &mut budget) {
            match outcome {
                Outcome::Failed(m, _) => messages.push(m),
                Outcome::Error(e) if self.fail => return Err(e),
                Outcome::Error(_) | Outcome::Annotation(..) => {}
            }
        }
        Ok(messages)
    }
}

/// Where a template's code entry for `engine` is, if it has one.
pub(crate) fn code_entry<'n>(target: &'n Node, engine: &str) -> Option<&'n Node> {
    target
        .get("code")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .find(|c| c.get("engine").and_then(Node::as_str) == Some(engine))
}

/// Where a source node is, for messages about it.
pub(crate) fn source_of(entry: &Node) -> Result<&Node, Pos> {
    entry.get("source").ok_or(entry.pos)
}
