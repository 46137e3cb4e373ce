//! Credentials inside image layers: file contents scanned with the same
//! detector as manifests ([`Detector`]), and files that are credentials by
//! their name (SSH private keys, `.env`, `.aws/credentials`, registry and
//! package-manager tokens, kubeconfigs).
//!
//! Every layer is scanned, not only the final filesystem: a file that a
//! later layer deletes is still in the earlier layer's tar for anyone who
//! pulls the image (`docker save`, `crane export`), so it is reported too,
//! as `secrets/in-image-deleted`. A copy that a later layer rewrites with
//! the same credential is reported once, where it survives.
//!
//! <https://kubernetes.io/docs/concepts/security/secrets-good-practices/>

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use palisade_core::{RuleMeta, Severity};
use palisade_secrets::{Detection, Detector, GENERIC};
use regex::Regex;

use super::config::{match_word, netrc_credentials};
use super::CHECKLIST_URL;
use crate::model::{Entry, EntryKind, FinalFs, ImageFinding, Visitor};

const GOOD_PRACTICES_URL: &str =
    "https://kubernetes.io/docs/concepts/security/secrets-good-practices/";
const BUILD_SECRETS_URL: &str = "https://docs.docker.com/build/building/secrets/";

/// The false-positive locations every rationale of this module names.
macro_rules! skipped {
    () => {
        " Skipped as known false positives: documentation and licences (usr/share/doc, man, info, common-licenses), public CA bundles (usr/share/ca-certificates, etc/ssl/certs, etc/pki/ca-trust, etc/pki/tls/certs), package databases and dpkg file lists, the test suites of language runtimes (usr/lib/python3*/test, Go's src/**/testdata and *_test.go), binary files (a NUL byte in the first 8 KiB, or a binary extension) and files over the scan's content limit (counted in the report notes). The generic detector (values under secret-like keys) is not applied to files an OS package database lists (dpkg file lists, apk's installed database): distribution-shipped code and configuration, where `password = ...` is a parameter, not a secret; nor to source code and its documentation (by extension: .py, .js, .go, .java, .md, ...), where such assignments are expressions and identifiers look random. Vendor formats and private keys are reported everywhere."
    };
}

/// `secrets/in-image`.
pub static IN_IMAGE: RuleMeta = RuleMeta {
    id: "secrets/in-image",
    title: "Credential in a file of the image",
    severity: Severity::High,
    level: None,
    rationale: concat!(
        "A credential in a file of an image layer is readable by everyone who can pull the image, from any registry mirror or cache it was copied to, for as long as the image exists; it cannot be rotated without rebuilding and re-pushing every tag. The text files of every layer are scanned with palisade's credential detector (vendor token formats, private keys, URLs with passwords, values under secret-like keys graded by entropy). High for vendor formats and high-entropy values, medium for low-entropy values under secret-like keys.",
        skipped!()
    ),
    remediation: "Revoke and rotate the credential, then rebuild without it: give build-time credentials to RUN steps as BuildKit secrets (RUN --mount=type=secret,...), and runtime credentials to the container from a Kubernetes Secret mounted as a file. If the value is not a secret, add a pattern to secrets.allow in the policy.",
    references: &[GOOD_PRACTICES_URL, BUILD_SECRETS_URL, CHECKLIST_URL],
};

/// `secrets/in-image-deleted`.
pub static IN_IMAGE_DELETED: RuleMeta = RuleMeta {
    id: "secrets/in-image-deleted",
    title: "Credential in a layer, deleted by a later layer but still in the image",
    severity: Severity::High,
    level: None,
    rationale: "Deleting a file in a later Dockerfile step (RUN rm, a multi-line RUN in another layer) only adds a whiteout: the file stays in the layer that added it, and anyone who pulls the image can read it from that layer's tar (docker save, crane export, dive). The container does not see it, which is why such credentials go unnoticed. Always high: the credential is exposed to every puller.",
    remediation: "Revoke and rotate the credential. Rebuild so that it never reaches a layer: BuildKit secret mounts (RUN --mount=type=secret,...) for build-time credentials, or a multi-stage build that copies only the artifacts into the final stage; squashing layers also drops it but hides the problem.",
    references: &[BUILD_SECRETS_URL, GOOD_PRACTICES_URL, CHECKLIST_URL],
};

/// `secrets/sensitive-file`.
pub static SENSITIVE_FILE: RuleMeta = RuleMeta {
    id: "secrets/sensitive-file",
    title: "Credential file in the image (private key, .env, cloud or registry credentials)",
    severity: Severity::High,
    level: None,
    rationale: concat!(
        "Some files are credentials by what they are, whatever the detector makes of their content: SSH private keys (id_rsa, id_dsa, id_ecdsa, id_ed25519), .pem/.key files holding a PRIVATE KEY block, .env files, .aws/credentials, .docker/config.json with auths, .npmrc with an auth token, .git-credentials, .netrc, .pypirc with a password, and kubeconfigs with user tokens or client keys. They usually arrive through a COPY . of a developer's working tree or home directory. The message says when a later layer deleted the file: it is still in the layer that added it for anyone who pulls the image.",
        skipped!()
    ),
    remediation: "Revoke the credential, rebuild without the file and keep it out of the build context (.dockerignore: .env, .git, **/id_*, .aws, .docker, .kube, .npmrc); use BuildKit secret or SSH mounts (RUN --mount=type=secret / --mount=type=ssh) for build-time access.",
    references: &[BUILD_SECRETS_URL, GOOD_PRACTICES_URL, CHECKLIST_URL],
};

/// Bytes sniffed for a NUL to tell binary files from text (as git does).
const SNIFF: usize = 8000;

/// Sensitive files and detections listed per finding.
const SHOWN: usize = 5;

/// Scans layer files for credentials; see the module documentation.
#[derive(Debug)]
pub struct SecretScanner {
    detector: Arc<Detector>,
    /// (layer, path, detector) → what was found there, in walk order.
    hits: BTreeMap<(usize, String, String), Hit>,
    sensitive: Vec<Sensitive>,
    too_large: u64,
    findings: Vec<ImageFinding>,
    /// Files the OS package databases list (dpkg `info/*.list`, apk
    /// `R:` lines): shipped by the distribution, where a `key = value`
    /// in code or configuration is almost never a credential.
    owned: HashSet<String>,
}

#[derive(Debug, Clone)]
struct Hit {
    order: usize,
    preview: String,
    /// Fingerprints of the matched credentials (see [`fingerprint`]): the
    /// preview shows four characters at most (`ghp_…` for every GitHub
    /// token), too few to tell a rotated credential from the same one.
    values: HashSet<u64>,
    high: bool,
    count: usize,
}

#[derive(Debug, Clone)]
struct Sensitive {
    layer: usize,
    path: String,
    what: &'static str,
    /// `detector preview` of what the detector found in it.
    found: Vec<String>,
}

impl SecretScanner {
    /// A scanner detecting with `detector`.
    pub fn new(detector: Arc<Detector>) -> Self {
        SecretScanner {
            detector,
            hits: BTreeMap::new(),
            sensitive: Vec::new(),
            too_large: 0,
            findings: Vec::new(),
            owned: HashSet::new(),
        }
    }

    /// Records the files a package database lists, when `path` is one.
    fn package_files(&mut self, path: &str, text: &str) -> bool {
        if path.starts_with("var/lib/dpkg/info/") && path.ends_with(".list") {
            for line in text.lines() {
                let file = line.trim().trim_start_matches('/');
                if !file.is_empty() {
                    self.owned.insert(file.to_string());
                }
            }
            return true;
        }
        if path == "lib/apk/db/installed" {
            let mut dir = "";
            for line in text.lines() {
                if let Some(d) = line.strip_prefix("F:") {
                    dir = d;
                } else if let Some(f) = line.strip_prefix("R:") {
                    self.owned.insert(if dir.is_empty() {
                        f.to_string()
                    } else {
                        format!("{dir}/{f}")
                    });
                }
            }
            return true;
        }
        false
    }

    /// The findings, once [`Visitor::finish`] has run.
    pub fn findings(&self) -> Vec<ImageFinding> {
        self.findings.clone()
    }

    /// What could not be scanned.
    pub fn notes(&self) -> Vec<String> {
        if self.too_large == 0 {
            return Vec::new();
        }
        vec![format!(
            "{} file(s) not known to be binary were larger than the content limit (max_file_bytes) and not scanned for credentials",
            self.too_large
        )]
    }
}

impl Visitor for SecretScanner {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        entry.kind == EntryKind::File
            && entry.size > 0
            && (package_list(entry.path) || (!skip_path(entry.path) && !binary_name(entry.path)))
    }

    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        if package_list(entry.path) {
            if let Some(c) = content {
                self.package_files(entry.path, &text_of(c));
            }
            return;
        }
        if entry.kind != EntryKind::File || entry.size == 0 || skip_path(entry.path) {
            return;
        }
        let text = match content {
            Some(c) if !c[..c.len().min(SNIFF)].contains(&0) => Some(text_of(c)),
            Some(_) => None,
            None => {
                if !binary_name(entry.path) {
                    self.too_large += 1;
                }
                None
            }
        };
        let mut found: Vec<Detection> = Vec::new();
        if let Some(t) = &text {
            self.detector.scan(None, t, &mut found);
            if source_code(entry.path) {
                // In code and its documentation, `password = args.password`
                // style assignments are the norm, and identifiers look
                // random: only the vendor formats and private keys count.
                found.retain(|d| d.detector != GENERIC);
            }
            let base = basename(entry.path);
            if base == ".netrc" || base == "_netrc" {
                netrc_credentials(t, &self.detector, &mut found);
            }
        }
        if let Some(what) = sensitive_kind(entry.path, text.as_deref()) {
            let mut listed: Vec<String> = Vec::new();
            for d in &found {
                let s = format!("{} {}", d.detector, d.preview);
                if !listed.contains(&s) {
                    listed.push(s);
                }
            }
            self.sensitive.push(Sensitive {
                layer: entry.layer,
                path: entry.path.to_string(),
                what,
                found: listed,
            });
            return;
        }
        for d in found {
            let value = text
                .as_deref()
                .map_or(0, |t| fingerprint(match_word(t, d.offset)));
            let order = self.hits.len();
            let hit = self
                .hits
                .entry((entry.layer, entry.path.to_string(), d.detector))
                .or_insert(Hit {
                    order,
                    preview: d.preview,
                    values: HashSet::new(),
                    high: false,
                    count: 0,
                });
            hit.values.insert(value);
            hit.count += 1;
            hit.high |= d.high;
        }
    }

    fn finish(&mut self, fs: &FinalFs) {
        let mut findings = self.credential_findings(fs);
        findings.extend(self.sensitive_file_findings(fs));
        self.findings = findings;
    }
}

impl SecretScanner {
    /// Credentials found in files: in the final filesystem, or only in a
    /// layer (deleted or replaced later) when no surviving file holds the
    /// same value; generic values in files an OS package owns are left out.
    fn credential_findings(&self, fs: &FinalFs) -> Vec<ImageFinding> {
        let mut out = Vec::new();
        let owned = &self.owned;
        let mut hits: Vec<(&(usize, String, String), &Hit)> = self
            .hits
            .iter()
            .filter(|((_, path, det), _)| !(det == GENERIC && owned.contains(path)))
            .collect();
        hits.sort_by_key(|(_, h)| h.order);
        let surviving: HashSet<(&str, &str, u64)> = hits
            .iter()
            .filter(|((layer, path, _), _)| fs.survives(*layer, path))
            .flat_map(|((_, path, det), h)| {
                h.values
                    .iter()
                    .map(move |v| (path.as_str(), det.as_str(), *v))
            })
            .collect();
        for ((layer, path, det), h) in hits {
            let alive = fs.survives(*layer, path);
            if !alive
                && h.values
                    .iter()
                    .all(|v| surviving.contains(&(path.as_str(), det.as_str(), *v)))
            {
                continue;
            }
            let times = if h.count > 1 {
                format!(", {} matches", h.count)
            } else {
                String::new()
            };
            let (meta, severity, message) = if alive {
                (
                    &IN_IMAGE,
                    if h.high {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    format!(
                        "layer {layer}: {path} holds a credential ({det}, {}{times})",
                        h.preview
                    ),
                )
            } else {
                (
                    &IN_IMAGE_DELETED,
                    Severity::High,
                    format!(
                        "layer {layer}: {path} holds a credential ({det}, {}{times}); a later layer deleted or replaced the file, but it is still in layer {layer} for anyone who pulls the image",
                        h.preview
                    ),
                )
            };
            out.push(ImageFinding {
                rule: meta.id,
                severity,
                message,
                layer: Some(*layer),
                path: path.clone(),
                remediation: meta.remediation,
            });
        }
        out
    }

    /// Sensitive files (keys, credential stores), each layer's copy once;
    /// a deleted copy only when no surviving file has the same path.
    fn sensitive_file_findings(&self, fs: &FinalFs) -> Vec<ImageFinding> {
        let mut out = Vec::new();
        let surviving: HashSet<&str> = self
            .sensitive
            .iter()
            .filter(|s| fs.survives(s.layer, &s.path))
            .map(|s| s.path.as_str())
            .collect();
        let mut seen: HashSet<(usize, &str)> = HashSet::new();
        for s in &self.sensitive {
            if !seen.insert((s.layer, &s.path)) {
                continue;
            }
            let alive = fs.survives(s.layer, &s.path);
            if !alive && surviving.contains(s.path.as_str()) {
                continue;
            }
            let mut message = format!("layer {}: {} is {}", s.layer, s.path, s.what);
            if !s.found.is_empty() {
                message.push_str(&format!(
                    " (contains {})",
                    super::capped_list(&s.found, SHOWN)
                ));
            }
            if !alive {
                message.push_str(&format!(
                    "; a later layer deleted or replaced it, but it is still in layer {} for anyone who pulls the image",
                    s.layer
                ));
            }
            out.push(ImageFinding {
                rule: SENSITIVE_FILE.id,
                severity: SENSITIVE_FILE.severity,
                message,
                layer: Some(s.layer),
                path: s.path.clone(),
                remediation: SENSITIVE_FILE.remediation,
            });
        }
        out
    }
}

/// A hash of a credential, so that the scanner never keeps (or prints in
/// its `Debug` form) more of a credential than its preview.
fn fingerprint(value: &str) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What a file is when its name (and for some, its content) makes it a
/// credential file; `text` is `None` for binary or unread files.
fn sensitive_kind(path: &str, text: Option<&str>) -> Option<&'static str> {
    let base = basename(path);
    let has = |needle: &str| text.is_some_and(|t| t.contains(needle));
    match base {
        "id_rsa" | "id_dsa" | "id_ecdsa" | "id_ed25519" | "id_ecdsa_sk" | "id_ed25519_sk" => {
            return Some("an SSH private key");
        }
        ".git-credentials" => return Some("a git credential store"),
        ".netrc" | "_netrc" if has("password") => return Some("a .netrc with passwords"),
        ".pypirc" if has("password") => return Some("a .pypirc with a PyPI password"),
        ".npmrc" if has("_authToken") || has("_auth=") || has("_password") => {
            return Some("an .npmrc with a registry token")
        }
        ".env" => return Some("a .env file"),
        _ => {}
    }
    if let Some(suffix) = base.strip_prefix(".env.") {
        if !matches!(
            suffix,
            "example" | "sample" | "template" | "dist" | "defaults"
        ) {
            return Some("a .env file");
        }
    }
    if path == ".aws/credentials" || path.ends_with("/.aws/credentials") {
        return Some("an AWS credentials file");
    }
    if (path.ends_with(".docker/config.json") || base == ".dockercfg")
        && text.is_some_and(docker_auths)
    {
        return Some("a Docker config with registry credentials");
    }
    let ext = base.rsplit_once('.').map(|(_, e)| e);
    if matches!(ext, Some("pem" | "key")) && has("PRIVATE KEY-----") {
        return Some("a private key");
    }
    let kube_path = path == ".kube/config" || path.ends_with("/.kube/config");
    if kube_path || matches!(ext, Some("yaml" | "yml")) || base.contains("kubeconfig") {
        match text {
            Some(t) if kubeconfig_credentials(t) => {
                return Some("a kubeconfig with user credentials")
            }
            None if kube_path => return Some("a kubeconfig"),
            _ => {}
        }
    }
    None
}

/// A Docker `config.json` whose `auths` hold a credential for some registry.
fn docker_auths(text: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return text.contains("\"auths\"") && text.contains("\"auth\"");
    };
    let auths = v.get("auths").or(if v.get("auth").is_some() {
        Some(&v)
    } else {
        None
    });
    auths.and_then(|a| a.as_object()).is_some_and(|m| {
        m.values().any(|e| {
            ["auth", "identitytoken", "password", "registrytoken"]
                .iter()
                .any(|k| {
                    e.get(k)
                        .and_then(|x| x.as_str())
                        .is_some_and(|s| !s.is_empty())
                })
        })
    })
}

/// A kubeconfig (`kind: Config`, `users:`) with a token, password or
/// client key among its users.
fn kubeconfig_credentials(text: &str) -> bool {
    static RES: OnceLock<Option<[Regex; 3]>> = OnceLock::new();
    let Some([kind, users, cred]) = RES
        .get_or_init(|| {
            Some([
                Regex::new(r#"(?m)^kind:\s*["']?Config["']?\s*$"#).ok()?,
                Regex::new(r"(?m)^users:").ok()?,
                Regex::new(r"(?m)^\s+(?:token|client-key-data|client-key|password):\s*\S").ok()?,
            ])
        })
        .as_ref()
    else {
        return false;
    };
    kind.is_match(text) && users.is_match(text) && cred.is_match(text)
}

/// The file lists of the OS package databases (read for [`SecretScanner::owned`]).
fn package_list(path: &str) -> bool {
    (path.starts_with("var/lib/dpkg/info/") && path.ends_with(".list"))
        || path == "lib/apk/db/installed"
}

/// Source code and its documentation, by extension.
fn source_code(path: &str) -> bool {
    const EXT: &[&str] = &[
        "py", "js", "mjs", "cjs", "ts", "go", "rb", "java", "kt", "scala", "c", "h", "cc", "cpp",
        "hpp", "rs", "php", "pl", "pm", "lua", "cs", "swift", "groovy", "tcl", "pyi", "md", "rst",
        "html", "htm",
    ];
    basename(path)
        .rsplit_once('.')
        .is_some_and(|(_, ext)| EXT.contains(&ext))
}

/// Paths whose credential-looking content is known noise (named in the rationales).
fn skip_path(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "usr/share/doc/",
        "usr/share/man/",
        "usr/share/info/",
        "usr/share/locale/",
        "usr/share/i18n/",
        "usr/share/zoneinfo/",
        "usr/share/common-licenses/",
        "usr/share/ca-certificates/",
        "usr/share/pki/",
        "usr/local/share/ca-certificates/",
        "etc/ssl/certs/",
        "etc/pki/ca-trust/",
        "etc/pki/tls/certs/",
        "var/lib/dpkg/info/",
        "var/lib/apt/lists/",
        "var/cache/",
    ];
    const FILES: &[&str] = &[
        "var/lib/dpkg/status",
        "var/lib/dpkg/status-old",
        "lib/apk/db/installed",
        "etc/ssl/cert.pem",
        "etc/ssl/certs.pem",
    ];
    if PREFIXES.iter().any(|p| path.starts_with(p)) || FILES.contains(&path) {
        return true;
    }
    // Python's own test suite (usr/lib/python3.11/test, also under usr/local
    // in the official python images) ships keys and passwords as fixtures.
    for root in ["usr/lib/", "usr/local/lib/", "lib/"] {
        if let Some(rest) = path.strip_prefix(root) {
            let mut parts = rest.splitn(3, '/');
            if parts.next().is_some_and(|p| p.starts_with("python")) && parts.next() == Some("test")
            {
                return true;
            }
        }
    }
    // Go's standard library: crypto tests embed PEM keys in testdata and *_test.go.
    let go_src = ["usr/lib/go/src/", "usr/local/go/src/"]
        .iter()
        .any(|p| path.starts_with(p))
        || (path.starts_with("usr/lib/go-") && path.contains("/src/"));
    go_src && (path.contains("/testdata/") || path.ends_with("_test.go"))
}

/// File names that are never text (archives, images, compiled objects):
/// not worth reading.
fn binary_name(path: &str) -> bool {
    let base = basename(path);
    if base.contains(".so.") {
        return true;
    }
    let Some((_, ext)) = base.rsplit_once('.') else {
        return false;
    };
    matches!(
        ext.to_ascii_lowercase().as_str(),
        "so" | "a"
            | "o"
            | "png"
            | "jpg"
            | "jpeg"
            | "gif"
            | "ico"
            | "webp"
            | "gz"
            | "tgz"
            | "xz"
            | "bz2"
            | "zst"
            | "zip"
            | "jar"
            | "war"
            | "whl"
            | "pyc"
            | "pyo"
            | "mo"
            | "ttf"
            | "otf"
            | "woff"
            | "woff2"
            | "class"
            | "wasm"
            | "sqlite"
            | "db"
    )
}

/// A file's content as text: borrowed when it is valid UTF-8 (checked a
/// word at a time, several times faster than the lossy decoder's walk),
/// with replacement characters otherwise.
fn text_of(content: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(content) {
        Ok(t) => Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(content),
    }
}

#[cfg(test)]
mod tests;
