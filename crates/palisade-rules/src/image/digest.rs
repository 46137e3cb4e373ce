//! `image/digest`: images not pinned by digest (when the policy does not
//! require digests; `image/digest-required` reports them then).
//! <https://kubernetes.io/docs/concepts/security/security-checklist/#images>

use palisade_core::{Context, Rule, RuleMeta, Severity, Target, Violation};

use super::{each_image, CHECKLIST_URL, IMAGES_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "image/digest",
    title: "Image is not pinned by digest",
    severity: Severity::Low,
    level: None,
    rationale: "A tag is a mutable pointer: whoever can push to the repository (or compromise it) can change what a tag names, and the next pull runs the new content without any change to the manifest. A digest names exactly the content that was reviewed and scanned. Low by default, as versioned tags are common practice and image/latest-tag reports the worst case; when the policy sets images.requireDigest, the same finding is reported as image/digest-required (high) instead.",
    remediation: "Pin the image by digest, keeping the tag for readers: image: registry.example.com/app:1.4.2@sha256:<digest> (crane digest or docker buildx imagetools inspect print it); let a bot such as Renovate update it.",
    references: &[CHECKLIST_URL, IMAGES_URL],
};

/// The rule.
pub struct Digest;

impl Rule for Digest {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>) {
        if !ctx.policy.images.require_digest {
            unpinned(target, "", out);
        }
    }
}

/// Reports every parsed image that is not pinned by digest; `note` is
/// appended to the message.
pub(super) fn unpinned(target: &Target<'_>, note: &str, out: &mut Vec<Violation>) {
    each_image(target, |pod, ci| {
        let Ok(image) = &ci.parsed else { return };
        if image.pinned() {
            return;
        }
        let c = &ci.container;
        out.push(pod.container_violation(
            c,
            &["image"],
            format!(
                "container {:?} image {:?} is not pinned by digest (@sha256:…){note}",
                c.name, ci.text
            ),
        ));
    });
}

#[cfg(test)]
mod tests {
    use palisade_core::{Policy, Severity};

    use crate::image::testutil::{pod, scan, DIGEST};

    #[test]
    fn tagged_image_without_digest_is_low() {
        let f = scan(
            &pod("nginx:1.27", &format!("busybox@{DIGEST}")),
            Policy::default(),
            "image/digest",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "image/digest");
        assert_eq!(f[0].severity, Severity::Low);
        assert_eq!(f[0].path, "spec.containers[0].image");
        assert_eq!(f[0].line, 9);
    }

    #[test]
    fn tag_with_digest_passes() {
        let f = scan(
            &pod(
                &format!("nginx:1.27@{DIGEST}"),
                &format!("busybox@{DIGEST}"),
            ),
            Policy::default(),
            "image/digest",
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
