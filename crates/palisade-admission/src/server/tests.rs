//! The router in process: requests go through axum's routes, limits and
//! handlers by `tower::ServiceExt::oneshot`, without sockets or TLS (the
//! real-TLS tests in `tests/webhook.rs` cover TLS, reloads, limits under
//! load and draining).

use axum::body::Body;
use axum::http::Request as HttpRequest;
use serde_json::{json, Value};
use tower::ServiceExt as _;

use super::*;

/// A server state over `policy`, with a throwaway serving certificate
/// (only `/readyz` reads it).
fn state(policy: Policy) -> (Arc<AppState>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (crt, pem) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&crt, cert.pem()).unwrap();
    std::fs::write(&pem, key.serialize_pem()).unwrap();
    let registry = palisade_oci::ClientOptions::default();
    let deadline = Duration::from_secs(4);
    let state = AppState {
        eval: ArcSwap::from_pointee(evaluator(policy, None, &registry, deadline).unwrap()),
        metrics: Metrics::new(),
        log: DecisionLog::new(Box::new(std::io::sink())),
        certs: Arc::new(CertStore::open(&crt, &pem).unwrap()),
        live: None,
        policy_loaded: AtomicBool::new(true),
        max_body_bytes: 64 << 10,
        request_timeout: Duration::from_secs(5),
        budget: budget::Budget::new(1 << 20),
        registry,
        registry_deadline: deadline,
    };
    (Arc::new(state), dir)
}

async fn send(state: &Arc<AppState>, method: &str, path: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let req = HttpRequest::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let resp = router(state.clone(), 8).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, bytes.to_vec())
}

async fn post_json(state: &Arc<AppState>, path: &str, body: &Value) -> (u16, Value) {
    let (status, bytes) = send(state, "POST", path, serde_json::to_vec(body).unwrap()).await;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

fn admission_review(operation: &str, object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "b1f4c0de-0000-4000-8000-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": "shop",
            "operation": operation,
            "userInfo": {"username": "alice"},
            "object": object,
            "dryRun": false
        }
    })
}

fn privileged_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
            "securityContext": {"privileged": true}}]}})
}

#[tokio::test]
async fn validate_denies_a_privileged_pod_and_echoes_the_uid() {
    let (state, _dir) = state(Policy::default());
    let (status, v) = post_json(
        &state,
        "/validate",
        &admission_review("CREATE", privileged_pod()),
    )
    .await;
    assert_eq!(status, 200);
    let r = &v["response"];
    assert_eq!(r["uid"], "b1f4c0de-0000-4000-8000-000000000001");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.contains("[pss/privileged]"), "{message}");
    // Counted under the endpoint and decision.
    let metrics = state.metrics.encode();
    assert!(
        metrics.contains("endpoint=\"validate\"") && metrics.contains("decision=\"deny\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn delete_is_skipped_and_allowed() {
    let (state, _dir) = state(Policy::default());
    let (status, v) = post_json(
        &state,
        "/validate",
        &admission_review("DELETE", privileged_pod()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["response"]["allowed"], true);
    assert!(state.metrics.encode().contains("decision=\"skip\""));
}

#[tokio::test]
async fn mutate_and_validate_share_the_plumbing_but_not_the_decision() {
    let mut policy = Policy::default();
    policy.admission.mutations.seccomp_profile = true;
    let (state, _dir) = state(policy);
    let (status, v) = post_json(
        &state,
        "/mutate",
        &admission_review("CREATE", privileged_pod()),
    )
    .await;
    assert_eq!(status, 200);
    let r = &v["response"];
    assert_eq!(r["allowed"], true, "/mutate never denies");
    assert_eq!(r["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(r["patch"].as_str().unwrap())
        .unwrap();
    let ops: Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(ops[0]["path"], "/spec/securityContext");
    assert!(state.metrics.encode().contains("endpoint=\"mutate\""));
}

#[tokio::test]
async fn imagereview_denies_an_invalid_reference_with_a_reason() {
    let (state, _dir) = state(Policy::default());
    let body = json!({
        "apiVersion": "imagepolicy.k8s.io/v1alpha1",
        "kind": "ImageReview",
        "spec": {"containers": [{"image": "Registry.Example.com/App:1"}], "namespace": "shop"}
    });
    let (status, v) = post_json(&state, "/imagereview", &body).await;
    assert_eq!(status, 200);
    assert_eq!(v["kind"], "ImageReview");
    assert_eq!(v["status"]["allowed"], false);
    let reason = v["status"]["reason"].as_str().unwrap();
    assert!(reason.contains("image/invalid-reference"), "{reason}");
    assert!(
        v.get("spec").is_none_or(Value::is_null),
        "the spec is not echoed"
    );
}

#[tokio::test]
async fn bad_bodies_get_400_and_large_ones_413_on_every_endpoint() {
    let (state, _dir) = state(Policy::default());
    for path in ["/validate", "/mutate", "/imagereview"] {
        let (status, body) = send(&state, "POST", path, b"{not json".to_vec()).await;
        assert_eq!(status, 400, "{path}");
        assert!(!body.is_empty(), "{path}: a reason is given");
        let (status, _) = send(&state, "POST", path, vec![b' '; 65 << 10]).await;
        assert_eq!(status, 413, "{path}");
    }
    let metrics = state.metrics.encode();
    for endpoint in ["validate", "mutate", "imagereview"] {
        assert!(
            metrics.contains(&format!("endpoint=\"{endpoint}\",decision=\"error\"")),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let (state, _dir) = state(Policy::default());
    assert_eq!(
        send(&state, "GET", "/healthz", Vec::new()).await,
        (200, b"ok".to_vec())
    );
    assert_eq!(send(&state, "GET", "/readyz", Vec::new()).await.0, 200);
    state.policy_loaded.store(false, Ordering::Relaxed);
    assert_eq!(send(&state, "GET", "/readyz", Vec::new()).await.0, 503);
    let (status, body) = send(&state, "GET", "/metrics", Vec::new()).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("# EOF"));
}
