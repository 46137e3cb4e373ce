//! Effective permissions: the scoping subtleties of RBAC, each with the
//! exact rules a subject ends up holding.

mod common;

use common::{effective, grants, run};

const SCOPING: &str = r#"
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: pod-reader}
    rules:
    - apiGroups: [""]
      resources: [pods, nodes]
      verbs: [get, list]
    - apiGroups: [""]
      resources: [nodes/proxy]
      verbs: [get]
    - nonResourceURLs: [/metrics]
      verbs: [get]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: read-pods, namespace: dev}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
    subjects:
    - {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: read-pods-everywhere}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pod-reader}
    subjects:
    - {kind: Group, name: ops, apiGroup: rbac.authorization.k8s.io}
"#;

#[test]
fn role_binding_to_cluster_role_grants_only_namespaced_rules_in_its_namespace() {
    let a = run(SCOPING);
    // nodes, nodes/proxy and /metrics are cluster-scoped: the RoleBinding
    // cannot grant them, so only pods remain, in dev only.
    assert_eq!(
        effective(&a, "User:alice"),
        vec![r#"in namespace "dev" | get,list pods | RoleBinding read-pods → pod-reader"#]
    );
    assert_eq!(
        effective(&a, "Group:ops"),
        vec![
            "cluster-wide | get,list pods,nodes | ClusterRoleBinding read-pods-everywhere → pod-reader",
            "cluster-wide | get nodes/proxy | ClusterRoleBinding read-pods-everywhere → pod-reader",
            "cluster-wide | get /metrics | ClusterRoleBinding read-pods-everywhere → pod-reader",
        ]
    );
}

#[test]
fn who_can_follows_binding_scope() {
    let a = run(SCOPING);
    assert_eq!(
        grants(&a.who_can("list", "pods", Some("dev"))),
        vec![
            "User:alice in namespace \"dev\" RoleBinding/read-pods",
            "Group:ops cluster-wide ClusterRoleBinding/read-pods-everywhere",
        ]
    );
    assert_eq!(
        grants(&a.who_can("list", "pods", Some("prod"))),
        vec!["Group:ops cluster-wide ClusterRoleBinding/read-pods-everywhere"]
    );
    // nodes are cluster-scoped: the RoleBinding in dev does not count.
    assert_eq!(
        grants(&a.who_can("get", "nodes", Some("dev"))),
        vec!["Group:ops cluster-wide ClusterRoleBinding/read-pods-everywhere"]
    );
    // Without a namespace, only cluster-wide rights are asked about.
    assert_eq!(
        grants(&a.who_can("get", "pods", None)),
        vec!["Group:ops cluster-wide ClusterRoleBinding/read-pods-everywhere"]
    );
    assert_eq!(
        grants(&a.who_can("get", "/metrics", Some("dev"))),
        vec!["Group:ops cluster-wide ClusterRoleBinding/read-pods-everywhere"]
    );
    assert!(grants(&a.who_can("delete", "pods", Some("*"))).is_empty());
}

#[test]
fn role_binding_to_role_uses_the_role_of_its_own_namespace() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: deployer, namespace: dev}
        rules:
        - {apiGroups: [apps], resources: [deployments], verbs: [get, update]}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: deployer, namespace: prod}
        rules:
        - {apiGroups: [apps], resources: [deployments], verbs: ["*"]}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: ci, namespace: dev}
        roleRef: {kind: Role, name: deployer, apiGroup: rbac.authorization.k8s.io}
        subjects:
        - {kind: ServiceAccount, name: ci}
    "#);
    // The subject's namespace defaults to the binding's.
    assert_eq!(
        effective(&a, "ServiceAccount:dev:ci"),
        vec![
            r#"in namespace "dev" | get,update deployments (apiGroups apps) | RoleBinding ci → deployer"#
        ]
    );
    assert!(effective(&a, "ServiceAccount:prod:ci").is_empty());
}

const AGGREGATION: &str = r#"
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: monitoring}
    aggregationRule:
      clusterRoleSelectors:
      - matchLabels: {rbac.example.com/aggregate-to-monitoring: "true"}
    rules: []
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: prom-reader
      labels: {rbac.example.com/aggregate-to-monitoring: "true"}
    rules:
    - {apiGroups: [""], resources: [pods, services], verbs: [get, list, watch]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: metrics
      labels: {rbac.example.com/aggregate-to-monitoring: "true"}
    rules:
    - {nonResourceURLs: [/metrics], verbs: [get]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: unrelated
      labels: {rbac.example.com/aggregate-to-monitoring: "false"}
    rules:
    - {apiGroups: [""], resources: [secrets], verbs: [get]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: widget-viewer
      labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
    rules:
    - {apiGroups: [example.com], resources: [widgets], verbs: [get, list]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: monitoring}
    roleRef: {kind: ClusterRole, name: monitoring, apiGroup: rbac.authorization.k8s.io}
    subjects:
    - {kind: Group, name: monitoring}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: admins, namespace: team}
    roleRef: {kind: ClusterRole, name: admin, apiGroup: rbac.authorization.k8s.io}
    subjects:
    - {kind: Group, name: team-admins}
"#;

#[test]
fn aggregated_cluster_role_holds_the_rules_of_the_roles_its_labels_select() {
    let a = run(AGGREGATION);
    // Selected roles in name order; `unrelated` has the label with another value.
    assert_eq!(
        effective(&a, "Group:monitoring"),
        vec![
            "cluster-wide | get /metrics from metrics | ClusterRoleBinding monitoring → monitoring",
            "cluster-wide | get,list,watch pods,services from prom-reader | ClusterRoleBinding monitoring → monitoring",
        ]
    );
}

#[test]
fn aggregation_to_view_reaches_edit_and_admin_transitively() {
    let a = run(AGGREGATION);
    assert_eq!(
        grants(&a.who_can("list", "widgets.example.com", Some("team"))),
        vec![r#"Group:team-admins in namespace "team" RoleBinding/admins"#]
    );
    let rules = a.can("Group:team-admins");
    // admin = aggregate-to-admin (2) + edit's aggregate-to-edit (13) +
    // view's aggregate-to-view (10) + widget-viewer (1); rules that only
    // name cluster-scoped resources would be dropped, none here.
    assert_eq!(rules.len(), 26);
    let widget = rules
        .iter()
        .find(|r| r.rule.resources == ["widgets"])
        .map(|r| r.rule.aggregated_from.as_ref().map(|f| f.name.clone()));
    assert_eq!(widget, Some(Some("widget-viewer".to_string())));
    assert!(rules
        .iter()
        .all(|r| r.role.name == "admin" && r.role.builtin));
}

#[test]
fn match_expressions_select_like_label_selectors() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: agg}
        aggregationRule:
          clusterRoleSelectors:
          - matchExpressions:
            - {key: tier, operator: In, values: [db, cache]}
            - {key: legacy, operator: DoesNotExist}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: db, labels: {tier: db}}
        rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: old-db, labels: {tier: db, legacy: "yes"}}
        rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: agg}
        roleRef: {kind: ClusterRole, name: agg, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: User, name: dba}]
    "#);
    assert_eq!(
        effective(&a, "User:dba"),
        vec!["cluster-wide | get configmaps from db | ClusterRoleBinding agg → agg"]
    );
}

#[test]
fn resource_names_limit_grants_and_never_allow_create() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata: {name: config, namespace: app}
        rules:
        - {apiGroups: [""], resources: [secrets], resourceNames: [app-config], verbs: [get]}
        - {apiGroups: [""], resources: [pods], resourceNames: [web-0], verbs: [create, delete]}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: web, namespace: app}
        roleRef: {kind: Role, name: config, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: ServiceAccount, name: web, namespace: app}]
    "#);
    assert_eq!(
        grants(&a.who_can("get", "secrets", Some("app"))),
        vec![r#"ServiceAccount:app:web in namespace "app" RoleBinding/web named app-config"#]
    );
    assert!(grants(&a.who_can("create", "pods", Some("app"))).is_empty());
    assert_eq!(
        grants(&a.who_can("delete", "pods", Some("app"))),
        vec![r#"ServiceAccount:app:web in namespace "app" RoleBinding/web named web-0"#]
    );
    // Reading one named Secret is least privilege, not rbac/secrets-read.
    assert!(a.findings().iter().all(|f| f.rule != "rbac/secrets-read"));
}

#[test]
fn wildcard_api_groups_match_every_group_and_subresource_wildcards_only_their_subresource() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: scaler}
        rules:
        - {apiGroups: ["*"], resources: [deployments, "*/scale"], verbs: [get]}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: scaler}
        roleRef: {kind: ClusterRole, name: scaler, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: autoscalers}]
    "#);
    let who = |verb, res| grants(&a.who_can(verb, res, None)).len();
    assert_eq!(who("get", "deployments.apps"), 1);
    assert_eq!(who("get", "deployments.example.com"), 1);
    assert_eq!(who("get", "statefulsets.apps/scale"), 1);
    assert_eq!(who("get", "statefulsets.apps/status"), 0);
    assert_eq!(who("get", "statefulsets.apps"), 0);
    assert_eq!(who("list", "deployments"), 0);
}

#[test]
fn service_accounts_hold_what_their_implicit_groups_and_user_name_hold() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: cm-reader}
        rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: all-sas-of-ci, namespace: shared}
        roleRef: {kind: ClusterRole, name: cm-reader, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: "system:serviceaccounts:ci"}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: every-sa, namespace: public}
        roleRef: {kind: ClusterRole, name: cm-reader, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: "system:serviceaccounts"}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: by-user-name, namespace: build}
        roleRef: {kind: ClusterRole, name: cm-reader, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: User, name: "system:serviceaccount:ci:builder"}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: everyone, namespace: docs}
        roleRef: {kind: ClusterRole, name: cm-reader, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: "system:authenticated"}]
    "#);
    assert_eq!(
        effective(&a, "system:serviceaccount:ci:builder"),
        vec![
            r#"in namespace "build" | get configmaps | RoleBinding by-user-name → cm-reader"#,
            r#"in namespace "docs" | get configmaps | RoleBinding everyone → cm-reader"#,
            r#"in namespace "public" | get configmaps | RoleBinding every-sa → cm-reader"#,
            r#"in namespace "shared" | get configmaps | RoleBinding all-sas-of-ci → cm-reader"#,
        ]
    );
    assert_eq!(
        effective(&a, "ServiceAccount:other:x"),
        vec![
            r#"in namespace "docs" | get configmaps | RoleBinding everyone → cm-reader"#,
            r#"in namespace "public" | get configmaps | RoleBinding every-sa → cm-reader"#,
        ]
    );
    assert_eq!(
        effective(&a, "User:carol"),
        vec![r#"in namespace "docs" | get configmaps | RoleBinding everyone → cm-reader"#]
    );
    // system:anonymous is not authenticated.
    assert!(effective(&a, "User:system:anonymous").is_empty());
}

#[test]
fn every_user_holds_the_built_in_discovery_roles() {
    let a = run("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
    let rules: Vec<String> = a.can("User:alice").iter().map(common::eff).collect();
    assert_eq!(
        rules,
        vec![
            "cluster-wide | create selfsubjectaccessreviews,selfsubjectrulesreviews (apiGroups authorization.k8s.io) | ClusterRoleBinding system:basic-user → system:basic-user",
            "cluster-wide | create selfsubjectreviews (apiGroups authentication.k8s.io) | ClusterRoleBinding system:basic-user → system:basic-user",
            "cluster-wide | get /api,/api/*,/apis,/apis/*,/healthz,/livez,/openapi,/openapi/*,/readyz,/version,/version/ | ClusterRoleBinding system:discovery → system:discovery",
            "cluster-wide | get /healthz,/livez,/readyz,/version,/version/ | ClusterRoleBinding system:public-info-viewer → system:public-info-viewer",
        ]
    );
    let anon: Vec<String> = a
        .can("User:system:anonymous")
        .iter()
        .map(common::eff)
        .collect();
    assert_eq!(
        anon,
        vec!["cluster-wide | get /healthz,/livez,/readyz,/version,/version/ | ClusterRoleBinding system:public-info-viewer → system:public-info-viewer"]
    );
    let builtin: Vec<String> = a
        .who_can("get", "secrets", None)
        .iter()
        .map(|g| format!("{} {}", g.subject, g.binding))
        .collect();
    assert_eq!(
        builtin,
        vec![
            "User:system:kube-controller-manager ClusterRoleBinding \"system:kube-controller-manager\" (built-in)",
            "Group:system:masters ClusterRoleBinding \"cluster-admin\" (built-in)",
        ]
    );
}

/// The API server reconciles bootstrap roles at start-up: an input role
/// named `view` still holds the built-in rules (its aggregation of the
/// `aggregate-to-view` roles), unless it switches reconciliation off.
#[test]
fn input_bootstrap_role_is_reconciled_with_the_built_in_one() {
    let yaml = r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: view ANNOTATIONS}
        rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: viewers}
        roleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: viewers}]
    "#;
    let reconciled = effective(&run(&yaml.replace(" ANNOTATIONS", "")), "Group:viewers");
    assert_eq!(
        reconciled[0],
        "cluster-wide | get pods | ClusterRoleBinding viewers → view"
    );
    assert!(
        reconciled
            .iter()
            .any(|l| l.contains("deployments") && l.contains("from system:aggregate-to-view")),
        "{reconciled:#?}"
    );
    let off = yaml.replace(
        " ANNOTATIONS",
        ", annotations: {rbac.authorization.kubernetes.io/autoupdate: \"false\"}",
    );
    assert_eq!(
        effective(&run(&off), "Group:viewers"),
        vec!["cluster-wide | get pods | ClusterRoleBinding viewers → view"]
    );
}

#[test]
fn binding_to_a_missing_role_grants_nothing() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: orphan, namespace: dev}
        roleRef: {kind: Role, name: nowhere, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: devs}]
    "#);
    assert!(a.can("Group:devs").is_empty());
    assert!(grants(&a.who_can("get", "pods", Some("*"))).is_empty());
}
