//! The `image` rule pack: which image each container runs, and whether the
//! reference names immutable content from a trusted place. Every container
//! is checked (init, regular and ephemeral); findings point at its `image`
//! field and name the container.
//!
//! References are parsed with [`palisade_oci::ImageRef`], which
//! normalises them as container runtimes do: `nginx` is
//! `docker.io/library/nginx:latest`, a port belongs to the registry host
//! (`localhost:5000/app`), and a digest may follow a tag, in which case the
//! runtime pulls by digest and ignores the tag.
//! <https://kubernetes.io/docs/concepts/containers/images/#image-names>

use palisade_core::{Node, Rule, RuleMeta, Target};
use palisade_oci::ImageRef;

use crate::pss::{Container, Pod};

mod digest;
mod digest_required;
mod invalid_reference;
mod latest_tag;
mod registry;
mod running;

/// The Kubernetes page on image names, tags and digests.
pub const IMAGES_URL: &str = "https://kubernetes.io/docs/concepts/containers/images/#image-names";

/// The Kubernetes security checklist section on images (digests, trusted sources).
pub const CHECKLIST_URL: &str =
    "https://kubernetes.io/docs/concepts/security/security-checklist/#images";

/// The rules of this pack, in `palisade rules` order: the one list the
/// engine runs and the catalog shows.
pub static RULES: &[&dyn Rule] = &[
    &invalid_reference::InvalidReference,
    &latest_tag::LatestTag,
    &digest::Digest,
    &digest_required::DigestRequired,
    &registry::Registry,
    &running::RunningUnpinned,
    &running::RunningUntrusted,
];

/// Catalog entries of this pack, from [`RULES`].
pub fn catalog() -> impl Iterator<Item = &'static RuleMeta> {
    RULES.iter().map(|r| <dyn Rule>::meta(*r))
}

/// A container and its image, as the rules of this pack see them.
pub struct ContainerImage<'a> {
    /// The container.
    pub container: Container<'a>,
    /// The `image` value as written (empty when missing or not a string).
    pub text: &'a str,
    /// The parsed reference, or why there is none.
    pub parsed: Result<ImageRef, String>,
}

/// The image of every container of the pod (init, regular, ephemeral).
pub fn container_images<'a>(pod: &Pod<'a>) -> impl Iterator<Item = ContainerImage<'a>> {
    pod.containers().map(|container| {
        let (text, parsed) = match container.node.get("image") {
            None => ("", Err("container has no image".to_string())),
            Some(n) => match n.as_str() {
                Some(s) => (s, ImageRef::parse_cached(s)),
                None => ("", Err(format!("image is not a string ({})", kind(n)))),
            },
        };
        ContainerImage {
            container,
            text,
            parsed,
        }
    })
}

/// Runs `f` on every container image of a workload target.
pub fn each_image<'a>(target: &Target<'a>, mut f: impl FnMut(&Pod<'a>, ContainerImage<'a>)) {
    let Some(view) = target.pod else { return };
    let pod = Pod { view };
    for ci in container_images(&pod) {
        f(&pod, ci);
    }
}

fn kind(n: &Node) -> &'static str {
    use palisade_core::Value;
    match n.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a sequence",
        Value::Map(_) => "a mapping",
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use palisade_core::{Context, Engine, Finding, Limits, Policy};

    /// Findings of rules whose id starts with `prefix`, for `yaml` under `policy`.
    pub fn scan(yaml: &str, policy: Policy, prefix: &str) -> Vec<Finding> {
        let engine = Engine::new(
            crate::all_rules(),
            Context::from_policy(policy),
            Limits::default(),
        );
        let report = engine.scan_bytes("t.yaml", yaml.as_bytes());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report
            .findings
            .into_iter()
            .filter(|f| f.rule.starts_with(prefix))
            .collect()
    }

    /// A Pod whose containers (`init`, `app`) run the given images; the
    /// `app` image is on line 9, the `init` image on line 12.
    pub fn pod(app: &str, init: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: {app}\n  initContainers:\n  - name: init\n    image: {init}\n"
        )
    }

    /// A format-valid sha256 digest.
    pub const DIGEST: &str =
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
}

#[cfg(test)]
mod example_tests {
    use palisade_core::Policy;

    use super::testutil::scan;

    #[test]
    fn shipped_insecure_example_shows_the_image_pack() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/insecure/images.yaml"
        );
        let yaml = std::fs::read_to_string(path).expect("examples/insecure/images.yaml");
        let mut found: Vec<_> = scan(&yaml, Policy::default(), "image/")
            .iter()
            .map(|f| (f.rule, f.container.clone().unwrap_or_default(), f.line))
            .collect();
        let want = [
            ("image/latest-tag", "wait-for-db", 26),
            ("image/digest", "wait-for-db", 26),
            ("image/latest-tag", "web", 31),
            ("image/digest", "web", 31),
            ("image/invalid-reference", "cart", 35),
            ("image/digest", "api", 39),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|&(r, c, l)| (r, c.to_string(), l))
            .collect();
        found.sort_by_key(|f| f.2);
        assert_eq!(found, want);
        // As its header says, a trusted-registry policy also reports the
        // Docker Hub images (the invalid reference is reported only once).
        let mut policy = Policy::default();
        policy.images.trusted_registries = vec!["registry.example.com".into()];
        let untrusted: Vec<_> = scan(&yaml, policy, "image/registry")
            .iter()
            .map(|f| (f.container.clone().unwrap_or_default(), f.line))
            .collect();
        assert_eq!(
            untrusted,
            [("wait-for-db".to_string(), 26), ("web".to_string(), 31)]
        );
    }
}
