//! RBAC end to end: `scan` reports the `rbac/*` findings next to the
//! workload findings, located in the files; `rbac who-can | can | paths`
//! answer questions about the same inputs.

mod common;

use std::process::Output;

use common::run;
use serde_json::Value;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn rbac_findings(json: &Value) -> Vec<(String, u64, String)> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("rbac/"))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["object"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn scan_reports_rbac_findings_with_their_lines() {
    let o = run(&["scan", "--format", "json", "examples/insecure/rbac.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = rbac_findings(&json);
    // The ClusterRoleBinding's subject (line 34) reads Secrets everywhere.
    assert!(
        f.contains(&("rbac/secrets-read-cluster".into(), 34, "ci-deployer".into())),
        "{f:?}"
    );
    // The person bound directly (line 48).
    assert!(
        f.contains(&("rbac/user-subject".into(), 48, "alice-admin".into())),
        "{f:?}"
    );
    // The Deployment that mounts that ServiceAccount's token (serviceAccountName, line 64).
    assert!(
        f.contains(&("rbac/risky-pod".into(), 64, "ci-runner".into())),
        "{f:?}"
    );
    let risky = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "rbac/risky-pod")
        .unwrap();
    let msg = risky["message"].as_str().unwrap();
    assert!(
        msg.contains("ClusterRoleBinding \"ci-deployer\" → ClusterRole \"deployer\""),
        "{msg}"
    );
    assert!(msg.contains("privilege-escalation path"), "{msg}");
    // The hardened RBAC example has none.
    let o = run(&["scan", "--format", "json", "examples/hardened/rbac.yaml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn policy_settings_and_exemptions_apply_to_rbac_findings() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("palisade.yaml");
    std::fs::write(
        &policy,
        "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  rules:\n    rbac/user-subject: {enabled: false}\n    rbac/pod-exec: {severity: critical}\n  exemptions:\n  - rules: [rbac/secrets-read-cluster]\n    match: {kinds: [ClusterRoleBinding], names: [ci-deployer]}\n    reason: the CI deployer is audited separately\n",
    )
    .unwrap();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--config",
        policy.to_str().unwrap(),
        "examples/insecure/rbac.yaml",
    ]);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = rbac_findings(&json);
    assert!(!f.iter().any(|x| x.0 == "rbac/user-subject"), "{f:?}");
    assert!(
        !f.iter().any(|x| x.0 == "rbac/secrets-read-cluster"),
        "{f:?}"
    );
    assert!(json["summary"]["suppressed"].as_u64().unwrap() >= 1);
    let exec = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "rbac/pod-exec")
        .unwrap();
    assert_eq!(exec["severity"], "critical");
}

#[test]
fn who_can_names_subject_binding_role_and_rule() {
    let o = run(&[
        "rbac",
        "who-can",
        "get",
        "secrets",
        "examples/insecure/rbac.yaml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("ServiceAccount \"build/ci-deployer\" cluster-wide: ClusterRoleBinding \"ci-deployer\" → ClusterRole \"deployer\" rules[0]"), "{out}");
    assert!(
        out.contains("User \"alice@example.com\" in namespace \"build\""),
        "{out}"
    );
    // Only grants that reach namespace "shop": alice's RoleBinding is in "build".
    let o = run(&[
        "rbac",
        "who-can",
        "get",
        "secrets",
        "-n",
        "shop",
        "--format",
        "json",
        "examples/insecure/rbac.yaml",
    ]);
    let grants: Value = serde_json::from_slice(&o.stdout).unwrap();
    let text = grants.to_string();
    assert!(text.contains("ci-deployer"), "{text}");
    assert!(!text.contains("alice@example.com"), "{text}");
}

#[test]
fn can_lists_a_service_accounts_effective_rules() {
    let o = run(&[
        "rbac",
        "can",
        "system:serviceaccount:shop:catalog",
        "examples/hardened/rbac.yaml",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("in namespace \"shop\": get configmaps [catalog-settings]")
            || out.contains("catalog-settings"),
        "{out}"
    );
    assert!(!out.contains("secrets"), "{out}");
    let o = run(&[
        "rbac",
        "can",
        "ServiceAccount:no-namespace",
        "examples/hardened/rbac.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn paths_as_text_json_and_graphviz() {
    let o = run(&["rbac", "paths", "examples/insecure/rbac.yaml"]);
    let out = stdout(&o);
    assert!(out.contains("Deployment \"build/ci-runner\""), "{out}");
    assert!(
        out.contains("→ ServiceAccount \"build/ci-deployer\" → ClusterRoleBinding \"ci-deployer\""),
        "{out}"
    );
    let o = run(&[
        "rbac",
        "paths",
        "--format",
        "json",
        "examples/insecure/rbac.yaml",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!v.as_array().unwrap().is_empty());
    let o = run(&[
        "rbac",
        "paths",
        "--format",
        "dot",
        "examples/insecure/rbac.yaml",
    ]);
    let dot = stdout(&o);
    assert!(dot.starts_with("digraph rbac {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    assert!(
        dot.contains("ClusterRoleBinding \\\"ci-deployer\\\""),
        "{dot}"
    );
    let o = run(&[
        "rbac",
        "paths",
        "--format",
        "sarif",
        "examples/insecure/rbac.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    // 3,000 bindings: far more answer than a pipe buffer holds.
    let mut yaml = String::from(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get]}]\n",
    );
    for i in 0..3000 {
        yaml.push_str(&format!(
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: b{i}}}\nroleRef: {{kind: ClusterRole, name: reader, apiGroup: rbac.authorization.k8s.io}}\nsubjects: [{{kind: User, name: user-{i}-with-a-long-name-to-fill-the-pipe}}]\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rbac.yaml");
    std::fs::write(&file, yaml).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["rbac", "who-can", "get", "secrets"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head -c 16`
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "no message for a closed pipe"
    );
    assert_eq!(out.status.code(), Some(0));
}
