//! Conformance with upstream Pod Security Admission: every fixture of the
//! upstream test suite (../shared/corpora/pod-security-admission), at its own
//! level and version, as a Pod, as a Deployment and as a CronJob.
//!
//! Pass fixtures must give no `pss/*` finding; fail fixtures must give a
//! finding of the check that evaluates them, whose message contains the text
//! upstream requires. Wrapped objects must give the same findings, at the
//! same fields, with paths and lines shifted under the pod template.

use std::collections::BTreeSet;
use std::path::PathBuf;

use palisade_core::{Context, Engine, Finding, Limits, PssLevel, PssVersion};

fn corpus_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PALISADE_PSA_CORPUS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/pod-security-admission")
}

struct Fixture {
    file: String,
    level: String,
    version: String,
    expect_fail: bool,
    evaluated_by: Option<String>,
    message: Option<String>,
    violates: BTreeSet<String>,
}

fn load_index() -> Vec<Fixture> {
    let dir = corpus_dir();
    let index = std::fs::read_to_string(dir.join("INDEX.jsonl")).unwrap_or_else(|e| {
        panic!(
            "cannot read the PSA corpus at {} ({e}); set PALISADE_PSA_CORPUS",
            dir.display()
        )
    });
    index
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("INDEX.jsonl line is JSON");
            let s = |k: &str| v[k].as_str().map(str::to_string);
            Fixture {
                file: s("file").expect("file"),
                level: s("level").expect("level"),
                version: s("version").expect("version"),
                expect_fail: s("expect").as_deref() == Some("fail"),
                evaluated_by: s("evaluated_by"),
                message: s("expect_message_substring"),
                violates: v["violates"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn engine(level: &str, version: &str) -> Engine {
    let ctx = Context::new(
        level.parse::<PssLevel>().expect("level"),
        version.parse::<PssVersion>().expect("version"),
    );
    Engine::new(palisade_rules::all_rules(), ctx, Limits::default())
}

/// Wraps a Pod manifest as a pod template under `header` (whose last line
/// opens the template), indenting the pod's metadata and spec by `indent`.
fn wrap(pod: &str, header: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::from(header);
    for line in pod.lines() {
        if line.starts_with("apiVersion:") || line.starts_with("kind:") {
            continue;
        }
        out.push_str(&pad);
        out.push_str(line);
        out.push('\n');
    }
    out
}

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: wrapped\nspec:\n  selector: {}\n  template:\n";
const CRONJOB: &str = "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: wrapped\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n";

fn pss(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.rule.starts_with("pss/"))
        .collect()
}

#[test]
fn every_upstream_fixture_agrees_as_pod_deployment_and_cronjob() {
    let dir = corpus_dir();
    let fixtures = load_index();
    assert_eq!(
        fixtures.len(),
        4537,
        "the corpus should hold 4,537 fixtures"
    );
    let mut disagreements = Vec::new();
    let mut violates_mismatch = Vec::new();
    let mut evaluated = 0usize;
    for fx in &fixtures {
        let text = std::fs::read_to_string(dir.join(&fx.file)).expect("fixture readable");
        let eng = engine(&fx.level, &fx.version);
        let pod_report = eng.scan_bytes(&fx.file, text.as_bytes());
        if !pod_report.errors.is_empty() {
            disagreements.push(format!("{}: input errors {:?}", fx.file, pod_report.errors));
            continue;
        }
        let pod_findings = pss(&pod_report.findings);
        let verdict = |found: &[&Finding]| -> Result<(), String> {
            if !fx.expect_fail {
                return match found.first() {
                    None => Ok(()),
                    Some(f) => Err(format!("expected pass, got {} ({})", f.rule, f.message)),
                };
            }
            let want = format!("pss/{}", fx.evaluated_by.as_deref().unwrap_or("?"));
            let hits: Vec<_> = found.iter().filter(|f| f.rule == want).collect();
            if hits.is_empty() {
                let got: Vec<_> = found.iter().map(|f| f.rule).collect();
                return Err(format!("expected {want}, got {got:?}"));
            }
            if let Some(sub) = &fx.message {
                if !hits.iter().any(|f| f.message.contains(sub.as_str())) {
                    return Err(format!("{want} message lacks {sub:?}: {}", hits[0].message));
                }
            }
            Ok(())
        };
        if let Err(e) = verdict(&pod_findings) {
            disagreements.push(format!("{} (Pod): {e}", fx.file));
        }
        let got: BTreeSet<String> = pod_findings
            .iter()
            .map(|f| f.rule.trim_start_matches("pss/").to_string())
            .collect();
        if got != fx.violates {
            violates_mismatch.push(format!(
                "{}: got {got:?}, index says {:?}",
                fx.file, fx.violates
            ));
        }
        for (kind, header, indent, prefix) in [
            ("Deployment", DEPLOYMENT, 4, "spec.template."),
            ("CronJob", CRONJOB, 8, "spec.jobTemplate.spec.template."),
        ] {
            let wrapped = wrap(&text, header, indent);
            let report = eng.scan_bytes(&fx.file, wrapped.as_bytes());
            let found = pss(&report.findings);
            if let Err(e) = verdict(&found) {
                disagreements.push(format!("{} ({kind}): {e}", fx.file));
                continue;
            }
            // Same findings, at the same fields, shifted under the template.
            let shift = header.lines().count() as u32 - 2;
            let expected: Vec<_> = pod_findings
                .iter()
                .map(|f| {
                    (
                        f.rule,
                        format!("{prefix}{}", f.path),
                        f.line + shift,
                        f.column + indent as u32,
                    )
                })
                .collect();
            let actual: Vec<_> = found
                .iter()
                .map(|f| (f.rule, f.path.clone(), f.line, f.column))
                .collect();
            if expected != actual {
                disagreements.push(format!(
                    "{} ({kind}): locations differ: {expected:?} vs {actual:?}",
                    fx.file
                ));
            }
        }
        evaluated += 1;
    }
    assert!(
        disagreements.is_empty(),
        "{} of {} fixtures disagree with upstream:\n{}",
        disagreements.len(),
        fixtures.len(),
        disagreements.join("\n")
    );
    assert!(
        violates_mismatch.is_empty(),
        "{} fixtures violate a different set of checks than INDEX.jsonl's `violates`:\n{}",
        violates_mismatch.len(),
        violates_mismatch.join("\n")
    );
    assert_eq!(evaluated, 4537);
}
