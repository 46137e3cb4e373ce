//! The webhook end to end: the real server on loopback, over real TLS with
//! certificates generated here, receiving AdmissionReview and ImageReview
//! bodies written from the Kubernetes API reference.
//!
//! There is no Kubernetes API server on the machines these tests run on, so
//! the test plays its part: it sends what the API server sends (the
//! `admission.k8s.io/v1` AdmissionReview of a Pod CREATE, a Deployment
//! UPDATE, an ephemeral-container update, a dry run) and checks every field
//! of the responses the API server would read.
//!
//! Split in two for length: this file holds the admission decisions
//! (validate, namespace modes, Pod Security labels, mutate);
//! `webhook_operations.rs` how the server runs (image reviews, bad
//! bodies, reloads, certificates, shutdown, Gatekeeper).

use base64::Engine as _;
use serde_json::{json, Value};
use webhook_common::*;

mod harness;
mod webhook_common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privileged_pod_create_is_denied_with_rule_container_and_field() {
    let s = Running::start(None).await;
    let mut c = hardened_container();
    c["securityContext"]["privileged"] = json!(true);
    c["env"] = json!([{"name": "DB_PASSWORD", "value": "hunter2-Very-Secret-Value-9f8e"}]);
    let mut p = pod("web", c);
    p["spec"]["automountServiceAccountToken"] = json!(false);
    p["spec"]["serviceAccountName"] = json!("web");
    let (status, body) = s
        .post(
            "/validate",
            &review("CREATE", ("", "v1", "Pod"), "team-a", p, Value::Null),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(body["kind"], "AdmissionReview");
    let r = response(&body);
    assert_eq!(r["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    assert_eq!(r["status"]["reason"], "Forbidden");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(msg.contains("Pod team-a/\"web\""), "{msg}");
    assert!(
        msg.contains(
            "[pss/privileged] container \"app\" spec.containers[0].securityContext.privileged"
        ),
        "{msg}"
    );
    assert!(msg.contains("[secrets/hardcoded-credential]"), "{msg}");
    assert!(
        !msg.contains("hunter2-Very-Secret"),
        "the secret leaked: {msg}"
    );
    // Nothing below the threshold here, so no warnings and no patch.
    assert!(r.get("warnings").is_none(), "{r}");
    assert!(r.get("patch").is_none());
    // The decision log: one line, no secret.
    let decisions = s.decisions();
    assert_eq!(decisions.len(), 1);
    let log = std::fs::read_to_string(&s.log).unwrap();
    assert!(!log.contains("hunter2"), "{log}");
    let d = &decisions[0];
    assert_eq!(d["decision"], "deny");
    assert_eq!(d["endpoint"], "validate");
    assert_eq!(d["user"], "alice@example.com");
    assert_eq!(d["namespace"], "team-a");
    assert_eq!(d["name"], "web");
    assert_eq!(d["operation"], "CREATE");
    assert_eq!(d["mode"], "enforce");
    assert!(d["rules"]
        .as_array()
        .unwrap()
        .contains(&json!("pss/privileged")));
    // Metrics count it.
    let (_, m) = s.get("/metrics").await;
    assert!(
        m.contains(r#"palisade_admission_requests_total{endpoint="validate",decision="deny"} 1"#),
        "{m}"
    );
    assert!(m.contains(r#"rule="pss/privileged""#));
    assert!(m.contains("palisade_admission_request_duration_seconds_bucket"));
    assert!(m.contains("palisade_tls_certificate_expiry_timestamp_seconds"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardened_pod_is_allowed_and_low_findings_become_warnings() {
    let s = Running::start(None).await;
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-a",
                hardened_pod("ok"),
                Value::Null,
            ),
        )
        .await;
    let r = response(&body);
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r.get("warnings").is_none(), "{r}");
    // An unpinned image is low (image/digest): allowed, with a warning.
    let mut p = hardened_pod("tagged");
    p["spec"]["containers"][0]["image"] = json!("registry.example.com/app:1.4.2");
    p["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
    let (_, body) = s
        .post(
            "/validate",
            &review("CREATE", ("", "v1", "Pod"), "team-a", p, Value::Null),
        )
        .await;
    let r = response(&body);
    assert_eq!(r["allowed"], true, "{r}");
    let w = r["warnings"].as_array().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].as_str()
            .unwrap()
            .starts_with("[image/digest] spec.containers[0].image"),
        "{w:?}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_update_that_keeps_the_template_is_allowed_even_if_it_violates() {
    let s = Running::start(None).await;
    let img = hardened_container()["image"].as_str().unwrap().to_string();
    let old = deployment(&img, true);
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(5);
    new["metadata"]["labels"]["tier"] = json!("frontend");
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "UPDATE",
                ("apps", "v1", "Deployment"),
                "team-a",
                new,
                old.clone(),
            ),
        )
        .await;
    assert_eq!(response(&body)["allowed"], true, "{body}");
    // Changing the template is judged: still privileged, so denied.
    let mut changed = old.clone();
    changed["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "A", "value": "b"}]);
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "UPDATE",
                ("apps", "v1", "Deployment"),
                "team-a",
                changed,
                old,
            ),
        )
        .await;
    let r = response(&body);
    assert_eq!(r["allowed"], false);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("spec.template.spec.containers[0].securityContext.privileged"),
        "{msg}"
    );
    // A privileged Deployment is denied at create time.
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("apps", "v1", "Deployment"),
                "team-a",
                deployment(&img, true),
                Value::Null,
            ),
        )
        .await;
    assert_eq!(response(&body)["allowed"], false);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_container_update_is_checked() {
    let s = Running::start(None).await;
    let old = hardened_pod("web");
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox:1.36",
        "securityContext": {"privileged": true}}]);
    let mut req = review("UPDATE", ("", "v1", "Pod"), "team-a", new, old);
    req["request"]["subResource"] = json!("ephemeralcontainers");
    req["request"]["requestSubResource"] = json!("ephemeralcontainers");
    let (_, body) = s.post("/validate", &req).await;
    let r = response(&body);
    assert_eq!(r["allowed"], false, "{r}");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "container \"debugger\" spec.ephemeralContainers[0].securityContext.privileged"
        ),
        "{msg}"
    );
    // Other subresources (status) carry no new pod spec: allowed.
    let mut status = req.clone();
    status["request"]["subResource"] = json!("status");
    let (_, body) = s.post("/validate", &status).await;
    assert_eq!(response(&body)["allowed"], true);
    s.stop().await;
}

const MODES_POLICY: &str = r#"apiVersion: palisade.dev/v1alpha1
kind: Policy
spec:
  admission:
    modes:
    - {namespaces: [sandbox-*], mode: warn}
    - {namespaces: [legacy], mode: audit}
    exempt:
      namespaces: [kube-system]
      usernames: [system:serviceaccount:kube-system:daemon-set-controller]
    namespaceLabels:
      team-b:
        pod-security.kubernetes.io/enforce: baseline
        pod-security.kubernetes.io/warn: restricted
        pod-security.kubernetes.io/warn-version: v1.30
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_modes_warn_audit_exempt_and_dry_run() {
    let s = Running::start(Some(MODES_POLICY)).await;
    // warn: allowed, the violations as warnings.
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "sandbox-1",
                privileged_pod(),
                Value::Null,
            ),
        )
        .await;
    let r = response(&body);
    assert_eq!(r["allowed"], true);
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("[pss/privileged]"),
        "{r}"
    );
    // audit: allowed, recorded as audit annotations.
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "legacy",
                privileged_pod(),
                Value::Null,
            ),
        )
        .await;
    let r = response(&body);
    assert_eq!(r["allowed"], true);
    assert_eq!(r["auditAnnotations"]["violations"], "pss/privileged", "{r}");
    assert_eq!(r["auditAnnotations"]["mode"], "audit");
    // The same as a dry run: evaluated, not recorded as an audit event.
    let mut dry = review(
        "CREATE",
        ("", "v1", "Pod"),
        "legacy",
        privileged_pod(),
        Value::Null,
    );
    dry["request"]["dryRun"] = json!(true);
    let (_, body) = s.post("/validate", &dry).await;
    assert!(response(&body).get("auditAnnotations").is_none(), "{body}");
    // Exempt namespace and user.
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "kube-system",
                privileged_pod(),
                Value::Null,
            ),
        )
        .await;
    assert_eq!(response(&body)["allowed"], true);
    let mut by_controller = review(
        "CREATE",
        ("", "v1", "Pod"),
        "team-a",
        privileged_pod(),
        Value::Null,
    );
    by_controller["request"]["userInfo"]["username"] =
        json!("system:serviceaccount:kube-system:daemon-set-controller");
    let (_, body) = s.post("/validate", &by_controller).await;
    assert_eq!(response(&body)["allowed"], true);
    // Elsewhere: enforce.
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-a",
                privileged_pod(),
                Value::Null,
            ),
        )
        .await;
    assert_eq!(response(&body)["allowed"], false);
    let outcomes: Vec<String> = s
        .decisions()
        .iter()
        .map(|d| d["decision"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        outcomes,
        ["warn", "audit", "audit", "exempt", "exempt", "deny"]
    );
    assert_eq!(s.decisions()[2]["dryRun"], true);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_security_namespace_labels_set_the_level_enforced_and_warned() {
    let s = Running::start(Some(MODES_POLICY)).await;
    // team-b enforces baseline: a pod that is only non-restricted is admitted,
    // with the warn label's restricted violations as warnings.
    let p = pod(
        "loose",
        json!({"name": "app", "image": "registry.example.com/app:1@sha256:6b3a8d5a3e9f4c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3",
        "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "1"}},
        "securityContext": {"readOnlyRootFilesystem": true}}),
    );
    let mut p = p;
    p["spec"]["automountServiceAccountToken"] = json!(false);
    p["spec"]["serviceAccountName"] = json!("loose");
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-b",
                p.clone(),
                Value::Null,
            ),
        )
        .await;
    let r = response(&body);
    assert_eq!(r["allowed"], true, "{r}");
    let w: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    assert!(
        w.iter()
            .any(|x| x
                .starts_with("would violate PodSecurity \"restricted:v1.30\": [pss/runAsNonRoot]")),
        "{w:?}"
    );
    // The same pod in a namespace without labels is judged at the policy's level (restricted).
    let (_, body) = s
        .post(
            "/validate",
            &review("CREATE", ("", "v1", "Pod"), "team-a", p, Value::Null),
        )
        .await;
    assert_eq!(response(&body)["allowed"], false);
    // Baseline violations are still denied in team-b.
    let (_, body) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-b",
                privileged_pod(),
                Value::Null,
            ),
        )
        .await;
    assert_eq!(response(&body)["allowed"], false);
    s.stop().await;
}

const MUTATE_POLICY: &str = r#"apiVersion: palisade.dev/v1alpha1
kind: Policy
spec:
  admission:
    mutations:
      automountServiceAccountToken: true
      seccompProfile: true
      allowPrivilegeEscalation: true
      dropAllCapabilities: true
      runAsNonRoot: true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_returns_a_json_patch_that_makes_the_pod_pass_restricted() {
    let s = Running::start(Some(MUTATE_POLICY)).await;
    let mut p = pod(
        "bare",
        json!({"name": "app",
        "image": "registry.example.com/app:1@sha256:6b3a8d5a3e9f4c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3",
        "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "1"}},
        "securityContext": {"readOnlyRootFilesystem": true}}),
    );
    p["spec"]["serviceAccountName"] = json!("bare");
    let (_, before) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-a",
                p.clone(),
                Value::Null,
            ),
        )
        .await;
    assert_eq!(response(&before)["allowed"], false);
    let (status, body) = s
        .post(
            "/mutate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-a",
                p.clone(),
                Value::Null,
            ),
        )
        .await;
    assert_eq!(status, 200);
    let r = response(&body);
    assert_eq!(r["allowed"], true);
    assert_eq!(r["patchType"], "JSONPatch");
    let patch_bytes = base64::engine::general_purpose::STANDARD
        .decode(r["patch"].as_str().unwrap())
        .unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&patch_bytes).unwrap();
    let mut mutated = p.clone();
    json_patch::patch(&mut mutated, &patch).unwrap();
    // What the API server would then send to /validate passes.
    let (_, after) = s
        .post(
            "/validate",
            &review(
                "CREATE",
                ("", "v1", "Pod"),
                "team-a",
                mutated.clone(),
                Value::Null,
            ),
        )
        .await;
    assert_eq!(response(&after)["allowed"], true, "{after}");
    assert!(response(&after).get("warnings").is_none(), "{after}");
    // The user's explicit readOnlyRootFilesystem was kept.
    assert_eq!(
        mutated["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    // A complete pod needs no patch.
    let (_, body) = s
        .post(
            "/mutate",
            &review("CREATE", ("", "v1", "Pod"), "team-a", mutated, Value::Null),
        )
        .await;
    assert!(response(&body).get("patch").is_none(), "{body}");
    s.stop().await;
}
