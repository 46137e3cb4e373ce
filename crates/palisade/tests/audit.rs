//! `palisade audit` end to end, reading the cluster: pagination, owners,
//! TLS, API errors and faults, Secrets, discovery. The binary runs against
//! a stand-in for the Kubernetes API server (`palisade-standin`, a mock: no
//! API server runs on the test machines) that serves discovery and
//! paginated LISTs in the API's JSON, and the faults a real one has.
//! The checks of what was read are in `audit_checks.rs`, the report
//! formats in `audit_reports.rs` (one file each, to keep them readable).

mod common;

use common::cluster::*;
use palisade_standin::{Builder, Fault, Server};
use serde_json::{json, Value};

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
    // The error names the certificate problem, not only a failed request.
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("invalid peer certificate"), "{message}");
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
