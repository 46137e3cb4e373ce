//! `image/registry`: images from outside the policy's trusted registries
//! and repositories (`images.trustedRegistries`).
//! <https://kubernetes.io/docs/concepts/security/security-checklist/#images>

use palisade_core::policy::glob_match;
use palisade_core::{Context, Rule, RuleMeta, Severity, Target, Violation};

use palisade_oci::registry_pattern;

use super::{each_image, CHECKLIST_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "image/registry",
    title: "Image is not from a trusted registry",
    severity: Severity::High,
    level: None,
    rationale: "Images from registries the organisation does not control bypass its build, scanning and signing pipeline: a typo-squatted or hijacked public repository runs with the workload's credentials and network access. The policy lists where images may come from (images.trustedRegistries); an image from elsewhere is high because it is arbitrary third-party code. References are normalised as the runtime does (nginx is docker.io/library/nginx) before matching, so a short name cannot slip past a pattern. Silent when the list is empty.",
    remediation: "Mirror or rebuild the image into a trusted registry and reference it there, or add its registry or repository to images.trustedRegistries (entries: registry.example.com for a whole registry, ghcr.io/acme/** for a subtree, docker.io/library/* for Docker Hub official images).",
    references: &[
        CHECKLIST_URL,
        "https://www.cisecurity.org/benchmark/kubernetes",
        "https://github.com/palisade-sec/palisade/blob/main/docs/policy.md",
    ],
};

/// The policy's trusted registries (`images.trustedRegistries`) as patterns.
pub(super) struct Trusted<'a> {
    entries: &'a [String],
    patterns: Vec<String>,
}

impl<'a> Trusted<'a> {
    /// `None` when the policy lists none (every registry is trusted).
    pub(super) fn of(ctx: &'a Context) -> Option<Self> {
        let entries = &ctx.policy.images.trusted_registries;
        (!entries.is_empty()).then(|| Trusted {
            entries,
            patterns: entries.iter().map(|p| registry_pattern(p)).collect(),
        })
    }

    /// Whether a normalised image name (`docker.io/library/nginx`) is under one.
    pub(super) fn trusts(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| glob_match(p, name))
    }

    /// The entries as written, for messages.
    pub(super) fn list(&self) -> String {
        self.entries.join(", ")
    }
}

/// The rule.
pub struct Registry;

impl Rule for Registry {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>) {
        let Some(trusted) = Trusted::of(ctx) else {
            return;
        };
        if target.pod.is_none() {
            return;
        }
        each_image(target, |pod, ci| {
            let Ok(image) = &ci.parsed else { return };
            let name = image.name();
            if trusted.trusts(&name) {
                return;
            }
            let c = &ci.container;
            out.push(pod.container_violation(
                c,
                &["image"],
                format!(
                    "container {:?} image {:?} ({name}) is not from a trusted registry (images.trustedRegistries: {})",
                    c.name,
                    ci.text,
                    trusted.list()
                ),
            ));
        });
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::Policy;

    use super::registry_pattern;
    use crate::image::testutil::{pod, scan, DIGEST};

    fn trusting(entries: &[&str]) -> Policy {
        let mut p = Policy::default();
        p.images.trusted_registries = entries.iter().map(|s| s.to_string()).collect();
        p
    }

    fn flagged(policy: Policy, app: &str) -> bool {
        let f = scan(
            &pod(app, &format!("busybox@{DIGEST}")),
            policy,
            "image/registry",
        );
        f.iter()
            .any(|f| f.path == "spec.containers[0].image" && f.line == 9)
    }

    #[test]
    fn docker_hub_short_name_is_untrusted_and_named_in_full() {
        let f = scan(
            &pod("nginx:1.27", "ghcr.io/acme/tools/init:1"),
            trusting(&["registry.example.com/*", "ghcr.io/acme/**"]),
            "image/registry",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "image/registry");
        assert_eq!(f[0].path, "spec.containers[0].image");
        assert_eq!(f[0].line, 9);
        assert!(
            f[0].message.contains("docker.io/library/nginx"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn single_star_stops_at_a_slash_and_bare_registry_means_everything_under_it() {
        let p = || trusting(&["registry.example.com/*"]);
        assert!(!flagged(p(), "registry.example.com/app:1"));
        assert!(flagged(p(), "registry.example.com/team/app:1"));
        let bare = || trusting(&["registry.example.com"]);
        assert!(!flagged(bare(), "registry.example.com/team/app:1"));
        // A look-alike host is not under it.
        assert!(flagged(bare(), "registry.example.com.evil.io/app:1"));
    }

    #[test]
    fn port_is_part_of_the_host_and_digest_after_tag_is_fine() {
        assert!(flagged(trusting(&["localhost"]), "localhost:5000/app:1"));
        assert!(!flagged(
            trusting(&["localhost:5000"]),
            "localhost:5000/app:1"
        ));
        let img = format!("Registry.Example.com/app:1@{DIGEST}");
        assert!(!flagged(trusting(&["registry.example.com/*"]), &img));
    }

    #[test]
    fn docker_hub_entries_match_normalised_names() {
        assert!(!flagged(trusting(&["docker.io/library/*"]), "nginx"));
        assert!(!flagged(trusting(&["index.docker.io"]), "bitnami/redis:7"));
        assert!(flagged(
            trusting(&["docker.io/library/*"]),
            "bitnami/redis:7"
        ));
    }

    #[test]
    fn empty_list_trusts_everything() {
        assert!(!flagged(Policy::default(), "quay.io/anyone/anything:1"));
    }

    #[test]
    fn entries_become_globs() {
        assert_eq!(
            registry_pattern("Registry.Example.com"),
            "registry.example.com/**"
        );
        assert_eq!(registry_pattern("ghcr.io/acme/"), "ghcr.io/acme/**");
        assert_eq!(
            registry_pattern("index.docker.io/library/*"),
            "docker.io/library/*"
        );
        assert_eq!(
            registry_pattern("index.docker.io.evil.io"),
            "index.docker.io.evil.io/**"
        );
    }
}
