//! The JSON report, schema `palisade.json/v1` (documented in
//! `docs/json-output.md`). Its own serde structs rather than the core types'
//! `Serialize`, so a change in `palisade-core` cannot silently change the
//! published schema: absent values are written as `null`, never left out.

use std::collections::BTreeMap;
use std::io::{self, Write};

use palisade_core::{Finding, InputError, ScanReport, Severity, Skipped};
use serde::Serialize;

use crate::severity_counts;

/// The schema id; bump to `/v2` on any rename, removal or change of meaning.
pub(crate) const SCHEMA: &str = "palisade.json/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool: Tool,
    findings: Vec<JsonFinding<'a>>,
    errors: Vec<JsonError<'a>>,
    skipped: Vec<JsonSkipped<'a>>,
    summary: JsonSummary<'a>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    severity: Severity,
    message: &'a str,
    object: JsonObject<'a>,
    container: Option<&'a str>,
    path: &'a str,
    file: &'a str,
    line: u32,
    column: u32,
    remediation: &'a str,
}

#[derive(Serialize)]
struct JsonObject<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
}

#[derive(Serialize)]
struct JsonError<'a> {
    file: &'a str,
    line: u32,
    column: u32,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonSkipped<'a> {
    file: &'a str,
    line: u32,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    files: usize,
    documents: usize,
    objects: usize,
    workloads: usize,
    other_kinds: &'a BTreeMap<String, usize>,
    skipped: usize,
    findings: SeverityCounts,
    errors: usize,
    suppressed: usize,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

/// Most severe first, every severity present.
#[derive(Serialize)]
struct SeverityCounts {
    critical: usize,
    high: usize,
    medium: usize,
    low: usize,
    info: usize,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JsonFinding {
            rule: f.rule,
            severity: f.severity,
            message: &f.message,
            object: JsonObject {
                api_version: &f.object.api_version,
                kind: &f.object.kind,
                namespace: f.object.namespace.as_deref(),
                name: &f.object.name,
            },
            container: f.container.as_deref(),
            path: &f.path,
            file: &f.file,
            line: f.line,
            column: f.column,
            remediation: f.remediation,
        }
    }
}

impl<'a> From<&'a InputError> for JsonError<'a> {
    fn from(e: &'a InputError) -> Self {
        JsonError {
            file: &e.file,
            line: e.line,
            column: e.column,
            message: &e.message,
        }
    }
}

impl<'a> From<&'a Skipped> for JsonSkipped<'a> {
    fn from(s: &'a Skipped) -> Self {
        JsonSkipped {
            file: &s.file,
            line: s.line,
            reason: &s.reason,
        }
    }
}

/// Writes the report as pretty-printed JSON with a trailing newline.
pub(crate) fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let counts = severity_counts(&report.findings);
    let count = |sev: Severity| counts.get(&sev).copied().unwrap_or(0);
    let doc = Document {
        schema: SCHEMA,
        tool: Tool {
            name: "palisade",
            version: env!("CARGO_PKG_VERSION"),
        },
        findings: report.findings.iter().map(JsonFinding::from).collect(),
        errors: report.errors.iter().map(JsonError::from).collect(),
        skipped: report.skipped.iter().map(JsonSkipped::from).collect(),
        summary: JsonSummary {
            files: s.files,
            documents: s.documents,
            objects: s.objects,
            workloads: s.workloads,
            other_kinds: &s.other_kinds,
            // Counted from the lists, like the findings, so the summary
            // always describes this document.
            skipped: report.skipped.len(),
            findings: SeverityCounts {
                critical: count(Severity::Critical),
                high: count(Severity::High),
                medium: count(Severity::Medium),
                low: count(Severity::Low),
                info: count(Severity::Info),
            },
            errors: report.errors.len(),
            suppressed: s.suppressed,
            notes: &s.notes,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
