//! ValidatingAdmissionPolicies and their bindings
//! (`admissionregistration.k8s.io/v1`), evaluated as the API server
//! evaluates them, on the CEL engine of `palisade-cel`.
//!
//! <https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/>
//!
//! Order, as in the API server: the policy's `matchConstraints`, then per
//! binding its `matchResources` and params, then per param the
//! `matchConditions` (any false: skipped), the `variables` (in order) and
//! the `validations`, with one cost budget per policy, binding and param.
//! An expression error or a configuration error (a missing param under
//! `parameterNotFoundAction: Deny`) is an evaluation error under
//! `failurePolicy: Fail` (the default) and ignored under `Ignore`.

use std::sync::Arc;

use palisade_cel::{Activation, Budget, CelValue, EvalError as CelError, Expression};
use palisade_core::{Node, Object, Pos};
use serde_json::{json, Value as Json};

use crate::constraint::EnforcementAction;
use crate::error::LoadError;
use crate::matcher::{labels_of, LabelSelector, Labels};
use crate::review::Review;
use crate::source::{group_of, object_pos};

/// The kind of a policy, as violations carry it.
pub(crate) const POLICY_KIND: &str = "ValidatingAdmissionPolicy";
const GROUP: &str = "admissionregistration.k8s.io";

/// Whether an object is a policy or a binding.
pub(crate) fn is_vap_object(obj: &Object) -> bool {
    group_of(&obj.id.api_version) == GROUP
        && matches!(
            obj.id.kind.as_str(),
            "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"
        )
}

/// A compiled expression with where it was written.
#[derive(Debug, Clone)]
struct Compiled {
    expr: Expression,
}

#[derive(Debug, Clone)]
struct Named {
    name: String,
    expr: Compiled,
}

#[derive(Debug, Clone)]
struct Validation {
    expr: Compiled,
    message: Option<String>,
    message_expr: Option<Compiled>,
}

/// One `resourceRules` item.
#[derive(Debug, Clone, Default)]
struct ResourceRule {
    operations: Vec<String>,
    groups: Vec<String>,
    versions: Vec<String>,
    resources: Vec<String>,
    names: Vec<String>,
    scope: String,
}

#[derive(Debug, Clone, Default)]
struct MatchResources {
    rules: Vec<ResourceRule>,
    exclude: Vec<ResourceRule>,
    namespace_selector: Option<LabelSelector>,
    object_selector: Option<LabelSelector>,
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    name: String,
    param_kind: Option<(String, String)>,
    constraints: MatchResources,
    match_conditions: Vec<Named>,
    variables: Vec<Named>,
    validations: Vec<Validation>,
    fail: bool,
}

#[derive(Debug, Clone)]
struct ParamRef {
    name: Option<String>,
    namespace: Option<String>,
    selector: Option<LabelSelector>,
    deny_if_missing: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Binding {
    name: String,
    policy: String,
    param_ref: Option<ParamRef>,
    resources: Option<MatchResources>,
    action: EnforcementAction,
    file: Arc<str>,
    pos: Pos,
}

/// Policies, bindings and the objects params are taken from.
#[derive(Debug, Clone, Default)]
pub(crate) struct VapSet {
    policies: Vec<Policy>,
    bindings: Vec<Binding>,
    params: Vec<Json>,
}

/// A violation or an error of one policy and binding.
pub(crate) enum Decision {
    /// The message and the binding's strongest action.
    Violation(String, String, EnforcementAction),
    /// The policy name and what failed.
    Error(String, String),
}

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

    fn compile(&mut self, node: Option<&Node>, what: &str, at: Pos) -> Option<Compiled> {
        let Some(node) = node else {
            self.err(at, format!("{what} is required"));
            return None;
        };
        let Some(src) = node.as_str() else {
            self.err(node.pos, format!("{what} must be a string"));
            return None;
        };
        match Expression::compile(src) {
            Ok(expr) => Some(Compiled { expr }),
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

fn parse_policy(obj: &Object) -> Result<Policy, Vec<LoadError>> {
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

fn parse_binding(obj: &Object) -> Result<Binding, Vec<LoadError>> {
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

/// Kinds that are not namespaced (the rest are).
const CLUSTER_KINDS: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CustomResourceDefinition",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "PriorityClass",
    "RuntimeClass",
    "CSIDriver",
    "CSINode",
    "IngressClass",
    "APIService",
    "CertificateSigningRequest",
    "VolumeAttachment",
];

/// The resource (plural) of a kind, as the API names it.
pub(crate) fn resource_of(kind: &str) -> String {
    let k = kind.to_ascii_lowercase();
    match k.as_str() {
        "endpoints" => k,
        _ if k.ends_with("policy") => format!("{}ies", &k[..k.len() - 1]),
        _ if k.ends_with('s') || k.ends_with("ch") || k.ends_with('x') => format!("{k}es"),
        _ if k.ends_with('y') && !k.ends_with("ey") => format!("{}ies", &k[..k.len() - 1]),
        _ => format!("{k}s"),
    }
}

fn any_or(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "*" || v == value)
}

impl ResourceRule {
    fn matches(&self, op: &str, review: &Review, resource: &str, cluster: bool) -> bool {
        let (group, version, _) = &review.kind;
        let scope_ok = match self.scope.as_str() {
            "Cluster" => cluster,
            "Namespaced" => !cluster,
            _ => true,
        };
        scope_ok
            && any_or(&self.operations, op)
            && any_or(&self.groups, group)
            && any_or(&self.versions, version)
            && self
                .resources
                .iter()
                .any(|r| r == "*" || r == "*/*" || r == resource)
            && (self.names.is_empty() || self.names.iter().any(|n| n == &review.name))
    }
}

impl MatchResources {
    /// Whether the request matches. An empty rule list matches everything
    /// (a binding without `matchResources` rules).
    fn matches(&self, ctx: &Request<'_>) -> bool {
        let hit = |rules: &[ResourceRule]| {
            rules
                .iter()
                .any(|r| r.matches(ctx.op, ctx.review, &ctx.resource, ctx.cluster))
        };
        if hit(&self.exclude) {
            return false;
        }
        if !self.rules.is_empty() && !hit(&self.rules) {
            return false;
        }
        if let Some(sel) = &self.namespace_selector {
            let is_ns = ctx.review.kind.2 == "Namespace" && ctx.review.kind.0.is_empty();
            if is_ns {
                if !sel.matches(&labels_of(&ctx.review.object)) {
                    return false;
                }
            } else if !ctx.cluster {
                let empty = Labels::new();
                if !sel.matches(ctx.ns_labels.unwrap_or(&empty)) {
                    return false;
                }
            }
        }
        if let Some(sel) = &self.object_selector {
            let new = sel.matches(&labels_of(&ctx.review.object));
            let old = ctx
                .review
                .old_object
                .as_ref()
                .is_some_and(|o| sel.matches(&labels_of(o)));
            if !new && !old {
                return false;
            }
        }
        true
    }
}

/// The request as the matchers see it.
struct Request<'a> {
    review: &'a Review,
    op: &'a str,
    resource: String,
    cluster: bool,
    ns_labels: Option<&'a Labels>,
}

impl VapSet {
    /// Reads the policies and bindings among `objects`; every object may
    /// be a param.
    pub(crate) fn from_objects(objects: &[Object]) -> Result<VapSet, Vec<LoadError>> {
        let mut set = VapSet::default();
        let mut errors = Vec::new();
        let mut broken: Vec<&str> = Vec::new();
        for obj in objects {
            if !is_vap_object(obj) {
                set.params.push(obj.root.to_json());
                continue;
            }
            if obj.id.kind == "ValidatingAdmissionPolicy" {
                match parse_policy(obj) {
                    Ok(p) => set.policies.push(p),
                    Err(e) => {
                        // Its bindings would only repeat its error.
                        broken.push(&obj.id.name);
                        errors.extend(e);
                    }
                }
            } else {
                match parse_binding(obj) {
                    Ok(b) => set.bindings.push(b),
                    Err(e) => errors.extend(e),
                }
            }
        }
        for b in &set.bindings {
            if !set.policies.iter().any(|p| p.name == b.policy)
                && !broken.contains(&b.policy.as_str())
            {
                errors.push(LoadError::new(
                    &b.file,
                    b.pos,
                    format!(
                        "ValidatingAdmissionPolicyBinding {:?} names policy {:?}, which is not loaded",
                        b.name, b.policy
                    ),
                ));
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// Whether nothing would ever be evaluated.
    pub(crate) fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }

    /// Evaluates every binding that matches the review.
    pub(crate) fn review(
        &self,
        review: &Review,
        ns_labels: Option<&Labels>,
        ns_object: Option<&Json>,
    ) -> Vec<Decision> {
        let mut out = Vec::new();
        if self.bindings.is_empty() {
            return out;
        }
        let op = if review.operation.is_empty() {
            "CREATE"
        } else {
            review.operation.as_str()
        };
        let cluster = CLUSTER_KINDS.contains(&review.kind.2.as_str());
        let ctx = Request {
            review,
            op,
            resource: resource_of(&review.kind.2),
            cluster,
            ns_labels,
        };
        let mut base: Option<Activation> = None;
        for policy in &self.policies {
            if !policy.constraints.matches(&ctx) {
                continue;
            }
            for b in self.bindings.iter().filter(|b| b.policy == policy.name) {
                if let Some(r) = &b.resources {
                    if !r.matches(&ctx) {
                        continue;
                    }
                }
                let act = base.get_or_insert_with(|| activation(review, &ctx, ns_object));
                let params = match self.params_for(policy, b, review, cluster) {
                    Ok(p) => p,
                    Err(e) => {
                        if policy.fail {
                            out.push(Decision::Error(
                                policy.name.clone(),
                                format!("failed to configure binding {:?}: {e}", b.name),
                            ));
                        }
                        continue;
                    }
                };
                for param in params {
                    let mut a = act.clone();
                    a.set("params", param);
                    evaluate(policy, b, &mut a, &mut out);
                }
            }
        }
        out
    }

    /// The params of a binding: `[null]` without paramKind or paramRef,
    /// none (nothing evaluated) when missing under `Allow`.
    fn params_for(
        &self,
        policy: &Policy,
        b: &Binding,
        review: &Review,
        cluster: bool,
    ) -> Result<Vec<CelValue>, String> {
        let (Some((api_version, kind)), Some(r)) = (&policy.param_kind, &b.param_ref) else {
            return Ok(vec![CelValue::Null]);
        };
        let namespace = match &r.namespace {
            Some(n) => Some(n.as_str()),
            None if cluster => None,
            None => Some(review.namespace.as_str()),
        };
        let found: Vec<CelValue> = self
            .params
            .iter()
            .filter(|p| {
                p.get("apiVersion").and_then(Json::as_str) == Some(api_version.as_str())
                    && p.get("kind").and_then(Json::as_str) == Some(kind.as_str())
            })
            .filter(|p| {
                let ns = p.pointer("/metadata/namespace").and_then(Json::as_str);
                match (namespace, ns) {
                    (Some(want), Some(got)) => want == got,
                    (Some(want), None) => want.is_empty() || want == "default",
                    (None, got) => got.is_none(),
                }
            })
            .filter(|p| match (&r.name, &r.selector) {
                (Some(name), _) => {
                    p.pointer("/metadata/name").and_then(Json::as_str) == Some(name.as_str())
                }
                (None, Some(sel)) => sel.matches(&labels_of(p)),
                (None, None) => false,
            })
            .map(palisade_cel::from_json)
            .collect();
        if found.is_empty() && r.deny_if_missing {
            return Err(format!(
                "no params found for binding {:?}: {kind} {}",
                b.name,
                r.name.as_deref().unwrap_or("(selector)")
            ));
        }
        Ok(found)
    }
}

/// `object`, `oldObject`, `request` and `namespaceObject`.
fn activation(review: &Review, ctx: &Request<'_>, ns_object: Option<&Json>) -> Activation {
    let mut a = Activation::new();
    let (group, version, kind) = &review.kind;
    if ctx.op == "DELETE" {
        a.set("object", CelValue::Null);
    } else {
        a.set_json("object", &review.object);
    }
    a.set_json(
        "oldObject",
        review.old_object.as_ref().unwrap_or(&Json::Null),
    );
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": ctx.resource});
    a.set_json(
        "request",
        &json!({
            "kind": gvk, "requestKind": gvk,
            "resource": gvr, "requestResource": gvr,
            "subResource": "", "requestSubResource": "",
            "name": review.name, "namespace": review.namespace,
            "operation": ctx.op, "userInfo": review.user_info,
            "dryRun": review.dry_run,
        }),
    );
    let ns = if ctx.cluster {
        Json::Null
    } else {
        ns_object.cloned().unwrap_or(Json::Null)
    };
    a.set_json("namespaceObject", &ns);
    a
}

fn describe(e: &CelError) -> String {
    match e {
        CelError::Budget => {
            "validation failed due to running out of cost budget, no further validation rules will be run".into()
        }
        CelError::Runtime(m) => m.clone(),
    }
}

/// One policy, binding and param.
fn evaluate(policy: &Policy, b: &Binding, a: &mut Activation, out: &mut Vec<Decision>) {
    let mut budget = Budget::new(palisade_cel::RUNTIME_BUDGET, palisade_cel::PER_CALL_LIMIT);
    let error = |out: &mut Vec<Decision>, what: String| {
        if policy.fail {
            out.push(Decision::Error(policy.name.clone(), what));
        }
    };
    // Variables in order; a failed one is left out and its error given to
    // the expressions that use it.
    let mut vars = std::collections::HashMap::new();
    let mut var_errors: Vec<(String, String)> = Vec::new();
    for v in &policy.variables {
        a.set("variables", vars_value(&vars));
        match v.expr.expr.eval(a, &mut budget) {
            Ok(value) => {
                vars.insert(v.name.clone(), value);
            }
            Err(CelError::Budget) => {
                error(out, describe(&CelError::Budget));
                return;
            }
            Err(e) => var_errors.push((v.name.clone(), describe(&e))),
        }
    }
    a.set("variables", vars_value(&vars));
    let explain = |e: &CelError, src: &str| -> String {
        if let CelError::Runtime(m) = e {
            for (name, err) in &var_errors {
                if m.contains(&format!("No such key: {name}")) {
                    return format!("expression {src:?}: variable {name:?}: {err}");
                }
            }
        }
        format!("expression {src:?}: {}", describe(e))
    };
    for c in &policy.match_conditions {
        match c.expr.expr.eval(a, &mut budget) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => return,
            Ok(other) => {
                error(
                    out,
                    format!(
                        "matchCondition {:?} must return bool, got {other:?}",
                        c.name
                    ),
                );
                return;
            }
            Err(e) => {
                error(
                    out,
                    format!(
                        "matchCondition {:?}: {}",
                        c.name,
                        explain(&e, c.expr.expr.source())
                    ),
                );
                return;
            }
        }
    }
    for v in &policy.validations {
        let src = v.expr.expr.source();
        match v.expr.expr.eval(a, &mut budget) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => {
                let message = message(v, a, &mut budget);
                let text = match b.action {
                    EnforcementAction::Warn => format!(
                        "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{}': {message}",
                        policy.name, b.name
                    ),
                    _ => format!(
                        "ValidatingAdmissionPolicy '{}' with binding '{}' denied request: {message}",
                        policy.name, b.name
                    ),
                };
                out.push(Decision::Violation(policy.name.clone(), text, b.action));
            }
            Ok(other) => error(
                out,
                format!("expression {src:?} must return bool, got {other:?}"),
            ),
            Err(CelError::Budget) => {
                error(out, describe(&CelError::Budget));
                return;
            }
            Err(e) => error(out, explain(&e, src)),
        }
    }
}

fn vars_value(vars: &std::collections::HashMap<String, CelValue>) -> CelValue {
    palisade_cel::map_value(vars.iter().map(|(k, v)| (k.clone(), v.clone())))
}

/// The message of a failed validation: `messageExpression` if it gives a
/// usable string, else `message`, else the expression.
fn message(v: &Validation, a: &Activation, budget: &mut Budget) -> String {
    if let Some(m) = &v.message_expr {
        if let Ok(CelValue::String(s)) = m.expr.eval(a, budget) {
            let t = s.trim();
            if !t.is_empty() && !t.contains('\n') && t.len() <= 5 * 1024 {
                return t.to_string();
            }
        }
    }
    match &v.message {
        Some(m) if !m.is_empty() => m.clone(),
        _ => format!("failed expression: {}", v.expr.expr.source()),
    }
}
