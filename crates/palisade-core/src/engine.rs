//! The engine: from bytes to findings. Every front door (files, stdin, and
//! later the admission webhook) goes through [`Engine`], so they all judge
//! objects the same way and apply the same policy (rule settings,
//! exemptions, inline suppressions).
//!
//! Scanning has two passes so that rules can look across objects and files:
//! [`Engine::index_bytes`] collects what rules need from the whole scan
//! (ServiceAccounts) by parsing only the documents that mention one, then
//! [`Engine::scan_with_index`] parses every document and checks its objects
//! at once, so no object tree outlives its document and memory stays
//! bounded by the input and the findings.

use std::sync::Arc;

use rayon::prelude::*;

use crate::finding::{Finding, InputError, PodInfo, ScanReport, Severity, Skipped};
use crate::loader::{self, Diagnostic, Document, Limits};
use crate::node::{render_path, Node, Seg};
use crate::object::{
    object_ref, objects_of, Content, Object, ObjectRef, PodPart, PodView, ViewError,
};
use crate::policy::{any_glob, glob_match, Date, Exemption, ScanIndex};
use crate::rule::{Context, PssLevel, Rule, RuleMeta, Target, Violation};

/// Rule for a mapping key written twice: YAML parsers keep the last value,
/// so an earlier setting (say, a first `securityContext`) silently vanishes.
pub static DUPLICATE_KEY: RuleMeta = RuleMeta {
    id: "input/duplicate-key",
    title: "Mapping key written twice",
    severity: Severity::Medium,
    level: None,
    rationale: "When a key appears twice in one mapping, kubectl and the API server keep only the last value. A reviewer reading the first occurrence (for example a hardened securityContext) sees a setting that is not applied.",
    remediation: "Remove or merge the duplicate key so that each field is written once.",
    references: &["https://yaml.org/spec/1.2.2/#mapping"],
};

/// An exemption in the policy file whose `expires` date has passed.
pub static EXPIRED_EXEMPTION: RuleMeta = RuleMeta {
    id: "policy/expired-exemption",
    title: "Exemption has expired",
    severity: Severity::Low,
    level: None,
    rationale: "Exemptions are granted for a time; once expired they no longer apply, and the findings they hid are reported again. The stale entry should be renewed with a new reason or removed.",
    remediation: "Fix the exempted workloads and remove the exemption, or renew it with a new expires date and reason.",
    references: &["https://github.com/palisade-sec/palisade/blob/main/docs/policy.md#exemptions"],
};

/// A `palisade.dev/ignore` annotation without a reason, or for a rule the
/// policy does not let workloads suppress.
pub static IGNORE_ANNOTATION: RuleMeta = RuleMeta {
    id: "policy/ignore-annotation",
    title: "Inline suppression is not honoured",
    severity: Severity::Low,
    level: None,
    rationale: "An inline suppression must say why, and may only silence rules that the policy file lets workload owners suppress (suppressions.inline); otherwise a workload could exempt itself from a rule the platform team enforces.",
    remediation: "Write the annotation as palisade.dev/ignore: \"<rule>[,<rule>]: <reason>\", and ask the policy owners to allow the rule under suppressions.inline or to add an exemption.",
    references: &["https://github.com/palisade-sec/palisade/blob/main/docs/policy.md#inline-suppressions"],
};

/// The annotation that suppresses findings on one object.
pub const IGNORE_ANNOTATION_KEY: &str = "palisade.dev/ignore";

/// Below this many documents a file is parsed on one thread.
const PARALLEL_THRESHOLD: usize = 64;

/// The rules and the policy, ready to check input.
pub struct Engine {
    rules: Vec<Box<dyn Rule>>,
    /// Per rule (same order): enabled, and the severity to report.
    settings: Vec<(bool, Severity)>,
    ctx: Context,
    limits: Limits,
    parallel: bool,
    today: Date,
    /// Objects to keep for whole-input analysis, by `(apiVersion, kind)`;
    /// when set, workloads' pod identities are collected too.
    keep: Option<fn(&str, &str) -> bool>,
    /// Whether collected pods list their images (for the registry rules).
    images: bool,
}

/// Adds the ServiceAccounts of `objects` to `idx`.
fn index_objects(objects: &[Object], idx: &mut ScanIndex) {
    for obj in objects {
        if obj.id.kind == "ServiceAccount" && obj.id.api_version == "v1" {
            let automount = obj
                .root
                .get("automountServiceAccountToken")
                .and_then(Node::as_bool);
            idx.service_accounts.insert(
                (
                    obj.id.namespace.clone().unwrap_or_default(),
                    obj.id.name.clone(),
                ),
                automount,
            );
        }
    }
}

impl Engine {
    /// An engine running `rules` under `ctx`.
    pub fn new(rules: Vec<Box<dyn Rule>>, ctx: Context, limits: Limits) -> Self {
        let settings = rules
            .iter()
            .map(|r| {
                let meta = r.meta();
                let enabled = !(ctx.level == PssLevel::Privileged && meta.level.is_some());
                ctx.policy.setting(meta.id, enabled, meta.severity)
            })
            .collect();
        Engine {
            rules,
            settings,
            ctx,
            limits,
            parallel: true,
            today: Date::today(),
            keep: None,
            images: false,
        }
    }

    /// Lists every container image of the collected pods (see
    /// [`Engine::with_collection`]), with its location: the input of the
    /// rules that ask the registry.
    pub fn with_image_uses(mut self) -> Self {
        self.images = true;
        self
    }

    /// Collects, into each report, the objects `keep` selects (by apiVersion
    /// and kind) and every workload's ServiceAccount and token: the input of
    /// whole-scan analyses such as RBAC.
    pub fn with_collection(mut self, keep: fn(&str, &str) -> bool) -> Self {
        self.keep = Some(keep);
        self
    }

    /// Checks documents of a large file on several threads (the default) or on one.
    pub fn with_parallelism(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// Judges exemption expiry as of `today` (default: the current UTC date).
    pub fn with_today(mut self, today: Date) -> Self {
        self.today = today;
        self
    }

    /// The policy.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The input limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Catalog entries of the rules this engine runs.
    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.rules.iter().map(|r| r.meta())
    }

    /// Indexes and checks the content of one file on its own.
    pub fn scan_bytes(&self, file: &str, bytes: &[u8]) -> ScanReport {
        let mut idx = ScanIndex::default();
        self.index_bytes(bytes, &mut idx);
        self.scan_with_index(file, bytes, &idx)
    }

    /// First pass: adds what cross-object rules need (ServiceAccounts) from
    /// one file to `idx`. Only documents that contain the word
    /// `ServiceAccount` are parsed; errors are left to the second pass.
    pub fn index_bytes(&self, bytes: &[u8], idx: &mut ScanIndex) {
        const NEEDLE: &[u8] = b"ServiceAccount";
        if memchr::memmem::find(bytes, NEEDLE).is_none() {
            return;
        }
        let Ok(text) = loader::decode(bytes, &self.limits) else {
            return;
        };
        let file: Arc<str> = Arc::from("");
        for chunk in loader::split_documents(text) {
            if memchr::memmem::find(chunk.text.as_bytes(), NEEDLE).is_none() {
                continue;
            }
            for doc in loader::load_chunk(chunk, &self.limits).documents {
                if let Content::Objects(objects) = objects_of(&file, doc.root) {
                    index_objects(&objects, idx);
                }
            }
        }
    }

    /// Second pass: parses one file and checks every object as soon as its
    /// document is read (`file` names it in the report).
    pub fn scan_with_index(&self, file: &str, bytes: &[u8], idx: &ScanIndex) -> ScanReport {
        let file: Arc<str> = file.into();
        let mut report = ScanReport::default();
        report.summary.files = 1;
        let text = match loader::decode(bytes, &self.limits) {
            Ok(t) => t,
            Err(d) => {
                push_error(&mut report, &file, d);
                return report;
            }
        };
        let chunks = loader::split_documents(text);
        let scan_chunk = |chunk, out: &mut ScanReport| {
            let loaded = loader::load_chunk(chunk, &self.limits);
            for doc in loaded.documents {
                self.scan_document(&file, doc, idx, out);
            }
            for d in loaded.errors {
                push_error(out, &file, d);
            }
        };
        if self.parallel && chunks.len() >= PARALLEL_THRESHOLD {
            // Batches keep the merge cheap and the order of the input.
            let parts: Vec<ScanReport> = chunks
                .par_chunks(64)
                .map(|batch| {
                    let mut r = ScanReport::default();
                    let bytes: usize = batch.iter().map(|c| c.text.len()).sum();
                    r.findings.reserve(bytes / FINDINGS_PER_BYTES);
                    for &c in batch {
                        scan_chunk(c, &mut r);
                    }
                    r
                })
                .collect();
            report
                .findings
                .reserve(parts.iter().map(|p| p.findings.len()).sum());
            for part in parts {
                report.merge(part);
            }
        } else {
            report.findings.reserve(text.len() / FINDINGS_PER_BYTES);
            for chunk in chunks {
                scan_chunk(chunk, &mut report);
            }
        }
        report
    }

    fn scan_document(
        &self,
        file: &Arc<str>,
        doc: Document,
        idx: &ScanIndex,
        report: &mut ScanReport,
    ) {
        report.summary.documents += 1;
        let line = doc.root.pos.line;
        if !doc.duplicate_keys.is_empty() {
            let id = Arc::new(object_ref(&doc.root).unwrap_or_default());
            for dup in &doc.duplicate_keys {
                let finding = Finding {
                    rule: DUPLICATE_KEY.id,
                    severity: DUPLICATE_KEY.severity,
                    message: format!(
                        "key {:?} is written again (first at line {}); only this last value is used",
                        dup.key, dup.first.line
                    ),
                    object: id.clone(),
                    container: None,
                    path: String::new(),
                    file: file.clone(),
                    line: dup.again.line,
                    column: dup.again.col,
                    remediation: DUPLICATE_KEY.remediation,
                };
                if let Some(f) = self.with_setting(DUPLICATE_KEY.id, finding) {
                    push_finding(report, f);
                }
            }
        }
        match objects_of(file, doc.root) {
            Content::Skipped { reason } => {
                report.summary.skipped += 1;
                report.skipped.push(Skipped {
                    file: file.clone(),
                    line,
                    reason,
                });
            }
            Content::Objects(objects) => {
                for obj in &objects {
                    self.scan_object(obj, idx, report);
                }
            }
        }
    }

    /// Checks one object and appends its findings (and errors) to `report`.
    pub fn scan_object(&self, obj: &Object, idx: &ScanIndex, report: &mut ScanReport) {
        report.summary.objects += 1;
        let pod = match obj.pod_view() {
            Ok(v) => Some(v),
            Err(ViewError::NotWorkload) => {
                *report
                    .summary
                    .other_kinds
                    .entry(obj.id.kind.clone())
                    .or_default() += 1;
                None
            }
            Err(ViewError::MissingSpec { path }) => {
                let segs: Vec<Seg> = path
                    .split('.')
                    .map(|k| Seg::Key(k.to_string().into()))
                    .collect();
                let pos = obj.locate(&segs);
                report.summary.errors += 1;
                report.errors.push(InputError {
                    file: obj.file.clone(),
                    line: pos.line,
                    column: pos.col,
                    message: format!(
                        "{} {:?} has no pod spec at {path}; it cannot be checked",
                        obj.id.kind, obj.id.name
                    ),
                });
                return;
            }
        };
        if pod.is_some() {
            report.summary.workloads += 1;
        }
        if let Some(keep) = self.keep {
            if keep(&obj.id.api_version, &obj.id.kind) {
                report.kept.push(obj.clone());
            }
            if let Some(view) = &pod {
                let mut info = pod_info(obj, view, idx);
                if self.images {
                    info.images = obj.image_uses(view);
                }
                report.pods.push(info);
            }
        }
        let suppress = InlineSuppression::of(obj, &self.ctx.policy.inline_suppressions);
        if let Some(f) = suppress.problem(obj) {
            if let Some(f) = self.with_setting(IGNORE_ANNOTATION.id, f) {
                push_finding(report, f);
            }
        }
        let target = Target {
            object: obj,
            pod,
            index: idx,
        };
        let mut violations = Vec::new();
        for (rule, &(enabled, severity)) in self.rules.iter().zip(&self.settings) {
            if !enabled {
                continue;
            }
            violations.clear();
            rule.check(&target, &self.ctx, &mut violations);
            let meta = rule.meta();
            for v in violations.drain(..) {
                if suppress.covers(meta.id)
                    || self.exempt(obj, meta.id, v.container.as_deref(), &target)
                {
                    report.summary.suppressed += 1;
                    continue;
                }
                let mut finding = locate(obj, meta, v);
                finding.severity = severity;
                push_finding(report, finding);
            }
        }
    }

    /// Checks one object on its own and returns its findings: the admission path.
    pub fn check_object(&self, obj: &Object) -> ScanReport {
        let mut report = ScanReport::default();
        self.scan_object(obj, &ScanIndex::default(), &mut report);
        report
    }

    /// Findings about the policy itself (expired exemptions), reported once per scan.
    pub fn policy_findings(&self) -> Vec<Finding> {
        let policy = &self.ctx.policy;
        let file: Arc<str> = policy.file.as_deref().unwrap_or("palisade.yaml").into();
        let (enabled, severity) = self
            .rule_setting(EXPIRED_EXEMPTION.id)
            .unwrap_or((true, EXPIRED_EXEMPTION.severity));
        if !enabled {
            return Vec::new();
        }
        policy
            .exemptions
            .iter()
            .filter(|e| e.expires.is_some_and(|d| d < self.today))
            .map(|e| Finding {
                rule: EXPIRED_EXEMPTION.id,
                severity,
                message: format!(
                    "exemption for {} expired on {} (reason: {:?}{}); it no longer applies",
                    e.rules.join(", "),
                    e.expires.map(|d| d.to_string()).unwrap_or_default(),
                    e.reason,
                    e.owner
                        .as_deref()
                        .map(|o| format!(", owner: {o}"))
                        .unwrap_or_default()
                ),
                object: Arc::new(ObjectRef {
                    api_version: "palisade.dev/v1alpha1".into(),
                    kind: "Policy".into(),
                    namespace: None,
                    name: String::new(),
                }),
                container: None,
                path: String::new(),
                file: file.clone(),
                line: e.line,
                column: 1,
                remediation: EXPIRED_EXEMPTION.remediation,
            })
            .collect()
    }

    fn rule_setting(&self, id: &str) -> Option<(bool, Severity)> {
        let meta_sev = [&DUPLICATE_KEY, &EXPIRED_EXEMPTION, &IGNORE_ANNOTATION]
            .into_iter()
            .find(|m| m.id == id)
            .map(|m| m.severity)?;
        Some(self.ctx.policy.setting(id, true, meta_sev))
    }

    /// Applies the policy to findings of a whole-scan analysis (RBAC, Rego),
    /// produced outside this engine's rules: per-rule `enabled` and
    /// `severity` settings (by id or glob) and exemptions (by namespace,
    /// name and kind; image matches apply to container findings only, so
    /// not here). Kept findings are appended to `report` and counted;
    /// exempted ones are counted as suppressed.
    pub fn apply_policy(&self, findings: Vec<Finding>, report: &mut ScanReport) {
        self.apply_image_policy(findings.into_iter().map(|f| (f, None)), report);
    }

    /// [`Engine::apply_policy`] for findings about an image: exemptions
    /// that match images (`match.images`) apply to them too.
    pub fn apply_image_policy(
        &self,
        findings: impl IntoIterator<Item = (Finding, Option<String>)>,
        report: &mut ScanReport,
    ) {
        let policy = &self.ctx.policy;
        for (mut f, image) in findings {
            let (enabled, severity) = policy.setting(f.rule, true, f.severity);
            if !enabled {
                continue;
            }
            f.severity = severity;
            let exempt = policy.exemptions.iter().any(|e| {
                let image_matches = e.images.is_empty()
                    || image.as_deref().is_some_and(|img| any_glob(&e.images, img));
                image_matches && e.covers(f.rule, &f.object, self.today)
            });
            if exempt {
                report.summary.suppressed += 1;
            } else {
                push_finding(report, f);
            }
        }
    }

    /// Applies the policy's settings to a finding of an engine rule.
    fn with_setting(&self, id: &str, mut f: Finding) -> Option<Finding> {
        let (enabled, severity) = self.rule_setting(id)?;
        f.severity = severity;
        enabled.then_some(f)
    }

    fn exempt(&self, obj: &Object, rule: &str, container: Option<&str>, t: &Target<'_>) -> bool {
        self.ctx
            .policy
            .exemptions
            .iter()
            .any(|e| self.exemption_applies(e, obj, rule, container, t))
    }

    fn exemption_applies(
        &self,
        e: &Exemption,
        obj: &Object,
        rule: &str,
        container: Option<&str>,
        t: &Target<'_>,
    ) -> bool {
        if !e.covers(rule, &obj.id, self.today) {
            return false;
        }
        if !e.images.is_empty() {
            // Only findings about a container running a matching image.
            let image = container.and_then(|name| container_image(t, name));
            return image.is_some_and(|img| any_glob(&e.images, img));
        }
        true
    }
}

/// The image of the named container of a workload.
fn container_image<'a>(t: &Target<'a>, name: &str) -> Option<&'a str> {
    let spec = t.pod?.spec;
    ["initContainers", "containers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| spec.get(list).map(Node::items).unwrap_or_default())
        .find(|c| c.get("name").and_then(Node::as_str) == Some(name))
        .and_then(|c| c.get("image"))
        .and_then(Node::as_str)
}

/// An object's `palisade.dev/ignore` annotation, as far as the policy honours it.
struct InlineSuppression {
    /// Rules the annotation names and the policy lets it suppress.
    honoured: Vec<String>,
    /// What is wrong with the annotation, if anything.
    problem: Option<(String, Vec<Seg>)>,
}

impl InlineSuppression {
    fn of(obj: &Object, allowed: &[String]) -> Self {
        let mut s = InlineSuppression {
            honoured: Vec::new(),
            problem: None,
        };
        let Some(value) = obj
            .root
            .get_path(&["metadata", "annotations", IGNORE_ANNOTATION_KEY])
            .and_then(Node::as_str)
        else {
            return s;
        };
        let path = vec![
            Seg::key("metadata"),
            Seg::key("annotations"),
            Seg::key(IGNORE_ANNOTATION_KEY),
        ];
        let (rules, reason) = value.split_once(':').unwrap_or((value, ""));
        if reason.trim().is_empty() {
            s.problem = Some((
                format!("annotation {IGNORE_ANNOTATION_KEY}={value:?} gives no reason; it is not honoured (write \"<rule>[,<rule>]: <reason>\")"),
                path,
            ));
            return s;
        }
        let mut refused = Vec::new();
        for rule in rules.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if any_glob(allowed, rule) {
                s.honoured.push(rule.to_string());
            } else {
                refused.push(rule);
            }
        }
        if !refused.is_empty() {
            s.problem = Some((
                format!(
                    "annotation {IGNORE_ANNOTATION_KEY} asks to suppress {} but the policy does not allow inline suppression of {} (suppressions.inline)",
                    refused.join(", "),
                    if refused.len() == 1 { "it" } else { "them" }
                ),
                path,
            ));
        }
        s
    }

    fn covers(&self, rule: &str) -> bool {
        self.honoured.iter().any(|r| glob_match(r, rule))
    }

    fn problem(&self, obj: &Object) -> Option<Finding> {
        let (message, path) = self.problem.as_ref()?;
        let v = Violation {
            message: message.clone(),
            container: None,
            path: path.clone(),
        };
        Some(locate(obj, &IGNORE_ANNOTATION, v))
    }
}

fn locate(obj: &Object, meta: &RuleMeta, v: Violation) -> Finding {
    let pos = obj.locate(&v.path);
    Finding {
        rule: meta.id,
        severity: meta.severity,
        message: v.message,
        object: obj.id.clone(),
        container: v.container,
        path: render_path(&v.path),
        file: obj.file.clone(),
        line: pos.line,
        column: pos.col,
        remediation: meta.remediation,
    }
}

/// The ServiceAccount identity of a workload's pods.
fn pod_info(obj: &Object, view: &PodView<'_>, idx: &ScanIndex) -> PodInfo {
    let spec = view.spec;
    let (sa, key) = view.service_account();
    let namespace = obj.id.namespace.clone().unwrap_or_default();
    let automount = match spec
        .get("automountServiceAccountToken")
        .and_then(Node::as_bool)
    {
        Some(b) => b,
        None => !matches!(
            idx.service_accounts
                .get(&(namespace.clone(), sa.to_string())),
            Some(Some(false))
        ),
    };
    let projected = spec.get("volumes").is_some_and(|vols| {
        vols.items().iter().any(|v| {
            v.get_path(&["projected", "sources"]).is_some_and(|s| {
                s.items()
                    .iter()
                    .any(|src| src.get("serviceAccountToken").is_some())
            })
        })
    });
    let rel: Vec<Seg> = key.map(|k| vec![Seg::key(k)]).unwrap_or_default();
    let pos = obj.locate(&view.path(PodPart::Spec, &rel));
    PodInfo {
        object: obj.id.clone(),
        file: obj.file.clone(),
        line: pos.line,
        column: pos.col,
        namespace,
        service_account: sa.to_string(),
        token_mounted: automount || projected,
        images: Vec::new(),
    }
}

/// Input bytes per finding of room reserved ahead of a scan, so a list of
/// findings rarely moves as it grows (each doubling copies it into fresh
/// pages); room never used is never touched. A generated corpus of insecure
/// and hardened workloads has one finding per 210 bytes with every pack on.
const FINDINGS_PER_BYTES: usize = 256;

fn push_finding(report: &mut ScanReport, f: Finding) {
    *report.summary.findings.entry(f.severity).or_default() += 1;
    report.findings.push(f);
}

fn push_error(report: &mut ScanReport, file: &Arc<str>, d: Diagnostic) {
    report.summary.errors += 1;
    report.errors.push(InputError {
        file: file.clone(),
        line: d.pos.line,
        column: d.pos.col,
        message: d.message,
    });
}
