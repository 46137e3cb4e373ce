//! The `image` rule pack: which image each container runs, and whether the
//! reference names immutable content from a trusted place. Every container
//! is checked (init, regular and ephemeral); findings point at its `image`
//! field and name the container.
//!
//! References are parsed with [`oci_spec::distribution::Reference`], which
//! normalises them as container runtimes do: `nginx` is
//! `docker.io/library/nginx:latest`, a port belongs to the registry host
//! (`localhost:5000/app`), and a digest may follow a tag, in which case the
//! runtime pulls by digest and ignores the tag.
//! <https://kubernetes.io/docs/concepts/containers/images/#image-names>

use std::cell::RefCell;
use std::collections::HashMap;

use oci_spec::distribution::Reference;
use palisade_core::{Node, Rule, RuleMeta, Target};

use crate::pss::{Container, Pod};

mod digest;
mod digest_required;
mod invalid_reference;
mod latest_tag;
mod registry;

/// The Kubernetes page on image names, tags and digests.
pub const IMAGES_URL: &str = "https://kubernetes.io/docs/concepts/containers/images/#image-names";

/// The Kubernetes security checklist section on images (digests, trusted sources).
pub const CHECKLIST_URL: &str =
    "https://kubernetes.io/docs/concepts/security/security-checklist/#images";

/// The rules of this pack, ready for the engine.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(invalid_reference::InvalidReference),
        Box::new(latest_tag::LatestTag),
        Box::new(digest::Digest),
        Box::new(digest_required::DigestRequired),
        Box::new(registry::Registry),
    ]
}

/// Catalog entries of this pack, in `palisade rules` order.
pub fn catalog() -> Vec<&'static RuleMeta> {
    vec![
        &invalid_reference::META,
        &latest_tag::META,
        &digest::META,
        &digest_required::META,
        &registry::META,
    ]
}

/// An image reference as the container runtime reads it.
#[derive(Debug, Clone)]
pub struct ImageRef {
    reference: Reference,
    tag_written: bool,
}

impl ImageRef {
    /// Parses a reference as written in a container's `image` field; the
    /// error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let reference = match text.parse::<Reference>() {
            Ok(r) => r,
            Err(e) => return Err(explain(text).unwrap_or_else(|| e.to_string())),
        };
        // oci-spec accepts upper-case hex in digests; the runtimes' digest
        // parser (go-digest) does not, so the kubelet would refuse it.
        if let Some(d) = reference.digest() {
            if let Some(why) = digest_problem(d) {
                return Err(why);
            }
        }
        let name = text.split_once('@').map_or(text, |(n, _)| n);
        let last = name.rsplit_once('/').map_or(name, |(_, l)| l);
        Ok(ImageRef {
            reference,
            tag_written: last.contains(':'),
        })
    }

    /// [`ImageRef::parse`] through a small per-thread cache. The reference
    /// grammar is one large regular expression with captures, which runs on
    /// the slowest regex engine; each container's image is read by several
    /// rules, and manifests repeat the same images, so most look-ups hit.
    pub fn parse_cached(text: &str) -> Result<ImageRef, String> {
        /// Entries kept per thread before the cache starts afresh.
        const CAPACITY: usize = 4096;
        thread_local! {
            static CACHE: RefCell<HashMap<Box<str>, Result<ImageRef, String>>> =
                RefCell::new(HashMap::new());
        }
        CACHE.with(|cache| {
            if let Some(hit) = cache.borrow().get(text) {
                return hit.clone();
            }
            let parsed = ImageRef::parse(text);
            let mut cache = cache.borrow_mut();
            if cache.len() >= CAPACITY {
                cache.clear();
            }
            cache.insert(text.into(), parsed.clone());
            parsed
        })
    }

    /// The tag as written; `None` when there is none (the runtime then uses
    /// `latest`, unless a digest is given).
    pub fn tag(&self) -> Option<&str> {
        if self.tag_written {
            self.reference.tag()
        } else {
            None
        }
    }

    /// The tag the runtime resolves: the written one, or `latest` when
    /// neither a tag nor a digest is given.
    pub fn effective_tag(&self) -> Option<&str> {
        self.reference.tag()
    }

    /// The digest (`sha256:…`), when pinned.
    pub fn digest(&self) -> Option<&str> {
        self.reference.digest()
    }

    /// Whether the reference names immutable content: it has a digest (a
    /// tag next to it is ignored by the runtime).
    pub fn pinned(&self) -> bool {
        self.reference.digest().is_some()
    }

    /// The normalised `registry/repository` (registry host in lower case):
    /// `nginx` is `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!(
            "{}/{}",
            self.reference.registry().to_ascii_lowercase(),
            self.reference.repository()
        )
    }
}

/// Why a digest the runtime would reject is invalid, if it is.
fn digest_problem(digest: &str) -> Option<String> {
    let Some((algo, hex)) = digest.split_once(':') else {
        return Some(format!("digest {digest:?} is not written algorithm:hex"));
    };
    let len = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return Some(format!(
                "digest algorithm {algo:?} is not supported (sha256, sha384 or sha512)"
            ))
        }
    };
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Some(format!(
            "{algo} digest {hex:?} must be lower-case hexadecimal"
        ));
    }
    (hex.len() != len).then(|| {
        format!(
            "{algo} digest must have {len} hexadecimal characters, it has {}",
            hex.len()
        )
    })
}

/// A specific reason why `text` is not a valid reference, when one can be
/// named; the parser's own error is used otherwise. oci-spec decides
/// validity, but says only "invalid reference format" for most mistakes
/// (an upper-case repository, a bad tag, a short digest), so this names
/// the part that is wrong.
fn explain(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some("image is empty".into());
    }
    if text.chars().any(char::is_whitespace) {
        return Some("image contains whitespace".into());
    }
    let (name_tag, digest) = match text.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (text, None),
    };
    if let Some(why) = digest.and_then(digest_problem) {
        return Some(why);
    }
    let (name, tag) = match name_tag.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, Some(t)),
        _ => (name_tag, None),
    };
    if let Some(t) = tag {
        let first_ok = t
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let rest_ok = t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !(first_ok && rest_ok && t.len() <= 128) {
            return Some(format!(
                "tag {t:?} is invalid: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'"
            ));
        }
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    if parts.len() > 1 {
        let first = parts[0];
        if first.contains('.') || first.contains(':') || first == "localhost" {
            parts.remove(0);
        }
    }
    for p in parts {
        if p.is_empty() {
            return Some(format!("repository {name:?} has an empty path component"));
        }
        if p.chars().any(|c| c.is_ascii_uppercase()) {
            return Some(format!("repository {name:?} must be lower case"));
        }
        if !p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Some(format!(
                "repository path component {p:?} may hold only lower-case letters, digits and the separators '.', '_', '__' and '-'"
            ));
        }
    }
    None
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
mod tests {
    use super::testutil::DIGEST;
    use super::ImageRef;

    #[test]
    fn short_names_normalise_like_the_runtime() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(r.name(), "docker.io/library/nginx");
        assert_eq!((r.tag(), r.effective_tag()), (None, Some("latest")));
        assert!(!r.pinned());
        let r = ImageRef::parse("index.docker.io/bitnami/redis:7").unwrap();
        assert_eq!(r.name(), "docker.io/bitnami/redis");
        assert_eq!(r.tag(), Some("7"));
    }

    #[test]
    fn port_belongs_to_the_registry_and_digest_may_follow_a_tag() {
        let r = ImageRef::parse("localhost:5000/team/app").unwrap();
        assert_eq!(r.name(), "localhost:5000/team/app");
        assert_eq!(r.tag(), None);
        let r = ImageRef::parse(&format!("Registry.Example.com:443/app:1.2@{DIGEST}")).unwrap();
        assert_eq!(r.name(), "registry.example.com:443/app");
        assert_eq!(r.tag(), Some("1.2"));
        assert!(r.pinned());
        let r = ImageRef::parse(&format!("app@{DIGEST}")).unwrap();
        assert_eq!((r.tag(), r.effective_tag()), (None, None));
    }

    #[test]
    fn malformed_references_say_why() {
        let why = |s: &str| ImageRef::parse(s).unwrap_err();
        assert_eq!(why(""), "image is empty");
        assert!(
            why("Nginx:Latest").contains("lower case"),
            "{}",
            why("Nginx:Latest")
        );
        assert!(why("foo@sha256:short").contains("hexadecimal"));
        assert!(why("foo@sha256:abcd").contains("64 hexadecimal characters"));
        let upper = format!("foo@{}", DIGEST.to_uppercase().replace("SHA256", "sha256"));
        assert!(why(&upper).contains("lower-case"));
        assert!(why("foo@md5:0123456789abcdef0123456789abcdef").contains("not supported"));
        assert!(why("nginx:-bad").contains("tag"));
        assert!(why("nginx:").contains("tag"));
        assert!(why(" nginx").contains("whitespace"));
        assert!(why("a//b").contains("empty path component"));
        assert!(why("a/b$c").contains("path component"));
    }

    #[test]
    fn parsing_never_panics_on_odd_input() {
        for s in [
            ":",
            "@",
            "@@",
            "a@",
            "::",
            "/",
            "a:b:c",
            "é",
            "a/:b",
            "x@sha256:",
        ] {
            let _ = ImageRef::parse(s);
        }
    }
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
