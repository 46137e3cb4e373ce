//! `palisade audit` end to end, what is checked in what was read: versions,
//! node addresses, admission coverage, and the cluster's own Gatekeeper
//! policies. Against the stand-in API server (a mock; see `audit.rs`).

mod common;

use common::cluster::*;
use palisade_standin::Builder;
use serde_json::json;

#[test]
fn versions_node_addresses_and_admission_coverage_are_checked() {
    let rt = runtime();
    let mut b = Builder::new("v1.30.1");
    shop(&mut b, 1);
    b.object(namespace("dev", None));
    b.object(namespace("legacy", Some("privileged")));
    b.object(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "tool", "namespace": "dev"},
        "spec": {"containers": [{"name": "t", "image": format!("busybox@{DIGEST}")}]}}));
    b.object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.25.16"},
            "addresses": [{"type": "InternalIP", "address": "10.0.0.4"}, {"type": "ExternalIP", "address": "203.0.113.7"}, {"type": "Hostname", "address": "n1"}]}}));
    b.object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n2"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.30.1"}, "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]}}));
    b.object(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "palisade"},
        "webhooks": [{"name": "validate.palisade.dev", "failurePolicy": "Ignore", "timeoutSeconds": 5,
            "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": "palisade", "namespace": "palisade", "path": "/validate"}},
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["dev", "kube-system"]}]},
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]}));
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &[]);
    assert_eq!(code, 1, "{stderr}");
    let messages = |rule: &str| -> Vec<String> {
        findings(&report, rule)
            .iter()
            .map(|f| f["message"].as_str().unwrap().to_string())
            .collect()
    };
    let eol = messages("cluster/version-unsupported");
    assert_eq!(eol.len(), 3, "{eol:?}");
    assert!(
        eol.iter().any(|m| m.starts_with(
            "the API server runs v1.30.1: v1.30 reached its end of life on 2025-06-28"
        )),
        "{eol:?}"
    );
    assert!(
        eol.iter()
            .any(|m| m.starts_with("node \"n1\" runs kubelet v1.25.16")),
        "{eol:?}"
    );
    assert!(eol[0].contains("palisade's release table is of"), "{eol:?}");
    let skew = messages("cluster/version-skew");
    assert_eq!(skew.len(), 1, "{skew:?}");
    assert!(
        skew[0].contains("5 minor versions behind the API server (at most 3 allowed)"),
        "{skew:?}"
    );
    let public = findings(&report, "cluster/node-public-address");
    assert_eq!(public.len(), 1, "{public:?}");
    assert_eq!(public[0]["path"], "status.addresses[1].address");
    assert_eq!(public[0]["file"], "/api/v1/nodes/n1");

    let unprotected: Vec<&str> = findings(&report, "cluster/namespace-unprotected")
        .iter()
        .map(|f| f["object"]["name"].as_str().unwrap())
        .collect();
    // shop: PSA baseline; legacy: the webhook selects it (but PSA is off there).
    assert_eq!(
        unprotected,
        ["dev"],
        "{:?}",
        messages("cluster/namespace-unprotected")
    );
    let privileged: Vec<&str> = findings(&report, "cluster/psa-privileged")
        .iter()
        .map(|f| f["object"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(privileged, ["legacy"]);
    let open = findings(&report, "cluster/webhook-fail-open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["path"], "webhooks[0].failurePolicy");
    let excludes = messages("cluster/webhook-excludes");
    assert_eq!(excludes.len(), 1, "{excludes:?}");
    assert!(
        excludes[0].contains("leaves out 1 namespaces that run workloads: dev"),
        "{excludes:?}"
    );
}

/// The cluster's own Gatekeeper policies are read first and reviewed
/// against every object listed, as Gatekeeper's audit does; a template
/// that does not compile is an error naming it, and the others still run.
/// `--policy` evaluates the given constraints instead.
#[test]
fn the_clusters_gatekeeper_constraints_are_evaluated_against_what_runs() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    shop(&mut b, 2);
    b.resource(
        "templates.gatekeeper.sh",
        "v1",
        "constrainttemplates",
        "ConstraintTemplate",
        false,
    );
    b.resource(
        "constraints.gatekeeper.sh",
        "v1beta1",
        "k8srequiredlabels",
        "K8sRequiredLabels",
        false,
    );
    b.resource(
        "constraints.gatekeeper.sh",
        "v1beta1",
        "k8sbroken",
        "K8sBroken",
        false,
    );
    let repo = common::repo();
    // examples/gatekeeper's template and constraint, as the API returns them.
    let rego = "package k8srequiredlabels\n\nviolation[{\"msg\": msg}] {\n  provided := {key | input.review.object.metadata.labels[key]}\n  required := {key | key := input.parameters.labels[_].key}\n  missing := required - provided\n  count(missing) > 0\n  msg := sprintf(\"%v (missing: %v)\", [input.parameters.message, concat(\", \", sort(missing))])\n}\n";
    b.object(
        json!({"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
        "metadata": {"name": "k8srequiredlabels"},
        "spec": {"crd": {"spec": {"names": {"kind": "K8sRequiredLabels"}}},
            "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": rego}]}}),
    );
    b.object(json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sRequiredLabels",
        "metadata": {"name": "workloads-need-team"},
        "spec": {"enforcementAction": "deny",
            "match": {"kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}]},
            "parameters": {"message": "every workload needs a team label", "labels": [{"key": "team"}]}}}));
    b.object(
        json!({"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
        "metadata": {"name": "k8sbroken"},
        "spec": {"crd": {"spec": {"names": {"kind": "K8sBroken"}}},
            "targets": [{"target": "admission.k8s.gatekeeper.sh",
                "rego": "package k8sbroken\nviolation[{\"msg\": msg}] {\n  msg := \n}\n"}]}}),
    );
    b.object(
        json!({"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sBroken",
        "metadata": {"name": "never"}, "spec": {}}),
    );
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &[]);
    assert_eq!(code, 2, "{stderr}");
    let rego = findings(&report, "rego/K8sRequiredLabels/workloads-need-team");
    assert_eq!(rego.len(), 1, "{report:#}");
    assert_eq!(rego[0]["object"]["kind"], "Deployment");
    assert_eq!(rego[0]["object"]["name"], "web");
    assert!(rego[0]["message"]
        .as_str()
        .unwrap()
        .contains("every workload needs a team label"));
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| e["file"]
            == "/apis/templates.gatekeeper.sh/v1/constrainttemplates/k8sbroken"
            && e["message"].as_str().unwrap().ends_with("(not evaluated)")),
        "{errors:#?}"
    );

    // --policy: those constraints instead of the cluster's, and a note says so.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.yaml"),
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {name: need-app}\nspec:\n  match:\n    kinds: [{apiGroups: [apps], kinds: [Deployment]}]\n  parameters:\n    labels: [{key: app}]\n",
    )
    .unwrap();
    let template = repo.join("examples/gatekeeper/template-requiredlabels.yaml");
    let (code, report, stderr) = audit(
        &server,
        &[
            "--policy",
            template.to_str().unwrap(),
            "--policy",
            dir.path().join("c.yaml").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(findings(&report, "rego/K8sRequiredLabels/workloads-need-team").is_empty());
    assert_eq!(
        findings(&report, "rego/K8sRequiredLabels/need-app").len(),
        1,
        "{report:#}"
    );
    assert!(report
        .to_string()
        .contains("the cluster's own Gatekeeper templates"));
}

/// The cluster's ValidatingAdmissionPolicies, their bindings and their
/// params (a ConfigMap here) are read first and evaluated against what
/// runs, with the API server's message.
#[test]
fn the_clusters_validating_admission_policies_are_evaluated_with_their_params() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    shop(&mut b, 3);
    b.object(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "replica-limit"},
        "spec": {"failurePolicy": "Fail",
            "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
            "validations": [{"expression": "object.spec.replicas <= int(params.data.maxReplicas)",
                "messageExpression": "'replicas must be no greater than ' + params.data.maxReplicas"}]}}));
    b.object(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "replica-limit-shop"},
        "spec": {"policyName": "replica-limit", "validationActions": ["Deny"],
            "paramRef": {"name": "replica-limit", "parameterNotFoundAction": "Deny"}}}));
    b.object(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "replica-limit", "namespace": "shop"},
        "data": {"maxReplicas": "2"}}));
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &[]);
    assert_eq!(code, 1, "{stderr}");
    let found = findings(&report, "vap/replica-limit");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["object"]["name"], "web");
    assert_eq!(
        found[0]["message"],
        "ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-shop' denied request: replicas must be no greater than 2"
    );
}
