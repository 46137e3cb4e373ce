//! `/imagereview`: a backend for the ImagePolicyWebhook admission plugin
//! (`imagepolicy.k8s.io/v1alpha1` ImageReview). The images of a pod are
//! allowed or denied by the `image/*` rules of the policy file (trusted
//! registries, digest pinning, latest tag), with a reason naming each image
//! and rule. The API types are not in k8s-openapi, so they are written here.
//! <https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#imagepolicywebhook>

use std::collections::BTreeMap;

use palisade_core::policy::Mode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::review::{check, effective_severity, Evaluator, Online};

/// The API version of ImageReview.
pub const API_VERSION: &str = "imagepolicy.k8s.io/v1alpha1";

/// An ImageReview, as sent by the API server (spec) and returned (status).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageReview {
    /// `imagepolicy.k8s.io/v1alpha1`.
    pub api_version: String,
    /// `ImageReview`.
    pub kind: String,
    /// What to review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ImageReviewSpec>,
    /// The answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ImageReviewStatus>,
}

/// `spec` of an ImageReview.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageReviewSpec {
    /// The pod's containers (only their images are sent).
    #[serde(default)]
    pub containers: Vec<ImageReviewContainerSpec>,
    /// Pod annotations matching `*.image-policy.k8s.io/*`.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// The pod's namespace.
    #[serde(default)]
    pub namespace: String,
}

/// One container of an ImageReview.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageReviewContainerSpec {
    /// The image reference.
    #[serde(default)]
    pub image: String,
}

/// `status` of an ImageReview.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ImageReviewStatus {
    /// Whether every image may run.
    pub allowed: bool,
    /// Why not (or what was noted), shown to the user.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Recorded in the API server's audit log.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
}

/// The outcome of one review, for the response, metrics and decision log.
#[derive(Debug, Clone)]
pub struct ImageDecision {
    /// The status to return.
    pub status: ImageReviewStatus,
    /// `allow`, `deny`, `warn` or `audit`.
    pub outcome: &'static str,
    /// Rules that found something.
    pub rules: Vec<&'static str>,
    /// The namespace's mode.
    pub mode: Mode,
}

/// The images of `spec` the registry checks need to see.
pub fn images_to_check(eval: &Evaluator, spec: &ImageReviewSpec) -> Vec<String> {
    let Some(supply) = eval.supply() else {
        return Vec::new();
    };
    let mut images: Vec<String> = spec
        .containers
        .iter()
        .map(|c| c.image.clone())
        .filter(|i| supply.wants(i))
        .collect();
    images.sort_unstable();
    images.dedup();
    images
}

/// Reviews the images of `spec`: each is checked as the image of a container
/// of a pod in `spec.namespace`, so exemptions by namespace and image apply.
pub fn review(eval: &Evaluator, spec: &ImageReviewSpec) -> ImageDecision {
    review_with(eval, spec, None)
}

/// [`review`] with what the registry said about the images (signatures,
/// registry errors): see [`images_to_check`].
pub fn review_with(
    eval: &Evaluator,
    spec: &ImageReviewSpec,
    online: Option<&Online>,
) -> ImageDecision {
    let containers: Vec<serde_json::Value> = spec
        .containers
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"name": format!("container-{i}"), "image": c.image}))
        .collect();
    let mut meta = json!({"name": "imagereview"});
    if !spec.namespace.is_empty() {
        meta["namespace"] = json!(spec.namespace);
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"containers": containers}});
    let mode = eval.mode_of(&spec.namespace);
    let mut findings = match check(eval.image_scan(), &pod) {
        Ok(findings) => findings,
        Err(e) => {
            // Fail closed: images that could not be checked do not run.
            tracing::error!("image review check failed: {e}");
            return ImageDecision {
                status: ImageReviewStatus {
                    allowed: false,
                    reason: format!("palisade: the images could not be checked: {e}"),
                    audit_annotations: BTreeMap::new(),
                },
                outcome: "deny",
                rules: Vec::new(),
                mode,
            };
        }
    };
    findings.extend(eval.image_registry_findings(&pod, online));
    let threshold = eval.policy().admission_threshold;
    let blocking: Vec<_> = findings
        .iter()
        .filter(|f| effective_severity(f) >= threshold)
        .collect();
    let image_of = |container: Option<&str>| -> &str {
        container
            .and_then(|c| c.strip_prefix("container-"))
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| spec.containers.get(i))
            .map_or("", |c| c.image.as_str())
    };
    let reason = blocking
        .iter()
        .map(|f| {
            format!(
                "image {:?}: [{}] {}",
                image_of(f.container.as_deref()),
                f.rule,
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut rules: Vec<&'static str> = findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    let mut status = ImageReviewStatus {
        allowed: true,
        reason: String::new(),
        audit_annotations: BTreeMap::new(),
    };
    let outcome = match (mode, blocking.is_empty()) {
        (_, true) => "allow",
        (Mode::Enforce, false) => {
            status.allowed = false;
            status.reason = format!("palisade denied the images: {reason}");
            "deny"
        }
        (Mode::Warn, false) => {
            status.reason = format!("palisade would deny the images: {reason}");
            "warn"
        }
        (Mode::Audit, false) => "audit",
    };
    if !blocking.is_empty() {
        let mut ids: Vec<&str> = blocking.iter().map(|f| f.rule).collect();
        ids.sort_unstable();
        ids.dedup();
        status
            .audit_annotations
            .insert("palisade.dev/violations".into(), ids.join(","));
        status
            .audit_annotations
            .insert("palisade.dev/mode".into(), mode.as_str().into());
    }
    ImageDecision {
        status,
        outcome,
        rules,
        mode,
    }
}
