//! The formats for editors and CI annotations: compact lines, GitHub
//! Actions workflow commands and GitLab Code Quality JSON, rendered from a
//! hand-built report and read back as their consumers read them.

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_core::{Finding, InputError, ObjectRef, ScanReport, Severity, Summary};
use palisade_report::{render, writer, Format, RenderOptions};
use serde_json::Value;

fn finding(
    severity: Severity,
    rule: &'static str,
    file: &str,
    line: u32,
    message: &str,
) -> Finding {
    Finding {
        rule,
        severity,
        message: message.to_string(),
        object: Arc::new(ObjectRef {
            api_version: "apps/v1".to_string(),
            kind: "Deployment".to_string(),
            namespace: Some("prod".to_string()),
            name: "web".to_string(),
        }),
        container: Some("app".to_string()),
        path: format!("spec.template.spec.containers[0].{rule}"),
        file: Arc::from(file),
        line,
        column: 9,
        remediation: "Set it right.",
    }
}

/// An absolute path under the working directory, as a user might pass it.
fn absolute(rel: &str) -> String {
    std::env::current_dir()
        .expect("cwd")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// One finding of each severity, then an input error.
fn report() -> ScanReport {
    let web = absolute("deploy/web.yaml");
    let findings = vec![
        finding(
            Severity::Critical,
            "pss/privileged",
            &web,
            21,
            "container \"app\" is privileged",
        ),
        finding(
            Severity::High,
            "pss/host-namespaces",
            &web,
            5,
            "hostNetwork is true",
        ),
        finding(
            Severity::Medium,
            "pss/run-as-non-root",
            "deploy/db.yaml",
            30,
            "may run as root",
        ),
        finding(
            Severity::Low,
            "pss/seccomp",
            "deploy/db.yaml",
            31,
            "no seccomp profile",
        ),
        finding(
            Severity::Info,
            "img/latest-tag",
            "deploy/db.yaml",
            0,
            "image uses a moving tag",
        ),
    ];
    let mut counts = BTreeMap::new();
    for f in &findings {
        *counts.entry(f.severity).or_insert(0) += 1;
    }
    ScanReport {
        findings,
        errors: vec![InputError {
            file: Arc::from("deploy/broken.yaml"),
            line: 3,
            column: 5,
            message: "mapping values are not allowed in this context".to_string(),
        }],
        summary: Summary {
            objects: 2,
            workloads: 2,
            findings: counts,
            errors: 1,
            ..Summary::default()
        },
        ..ScanReport::default()
    }
}

fn rendered(report: &ScanReport, format: Format) -> String {
    let mut out = Vec::new();
    render(report, &[], format, &RenderOptions::default(), &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}

// ---------------------------------------------------------------- compact
#[test]
fn compact_prints_one_diagnostic_line_per_finding_then_input_errors() {
    let web = absolute("deploy/web.yaml");
    let expected = [
        format!("{web}:21:9: critical pss/privileged: container \"app\" is privileged"),
        format!("{web}:5:9: high pss/host-namespaces: hostNetwork is true"),
        "deploy/db.yaml:30:9: medium pss/run-as-non-root: may run as root".to_string(),
        "deploy/db.yaml:31:9: low pss/seccomp: no seccomp profile".to_string(),
        "deploy/db.yaml: info img/latest-tag: image uses a moving tag".to_string(),
        "deploy/broken.yaml:3:5: error input: mapping values are not allowed in this context"
            .to_string(),
    ];
    assert_eq!(
        rendered(&report(), Format::Compact),
        expected.join("\n") + "\n"
    );
}

#[test]
fn compact_keeps_a_hostile_message_on_its_line() {
    let mut r = report();
    r.findings[0].message = "bad\ndeploy/x.yaml:1:1: critical fake: \u{1b}[2J".to_string();
    r.errors[0].message = "two\r\nlines".to_string();
    let out = rendered(&r, Format::Compact);
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    assert!(
        !out.lines().any(|l| l.starts_with("deploy/x.yaml")),
        "{out}"
    );
}

// ---------------------------------------------------------------- github
fn annotations(report: &ScanReport) -> Vec<String> {
    rendered(report, Format::Github)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn github_annotates_each_finding_by_severity_with_a_relative_path() {
    let lines = annotations(&report());
    assert_eq!(
        lines[0],
        "::error file=deploy/web.yaml,line=21,col=9,title=pss/privileged (critical)::\
         Deployment prod/web: container \"app\" is privileged%0AFix: Set it right."
    );
    let commands: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("::")?.split(' ').next())
        .collect();
    assert_eq!(
        commands,
        ["error", "error", "warning", "notice", "notice", "error"]
    );
    // A finding without a line names its file only.
    assert!(
        lines[4].starts_with("::notice file=deploy/db.yaml,title=img/latest-tag (info)::"),
        "{}",
        lines[4]
    );
}

#[test]
fn github_reports_input_errors_then_the_summary_line() {
    let lines = annotations(&report());
    assert_eq!(
        lines[5],
        "::error file=deploy/broken.yaml,line=3,col=5,title=palisade input error::\
         mapping values are not allowed in this context"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("2 objects (2 workloads, 0 other), 5 findings (critical 1, high 1, medium 1, low 1, info 1), 1 error, 0 skipped")
    );
}

#[test]
fn github_escapes_what_would_start_or_split_a_command() {
    let mut r = report();
    r.findings[0].message = "100% bad\n::error file=x::forged".to_string();
    r.findings[0].file = Arc::from("deploy/a,b:c.yaml");
    let lines = annotations(&r);
    assert_eq!(lines.len(), 7, "{lines:#?}");
    assert!(
        lines[0].starts_with("::error file=deploy/a%2Cb%3Ac.yaml,line=21,"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("100%25 bad"), "{}", lines[0]);
    assert!(
        !lines.iter().any(|l| l.starts_with("::error file=x")),
        "{lines:#?}"
    );
}

#[test]
fn github_lists_notes_as_notices() {
    let mut r = report();
    r.summary
        .notes
        .push("--offline: the registry rules were not checked".to_string());
    let lines = annotations(&r);
    assert_eq!(
        lines[6],
        "::notice title=palisade::--offline: the registry rules were not checked"
    );
}

// ---------------------------------------------------------------- gitlab
fn code_quality(report: &ScanReport) -> Vec<Value> {
    let out = rendered(report, Format::Gitlab);
    match serde_json::from_str(&out) {
        Ok(Value::Array(issues)) => issues,
        other => panic!("not a JSON array: {other:?}\n{out}"),
    }
}

#[test]
fn gitlab_writes_a_code_quality_issue_per_finding_and_input_error() {
    let issues = code_quality(&report());
    assert_eq!(issues.len(), 6);
    let first = &issues[0];
    assert_eq!(first["check_name"], "pss/privileged");
    assert_eq!(
        first["description"],
        "Deployment prod/web: container \"app\" is privileged"
    );
    assert_eq!(first["location"]["path"], "deploy/web.yaml");
    assert_eq!(first["location"]["lines"]["begin"], 21);
    assert!(first["fingerprint"].as_str().is_some_and(|f| f.len() == 16));
    let severities: Vec<&str> = issues
        .iter()
        .filter_map(|i| i["severity"].as_str())
        .collect();
    assert_eq!(
        severities,
        ["blocker", "critical", "major", "minor", "info", "blocker"]
    );
    // A finding without a line points at the first.
    assert_eq!(issues[4]["location"]["lines"]["begin"], 1);
    let error = &issues[5];
    assert_eq!(error["check_name"], "input/error");
    assert_eq!(error["location"]["path"], "deploy/broken.yaml");
    assert_eq!(error["location"]["lines"]["begin"], 3);
}

fn fingerprints(report: &ScanReport) -> Vec<String> {
    code_quality(report)
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn gitlab_fingerprints_survive_line_moves_and_are_unique() {
    let before = fingerprints(&report());
    let mut moved = report();
    for f in &mut moved.findings {
        f.line += 7;
        f.column += 2;
    }
    assert_eq!(fingerprints(&moved), before);
    let distinct: std::collections::BTreeSet<&String> = before.iter().collect();
    assert_eq!(distinct.len(), before.len());
    // Another object, another fingerprint.
    let mut renamed = report();
    Arc::make_mut(&mut renamed.findings[0].object).name = "api".to_string();
    assert_ne!(fingerprints(&renamed)[0], before[0]);
}

#[test]
fn gitlab_gives_repeated_findings_their_own_fingerprint() {
    let mut r = report();
    let again = r.findings[0].clone();
    r.findings.push(again);
    let prints = fingerprints(&r);
    assert_eq!(prints.len(), 7);
    let distinct: std::collections::BTreeSet<&String> = prints.iter().collect();
    assert_eq!(distinct.len(), 7, "{prints:?}");
}

#[test]
fn gitlab_streamed_in_pieces_is_one_array_and_empty_is_empty() {
    let r = report();
    let mut out = Vec::new();
    let mut w = writer(
        Format::Gitlab,
        Vec::new(),
        RenderOptions::default(),
        Box::new(&mut out),
    );
    w.findings(&r.findings[..2]).expect("write");
    w.findings(&[]).expect("write");
    w.findings(&r.findings[2..]).expect("write");
    w.finish(&r).expect("finish");
    let streamed: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(
        streamed,
        serde_json::from_str::<Value>(&rendered(&r, Format::Gitlab)).expect("JSON")
    );
    assert_eq!(rendered(&ScanReport::default(), Format::Gitlab), "[]\n");
}
