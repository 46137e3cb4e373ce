//! The engine: from bytes to findings. Every front door (files, stdin, and
//! later the admission webhook) goes through [`Engine`], so they all judge
//! objects the same way.

use std::sync::Arc;

use rayon::prelude::*;

use crate::finding::{Finding, InputError, ScanReport, Severity, Skipped};
use crate::loader::{self, Diagnostic, Document, Limits};
use crate::node::{render_path, Seg};
use crate::object::{object_ref, objects_of, Content, Object, ViewError};
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

/// Below this many documents a file is checked on one thread.
const PARALLEL_THRESHOLD: usize = 64;

/// The rules and the policy, ready to check input.
pub struct Engine {
    rules: Vec<Box<dyn Rule>>,
    ctx: Context,
    limits: Limits,
    parallel: bool,
}

impl Engine {
    /// An engine running `rules` under `ctx`.
    pub fn new(rules: Vec<Box<dyn Rule>>, ctx: Context, limits: Limits) -> Self {
        Engine {
            rules,
            ctx,
            limits,
            parallel: true,
        }
    }

    /// Checks documents of a large file on several threads (the default) or on one.
    pub fn with_parallelism(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
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

    /// Checks the content of one file (`file` names it in the report).
    pub fn scan_bytes(&self, file: &str, bytes: &[u8]) -> ScanReport {
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
        let scan_chunk = |chunk| {
            let loaded = loader::load_chunk(chunk, &self.limits);
            let mut part = ScanReport::default();
            for doc in loaded.documents {
                self.scan_document(&file, doc, &mut part);
            }
            for d in loaded.errors {
                push_error(&mut part, &file, d);
            }
            part
        };
        if self.parallel && chunks.len() >= PARALLEL_THRESHOLD {
            let parts: Vec<ScanReport> = chunks.into_par_iter().map(scan_chunk).collect();
            for part in parts {
                report.merge(part);
            }
        } else {
            for chunk in chunks {
                report.merge(scan_chunk(chunk));
            }
        }
        report
    }

    fn scan_document(&self, file: &Arc<str>, doc: Document, report: &mut ScanReport) {
        report.summary.documents += 1;
        let line = doc.root.pos.line;
        if !doc.duplicate_keys.is_empty() {
            let id = object_ref(&doc.root).unwrap_or_default();
            for dup in &doc.duplicate_keys {
                self.push_finding(
                    report,
                    Finding {
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
                    },
                );
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
                    self.scan_object(obj, report);
                }
            }
        }
    }

    /// Checks one object and appends its findings (and errors) to `report`.
    pub fn scan_object(&self, obj: &Object, report: &mut ScanReport) {
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
        let target = Target { object: obj, pod };
        let mut violations = Vec::new();
        for rule in &self.rules {
            if self.ctx.level == PssLevel::Privileged && rule.meta().level.is_some() {
                continue;
            }
            violations.clear();
            rule.check(&target, &self.ctx, &mut violations);
            let meta = rule.meta();
            for v in violations.drain(..) {
                let finding = self.locate(obj, meta, v);
                self.push_finding(report, finding);
            }
        }
    }

    /// Checks one object and returns its findings: the admission path.
    pub fn check_object(&self, obj: &Object) -> ScanReport {
        let mut report = ScanReport::default();
        self.scan_object(obj, &mut report);
        report
    }

    fn locate(&self, obj: &Object, meta: &RuleMeta, v: Violation) -> Finding {
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

    fn push_finding(&self, report: &mut ScanReport, f: Finding) {
        *report.summary.findings.entry(f.severity).or_default() += 1;
        report.findings.push(f);
    }
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
