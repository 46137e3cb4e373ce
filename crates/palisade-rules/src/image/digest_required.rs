//! `image/digest-required`: images not pinned by digest, when the policy
//! requires digests (`images.requireDigest`).
//! <https://kubernetes.io/docs/concepts/security/security-checklist/#images>

use palisade_core::{Context, Rule, RuleMeta, Severity, Target, Violation};

use super::digest::unpinned;
use super::{CHECKLIST_URL, IMAGES_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "image/digest-required",
    title: "Image is not pinned by digest, as the policy requires",
    severity: Severity::High,
    level: None,
    rationale: "The policy sets images.requireDigest: every image must name its content by digest, typically because admission only admits images whose digest was scanned or signed. An unpinned image breaks that guarantee, so it is high. This rule replaces image/digest when the setting is on (the engine gives each rule id one severity, so the required case has its own id); with the setting off it never fires.",
    remediation: "Pin the image by digest, keeping the tag for readers: image: registry.example.com/app:1.4.2@sha256:<digest>.",
    references: &[
        CHECKLIST_URL,
        IMAGES_URL,
        "https://github.com/palisade-sec/palisade/blob/main/docs/policy.md",
    ],
};

/// The rule.
pub struct DigestRequired;

impl Rule for DigestRequired {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>) {
        if ctx.policy.images.require_digest {
            unpinned(
                target,
                ", which the policy requires (images.requireDigest)",
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::{Policy, Severity};

    use crate::image::testutil::{pod, scan, DIGEST};

    fn requiring() -> Policy {
        let mut p = Policy::default();
        p.images.require_digest = true;
        p
    }

    #[test]
    fn unpinned_image_is_high_and_replaces_image_digest() {
        let f = scan(
            &pod(&format!("nginx@{DIGEST}"), "busybox:1.36"),
            requiring(),
            "image/digest",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "image/digest-required");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].path, "spec.initContainers[0].image");
        assert_eq!(f[0].line, 12);
        assert!(f[0].message.contains("requireDigest"));
    }

    #[test]
    fn pinned_images_pass_and_rule_is_silent_without_the_setting() {
        let pinned = pod(&format!("nginx@{DIGEST}"), &format!("b:1@{DIGEST}"));
        assert!(scan(&pinned, requiring(), "image/digest").is_empty());
        let f = scan(
            &pod("nginx:1", "b:1"),
            Policy::default(),
            "image/digest-required",
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
