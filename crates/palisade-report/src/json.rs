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

#[cfg(test)]
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
#[cfg(test)]
struct Findings<'a> {
    items: &'a [Finding],
    remediations: Remediations,
}

#[cfg(test)]
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
    let mut w = Streaming::new(out);
    w.findings(&report.findings)?;
    w.finish(report)
}

/// The JSON report written as the scan goes: the head and each finding as
/// it arrives, then errors, skipped documents and the summary at the end.
/// The bytes are exactly those of the whole document pretty-printed at once
/// (the tests compare them), so readers cannot tell the difference.
pub(crate) struct Streaming<W: Write> {
    out: io::BufWriter<W>,
    remediations: Remediations,
    counts: BTreeMap<Severity, usize>,
    /// Whether the head, up to the opening `[` of `findings`, is written.
    opened: bool,
    written: usize,
    item: Vec<u8>,
}

/// Indentation of a finding inside `findings`, pretty-printed.
const ITEM_INDENT: &[u8] = b"\n    ";

impl<W: Write> Streaming<W> {
    pub(crate) fn new(out: W) -> Self {
        Streaming {
            // serde_json writes every token with its own call: a buffer of
            // a known type makes those calls plain copies.
            out: io::BufWriter::with_capacity(1 << 16, out),
            remediations: Remediations::default(),
            counts: severity_counts(&[]),
            opened: false,
            written: 0,
            item: Vec::with_capacity(1024),
        }
    }

    fn open(&mut self) -> io::Result<()> {
        if self.opened {
            return Ok(());
        }
        self.opened = true;
        #[derive(Serialize)]
        struct Head {
            schema: &'static str,
            tool: Tool,
        }
        let head = serde_json::to_vec_pretty(&Head {
            schema: SCHEMA,
            tool: Tool {
                name: "palisade",
                version: env!("CARGO_PKG_VERSION"),
            },
        })?;
        // `{ ...head... \n}` without its closing brace, then the list.
        let head = head.strip_suffix(b"\n}").unwrap_or(&head);
        self.out.write_all(head)?;
        self.out.write_all(b",\n  \"findings\": [")
    }

    /// Writes findings, in order.
    pub(crate) fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        self.open()?;
        for f in findings {
            *self.counts.entry(f.severity).or_default() += 1;
            self.item.clear();
            let item = JsonFinding::new(f, self.remediations.get(f.remediation));
            serde_json::to_writer_pretty(&mut self.item, &item)?;
            self.out.write_all(if self.written == 0 {
                ITEM_INDENT
            } else {
                b",\n    "
            })?;
            self.written += 1;
            // Nested one level deeper than a document of its own: every
            // line of the item moves right by the list's indentation.
            let mut rest = &self.item[..];
            while let Some(i) = memchr_newline(rest) {
                self.out.write_all(&rest[..i])?;
                self.out.write_all(ITEM_INDENT)?;
                rest = &rest[i + 1..];
            }
            self.out.write_all(rest)?;
        }
        Ok(())
    }

    /// Closes the findings and writes `rest`'s errors, skipped documents
    /// and summary (its findings, if any, are not written again).
    pub(crate) fn finish(mut self, rest: &ScanReport) -> io::Result<()> {
        self.open()?;
        self.out
            .write_all(if self.written == 0 { b"]" } else { b"\n  ]" })?;
        let tail = Tail {
            errors: Each::new(&rest.errors),
            skipped: Each::new(&rest.skipped),
            summary: summary_of(rest, &self.counts),
        };
        let tail = serde_json::to_vec_pretty(&tail)?;
        // `{\n  "errors": ...}`: its members follow the findings.
        self.out.write_all(b",\n")?;
        self.out.write_all(tail.get(2..).unwrap_or_default())?;
        writeln!(self.out)?;
        self.out.flush()
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

#[derive(Serialize)]
struct Tail<'a> {
    errors: Each<'a, InputError, JsonError<'a>>,
    skipped: Each<'a, Skipped, JsonSkipped<'a>>,
    summary: JsonSummary<'a>,
}

/// The summary of `report`, with `counts` findings per severity. Errors
/// and skipped documents are counted from the lists, like the findings, so
/// the summary always describes the document it ends.
fn summary_of<'a>(report: &'a ScanReport, counts: &BTreeMap<Severity, usize>) -> JsonSummary<'a> {
    let count = |sev: Severity| counts.get(&sev).copied().unwrap_or(0);
    let s = &report.summary;
    JsonSummary {
        files: s.files,
        documents: s.documents,
        objects: s.objects,
        workloads: s.workloads,
        other_kinds: &s.other_kinds,
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
    }
}

/// The whole document at once: what the streaming writer must reproduce.
#[cfg(test)]
pub(crate) fn write_whole(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
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
        summary: summary_of(report, &severity_counts(&report.findings)),
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::{Finding, InputError, ObjectRef, Skipped};
    use std::sync::Arc;

    fn finding(rule: &'static str, severity: Severity, line: u32) -> Finding {
        Finding {
            rule,
            severity,
            message: format!("message \"{line}\"\nwith a newline"),
            object: Arc::new(ObjectRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: Some("shop".into()),
                name: "web".into(),
            }),
            container: line.is_multiple_of(2).then(|| "app".to_string()),
            path: "spec.template.spec.containers[0].image".into(),
            file: "k8s/web.yaml".into(),
            line,
            column: 7,
            remediation: "Pin the image by digest.",
        }
    }

    fn report(findings: usize) -> ScanReport {
        let mut r = ScanReport::default();
        for i in 0..findings {
            let sev = Severity::ALL[i % Severity::ALL.len()];
            r.findings.push(finding("image/digest", sev, i as u32 + 1));
        }
        r.errors.push(InputError {
            file: "bad.yaml".into(),
            line: 3,
            column: 1,
            message: "malformed YAML".into(),
        });
        r.skipped.push(Skipped {
            file: "values.yaml".into(),
            line: 1,
            reason: "no apiVersion".into(),
        });
        r.summary.files = 3;
        r.summary.objects = findings;
        r.summary.other_kinds.insert("Service".into(), 2);
        r.summary.notes.push("--offline".into());
        r
    }

    #[test]
    fn streamed_json_is_byte_for_byte_the_whole_document() {
        for n in [0, 1, 2, 7] {
            let r = report(n);
            let mut whole = Vec::new();
            write_whole(&r, &mut whole).unwrap();
            // In pieces of one, two and three findings, as a scan would pass them.
            for piece in 1..=3 {
                let mut streamed = Vec::new();
                let mut w = Streaming::new(&mut streamed);
                for part in r.findings.chunks(piece) {
                    w.findings(part).unwrap();
                }
                w.finish(&r).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&streamed),
                    String::from_utf8_lossy(&whole),
                    "{n} findings in pieces of {piece}"
                );
            }
            let parsed: serde_json::Value = serde_json::from_slice(&whole).unwrap();
            assert_eq!(parsed["findings"].as_array().map(Vec::len), Some(n));
        }
    }
}
