//! What ValidatingAdmissionPolicies and Gatekeeper's `K8sNativeValidation`
//! templates share: `matchConditions`, `variables` and `validations`,
//! read and compiled once, and evaluated under one cost budget as the API
//! server's validator evaluates them.
//!
//! Variables are lazy and memoised, as in the API server: a variable is
//! evaluated the first time an expression that names it
//! (`variables.<name>`) runs, once, and its error is the error of every
//! expression that uses it. A variable never used costs nothing.

use std::sync::Arc;

use palisade_cel::{Activation, Budget, Data, EvalError as CelError, Expression};
use palisade_core::{Node, Pos};
use serde_json::{json, Value as Json};

use crate::error::LoadError;

mod eval;

use crate::review::Review;
pub(crate) use eval::run;

/// An expression and the variables it names (indices into
/// [`Program::variables`], in order).
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub expr: Expression,
    deps: Vec<usize>,
    /// Where the expression's string starts, and its field path, for warnings.
    at: Pos,
    what: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Named {
    pub name: String,
    pub expr: Compiled,
}

/// The `reason` of a failed validation.
pub(crate) const REASONS: &[&str] = &[
    "Unauthorized",
    "Forbidden",
    "Invalid",
    "RequestEntityTooLarge",
];

#[derive(Debug, Clone)]
pub(crate) struct Validation {
    pub expr: Compiled,
    pub message: Option<String>,
    pub message_expr: Option<Compiled>,
    /// `reason` (`Invalid` when not given).
    pub reason: String,
}

/// Match conditions, variables and validations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Program {
    pub match_conditions: Vec<Named>,
    pub variables: Vec<Named>,
    pub validations: Vec<Validation>,
    /// `auditAnnotations`: key and `valueExpression`.
    pub annotations: Vec<Named>,
}

/// What one validation gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// It returned false: the message and the reason.
    Failed(String, String),
    /// It could not be evaluated (under `failurePolicy: Fail`, an error).
    Error(String),
    /// An audit annotation: key and value.
    Annotation(String, String),
}

/// The variables `variables.<name>` names in `src`; every variable when
/// `src` indexes `variables` some other way.
fn deps_of(src: &str, names: &[String]) -> Vec<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut rest = src;
    while let Some(i) = rest.find("variables") {
        let before_ok = !rest[..i].chars().next_back().is_some_and(ident);
        let after = &rest[i + "variables".len()..];
        rest = after;
        if !before_ok {
            continue;
        }
        let after = after.trim_start();
        if let Some(field) = after.strip_prefix('.') {
            let field = field.trim_start();
            let name: String = field.chars().take_while(|c| ident(*c)).collect();
            if let Some(k) = names.iter().position(|n| *n == name) {
                out.push(k);
            }
        } else if after.starts_with('[') || after.starts_with('?') {
            return (0..names.len()).collect();
        } else if !after.starts_with(|c: char| ident(c)) {
            // `variables` on its own: the whole map.
            return (0..names.len()).collect();
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Where a position inside an expression is in the file: exact for an
/// expression on one line; for a block scalar, the line inside it.
fn expr_pos(at: Pos, line: u32, column: u32) -> Pos {
    if line <= 1 {
        Pos {
            line: at.line,
            col: at.col + column.saturating_sub(1),
        }
    } else {
        Pos {
            line: at.line + line - 1,
            col: column,
        }
    }
}

impl Program {
    /// Whether an expression reads the `authorizer` variable.
    pub fn uses_authorizer(&self) -> bool {
        self.expressions()
            .any(|c| c.expr.uses_variable("authorizer"))
    }

    /// Every expression of the program, with its field path.
    fn expressions(&self) -> impl Iterator<Item = &Compiled> {
        self.variables
            .iter()
            .map(|v| &v.expr)
            .chain(self.match_conditions.iter().map(|c| &c.expr))
            .chain(
                self.validations
                    .iter()
                    .flat_map(|v| std::iter::once(&v.expr).chain(v.message_expr.iter())),
            )
            .chain(self.annotations.iter().map(|a| &a.expr))
    }

    /// Warnings for the fields of `object` and `oldObject` that `kinds`
    /// do not have, at their file positions.
    pub fn check_fields(&self, file: &Arc<str>, kinds: &[&str]) -> Vec<LoadError> {
        let mut out = Vec::new();
        for c in self.expressions().filter(|c| !c.what.is_empty()) {
            for kind in kinds {
                for w in c.expr.check_fields(kind) {
                    out.push(LoadError::new(
                        file,
                        expr_pos(c.at, w.line, w.column),
                        format!("warning: {}: {} (on {kind})", c.what, w.message),
                    ));
                }
            }
        }
        out
    }
}

/// Reads expressions, collecting every problem with its position.
pub(crate) struct Parser<'a> {
    pub file: &'a Arc<str>,
    pub errors: Vec<LoadError>,
    /// The variables read so far, which later expressions may name.
    names: Vec<String>,
}

impl<'a> Parser<'a> {
    pub fn new(file: &'a Arc<str>) -> Self {
        Parser {
            file,
            errors: Vec::new(),
            names: Vec::new(),
        }
    }

    pub fn err(&mut self, pos: Pos, message: String) {
        self.errors.push(LoadError::new(self.file, pos, message));
    }

    /// Compiles the string at `node` (`what` names it in messages).
    pub fn compile(&mut self, node: Option<&Node>, what: &str, at: Pos) -> Option<Compiled> {
        let Some(node) = node else {
            self.err(at, format!("{what} is required"));
            return None;
        };
        let Some(src) = node.as_str() else {
            self.err(node.pos, format!("{what} must be a string"));
            return None;
        };
        match Expression::compile(src) {
            Ok(expr) => Some(Compiled {
                deps: deps_of(src, &self.names),
                expr,
                at: node.pos,
                what: what.to_string(),
            }),
            Err(e) => {
                let pos = expr_pos(node.pos, e.line, e.column);
                self.err(
                    pos,
                    format!(
                        "{what}: compilation error at column {} of the expression: {}",
                        e.column, e.message
                    ),
                );
                None
            }
        }
    }

    /// A list of `{name, expression}`.
    pub fn named(&mut self, node: Option<&Node>, what: &str) -> Vec<Named> {
        let mut out = Vec::new();
        for (i, item) in node.map(Node::items).unwrap_or_default().iter().enumerate() {
            let name = item.get("name").and_then(Node::as_str).unwrap_or("");
            if name.is_empty() {
                self.err(item.pos, format!("{what}[{i}].name is required"));
            }
            if let Some(expr) = self.compile(
                item.get("expression"),
                &format!("{what}[{i}].expression"),
                item.pos,
            ) {
                out.push(Named {
                    name: name.to_string(),
                    expr,
                });
            }
        }
        out
    }

    /// `variables` (each may name only those before it), then
    /// `matchConditions` and `validations`. `prelude` are variables
    /// defined before the user's (Gatekeeper's `params` and `anyObject`).
    pub fn program(
        &mut self,
        prelude: Vec<(&str, &str)>,
        variables: Option<&Node>,
        conditions: (Option<&Node>, &str),
        validations: (Option<&Node>, &str),
        vars_what: &str,
    ) -> Program {
        let mut program = Program::default();
        for (name, src) in prelude {
            if let Ok(expr) = Expression::compile(src) {
                let deps = deps_of(src, &self.names);
                program.variables.push(Named {
                    name: name.to_string(),
                    expr: Compiled {
                        expr,
                        deps,
                        at: Pos::default(),
                        what: String::new(),
                    },
                });
                self.names.push(name.to_string());
            }
        }
        for (i, item) in variables
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let mut one = self.named_one(item, vars_what, i);
            if let Some(v) = one.take() {
                if self.names.contains(&v.name) {
                    self.err(
                        item.pos,
                        format!("{vars_what}[{i}]: variable {:?} is defined twice", v.name),
                    );
                }
                self.names.push(v.name.clone());
                program.variables.push(v);
            } else {
                // Keep later indices right: a broken variable is still a name.
                let name = item.get("name").and_then(Node::as_str).unwrap_or("");
                self.names.push(name.to_string());
            }
        }
        program.match_conditions = self.named(conditions.0, conditions.1);
        let what = validations.1;
        for (i, v) in validations
            .0
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let expr = self.compile(
                v.get("expression"),
                &format!("{what}[{i}].expression"),
                v.pos,
            );
            let message_expr = v.get("messageExpression").and_then(|m| {
                self.compile(Some(m), &format!("{what}[{i}].messageExpression"), v.pos)
            });
            let reason = match v.get("reason") {
                None => "Invalid".to_string(),
                Some(r) => match r.as_str() {
                    Some(s) if REASONS.contains(&s) => s.to_string(),
                    _ => {
                        self.err(
                            r.pos,
                            format!("{what}[{i}].reason must be one of {}", REASONS.join(", ")),
                        );
                        "Invalid".to_string()
                    }
                },
            };
            if let Some(expr) = expr {
                program.validations.push(Validation {
                    expr,
                    message: v
                        .get("message")
                        .and_then(Node::as_str)
                        .map(|m| m.trim().to_string()),
                    message_expr,
                    reason,
                });
            }
        }
        program
    }

    fn named_one(&mut self, item: &Node, what: &str, i: usize) -> Option<Named> {
        let name = item.get("name").and_then(Node::as_str).unwrap_or("");
        if name.is_empty() {
            self.err(item.pos, format!("{what}[{i}].name is required"));
        }
        let expr = self.compile(
            item.get("expression"),
            &format!("{what}[{i}].expression"),
            item.pos,
        )?;
        Some(Named {
            name: name.to_string(),
            expr,
        })
    }
}

/// The request as CEL sees it: the operation (`CREATE` when the review
/// has none), the resource, and whether it is cluster-scoped.
pub(crate) struct RequestInfo<'a> {
    pub review: &'a Review,
    pub op: &'a str,
    pub resource: String,
    pub cluster: bool,
}

/// `object` (null on DELETE), `oldObject`, `request` and `namespaceObject`.
pub(crate) fn review_activation(
    r: &RequestInfo<'_>,
    ns_object: Option<&Json>,
    authorizer: Option<&Arc<dyn palisade_cel::Authorizer>>,
) -> Activation {
    let review = r.review;
    let mut a = Activation::new();
    let (group, version, kind) = &review.kind;
    if r.op == "DELETE" {
        a.set("object", Data::null());
    } else {
        a.set_json("object", &review.object);
    }
    a.set_json(
        "oldObject",
        review.old_object.as_ref().unwrap_or(&Json::Null),
    );
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": r.resource});
    a.set_json(
        "request",
        &json!({
            "kind": gvk, "requestKind": gvk,
            "resource": gvr, "requestResource": gvr,
            "subResource": "", "requestSubResource": "",
            "name": review.name, "namespace": review.namespace,
            "operation": r.op, "userInfo": review.user_info,
            "dryRun": review.dry_run,
        }),
    );
    let ns = if r.cluster {
        Json::Null
    } else {
        ns_object.cloned().unwrap_or(Json::Null)
    };
    a.set_json("namespaceObject", &ns);
    if let Some(authz) = authorizer {
        let info = &review.user_info;
        let request = palisade_cel::AuthzRequest {
            user: info
                .get("username")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
            groups: info
                .get("groups")
                .and_then(Json::as_array)
                .map(|g| {
                    g.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            group: group.clone(),
            resource: r.resource.clone(),
            namespace: review.namespace.clone(),
            name: review.name.clone(),
            ..Default::default()
        };
        a.set(
            "authorizer",
            palisade_cel::authorizer_value(authz.clone(), request),
        );
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_named_by_an_expression_are_found() {
        let names: Vec<String> = ["a", "ab", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            deps_of("variables.ab > 1 && variables.a", &names),
            vec![0, 1]
        );
        assert_eq!(deps_of("myvariables.a", &names), Vec::<usize>::new());
        assert_eq!(deps_of("variables[\"c\"]", &names), vec![0, 1, 2]);
        assert_eq!(deps_of("'x'", &names), Vec::<usize>::new());
    }
}
