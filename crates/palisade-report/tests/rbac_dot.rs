//! `palisade rbac paths --format dot`: the access graph of an RBAC
//! analysis written as Graphviz DOT, labels from hostile input escaped.

use palisade_core::{Context, Engine, Limits};
use palisade_rbac::{analyze, is_rbac_input, Analysis, Input};
use palisade_report::rbac::dot;

/// The analysis of `yaml` (written flush left), collected as `scan` does.
fn analysis(yaml: &str) -> Analysis {
    let text: String = yaml
        .trim_start_matches('\n')
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let engine = Engine::new(Vec::new(), Context::default(), Limits::default())
        .with_collection(is_rbac_input);
    let report = engine.scan_bytes("rbac.yaml", text.as_bytes());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    analyze(&Input {
        objects: report.kept.into(),
        pods: report.pods.into(),
    })
}

const RISKY: &str = r#"
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: "quote\"role"}
    rules:
    - {apiGroups: [""], resources: [secrets], verbs: [get]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: reader}
    roleRef: {kind: ClusterRole, name: "quote\"role", apiGroup: rbac.authorization.k8s.io}
    subjects: [{kind: ServiceAccount, name: app, namespace: web}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: app, namespace: web}
    spec:
      serviceAccountName: app
      containers: [{name: a, image: "a:1"}]
"#;

#[test]
fn dot_graph_links_pod_service_account_binding_and_role_with_escaped_labels() {
    let dot = dot(&analysis(RISKY).access_graph());
    let expected = r#"digraph rbac {
  rankdir=LR;
  node [fontname="Helvetica", fontsize=10];
  edge [fontname="Helvetica", fontsize=9];
  "binding:ClusterRoleBinding \"reader\"" [shape=diamond, label="ClusterRoleBinding \"reader\""];
  "pod:Pod/web/app" [shape=component, label="Pod web/app"];
  "role:ClusterRole \"quote\\\"role\"" [shape=box, label="ClusterRole \"quote\\\"role\""];
  "subject:ServiceAccount:web:app" [shape=ellipse, label="ServiceAccount \"web/app\""];
  "binding:ClusterRoleBinding \"reader\"" -> "role:ClusterRole \"quote\\\"role\"" [label="rbac/secrets-read-cluster", color=red, fontcolor=red];
  "pod:Pod/web/app" -> "subject:ServiceAccount:web:app" [label="runs as"];
  "subject:ServiceAccount:web:app" -> "binding:ClusterRoleBinding \"reader\"" [label=""];
}
"#;
    assert_eq!(dot, expected);
}
