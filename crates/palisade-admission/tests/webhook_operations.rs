//! The webhook end to end, how it runs: ImageReview, malformed and
//! oversized bodies, policy and certificate reloads, client certificates,
//! start-up errors, namespace labels from a stand-in API server, shutdown
//! and Gatekeeper constraints. The admission decisions are in
//! `webhook.rs` (the two were one file; split for length).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::{client, Pki};
use palisade_admission::{ServeOptions, Server};
use serde_json::{json, Value};
use webhook_common::*;

mod harness;
mod webhook_common;

const IMAGE_POLICY: &str = r#"apiVersion: palisade.dev/v1alpha1
kind: Policy
spec:
  images:
    trustedRegistries: [registry.example.com/**]
    requireDigest: true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_review_allows_trusted_pinned_images_and_denies_others_with_a_reason() {
    let s = Running::start(Some(IMAGE_POLICY)).await;
    let pinned = "registry.example.com/team/app:1.2@sha256:6b3a8d5a3e9f4c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3";
    let body = json!({"apiVersion": "imagepolicy.k8s.io/v1alpha1", "kind": "ImageReview",
        "spec": {"containers": [{"image": pinned}], "annotations": {}, "namespace": "team-a"}});
    let (status, r) = s.post("/imagereview", &body).await;
    assert_eq!(status, 200);
    assert_eq!(r["apiVersion"], "imagepolicy.k8s.io/v1alpha1");
    assert_eq!(r["kind"], "ImageReview");
    assert_eq!(r["status"]["allowed"], true, "{r}");
    let body = json!({"apiVersion": "imagepolicy.k8s.io/v1alpha1", "kind": "ImageReview",
        "spec": {"containers": [{"image": pinned}, {"image": "docker.io/library/nginx:1.27"}],
            "namespace": "team-a"}});
    let (_, r) = s.post("/imagereview", &body).await;
    assert_eq!(r["status"]["allowed"], false, "{r}");
    let reason = r["status"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("image \"docker.io/library/nginx:1.27\": [image/registry]"),
        "{reason}"
    );
    assert!(reason.contains("[image/digest-required]"), "{reason}");
    assert!(!reason.contains(pinned), "{reason}");
    assert_eq!(
        r["status"]["auditAnnotations"]["palisade.dev/violations"],
        "image/digest-required,image/registry"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_truncated_and_oversized_bodies_get_clear_http_errors() {
    let s = Running::start_with(None, |o| o.max_body_bytes = 64 * 1024).await;
    let url = format!("{}/validate", s.base);
    let send = |body: Vec<u8>| {
        s.client
            .post(url.clone())
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = send(b"{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"Admission".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("not an AdmissionReview"));
    let r = send(br#"{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": null}"#.to_vec()).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("admissionReviewVersions"));
    let r = send(br#"{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("no request"));
    let r = send(br#"{"apiVersion": "v1", "kind": "Pod"}"#.to_vec())
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let mut big = review(
        "CREATE",
        ("", "v1", "Pod"),
        "a",
        hardened_pod("x"),
        Value::Null,
    );
    big["request"]["object"]["metadata"]["annotations"] = json!({"filler": "x".repeat(100 * 1024)});
    // The server may answer 413 from the Content-Length and close before
    // the whole body is written, and the client then sees a broken pipe
    // instead of the answer: that race is the client's, so ask again.
    let body = serde_json::to_vec(&big).unwrap();
    let mut answer = None;
    let mut attempts = 0;
    for _ in 0..5 {
        attempts += 1;
        if let Ok(r) = send(body.clone()).await {
            answer = Some(r);
            break;
        }
    }
    let r = answer.expect("an answer to the oversized body");
    assert_eq!(r.status().as_u16(), 413);
    let r = s
        .client
        .post(format!("{}/imagereview", s.base))
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // An unknown kind is admitted with a warning (the default).
    let cm =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
    let (_, body) = s
        .post(
            "/validate",
            &review("CREATE", ("", "v1", "ConfigMap"), "a", cm, Value::Null),
        )
        .await;
    assert_eq!(response(&body)["allowed"], true);
    assert!(response(&body)["warnings"][0]
        .as_str()
        .unwrap()
        .contains("not a workload kind"));
    // The server is still healthy.
    assert_eq!(s.get("/healthz").await, (200, "ok".to_string()));
    assert_eq!(s.get("/readyz").await, (200, "ready".to_string()));
    let (_, m) = s.get("/metrics").await;
    // Five bad bodies, plus each oversized one the server answered while
    // the client, still writing, saw a broken pipe.
    let errors: u32 = m
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                r#"palisade_admission_requests_total{endpoint="validate",decision="error"} "#,
            )
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        (5..=4 + attempts).contains(&errors),
        "{errors} errors after {attempts} attempts: {m}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_reload_takes_effect_and_a_broken_file_keeps_the_previous_policy() {
    let s = Running::start(Some(
        "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec: {}\n",
    ))
    .await;
    let req = review(
        "CREATE",
        ("", "v1", "Pod"),
        "team-a",
        privileged_pod(),
        Value::Null,
    );
    let send = || s.post("/validate", &req);
    assert_eq!(response(&send().await.1)["allowed"], false);
    let policy = s.pki.path("palisade.yaml");
    write_atomically(&policy, "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  admission: {defaultMode: warn}\n");
    wait_for(|| async { response(&send().await.1)["allowed"] == true }).await;
    write_atomically(&policy, "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  admission: {defaultMode: sideways}\n");
    wait_for(|| async {
        s.get("/metrics")
            .await
            .1
            .contains(r#"palisade_policy_reloads_total{result="error"} 1"#)
    })
    .await;
    // The warn policy keeps serving.
    assert_eq!(response(&send().await.1)["allowed"], true);
    assert_eq!(s.get("/readyz").await.0, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_rotation_under_load_fails_no_request() {
    let s = Arc::new(Running::start(None).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (s, stop, ok, failed) = (s.clone(), stop.clone(), ok.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            let body = review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-a",
                hardened_pod("p"),
                Value::Null,
            );
            while !stop.load(Ordering::Relaxed) {
                // A new connection (and TLS handshake) for every request.
                match s
                    .client
                    .post(format!("{}/validate", s.base))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = s.get("/metrics").await.1;
    for round in 0..3 {
        let (c, k) = s.pki.leaf("localhost");
        // Key first, then certificate: for a moment they do not match, and
        // the server must keep serving the previous pair.
        write_atomically(&s.pki.path("tls.key"), &k);
        tokio::time::sleep(Duration::from_millis(120)).await;
        write_atomically(&s.pki.path("tls.crt"), &c);
        let want = format!(
            r#"palisade_tls_certificate_reloads_total{{result="ok"}} {}"#,
            round + 1
        );
        wait_for(|| async { s.get("/metrics").await.1.contains(&want) }).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    assert!(
        !before.contains("tls_certificate_reloads_total{result=\"ok\"}"),
        "{before}"
    );
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "requests failed during rotation"
    );
    assert!(
        ok.load(Ordering::Relaxed) > 20,
        "too few requests: {}",
        ok.load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_when_a_client_ca_is_set() {
    let pki_ca = Pki::new();
    let ca_path = pki_ca.path("ca.crt");
    let s = Running::start_with(None, |o| o.client_ca = Some(ca_path.clone())).await;
    // Without a client certificate the handshake fails.
    assert!(s
        .client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .is_err());
    // With one signed by the client CA it succeeds.
    let (c, k) = pki_ca.leaf("kube-apiserver");
    let id = reqwest::Identity::from_pem(format!("{c}{k}").as_bytes()).unwrap();
    let addr = s.server.as_ref().unwrap().local_addr();
    let with_cert = client(&s.pki, Some(id), addr, Duration::from_secs(10));
    let r = with_cert
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // One signed by another CA is refused.
    let (c, k) = s.pki.leaf("intruder");
    let id = reqwest::Identity::from_pem(format!("{c}{k}").as_bytes()).unwrap();
    let other = client(&s.pki, Some(id), addr, Duration::from_secs(10));
    assert!(other
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .is_err());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_fails_clearly_on_bad_certificates_and_policy() {
    let pki = Pki::new();
    let mut opts = ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        pki.path("tls.crt"),
        pki.path("missing.key"),
    );
    let e = Server::start(opts.clone()).await.err().unwrap().to_string();
    assert!(e.contains("missing.key"), "{e}");
    let (_, other_key) = pki.leaf("x");
    std::fs::write(pki.path("other.key"), other_key).unwrap();
    opts.tls_key = pki.path("other.key");
    let e = Server::start(opts.clone()).await.err().unwrap().to_string();
    assert!(e.contains("do not match"), "{e}");
    opts.tls_key = pki.path("tls.key");
    std::fs::write(pki.path("bad.yaml"), "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  admission: {threshold: severe}\n").unwrap();
    opts.policy = Some(pki.path("bad.yaml"));
    let e = Server::start(opts).await.err().unwrap().to_string();
    assert!(e.contains("bad.yaml:4:"), "{e}");
}

/// the webhook talks to Kubernetes itself.
/// A stand-in for the API server's Namespace endpoints (list and watch),
/// since no API server runs on the test machines: a mock, in the one place
/// the webhook talks to Kubernetes itself.
mod fake_api {
    use axum::body::Body;
    use axum::extract::{RawQuery, State};
    use axum::response::Response;
    use axum::routing::get;
    use axum::Router;
    use serde_json::{json, Value};
    use tokio::sync::broadcast;

    pub struct FakeApi {
        pub url: String,
        pub events: broadcast::Sender<String>,
    }

    pub fn namespace(name: &str, labels: Value, rv: u64) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels, "resourceVersion": rv.to_string()}})
    }

    pub async fn start(initial: Vec<Value>) -> FakeApi {
        let (tx, _) = broadcast::channel::<String>(16);
        let state = (initial, tx.clone());
        let app = Router::new()
            .route("/api/v1/namespaces", get(namespaces))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeApi { url, events: tx }
    }

    async fn namespaces(
        State((initial, tx)): State<(Vec<Value>, broadcast::Sender<String>)>,
        RawQuery(q): RawQuery,
    ) -> Response {
        let q = q.unwrap_or_default();
        if q.split('&').any(|kv| kv == "watch=true" || kv == "watch=1") {
            let rx = tx.subscribe();
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                match rx.recv().await {
                    Ok(line) => Some((Ok::<_, std::io::Error>(format!("{line}\n")), rx)),
                    Err(_) => None,
                }
            });
            return Response::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .unwrap();
        }
        let list = json!({"apiVersion": "v1", "kind": "NamespaceList",
            "metadata": {"resourceVersion": "10"}, "items": initial});
        Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(list.to_string()))
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_labels_are_watched_in_the_cluster() {
    let api = fake_api::start(vec![fake_api::namespace(
        "team-c",
        json!({"pod-security.kubernetes.io/enforce": "baseline"}),
        5,
    )])
    .await;
    let url = api.url.clone();
    let s = Running::start_with(None, |o| {
        o.namespaces = palisade_admission::NamespaceSource::ClusterAt(url)
    })
    .await;
    wait_for(|| async { s.get("/readyz").await.0 == 200 }).await;
    // Only restricted-level violations: admitted under the cluster's baseline label.
    let mut p = hardened_pod("loose");
    p["spec"]["containers"][0]["securityContext"] = json!({"readOnlyRootFilesystem": true});
    let req = review("CREATE", ("", "v1", "Pod"), "team-c", p, Value::Null);
    assert_eq!(
        response(&s.post("/validate", &req).await.1)["allowed"],
        true
    );
    // The label changes in the cluster: the same pod is now denied.
    let event = json!({"type": "MODIFIED", "object": fake_api::namespace(
        "team-c", json!({"pod-security.kubernetes.io/enforce": "restricted"}), 11)});
    wait_for(|| async {
        let _ = api.events.send(event.to_string());
        response(&s.post("/validate", &req).await.1)["allowed"] == false
    })
    .await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_a_request_in_flight() {
    let mut s = Running::start(None).await;
    let body = serde_json::to_vec(&review(
        "CREATE",
        ("", "v1", "Pod"),
        "team-a",
        hardened_pod("p"),
        Value::Null,
    ))
    .unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let half = body.len() / 2;
    tx.send(Ok(body[..half].to_vec())).await.unwrap();
    let request = s
        .client
        .post(format!("{}/validate", s.base))
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string())
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let in_flight = tokio::spawn(request);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SIGTERM's path: stop accepting, drain what is in flight.
    let server = s.server.take().unwrap();
    let stopping = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    tx.send(Ok(body[half..].to_vec())).await.unwrap();
    drop(tx);
    let r = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["response"]["allowed"], true);
    stopping.await.unwrap().unwrap();
    // New connections are refused once it has stopped.
    assert!(s
        .client
        .get(format!("{}/healthz", s.base))
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gatekeeper_constraints_are_enforced_in_the_webhook() {
    let examples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/gatekeeper");
    let policy = format!(
        "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  constraints:\n  - {}\n  - {}\n",
        examples.join("template-requiredlabels.yaml").display(),
        examples.join("constraint-team-label.yaml").display()
    );
    let s = Running::start(Some(&policy)).await;
    let img = hardened_container()["image"].as_str().unwrap().to_string();
    let unlabelled = deployment(&img, false);
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("apps", "v1", "Deployment"),
                "team-a",
                unlabelled.clone(),
                Value::Null,
            ),
        )
        .await;
    let r = response(&body);
    assert_eq!(r["allowed"], false, "{r}");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("[rego/K8sRequiredLabels/workloads-need-team]"),
        "{msg}"
    );
    assert!(msg.contains("every workload needs a team label"), "{msg}");
    let mut labelled = unlabelled;
    labelled["metadata"]["labels"]["team"] = json!("storefront");
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("apps", "v1", "Deployment"),
                "team-a",
                labelled,
                Value::Null,
            ),
        )
        .await;
    assert_eq!(response(&body)["allowed"], true, "{body}");
    assert!(s.decisions()[0]["rules"]
        .as_array()
        .unwrap()
        .contains(&json!("rego/K8sRequiredLabels/workloads-need-team")));
    s.stop().await;
}
