//! `palisade verify` results: gator-suite reports as text, JSON and JUnit
//! XML.

use std::fmt::Write as _;
use std::time::Duration;

use palisade_rego::verify::{TestResult, Unit, VerifyReport};

use crate::xml::{escape, Context};

/// A double-quoted attribute value.
fn attr(s: &str) -> std::borrow::Cow<'_, str> {
    escape(s, Context::Attribute)
}

/// A human-readable report: one line per case, then the counts.
pub fn text(report: &VerifyReport) -> String {
    let mut out = String::new();
    for s in &report.suites {
        let status = if s.skipped {
            "skip"
        } else if s.error.is_some() || s.tests.iter().any(test_failed) {
            "FAIL"
        } else {
            "ok"
        };
        let _ = writeln!(out, "{status:<5} {} ({})", s.path, fmt_duration(s.duration));
        if let Some(e) = &s.error {
            let _ = writeln!(out, "      {}", indent(e));
        }
        for t in &s.tests {
            let mark = if t.skipped {
                "skip"
            } else if test_failed(t) {
                "FAIL"
            } else {
                "ok"
            };
            let _ = writeln!(out, "  {mark:<5} {}", t.name);
            if let Some(e) = &t.error {
                let _ = writeln!(out, "        {}", indent(e));
            }
            for c in &t.cases {
                let mark = match (&c.skipped, &c.error) {
                    (true, _) => "skip",
                    (false, Some(_)) => "FAIL",
                    (false, None) => "ok",
                };
                let _ = writeln!(
                    out,
                    "    {mark:<5} {} ({})",
                    c.name,
                    fmt_duration(c.duration)
                );
                if let Some(e) = &c.error {
                    let _ = writeln!(out, "          {}", indent(e));
                }
            }
        }
    }
    let c = report.counts();
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} skipped",
        c.passed, c.failed, c.skipped
    );
    out
}

/// The report as JSON: the suites and the counts.
pub fn json(report: &VerifyReport) -> String {
    let doc = serde_json::json!({
        "suites": report.suites,
        "summary": report.counts(),
        "passed": report.passed(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The report as JUnit XML: a `testsuite` per Suite file, a `testcase`
/// per case (named `test/case`), failures with their message.
pub fn junit(report: &VerifyReport) -> String {
    let units = report.units();
    let total = report.counts();
    let secs = |d: Duration| format!("{:.3}", d.as_secs_f64());
    let all: Duration = report.suites.iter().map(|s| s.duration).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"palisade verify\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\">",
        units.len(),
        total.failed,
        total.skipped,
        secs(all)
    );
    for s in &report.suites {
        let mine: Vec<&Unit<'_>> = units.iter().filter(|u| u.suite == s.path).collect();
        let failures = mine
            .iter()
            .filter(|u| !u.skipped && u.error.is_some())
            .count();
        let skipped = mine.iter().filter(|u| u.skipped).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{}\">",
            attr(&s.path),
            mine.len(),
            secs(s.duration)
        );
        for u in mine {
            let (suite, test, case) = (u.suite, u.test, u.case);
            let name = match (test.is_empty(), case.is_empty()) {
                (true, _) => suite.to_string(),
                (false, true) => test.to_string(),
                (false, false) => format!("{test}/{case}"),
            };
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
                attr(suite),
                attr(&name),
                secs(u.duration)
            );
            match (u.skipped, u.error) {
                (true, _) => out.push_str("><skipped/></testcase>\n"),
                (false, Some(e)) => {
                    let first = e.lines().next().unwrap_or("");
                    let _ = writeln!(
                        out,
                        "><failure message=\"{}\">{}</failure></testcase>",
                        attr(first),
                        escape(e, Context::Text)
                    );
                }
                (false, None) => out.push_str("/>\n"),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn test_failed(t: &TestResult) -> bool {
    !t.skipped && (t.error.is_some() || t.cases.iter().any(|c| !c.skipped && c.error.is_some()))
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n          ")
}

fn fmt_duration(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{}µs", d.as_micros())
    } else {
        format!("{:.1}ms", d.as_secs_f64() * 1e3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_rego::verify::{CaseResult, SuiteResult};

    #[test]
    fn junit_escapes_names_and_messages() {
        let report = VerifyReport {
            suites: vec![SuiteResult {
                path: "s<1>.yaml".into(),
                skipped: false,
                error: None,
                tests: vec![TestResult {
                    name: "t&1".into(),
                    skipped: false,
                    error: None,
                    cases: vec![CaseResult {
                        name: "c\"1".into(),
                        skipped: false,
                        error: Some("got <0>".into()),
                        violations: vec![],
                        duration: Duration::ZERO,
                    }],
                    duration: Duration::ZERO,
                }],
                duration: Duration::ZERO,
            }],
        };
        let x = junit(&report);
        assert!(x.contains("name=\"t&amp;1/c&quot;1\""), "{x}");
        assert!(x.contains("<failure message=\"got &lt;0&gt;\">"), "{x}");
        assert!(x.contains("failures=\"1\""), "{x}");
        assert!(!report.passed());
    }
}
