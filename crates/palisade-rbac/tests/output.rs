//! What reporters and the CLI read: JSON shapes, text renderings and the
//! Graphviz graph.

mod common;

use common::run;

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
fn access_graph_links_pod_service_account_binding_and_role() {
    use palisade_rbac::NodeKind;
    let g = run(RISKY).access_graph();
    let ids: Vec<(&str, NodeKind)> = g.nodes.iter().map(|n| (n.id.as_str(), n.kind)).collect();
    assert_eq!(
        ids,
        [
            ("binding:ClusterRoleBinding \"reader\"", NodeKind::Binding),
            ("pod:Pod/web/app", NodeKind::Pod),
            ("role:ClusterRole \"quote\\\"role\"", NodeKind::Role),
            ("subject:ServiceAccount:web:app", NodeKind::Subject),
        ]
    );
    let edges: Vec<(&str, &str, &str, bool)> = g
        .edges
        .iter()
        .map(|e| {
            (
                e.from.as_str(),
                e.to.as_str(),
                e.label.as_str(),
                e.escalation,
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            (
                "binding:ClusterRoleBinding \"reader\"",
                "role:ClusterRole \"quote\\\"role\"",
                "rbac/secrets-read-cluster",
                true
            ),
            (
                "pod:Pod/web/app",
                "subject:ServiceAccount:web:app",
                "runs as",
                false
            ),
            (
                "subject:ServiceAccount:web:app",
                "binding:ClusterRoleBinding \"reader\"",
                "",
                false
            ),
        ]
    );
}

#[test]
fn answers_serialize_to_documented_json() {
    let a = run(RISKY);
    let grants = a.who_can("get", "secrets", Some("web"));
    let mine: Vec<_> = grants.iter().filter(|g| !g.binding.builtin).collect();
    assert_eq!(mine.len(), 1);
    let v = serde_json::to_value(mine[0]).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "subject": {"kind": "ServiceAccount", "namespace": "web", "name": "app"},
            "scope": "cluster",
            "binding": {"kind": "ClusterRoleBinding", "name": "reader", "builtin": false, "file": "rbac.yaml", "line": 7, "exists": true},
            "role": {"kind": "ClusterRole", "name": "quote\"role", "builtin": false, "file": "rbac.yaml", "line": 1, "exists": true},
            "rule": {"index": 0, "verbs": ["get"], "apiGroups": [""], "resources": ["secrets"]}
        })
    );
    let path = serde_json::to_value(&a.paths()[0]).unwrap();
    assert_eq!(path["rule_id"], "rbac/secrets-read-cluster");
    assert_eq!(path["escalation"], true);
    assert_eq!(path["pod"]["object"]["kind"], "Pod");
    let rules = serde_json::to_value(a.can("ServiceAccount:web:app")).unwrap();
    assert_eq!(rules[0]["scope"], "cluster");
    assert_eq!(rules[0]["via"]["kind"], "ServiceAccount");
}

#[test]
fn namespace_scope_serializes_with_its_name() {
    let s = palisade_rbac::Scope::Namespace("dev".into());
    assert_eq!(
        serde_json::to_value(&s).unwrap(),
        serde_json::json!({"namespace": "dev"})
    );
    assert_eq!(s.to_string(), "in namespace \"dev\"");
}

#[test]
fn text_renderings_name_subject_binding_role_and_rule() {
    let a = run(RISKY);
    let g = a.who_can("get", "secrets", None);
    let mine: Vec<String> = g
        .iter()
        .filter(|g| !g.binding.builtin)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        mine,
        vec!["ServiceAccount \"web/app\" cluster-wide: ClusterRoleBinding \"reader\" → ClusterRole \"quote\\\"role\" rules[0] (get secrets)"]
    );
    let e: Vec<String> = a
        .can("sa:web:app")
        .iter()
        .filter(|r| !r.binding.builtin)
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        e,
        vec!["cluster-wide: get secrets [ClusterRoleBinding \"reader\" → ClusterRole \"quote\\\"role\" rules[0] (get secrets), to ServiceAccount \"web/app\"]"]
    );
}

#[test]
fn findings_come_in_input_order_with_risky_pods_last() {
    let a = run(RISKY);
    assert_eq!(
        common::located(&a),
        vec![
            "rbac/secrets-read-cluster subjects[0] 11:12",
            "rbac/risky-pod spec.serviceAccountName 17:3",
        ]
    );
    let counts = a.counts();
    assert_eq!((counts.risky_pods, counts.findings), (1, 2));
}

#[test]
fn catalog_has_one_entry_per_rule_id_found() {
    let ids: Vec<&str> = palisade_rbac::catalog().iter().map(|m| m.id).collect();
    assert_eq!(ids.len(), 18);
    let a = run(RISKY);
    assert!(a.findings().iter().all(|f| ids.contains(&f.rule)));
}
