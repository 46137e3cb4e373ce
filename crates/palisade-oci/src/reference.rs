//! Image references as the container runtimes read them, and
//! trusted-registry globs over them. No network: the rule packs use this
//! without the registry client.

use std::cell::RefCell;
use std::collections::HashMap;

use oci_spec::distribution::Reference;

/// An image reference as the container runtime reads it.
#[derive(Debug, Clone)]
pub struct ImageRef {
    reference: Reference,
    tag_written: bool,
}

impl ImageRef {
    /// Parses a reference as written in a container's `image` field; the
    /// error says what is wrong with it.
    ///
    /// The grammar is checked here, by hand, rather than with oci-spec's
    /// `Reference::from_str`: that parser is one regular expression whose
    /// Unicode classes take about 48 MB of memory once compiled (most of the
    /// admission webhook's footprint) and run on the slowest regex engine.
    /// The result is still an oci-spec [`Reference`], built from the parts.
    /// The grammar is the distribution/reference one the runtimes use
    /// (ASCII only, like Go's `\w`).
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        if text.is_empty() {
            return Err("image is empty".into());
        }
        if text.chars().any(char::is_whitespace) {
            return Err("image contains whitespace".into());
        }
        let (name_tag, digest) = match text.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (text, None),
        };
        let (name, tag) = match name_tag.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, Some(t)),
            _ => (name_tag, None),
        };
        if let Some(why) = explain(name, tag, digest) {
            return Err(why);
        }
        let (registry, repository) = split_domain(name)?;
        if repository.len() > 255 {
            return Err(format!(
                "repository name is {} characters long; at most 255 are allowed",
                repository.len()
            ));
        }
        let reference = match (tag, digest) {
            (Some(t), Some(d)) => {
                Reference::with_tag_and_digest(registry, repository, t.into(), d.into())
            }
            (Some(t), None) => Reference::with_tag(registry, repository, t.into()),
            (None, Some(d)) => Reference::with_digest(registry, repository, d.into()),
            (None, None) => Reference::with_tag(registry, repository, "latest".into()),
        };
        Ok(ImageRef {
            reference,
            tag_written: tag.is_some(),
        })
    }

    /// [`ImageRef::parse`] through a small per-thread cache: each
    /// container's image is read by several rules, and manifests repeat the
    /// same images, so most look-ups hit.
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

/// Splits a name into registry and repository as the runtimes do (Go's
/// `splitDockerDomain`): the first component is a registry host when it
/// contains `.` or `:`, is `localhost`, or has an upper-case letter; Docker Hub names are normalised (`nginx` is
/// `docker.io/library/nginx`). The host must be a valid domain name with an
/// optional numeric port.
fn split_domain(name: &str) -> Result<(String, String), String> {
    let (mut domain, remainder) = match name.split_once('/') {
        Some((first, rest)) if is_registry_host(first) => (first.to_string(), rest.to_string()),
        _ => ("docker.io".to_string(), name.to_string()),
    };
    let (host, port) = match domain.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (domain.as_str(), None),
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        });
    if !host_ok {
        return Err(format!("registry host {host:?} is not a valid domain name"));
    }
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("registry port {p:?} must be a number"));
        }
    }
    for component in remainder.split('/') {
        if !valid_path_component(component) {
            return Err(format!(
                "repository path component {component:?} must be lower-case letters and digits joined by '.', '_', '__' or dashes"
            ));
        }
    }
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    let repository = if domain == "docker.io" && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder
    };
    Ok((domain, repository))
}

/// Whether the first component of a name is a registry host rather than a
/// repository path component (Go's `splitDockerDomain`).
fn is_registry_host(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the distribution path-component grammar.
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator: ".", "_", "__" or a run of "-".
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return false;
        }
    }
    true
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

/// A specific reason why a reference, split into name, tag and digest, is
/// not valid, naming the part that is wrong (an upper-case repository, a bad
/// tag, a short digest); the structure of the name is checked by
/// [`split_domain`].
fn explain(name: &str, tag: Option<&str>, digest: Option<&str>) -> Option<String> {
    if let Some(why) = digest.and_then(digest_problem) {
        return Some(why);
    }
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
    if parts.len() > 1 && is_registry_host(parts[0]) {
        parts.remove(0);
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

/// A trusted-registry entry as a glob over `registry/repository`: the host
/// is compared in lower case, `index.docker.io` is `docker.io` (as the
/// runtime normalises it), and an entry without `/` means the whole registry.
pub fn registry_pattern(entry: &str) -> String {
    let entry = entry.trim().to_ascii_lowercase();
    let entry = match entry.strip_prefix("index.docker.io") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("docker.io{rest}"),
        _ => entry,
    };
    if entry.ends_with('/') {
        format!("{entry}**")
    } else if !entry.contains('/') {
        format!("{entry}/**")
    } else {
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    /// A format-valid sha256 digest.
    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    use oci_spec::distribution::Reference;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The hand-written parser accepts what oci-spec's reference regex
        /// accepts and splits it the same way, except for digests with
        /// upper-case hex (the runtimes' digest parser refuses them) and
        /// upper-case first components (the runtimes read a registry host).
        #[test]
        fn agrees_with_the_oci_spec_parser(text in "([a-zA-Z0-9]{1,4}[._:/@-]{0,2}){1,6}(@sha256:[0-9a-fA-F]{64})?") {
            let ours = ImageRef::parse(&text);
            let theirs = text.parse::<Reference>();
            let upper_hex = text.split_once('@').is_some_and(|(_, d)| d.bytes().any(|b| b.is_ascii_uppercase()));
            // Go (and so the runtimes) reads an upper-case first component
            // as a registry host; oci-spec does not.
            let upper_host = text.split_once('/').is_some_and(|(h, _)| {
                h.bytes().any(|b| b.is_ascii_uppercase()) && !h.contains('.') && !h.contains(':')
            });
            if upper_host {
                return Ok(());
            }
            match (&ours, &theirs) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(a.reference.registry(), b.registry());
                    prop_assert_eq!(a.reference.repository(), b.repository());
                    prop_assert_eq!(a.reference.tag(), b.tag());
                    prop_assert_eq!(a.reference.digest(), b.digest());
                }
                (Err(_), Ok(_)) => prop_assert!(upper_hex, "oci-spec accepts {:?}, we refuse: {:?}", text, ours),
                (Ok(_), Err(e)) => prop_assert!(false, "we accept {:?}, oci-spec refuses: {}", text, e),
                (Err(_), Err(_)) => {}
            }
        }
    }

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
