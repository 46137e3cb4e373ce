//! The JSON report, schema `palisade.json/v1` (documented in
//! `docs/json-output.md`). Its own serde structs rather than the core types'
//! `Serialize`, so a change in `palisade-core` cannot silently change the
//! published schema: absent values are written as `null`, never left out.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::rc::Rc;

use palisade_core::{Finding, InputError, ScanReport, Severity, Skipped};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::severity_counts;

/// The schema id; bump to `/v2` on any rename, removal or change of meaning.
pub(crate) const SCHEMA: &str = "palisade.json/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool: Tool,
    findings: Findings<'a>,
    errors: Each<'a, InputError, JsonError<'a>>,
    skipped: Each<'a, Skipped, JsonSkipped<'a>>,
    summary: JsonSummary<'a>,
}

/// A slice written as a JSON array of its schema views, one at a time: a
/// report of a million findings is not copied into a second list first.
struct Each<'a, T, V>(&'a [T], std::marker::PhantomData<V>);

impl<'a, T, V> Each<'a, T, V> {
    fn new(items: &'a [T]) -> Self {
        Each(items, std::marker::PhantomData)
    }
}

impl<'a, T, V: From<&'a T> + Serialize> Serialize for Each<'a, T, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(V::from))
    }
}

/// The findings, written one at a time with their remediation texts
/// escaped once per rule.
struct Findings<'a> {
    items: &'a [Finding],
    remediations: Remediations,
}

impl Serialize for Findings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.items
                .iter()
                .map(|f| JsonFinding::new(f, self.remediations.get(f.remediation))),
        )
    }
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
    remediation: Remediation<'a>,
}

/// A rule's remediation text, escaped once per rule rather than once per
/// finding (it is the longest string of a finding and the same for all of
/// one rule's findings).
enum Remediation<'a> {
    Escaped(Rc<RawValue>),
    Text(&'a str),
}

impl Serialize for Remediation<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Remediation::Escaped(raw) => raw.serialize(serializer),
            Remediation::Text(t) => t.serialize(serializer),
        }
    }
}

/// Escaped remediation texts by the address and length of the rule's static text.
#[derive(Default)]
struct Remediations(RefCell<HashMap<(usize, usize), Rc<RawValue>>>);

impl Remediations {
    fn get<'a>(&self, text: &'a str) -> Remediation<'a> {
        let mut map = self.0.borrow_mut();
        if let Some(raw) = map.get(&(text.as_ptr() as usize, text.len())) {
            return Remediation::Escaped(raw.clone());
        }
        let Ok(raw) = serde_json::to_string(text).and_then(RawValue::from_string) else {
            return Remediation::Text(text);
        };
        let raw: Rc<RawValue> = Rc::from(raw);
        map.insert((text.as_ptr() as usize, text.len()), raw.clone());
        Remediation::Escaped(raw)
    }
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

impl<'a> JsonFinding<'a> {
    fn new(f: &'a Finding, remediation: Remediation<'a>) -> Self {
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
            remediation,
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
        findings: Findings {
            items: &report.findings,
            remediations: Remediations::default(),
        },
        errors: Each::new(&report.errors),
        skipped: Each::new(&report.skipped),
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
    // serde_json writes every token with its own call: a buffer of a known
    // type here makes those calls plain copies instead of calls through
    // `dyn Write`.
    let mut buf = io::BufWriter::with_capacity(1 << 16, &mut *out);
    serde_json::to_writer_pretty(&mut buf, &doc)?;
    writeln!(buf)?;
    buf.flush()
}
