//! End-to-end tests of the policy file: rule settings, exemptions (with
//! expiry), inline suppressions, discovery of .palisade.yaml, and the
//! `config` subcommands.

use std::path::Path;
use std::process::{Command, Output};

const HEADER: &str = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n";

/// A DaemonSet sharing the host network, in namespace `monitoring`.
const NODE_EXPORTER: &str = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: node-exporter\n  namespace: monitoring\nANNOTATIONS\nspec:\n  selector: {matchLabels: {app: ne}}\n  template:\n    metadata: {labels: {app: ne}}\n    spec:\n      hostNetwork: true\n      containers:\n      - name: ne\n        image: quay.io/prometheus/node-exporter:v1.8.2\n";

fn palisade(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .current_dir(dir)
        .env_remove("PALISADE_CONFIG")
        .env_remove("PALISADE_LEVEL")
        .env_remove("PALISADE_PSS_VERSION")
        .env_remove("PALISADE_FAIL_ON")
        .args(args)
        .output()
        .expect("palisade runs")
}

fn setup(policy: Option<&str>, annotations: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = NODE_EXPORTER.replace("ANNOTATIONS\n", annotations);
    std::fs::write(dir.path().join("ne.yaml"), manifest).expect("write manifest");
    if let Some(p) = policy {
        std::fs::write(dir.path().join("policy.yaml"), format!("{HEADER}{p}"))
            .expect("write policy");
    }
    dir
}

fn scan_json(dir: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["scan", "--format", "json"];
    if !extra.contains(&"--level") {
        args.extend(["--level", "baseline"]);
    }
    args.extend_from_slice(extra);
    args.push("ne.yaml");
    let o = palisade(dir, &args);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o.status.code(), v)
}

fn rules(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule").to_string())
        .collect()
}

fn has(v: &serde_json::Value, rule: &str) -> bool {
    rules(v).iter().any(|r| r == rule)
}

#[test]
fn without_policy_host_network_is_reported() {
    let dir = setup(None, "");
    let (code, v) = scan_json(dir.path(), &[]);
    assert_eq!(code, Some(1));
    assert!(has(&v, "pss/hostNamespaces"));
    assert_eq!(v["summary"]["suppressed"], 0);
}

#[test]
fn exemption_matching_namespace_kind_and_image_suppresses_and_is_counted() {
    let policy = "  exemptions:\n  - rules: [pss/hostNamespaces]\n    match: {namespaces: [monitoring], kinds: [DaemonSet], names: ['node-*']}\n    reason: node-exporter reads host network statistics\n    owner: platform\n    expires: 2999-01-01\n";
    let dir = setup(Some(policy), "");
    let (_, v) = scan_json(dir.path(), &["--config", "policy.yaml"]);
    assert!(!has(&v, "pss/hostNamespaces"), "{:?}", rules(&v));
    assert_eq!(v["summary"]["suppressed"], 1);
    // The same exemption for another namespace does not apply.
    let other = policy.replace("[monitoring]", "[kube-system]");
    let dir = setup(Some(&other), "");
    let (_, v) = scan_json(dir.path(), &["--config", "policy.yaml"]);
    assert!(has(&v, "pss/hostNamespaces"));
    assert_eq!(v["summary"]["suppressed"], 0);
}

#[test]
fn image_glob_exemption_applies_only_to_findings_about_that_container() {
    let policy = "  exemptions:\n  - rules: ['pss/*']\n    match: {images: ['quay.io/prometheus/**']}\n    reason: vendor image\n";
    let dir = setup(Some(policy), "");
    let (_, v) = scan_json(
        dir.path(),
        &["--config", "policy.yaml", "--level", "restricted"],
    );
    // Pod-level hostNetwork is not about a container: still reported.
    assert!(has(&v, "pss/hostNamespaces"));
    // Container-level restricted findings are exempted.
    assert!(!has(&v, "pss/allowPrivilegeEscalation"), "{:?}", rules(&v));
    assert!(v["summary"]["suppressed"].as_u64().expect("n") >= 1);
}

#[test]
fn expired_exemption_stops_applying_and_is_reported_at_its_line() {
    let policy = "  exemptions:\n  - rules: [pss/hostNamespaces]\n    reason: temporary\n    owner: team-a\n    expires: 2020-01-31\n";
    let dir = setup(Some(policy), "");
    let (code, v) = scan_json(dir.path(), &["--config", "policy.yaml"]);
    assert_eq!(code, Some(1));
    assert!(has(&v, "pss/hostNamespaces"));
    let expired = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "policy/expired-exemption")
        .expect("expired exemption reported");
    assert_eq!(expired["file"], "policy.yaml");
    assert_eq!(expired["line"], 5);
    assert!(expired["message"]
        .as_str()
        .expect("msg")
        .contains("2020-01-31"));
}

#[test]
fn inline_suppression_needs_policy_opt_in_and_a_reason() {
    let annotation =
        "  annotations:\n    palisade.dev/ignore: \"pss/hostNamespaces: needs host network\"\n";
    // Not opted in: the finding stays, and the annotation is reported.
    let dir = setup(None, annotation);
    let (_, v) = scan_json(dir.path(), &[]);
    assert!(has(&v, "pss/hostNamespaces"));
    assert!(has(&v, "policy/ignore-annotation"));
    // Opted in: suppressed.
    let dir = setup(
        Some("  suppressions: {inline: ['pss/host*']}\n"),
        annotation,
    );
    let (_, v) = scan_json(dir.path(), &["--config", "policy.yaml"]);
    assert!(!has(&v, "pss/hostNamespaces"), "{:?}", rules(&v));
    assert!(!has(&v, "policy/ignore-annotation"));
    assert_eq!(v["summary"]["suppressed"], 1);
    // No reason: not honoured, reported.
    let no_reason = "  annotations:\n    palisade.dev/ignore: pss/hostNamespaces\n";
    let dir = setup(Some("  suppressions: {inline: ['pss/*']}\n"), no_reason);
    let (_, v) = scan_json(dir.path(), &["--config", "policy.yaml"]);
    assert!(has(&v, "pss/hostNamespaces"));
    let f = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "policy/ignore-annotation")
        .expect("annotation finding");
    assert!(f["message"].as_str().expect("msg").contains("no reason"));
    assert_eq!(f["line"], 7);
}

#[test]
fn rule_settings_disable_rules_and_override_severity() {
    let dir = setup(
        Some("  rules:\n    pss/hostNamespaces: {enabled: false}\n"),
        "",
    );
    let (_, v) = scan_json(dir.path(), &["--config", "policy.yaml"]);
    assert!(!has(&v, "pss/hostNamespaces"));
    let dir = setup(Some("  rules:\n    'pss/*': {severity: info}\n"), "");
    let (code, v) = scan_json(dir.path(), &["--config", "policy.yaml", "--fail-on", "low"]);
    let sev: Vec<_> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"].as_str().is_some_and(|r| r.starts_with("pss/")))
        .map(|f| f["severity"].as_str().expect("sev").to_string())
        .collect();
    assert!(
        !sev.is_empty() && sev.iter().all(|s| s == "info"),
        "{sev:?}"
    );
    let others_at_low = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["severity"] != "info");
    assert_eq!(code, Some(if others_at_low { 1 } else { 0 }));
}

#[test]
fn dot_palisade_yaml_is_found_and_flags_override_it() {
    let dir = setup(None, "");
    std::fs::write(
        dir.path().join(".palisade.yaml"),
        format!("{HEADER}  podSecurity: {{level: privileged}}\n"),
    )
    .expect("write");
    let o = palisade(dir.path(), &["scan", "--format", "json", "ne.yaml"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(
        !rules(&v).iter().any(|r| r.starts_with("pss/")),
        "privileged level from .palisade.yaml"
    );
    let o = palisade(
        dir.path(),
        &["scan", "--format", "json", "--level", "baseline", "ne.yaml"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(has(&v, "pss/hostNamespaces"), "--level overrides the file");
}

#[test]
fn invalid_policy_is_an_error_with_file_line_and_column() {
    let dir = setup(
        Some("  images:\n    requireDigest: maybe\n  exemptionz: []\n"),
        "",
    );
    let o = palisade(dir.path(), &["scan", "--config", "policy.yaml", "ne.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("policy.yaml:5:20:"), "{err}");
    assert!(
        err.contains("policy.yaml:6:3: unknown key \"exemptionz\""),
        "{err}"
    );
    let o = palisade(dir.path(), &["config", "check", "policy.yaml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn config_init_writes_a_policy_that_config_check_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = palisade(dir.path(), &["config", "init", "--output", "palisade.yaml"]);
    assert_eq!(o.status.code(), Some(0));
    let o = palisade(dir.path(), &["config", "check", "palisade.yaml"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("valid policy"));
    // init refuses to overwrite.
    let o = palisade(dir.path(), &["config", "init", "--output", "palisade.yaml"]);
    assert_eq!(o.status.code(), Some(2));
}
