//! PolicyReports (`wgpolicyk8s.io/v1alpha2`), as Kyverno and the policy
//! reporter UIs read them: one `PolicyReport` per namespace and one
//! `ClusterPolicyReport` for cluster-scoped objects and objects without a
//! namespace, each named `palisade`, labelled as managed by palisade, with
//! summary counts. Compact and bounded: never one report per resource, and
//! at most [`MAX_RESULTS`] results per report, the rest counted in the
//! summary and in the `palisade.dev/unlisted-results` annotation.
//!
//! Written as one `v1/List`, so `palisade audit --format policyreport |
//! kubectl apply -f -` stores them.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use palisade_core::{redacted, Finding, ScanReport, Severity};
use serde_json::{json, Map, Value};

use crate::stream::ReportWriter;

/// Results listed in one report at most.
pub const MAX_RESULTS: usize = 1_000;

/// The name of every report palisade writes.
pub const REPORT_NAME: &str = "palisade";

/// The label palisade's reports carry (what `--apply-reports` looks for
/// when it deletes stale ones).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "palisade");

/// One report being filled.
#[derive(Debug, Default)]
struct Report {
    results: Vec<Value>,
    unlisted: usize,
    counts: BTreeMap<&'static str, usize>,
}

impl Report {
    fn add(&mut self, result: &'static str, value: impl FnOnce() -> Value) {
        *self.counts.entry(result).or_default() += 1;
        if self.results.len() < MAX_RESULTS {
            self.results.push(value());
        } else {
            self.unlisted += 1;
        }
    }
}

/// Collects findings into reports by namespace (`""`: the cluster report).
#[derive(Debug, Default)]
pub struct PolicyReports {
    reports: BTreeMap<String, Report>,
    timestamp: Value,
}

/// `fail` for a finding, `warn` for one at info severity.
fn result_of(f: &Finding) -> &'static str {
    if f.severity == Severity::Info {
        "warn"
    } else {
        "fail"
    }
}

impl PolicyReports {
    /// An empty set, stamped now.
    pub fn new() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        PolicyReports {
            reports: BTreeMap::new(),
            timestamp: json!({"seconds": now.as_secs(), "nanos": now.subsec_nanos()}),
        }
    }

    /// Adds findings.
    pub fn add(&mut self, findings: &[Finding]) {
        for f in findings {
            let ns = f.object.namespace.clone().unwrap_or_default();
            let ts = self.timestamp.clone();
            let cluster = ns.is_empty();
            self.reports
                .entry(ns)
                .or_default()
                .add(result_of(f), || result(f, ts, cluster));
        }
    }

    /// The reports, with the run's input errors as `error` results of the
    /// cluster report.
    pub fn reports(mut self, rest: &ScanReport) -> Vec<Value> {
        for e in &rest.errors {
            let ts = self.timestamp.clone();
            self.reports
                .entry(String::new())
                .or_default()
                .add("error", || {
                    json!({
                        "policy": "palisade/input-error",
                        "source": "palisade",
                        "result": "error",
                        "scored": false,
                        "message": redacted(e.message.clone()),
                        "timestamp": ts,
                        "properties": {"location": e.file.to_string()},
                    })
                });
        }
        self.reports
            .into_iter()
            .map(|(ns, r)| report(&ns, r))
            .collect()
    }
}

/// The CRD's severities are `high`, `medium` and `low`: critical is
/// reported as high and info as low, palisade's own severity kept in
/// `properties.severity`.
fn crd_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low | Severity::Info => "low",
    }
}

fn result(f: &Finding, timestamp: Value, cluster: bool) -> Value {
    let mut resource = Map::new();
    resource.insert("apiVersion".into(), json!(f.object.api_version));
    resource.insert("kind".into(), json!(f.object.kind));
    if let Some(ns) = &f.object.namespace {
        resource.insert("namespace".into(), json!(ns));
    }
    resource.insert("name".into(), json!(f.object.name));
    let mut properties = Map::new();
    properties.insert("path".into(), json!(f.path));
    if let Some(c) = &f.container {
        properties.insert("container".into(), json!(c));
    }
    properties.insert("location".into(), json!(f.file.to_string()));
    properties.insert("severity".into(), json!(f.severity.as_str()));
    if f.line > 0 {
        properties.insert("line".into(), json!(f.line.to_string()));
    }
    let mut r = json!({
        "policy": f.rule,
        "rule": f.rule,
        "category": f.rule.split('/').next().unwrap_or(""),
        "severity": crd_severity(f.severity),
        "result": result_of(f),
        "scored": true,
        "message": f.message,
        "timestamp": timestamp,
        "resources": [Value::Object(resource)],
        "properties": properties,
    });
    // Only the ClusterPolicyReport's schema has `source`.
    if cluster {
        r["source"] = json!("palisade");
    }
    r
}

fn report(ns: &str, r: Report) -> Value {
    let count = |k: &str| r.counts.get(k).copied().unwrap_or(0);
    let mut metadata = json!({
        "name": REPORT_NAME,
        "labels": {MANAGED_BY.0: MANAGED_BY.1},
    });
    if r.unlisted > 0 {
        metadata["annotations"] = json!({"palisade.dev/unlisted-results": r.unlisted.to_string()});
    }
    let kind = if ns.is_empty() {
        "ClusterPolicyReport"
    } else {
        metadata["namespace"] = json!(ns);
        "PolicyReport"
    };
    json!({
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": kind,
        "metadata": metadata,
        "summary": {
            "pass": count("pass"),
            "fail": count("fail"),
            "warn": count("warn"),
            "error": count("error"),
            "skip": count("skip"),
        },
        "results": r.results,
    })
}

/// The `policyreport` format: reports collected, written as one `v1/List`
/// at the end.
pub struct Writer<'w> {
    reports: PolicyReports,
    out: Box<dyn Write + 'w>,
}

impl<'w> Writer<'w> {
    /// A writer to `out`.
    pub fn new(out: Box<dyn Write + 'w>) -> Self {
        Writer {
            reports: PolicyReports::new(),
            out,
        }
    }
}

impl ReportWriter for Writer<'_> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        self.reports.add(findings);
        Ok(())
    }

    fn finish(mut self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        let reports = std::mem::take(&mut self.reports).reports(rest);
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": reports});
        serde_json::to_writer_pretty(&mut self.out, &list)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}
