//! `palisade audit` end to end, the reports: PolicyReports (and applying
//! them), HTML and SARIF. Against the stand-in API server (a mock; see
//! `audit.rs`).

mod common;

use common::cluster::*;
use palisade_standin::{Builder, Server};
use serde_json::{json, Value};

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
    // The section alone, as text (minijinja escapes `/` too).
    let rbac = rbac[..rbac.find("</section>").unwrap()].replace("&#x2f;", "/");
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
