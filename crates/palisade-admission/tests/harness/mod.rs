//! The webhook as the tests of registry-backed rules run it: the real
//! server on loopback over TLS with certificates made here, its policy and
//! key files in a temporary directory, and AdmissionReview bodies written
//! from the Kubernetes API reference. Shared by `tests/supply.rs` and
//! `tests/content.rs`; `tests/webhook_common` (for `webhook.rs` and
//! `webhook_operations.rs`) uses its certificates and client.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use palisade_admission::{LogTarget, ServeOptions, Server};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::{json, Value};

/// A test CA (also in `ca.crt`) and the files of a serving certificate
/// for `localhost` it signed (`tls.crt`, `tls.key`).
pub struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub fn new() -> Pki {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(DnType::CommonName, "palisade test CA");
        let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
        let pki = Pki {
            dir: tempfile::tempdir().unwrap(),
            ca,
        };
        std::fs::write(pki.path("ca.crt"), pki.ca_pem()).unwrap();
        let (c, k) = pki.leaf("localhost");
        std::fs::write(pki.path("tls.crt"), c).unwrap();
        std::fs::write(pki.path("tls.key"), k).unwrap();
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    /// A certificate for `name` (and 127.0.0.1) signed by the CA: (PEM chain, PEM key).
    pub fn leaf(&self, name: &str) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut p =
            CertificateParams::new(vec![name.to_string(), "127.0.0.1".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        let cert = p.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A client that trusts `pki`'s CA and reaches `localhost` at `addr`,
/// presenting `identity` when given.
pub fn client(
    pki: &Pki,
    identity: Option<reqwest::Identity>,
    addr: std::net::SocketAddr,
    timeout: Duration,
) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).unwrap();
    let mut b = reqwest::Client::builder()
        .tls_certs_only([ca])
        .resolve("localhost", addr)
        .pool_max_idle_per_host(0)
        .timeout(timeout);
    if let Some(id) = identity {
        b = b.identity(id);
    }
    b.build().unwrap()
}

/// A running server and a client that trusts it.
pub struct Webhook {
    server: Option<Server>,
    base: String,
    client: reqwest::Client,
    _pki: Pki,
}

impl Webhook {
    /// Starts the server with `palisade.yaml` and the other `files` (name,
    /// content) written next to it, reaching registries with `registry`.
    pub async fn start(files: &[(&str, &str)], registry: palisade_oci::ClientOptions) -> Webhook {
        let pki = Pki::new();
        for (name, content) in files {
            std::fs::write(pki.path(name), content).unwrap();
        }
        let mut opts = ServeOptions::new(
            "127.0.0.1:0".parse().unwrap(),
            pki.path("tls.crt"),
            pki.path("tls.key"),
        );
        opts.policy = Some(pki.path("palisade.yaml"));
        opts.decision_log = LogTarget::File(pki.path("decisions.jsonl"));
        opts.registry = registry;
        let server = Server::start(opts).await.expect("server starts");
        let addr = server.local_addr();
        let client = client(&pki, None, addr, Duration::from_secs(30));
        Webhook {
            server: Some(server),
            base: format!("https://localhost:{}", addr.port()),
            client,
            _pki: pki,
        }
    }

    /// POSTs `body` to `path`; asserts HTTP 200 and returns the JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> Value {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The `response` of a `/validate` review of a Pod with `image`.
    pub async fn validate_pod(&self, image: &str) -> Value {
        let body = self.post("/validate", &pod_review(image)).await;
        body["response"].clone()
    }

    /// A file of the server's directory (`decisions.jsonl`, the decision log).
    pub fn file(&self, name: &str) -> PathBuf {
        self._pki.path(name)
    }

    pub async fn metrics(&self) -> String {
        let r = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 200);
        r.text().await.unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

/// An AdmissionReview of a CREATE, as the API server sends it.
pub fn review(kind: (&str, &str, &str), object: Value) -> Value {
    let (group, version, k) = kind;
    let resource = format!("{}s", k.to_lowercase());
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": group, "version": version, "kind": k},
            "resource": {"group": group, "version": version, "resource": resource},
            "name": object["metadata"]["name"].as_str().unwrap_or(""),
            "namespace": "team-a",
            "operation": "CREATE",
            "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

/// A container running `image` that passes every other rule.
pub fn container(name: &str, image: &str) -> Value {
    json!({"name": name, "image": image,
        "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}},
        "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}})
}

/// A pod spec of `containers` that passes every other rule.
pub fn pod_spec(containers: Vec<Value>) -> Value {
    json!({"automountServiceAccountToken": false, "serviceAccountName": "web",
        "containers": containers})
}

/// The review of the CREATE of Pod `team-a/web` with one container `app`.
pub fn pod_review(image: &str) -> Value {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": pod_spec(vec![container("app", image)])});
    review(("", "v1", "Pod"), pod)
}

/// The warnings of a response, as strings.
pub fn warnings(response: &Value) -> Vec<String> {
    response["warnings"]
        .as_array()
        .map(|w| {
            w.iter()
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}
