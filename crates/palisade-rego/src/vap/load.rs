//! Reading policies and bindings: every field checked, every expression
//! compiled once, each problem at its file:line:col.

use super::*;

fn strings(node: Option<&Node>) -> Vec<String> {
    node.map(|n| {
        n.items()
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

/// Where a position inside an expression is in the file: exact for an
/// expression on one line; for a block scalar, the line inside it.
fn expr_pos(node: &Node, line: u32, column: u32) -> Pos {
    if line <= 1 {
        Pos {
            line: node.pos.line,
            col: node.pos.col + column.saturating_sub(1),
        }
    } else {
        Pos {
            line: node.pos.line + line - 1,
            col: column,
        }
    }
}

struct Parser<'a> {
    file: &'a Arc<str>,
    errors: Vec<LoadError>,
}

impl Parser<'_> {
    fn err(&mut self, pos: Pos, message: String) {
        self.errors.push(LoadError::new(self.file, pos, message));
    }

    fn compile(&mut self, node: Option<&Node>, what: &str, at: Pos) -> Option<Expression> {
        let Some(node) = node else {
            self.err(at, format!("{what} is required"));
            return None;
        };
        let Some(src) = node.as_str() else {
            self.err(node.pos, format!("{what} must be a string"));
            return None;
        };
        match Expression::compile(src) {
            Ok(expr) => Some(expr),
            Err(e) => {
                let pos = expr_pos(node, e.line, e.column);
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

    fn named(&mut self, node: Option<&Node>, what: &str) -> Vec<Named> {
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

    fn rules(&mut self, node: Option<&Node>) -> Vec<ResourceRule> {
        node.map(Node::items)
            .unwrap_or_default()
            .iter()
            .map(|r| ResourceRule {
                operations: strings(r.get("operations")),
                groups: strings(r.get("apiGroups")),
                versions: strings(r.get("apiVersions")),
                resources: strings(r.get("resources")),
                names: strings(r.get("resourceNames")),
                scope: r
                    .get("scope")
                    .and_then(Node::as_str)
                    .unwrap_or("*")
                    .to_string(),
            })
            .collect()
    }

    fn selector(&mut self, node: Option<&Node>, what: &str) -> Option<LabelSelector> {
        let node = node?;
        let mut errs = Vec::new();
        let sel = LabelSelector::parse(node, what, &mut errs);
        for (pos, m) in errs {
            self.err(pos, m);
        }
        Some(sel)
    }

    fn match_resources(&mut self, node: Option<&Node>) -> MatchResources {
        let Some(node) = node else {
            return MatchResources::default();
        };
        MatchResources {
            rules: self.rules(node.get("resourceRules")),
            exclude: self.rules(node.get("excludeResourceRules")),
            namespace_selector: self.selector(node.get("namespaceSelector"), "namespaceSelector"),
            object_selector: self.selector(node.get("objectSelector"), "objectSelector"),
        }
    }
}

pub(super) fn parse_policy(obj: &Object) -> Result<Policy, Vec<LoadError>> {
    let mut p = Parser {
        file: &obj.file,
        errors: Vec::new(),
    };
    let at = object_pos(obj);
    let spec = obj.root.get("spec");
    let get = |k: &str| spec.and_then(|s| s.get(k));
    let mut validations = Vec::new();
    for (i, v) in get("validations")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let expr = p.compile(
            v.get("expression"),
            &format!("spec.validations[{i}].expression"),
            v.pos,
        );
        let message_expr = v.get("messageExpression").and_then(|m| {
            p.compile(
                Some(m),
                &format!("spec.validations[{i}].messageExpression"),
                v.pos,
            )
        });
        if let Some(expr) = expr {
            validations.push(Validation {
                expr,
                message: v
                    .get("message")
                    .and_then(Node::as_str)
                    .map(|m| m.trim().to_string()),
                message_expr,
            });
        }
    }
    let match_conditions = p.named(get("matchConditions"), "spec.matchConditions");
    let variables = p.named(get("variables"), "spec.variables");
    let constraints = p.match_resources(get("matchConstraints"));
    if constraints.rules.is_empty() {
        p.err(at, "spec.matchConstraints.resourceRules is required".into());
    }
    if validations.is_empty() && p.errors.is_empty() {
        p.err(at, "spec.validations: the policy validates nothing".into());
    }
    let param_kind = get("paramKind").map(|k| {
        (
            k.get("apiVersion")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            k.get("kind")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
        )
    });
    let fail = match get("failurePolicy").and_then(Node::as_str) {
        None | Some("Fail") => true,
        Some("Ignore") => false,
        Some(other) => {
            p.err(
                at,
                format!("spec.failurePolicy {other:?} is not Fail or Ignore"),
            );
            true
        }
    };
    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    Ok(Policy {
        name: obj.id.name.clone(),
        param_kind,
        constraints,
        match_conditions,
        variables,
        validations,
        fail,
    })
}

pub(super) fn parse_binding(obj: &Object) -> Result<Binding, Vec<LoadError>> {
    let mut p = Parser {
        file: &obj.file,
        errors: Vec::new(),
    };
    let at = object_pos(obj);
    let spec = obj.root.get("spec");
    let get = |k: &str| spec.and_then(|s| s.get(k));
    let policy = get("policyName")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    if policy.is_empty() {
        p.err(at, "spec.policyName is required".into());
    }
    let actions = strings(get("validationActions"));
    if actions.is_empty() {
        p.err(
            at,
            "spec.validationActions is required (Deny, Warn, Audit)".into(),
        );
    }
    let mut action = None;
    for a in &actions {
        let this = match a.as_str() {
            "Deny" => EnforcementAction::Deny,
            "Warn" => EnforcementAction::Warn,
            "Audit" => EnforcementAction::Dryrun,
            other => {
                p.err(
                    at,
                    format!("spec.validationActions: {other:?} is not Deny, Warn or Audit"),
                );
                continue;
            }
        };
        action = Some(match (action, this) {
            (Some(EnforcementAction::Deny), _) | (_, EnforcementAction::Deny) => {
                EnforcementAction::Deny
            }
            (Some(EnforcementAction::Warn), _) | (_, EnforcementAction::Warn) => {
                EnforcementAction::Warn
            }
            _ => EnforcementAction::Dryrun,
        });
    }
    if actions.iter().any(|a| a == "Deny") && actions.iter().any(|a| a == "Warn") {
        p.err(
            at,
            "spec.validationActions: Deny and Warn cannot be used together".into(),
        );
    }
    let param_ref = get("paramRef").map(|r| {
        let sel = p.selector(r.get("selector"), "spec.paramRef.selector");
        ParamRef {
            name: r.get("name").and_then(Node::as_str).map(str::to_string),
            namespace: r
                .get("namespace")
                .and_then(Node::as_str)
                .map(str::to_string),
            selector: sel,
            deny_if_missing: r.get("parameterNotFoundAction").and_then(Node::as_str)
                == Some("Deny"),
        }
    });
    if let Some(r) = &param_ref {
        if r.name.is_some() == r.selector.is_some() {
            p.err(
                at,
                "spec.paramRef: exactly one of name and selector is required".into(),
            );
        }
    }
    let resources = get("matchResources").map(|m| p.match_resources(Some(m)));
    if !p.errors.is_empty() {
        return Err(p.errors);
    }
    Ok(Binding {
        name: obj.id.name.clone(),
        policy,
        param_ref,
        resources,
        action: action.unwrap_or(EnforcementAction::Deny),
        file: obj.file.clone(),
        pos: at,
    })
}
