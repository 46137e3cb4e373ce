//! `hardening/image-pull-policy`: mutable image tags that nodes may serve
//! from their cache.
//! <https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy>

use palisade_core::{Context, Node, Rule, RuleMeta, Severity, Target, Violation};

use palisade_oci::ImageRef;

use crate::image::each_image;

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "hardening/image-pull-policy",
    title: "Mutable image tag is not pulled with imagePullPolicy: Always",
    severity: Severity::Low,
    level: None,
    rationale: "With IfNotPresent (the default for a versioned tag) a node runs whatever it cached under the tag: replicas on different nodes can run different content after the tag moves, and a pod can start from an image another workload pulled without the registry checking its own pull credentials (the CIS benchmark asks for the AlwaysPullImages admission plugin for this reason). Always makes the kubelet resolve the tag at the registry on every start. Low: pinning by digest is the real fix (image/digest), after which the pull policy does not matter. The policy is judged as the API server defaults it: an image without a tag, or tagged latest, defaults to Always.",
    remediation: "Pin the image by digest, or set imagePullPolicy: Always on the container.",
    references: &[
        "https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy",
        "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#alwayspullimages",
        "https://www.cisecurity.org/benchmark/kubernetes",
    ],
};

/// The rule.
pub struct ImagePullPolicy;

/// The pull policy the API server gives a container that sets none.
fn default_policy(image: &ImageRef) -> &'static str {
    match image.effective_tag() {
        Some("latest") => "Always",
        _ => "IfNotPresent",
    }
}

impl Rule for ImagePullPolicy {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        each_image(target, |pod, ci| {
            let Ok(image) = &ci.parsed else { return };
            if image.pinned() {
                return;
            }
            let c = &ci.container;
            let written = c.node.get("imagePullPolicy").and_then(Node::as_str);
            let policy = written.unwrap_or_else(|| default_policy(image));
            if policy == "Always" {
                return;
            }
            let how = if written.is_some() {
                "is"
            } else {
                "defaults to"
            };
            out.push(pod.container_violation(
                c,
                &["imagePullPolicy"],
                format!(
                    "container {:?} image {:?} has a mutable tag but its imagePullPolicy {how} {policy}, so nodes may run a stale cached image",
                    c.name, ci.text
                ),
            ));
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::hardening::testutil::{pod, scan};

    const ID: &str = "hardening/image-pull-policy";
    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn versioned_tag_without_policy_fails_at_the_container() {
        let f = scan(&pod("", ""), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].imagePullPolicy");
        assert_eq!((f[0].line, f[0].column), (7, 5));
        assert!(
            f[0].message.contains("defaults to IfNotPresent"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn explicit_if_not_present_fails_at_the_field() {
        let f = scan(&pod("    imagePullPolicy: IfNotPresent\n", ""), ID);
        assert_eq!((f[0].line, f[0].column), (9, 5));
        // Even for :latest, whose default would be Always.
        let y = pod(
            "",
            "  initContainers:\n  - name: init\n    image: busybox\n    imagePullPolicy: Never\n",
        );
        let f = scan(&y, ID);
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(
            (f[0].path.as_str(), f[0].line),
            ("spec.initContainers[0].imagePullPolicy", 12)
        );
    }

    #[test]
    fn always_latest_default_and_digest_pass() {
        assert!(scan(&pod("    imagePullPolicy: Always\n", ""), ID).is_empty());
        let latest = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: nginx}\n  - {name: b, image: 'nginx:latest'}\n";
        assert!(scan(latest, ID).is_empty());
        let pinned = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.27@{DIGEST}\n    imagePullPolicy: IfNotPresent\n");
        assert!(scan(&pinned, ID).is_empty());
    }
}
