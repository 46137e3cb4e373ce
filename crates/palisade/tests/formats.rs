//! `scan --format compact|github|gitlab` end to end, and the table laid out
//! for the width `COLUMNS` gives.

mod common;

use std::process::{Command, Output};

/// Runs `palisade ARGS` in the repository root with `COLUMNS` set or unset.
fn scan(args: &[&str], columns: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.current_dir(common::repo())
        .env_remove("PALISADE_CONFIG")
        .env_remove("COLUMNS")
        .arg("scan")
        .args(args);
    if let Some(c) = columns {
        cmd.env("COLUMNS", c);
    }
    cmd.output().expect("palisade runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

/// A temporary directory with a manifest that does not parse.
fn broken() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("broken.yaml"), "a: b: c\n").expect("write");
    dir
}

#[test]
fn compact_lists_findings_and_input_errors_one_per_line() {
    let dir = broken();
    let broken = dir.path().join("broken.yaml");
    let broken = broken.to_string_lossy();
    let o = scan(
        &["--format", "compact", "examples/insecure/web.yaml", &broken],
        None,
    );
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    let findings: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("examples/insecure/web.yaml:"))
        .collect();
    assert!(!findings.is_empty(), "{out}");
    assert!(
        findings
            .iter()
            .any(|l| l.contains(": critical pss/privileged: ")),
        "{out}"
    );
    let error = format!("{broken}:1:");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&error) && l.contains(": error input: ")),
        "{out}"
    );
    assert_eq!(findings.len() + 1, lines.len(), "{out}");
}

#[test]
fn github_format_writes_annotations_and_the_summary() {
    let o = scan(&["--format", "github", "examples/insecure/web.yaml"], None);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let out = stdout(&o);
    let (commands, summary) = out.trim_end().rsplit_once('\n').expect("lines");
    assert!(summary.contains("findings ("), "{summary}");
    for l in commands.lines() {
        let known = ["::error ", "::warning ", "::notice "]
            .iter()
            .any(|c| l.starts_with(c));
        assert!(known, "{l}");
        assert!(l.contains(" file=examples/insecure/web.yaml,line="), "{l}");
    }
    assert!(
        commands
            .lines()
            .any(|l| l.starts_with("::error ") && l.contains("title=pss/privileged (critical)::")),
        "{out}"
    );
}

#[test]
fn gitlab_format_is_a_code_quality_array() {
    let o = scan(&["--format", "gitlab", "examples/insecure/web.yaml"], None);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let issues: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let issues = issues.as_array().expect("array");
    assert!(!issues.is_empty());
    for i in issues {
        assert_eq!(i["location"]["path"], "examples/insecure/web.yaml", "{i}");
        assert!(i["location"]["lines"]["begin"].as_u64() >= Some(1), "{i}");
        let severity = i["severity"].as_str().unwrap_or_default();
        assert!(
            ["info", "minor", "major", "critical", "blocker"].contains(&severity),
            "{i}"
        );
        assert!(
            i["fingerprint"].as_str().is_some_and(|f| !f.is_empty()),
            "{i}"
        );
    }
}

/// The longest line of a table, less the file headings and summary line
/// (which are never wrapped).
fn widest(out: &str) -> usize {
    out.lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
}

#[test]
fn table_messages_wrap_to_the_columns_given() {
    let args = ["examples/insecure/backup.yaml"];
    let default = stdout(&scan(&args, None));
    let narrow = stdout(&scan(&args, Some("90")));
    let wide = stdout(&scan(&args, Some("200")));
    assert!(widest(&default) <= 100, "{default}");
    assert!(widest(&default) > 90, "{default}");
    assert!(widest(&narrow) <= 90, "{narrow}");
    assert!(widest(&wide) > 100, "{wide}");
    assert!(wide.lines().count() < default.lines().count());
    assert!(default.lines().count() < narrow.lines().count());
    // Not a number: the default width.
    assert_eq!(stdout(&scan(&args, Some("wide"))), default);
}
