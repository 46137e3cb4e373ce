//! The admission decision: one AdmissionReview request in, `allowed`,
//! status message, warnings and audit annotations out. Pure: no I/O, so the
//! same function serves the HTTPS handler, the tests and the benchmark.
//!
//! Objects are checked by the same [`Engine`], rules and policy as
//! `palisade scan`; what differs is only what a finding does (deny, warn or
//! record) in the request's namespace.
//! <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/>
//!
//! The Gatekeeper review of a request is in `review/constraints.rs`, the
//! texts a decision carries (warnings, status messages) in
//! `review/messages.rs`. What remains here (about 750 lines) is the
//! `Evaluator` and its decision, kept together until `validate_with` is
//! split into named stages (gate, identity, exemptions, findings, mode,
//! PSA labels), each of which then moves to its own file.

mod constraints;
mod messages;

use constraints::ConstraintReview;
use messages::{operation_name, rule_list, status_message, truncate, warning};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use kube_core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use kube_core::DynamicObject;
use palisade_core::object::{object_ref, objects_of, Content};

use crate::namespaces::LiveNamespaces;
use palisade_core::policy::{any_glob, Mode};
use palisade_core::{
    Context, Engine, Finding, ImageUse, Limits, Node, Object, ObjectRef, Policy, PssLevel,
    PssVersion, Severity, WorkloadKind,
};
use palisade_supply::{Checked, Supply};

/// The file name findings of admitted objects carry.
const ADMISSION_FILE: &str = "<admission>";

/// Pod Security Admission namespace labels.
/// <https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces>
const PSA_LABEL: &str = "pod-security.kubernetes.io/";

/// Longest warning the API server passes on unchanged (longer ones are truncated).
const MAX_WARNING: usize = 256;

/// What the webhook decided, with what the decision log records.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The response to send.
    pub response: AdmissionResponse,
    /// The mode of the request's namespace.
    pub mode: Mode,
    /// `allow`, `deny`, `warn`, `audit`, `exempt` or `skip` (nothing to check).
    pub outcome: &'static str,
    /// The rules that found something (deduplicated, sorted).
    pub rules: Vec<&'static str>,
    /// The object's kind, namespace and name.
    pub kind: String,
    /// Namespace of the request.
    pub namespace: String,
    /// Name of the object (or its generateName).
    pub name: String,
    /// Requesting user.
    pub user: String,
    /// `CREATE`, `UPDATE`, ...
    pub operation: &'static str,
    /// Whether the request was a dry run.
    pub dry_run: bool,
}

impl Decision {
    /// The decision on `req` before anything is checked: admitted, `outcome`.
    fn new(req: &AdmissionRequest<DynamicObject>, mode: Mode, outcome: &'static str) -> Self {
        Decision {
            response: AdmissionResponse::from(req),
            mode,
            outcome,
            rules: Vec::new(),
            kind: req.kind.kind.clone(),
            namespace: req.namespace.clone().unwrap_or_default(),
            name: req.name.clone(),
            user: req.user_info.username.clone().unwrap_or_default(),
            operation: operation_name(&req.operation),
            dry_run: req.dry_run,
        }
    }
}

/// The `apiVersion` of the request's kind (`v1`, `apps/v1`).
fn api_version(req: &AdmissionRequest<DynamicObject>) -> String {
    if req.kind.group.is_empty() {
        req.kind.version.clone()
    } else {
        format!("{}/{}", req.kind.group, req.kind.version)
    }
}

/// Evaluates admission requests against one policy.
pub struct Evaluator {
    policy: Arc<Policy>,
    /// The engine at the policy's own level and version.
    engine: Arc<Engine>,
    /// Engines at the levels and versions that namespace labels ask for,
    /// built on first use.
    by_level: Mutex<HashMap<(PssLevel, PssVersion), Arc<Engine>>>,
    /// Engines with the Pod Security Standards rules only, for the `warn`
    /// and `audit` namespace labels.
    pss_only: Mutex<HashMap<(PssLevel, PssVersion), Arc<Engine>>>,
    /// The image rules alone, for `/imagereview`.
    images: Engine,
    /// Namespace labels read from the cluster, when watched.
    live: Option<Arc<LiveNamespaces>>,
    /// Gatekeeper constraints, compiled once per policy load.
    constraints: Option<Arc<palisade_rego::PolicySet>>,
    /// The checks that ask the registry (signatures, digests), when the
    /// policy has any.
    supply: Option<Arc<Supply>>,
}

/// What the registry said about the images of one request, by image as written.
pub type Online = HashMap<String, Checked>;

impl Evaluator {
    /// Builds the engines of `policy`.
    pub fn new(policy: Policy) -> Self {
        let policy = Arc::new(policy);
        let engine = Arc::new(engine_for(&policy, policy.level, policy.version, false));
        let images = Engine::new(
            palisade_rules::boxed(palisade_rules::image::RULES),
            Context::from_policy((*policy).clone()),
            Limits::default(),
        )
        .with_parallelism(false);
        // Warm up: the first check builds the secret detectors and the
        // image-reference parser, which should not count against a request.
        let warm = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "warm-up", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "registry.example/app:1",
                "env": [{"name": "PASSWORD", "value": "x"}]}]}});
        let _ = check(&engine, &warm);
        let _ = check(&images, &warm);
        Evaluator {
            policy,
            engine,
            by_level: Mutex::new(HashMap::new()),
            pss_only: Mutex::new(HashMap::new()),
            images,
            live: None,
            constraints: None,
            supply: None,
        }
    }

    /// Asks the registry too (`images.verify`, `images.mutateDigest`).
    pub fn with_supply(mut self, supply: Option<Supply>) -> Self {
        self.supply = supply.map(Arc::new);
        self
    }

    /// The registry checks, when the policy asks for any.
    pub fn supply(&self) -> Option<&Arc<Supply>> {
        self.supply.as_ref()
    }

    /// The images of a request's workload that the registry checks need to
    /// see: none for requests that are not checked (other operations and
    /// kinds, subresources, exempt requests), so those never wait on a registry.
    pub fn images_to_check(&self, req: &AdmissionRequest<DynamicObject>) -> Vec<String> {
        let Some(supply) = &self.supply else {
            return Vec::new();
        };
        if !matches!(req.operation, Operation::Create | Operation::Update)
            || !matches!(
                req.sub_resource.as_deref(),
                None | Some("ephemeralcontainers")
            )
        {
            return Vec::new();
        }
        let Some(workload) = WorkloadKind::of(&api_version(req), &req.kind.kind) else {
            return Vec::new();
        };
        let Some(json) = req
            .object
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok())
        else {
            return Vec::new();
        };
        let namespace = req.namespace.clone().unwrap_or_default();
        if self.exempt_request(req, &namespace, &json, workload) {
            return Vec::new();
        }
        let Some(spec) = pod_spec(&json, workload) else {
            return Vec::new();
        };
        let mut images = Vec::new();
        for list in palisade_core::CONTAINER_LISTS {
            for c in spec
                .get(list)
                .and_then(|l| l.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(image) = c.get("image").and_then(|i| i.as_str()) {
                    if supply.wants(image) {
                        images.push(image.to_string());
                    }
                }
            }
        }
        images.sort_unstable();
        images.dedup();
        images
    }

    /// The registry findings of the images of a Pod (the one an ImageReview
    /// is checked as), with the policy's settings and exemptions applied.
    pub fn image_registry_findings(
        &self,
        pod: &serde_json::Value,
        online: Option<&Online>,
    ) -> Vec<Finding> {
        let root = Node::from_json(pod);
        let id = Arc::new(object_ref(&root).unwrap_or_default());
        self.online_findings(&self.images, &root, &id, online)
    }

    /// The registry findings of the images of `root` (the object of a
    /// request), with the policy's settings and exemptions applied.
    fn online_findings(
        &self,
        engine: &Engine,
        root: &Node,
        id: &Arc<ObjectRef>,
        online: Option<&Online>,
    ) -> Vec<Finding> {
        let (Some(supply), Some(online)) = (&self.supply, online) else {
            return Vec::new();
        };
        let file: Arc<str> = ADMISSION_FILE.into();
        let findings = supply.findings_of(online, &image_uses(root, id), id, &file);
        let gate = engine.gate();
        let mut report = palisade_core::ScanReport::default();
        for (f, image) in findings {
            palisade_core::engine::count(&mut report, gate.judge_default(f, image.as_deref()));
        }
        report.findings
    }

    /// Evaluates these Gatekeeper constraints too (deny blocks in enforce
    /// mode, warn becomes a warning, dryrun an audit annotation).
    pub fn with_constraints(mut self, set: Option<Arc<palisade_rego::PolicySet>>) -> Self {
        self.constraints = set.filter(|s| !s.is_empty());
        self
    }

    /// Uses namespace labels from the cluster (they take precedence over the
    /// policy file's `admission.namespaceLabels`).
    pub fn with_live_namespaces(mut self, live: Option<Arc<LiveNamespaces>>) -> Self {
        self.live = live;
        self
    }

    /// The labels of a namespace: from the cluster when watched and known,
    /// else from the policy file.
    pub fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        if let Some(l) = self.live.as_ref().and_then(|live| live.labels(namespace)) {
            return Some(l);
        }
        self.policy
            .admission
            .namespace_labels
            .get(namespace)
            .cloned()
    }

    /// The policy evaluated.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The engine that checks images for `/imagereview`.
    pub fn image_engine(&self) -> &Engine {
        &self.images
    }

    fn engine_at(&self, level: PssLevel, version: PssVersion, pss_only: bool) -> Arc<Engine> {
        if !pss_only && level == self.policy.level && version == self.policy.version {
            return self.engine.clone();
        }
        let cache = if pss_only {
            &self.pss_only
        } else {
            &self.by_level
        };
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry((level, version))
            .or_insert_with(|| Arc::new(engine_for(&self.policy, level, version, pss_only)))
            .clone()
    }

    /// Decides a validating request (without registry checks).
    pub fn validate(&self, req: &AdmissionRequest<DynamicObject>) -> Decision {
        self.validate_with(req, None)
    }

    /// Decides a validating request, with what the registry said about its
    /// images (see [`Evaluator::images_to_check`]).
    pub fn validate_with(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        online: Option<&Online>,
    ) -> Decision {
        let namespace = req.namespace.clone().unwrap_or_default();
        let labels = self.namespace_labels(&namespace);
        let mut d = Decision::new(req, self.mode_for(&namespace, labels.as_ref()), "allow");
        if !matches!(req.operation, Operation::Create | Operation::Update) {
            d.outcome = "skip";
            return d;
        }
        match req.sub_resource.as_deref() {
            None | Some("ephemeralcontainers") => {}
            Some(_) => {
                // status, binding, eviction, ...: no pod spec is being set.
                d.outcome = "skip";
                return d;
            }
        }
        let api_version = api_version(req);
        let Some(workload) = WorkloadKind::of(&api_version, &req.kind.kind) else {
            d.outcome = "skip";
            if self.policy.admission.allow_unknown_kinds {
                d.response.warnings = Some(vec![format!(
                    "palisade: {} {} is not a workload kind palisade checks; admitted unchecked",
                    api_version, req.kind.kind
                )]);
            } else {
                d.outcome = "deny";
                d.response = d.response.deny(format!(
                    "palisade: {} {} is not a workload kind palisade checks, and the policy denies unknown kinds",
                    api_version, req.kind.kind
                ));
                d.response.result.code = 403;
                d.response.result.reason = "Forbidden".into();
            }
            return d;
        };
        let Some(object) = req.object.as_ref() else {
            d.outcome = "deny";
            d.response = AdmissionResponse::from(req).deny("palisade: the request has no object");
            d.response.result.code = 400;
            d.response.result.reason = "BadRequest".into();
            return d;
        };
        let mut json = match serde_json::to_value(object) {
            Ok(v) => v,
            Err(e) => {
                d.outcome = "deny";
                d.response = AdmissionResponse::from(req)
                    .deny(format!("palisade: the object cannot be read: {e}"));
                d.response.result.code = 400;
                d.response.result.reason = "BadRequest".into();
                return d;
            }
        };
        fill_identity(
            &mut json,
            &api_version,
            &req.kind.kind,
            &namespace,
            &req.name,
        );
        if d.name.is_empty() {
            // CREATE requests often carry no name (generateName, or the name
            // only in the object).
            let meta = json.get("metadata");
            d.name = meta
                .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string();
        }
        if self.exempt_request(req, &namespace, &json, workload) {
            d.outcome = "exempt";
            return d;
        }
        let old = req
            .old_object
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok());
        if req.operation == Operation::Update
            && old
                .as_ref()
                .is_some_and(|old| pod_template_unchanged(&json, old, workload))
        {
            // Like Pod Security Admission: an update that leaves the pod
            // spec alone (labels, annotations, status, replicas) is allowed
            // even if the old spec violates.
            return d;
        }

        let psa = PsaLabels::of(labels.as_ref(), self.policy.level, self.policy.version);
        let engine = self.engine_at(psa.enforce.0, psa.enforce.1, false);
        let root = Node::from_json(&json);
        let id = Arc::new(object_ref(&root).unwrap_or_default());
        let online_findings = self.online_findings(&engine, &root, &id, online);
        let mut findings = check_root(&engine, root);
        findings.extend(online_findings);
        let mut dryrun: Vec<String> = Vec::new();
        if let Some(set) = &self.constraints {
            let review = ConstraintReview {
                req,
                json: &json,
                old: old.as_ref(),
                namespace: &namespace,
                labels: labels.as_ref(),
                id,
            };
            review.run(set, &mut findings, &mut dryrun);
        }
        let threshold = self.policy.admission_threshold;
        let (blocking, other): (Vec<&Finding>, Vec<&Finding>) = findings
            .iter()
            .partition(|f| effective_severity(f) >= threshold);
        let mut rules: Vec<&'static str> = findings.iter().map(|f| f.rule).collect();
        let mut warnings: Vec<String> = other.iter().map(|f| warning(f)).collect();
        let mut audit: BTreeMap<String, String> = BTreeMap::new();

        match d.mode {
            Mode::Enforce if !blocking.is_empty() => {
                d.outcome = "deny";
                d.response = d.response.deny(status_message(
                    &req.kind.kind,
                    &d.name,
                    &namespace,
                    &blocking,
                ));
                d.response.result.code = 403;
                d.response.result.reason = "Forbidden".into();
            }
            Mode::Enforce => {}
            Mode::Warn => {
                if !blocking.is_empty() {
                    d.outcome = "warn";
                }
                let mut w: Vec<String> = blocking.iter().map(|f| warning(f)).collect();
                w.append(&mut warnings);
                warnings = w;
            }
            Mode::Audit => {
                if !blocking.is_empty() {
                    d.outcome = "audit";
                    audit.insert("violations".into(), rule_list(&blocking));
                }
            }
        }
        if let Some((level, version)) = psa.warn {
            let pss = check(&self.engine_at(level, version, true), &json);
            for f in &pss {
                warnings.push(truncate(format!(
                    "would violate PodSecurity \"{level}:{version}\": {}",
                    warning(f)
                )));
                rules.push(f.rule);
            }
        }
        if let Some((level, version)) = psa.audit {
            let pss = check(&self.engine_at(level, version, true), &json);
            if !pss.is_empty() {
                let refs: Vec<&Finding> = pss.iter().collect();
                audit.insert(
                    format!("pod-security-audit-{level}-{version}"),
                    rule_list(&refs),
                );
                rules.extend(pss.iter().map(|f| f.rule));
            }
        }
        if !dryrun.is_empty() {
            dryrun.sort_unstable();
            dryrun.dedup();
            audit.insert("constraints-dryrun".into(), dryrun.join(","));
        }
        if !warnings.is_empty() {
            d.response.warnings = Some(warnings);
        }
        if !audit.is_empty() && !req.dry_run {
            audit.insert("mode".into(), d.mode.as_str().into());
            d.response.audit_annotations = audit.into_iter().collect();
        }
        rules.sort_unstable();
        rules.dedup();
        d.rules = rules;
        d
    }

    /// Decides a mutating request: the patch of the defaults the policy
    /// turns on, for a workload being created (a Pod's spec cannot change
    /// after creation; controllers' templates can, on create and update).
    /// Never denies: judging is `/validate`'s job, after mutation.
    pub fn mutate(&self, req: &AdmissionRequest<DynamicObject>) -> Decision {
        self.mutate_with(req, None)
    }

    /// [`Evaluator::mutate`], also pinning image tags to the digests the
    /// registry gave (`images.mutateDigest`).
    pub fn mutate_with(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        online: Option<&Online>,
    ) -> Decision {
        let namespace = req.namespace.clone().unwrap_or_default();
        let mut d = Decision::new(req, self.mode_of(&namespace), "skip");
        let m = &self.policy.admission.mutations;
        let pin = self.policy.images.mutate_digest && online.is_some();
        if !(m.any() || pin) || req.sub_resource.is_some() {
            return d;
        }
        let Some(workload) = WorkloadKind::of(&api_version(req), &req.kind.kind) else {
            return d;
        };
        let applies = match req.operation {
            Operation::Create => true,
            Operation::Update => workload != WorkloadKind::Pod,
            _ => false,
        };
        let Some(json) = req
            .object
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok())
        else {
            return d;
        };
        if !applies || self.exempt_request(req, &namespace, &json, workload) {
            return d;
        }
        let mut p = crate::mutate::patch(&json, workload, m);
        if let Some(online) = online.filter(|_| pin) {
            let root = Node::from_json(&json);
            let id = Arc::new(object_ref(&root).unwrap_or_default());
            p.0.extend(crate::mutate::pin_digests(&image_uses(&root, &id), online));
        }
        d.outcome = if p.0.is_empty() { "allow" } else { "mutate" };
        self.with_patch(d, Some(p))
    }

    fn with_patch(&self, mut d: Decision, patch: Option<json_patch::Patch>) -> Decision {
        if let Some(p) = patch.filter(|p| !p.0.is_empty()) {
            match d.response.clone().with_patch(p) {
                Ok(r) => d.response = r,
                Err(e) => tracing::error!("cannot serialise a patch: {e}"),
            }
        }
        d
    }

    /// The mode of a namespace: the first `admission.modes` entry that
    /// matches, else the default.
    pub fn mode_of(&self, namespace: &str) -> Mode {
        self.mode_for(namespace, self.namespace_labels(namespace).as_ref())
    }

    /// [`Evaluator::mode_of`] with the namespace's labels already looked up.
    fn mode_for(&self, namespace: &str, labels: Option<&BTreeMap<String, String>>) -> Mode {
        let adm = &self.policy.admission;
        adm.modes
            .iter()
            .find(|m| {
                (m.namespaces.is_empty() || any_glob(&m.namespaces, namespace))
                    && m.match_labels
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get(k)).is_some_and(|lv| lv == v))
            })
            .map_or(adm.default_mode, |m| m.mode)
    }

    fn exempt_request(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        namespace: &str,
        json: &serde_json::Value,
        workload: WorkloadKind,
    ) -> bool {
        let ex = &self.policy.admission.exempt;
        if let Some(u) = &req.user_info.username {
            if ex.usernames.iter().any(|x| x == u) {
                return true;
            }
        }
        if let Some(groups) = &req.user_info.groups {
            if groups.iter().any(|g| ex.groups.contains(g)) {
                return true;
            }
        }
        if !namespace.is_empty() && any_glob(&ex.namespaces, namespace) {
            return true;
        }
        if !ex.runtime_class_names.is_empty() {
            let spec = pod_spec(json, workload);
            if let Some(rc) = spec
                .and_then(|s| s.get("runtimeClassName"))
                .and_then(|v| v.as_str())
            {
                if ex.runtime_class_names.iter().any(|x| x == rc) {
                    return true;
                }
            }
        }
        false
    }
}

/// Builds an engine over every rule (or the PSS rules only) at a level and version.
fn engine_for(policy: &Policy, level: PssLevel, version: PssVersion, pss_only: bool) -> Engine {
    let mut p = policy.clone();
    p.level = level;
    p.version = version;
    let rules = if pss_only {
        palisade_rules::pss_rules()
    } else {
        palisade_rules::all_rules()
    };
    Engine::new(rules, Context::from_policy(p), Limits::default()).with_parallelism(false)
}

/// Checks one object (as JSON) and returns its findings.
pub fn check(engine: &Engine, json: &serde_json::Value) -> Vec<Finding> {
    check_root(engine, Node::from_json(json))
}

/// [`check`] on an object already turned into a tree.
/// Where each container image of a request's object is written.
fn image_uses(root: &Node, id: &Arc<ObjectRef>) -> Vec<ImageUse> {
    let object = Object {
        file: ADMISSION_FILE.into(),
        id: id.clone(),
        prefix: Vec::new(),
        root: root.clone(),
    };
    match object.pod_view() {
        Ok(view) => object.image_uses(&view),
        Err(_) => Vec::new(),
    }
}

fn check_root(engine: &Engine, root: Node) -> Vec<Finding> {
    let file: Arc<str> = ADMISSION_FILE.into();
    match objects_of(&file, root) {
        Content::Objects(objects) => objects
            .iter()
            .flat_map(|o| engine.check_object(o).findings)
            .collect(),
        Content::Skipped { .. } => Vec::new(),
    }
}

/// The severity that decides: every Pod Security Standards violation is at
/// least high, so that the configured level is always enforced.
pub fn effective_severity(f: &Finding) -> Severity {
    if f.rule.starts_with("pss/") {
        f.severity.max(Severity::High)
    } else {
        f.severity
    }
}

/// The levels and versions that a namespace's Pod Security Admission labels select.
struct PsaLabels {
    enforce: (PssLevel, PssVersion),
    warn: Option<(PssLevel, PssVersion)>,
    audit: Option<(PssLevel, PssVersion)>,
}

impl PsaLabels {
    fn of(
        labels: Option<&BTreeMap<String, String>>,
        level: PssLevel,
        version: PssVersion,
    ) -> PsaLabels {
        let get = |mode: &str| -> Option<(PssLevel, PssVersion)> {
            let labels = labels?;
            let l = labels.get(&format!("{PSA_LABEL}{mode}"))?;
            // An invalid level is read as restricted, as upstream does.
            let l = l.parse::<PssLevel>().unwrap_or(PssLevel::Restricted);
            let v = labels
                .get(&format!("{PSA_LABEL}{mode}-version"))
                .and_then(|v| v.parse::<PssVersion>().ok())
                .unwrap_or(PssVersion::Latest);
            Some((l, v))
        };
        PsaLabels {
            enforce: get("enforce").unwrap_or((level, version)),
            warn: get("warn"),
            audit: get("audit"),
        }
    }
}

/// Sets `apiVersion`, `kind`, `metadata.namespace` and `metadata.name` from
/// the request where the object leaves them out (a Pod created through a
/// namespaced URL need not name its namespace), so exemptions match.
fn fill_identity(
    json: &mut serde_json::Value,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) {
    let Some(obj) = json.as_object_mut() else {
        return;
    };
    obj.entry("apiVersion")
        .or_insert_with(|| api_version.into());
    obj.entry("kind").or_insert_with(|| kind.into());
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let Some(meta) = meta.as_object_mut() {
        if !namespace.is_empty() {
            meta.entry("namespace").or_insert_with(|| namespace.into());
        }
        if !name.is_empty() && !meta.contains_key("name") {
            meta.insert("name".into(), name.into());
        }
    }
}

/// The pod spec of a workload object, if present.
pub fn pod_spec(json: &serde_json::Value, kind: WorkloadKind) -> Option<&serde_json::Value> {
    let mut v = json;
    for k in kind.template_path() {
        v = v.get(k)?;
    }
    v.get("spec")
}

/// Whether an update leaves the pod template (spec and metadata annotations,
/// which older versions used for seccomp and AppArmor) as it was.
fn pod_template_unchanged(
    new: &serde_json::Value,
    old: &serde_json::Value,
    kind: WorkloadKind,
) -> bool {
    let part = |json: &serde_json::Value| {
        let mut v = json;
        for k in kind.template_path() {
            match v.get(k) {
                Some(x) => v = x,
                None => return (None, None),
            }
        }
        (
            v.get("spec").cloned(),
            v.get("metadata")
                .and_then(|m| m.get("annotations"))
                .cloned(),
        )
    };
    let (a, b) = (part(new), part(old));
    a.0.is_some() && a == b
}
