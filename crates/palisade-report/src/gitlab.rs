//! `--format gitlab`: a GitLab Code Quality report
//! (<https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format>),
//! a JSON array of issues that `artifacts:reports:codequality` shows in
//! merge requests. Each finding's fingerprint hashes its rule, file, object
//! and field path but not its line, so an issue keeps its identity across
//! unrelated edits; input errors are issues of check `input/error`.
//! Issues are written as findings arrive.

use std::collections::HashMap;
use std::io::{self, Write};

use palisade_core::{Finding, InputError, ScanReport, Severity};
use serde::Serialize;

use crate::sarif::{fingerprint_hash, object_name, Base};
use crate::stream::ReportWriter;

/// The check name of input errors.
const INPUT_ERROR: &str = "input/error";

/// One Code Quality issue (the Code Climate issue fields GitLab reads).
#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    check_name: &'a str,
    description: String,
    categories: [&'static str; 1],
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

/// The Code Quality writer.
pub(crate) struct CodeQuality<'w> {
    base: Base,
    /// Issues written so far, by fingerprint: GitLab shows one issue per
    /// fingerprint, so a repeated one is hashed again with its count.
    seen: HashMap<u64, u32>,
    written: usize,
    out: Box<dyn Write + 'w>,
}

impl<'w> CodeQuality<'w> {
    /// A writer of the report to `out`, with paths relative to the working
    /// directory (the project directory, in a pipeline).
    pub(crate) fn new(out: Box<dyn Write + 'w>) -> Self {
        CodeQuality {
            base: Base::current(),
            seen: HashMap::new(),
            written: 0,
            out,
        }
    }

    fn finding(&mut self, f: &Finding) -> io::Result<()> {
        let path = self.base.display(&f.file);
        let ns = f.object.namespace.as_deref().unwrap_or("");
        let fields = [f.rule, &path, &f.object.kind, ns, &f.object.name, &f.path];
        let fingerprint = self.fingerprint(&fields);
        self.issue(&Issue {
            kind: "issue",
            check_name: f.rule,
            description: format!("{}: {}", object_name(f), f.message),
            categories: ["Security"],
            fingerprint,
            severity: severity(f.severity),
            location: location(path, f.line),
        })
    }

    fn error(&mut self, e: &InputError) -> io::Result<()> {
        let path = self.base.display(&e.file);
        let fingerprint = self.fingerprint(&[INPUT_ERROR, &path, &e.message]);
        self.issue(&Issue {
            kind: "issue",
            check_name: INPUT_ERROR,
            description: e.message.clone(),
            categories: ["Bug Risk"],
            fingerprint,
            severity: "blocker",
            location: location(path, e.line),
        })
    }

    /// The hash of `fields`, with the number of earlier issues of the same
    /// hash added when there are any.
    fn fingerprint(&mut self, fields: &[&str]) -> String {
        let hash = fingerprint_hash(fields);
        let count = self.seen.entry(hash).or_insert(0);
        *count += 1;
        let hash = match *count {
            1 => hash,
            n => {
                let n = n.to_string();
                let mut again = fields.to_vec();
                again.push(&n);
                fingerprint_hash(&again)
            }
        };
        format!("{hash:016x}")
    }

    fn issue(&mut self, issue: &Issue<'_>) -> io::Result<()> {
        self.out.write_all(if self.written == 0 {
            b"[\n  "
        } else {
            b",\n  "
        })?;
        serde_json::to_writer(&mut self.out, issue)?;
        self.written += 1;
        Ok(())
    }
}

impl ReportWriter for CodeQuality<'_> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        findings.iter().try_for_each(|f| self.finding(f))
    }

    fn finish(mut self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        for e in &rest.errors {
            self.error(e)?;
        }
        let end: &[u8] = if self.written == 0 { b"[]\n" } else { b"\n]\n" };
        self.out.write_all(end)?;
        self.out.flush()
    }
}

/// Code Quality's five severities, one for each of palisade's.
pub(crate) fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "blocker",
        Severity::High => "critical",
        Severity::Medium => "major",
        Severity::Low => "minor",
        Severity::Info => "info",
    }
}

/// Code Quality lines start at 1; a finding without a line (0) points at
/// the first.
fn location(path: String, line: u32) -> Location {
    Location {
        path,
        lines: Lines { begin: line.max(1) },
    }
}
