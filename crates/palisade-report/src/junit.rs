//! JUnit XML output, as CI test reporters read it (GitLab CI
//! `artifacts:reports:junit`, Jenkins' JUnit plugin, GitHub test-report
//! actions): one `<testsuite>` per file with findings or input errors, one
//! failing `<testcase>` per finding, one erroring `<testcase>` per input
//! error, and a single passing test case when there is nothing to report, so
//! the report is never empty.
//!
//! Written by hand rather than with `quick-xml`: the document has four kinds
//! of element and no namespaces, and the one hard part, text taken from
//! hostile manifests, is not what `quick-xml`'s writer covers. It escapes the
//! five markup characters but passes through control characters that XML 1.0
//! forbids (so `\u{1}` in a container name would make the report unreadable)
//! and raw newlines in attributes, which parsers fold into spaces.
//! [`crate::xml::escape`] handles all three in a few lines, so the crate
//! would add a dependency and still need this pass.

use std::collections::HashMap;
use std::io::{self, Write};

use palisade_core::{Finding, InputError, ObjectRef, ScanReport};

use crate::xml::{escape, Context};

/// Suite, class and test name of the passing case written when there are no
/// findings and no input errors.
const TOOL: &str = "palisade";
/// Name of the passing case of an empty report.
const PASSING_CASE: &str = "palisade scan";
/// Name of the test case of an input error.
const INPUT_ERROR: &str = "input error";

/// One test case of a suite.
enum Case<'a> {
    Failure(&'a Finding),
    Error(&'a InputError),
}

/// The test cases of one input file, in input order.
struct Suite<'a> {
    file: &'a str,
    cases: Vec<Case<'a>>,
}

impl Suite<'_> {
    fn failures(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c, Case::Failure(_)))
            .count()
    }

    fn errors(&self) -> usize {
        self.cases.len() - self.failures()
    }
}

/// Writes the report as a JUnit XML document with a trailing newline.
pub(crate) fn write(report: &ScanReport, out: &mut dyn Write) -> io::Result<()> {
    let suites = group(report);
    let tests = report.findings.len() + report.errors.len();

    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    // Ant's formatter, which the readers follow, always writes `time`; a
    // static check runs no timed test, so every time is 0.
    writeln!(
        out,
        r#"<testsuites name="{TOOL}" tests="{}" failures="{}" errors="{}" time="0">"#,
        tests.max(1),
        report.findings.len(),
        report.errors.len(),
    )?;
    if suites.is_empty() {
        writeln!(
            out,
            r#"  <testsuite name="{TOOL}" tests="1" failures="0" errors="0" time="0">"#
        )?;
        writeln!(
            out,
            r#"    <testcase name="{PASSING_CASE}" classname="{TOOL}" time="0"/>"#
        )?;
        writeln!(out, "  </testsuite>")?;
    }
    for suite in &suites {
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" time="0">"#,
            escape(suite.file, Context::Attribute),
            suite.cases.len(),
            suite.failures(),
            suite.errors(),
        )?;
        for case in &suite.cases {
            match case {
                Case::Failure(f) => write_failure(f, out)?,
                Case::Error(e) => write_error(e, out)?,
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

/// Findings and input errors grouped by file, files in order of first
/// appearance (findings before errors), cases in input order.
fn group(report: &ScanReport) -> Vec<Suite<'_>> {
    let mut suites: Vec<Suite<'_>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    let cases = report
        .findings
        .iter()
        .map(|f| (&*f.file, Case::Failure(f)))
        .chain(report.errors.iter().map(|e| (&*e.file, Case::Error(e))));
    for (file, case) in cases {
        let i = *index.entry(file).or_insert_with(|| {
            suites.push(Suite {
                file,
                cases: Vec::new(),
            });
            suites.len() - 1
        });
        suites[i].cases.push(case);
    }
    suites
}

fn write_failure(f: &Finding, out: &mut dyn Write) -> io::Result<()> {
    let name = if f.path.is_empty() {
        f.rule.to_string()
    } else {
        format!("{}: {}", f.rule, f.path)
    };
    let class = class_name(&f.object);
    write_testcase_start(&name, &class, &f.file, f.line, out)?;
    let details = [
        format!("severity: {}", f.severity),
        format!("rule: {}", f.rule),
        format!("location: {}", location(&f.file, f.line, f.column)),
        format!("object: {class}"),
        format!("container: {}", f.container.as_deref().unwrap_or("-")),
        format!("message: {}", f.message),
        format!("path: {}", f.path),
        format!("remediation: {}", f.remediation),
    ]
    .join("\n");
    writeln!(
        out,
        r#"      <failure message="{}" type="{}">{}</failure>"#,
        escape(&f.message, Context::Attribute),
        f.severity,
        escape(&details, Context::Text),
    )?;
    writeln!(out, "    </testcase>")
}

fn write_error(e: &InputError, out: &mut dyn Write) -> io::Result<()> {
    write_testcase_start(INPUT_ERROR, TOOL, &e.file, e.line, out)?;
    let details = format!("{}: {}", location(&e.file, e.line, e.column), e.message);
    writeln!(
        out,
        r#"      <error message="{}" type="{INPUT_ERROR}">{}</error>"#,
        escape(&e.message, Context::Attribute),
        escape(&details, Context::Text),
    )?;
    writeln!(out, "    </testcase>")
}

/// `<testcase ...>` with `file` always and `line` only when known (not 0).
fn write_testcase_start(
    name: &str,
    class: &str,
    file: &str,
    line: u32,
    out: &mut dyn Write,
) -> io::Result<()> {
    write!(
        out,
        r#"    <testcase name="{}" classname="{}" file="{}""#,
        escape(name, Context::Attribute),
        escape(class, Context::Attribute),
        escape(file, Context::Attribute),
    )?;
    if line > 0 {
        write!(out, r#" line="{line}""#)?;
    }
    writeln!(out, r#" time="0">"#)
}

/// `Deployment/prod/web`, `ClusterRole/admin`.
fn class_name(o: &ObjectRef) -> String {
    let name = if o.name.is_empty() {
        "(unnamed)"
    } else {
        &o.name
    };
    match o.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{}/{ns}/{name}", o.kind),
        _ => format!("{}/{name}", o.kind),
    }
}

/// `file:line:col`, leaving out the parts that are unknown (0).
fn location(file: &str, line: u32, column: u32) -> String {
    match (line, column) {
        (0, _) => file.to_string(),
        (l, 0) => format!("{file}:{l}"),
        (l, c) => format!("{file}:{l}:{c}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_name_leaves_out_a_missing_namespace() {
        let mut o = ObjectRef {
            api_version: "apps/v1".to_string(),
            kind: "Deployment".to_string(),
            namespace: Some("prod".to_string()),
            name: "web".to_string(),
        };
        assert_eq!(class_name(&o), "Deployment/prod/web");
        o.namespace = None;
        assert_eq!(class_name(&o), "Deployment/web");
        o.namespace = Some(String::new());
        assert_eq!(class_name(&o), "Deployment/web");
    }
}
