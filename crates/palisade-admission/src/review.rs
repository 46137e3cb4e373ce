//! The admission decision: one AdmissionReview request in, `allowed`,
//! status message, warnings and audit annotations out. Pure: no I/O, so the
//! same function serves the HTTPS handler, the tests and the benchmark.
//!
//! Objects are checked by the same [`Engine`], rules and policy as
//! `palisade scan`; what differs is only what a finding does (deny, warn or
//! record) in the request's namespace.
//! <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/>
//!
//! A validating review runs in named stages: gate and identity
//! (`review/request.rs`: the request's object is read once, as a core
//! object and as JSON), exemptions, findings (the rules, the registry's
//! answers, the Gatekeeper review of `review/constraints.rs`), the
//! namespace's mode (`review/verdict.rs`) and the Pod Security Admission
//! warn and audit labels (`review/psa.rs`). The texts a decision carries
//! are in `review/messages.rs`; this file holds the `Evaluator`.

mod constraints;
mod messages;
mod psa;
mod request;
mod verdict;

use constraints::ConstraintReview;
use messages::operation_name;
use psa::PsaLabels;
pub use request::{api_version, pod_spec, Read, Skip};
use verdict::Found;

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
use palisade_scan::{Objects, Scan};
use palisade_supply::{Checked, Supply};

/// The file name findings of admitted objects carry.
const ADMISSION_FILE: &str = "<admission>";

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

/// Evaluates admission requests against one policy.
pub struct Evaluator {
    policy: Arc<Policy>,
    /// The scan at the policy's own level and version.
    scan: Arc<Scan>,
    /// Scans at the levels and versions that namespace labels ask for,
    /// built on first use.
    by_level: Mutex<HashMap<(PssLevel, PssVersion), Arc<Scan>>>,
    /// Scans with the Pod Security Standards rules only, for the `warn`
    /// and `audit` namespace labels.
    pss_only: Mutex<HashMap<(PssLevel, PssVersion), Arc<Scan>>>,
    /// The image rules alone, for `/imagereview`.
    images: Scan,
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
    /// Builds the scans of `policy`.
    pub fn new(policy: Policy) -> Self {
        let policy = Arc::new(policy);
        let scan = Arc::new(scan_for(&policy, policy.level, policy.version, false));
        let images = single_object_scan(Engine::new(
            palisade_rules::boxed(palisade_rules::image::RULES),
            Context::from_policy((*policy).clone()),
            Limits::default(),
        ));
        // Warm up: the first check builds the secret detectors and the
        // image-reference parser, which should not count against a request.
        let warm = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "warm-up", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "registry.example/app:1",
                "env": [{"name": "PASSWORD", "value": "x"}]}]}});
        let _ = check(&scan, &warm);
        let _ = check(&images, &warm);
        Evaluator {
            policy,
            scan,
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
        self.images_of(req, &Read::of(req))
    }

    /// [`Evaluator::images_to_check`] of a request already read.
    pub fn images_of(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        read: &Result<Read, Skip>,
    ) -> Vec<String> {
        let (Some(supply), Ok(r)) = (&self.supply, read) else {
            return Vec::new();
        };
        if self.exempt_request(req, r) {
            return Vec::new();
        }
        let mut images: Vec<String> = r
            .images()
            .into_iter()
            .filter(|image| supply.wants(image))
            .map(str::to_string)
            .collect();
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
        let object = Object {
            file: ADMISSION_FILE.into(),
            id: Arc::new(object_ref(&root).unwrap_or_default()),
            prefix: Vec::new(),
            root,
        };
        self.online_findings(self.images.engine(), &object, online)
    }

    /// The registry findings of the images of `object` (the object of a
    /// request), with the policy's settings and exemptions applied.
    fn online_findings(
        &self,
        engine: &Engine,
        object: &Object,
        online: Option<&Online>,
    ) -> Vec<Finding> {
        let (Some(supply), Some(online)) = (&self.supply, online) else {
            return Vec::new();
        };
        let findings = supply.findings_of(online, &image_uses(object), &object.id, &object.file);
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
    pub fn image_scan(&self) -> &Scan {
        &self.images
    }

    fn scan_at(&self, level: PssLevel, version: PssVersion, pss_only: bool) -> Arc<Scan> {
        if !pss_only && level == self.policy.level && version == self.policy.version {
            return self.scan.clone();
        }
        let cache = if pss_only {
            &self.pss_only
        } else {
            &self.by_level
        };
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry((level, version))
            .or_insert_with(|| Arc::new(scan_for(&self.policy, level, version, pss_only)))
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
        self.validate_read(req, &Read::of(req), online)
    }

    /// Decides a validating request already read, in named stages: gate
    /// and identity (done by [`Read::of`]), exemptions, findings, the
    /// namespace's mode, then the Pod Security Admission warn and audit
    /// labels.
    pub fn validate_read(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        read: &Result<Read, Skip>,
        online: Option<&Online>,
    ) -> Decision {
        let namespace = req.namespace.clone().unwrap_or_default();
        let labels = self.namespace_labels(&namespace);
        let mut d = Decision::new(req, self.mode_for(&namespace, labels.as_ref()), "allow");
        let r = match read {
            Ok(r) => r,
            Err(skip) => return self.skipped(d, req, skip),
        };
        d.name = r.name.clone();
        if self.exempt_request(req, r) {
            d.outcome = "exempt";
            return d;
        }
        if r.template_unchanged(&req.operation) {
            return d;
        }
        let psa = PsaLabels::of(labels.as_ref(), self.policy.level, self.policy.version);
        let found = match self.findings(req, r, &psa, labels.as_ref(), online) {
            Ok(found) => found,
            Err(e) => {
                // Fail closed: an object that could not be checked is not admitted.
                tracing::error!("admission check failed: {e}");
                d.outcome = "deny";
                d.response = d
                    .response
                    .deny(format!("palisade: the object could not be checked: {e}"));
                d.response.result.code = 500;
                d.response.result.reason = "InternalError".into();
                return d;
            }
        };
        let mut verdict = verdict::judge(
            &mut d,
            req,
            &found.findings,
            self.policy.admission_threshold,
        );
        psa.apply(
            r,
            |level, version| self.scan_at(level, version, true),
            &mut verdict,
        );
        verdict.finish(d, found.dryrun, found.annotations, req.dry_run)
    }

    /// A request with nothing to check: skipped, or refused when it is of
    /// a kind the policy does not admit unchecked or has no readable object.
    fn skipped(
        &self,
        mut d: Decision,
        req: &AdmissionRequest<DynamicObject>,
        skip: &Skip,
    ) -> Decision {
        let refuse = |mut d: Decision, code: u16, reason: &str, message: String| {
            d.outcome = "deny";
            d.response = AdmissionResponse::from(req).deny(message);
            d.response.result.code = code;
            d.response.result.reason = reason.into();
            d
        };
        d.outcome = "skip";
        match skip {
            Skip::NotChecked => d,
            Skip::UnknownKind(kind) if self.policy.admission.allow_unknown_kinds => {
                d.response.warnings = Some(vec![format!(
                    "palisade: {kind} is not a workload kind palisade checks; admitted unchecked"
                )]);
                d
            }
            Skip::UnknownKind(kind) => refuse(d, 403, "Forbidden", format!(
                "palisade: {kind} is not a workload kind palisade checks, and the policy denies unknown kinds"
            )),
            Skip::NoObject => refuse(
                d,
                400,
                "BadRequest",
                "palisade: the request has no object".into(),
            ),
            Skip::Unreadable(e) => refuse(
                d,
                400,
                "BadRequest",
                format!("palisade: the object cannot be read: {e}"),
            ),
        }
    }

    /// The findings stage: the rules at the level the namespace enforces,
    /// the registry's answers, and the Gatekeeper constraints.
    fn findings(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        r: &Read,
        psa: &PsaLabels,
        labels: Option<&BTreeMap<String, String>>,
        online: Option<&Online>,
    ) -> Result<Found, String> {
        let scan = self.scan_at(psa.enforce.0, psa.enforce.1, false);
        let mut findings = scan_objects(&scan, r.objects())?;
        findings.extend(self.online_findings(scan.engine(), r.object(), online));
        let mut dryrun: Vec<String> = Vec::new();
        let mut annotations = BTreeMap::new();
        if let Some(set) = &self.constraints {
            let review = ConstraintReview {
                req,
                json: &r.json,
                old: r.old.as_ref(),
                namespace: &r.namespace,
                labels,
                id: r.object().id.clone(),
            };
            review.run(set, &mut findings, &mut dryrun, &mut annotations);
        }
        Ok(Found {
            findings,
            dryrun,
            annotations,
        })
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
        self.mutate_read(req, &Read::of(req), online)
    }

    /// [`Evaluator::mutate_with`] of a request already read.
    pub fn mutate_read(
        &self,
        req: &AdmissionRequest<DynamicObject>,
        read: &Result<Read, Skip>,
        online: Option<&Online>,
    ) -> Decision {
        let namespace = req.namespace.clone().unwrap_or_default();
        let mut d = Decision::new(req, self.mode_of(&namespace), "skip");
        let m = &self.policy.admission.mutations;
        let pin = self.policy.images.mutate_digest && online.is_some();
        if !(m.any() || pin) || req.sub_resource.is_some() {
            return d;
        }
        let Ok(r) = read else {
            return d;
        };
        let applies = match req.operation {
            Operation::Create => true,
            Operation::Update => r.workload != WorkloadKind::Pod,
            _ => false,
        };
        if !applies || self.exempt_request(req, r) {
            return d;
        }
        let mut p = crate::mutate::patch(&r.json, r.workload, m);
        if let Some(online) = online.filter(|_| pin) {
            p.0.extend(crate::mutate::pin_digests(&image_uses(r.object()), online));
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

    /// Whether the request is exempt as Pod Security Admission exempts
    /// requests: by user, group, namespace or the pod's runtime class.
    fn exempt_request(&self, req: &AdmissionRequest<DynamicObject>, r: &Read) -> bool {
        let ex = &self.policy.admission.exempt;
        let user = req.user_info.username.as_ref();
        let groups = req.user_info.groups.as_deref().unwrap_or_default();
        user.is_some_and(|u| ex.usernames.contains(u))
            || groups.iter().any(|g| ex.groups.contains(g))
            || (!r.namespace.is_empty() && any_glob(&ex.namespaces, &r.namespace))
            || (!ex.runtime_class_names.is_empty()
                && r.runtime_class()
                    .is_some_and(|rc| ex.runtime_class_names.iter().any(|x| x == rc)))
    }
}

/// The scan over every rule (or the PSS rules only) at a level and version.
fn scan_for(policy: &Policy, level: PssLevel, version: PssVersion, pss_only: bool) -> Scan {
    let mut p = policy.clone();
    p.level = level;
    p.version = version;
    let rules = if pss_only {
        palisade_rules::pss_rules()
    } else {
        palisade_rules::all_rules()
    };
    single_object_scan(Engine::new(
        rules,
        Context::from_policy(p),
        Limits::default(),
    ))
}

/// A scan for one request's object: no threads, no whole-input analyses
/// (the registry's answers and the Gatekeeper review are stages of their
/// own, with the request's context).
fn single_object_scan(engine: Engine) -> Scan {
    Scan::new(engine.with_parallelism(false)).with_parallelism(false)
}

/// The findings of `objects`, through the scan pipeline as an [`Objects`]
/// source. Such a scan reads no file and runs no analysis, so an error
/// would be a bug; callers fail closed on it.
fn scan_objects(scan: &Scan, objects: &Arc<[Object]>) -> Result<Vec<Finding>, String> {
    let source: Box<dyn palisade_scan::Source> = Box::new(Objects(objects.clone()));
    scan.collect(vec![source])
        .map(|report| report.findings)
        .map_err(|e| e.to_string())
}

/// Checks one object (as JSON) and returns its findings.
pub fn check(scan: &Scan, json: &serde_json::Value) -> Result<Vec<Finding>, String> {
    let file: Arc<str> = ADMISSION_FILE.into();
    match objects_of(&file, Node::from_json(json)) {
        Content::Objects(objects) => scan_objects(scan, &objects.into()),
        Content::Skipped { .. } => Ok(Vec::new()),
    }
}

/// Where each container image of a request's object is written.
fn image_uses(object: &Object) -> Vec<ImageUse> {
    match object.pod_view() {
        Ok(view) => object.image_uses(&view),
        Err(_) => Vec::new(),
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

#[cfg(test)]
mod tests;
