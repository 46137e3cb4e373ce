//! The webhook's registry checks end to end: the real server over real TLS
//! (certificates generated here) asking a real `docker-registry` (the
//! harness of palisade-oci's tests) about images signed with cosign keys
//! made here, as `images.verify`, `images.mutateDigest` and
//! `images.failurePolicy` configure it.
//!
//! The registry holds, under `HOST/`:
//! - `signed/app:v1`, signed by the trusted key (A);
//! - `signed/unsigned:v1`, with no signature (B);
//! - `signed/wrongkey:v1`, signed by another key (C);
//! - `other/app:v1`, which no verify entry matches (D).

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;
mod harness;
#[path = "../../palisade-oci/tests/common/sign.rs"]
mod sign;

use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{Layout, Registry, OCI_MANIFEST};
use harness::{container, pod_spec, review, warnings, Webhook};
use serde_json::{json, Value};
use sign::{payload, push_signature, SigLayer, TestKey};

/// A registry with the four images and the trusted key.
struct Images {
    registry: Registry,
    /// `127.0.0.1:PORT`.
    host: String,
    /// The trusted public key (PEM).
    key_pem: String,
    /// Digest of `signed/app:v1`, as skopeo computes it.
    app_digest: String,
    /// Digest of `signed/unsigned:v1`.
    unsigned_digest: String,
}

impl Images {
    fn new() -> Images {
        let registry = Registry::start();
        let host = registry.host.clone();
        let mut layout = Layout::new();
        for (tag, content) in [
            ("a", "signed app"),
            ("b", "unsigned app"),
            ("c", "app signed by another key"),
            ("d", "other app"),
        ] {
            let m = layout.image("linux", "amd64", content);
            layout.tag(tag, &m, OCI_MANIFEST);
        }
        registry.push(&layout.dir, "a", "signed/app:v1");
        registry.push(&layout.dir, "b", "signed/unsigned:v1");
        registry.push(&layout.dir, "c", "signed/wrongkey:v1");
        registry.push(&layout.dir, "d", "other/app:v1");
        let app_digest = registry.skopeo_digest("signed/app:v1");
        let unsigned_digest = registry.skopeo_digest("signed/unsigned:v1");
        let wrong_digest = registry.skopeo_digest("signed/wrongkey:v1");

        let trusted = TestKey::p256();
        let other = TestKey::p256();
        push_signature(
            &registry,
            "signed/app",
            &app_digest,
            &[SigLayer::signed(
                &trusted,
                payload(&format!("{host}/signed/app"), &app_digest),
            )],
        );
        push_signature(
            &registry,
            "signed/wrongkey",
            &wrong_digest,
            &[SigLayer::signed(
                &other,
                payload(&format!("{host}/signed/wrongkey"), &wrong_digest),
            )],
        );
        Images {
            key_pem: trusted.public_pem(),
            registry,
            host,
            app_digest,
            unsigned_digest,
        }
    }

    /// `HOST/path`.
    fn image(&self, path: &str) -> String {
        format!("{}/{path}", self.host)
    }

    /// A policy whose verify entry trusts `cosign.pub` for `signed/**`,
    /// with these `images` settings and `admission` section added.
    fn policy(&self, images_extra: &str, admission: &str) -> String {
        policy(&format!("{}/signed/**", self.host), images_extra, admission)
    }
}

/// A policy file with one required verify entry for `pattern` trusting
/// `cosign.pub` (next to the file).
fn policy(pattern: &str, images_extra: &str, admission: &str) -> String {
    format!(
        "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [\"{pattern}\"]\n      keys: [cosign.pub]\n      required: true\n{images_extra}{admission}"
    )
}

/// Starts the server with `policy`, `cosign.pub` holding `key_pem`, and
/// the registry `insecure` reached over plain HTTP with `timeout`.
async fn start_webhook(policy: &str, key_pem: &str, insecure: &str, timeout: Duration) -> Webhook {
    let registry = palisade_oci::ClientOptions {
        insecure_registries: vec![insecure.to_string()],
        timeout,
        ..palisade_oci::ClientOptions::default()
    };
    Webhook::start(
        &[("palisade.yaml", policy), ("cosign.pub", key_pem)],
        registry,
    )
    .await
}

fn deployment(containers: Vec<Value>) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": pod_spec(containers)}}})
}

fn deployment_review(object: Value) -> Value {
    review(("apps", "v1", "Deployment"), object)
}

fn image_review(image: &str) -> Value {
    json!({"apiVersion": "imagepolicy.k8s.io/v1alpha1", "kind": "ImageReview",
        "spec": {"containers": [{"image": image}], "namespace": "team-a"}})
}

/// The JSON Patch of a `/mutate` response (empty when there is none).
fn patch_of(response: &Value) -> json_patch::Patch {
    let Some(encoded) = response["patch"].as_str() else {
        return json_patch::Patch(Vec::new());
    };
    assert_eq!(response["patchType"], "JSONPatch", "{response}");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("the patch is base64");
    serde_json::from_slice(&bytes).expect("the patch is a JSON Patch")
}

/// The operations of a patch on a path ending in `/image`.
fn image_ops(patch: &json_patch::Patch) -> Vec<Value> {
    serde_json::to_value(patch)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["path"].as_str().is_some_and(|p| p.ends_with("/image")))
        .cloned()
        .collect()
}

fn assert_allowed(response: &Value) {
    assert_eq!(response["allowed"], true, "{response}");
    assert_eq!(response["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
}

/// Asserts a 403 denial and returns its message.
fn denial(response: &Value) -> String {
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 403, "{response}");
    assert_eq!(response["status"]["reason"], "Forbidden", "{response}");
    response["status"]["message"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_mode_admits_signed_and_unmatched_images_and_denies_unsigned_and_wrong_key() {
    let img = Images::new();
    let s = start_webhook(
        &img.policy("", ""),
        &img.key_pem,
        &img.host,
        Duration::from_secs(10),
    )
    .await;

    // A, by tag: the tag resolves to a digest whose signature verifies.
    let r = s.validate_pod(&img.image("signed/app:v1")).await;
    assert_allowed(&r);
    assert!(
        !warnings(&r).iter().any(|w| w.contains("image/signature")),
        "{r}"
    );

    // B: nothing at its .sig tag.
    let unsigned = img.image("signed/unsigned:v1");
    let msg = denial(&s.validate_pod(&unsigned).await);
    assert!(
        msg.starts_with("palisade denied Pod team-a/\"web\": 1 violation;"),
        "{msg}"
    );
    assert!(
        msg.contains("[image/signature] container \"app\" spec.containers[0].image:"),
        "{msg}"
    );
    assert!(msg.contains(&format!("image {unsigned:?}")), "{msg}");
    assert!(msg.contains(&img.unsigned_digest), "{msg}");
    assert!(
        msg.contains(&format!(
            "has no cosign signature (nothing at the {} tag)",
            sign::sig_tag(&img.unsigned_digest)
        )),
        "{msg}"
    );
    assert!(msg.contains("trusts "), "{msg}");

    // C: a signature is there, by a key the policy does not trust.
    let wrong = img.image("signed/wrongkey:v1");
    let msg = denial(&s.validate_pod(&wrong).await);
    assert!(msg.contains("[image/signature]"), "{msg}");
    assert!(msg.contains(&format!("image {wrong:?}")), "{msg}");
    assert!(
        msg.contains(
            "has no valid cosign signature: layer 0: signature does not verify with the trusted key"
        ),
        "{msg}"
    );

    // D: no verify entry matches, so the registry is not asked.
    let r = s.validate_pod(&img.image("other/app:v1")).await;
    assert_allowed(&r);
    assert!(
        !warnings(&r)
            .iter()
            .any(|w| w.contains("image/")
                && (w.contains("signature") || w.contains("registry-error"))),
        "{r}"
    );

    // A, by digest: its own digest is checked without resolving a tag.
    let r = s
        .validate_pod(&format!("{}@{}", img.image("signed/app"), img.app_digest))
        .await;
    assert_allowed(&r);

    // The two denials are counted, with their rule.
    let m = s.metrics().await;
    assert!(
        m.contains(r#"palisade_admission_requests_total{endpoint="validate",decision="deny"} 2"#),
        "{m}"
    );
    assert!(
        m.contains(r#"palisade_admission_requests_total{endpoint="validate",decision="allow"} 3"#),
        "{m}"
    );
    assert!(
        m.contains(
            r#"palisade_admission_findings_total{endpoint="validate",rule="image/signature"} 2"#
        ),
        "{m}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_mode_admits_an_unsigned_image_with_a_signature_warning() {
    let img = Images::new();
    let s = start_webhook(
        &img.policy("", "  admission:\n    defaultMode: warn\n"),
        &img.key_pem,
        &img.host,
        Duration::from_secs(10),
    )
    .await;
    let unsigned = img.image("signed/unsigned:v1");
    let r = s.validate_pod(&unsigned).await;
    assert_allowed(&r);
    assert!(
        r.get("status").is_none_or(|st| st.get("message").is_none()),
        "{r}"
    );
    let w = warnings(&r);
    let signature: Vec<&String> = w
        .iter()
        .filter(|w| w.starts_with("[image/signature] spec.containers[0].image:"))
        .collect();
    assert_eq!(signature.len(), 1, "{w:?}");
    assert!(signature[0].contains(&unsigned), "{w:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_pins_tags_to_the_registry_digest_and_the_pinned_object_is_admitted() {
    let img = Images::new();
    let s = start_webhook(
        &img.policy("    mutateDigest: true\n", ""),
        &img.key_pem,
        &img.host,
        Duration::from_secs(10),
    )
    .await;
    let skopeo = img.registry.skopeo_digest("signed/app:v1");
    assert_eq!(skopeo, img.app_digest);
    let by_tag = img.image("signed/app:v1");
    let pinned = format!("{by_tag}@{skopeo}");
    // The first container by tag, the second already pinned.
    let object = deployment(vec![
        container("app", &by_tag),
        container("sidecar", &pinned),
    ]);

    let body = s.post("/mutate", &deployment_review(object.clone())).await;
    let r = &body["response"];
    assert_allowed(r);
    let patch = patch_of(r);
    assert_eq!(
        image_ops(&patch),
        vec![
            json!({"op": "replace", "path": "/spec/template/spec/containers/0/image",
            "value": pinned})
        ],
        "{r}"
    );

    // What the API server stores after mutation is admitted by /validate.
    let mut mutated = object;
    json_patch::patch(&mut mutated, &patch).expect("the patch applies");
    assert_eq!(
        mutated["spec"]["template"]["spec"]["containers"][0]["image"],
        json!(pinned)
    );
    assert_eq!(
        mutated["spec"]["template"]["spec"]["containers"][1]["image"],
        json!(pinned)
    );
    let body = s.post("/validate", &deployment_review(mutated)).await;
    assert_allowed(&body["response"]);
    s.stop().await;

    // Without mutateDigest, /mutate leaves images alone.
    let s = start_webhook(
        &img.policy("", ""),
        &img.key_pem,
        &img.host,
        Duration::from_secs(10),
    )
    .await;
    let object = deployment(vec![container("app", &by_tag)]);
    let body = s.post("/mutate", &deployment_review(object)).await;
    let r = &body["response"];
    assert_allowed(r);
    assert!(image_ops(&patch_of(r)).is_empty(), "{r}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imagereview_denies_an_unsigned_image_and_allows_a_signed_one() {
    let img = Images::new();
    let s = start_webhook(
        &img.policy("", ""),
        &img.key_pem,
        &img.host,
        Duration::from_secs(10),
    )
    .await;
    let unsigned = img.image("signed/unsigned:v1");
    let body = s.post("/imagereview", &image_review(&unsigned)).await;
    assert_eq!(body["apiVersion"], "imagepolicy.k8s.io/v1alpha1");
    assert_eq!(body["kind"], "ImageReview");
    let status = &body["status"];
    assert_eq!(status["allowed"], false, "{body}");
    let reason = status["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "palisade denied the images: image {unsigned:?}: [image/signature]"
        )),
        "{reason}"
    );
    assert!(reason.contains("has no cosign signature"), "{reason}");
    assert_eq!(
        status["auditAnnotations"]["palisade.dev/violations"],
        "image/signature"
    );

    let body = s
        .post("/imagereview", &image_review(&img.image("signed/app:v1")))
        .await;
    assert_eq!(body["status"]["allowed"], true, "{body}");
    assert!(body["status"].get("reason").is_none(), "{body}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_registry_denies_with_fail_and_warns_with_ignore() {
    let key = TestKey::p256().public_pem();
    let down = format!("127.0.0.1:{}", common::closed_port());
    let image = format!("{down}/signed/app:v1");
    let pattern = format!("{down}/signed/**");

    let s = start_webhook(
        &policy(&pattern, "    failurePolicy: Fail\n", ""),
        &key,
        &down,
        Duration::from_secs(2),
    )
    .await;
    let msg = denial(&s.validate_pod(&image).await);
    assert!(
        msg.contains("[image/registry-error] container \"app\" spec.containers[0].image:"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("image {image:?} could not be checked:")),
        "{msg}"
    );
    assert!(!msg.contains("[image/signature]"), "{msg}");
    s.stop().await;

    let s = start_webhook(
        &policy(&pattern, "    failurePolicy: Ignore\n", ""),
        &key,
        &down,
        Duration::from_secs(2),
    )
    .await;
    let r = s.validate_pod(&image).await;
    assert_allowed(&r);
    let w = warnings(&r);
    assert!(
        w.iter().any(
            |w| w.starts_with("[image/registry-error] spec.containers[0].image:")
                && w.contains("could not be checked")
        ),
        "{w:?}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_never_answers_is_a_registry_error_within_the_request_deadline() {
    let key = TestKey::p256().public_pem();
    // Connections complete in the listen backlog, but nothing ever answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = silent.local_addr().unwrap().to_string();
    let image = format!("{host}/signed/app:v1");
    let s = start_webhook(
        &policy(&format!("{host}/signed/**"), "", ""),
        &key,
        &host,
        // Per-request timeout longer than the server's 4 s deadline for all
        // registry checks of one request: the deadline answers.
        Duration::from_secs(10),
    )
    .await;
    let started = Instant::now();
    let msg = denial(&s.validate_pod(&image).await);
    let took = started.elapsed();
    assert!(msg.contains("[image/registry-error]"), "{msg}");
    assert!(
        msg.contains(&format!("image {image:?} could not be checked:")),
        "{msg}"
    );
    assert!(
        msg.contains("no answer from the registry within 4s"),
        "{msg}"
    );
    eprintln!("/validate against a silent registry (deadline 4 s): {took:?}");
    s.stop().await;
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_image_stays_admitted_from_the_cache_when_the_registry_goes_away() {
    let img = Images::new();
    let s = start_webhook(
        &img.policy("", ""),
        &img.key_pem,
        &img.host,
        Duration::from_secs(2),
    )
    .await;
    let image = img.image("signed/app:v1");
    let cold = Instant::now();
    let r = s.validate_pod(&image).await;
    let cold = cold.elapsed();
    assert_allowed(&r);

    drop(img);
    let warm = Instant::now();
    let r = s.validate_pod(&image).await;
    let warm = warm.elapsed();
    assert_allowed(&r);
    assert!(
        !warnings(&r)
            .iter()
            .any(|w| w.contains("image/registry-error")),
        "{r}"
    );
    eprintln!("/validate of a signed image: cold {cold:?}, warm (registry gone) {warm:?}");

    // An image not seen before does need the registry, which is gone.
    let r = s
        .validate_pod(&format!("{}/signed/other:v1", host_of(&image)))
        .await;
    let msg = denial(&r);
    assert!(msg.contains("[image/registry-error]"), "{msg}");
    s.stop().await;
}

/// The `HOST` of `HOST/path`.
fn host_of(image: &str) -> &str {
    image.split('/').next().unwrap_or_default()
}
