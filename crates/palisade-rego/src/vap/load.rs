//! Reading policies and bindings: every field checked, every expression
//! compiled once, each problem at its file:line:col.

use super::*;
use crate::cel_program::Parser;

fn strings(node: Option<&Node>) -> Vec<String> {
    node.map(|n| {
        n.items()
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

impl Parser<'_> {
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
        let equivalent = match node.get("matchPolicy").and_then(Node::as_str) {
            None | Some("Equivalent") => true,
            Some("Exact") => false,
            Some(other) => {
                let pos = node.get("matchPolicy").map_or(node.pos, |n| n.pos);
                self.err(
                    pos,
                    format!("matchPolicy {other:?} is not Exact or Equivalent"),
                );
                true
            }
        };
        MatchResources {
            equivalent,
            rules: self.rules(node.get("resourceRules")),
            exclude: self.rules(node.get("excludeResourceRules")),
            namespace_selector: self.selector(node.get("namespaceSelector"), "namespaceSelector"),
            object_selector: self.selector(node.get("objectSelector"), "objectSelector"),
        }
    }
}

/// The kinds with a shipped schema that `rules` match.
fn typed_kinds(rules: &[ResourceRule]) -> Vec<&'static str> {
    const KINDS: [(&str, &str); 12] = [
        ("", "Pod"),
        ("", "PodTemplate"),
        ("", "ReplicationController"),
        ("", "Namespace"),
        ("", "ConfigMap"),
        ("", "Service"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
        ("apps", "DaemonSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
    ];
    KINDS
        .iter()
        .filter(|(group, kind)| {
            let resource = resource_of(kind);
            palisade_cel::known_kind(kind)
                && rules
                    .iter()
                    .any(|r| r.groups.iter().any(|g| g == group) && r.resources.contains(&resource))
        })
        .map(|(_, kind)| *kind)
        .collect()
}

pub(super) fn parse_policy(obj: &Object) -> Result<Policy, Vec<LoadError>> {
    let mut p = Parser::new(&obj.file);
    let at = object_pos(obj);
    let spec = obj.root.get("spec");
    let get = |k: &str| spec.and_then(|s| s.get(k));
    let program = p.program(
        Vec::new(),
        get("variables"),
        (get("matchConditions"), "spec.matchConditions"),
        (get("validations"), "spec.validations"),
        "spec.variables",
    );
    let mut program = program;
    for (i, an) in get("auditAnnotations")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let key = an.get("key").and_then(Node::as_str).unwrap_or("");
        let valid = !key.is_empty()
            && key.len() <= 63
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && key.starts_with(|c: char| c.is_ascii_alphanumeric())
            && key.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid {
            p.err(
                an.pos,
                format!("spec.auditAnnotations[{i}].key {key:?} must be a qualified name of at most 63 characters"),
            );
        }
        if let Some(expr) = p.compile(
            an.get("valueExpression"),
            &format!("spec.auditAnnotations[{i}].valueExpression"),
            an.pos,
        ) {
            program.annotations.push(crate::cel_program::Named {
                name: key.to_string(),
                expr,
            });
        }
    }
    let constraints = p.match_resources(get("matchConstraints"));
    if constraints.rules.is_empty() {
        p.err(at, "spec.matchConstraints.resourceRules is required".into());
    }
    if program.validations.is_empty() && program.annotations.is_empty() && p.errors.is_empty() {
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
    let kinds = typed_kinds(&constraints.rules);
    let warnings = program.check_fields(&obj.file, &kinds);
    Ok(Policy {
        warnings,
        name: obj.id.name.clone(),
        at: (obj.file.clone(), at.line),
        param_kind,
        constraints,
        program,
        fail,
    })
}

pub(super) fn parse_binding(obj: &Object) -> Result<Binding, Vec<LoadError>> {
    let mut p = Parser::new(&obj.file);
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
