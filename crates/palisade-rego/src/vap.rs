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
//!
//! This file holds the model and the matching; `load` reads policies and
//! bindings, `eval` evaluates one policy, binding and param.

use std::sync::Arc;

mod eval;
mod load;

use eval::evaluate;
use load::{parse_binding, parse_policy};

use palisade_cel::{Activation, Data};
use palisade_core::{Node, Object, Pos};
use serde_json::Value as Json;

use crate::cel_program::{review_activation, Program, RequestInfo};
use crate::constraint::EnforcementAction;
use crate::error::LoadError;
use crate::matcher::{labels_of, LabelSelector, Labels};
use crate::review::Review;
use crate::source::{group_of, object_pos};

/// The kind of a policy, as violations carry it.
pub(crate) const POLICY_KIND: &str = "ValidatingAdmissionPolicy";
const GROUP: &str = "admissionregistration.k8s.io";

/// Whether an object is a ValidatingAdmissionPolicy or a binding.
pub fn is_vap_object(obj: &Object) -> bool {
    group_of(&obj.id.api_version) == GROUP
        && matches!(
            obj.id.kind.as_str(),
            "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding"
        )
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
    /// `matchPolicy: Equivalent` (the API's default): a rule also matches
    /// the same resource requested through another API version.
    equivalent: bool,
    rules: Vec<ResourceRule>,
    exclude: Vec<ResourceRule>,
    namespace_selector: Option<LabelSelector>,
    object_selector: Option<LabelSelector>,
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// Fields the matched kinds do not have, as warnings.
    warnings: Vec<LoadError>,
    name: String,
    /// Where it was read.
    at: (Arc<str>, u32),
    param_kind: Option<(String, String)>,
    constraints: MatchResources,
    program: Program,
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
    /// What answers `authorizer` checks (none: the variable is not set).
    pub(crate) authorizer: Option<Arc<dyn palisade_cel::Authorizer>>,
    policies: Vec<Policy>,
    bindings: Vec<Binding>,
    /// Each param as read and as CEL sees it (converted once).
    params: Vec<(Json, Data)>,
}

/// A violation or an error of one policy and binding.
pub(crate) enum Decision {
    /// The policy name, the message, the binding's strongest action and
    /// the validation's `reason`.
    Violation(String, String, EnforcementAction, String),
    /// The policy name and what failed.
    Error(String, String),
    /// An audit annotation: `<policy>/<key>` and its value.
    Annotation(String, String),
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

/// A param's identity: apiVersion, kind, namespace, name.
fn param_id(p: &Json) -> (String, String, String, String) {
    let field = |k: &str| {
        p.pointer(k)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    (
        field("/apiVersion"),
        field("/kind"),
        field("/metadata/namespace"),
        field("/metadata/name"),
    )
}

/// The API versions that serve the same objects, as the API server's
/// equivalent-resource mapping has them for built-in resources.
type GroupVersions = &'static [(&'static str, &'static str)];
const EQUIVALENT: &[(&[&str], GroupVersions)] = &[
    (
        &["deployments", "daemonsets", "replicasets"],
        &[
            ("apps", "v1"),
            ("apps", "v1beta2"),
            ("apps", "v1beta1"),
            ("extensions", "v1beta1"),
        ],
    ),
    (
        &["statefulsets", "controllerrevisions"],
        &[("apps", "v1"), ("apps", "v1beta2"), ("apps", "v1beta1")],
    ),
    (&["cronjobs"], &[("batch", "v1"), ("batch", "v1beta1")]),
    (
        &["ingresses"],
        &[
            ("networking.k8s.io", "v1"),
            ("networking.k8s.io", "v1beta1"),
            ("extensions", "v1beta1"),
        ],
    ),
    (
        &["networkpolicies"],
        &[("networking.k8s.io", "v1"), ("extensions", "v1beta1")],
    ),
    (
        &["poddisruptionbudgets"],
        &[("policy", "v1"), ("policy", "v1beta1")],
    ),
    (
        &["horizontalpodautoscalers"],
        &[
            ("autoscaling", "v2"),
            ("autoscaling", "v2beta2"),
            ("autoscaling", "v2beta1"),
            ("autoscaling", "v1"),
        ],
    ),
    (
        &[
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        ],
        &[
            ("admissionregistration.k8s.io", "v1"),
            ("admissionregistration.k8s.io", "v1beta1"),
            ("admissionregistration.k8s.io", "v1alpha1"),
        ],
    ),
];

/// The other group/versions `resource` in `group/version` is served as.
fn equivalents(group: &str, version: &str, resource: &str) -> Vec<(&'static str, &'static str)> {
    EQUIVALENT
        .iter()
        .filter(|(resources, gvs)| resources.contains(&resource) && gvs.contains(&(group, version)))
        .flat_map(|(_, gvs)| gvs.iter().copied())
        .filter(|gv| *gv != (group, version))
        .collect()
}

/// The request's operation (CREATE when the review has none), resource
/// and scope.
pub(crate) fn request_info(review: &Review) -> RequestInfo<'_> {
    RequestInfo {
        review,
        op: if review.operation.is_empty() {
            "CREATE"
        } else {
            review.operation.as_str()
        },
        resource: resource_of(&review.kind.2),
        cluster: CLUSTER_KINDS.contains(&review.kind.2.as_str()),
    }
}

fn any_or(list: &[String], value: &str) -> bool {
    list.iter().any(|v| v == "*" || v == value)
}

impl ResourceRule {
    fn matches(&self, op: &str, review: &Review, resource: &str, cluster: bool) -> bool {
        let (group, version, _) = &review.kind;
        self.matches_version(op, review, group, version, resource, cluster)
    }

    /// Whether the rule matches the request as `group/version` of `resource`.
    fn matches_version(
        &self,
        op: &str,
        review: &Review,
        group: &str,
        version: &str,
        resource: &str,
        cluster: bool,
    ) -> bool {
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
        let i = &ctx.info;
        let hit = |rules: &[ResourceRule]| {
            rules
                .iter()
                .any(|r| r.matches(i.op, i.review, &i.resource, i.cluster))
                || (self.equivalent
                    && equivalents(&i.review.kind.0, &i.review.kind.1, &i.resource)
                        .into_iter()
                        .any(|(g, v)| {
                            rules.iter().any(|r| {
                                r.matches_version(i.op, i.review, g, v, &i.resource, i.cluster)
                            })
                        }))
        };
        if hit(&self.exclude) {
            return false;
        }
        if !self.rules.is_empty() && !hit(&self.rules) {
            return false;
        }
        if let Some(sel) = &self.namespace_selector {
            let is_ns = ctx.info.review.kind.2 == "Namespace" && ctx.info.review.kind.0.is_empty();
            if is_ns {
                if !sel.matches(&labels_of(&ctx.info.review.object)) {
                    return false;
                }
            } else if !ctx.info.cluster {
                let empty = Labels::new();
                if !sel.matches(ctx.ns_labels.unwrap_or(&empty)) {
                    return false;
                }
            }
        }
        if let Some(sel) = &self.object_selector {
            let new = sel.matches(&labels_of(&ctx.info.review.object));
            let old = ctx
                .info
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
    info: RequestInfo<'a>,
    ns_labels: Option<&'a Labels>,
}

impl VapSet {
    /// Reads the policies and bindings among `objects`; every object may
    /// be a param.
    pub(crate) fn from_objects(objects: &[Object]) -> Result<VapSet, Vec<LoadError>> {
        let mut set = VapSet::default();
        set.add(objects, true)?;
        Ok(set)
    }

    /// Adds the policies and bindings among `objects`, and as params the
    /// other objects: all of them (`all_params`, for policy files), or
    /// those of a kind a policy names as its paramKind (for a scan's
    /// objects). Nothing is added when one is in error.
    pub(crate) fn add(
        &mut self,
        objects: &[Object],
        all_params: bool,
    ) -> Result<(), Vec<LoadError>> {
        let mut set = std::mem::take(self);
        let before = (set.policies.len(), set.bindings.len(), set.params.len());
        let mut errors = Vec::new();
        let mut broken: Vec<&str> = Vec::new();
        for obj in objects {
            if !is_vap_object(obj) {
                continue;
            }
            if obj.id.kind == "ValidatingAdmissionPolicy" {
                match parse_policy(obj) {
                    Ok(p) => match set.policies.iter().find(|q| q.name == p.name) {
                        // The same file given twice (as --policy and scanned).
                        Some(q) if q.at == p.at => {}
                        Some(q) => errors.push(LoadError::new(
                            &obj.file,
                            object_pos(obj),
                            format!(
                                "ValidatingAdmissionPolicy {:?} is defined twice (first at {}:{})",
                                p.name, q.at.0, q.at.1
                            ),
                        )),
                        None => set.policies.push(p),
                    },
                    Err(e) => {
                        // Its bindings would only repeat its error.
                        broken.push(&obj.id.name);
                        errors.extend(e);
                    }
                }
            } else {
                match parse_binding(obj) {
                    Ok(b) => match set.bindings.iter().find(|c| c.name == b.name) {
                        Some(c) if c.file == b.file && c.pos == b.pos => {}
                        Some(c) => errors.push(LoadError::new(
                            &b.file,
                            b.pos,
                            format!(
                                "ValidatingAdmissionPolicyBinding {:?} is defined twice (first at {}:{})",
                                b.name, c.file, c.pos.line
                            ),
                        )),
                        None => set.bindings.push(b),
                    },
                    Err(e) => errors.extend(e),
                }
            }
        }
        // Params: the objects of a kind some policy names as its paramKind,
        // one per identity as in the API server (a file given both as
        // --policy and scanned is read twice).
        let kinds: std::collections::HashSet<(&str, &str)> = set
            .policies
            .iter()
            .filter_map(|p| p.param_kind.as_ref())
            .map(|(v, k)| (v.as_str(), k.as_str()))
            .collect();
        let mut ids: std::collections::HashSet<(String, String, String, String)> =
            set.params.iter().map(|(j, _)| param_id(j)).collect();
        let mut params = Vec::new();
        for obj in objects.iter().filter(|o| !is_vap_object(o)) {
            let id = &obj.id;
            if !(all_params || kinds.contains(&(id.api_version.as_str(), id.kind.as_str()))) {
                continue;
            }
            let json = obj.root.to_json();
            if ids.insert(param_id(&json)) || id.name.is_empty() {
                let data = Data::from_json(&json);
                params.push((json, data));
            }
        }
        set.params.extend(params);
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
            *self = set;
            Ok(())
        } else {
            set.policies.truncate(before.0);
            set.bindings.truncate(before.1);
            set.params.truncate(before.2);
            *self = set;
            Err(errors)
        }
    }

    /// Whether a policy reads the `authorizer` variable.
    pub(crate) fn uses_authorizer(&self) -> bool {
        self.policies.iter().any(|p| p.program.uses_authorizer())
    }

    /// The warnings of the policies' type check.
    pub(crate) fn warnings(&self) -> Vec<LoadError> {
        self.policies
            .iter()
            .flat_map(|p| p.warnings.clone())
            .collect()
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
        let info = request_info(review);
        let cluster = info.cluster;
        let ctx = Request { info, ns_labels };
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
                let act = base.get_or_insert_with(|| {
                    review_activation(&ctx.info, ns_object, self.authorizer.as_ref())
                });
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
                    // One activation for the review: params and variables
                    // are replaced for each policy, binding and param.
                    act.set("params", param);
                    evaluate(policy, b, act, &mut out);
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
    ) -> Result<Vec<Data>, String> {
        let (Some((api_version, kind)), Some(r)) = (&policy.param_kind, &b.param_ref) else {
            return Ok(vec![Data::null()]);
        };
        let namespace = match &r.namespace {
            Some(n) => Some(n.as_str()),
            None if cluster => None,
            None => Some(review.namespace.as_str()),
        };
        let found: Vec<Data> = self
            .params
            .iter()
            .filter(|(p, _)| {
                p.get("apiVersion").and_then(Json::as_str) == Some(api_version.as_str())
                    && p.get("kind").and_then(Json::as_str) == Some(kind.as_str())
            })
            .filter(|(p, _)| {
                let ns = p.pointer("/metadata/namespace").and_then(Json::as_str);
                match (namespace, ns) {
                    (Some(want), Some(got)) => want == got,
                    (Some(want), None) => want.is_empty() || want == "default",
                    (None, got) => got.is_none(),
                }
            })
            .filter(|(p, _)| match (&r.name, &r.selector) {
                (Some(name), _) => {
                    p.pointer("/metadata/name").and_then(Json::as_str) == Some(name.as_str())
                }
                (None, Some(sel)) => sel.matches(&labels_of(p)),
                (None, None) => false,
            })
            .map(|(_, d)| d.clone())
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
