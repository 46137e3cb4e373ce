//! `image/latest-tag`: images without a tag, or tagged `latest`.
//! <https://kubernetes.io/docs/concepts/configuration/overview/#container-images>

use palisade_core::{Context, Rule, RuleMeta, Severity, Target, Violation};

use super::{each_image, IMAGES_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "image/latest-tag",
    title: "Image has no tag or uses :latest",
    severity: Severity::Medium,
    level: None,
    rationale: "Without a tag the runtime pulls :latest, and :latest moves with every push: two replicas, or the same pod after a reschedule, can run different code, a rollback cannot return to what ran before, and whoever can push to the repository changes production without a change to the manifest. Medium: it is the easiest way for unreviewed code to reach a cluster, but not by itself a privilege escalation. A digest-pinned image is not reported: the runtime ignores the tag then.",
    remediation: "Use a versioned tag that your release process never overwrites (app:1.4.2), and better, pin the digest (app:1.4.2@sha256:…).",
    references: &[
        "https://kubernetes.io/docs/concepts/configuration/overview/#container-images",
        IMAGES_URL,
    ],
};

/// The rule.
pub struct LatestTag;

impl Rule for LatestTag {
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
            let why = match image.tag() {
                None => "has no tag, so the runtime pulls the moving :latest",
                Some("latest") => "uses the moving :latest tag",
                Some(_) => return,
            };
            out.push(pod.container_violation(
                c,
                &["image"],
                format!("container {:?} image {:?} {why}", c.name, ci.text),
            ));
        });
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::Policy;

    use crate::image::testutil::{pod, scan, DIGEST};

    #[test]
    fn untagged_and_latest_images_fail_at_their_image_field() {
        let f = scan(
            &pod("nginx", "busybox:latest"),
            Policy::default(),
            "image/latest-tag",
        );
        let got: Vec<_> = f
            .iter()
            .map(|f| (f.path.as_str(), f.line, f.container.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("spec.initContainers[0].image", 12, Some("init")),
                ("spec.containers[0].image", 9, Some("app")),
            ]
        );
        assert!(f[0].message.contains(":latest tag"), "{}", f[0].message);
        assert!(f[1].message.contains("has no tag"), "{}", f[1].message);
    }

    #[test]
    fn registry_port_is_not_mistaken_for_a_tag() {
        let f = scan(
            &pod("localhost:5000/app", "localhost:5000/app:1.0"),
            Policy::default(),
            "image/latest-tag",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].image");
    }

    #[test]
    fn versioned_or_digest_pinned_images_pass() {
        let f = scan(
            &pod(
                &format!("nginx:latest@{DIGEST}"),
                &format!("busybox@{DIGEST}"),
            ),
            Policy::default(),
            "image/latest-tag",
        );
        assert!(f.is_empty(), "{f:?}");
        assert!(scan(
            &pod("nginx:1.27", "busybox:1.36"),
            Policy::default(),
            "image/latest-tag"
        )
        .is_empty());
    }
}
