//! What the webhook's end-to-end tests share (`tests/webhook.rs`, the
//! decisions; `tests/webhook_operations.rs`, how the server runs): the
//! real server on loopback over TLS with certificates made here, and the
//! AdmissionReview bodies the API server sends.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{client, Pki};
use palisade_admission::{LogTarget, ServeOptions, Server};
use serde_json::{json, Value};

pub struct Running {
    pub server: Option<Server>,
    pub base: String,
    pub client: reqwest::Client,
    pub pki: Pki,
    pub log: PathBuf,
}

impl Running {
    pub async fn start(policy: Option<&str>) -> Running {
        Self::start_with(policy, |_| {}).await
    }

    pub async fn start_with(
        policy: Option<&str>,
        tweak: impl FnOnce(&mut ServeOptions),
    ) -> Running {
        let pki = Pki::new();
        let mut opts = ServeOptions::new(
            "127.0.0.1:0".parse().unwrap(),
            pki.path("tls.crt"),
            pki.path("tls.key"),
        );
        if let Some(p) = policy {
            std::fs::write(pki.path("palisade.yaml"), p).unwrap();
            opts.policy = Some(pki.path("palisade.yaml"));
        }
        let log = pki.path("decisions.jsonl");
        opts.decision_log = LogTarget::File(log.clone());
        opts.reload_interval = Duration::from_millis(50);
        tweak(&mut opts);
        let server = Server::start(opts).await.expect("server starts");
        let addr = server.local_addr();
        let client = client(&pki, None, addr, Duration::from_secs(10));
        Running {
            server: Some(server),
            base: format!("https://localhost:{}", addr.port()),
            client,
            pki,
            log,
        }
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// The decision log, once its writer thread has caught up.
    pub fn decisions(&self) -> Vec<Value> {
        let read = || std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut text = read();
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(25));
            let again = read();
            if again == text && !text.is_empty() {
                break;
            }
            text = again;
        }
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

/// An AdmissionReview as the API server sends it.
pub fn review(
    operation: &str,
    kind: (&str, &str, &str),
    namespace: &str,
    object: Value,
    old: Value,
) -> Value {
    let (group, version, k) = kind;
    let resource = format!("{}s", k.to_lowercase());
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": group, "version": version, "kind": k},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": k},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": object["metadata"]["name"].as_str().unwrap_or(""),
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "alice@example.com", "uid": "014fbff9a07c",
                "groups": ["system:authenticated", "developers"]},
            "object": object,
            "oldObject": old,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

pub fn pod(name: &str, container: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [container]}})
}

/// A container that passes every rule pack.
pub fn hardened_container() -> Value {
    json!({"name": "app",
        "image": "registry.example.com/app:1.4.2@sha256:6b3a8d5a3e9f4c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3",
        "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}},
        "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}})
}

pub fn hardened_pod(name: &str) -> Value {
    let mut p = pod(name, hardened_container());
    p["spec"]["automountServiceAccountToken"] = json!(false);
    p["spec"]["serviceAccountName"] = json!("web");
    p
}

pub fn response(v: &Value) -> &Value {
    &v["response"]
}

pub fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

pub async fn wait_for<F, Fut>(mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached in 5 s");
}

pub fn deployment(image: &str, privileged: bool) -> Value {
    let mut c = hardened_container();
    c["image"] = json!(image);
    if privileged {
        c["securityContext"]["privileged"] = json!(true);
    }
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"automountServiceAccountToken": false, "serviceAccountName": "web",
                    "containers": [c]}}}})
}

pub fn privileged_pod() -> Value {
    let mut p = hardened_pod("p");
    p["spec"]["containers"][0]["securityContext"]["privileged"] = json!(true);
    p
}
