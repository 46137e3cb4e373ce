//! Keyless `images.verify` entries through the webhook: the real server
//! over real TLS asking a real `docker-registry` about images signed by a
//! test Fulcio and logged by a test Rekor (both in the `trusted_root.json`
//! the policy names), with SLSA provenance attested.
//!
//! The registry holds, under `HOST/keyless/`:
//! - `app:v1`: a keyless signature (`.sig`) and provenance (`.att`) from
//!   the trusted identity, built from `refs/heads/main`;
//! - `noprov:v1`: the signature only;
//! - `stranger:v1`: signed by another identity;
//! - `unsigned:v1`: nothing.

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;
#[path = "../../palisade-sigstore/tests/common/fulcio.rs"]
mod fulcio;
mod harness;
#[path = "../../palisade-oci/tests/common/keyless_sign.rs"]
mod keyless_sign;
#[path = "../../palisade-oci/tests/common/sign.rs"]
mod sign;

use std::time::Duration;

use common::{Layout, Registry, OCI_MANIFEST};
use fulcio::{statement, World, ISSUER, SIGNED_AT, SUBJECT};
use harness::{container, Webhook};
use keyless_sign::{att_layer, push, sig_layer, SLSA};
use serde_json::{json, Value};
use sign::payload;

struct Images {
    _registry: Registry,
    host: String,
    root_json: String,
    app_digest: String,
}

impl Images {
    fn new() -> Images {
        let registry = Registry::start();
        let host = registry.host.clone();
        let w = World::new();
        let (leaf, key) = w.leaf(SUBJECT, ISSUER);
        let (other_leaf, other_key) = w.leaf("someone@example.test", ISSUER);
        let mut layout = Layout::new();
        for name in ["app", "noprov", "stranger", "unsigned"] {
            let m = layout.image("linux", "amd64", name);
            layout.tag(name, &m, OCI_MANIFEST);
            registry.push(&layout.dir, name, &format!("keyless/{name}:v1"));
        }
        let digest = |name: &str| registry.skopeo_digest(&format!("keyless/{name}:v1"));
        let sig_tag = |d: &str| format!("{}.sig", d.replacen(':', "-", 1));
        for (name, leaf, key) in [
            ("app", &leaf, &key),
            ("noprov", &leaf, &key),
            ("stranger", &other_leaf, &other_key),
        ] {
            let d = digest(name);
            let p = payload(&format!("{host}/keyless/{name}"), &d);
            let layer = sig_layer(&w, leaf, key, p.clone(), &p, SIGNED_AT, true);
            push(
                &registry,
                &format!("keyless/{name}"),
                &sig_tag(&d),
                &[layer],
            );
        }
        let app = digest("app");
        let provenance = json!({"buildDefinition": {"externalParameters": {"workflow": {"ref": "refs/heads/main"}}}});
        push(
            &registry,
            "keyless/app",
            &sig_tag(&app).replace(".sig", ".att"),
            &[att_layer(
                &w,
                &leaf,
                &key,
                &statement(&app, SLSA, provenance),
            )],
        );
        Images {
            _registry: registry,
            host,
            root_json: w.root_json(),
            app_digest: app,
        }
    }

    fn image(&self, name: &str) -> String {
        format!("{}/keyless/{name}:v1", self.host)
    }

    fn policy(&self) -> String {
        format!(
            "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    mutateDigest: true\n    trustedRoot: trusted_root.json\n    verify:\n    - images: [\"{}/keyless/**\"]\n      keyless:\n      - issuer: {ISSUER}\n        subject: {SUBJECT}\n      attestations:\n      - predicateType: {SLSA}\n        conditions:\n        - predicate.buildDefinition.externalParameters.workflow.ref == 'refs/heads/main'\n",
            self.host
        )
    }

    async fn webhook(&self) -> Webhook {
        let registry = palisade_oci::ClientOptions {
            insecure_registries: vec![self.host.clone()],
            timeout: Duration::from_secs(10),
            ..palisade_oci::ClientOptions::default()
        };
        Webhook::start(
            &[
                ("palisade.yaml", self.policy().as_str()),
                ("trusted_root.json", self.root_json.as_str()),
            ],
            registry,
        )
        .await
    }
}

fn denial(response: &Value) -> String {
    assert_eq!(response["allowed"], false, "{response}");
    response["status"]["message"].as_str().unwrap().to_string()
}

/// The JSON Patch of a `/mutate` response, as text (empty when none).
fn patch_text(body: &Value) -> String {
    let patch = body["response"]["patch"].as_str().unwrap_or("");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, patch).unwrap();
    String::from_utf8(bytes).unwrap()
}

fn deployment_review(image: &str) -> Value {
    harness::review(
        ("apps", "v1", "Deployment"),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": harness::pod_spec(vec![container("app", image)])}}}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyless_signatures_and_provenance_decide_admission() {
    let img = Images::new();
    let s = img.webhook().await;

    let r = s.validate_pod(&img.image("app")).await;
    assert_eq!(r["allowed"], true, "{r}");

    let msg = denial(&s.validate_pod(&img.image("noprov")).await);
    assert!(msg.contains("[image/signature]"), "{msg}");
    assert!(
        msg.contains(&format!("no verified attestation of type {SLSA}")),
        "{msg}"
    );

    let msg = denial(&s.validate_pod(&img.image("stranger")).await);
    assert!(
        msg.contains("identity mismatch: got someone@example.test"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("trusts {SUBJECT} from {ISSUER}")),
        "{msg}"
    );

    let msg = denial(&s.validate_pod(&img.image("unsigned")).await);
    assert!(msg.contains("has no signature"), "{msg}");

    // /mutate pins the verified tag, and only that one.
    let body = s
        .post("/mutate", &deployment_review(&img.image("app")))
        .await;
    let patch = patch_text(&body);
    assert!(
        patch.contains(&format!("{}@{}", img.image("app"), img.app_digest)),
        "{patch}"
    );
    let body = s
        .post("/mutate", &deployment_review(&img.image("stranger")))
        .await;
    let patch = patch_text(&body);
    assert!(
        !patch.contains("@sha256:"),
        "an unverified tag is not pinned: {patch}"
    );

    // /imagereview answers the same.
    let review = |image: &str| {
        json!({"apiVersion": "imagepolicy.k8s.io/v1alpha1", "kind": "ImageReview",
            "spec": {"containers": [{"image": image}], "namespace": "team-a"}})
    };
    let body = s.post("/imagereview", &review(&img.image("app"))).await;
    assert_eq!(body["status"]["allowed"], true, "{body}");
    let body = s.post("/imagereview", &review(&img.image("noprov"))).await;
    assert_eq!(body["status"]["allowed"], false, "{body}");
    s.stop().await;
}
