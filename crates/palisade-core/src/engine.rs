//! The engine: from text to findings for the built-in rules. Every front
//! door (files, stdin, the admission webhook, a cluster listing) checks
//! objects through [`Engine`], so they all judge objects the same way, and
//! every finding passes the policy [`Gate`] once.
//!
//! Checking has two passes so that rules can look across objects and
//! files: [`Engine::index_text`] collects what rules need from the whole
//! input (ServiceAccounts) by parsing only the documents that mention one,
//! then [`Engine::scan_text`] parses every document and checks its objects
//! at once, so no object tree outlives its document. The scan pipeline
//! (`palisade-scan`) drives both passes over its sources and streams each
//! piece's findings to the report writer.

use std::collections::HashSet;
use std::sync::Arc;

use rayon::prelude::*;

use crate::finding::{redacted, Finding, InputError, PodInfo, ScanReport, Severity, Skipped};
use crate::gate::{Gate, InlineSuppression, Setting, Verdict};
use crate::loader::{self, Diagnostic, Document, Limits};
use crate::node::{render_path, Node, Seg, Value};
use crate::object::{
    object_ref, objects_of, Content, Object, ObjectRef, PodPart, PodView, ViewError,
};
use crate::policy::{Date, ScanIndex};
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

pub use crate::gate::{IGNORE_ANNOTATION, IGNORE_ANNOTATION_KEY};

/// Below this many documents a file is parsed on one thread.
const PARALLEL_THRESHOLD: usize = 64;

/// The rules and the policy, ready to check input.
pub struct Engine {
    rules: Vec<Box<dyn Rule>>,
    /// Per rule (same order): enabled, and the severity to report.
    settings: Vec<Setting>,
    ctx: Context,
    limits: Limits,
    parallel: bool,
    today: Date,
    /// Objects to keep for whole-input analysis, by `(apiVersion, kind)`;
    /// when set, workloads' pod identities are collected too.
    keep: Vec<fn(&str, &str) -> bool>,
    /// Objects kept by what they hold, not only by kind.
    select: Vec<fn(&Object) -> bool>,
    /// Whether collected pods list their images (for the registry rules).
    images: bool,
}

/// Adds the ServiceAccounts of `objects` to `idx`: the index pass for
/// objects that are already in memory (a request, a cluster listing).
pub fn index_objects(objects: &[Object], idx: &mut ScanIndex) {
    for obj in objects {
        if obj.id.kind == "ServiceAccount" && obj.id.api_version == "v1" {
            let automount = obj
                .root
                .get("automountServiceAccountToken")
                .and_then(Node::as_bool);
            let key = (
                obj.id.namespace.clone().unwrap_or_default(),
                obj.id.name.clone(),
            );
            idx.add_service_account(key, automount);
        }
    }
}

impl Engine {
    /// An engine running `rules` under `ctx`.
    pub fn new(rules: Vec<Box<dyn Rule>>, ctx: Context, limits: Limits) -> Self {
        crate::object::register_workloads(&ctx.policy.workloads);
        let settings = rules
            .iter()
            .map(|r| {
                let meta = r.meta();
                let enabled = !(ctx.level == PssLevel::Privileged && meta.level.is_some());
                let (enabled, severity) = ctx.policy.setting(meta.id, enabled, meta.severity);
                Setting { enabled, severity }
            })
            .collect();
        Engine {
            rules,
            settings,
            ctx,
            limits,
            parallel: true,
            today: Date::today(),
            keep: Vec::new(),
            select: Vec::new(),
            images: false,
        }
    }

    /// Collects every workload's pod identity with the images of its
    /// containers and their locations: the input of the rules that ask the
    /// registry.
    pub fn with_image_uses(mut self) -> Self {
        self.images = true;
        self
    }

    /// Collects, into each report, the objects `keep` selects (by apiVersion
    /// and kind) and every workload's ServiceAccount and token: the input of
    /// whole-scan analyses such as RBAC.
    /// Called again, it keeps what any of the selectors selects.
    pub fn with_collection(mut self, keep: fn(&str, &str) -> bool) -> Self {
        self.keep.push(keep);
        self
    }

    /// Also collects the objects `select` picks by their content (a Pod that
    /// runs kube-apiserver), for analyses that would keep too much by kind.
    pub fn with_selection(mut self, select: fn(&Object) -> bool) -> Self {
        self.select.push(select);
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

    /// The policy gate every finding passes through.
    pub fn gate(&self) -> Gate<'_> {
        Gate::new(&self.ctx.policy, self.today)
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

    /// First pass over a whole file: see [`Engine::index_text`]. Files
    /// that cannot be decoded are left to the second pass, which reports them.
    pub fn index_bytes(&self, bytes: &[u8], idx: &mut ScanIndex) {
        if memchr::memmem::find(bytes, SERVICE_ACCOUNT).is_none() {
            return;
        }
        if let Ok(text) = loader::decode(bytes, &self.limits) {
            self.index_text(text, idx);
        }
    }

    /// First pass: adds what cross-object rules need (ServiceAccounts) from
    /// whole documents of text to `idx`. Only documents that contain the
    /// word `ServiceAccount` are parsed; errors are left to the second pass.
    pub fn index_text(&self, text: &str, idx: &mut ScanIndex) {
        if memchr::memmem::find(text.as_bytes(), SERVICE_ACCOUNT).is_none() {
            return;
        }
        let file: Arc<str> = Arc::from("");
        for chunk in loader::split_documents(text) {
            if memchr::memmem::find(chunk.text.as_bytes(), SERVICE_ACCOUNT).is_none() {
                continue;
            }
            for doc in loader::load_chunk(chunk, &self.limits).documents {
                if let Content::Objects(objects) = objects_of(&file, doc.root) {
                    index_objects(&objects, idx);
                }
            }
        }
    }

    /// Second pass over a piece of a file: whole documents of text that
    /// start on line `line_offset + 1` of `file`. Every document is parsed
    /// and its objects checked at once; findings, errors and counts go to
    /// `report` (the caller counts the file).
    pub fn scan_text(
        &self,
        file: &Arc<str>,
        text: &str,
        line_offset: u32,
        idx: &ScanIndex,
        report: &mut ScanReport,
    ) {
        for mut chunk in loader::split_documents(text) {
            chunk.line_offset += line_offset;
            self.scan_chunk(file, chunk, idx, report);
        }
    }

    fn scan_chunk(
        &self,
        file: &Arc<str>,
        chunk: loader::Chunk<'_>,
        idx: &ScanIndex,
        report: &mut ScanReport,
    ) {
        let loaded = loader::load_chunk(chunk, &self.limits);
        for doc in loaded.documents {
            self.scan_document(file, doc, idx, report);
        }
        for d in loaded.errors {
            push_error(report, file, d);
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
        let scan_chunk = |chunk, out: &mut ScanReport| self.scan_chunk(&file, chunk, idx, out);
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
                self.admit_own(&DUPLICATE_KEY, finding, report);
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
                let mut seen = (doc.aliases > 0).then(HashSet::new);
                let mut repeated = 0usize;
                for obj in &objects {
                    let first = report.findings.len();
                    self.scan_object(obj, idx, report);
                    if let Some(seen) = seen.as_mut() {
                        repeated += drop_repeats(&mut report.findings, first, seen);
                    }
                }
                if repeated > 0 {
                    report.summary.notes.push(format!(
                        "{file}:{line}: {repeated} more findings not listed: YAML aliases repeat fields already reported (same rule, same written field)"
                    ));
                }
            }
        }
    }

    /// Checks one object and appends its findings (and errors) to `report`.
    pub fn scan_object(&self, obj: &Object, idx: &ScanIndex, report: &mut ScanReport) {
        report.summary.objects += 1;
        let templates = obj.template_pods();
        let pod = match obj.pod_view() {
            Ok(v) => Some(v),
            Err(ViewError::NotWorkload) => {
                if templates.is_none() {
                    *report
                        .summary
                        .other_kinds
                        .entry(obj.id.kind.clone())
                        .or_default() += 1;
                }
                None
            }
            Err(ViewError::MissingSpec { path }) => {
                self.missing_spec(obj, &path, report);
                return;
            }
        };
        // One pod per workload; an Argo workflow has one per container template.
        let views: Vec<PodView<'_>> = match &templates {
            Some(t) => t.iter().map(|p| p.view()).collect(),
            None => pod.into_iter().collect(),
        };
        if templates.is_some() || !views.is_empty() {
            report.summary.workloads += 1;
        }
        if !self.keep.is_empty() || !self.select.is_empty() || self.images {
            if self
                .keep
                .iter()
                .any(|k| k(&obj.id.api_version, &obj.id.kind))
                || self.select.iter().any(|s| s(obj))
            {
                report.kept.push(obj.clone());
            }
            for view in &views {
                let mut info = pod_info(obj, view, idx);
                if self.images {
                    info.images = obj.image_uses(view);
                }
                report.pods.push(info);
            }
        }
        let suppress = InlineSuppression::of(obj, &self.ctx.policy.inline_suppressions);
        if let Some(v) = suppress.problem() {
            self.admit_own(
                &IGNORE_ANNOTATION,
                locate(obj, &IGNORE_ANNOTATION, v),
                report,
            );
        }
        let first = report.findings.len();
        let mut unlisted = 0usize;
        if views.is_empty() {
            unlisted += self.check_pod(obj, None, idx, &suppress, first, report);
        }
        for view in &views {
            unlisted += self.check_pod(obj, Some(*view), idx, &suppress, first, report);
        }
        if views.len() > 1 {
            // Rules about the whole object ran once per template's pod.
            let mut seen = HashSet::new();
            let tail = report.findings.split_off(first);
            report.findings.extend(
                tail.into_iter()
                    .filter(|f| seen.insert((f.rule, f.path.clone()))),
            );
        }
        if unlisted > 0 {
            report.summary.notes.push(format!(
                "{}:{}: {} {:?}: {unlisted} more findings not listed (at most {MAX_FINDINGS_PER_OBJECT} per object)",
                obj.file, obj.root.pos.line, obj.id.kind, obj.id.name
            ));
        }
    }

    /// Runs every enabled rule on `obj` seen through `pod`; returns how many
    /// findings were past the per-object limit (counted, not listed).
    fn check_pod(
        &self,
        obj: &Object,
        pod: Option<PodView<'_>>,
        idx: &ScanIndex,
        suppress: &InlineSuppression,
        first: usize,
        report: &mut ScanReport,
    ) -> usize {
        let gate = self.gate();
        let by_image = gate.has_image_exemptions();
        let target = Target {
            object: obj,
            pod,
            index: idx,
        };
        let mut violations = Vec::new();
        let mut unlisted = 0usize;
        for (rule, &setting) in self.rules.iter().zip(&self.settings) {
            if !setting.enabled {
                continue;
            }
            violations.clear();
            rule.check(&target, &self.ctx, &mut violations);
            let meta = rule.meta();
            for v in violations.drain(..) {
                if report.findings.len() - first >= MAX_FINDINGS_PER_OBJECT {
                    // Counted (the exit status sees them), not listed.
                    *report.summary.findings.entry(setting.severity).or_default() += 1;
                    unlisted += 1;
                    continue;
                }
                // Exemptions limited to images need the container's image.
                let image = match (&v.container, &pod) {
                    (Some(name), Some(view)) if by_image => view.image_of(name),
                    _ => None,
                };
                let finding = locate(obj, meta, v);
                count(report, gate.judge(finding, setting, image, Some(suppress)));
            }
        }
        unlisted
    }

    /// A workload whose pod spec is missing: an input error at its place.
    fn missing_spec(&self, obj: &Object, path: &str, report: &mut ScanReport) {
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
    }

    /// Checks one object on its own and returns its findings: the admission path.
    pub fn check_object(&self, obj: &Object) -> ScanReport {
        let mut report = ScanReport::default();
        self.scan_object(obj, &ScanIndex::default(), &mut report);
        report
    }

    /// Findings about the policy itself (expired exemptions), reported
    /// once per scan, at their rule's default severity: the caller passes
    /// them through the [`Gate`] like every other finding.
    pub fn policy_findings(&self) -> Vec<Finding> {
        let policy = &self.ctx.policy;
        let file: Arc<str> = policy.file.as_deref().unwrap_or("palisade.yaml").into();
        policy
            .exemptions
            .iter()
            .filter(|e| e.expires.is_some_and(|d| d < self.today))
            .map(|e| Finding {
                rule: EXPIRED_EXEMPTION.id,
                severity: EXPIRED_EXEMPTION.severity,
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

    /// The policy's setting of one of the engine's own rules.
    fn own_setting(&self, meta: &RuleMeta) -> Setting {
        self.gate().setting(meta.id, true, meta.severity)
    }

    /// Judges a finding of one of the engine's own rules (duplicate keys,
    /// unhonoured suppressions) and counts it.
    fn admit_own(&self, meta: &RuleMeta, finding: Finding, report: &mut ScanReport) {
        let gate = self.gate();
        count(
            report,
            gate.judge(finding, self.own_setting(meta), None, None),
        );
    }
}

/// Removes the findings from `first` on whose rule, position and field
/// (list indices aside) `seen` holds already, and returns how many: an
/// alias repeats text written once, so its findings are listed once (they
/// stay counted in the summary, and so in the exit status).
fn drop_repeats(
    findings: &mut Vec<Finding>,
    first: usize,
    seen: &mut HashSet<(&'static str, u32, u32, String)>,
) -> usize {
    let tail = findings.split_off(first);
    let before = tail.len();
    for f in tail {
        let field: String = f
            .path
            .split('[')
            .map(|part| part.trim_start_matches(|c: char| c.is_ascii_digit() || c == ']'))
            .collect::<Vec<_>>()
            .join("[");
        if seen.insert((f.rule, f.line, f.column, field)) {
            findings.push(f);
        }
    }
    before - (findings.len() - first)
}

/// Findings listed for one object; more are counted in the summary (and
/// the exit status) and named in a note. An alias-expanded Pod of 100,000
/// containers would otherwise list millions.
pub const MAX_FINDINGS_PER_OBJECT: usize = 1_000;

/// The word whose documents the index pass parses.
const SERVICE_ACCOUNT: &[u8] = b"ServiceAccount";

/// Adds a judged finding to `report`: kept findings are counted by
/// severity, suppressed ones as suppressed.
pub fn count(report: &mut ScanReport, verdict: Verdict) {
    match verdict {
        Verdict::Keep(f) => push_finding(report, f),
        Verdict::Suppressed => report.summary.suppressed += 1,
        Verdict::Disabled => {}
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
        labels: view
            .meta
            .and_then(|m| m.get("labels"))
            .map(|l| {
                l.entries()
                    .iter()
                    .filter_map(|e| Some((e.key.clone(), scalar(&e.node)?)))
                    .collect()
            })
            .unwrap_or_default(),
        labels_pos: {
            let p = obj.locate(&view.path(PodPart::Meta, &[Seg::key("labels")]));
            (p.line, p.col)
        },
    }
}

/// A label value as the API server stores it (YAML scalars become text).
fn scalar(n: &Node) -> Option<String> {
    match &n.value {
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        _ => None,
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
        message: redacted(d.message),
    });
}
