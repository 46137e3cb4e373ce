//! `palisade audit` end to end: the binary against a stand-in for the
//! Kubernetes API server (`palisade-standin`, a mock: no API server runs on
//! the test machines). The stand-in serves discovery and paginated LISTs in
//! the API's JSON, and the faults a real one has.

mod common;

use palisade_standin::{Builder, Fault, Server};
use serde_json::{json, Value};

const DIGEST: &str = "sha256:4f1f0e1c3a7d0b8e6b4f4b0e8f6f2a9d7c1b3e5f7a9c1d3e5f7a9b1c3d5e7f9a";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn namespace(name: &str, enforce: Option<&str>) -> Value {
    let mut labels = json!({"kubernetes.io/metadata.name": name});
    if let Some(level) = enforce {
        labels["pod-security.kubernetes.io/enforce"] = json!(level);
    }
    json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "uid": format!("ns-{name}"), "labels": labels}})
}

fn pod_spec(image: &str) -> Value {
    json!({"containers": [{"name": "web", "image": image,
        "securityContext": {"privileged": true}}]})
}

/// A Deployment `web` in `shop` running nginx by tag, privileged, with one
/// ReplicaSet and `pods` pods (each with the digest it runs).
fn shop(b: &mut Builder, pods: usize) {
    b.object(namespace("shop", Some("baseline")));
    b.object(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "d-web"},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec("nginx:1.27")}},
            "status": {"replicas": pods}}));
    b.object(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-5d8", "namespace": "shop", "uid": "rs-web",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d-web", "controller": true}]},
        "spec": {"replicas": pods, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec("nginx:1.27")}},
            "status": {"replicas": pods}}));
    for i in 0..pods {
        b.object(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("web-5d8-{i}"), "namespace": "shop", "uid": format!("p-{i}"),
                "labels": {"app": "web"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8", "uid": "rs-web", "controller": true}]},
            "spec": pod_spec("nginx:1.27"),
            "status": {"phase": "Running", "containerStatuses": [{"name": "web", "image": "docker.io/library/nginx:1.27",
                "imageID": format!("docker.io/library/nginx@{DIGEST}"), "ready": true, "restartCount": 0}]}}));
    }
}

/// Runs `palisade audit` against `server` with `args` (JSON output).
fn audit(server: &Server, args: &[&str]) -> (i32, Value, String) {
    audit_with(&server.kubeconfig(), args)
}

/// Runs `palisade audit` with `kubeconfig` and `args` (JSON output).
fn audit_with(kubeconfig_text: &str, args: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, kubeconfig_text).unwrap();
    let mut all = vec!["audit", "--kubeconfig", kubeconfig.to_str().unwrap()];
    if !args.contains(&"-f") {
        all.extend(["-f", "json"]);
    }
    all.extend_from_slice(args);
    let out = common::run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

#[test]
fn pods_are_reported_once_at_their_deployment_with_the_digest_that_runs() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    shop(&mut b, 3);
    // An orphan pod is reported at itself.
    b.object(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "debug", "namespace": "shop", "uid": "p-debug"},
        "spec": pod_spec(&format!("busybox@{DIGEST}"))}));
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &["--page-size", "2"]);
    assert_eq!(code, 1, "{stderr}");
    let mut privileged = findings(&report, "pss/privileged");
    // Pods are listed before their owners: the orphan comes first.
    privileged.sort_by_key(|f| f["object"]["kind"] != "Deployment");
    let at: Vec<String> = privileged
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["object"]["kind"].as_str().unwrap(),
                f["object"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(at, ["Deployment web", "Pod debug"], "{privileged:#?}");
    let web = privileged[0];
    assert_eq!(web["file"], "/apis/apps/v1/namespaces/shop/deployments/web");
    assert_eq!(web["line"], 0);
    assert_eq!(
        web["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert!(
        web["message"]
            .as_str()
            .unwrap()
            .ends_with("(3 running pods)"),
        "{web}"
    );
    assert_eq!(privileged[1]["file"], "/api/v1/namespaces/shop/pods/debug");

    let running = findings(&report, "image/running-unpinned");
    assert_eq!(running.len(), 1, "{running:#?}");
    assert_eq!(running[0]["object"]["kind"], "Deployment");
    assert_eq!(running[0]["path"], "spec.template.spec.containers[0].image");
    let message = running[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("docker.io/library/nginx@{DIGEST}")),
        "{message}"
    );
    assert!(message.ends_with("(3 of 3 running pods)"), "{message}");
    // Nothing is reported at the ReplicaSet or the owned pods.
    for f in report["findings"].as_array().unwrap() {
        let name = f["object"]["name"].as_str().unwrap();
        assert!(!name.starts_with("web-5d8"), "{f}");
    }
    // Paginated: two objects per page.
    let lists = server.lists();
    assert!(
        lists
            .iter()
            .any(|l| l.starts_with("pods?limit=2&continue=")),
        "{lists:?}"
    );
    // Secrets are neither listed nor asked for by default.
    assert!(!lists.iter().any(|l| l.contains("secrets")), "{lists:?}");
}

#[test]
fn an_expired_continue_token_restarts_the_list_and_says_so() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    b.fault("pods", Fault::ExpireOnce);
    shop(&mut b, 5);
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &["--page-size", "2"]);
    assert_eq!(code, 1, "{stderr}");
    let notes = report["summary"]["notes"].to_string();
    assert!(
        notes.contains("410 Gone") && notes.contains("restarted"),
        "{notes}"
    );
    let running = findings(&report, "image/running-unpinned");
    assert_eq!(running.len(), 1);
    // Every pod counted once, none twice after the restart.
    assert!(
        running[0]["message"]
            .as_str()
            .unwrap()
            .ends_with("(5 of 5 running pods)"),
        "{running:?}"
    );
    assert_eq!(report["errors"].as_array().unwrap().len(), 0);
}

#[test]
fn the_api_server_is_read_over_tls_and_its_certificate_is_verified() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    shop(&mut b, 2);
    let server = rt.block_on(b.start_tls());
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let (code, report, stderr) = audit(&server, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(findings(&report, "pss/privileged").len(), 1, "{report:#}");
    assert!(!server.lists().is_empty());

    // A kubeconfig trusting another CA: nothing is read, and the errors say why.
    let other = rt.block_on(Builder::new("v1.33.2").start_tls());
    let ca = |s: &Server| {
        s.kubeconfig()
            .lines()
            .find(|l| l.contains("certificate-authority-data"))
            .unwrap()
            .to_string()
    };
    let wrong = server.kubeconfig().replace(&ca(&server), &ca(&other));
    let lists = server.lists().len();
    let (code, report, stderr) = audit_with(&wrong, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(server.lists().len(), lists, "a LIST got through");
    let errors = report["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{report:#}");
    assert!(findings(&report, "pss/privileged").is_empty());
}

#[test]
fn a_forbidden_list_is_an_error_naming_the_permission_and_the_rest_is_audited() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    b.fault("configmaps", Fault::Forbidden);
    b.fault("replicasets", Fault::ThrottleOnce);
    shop(&mut b, 2);
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &[]);
    assert_eq!(code, 2, "{stderr}");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("cannot list configmaps (/api/v1/configmaps): 403 Forbidden"),
        "{message}"
    );
    assert!(
        message.contains("needs `list` on `configmaps`"),
        "{message}"
    );
    assert_eq!(errors[0]["file"], "/api/v1/configmaps");
    // The throttled ReplicaSets were listed after Retry-After: the pods still fold.
    assert_eq!(findings(&report, "pss/privileged").len(), 1);
    assert!(
        server
            .lists()
            .iter()
            .filter(|l| l.starts_with("replicasets"))
            .count()
            >= 2
    );
}

#[test]
fn a_list_cut_off_or_malformed_is_an_error_of_that_resource_only() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    b.fault("pods", Fault::Truncate);
    b.fault("nodes", Fault::Malformed);
    shop(&mut b, 4);
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &["--page-size", "2"]);
    assert_eq!(code, 2, "{stderr}");
    let errors: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("cannot list pods (/api/v1/pods)"),
        "{errors:?}"
    );
    assert!(
        errors[0].contains("the list is incomplete: 2 objects were read"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("cannot list nodes (/api/v1/nodes): the response is not JSON"),
        "{errors:?}"
    );
    // The Deployment was still checked.
    assert_eq!(findings(&report, "pss/privileged").len(), 1);
}

#[test]
fn secrets_are_listed_only_when_asked_and_as_metadata_unless_values_are() {
    let rt = runtime();
    let mut b = Builder::new("v1.33.2");
    b.object(namespace("shop", Some("restricted")));
    b.object(
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "shop"},
        "type": "Opaque", "stringData": {"password": "Zq8rT2mK9wL4xVb7Nc3Hd6"}}),
    );
    // A legacy token Secret: metadata-only listing tells it by its annotation.
    b.object(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "deployer-token-x7k2p", "namespace": "shop",
            "annotations": {"kubernetes.io/service-account.name": "deployer"}},
        "type": "kubernetes.io/service-account-token",
        "data": {"token": "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluTjBZVzVrYVc0aWZR"}}));
    let server = rt.block_on(b.start());
    let (_, report, stderr) = audit(&server, &["--secrets"]);
    assert!(
        server.lists().iter().any(|l| l.starts_with("secrets")),
        "{stderr}"
    );
    let text = report.to_string();
    assert!(!text.contains("Zq8rT2mK9wL4xVb7Nc3Hd6"));
    // Listed as metadata only: no value reached palisade, so no value rule fired.
    let value_rules: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("secrets/"))
        .collect();
    assert!(value_rules.is_empty(), "{value_rules:#?}");
    let legacy = findings(&report, "serviceaccount/legacy-token-secret");
    assert_eq!(legacy.len(), 1, "{report:#}");
    assert_eq!(legacy[0]["object"]["name"], "deployer-token-x7k2p");
    assert!(legacy[0]["message"]
        .as_str()
        .unwrap()
        .contains("ServiceAccount \"deployer\""));

    // --secret-values reads the values (checked in memory, never printed);
    // a Secret in the cluster is not a "manifest kept in source".
    let (_, report, _) = audit(&server, &["--secret-values"]);
    let text = report.to_string();
    assert!(!text.contains("Zq8rT2mK9wL4xVb7Nc3Hd6"));
    assert!(!text.contains("ZXlKaGJHY2lPaUpTVXpJMU5p"));
    assert!(
        findings(&report, "secrets/plaintext-secret-manifest").is_empty(),
        "{report:#}"
    );
    assert_eq!(
        findings(&report, "serviceaccount/legacy-token-secret").len(),
        1
    );
}

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

fn report_server(rt: &tokio::runtime::Runtime) -> Server {
    let mut b = Builder::new("v1.35.0");
    shop(&mut b, 2);
    // A node with a public address: a cluster-scoped finding.
    b.object(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.35.0"}, "addresses": [{"type": "ExternalIP", "address": "203.0.113.7"}]}}));
    b.resource(
        "wgpolicyk8s.io",
        "v1alpha2",
        "policyreports",
        "PolicyReport",
        true,
    );
    b.resource(
        "wgpolicyk8s.io",
        "v1alpha2",
        "clusterpolicyreports",
        "ClusterPolicyReport",
        false,
    );
    let report = |ns: &str, manager: &str| {
        json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
            "metadata": {"name": manager, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": manager}},
            "summary": {"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 0}, "results": []})
    };
    // A namespace palisade reported on before, clean or gone now; and Kyverno's own report.
    b.object({
        let mut r = report("gone", "palisade");
        r["metadata"]["name"] = json!("palisade");
        r
    });
    b.object(report("shop", "kyverno"));
    rt.block_on(b.start())
}

#[test]
fn policyreports_are_one_per_namespace_with_counts() {
    let rt = runtime();
    let server = report_server(&rt);
    let (code, list, stderr) = audit(&server, &["-f", "policyreport"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = items
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap(),
                r["metadata"]["namespace"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("ClusterPolicyReport", ""), ("PolicyReport", "shop")],
        "{list:#}"
    );
    let shop = &items[1];
    assert_eq!(shop["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(shop["metadata"]["name"], "palisade");
    assert_eq!(
        shop["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "palisade"
    );
    let results = shop["results"].as_array().unwrap();
    assert_eq!(
        shop["summary"]["fail"].as_u64().unwrap() as usize,
        results.len()
    );
    let privileged = results
        .iter()
        .find(|r| r["policy"] == "pss/privileged")
        .expect("pss/privileged");
    assert_eq!(privileged["result"], "fail");
    assert_eq!(privileged["severity"], "high");
    assert_eq!(privileged["properties"]["severity"], "critical");
    assert_eq!(privileged["resources"][0]["kind"], "Deployment");
    assert_eq!(privileged["resources"][0]["name"], "web");
    assert_eq!(
        privileged["properties"]["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert!(privileged["timestamp"]["seconds"].as_u64().unwrap() > 1_700_000_000);
}

#[test]
fn apply_reports_server_side_applies_and_deletes_only_palisades_stale_reports() {
    let rt = runtime();
    let server = report_server(&rt);
    let (code, _, stderr) = audit(&server, &["--apply-reports"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("2 PolicyReports applied to standin, 1 stale ones deleted"),
        "{stderr}"
    );
    let recorded = server.recorded();
    let patches: Vec<_> = recorded.iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 2, "{recorded:#?}");
    for p in &patches {
        assert_eq!(p.content_type, "application/apply-patch+yaml");
        assert_eq!(p.query, "fieldManager=palisade&force=true");
        let body: Value = serde_json::from_str(&p.body).unwrap();
        assert_eq!(body["metadata"]["name"], "palisade");
    }
    assert_eq!(
        patches[0].path,
        "/apis/wgpolicyk8s.io/v1alpha2/clusterpolicyreports/palisade"
    );
    assert_eq!(
        patches[1].path,
        "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports/palisade"
    );
    let deletes: Vec<&str> = recorded
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        deletes,
        ["/apis/wgpolicyk8s.io/v1alpha2/namespaces/gone/policyreports/palisade"]
    );
}

#[test]
fn the_html_report_of_an_audit_has_the_coverage_table_and_attack_paths() {
    let rt = runtime();
    let mut b = Builder::new("v1.35.0");
    shop(&mut b, 1);
    b.object(namespace("dev", None));
    // A pod whose token can read every Secret of the cluster.
    b.object(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "dev"}}));
    b.object(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "runner", "namespace": "dev"},
        "spec": {"serviceAccountName": "ci", "containers": [{"name": "r", "image": format!("busybox@{DIGEST}")}]}}));
    b.object(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "secret-reader"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}));
    b.object(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ci-secrets"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "secret-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "dev"}]}));
    let server = rt.block_on(b.start());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig()).unwrap();
    let page = dir.path().join("report.html");
    let out = common::run(&[
        "audit",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "-f",
        "html",
        "-o",
        page.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("palisade report: cluster standin"));
    let coverage = &html[html.find("id=\"coverage\"").expect("the coverage table")..];
    let coverage = &coverage[..coverage.find("</section>").unwrap()];
    assert!(
        coverage.contains("<td>shop</td>") && coverage.contains("baseline:latest"),
        "{coverage}"
    );
    assert!(coverage.contains("<td>dev</td>"), "{coverage}");
    assert!(
        coverage.contains("<span class=\"bad\">no</span>"),
        "{coverage}"
    );
    let rbac = &html[html.find("id=\"rbac\"").expect("the attack paths")..];
    assert!(rbac.contains("Pod dev/runner"), "{rbac}");
    assert!(rbac.contains("ClusterRoleBinding"), "{rbac}");
}

#[test]
fn sarif_gives_cluster_findings_logical_locations() {
    let rt = runtime();
    let mut b = Builder::new("v1.35.0");
    shop(&mut b, 1);
    let server = rt.block_on(b.start());
    let (code, sarif, stderr) = audit(&server, &["-f", "sarif"]);
    assert_eq!(code, 1, "{stderr}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let privileged = results
        .iter()
        .find(|r| r["ruleId"] == "pss/privileged")
        .unwrap();
    let location = &privileged["locations"][0];
    assert!(location.get("physicalLocation").is_none(), "{location}");
    let logical = &location["logicalLocations"][0];
    assert_eq!(logical["kind"], "resource");
    assert_eq!(logical["name"], "web");
    assert_eq!(
        logical["fullyQualifiedName"],
        "/apis/apps/v1/namespaces/shop/deployments/web#spec.template.spec.containers[0].securityContext.privileged"
    );
}

#[test]
fn custom_workloads_are_found_by_discovery_and_a_colliding_kind_is_not_a_builtin() {
    let rt = runtime();
    let mut b = Builder::new("v1.35.0");
    b.object(namespace("shop", Some("baseline")));
    // OpenKruise's StatefulSet has a built-in kind's name; both are named web.
    b.resource(
        "apps.kruise.io",
        "v1beta1",
        "statefulsets",
        "StatefulSet",
        true,
    );
    b.resource("argoproj.io", "v1alpha1", "rollouts", "Rollout", true);
    // A kind palisade does not know, in a group it does not read.
    b.resource("example.com", "v1", "widgets", "Widget", true);
    let sts = |api: &str, image: &str| {
        json!({"apiVersion": api, "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "shop", "uid": format!("{api}-web")},
            "spec": {"serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec(image)}}})
    };
    b.object(sts("apps/v1", "nginx:1.27"));
    b.object(sts("apps.kruise.io/v1beta1", "nginx:1.26"));
    // A pod of the Kruise StatefulSet: it must fold into that one, not the apps/v1 one.
    b.object(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps.kruise.io/v1beta1", "kind": "StatefulSet", "name": "web", "uid": "apps.kruise.io/v1beta1-web", "controller": true}]},
        "spec": pod_spec("nginx:1.26"),
        "status": {"containerStatuses": [{"name": "web", "image": "nginx:1.26", "imageID": format!("docker.io/library/nginx@{DIGEST}")}]}}));
    b.object(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "canary", "namespace": "shop"},
        "spec": {"template": {"spec": pod_spec("nginx:1.25")}}}));
    b.object(json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"}, "spec": {"privileged": true}}));
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report:#}");
    let mut privileged: Vec<String> = findings(&report, "pss/privileged")
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["object"]["apiVersion"].as_str().unwrap(),
                f["object"]["kind"].as_str().unwrap()
            )
        })
        .collect();
    privileged.sort();
    assert_eq!(
        privileged,
        [
            "apps.kruise.io/v1beta1 StatefulSet",
            "apps/v1 StatefulSet",
            "argoproj.io/v1alpha1 Rollout"
        ],
        "{report:#}"
    );
    let running = findings(&report, "image/running-unpinned");
    assert_eq!(running.len(), 1, "{running:#?}");
    assert_eq!(running[0]["object"]["apiVersion"], "apps.kruise.io/v1beta1");
    assert!(!server.lists().iter().any(|l| l.contains("widgets")));
}

#[test]
fn a_response_slower_than_the_request_timeout_is_an_error_of_that_resource() {
    let rt = runtime();
    let mut b = Builder::new("v1.35.0");
    b.fault("configmaps", Fault::Slow(5_000));
    shop(&mut b, 1);
    let server = rt.block_on(b.start());
    let (code, report, stderr) = audit(&server, &["--request-timeout", "1"]);
    assert_eq!(code, 2, "{stderr}");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("no complete response within 1 s"),
        "{errors:#?}"
    );
    assert_eq!(findings(&report, "pss/privileged").len(), 1);
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
