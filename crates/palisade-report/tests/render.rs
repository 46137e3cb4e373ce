//! Renders a hand-built report in every format and checks what consumers
//! rely on: no escapes without colour, grouping, the summary line, the JSON
//! schema and a SARIF log that code scanning accepts.

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_core::{
    Finding, InputError, ObjectRef, PssLevel, RuleMeta, ScanReport, Severity, Skipped, Summary,
};
use palisade_report::{render, Format, RenderOptions};
use serde_json::Value;

static PRIVILEGED: RuleMeta = RuleMeta {
    id: "pss/privileged",
    title: "Privileged containers",
    severity: Severity::Critical,
    level: Some(PssLevel::Baseline),
    rationale: "A privileged container has full access to the node.",
    remediation: "Remove securityContext.privileged or set it to false.",
    references: &[
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ],
};
static HOST_NAMESPACES: RuleMeta = RuleMeta {
    id: "pss/host-namespaces",
    title: "Host namespaces",
    severity: Severity::High,
    level: Some(PssLevel::Baseline),
    rationale: "Sharing host namespaces breaks isolation.",
    remediation: "Remove hostNetwork, hostPID and hostIPC.",
    references: &["https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"],
};
static RUN_AS_NON_ROOT: RuleMeta = RuleMeta {
    id: "pss/run-as-non-root",
    title: "Running as non-root",
    severity: Severity::Medium,
    level: Some(PssLevel::Restricted),
    rationale: "Containers should not run as root.",
    remediation: "Set runAsNonRoot: true.",
    references: &[],
};
static SECCOMP: RuleMeta = RuleMeta {
    id: "pss/seccomp",
    title: "Seccomp profile",
    severity: Severity::Low,
    level: Some(PssLevel::Restricted),
    rationale: "A seccomp profile limits syscalls.",
    remediation: "Set seccompProfile.type: RuntimeDefault.",
    references: &["https://kubernetes.io/docs/tutorials/security/seccomp/"],
};
static LATEST_TAG: RuleMeta = RuleMeta {
    id: "img/latest-tag",
    title: "Image uses :latest",
    severity: Severity::Info,
    level: None,
    rationale: "A moving tag makes rollouts unreproducible.",
    remediation: "Pin the image by digest.",
    references: &[],
};

fn catalog() -> Vec<&'static RuleMeta> {
    vec![
        &PRIVILEGED,
        &HOST_NAMESPACES,
        &RUN_AS_NON_ROOT,
        &SECCOMP,
        &LATEST_TAG,
    ]
}

/// An absolute path under the working directory, as a user might pass it.
fn web_file() -> String {
    std::env::current_dir()
        .expect("cwd")
        .join("deploy")
        .join("web.yaml")
        .to_string_lossy()
        .into_owned()
}

fn object(kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: if kind == "Pod" { "v1" } else { "apps/v1" }.to_string(),
        kind: kind.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    rule: &RuleMeta,
    file: &Arc<str>,
    object: &ObjectRef,
    container: Option<&str>,
    message: &str,
    path: &str,
    line: u32,
    column: u32,
) -> Finding {
    Finding {
        rule: rule.id,
        severity: rule.severity,
        message: message.to_string(),
        object: std::sync::Arc::new(object.clone()),
        container: container.map(str::to_string),
        path: path.to_string(),
        file: file.clone(),
        line,
        column,
        remediation: rule.remediation,
    }
}

/// Two files: `deploy/web.yaml` (absolute path) with a Deployment and a Pod,
/// `deploy/db.yaml` (relative path) with a StatefulSet; one finding of each
/// severity plus a second critical; an input error; a skipped document.
fn report() -> ScanReport {
    let web: Arc<str> = Arc::from(web_file().as_str());
    let db: Arc<str> = Arc::from("deploy/db.yaml");
    let deploy = object("Deployment", Some("prod"), "web");
    let pod = object("Pod", None, "debug");
    let sts = object("StatefulSet", Some("data"), "db");
    let findings = vec![
        finding(
            &PRIVILEGED,
            &web,
            &deploy,
            Some("app"),
            "container \"app\" is privileged",
            "spec.template.spec.containers[0].securityContext.privileged",
            21,
            13,
        ),
        finding(
            &PRIVILEGED,
            &db,
            &sts,
            Some("postgres"),
            "container \"postgres\" is privileged",
            "spec.template.spec.containers[0].securityContext.privileged",
            30,
            13,
        ),
        finding(
            &HOST_NAMESPACES,
            &web,
            &pod,
            None,
            "hostNetwork is true",
            "spec.hostNetwork",
            40,
            3,
        ),
        finding(
            &RUN_AS_NON_ROOT,
            &web,
            &deploy,
            Some("app"),
            "container \"app\" may run as root",
            "spec.template.spec.containers[0].securityContext.runAsNonRoot",
            20,
            9,
        ),
        finding(
            &SECCOMP,
            &db,
            &sts,
            None,
            "seccompProfile is not set",
            "spec.template.spec.securityContext",
            25,
            7,
        ),
        finding(
            &LATEST_TAG,
            &web,
            &deploy,
            // A container name quoting a terminal escape from the manifest.
            Some("side\u{1b}[31mcar"),
            "image \"nginx:latest\" uses a moving tag",
            "spec.template.spec.containers[1].image",
            26,
            16,
        ),
    ];
    let mut by_severity = BTreeMap::new();
    for f in &findings {
        *by_severity.entry(f.severity).or_insert(0) += 1;
    }
    let mut other_kinds = BTreeMap::new();
    other_kinds.insert("ConfigMap".to_string(), 1);
    ScanReport {
        findings,
        errors: vec![InputError {
            file: Arc::from("deploy/broken.yaml"),
            line: 3,
            column: 5,
            message: "mapping values are not allowed in this context".to_string(),
        }],
        skipped: vec![Skipped {
            file: Arc::from("deploy/notes.yaml"),
            line: 1,
            reason: "not a Kubernetes object: no apiVersion or kind".to_string(),
        }],
        summary: Summary {
            files: 4,
            documents: 6,
            objects: 4,
            workloads: 3,
            other_kinds,
            skipped: 1,
            findings: by_severity,
            errors: 1,
            suppressed: 2,
            notes: Vec::new(),
        },
        ..Default::default()
    }
}

fn render_to_string(report: &ScanReport, format: Format, opts: RenderOptions) -> String {
    let mut out = Vec::new();
    render(report, &catalog(), format, &opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8 output")
}

fn table(report: &ScanReport, color: bool, quiet: bool) -> String {
    let opts = RenderOptions {
        color,
        quiet,
        ..RenderOptions::default()
    };
    render_to_string(report, Format::Table, opts)
}

const SUMMARY: &str = "4 objects (3 workloads, 1 other), 6 findings (critical 2, high 1, medium 1, low 1, info 1), 1 error, 1 skipped";

// ---------------------------------------------------------------- table

#[test]
fn table_without_color_has_no_escape_bytes() {
    let out = table(&report(), false, false);
    assert!(!out.contains('\x1b'), "{out}");
    // The escape in the container name is shown, escaped, not dropped.
    assert!(out.contains("side\\u{1b}"), "{out}");
}

#[test]
fn table_with_color_colours_severities() {
    let out = table(&report(), true, false);
    let critical = out
        .lines()
        .find(|l| l.contains("critical "))
        .expect("critical row");
    assert!(critical.contains("\x1b["), "{critical:?}");
    // Still no escape coming from the input itself.
    assert!(!out.contains("side\x1b"), "{out}");
}

#[test]
fn table_groups_findings_by_file_then_object() {
    let out = table(&report(), false, false);
    let lines: Vec<&str> = out.lines().collect();
    let web = web_file();
    let pos = |needle: &str| {
        let found: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim() == needle)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(found.len(), 1, "{needle:?} once as a heading in\n{out}");
        found[0]
    };
    let web_at = pos(&web);
    let db_at = pos("deploy/db.yaml");
    let deploy_at = pos("Deployment prod/web");
    let pod_at = pos("Pod debug");
    let sts_at = pos("StatefulSet data/db");
    assert!(
        web_at < deploy_at && deploy_at < pod_at && pod_at < db_at && db_at < sts_at,
        "{out}"
    );

    let row = |text: &str| {
        lines
            .iter()
            .position(|l| l.contains(text))
            .unwrap_or_else(|| panic!("{text:?} in\n{out}"))
    };
    // Rows sit under their object, sorted by line within it.
    let root = row("may run as root");
    let privileged = row("\"app\" is privileged");
    let latest = row("moving tag");
    assert!(
        deploy_at < root && root < privileged && privileged < latest && latest < pod_at,
        "{out}"
    );
    assert!(pod_at < row("hostNetwork is true") && row("hostNetwork is true") < db_at);
    assert!(sts_at < row("\"postgres\" is privileged"));
    assert!(sts_at < row("seccompProfile is not set"));

    // One row carries severity, rule, line:col and container; the field path follows.
    let r = lines[privileged];
    for part in ["critical", "pss/privileged", "21:13", "app"] {
        assert!(r.contains(part), "{part:?} in {r:?}");
    }
    let path_row = lines[privileged + 1];
    assert!(
        path_row.contains("securityContext.privileged"),
        "{path_row:?}"
    );
}

#[test]
fn table_fits_in_100_columns() {
    let out = table(&report(), false, false);
    // The heading of an absolute file name and the summary line are not wrapped.
    for l in out
        .lines()
        .filter(|l| !l.contains(&web_file()) && *l != SUMMARY)
    {
        assert!(
            l.chars().count() <= 100,
            "{} columns: {l:?}",
            l.chars().count()
        );
    }
}

#[test]
fn table_lists_errors_and_skipped_then_summary_last() {
    let out = table(&report(), false, false);
    assert!(
        out.contains(
            "deploy/broken.yaml:3:5: error: mapping values are not allowed in this context\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("deploy/notes.yaml:1: skipped: not a Kubernetes object"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some(SUMMARY), "{out}");
    assert!(out.ends_with('\n'));
}

#[test]
fn quiet_table_prints_only_errors_and_summary() {
    let out = table(&report(), false, true);
    assert_eq!(
        out,
        format!("deploy/broken.yaml:3:5: error: mapping values are not allowed in this context\n{SUMMARY}\n")
    );
    let mut clean = report();
    clean.errors.clear();
    assert_eq!(
        table(&clean, false, true),
        "4 objects (3 workloads, 1 other), 6 findings (critical 2, high 1, medium 1, low 1, info 1), 0 errors, 1 skipped\n"
    );
}

#[test]
fn table_says_no_findings() {
    let mut r = report();
    r.findings.clear();
    r.errors.clear();
    r.skipped.clear();
    let out = table(&r, false, false);
    assert_eq!(
        out,
        "4 objects (3 workloads, 1 other), no findings, 0 errors, 0 skipped\n"
    );
}

#[test]
fn many_skipped_documents_are_condensed() {
    let mut r = report();
    r.skipped = (1..=40)
        .map(|i| Skipped {
            file: Arc::from("deploy/notes.yaml"),
            line: i,
            reason: "not a Kubernetes object".to_string(),
        })
        .collect();
    let out = table(&r, false, false);
    assert_eq!(
        out.matches("skipped: not a Kubernetes object").count(),
        5,
        "{out}"
    );
    assert!(out.contains("and 35 more skipped documents"), "{out}");
    assert!(out
        .lines()
        .last()
        .is_some_and(|l| l.ends_with("40 skipped")));
}

// ---------------------------------------------------------------- JSON

fn json(report: &ScanReport) -> (String, Value) {
    let text = render_to_string(report, Format::Json, RenderOptions::default());
    let value = serde_json::from_str(&text).expect("valid JSON");
    (text, value)
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[test]
fn json_has_versioned_schema_and_tool() {
    let (text, v) = json(&report());
    assert!(text.ends_with("}\n"), "trailing newline");
    assert!(text.contains("\n  \"schema\""), "pretty-printed");
    assert_eq!(v["schema"], "palisade.json/v1");
    assert_eq!(v["tool"]["name"], "palisade");
    assert_eq!(v["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        keys(&v),
        ["errors", "findings", "schema", "skipped", "summary", "tool"]
    );
}

#[test]
fn json_findings_carry_every_field() {
    let (_, v) = json(&report());
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 6);
    for f in findings {
        assert_eq!(
            keys(f),
            [
                "column",
                "container",
                "file",
                "line",
                "message",
                "object",
                "path",
                "remediation",
                "rule",
                "severity"
            ]
        );
        assert_eq!(
            keys(&f["object"]),
            ["apiVersion", "kind", "name", "namespace"]
        );
    }
    let first = &findings[0];
    assert_eq!(first["rule"], "pss/privileged");
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["message"], "container \"app\" is privileged");
    assert_eq!(first["object"]["apiVersion"], "apps/v1");
    assert_eq!(first["object"]["kind"], "Deployment");
    assert_eq!(first["object"]["namespace"], "prod");
    assert_eq!(first["object"]["name"], "web");
    assert_eq!(first["container"], "app");
    assert_eq!(
        first["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(first["file"], web_file().as_str());
    assert_eq!(first["line"], 21);
    assert_eq!(first["column"], 13);
    assert_eq!(first["remediation"], PRIVILEGED.remediation);
    // Absent values are null, not missing.
    let pod = &findings[2];
    assert_eq!(pod["object"]["namespace"], Value::Null);
    assert_eq!(pod["container"], Value::Null);
}

#[test]
fn json_lists_errors_and_skipped() {
    let (_, v) = json(&report());
    assert_eq!(
        v["errors"],
        serde_json::json!([{"file": "deploy/broken.yaml", "line": 3, "column": 5,
            "message": "mapping values are not allowed in this context"}])
    );
    assert_eq!(
        v["skipped"],
        serde_json::json!([{"file": "deploy/notes.yaml", "line": 1,
            "reason": "not a Kubernetes object: no apiVersion or kind"}])
    );
}

#[test]
fn json_summary_counts_all_five_severities() {
    let (_, v) = json(&report());
    let s = &v["summary"];
    assert_eq!(
        s["findings"],
        serde_json::json!({"critical": 2, "high": 1, "medium": 1, "low": 1, "info": 1})
    );
    assert_eq!(s["files"], 4);
    assert_eq!(s["documents"], 6);
    assert_eq!(s["objects"], 4);
    assert_eq!(s["workloads"], 3);
    assert_eq!(s["other_kinds"], serde_json::json!({"ConfigMap": 1}));
    assert_eq!(s["skipped"], 1);
    assert_eq!(s["errors"], 1);

    let mut empty = report();
    empty.findings.clear();
    let (_, v) = json(&empty);
    assert_eq!(
        v["summary"]["findings"],
        serde_json::json!({"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0})
    );
}

// ---------------------------------------------------------------- SARIF

fn sarif(report: &ScanReport) -> Value {
    let text = render_to_string(report, Format::Sarif, RenderOptions::default());
    assert!(text.ends_with('\n'));
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn sarif_is_a_2_1_0_log_with_one_run() {
    let v = sarif(&report());
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(
        v["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1));
    let driver = &v["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "palisade");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(driver["informationUri"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://")));
}

#[test]
fn sarif_lists_every_catalog_rule_with_help_and_security_severity() {
    let v = sarif(&report());
    let rules = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, catalog().iter().map(|m| m.id).collect::<Vec<_>>());
    let expected = [
        ("pss/privileged", "9.5", "error"),
        ("pss/host-namespaces", "8.0", "error"),
        ("pss/run-as-non-root", "5.5", "warning"),
        ("pss/seccomp", "3.0", "note"),
        ("img/latest-tag", "1.0", "note"),
    ];
    for (rule, (id, score, level)) in rules.iter().zip(expected) {
        assert_eq!(rule["id"], id);
        assert_eq!(rule["properties"]["security-severity"], score, "{id}");
        assert_eq!(rule["defaultConfiguration"]["level"], level, "{id}");
        let tags = rule["properties"]["tags"].as_array().expect("tags");
        assert!(tags.iter().any(|t| t == "security"), "{id}");
    }
    let p = &rules[0];
    assert_eq!(p["name"], "PssPrivileged");
    assert_eq!(p["shortDescription"]["text"], PRIVILEGED.title);
    assert_eq!(p["fullDescription"]["text"], PRIVILEGED.rationale);
    assert_eq!(p["helpUri"], PRIVILEGED.references[0]);
    let help = p["help"]["text"].as_str().expect("help text");
    assert!(help.contains(PRIVILEGED.rationale) && help.contains(PRIVILEGED.remediation));
    assert!(PRIVILEGED.references.iter().all(|r| help.contains(r)));
    assert!(p["help"]["markdown"]
        .as_str()
        .is_some_and(|m| m.contains("**Remediation:**")));
    // No references: no helpUri.
    assert_eq!(rules[2].get("helpUri"), None);
}

#[test]
fn sarif_results_point_at_their_rules() {
    let v = sarif(&report());
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 6);
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
}

#[test]
fn sarif_rule_missing_from_catalog_gets_a_descriptor() {
    let mut r = report();
    r.findings[0].rule = "custom/unknown";
    let v = sarif(&r);
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), catalog().len() + 1);
    let index = run["results"][0]["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(rules[index]["id"], "custom/unknown");
}

#[test]
fn sarif_levels_follow_severity() {
    let v = sarif(&report());
    let results = v["runs"][0]["results"].as_array().expect("results");
    let level_of = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .map(|r| r["level"].clone())
            .unwrap_or_else(|| panic!("result for {rule}"))
    };
    assert_eq!(level_of("pss/privileged"), "error");
    assert_eq!(level_of("pss/host-namespaces"), "error");
    assert_eq!(level_of("pss/run-as-non-root"), "warning");
    assert_eq!(level_of("pss/seccomp"), "note");
    assert_eq!(level_of("img/latest-tag"), "note");
}

#[test]
fn sarif_locations_are_relative_to_the_working_directory() {
    let v = sarif(&report());
    let results = v["runs"][0]["results"].as_array().expect("results");
    let first = &results[0]["locations"][0]["physicalLocation"];
    assert_eq!(first["artifactLocation"]["uri"], "deploy/web.yaml");
    assert_eq!(first["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(first["region"]["startLine"], 21);
    assert_eq!(first["region"]["startColumn"], 13);
    assert_eq!(
        results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/db.yaml"
    );
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        assert!(
            !uri.contains('\\') && !uri.starts_with("./") && !uri.starts_with('/'),
            "{uri}"
        );
    }
}

#[test]
fn sarif_stdin_is_named_stdin() {
    let mut r = report();
    r.findings[0].file = Arc::from("-");
    let v = sarif(&r);
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "stdin"
    );
}

#[test]
fn sarif_fingerprints_ignore_line_moves() {
    let fingerprints = |r: &ScanReport| -> Vec<Value> {
        let v = sarif(r);
        v["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    let before = report();
    let mut moved = report();
    for f in &mut moved.findings {
        f.line += 7;
        f.column += 2;
    }
    let a = fingerprints(&before);
    assert!(a
        .iter()
        .all(|f| f.as_object().is_some_and(|m| !m.is_empty())));
    assert_eq!(a, fingerprints(&moved));
    // Distinct findings, distinct fingerprints.
    let mut unique = a.clone();
    unique.sort_by_key(|f| f.to_string());
    unique.dedup();
    assert_eq!(unique.len(), a.len());
}

#[test]
fn sarif_reports_input_errors_as_notifications() {
    let v = sarif(&report());
    let invocation = &v["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    let notes = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    let errors: Vec<&Value> = notes.iter().filter(|n| n["level"] == "error").collect();
    assert_eq!(errors.len(), 1);
    let e = errors[0];
    assert_eq!(
        e["message"]["text"],
        "mapping values are not allowed in this context"
    );
    let loc = &e["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "deploy/broken.yaml");
    assert_eq!(loc["region"]["startLine"], 3);
    assert_eq!(loc["region"]["startColumn"], 5);
}
