//! The cluster side of the `palisade audit` tests: a stand-in API server
//! (`palisade-standin`, a mock: no API server runs on the test machines)
//! filled with a small shop, and the binary run against it.

#![allow(dead_code)]

use palisade_standin::{Builder, Server};
use serde_json::{json, Value};

pub const DIGEST: &str = "sha256:4f1f0e1c3a7d0b8e6b4f4b0e8f6f2a9d7c1b3e5f7a9c1d3e5f7a9b1c3d5e7f9a";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

pub fn namespace(name: &str, enforce: Option<&str>) -> Value {
    let mut labels = json!({"kubernetes.io/metadata.name": name});
    if let Some(level) = enforce {
        labels["pod-security.kubernetes.io/enforce"] = json!(level);
    }
    json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "uid": format!("ns-{name}"), "labels": labels}})
}

pub fn pod_spec(image: &str) -> Value {
    json!({"containers": [{"name": "web", "image": image,
        "securityContext": {"privileged": true}}]})
}

/// A Deployment `web` in `shop` running nginx by tag, privileged, with one
/// ReplicaSet and `pods` pods (each with the digest it runs).
pub fn shop(b: &mut Builder, pods: usize) {
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
pub fn audit(server: &Server, args: &[&str]) -> (i32, Value, String) {
    audit_with(&server.kubeconfig(), args)
}

/// Runs `palisade audit` with `kubeconfig` and `args` (JSON output).
pub fn audit_with(kubeconfig_text: &str, args: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, kubeconfig_text).unwrap();
    let mut all = vec!["audit", "--kubeconfig", kubeconfig.to_str().unwrap()];
    if !args.contains(&"-f") {
        all.extend(["-f", "json"]);
    }
    all.extend_from_slice(args);
    let out = super::run(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), json, stderr)
}

pub fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}
