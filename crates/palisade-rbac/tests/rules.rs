//! Each `rbac/*` rule on a manifest that violates it and one that does not,
//! with the exact findings and where they point.

mod common;

use common::{located, of_rule, run};
use palisade_core::Severity;

/// A ClusterRole `NAME` with `RULES`, bound by a ClusterRoleBinding (or a
/// RoleBinding in `team` when `ns` is set) to `SUBJECT`.
fn grant(rules: &str, subject: &str, namespaced: bool) -> String {
    let binding = if namespaced {
        "kind: RoleBinding\nmetadata: {name: b, namespace: team}"
    } else {
        "kind: ClusterRoleBinding\nmetadata: {name: b}"
    };
    format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: r}}\nrules:\n{rules}\n---\napiVersion: rbac.authorization.k8s.io/v1\n{binding}\nroleRef: {{kind: ClusterRole, name: r, apiGroup: rbac.authorization.k8s.io}}\nsubjects:\n- {subject}\n"
    )
}

const GROUP: &str = "{kind: Group, name: devs}";

fn rules_of(rules: &str, namespaced: bool) -> Vec<String> {
    located(&run(&grant(rules, GROUP, namespaced)))
}

#[test]
fn wildcard_verb_is_reported_at_the_verbs_field() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: ops}
        rules:
        - apiGroups: [apps]
          resources: [deployments]
          verbs: [get]
        - apiGroups: [""]
          resources: [configmaps]
          verbs: ["*"]
    "#);
    let f = of_rule(&a, "rbac/wildcard");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].path, "rules[1].verbs");
    assert_eq!((f[0].line, f[0].column), (10, 3));
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(
        f[0].message,
        "ClusterRole \"ops\" rules[1] has \"*\" in verbs (* configmaps); not bound in the input"
    );
}

#[test]
fn wildcard_api_group_alone_is_not_reported() {
    let r = "- {apiGroups: [\"*\"], resources: [deployments], verbs: [get]}";
    assert!(rules_of(r, false).is_empty());
}

#[test]
fn cluster_admin_bound_to_a_user_is_critical_and_implies_the_rest() {
    let yaml = r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: admins}
        roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
        subjects:
        - {kind: Group, name: system:masters}
        - {kind: Group, name: platform}
    "#;
    let a = run(yaml);
    assert_eq!(
        located(&a),
        vec!["rbac/cluster-admin-binding subjects[1] 7:3"]
    );
    let f = &a.findings()[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.message,
        "Group \"platform\" holds cluster-admin: ClusterRoleBinding \"admins\" → ClusterRole \"cluster-admin\" (built-in) rules[0] (* * (apiGroups *))"
    );
}

#[test]
fn cluster_admin_through_a_role_binding_is_full_control_of_the_namespace() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: team-admin, namespace: team}
        roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: team}]
    "#);
    let f = of_rule(&a, "rbac/cluster-admin-binding");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .starts_with("Group \"team\" has full control of namespace \"team\""),
        "{}",
        f[0].message
    );
}

#[test]
fn break_glass_groups_are_configurable() {
    let yaml = common::dedent(
        r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: admins}
        roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: oncall}]
    "#,
    );
    let opts = palisade_rbac::Options {
        break_glass_groups: vec!["oncall".into()],
    };
    let a = palisade_rbac::analyze_with(&common::input(&yaml), &opts);
    assert!(a.findings().is_empty());
}

#[test]
fn secrets_read_cluster_wide_and_in_a_namespace_are_two_rules() {
    let r = "- {apiGroups: [\"\"], resources: [secrets], verbs: [list]}";
    assert_eq!(
        rules_of(r, false),
        vec!["rbac/secrets-read-cluster subjects[0] 12:3"]
    );
    assert_eq!(
        rules_of(r, true),
        vec!["rbac/secrets-read subjects[0] 12:3"]
    );
    let a = run(&grant(r, GROUP, false));
    assert_eq!(
        a.findings()[0].message,
        "Group \"devs\" can read Secrets in every namespace: ClusterRoleBinding \"b\" → ClusterRole \"r\" rules[0] (list secrets)"
    );
    let named = "- {apiGroups: [\"\"], resources: [secrets], resourceNames: [tls], verbs: [get]}";
    assert!(rules_of(named, false).is_empty());
}

#[test]
fn workload_controller_creation_is_reported_reading_is_not() {
    let r = "- {apiGroups: [apps], resources: [deployments], verbs: [create]}";
    assert_eq!(
        rules_of(r, true),
        vec!["rbac/workload-create subjects[0] 12:3"]
    );
    let r = "- {apiGroups: [apps], resources: [deployments], verbs: [get, list, watch]}";
    assert!(rules_of(r, true).is_empty());
    // Right resource, wrong group.
    let r = "- {apiGroups: [example.com], resources: [deployments], verbs: [create]}";
    assert!(rules_of(r, true).is_empty());
}

#[test]
fn exec_attach_and_portforward_are_reported_logs_are_not() {
    let r = "- {apiGroups: [\"\"], resources: [pods/exec], verbs: [create]}";
    assert_eq!(rules_of(r, true), vec!["rbac/pod-exec subjects[0] 12:3"]);
    let r = "- {apiGroups: [\"\"], resources: [\"*/portforward\"], verbs: [get]}";
    assert_eq!(rules_of(r, true), vec!["rbac/pod-exec subjects[0] 12:3"]);
    let r = "- {apiGroups: [\"\"], resources: [pods/log], verbs: [get]}";
    assert!(rules_of(r, true).is_empty());
}

#[test]
fn escalate_and_bind_are_reported() {
    let r = "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [admin]}";
    assert_eq!(
        rules_of(r, true),
        vec!["rbac/escalate-bind subjects[0] 12:3"]
    );
    // escalate on ClusterRoles is cluster-scoped: a RoleBinding cannot grant it.
    let r =
        "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate]}";
    assert!(rules_of(r, true).is_empty());
    assert_eq!(
        rules_of(r, false),
        vec!["rbac/escalate-bind subjects[0] 12:3"]
    );
}

#[test]
fn impersonating_users_needs_a_cluster_role_binding() {
    let r = "- {apiGroups: [\"\"], resources: [users, groups], verbs: [impersonate]}";
    assert_eq!(
        rules_of(r, false),
        vec!["rbac/impersonate subjects[0] 12:3"]
    );
    assert!(rules_of(r, true).is_empty());
    let r = "- {apiGroups: [\"\"], resources: [serviceaccounts], verbs: [impersonate]}";
    assert_eq!(rules_of(r, true), vec!["rbac/impersonate subjects[0] 12:3"]);
}

#[test]
fn token_creation_is_reported() {
    let r = "- {apiGroups: [\"\"], resources: [serviceaccounts/token], verbs: [create]}";
    assert_eq!(
        rules_of(r, true),
        vec!["rbac/token-create subjects[0] 12:3"]
    );
    let r = "- {apiGroups: [\"\"], resources: [serviceaccounts], verbs: [create]}";
    assert!(rules_of(r, true).is_empty());
}

#[test]
fn nodes_proxy_is_reported_only_cluster_wide() {
    let r = "- {apiGroups: [\"\"], resources: [nodes/proxy], verbs: [get]}";
    assert_eq!(
        rules_of(r, false),
        vec!["rbac/nodes-proxy subjects[0] 12:3"]
    );
    assert!(rules_of(r, true).is_empty());
    let r = "- {apiGroups: [\"\"], resources: [nodes/metrics, nodes/stats], verbs: [get]}";
    assert!(rules_of(r, false).is_empty());
}

/// Approving takes update on the approval subresource and approve on a
/// signer; either alone (a GitOps server's ClusterRole updates approvals
/// but approves no signer) is not reported. Signing alone is.
#[test]
fn approving_csrs_is_reported_only_with_both_halves() {
    let approval = "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}";
    let signer = "- {apiGroups: [certificates.k8s.io], resources: [signers], resourceNames: [kubernetes.io/kube-apiserver-client], verbs: [approve]}";
    assert!(rules_of(approval, false).is_empty());
    assert!(rules_of(signer, false).is_empty());
    let both = format!("{approval}\n{signer}");
    assert_eq!(
        rules_of(&both, false),
        vec!["rbac/csr-approve subjects[0] 13:3"]
    );
    let sign = "- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [sign]}";
    assert_eq!(
        rules_of(sign, false),
        vec!["rbac/csr-approve subjects[0] 12:3"]
    );
    let r = "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create, get]}";
    assert!(rules_of(r, false).is_empty());
}

/// CVE-2020-8554: whoever patches services/status can claim any IP.
#[test]
fn services_status_updates_are_reported() {
    let r = "- {apiGroups: [\"\"], resources: [services/status], verbs: [patch]}";
    assert_eq!(
        rules_of(r, true),
        vec!["rbac/services-status subjects[0] 12:3"]
    );
    let r = "- {apiGroups: [\"\"], resources: [services], verbs: [patch]}";
    assert!(rules_of(r, true).is_empty());
}

#[test]
fn webhook_configuration_changes_are_reported() {
    let r = "- {apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [patch]}";
    assert_eq!(
        rules_of(r, false),
        vec!["rbac/webhook-config subjects[0] 12:3"]
    );
    let r = "- {apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [get, list]}";
    assert!(rules_of(r, false).is_empty());
}

#[test]
fn unauthenticated_access_beyond_discovery_is_reported() {
    let r = "- {apiGroups: [\"\"], resources: [configmaps], verbs: [get]}";
    let subject = "{kind: Group, name: \"system:unauthenticated\"}";
    assert_eq!(
        located(&run(&grant(r, subject, false))),
        vec!["rbac/anonymous-access subjects[0] 12:3"]
    );
    let anon = "{kind: User, name: \"system:anonymous\"}";
    assert_eq!(
        located(&run(&grant(r, anon, true))),
        vec!["rbac/anonymous-access subjects[0] 12:3"]
    );
    // The public OIDC discovery documents are discovery.
    let r =
        "- {nonResourceURLs: [/.well-known/openid-configuration, /openid/v1/jwks], verbs: [get]}";
    assert!(located(&run(&grant(r, subject, false))).is_empty());
}

#[test]
fn individual_users_are_reported_system_users_and_groups_are_not() {
    let r = "- {apiGroups: [\"\"], resources: [configmaps], verbs: [get]}";
    assert_eq!(
        located(&run(&grant(r, "{kind: User, name: alice}", false))),
        vec!["rbac/user-subject subjects[0] 12:3"]
    );
    assert!(located(&run(&grant(
        r,
        "{kind: User, name: \"system:kube-proxy\"}",
        false
    )))
    .is_empty());
    assert!(rules_of(r, false).is_empty());
}

#[test]
fn subjects_missing_from_the_input_are_dangling() {
    let a = run(r#"
        apiVersion: v1
        kind: Namespace
        metadata: {name: team}
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata: {name: web, namespace: team}
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: b, namespace: team}
        roleRef: {kind: ClusterRole, name: view, apiGroup: rbac.authorization.k8s.io}
        subjects:
        - {kind: ServiceAccount, name: web}
        - {kind: ServiceAccount, name: ghost}
        - {kind: ServiceAccount, name: runner, namespace: gone}
        - {kind: ServiceAccount, name: coredns, namespace: kube-system}
    "#);
    assert_eq!(
        located(&a),
        vec![
            "rbac/dangling-subject subjects[1] 15:3",
            "rbac/dangling-subject subjects[2] 16:3",
        ]
    );
    let f = a.findings();
    assert_eq!(
        f[0].message,
        "RoleBinding \"team/b\" names ServiceAccount \"team/ghost\", but no such ServiceAccount is in the input, which has others in namespace \"team\": whoever creates it gets the permissions"
    );
    assert!(f[1]
        .message
        .contains("namespace \"gone\" is not among the input's Namespaces"));
}

#[test]
fn permissions_of_the_default_service_account_are_reported() {
    let r = "- {apiGroups: [\"\"], resources: [configmaps], verbs: [get]}";
    let sa = "{kind: ServiceAccount, name: default, namespace: team}";
    assert_eq!(
        located(&run(&grant(r, sa, true))),
        vec!["rbac/default-sa-permissions subjects[0] 12:3"]
    );
    let group = "{kind: Group, name: \"system:serviceaccounts:team\"}";
    assert_eq!(
        located(&run(&grant(r, group, true))),
        vec!["rbac/default-sa-permissions subjects[0] 12:3"]
    );
    let named = "{kind: ServiceAccount, name: web, namespace: team}";
    assert!(located(&run(&grant(r, named, true))).is_empty());
}

const POD: &str = r#"
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: secret-reader}
    rules:
    - {apiGroups: [""], resources: [secrets], verbs: [get, list]}
    - {apiGroups: [""], resources: [pods/exec], verbs: [create]}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRoleBinding
    metadata: {name: builder-secrets}
    roleRef: {kind: ClusterRole, name: secret-reader, apiGroup: rbac.authorization.k8s.io}
    subjects: [{kind: ServiceAccount, name: builder, namespace: ci}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: builder, namespace: ci}
    spec:
      template:
        spec:
          serviceAccountName: builder
          containers: [{name: b, image: "b:1"}]
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: quiet, namespace: ci}
    spec:
      serviceAccountName: builder
      automountServiceAccountToken: false
      containers: [{name: q, image: "q:1"}]
"#;

#[test]
fn pod_whose_token_reads_secrets_is_a_risky_escalation_path() {
    let a = run(POD);
    let f = of_rule(&a, "rbac/risky-pod");
    assert_eq!(f.len(), 1, "the pod without a token is not at risk");
    assert_eq!(f[0].path, "spec.template.spec.serviceAccountName");
    assert_eq!((f[0].line, f[0].column), (20, 7));
    assert_eq!(f[0].object.name, "builder");
    assert_eq!(
        f[0].message,
        "Deployment \"ci/builder\" runs as ServiceAccount \"ci/builder\" with its token mounted, which can read Secrets cluster-wide (ClusterRoleBinding \"builder-secrets\" → ClusterRole \"secret-reader\" rules[0] (get,list secrets)): a privilege-escalation path; it can also exec into, attach to or port-forward to pods (rbac/pod-exec)"
    );
    let paths = a.paths();
    assert_eq!(paths.len(), 1);
    assert_eq!(paths[0].rule_id, "rbac/secrets-read-cluster");
    assert!(paths[0].escalation);
    assert_eq!(
        paths[0].to_string(),
        "Deployment \"ci/builder\" (rbac.yaml:20) → ServiceAccount \"ci/builder\" → ClusterRoleBinding \"builder-secrets\" → ClusterRole \"secret-reader\" → rules[0] (get,list secrets): can read Secrets cluster-wide [rbac/secrets-read-cluster, privilege escalation]"
    );
    assert_eq!(a.pod_paths().len(), 2);
}

#[test]
fn pod_with_only_exec_rights_is_risky_but_not_an_escalation_path() {
    let yaml = POD.replace(
        "- {apiGroups: [\"\"], resources: [secrets], verbs: [get, list]}\n",
        "",
    );
    let a = run(&yaml);
    assert_eq!(of_rule(&a, "rbac/risky-pod").len(), 1);
    assert!(a.paths().is_empty());
    assert_eq!(a.pod_paths().len(), 1);
}

#[test]
fn pod_reaching_permissions_through_its_group_shows_the_group_in_the_chain() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: sas-edit, namespace: apps}
        roleRef: {kind: ClusterRole, name: edit, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: "system:serviceaccounts:apps"}]
        ---
        apiVersion: v1
        kind: Pod
        metadata: {name: web, namespace: apps}
        spec:
          containers: [{name: w, image: "w:1"}]
    "#);
    let paths = a.paths();
    let ids: Vec<&str> = paths.iter().map(|p| p.rule_id).collect();
    // edit: Secrets, impersonating ServiceAccounts, tokens and workloads, in apps.
    assert_eq!(
        ids,
        vec![
            "rbac/secrets-read",
            "rbac/impersonate",
            "rbac/token-create",
            "rbac/workload-create"
        ]
    );
    assert!(paths.iter().all(|p| p.via
        == palisade_rbac::Subject::Group {
            name: "system:serviceaccounts:apps".into()
        }));
    let pod = of_rule(&a, "rbac/risky-pod");
    assert_eq!(pod.len(), 1);
    assert_eq!(pod[0].path, "spec");
}

#[test]
fn bootstrap_objects_of_a_cluster_dump_are_analysed_but_not_reported() {
    let a = run(r#"
        apiVersion: v1
        kind: List
        items:
        - apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRole
          metadata:
            name: cluster-admin
            labels: {kubernetes.io/bootstrapping: rbac-defaults}
          rules:
          - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
        - apiVersion: rbac.authorization.k8s.io/v1
          kind: ClusterRoleBinding
          metadata:
            name: system:kube-controller-manager
            labels: {kubernetes.io/bootstrapping: rbac-defaults}
          roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
          subjects: [{kind: User, name: someone}]
    "#);
    assert!(a.findings().is_empty());
    assert_eq!(a.who_can("delete", "nodes", None).len(), 2);
}

/// A binding to a bootstrap role is judged by the built-in rules even when
/// the input redefines the role harmlessly, and the finding says why.
#[test]
fn bootstrap_role_redefined_in_the_input_keeps_its_built_in_rules() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: cluster-admin}
        rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: ops}
        roleRef: {kind: ClusterRole, name: cluster-admin, apiGroup: rbac.authorization.k8s.io}
        subjects: [{kind: Group, name: ops}]
    "#);
    let f = of_rule(&a, "rbac/cluster-admin-binding");
    assert_eq!(f.len(), 1, "{:#?}", a.findings());
    assert!(
        f[0].message.contains("a bootstrap role"),
        "{}",
        f[0].message
    );
}

/// A role that grants a risky permission is reported on the role itself
/// when nothing in the input binds it, one severity lower.
#[test]
fn unbound_risky_roles_are_reported_on_the_role() {
    let a = run(r#"
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: chart-operator}
        rules:
        - {apiGroups: [""], resources: [configmaps], verbs: [get]}
        - {apiGroups: [""], resources: [secrets], verbs: [list]}
        - {apiGroups: [""], resources: [pods/exec], verbs: [create]}
    "#);
    assert_eq!(
        located(&a),
        vec![
            "rbac/secrets-read-cluster rules[1].verbs 6:43",
            "rbac/pod-exec rules[2].verbs 7:45",
        ]
    );
    let f = of_rule(&a, "rbac/secrets-read-cluster");
    assert_eq!(f[0].severity, Severity::High);
    assert!(
        f[0].message.ends_with("not bound in the input"),
        "{}",
        f[0].message
    );
    // Bound, it is reported on the binding only.
    let bound = run(&grant(
        "- {apiGroups: [\"\"], resources: [secrets], verbs: [list]}",
        GROUP,
        false,
    ));
    assert_eq!(
        located(&bound),
        vec!["rbac/secrets-read-cluster subjects[0] 12:3"]
    );
}
