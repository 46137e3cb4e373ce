//! The `hardening` rule pack: workload best practices beyond the Pod
//! Security Standards, in the style of kube-linter and Polaris (immutable
//! root filesystems, resource bounds, image pull policy).
//!
//! The filesystem and resource rules check init and regular containers;
//! ephemeral (debug) containers are left out, because the API forbids
//! resources on them and they are added by hand for troubleshooting, not
//! shipped in manifests.

use palisade_core::{Rule, RuleMeta, Target};

use crate::pss::{Container, Pod};

mod image_pull_policy;
mod read_only_root_fs;
mod resource_limits;

/// The NSA/CISA Kubernetes Hardening Guide.
pub const NSA_GUIDE_URL: &str = "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF";

/// The rules of this pack, in `palisade rules` order: the one list the
/// engine runs and the catalog shows.
pub static RULES: &[&dyn Rule] = &[
    &read_only_root_fs::ReadOnlyRootFs,
    &resource_limits::ResourceLimits,
    &image_pull_policy::ImagePullPolicy,
];

/// Catalog entries of this pack, from [`RULES`].
pub fn catalog() -> impl Iterator<Item = &'static RuleMeta> {
    RULES.iter().map(|r| <dyn Rule>::meta(*r))
}

/// Runs `f` on every init and regular container of a workload target.
fn each_workload_container<'a>(target: &Target<'a>, mut f: impl FnMut(&Pod<'a>, &Container<'a>)) {
    let Some(view) = target.pod else { return };
    let pod = Pod { view };
    for c in pod.containers().filter(|c| c.list != "ephemeralContainers") {
        f(&pod, &c);
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use palisade_core::{Context, Engine, Finding, Limits};

    /// Findings of rule `id` at the default policy.
    pub fn scan(yaml: &str, id: &str) -> Vec<Finding> {
        let engine = Engine::new(crate::all_rules(), Context::default(), Limits::default());
        let report = engine.scan_bytes("t.yaml", yaml.as_bytes());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report
            .findings
            .into_iter()
            .filter(|f| f.rule == id)
            .collect()
    }

    /// A Pod with one container `app` (from line 7) followed by `app_extra`
    /// lines (indented four spaces, from line 9), and `spec_extra` lines at
    /// the end of the spec (indented two spaces).
    pub fn pod(app_extra: &str, spec_extra: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: registry.example.com/app:1.0\n{app_extra}{spec_extra}"
        )
    }
}

#[cfg(test)]
mod example_tests {
    use palisade_core::{Context, Engine, Limits};

    #[test]
    fn shipped_insecure_example_shows_the_hardening_pack() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/insecure/hardening.yaml"
        );
        let yaml = std::fs::read_to_string(path).expect("examples/insecure/hardening.yaml");
        let engine = Engine::new(crate::all_rules(), Context::default(), Limits::default());
        let found: Vec<_> = engine
            .scan_bytes("hardening.yaml", yaml.as_bytes())
            .findings
            .iter()
            .filter(|f| !f.rule.starts_with("secrets/"))
            .map(|f| (f.rule, f.path.clone(), f.line))
            .collect();
        let p = "spec.template.spec.containers[0]";
        let want = [
            (
                "hardening/read-only-root-fs",
                format!("{p}.securityContext.readOnlyRootFilesystem"),
                26,
            ),
            (
                "hardening/resource-limits",
                format!("{p}.resources.limits.memory"),
                22,
            ),
            (
                "hardening/resource-limits",
                format!("{p}.resources.requests.cpu"),
                22,
            ),
        ];
        assert_eq!(found, want, "only the hardening pack reports this worker");
    }
}
