//! The image config: the user the container starts as, credentials in its
//! environment and build history, privileged ports. Also [`Passwd`], the
//! visitor that keeps the final `etc/passwd` so that a `USER` name can be
//! resolved to its uid.
//!
//! Config reference: <https://github.com/opencontainers/image-spec/blob/main/config.md#properties>

use std::collections::HashSet;
use std::sync::OnceLock;

use palisade_core::{RuleMeta, Severity};
use palisade_secrets::{entropy, preview, Detection, Detector};
use regex::Regex;

use super::{Kept, CHECKLIST_URL};
use crate::model::{Entry, EntryKind, FinalFs, ImageConfig, ImageFinding, Visitor};

/// The OCI image config's `User` field.
const OCI_CONFIG_URL: &str =
    "https://github.com/opencontainers/image-spec/blob/main/config.md#properties";

/// `image/runs-as-root`.
pub static RUNS_AS_ROOT: RuleMeta = RuleMeta {
    id: "image/runs-as-root",
    title: "Image runs as root by default",
    severity: Severity::High,
    level: None,
    rationale: "The image config's User is empty, root, uid 0 or a name that etc/passwd in the image maps to uid 0, so every container started from it runs as root unless the pod sets runAsUser. Root in the container is root on the node's kernel: a container escape, a writable hostPath or a kernel bug turns into node compromise, and the Restricted Pod Security Standard rejects pods that run as root. A numeric non-zero uid or a name that maps to one passes.",
    remediation: "Create an unprivileged user in the Dockerfile and switch to it by numeric uid (RUN useradd -u 10001 app, then USER 10001:10001), so that runAsNonRoot can verify it without reading etc/passwd; make the files the process writes owned by that user.",
    references: &[
        CHECKLIST_URL,
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        OCI_CONFIG_URL,
    ],
};

/// `image/config-secret`.
pub static CONFIG_SECRET: RuleMeta = RuleMeta {
    id: "image/config-secret",
    title: "Credential in the image config (environment or build history)",
    severity: Severity::High,
    level: None,
    rationale: "The image config is readable by anyone who can pull the image (docker inspect, crane config), and so is its build history: an ENV value, a build argument (ARG TOKEN=..., recorded by BuildKit as RUN |1 TOKEN=... in history[].created_by) or a command that writes a credential into ~/.netrc stays in the image for every pull, whatever later layers do. High for vendor formats and high-entropy values, medium for low-entropy values under secret-like names. Messages show a redacted preview only.",
    remediation: "Revoke and rotate the credential. Pass build-time credentials as BuildKit secrets (RUN --mount=type=secret,id=token ...), never as ARG or ENV; give runtime credentials to the container from a Kubernetes Secret, not from the image.",
    references: &[
        CHECKLIST_URL,
        "https://docs.docker.com/build/building/secrets/",
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    ],
};

/// `image/privileged-port`.
pub static PRIVILEGED_PORT: RuleMeta = RuleMeta {
    id: "image/privileged-port",
    title: "Image exposes a privileged port (below 1024)",
    severity: Severity::Low,
    level: None,
    rationale: "Binding a port below 1024 needs root or CAP_NET_BIND_SERVICE in the container (unless the node lowers net.ipv4.ip_unprivileged_port_start), which pushes the image towards running as root or keeping a capability the Restricted standard drops. A Service can map any port to a high container port, so the image does not need one.",
    remediation: "Listen on a port at or above 1024 (8080 instead of 80, 8443 instead of 443) and expose that; map it to the well-known port in the Service (port: 80, targetPort: 8080).",
    references: &[
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        "https://kubernetes.io/docs/concepts/services-networking/service/#defining-a-service",
    ],
};

/// The final `etc/passwd` of the image: resolves a `USER` name to its uid.
#[derive(Debug, Clone, Default)]
pub struct Passwd {
    kept: Option<Kept>,
    users: Vec<(String, u64)>,
}

/// Where the passwd file lives.
const PASSWD: &str = "etc/passwd";

impl Passwd {
    /// A passwd database read from `text` (for tests and other sources).
    pub fn from_text(text: &str) -> Passwd {
        Passwd {
            kept: None,
            users: parse_passwd(text),
        }
    }

    /// The uid of user `name`, if the final `etc/passwd` lists it.
    pub fn uid_of(&self, name: &str) -> Option<u64> {
        self.users.iter().find(|(n, _)| n == name).map(|(_, u)| *u)
    }
}

impl Visitor for Passwd {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        entry.path == PASSWD
    }

    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        if entry.path == PASSWD {
            self.kept = Some(Kept::record(entry, content));
        }
    }

    fn finish(&mut self, fs: &FinalFs) {
        self.users.clear();
        let Some(kept) = &self.kept else { return };
        if !kept.survives(fs, PASSWD) || fs.get(PASSWD).map(|n| &n.kind) != Some(&EntryKind::File) {
            return;
        }
        if let Some(c) = &kept.content {
            self.users = parse_passwd(&String::from_utf8_lossy(c));
        }
    }
}

/// `name:x:uid:gid:gecos:home:shell` lines; malformed lines are skipped.
fn parse_passwd(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?.trim();
            let uid = f.nth(1)?.trim().parse().ok()?;
            (!name.is_empty()).then(|| (name.to_string(), uid))
        })
        .collect()
}

/// [`check_config_with`] without a passwd database: a `USER` name other
/// than `root` passes.
pub fn check_config(config: &ImageConfig, detector: &Detector) -> Vec<ImageFinding> {
    check_config_with(config, detector, None)
}

/// The config rules: `image/runs-as-root` (names resolved with `passwd`
/// when given), `image/config-secret` in `Env` and `history[].created_by`,
/// `image/privileged-port` in `ExposedPorts`.
pub fn check_config_with(
    config: &ImageConfig,
    detector: &Detector,
    passwd: Option<&Passwd>,
) -> Vec<ImageFinding> {
    let mut out = Vec::new();
    runs_as_root(config, passwd, &mut out);
    config_secrets(config, detector, &mut out);
    privileged_ports(config, &mut out);
    out
}

fn runs_as_root(config: &ImageConfig, passwd: Option<&Passwd>, out: &mut Vec<ImageFinding>) {
    let user = config.user.trim();
    let name = user.split(':').next().unwrap_or_default();
    let why = if name.is_empty() {
        "the image config sets no User, so containers run as root (uid 0)".to_string()
    } else if name == "root" {
        format!("the image config sets User {user:?}: containers run as root (uid 0)")
    } else if let Ok(uid) = name.parse::<u64>() {
        if uid != 0 {
            return;
        }
        format!("the image config sets User {user:?}: containers run as root (uid 0)")
    } else {
        match passwd.and_then(|p| p.uid_of(name)) {
            Some(0) => format!(
                "the image config sets User {user:?}, which etc/passwd in the image maps to uid 0: containers run as root"
            ),
            _ => return,
        }
    };
    out.push(ImageFinding {
        rule: RUNS_AS_ROOT.id,
        severity: RUNS_AS_ROOT.severity,
        message: why,
        layer: None,
        path: "config.User".into(),
        remediation: RUNS_AS_ROOT.remediation,
    });
}

fn config_secrets(config: &ImageConfig, detector: &Detector, out: &mut Vec<ImageFinding>) {
    // An ENV instruction shows up twice: as its `Env` entry and in the
    // history line that set it. Report it once, at `Env`. Credentials are
    // told apart by their text ([`match_word`]), not by their preview,
    // which is `ghp_…` for every GitHub token.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut env_values: Vec<(String, String)> = Vec::new();
    for env in &config.env {
        let (key, value) = env.split_once('=').unwrap_or((env.as_str(), ""));
        let mut found = Vec::new();
        detector.scan(Some(key), value, &mut found);
        for d in found {
            let word = match_word(value, d.offset).to_string();
            if !seen.insert((d.detector.clone(), word.clone())) {
                continue;
            }
            env_values.push((d.detector.clone(), word));
            out.push(secret_finding(
                &d,
                format!("environment variable {key}"),
                "config.Env".into(),
            ));
        }
    }
    for (i, (line, _)) in config.history.iter().enumerate() {
        let mut found = Vec::new();
        detector.scan(None, line, &mut found);
        netrc_credentials(line, detector, &mut found);
        for d in found {
            let from_env = env_values
                .iter()
                .any(|(det, v)| *det == d.detector && !v.is_empty() && line.contains(v.as_str()));
            let word = match_word(line, d.offset).to_string();
            if from_env || !seen.insert((d.detector.clone(), word)) {
                continue;
            }
            out.push(secret_finding(
                &d,
                format!("build step {i} ({})", instruction(line)),
                format!("history[{i}].created_by"),
            ));
        }
    }
}

/// The text from `offset` to the next whitespace: the credential a
/// detection starts at (with its `key=` for a generic match).
pub(crate) fn match_word(text: &str, offset: usize) -> &str {
    let rest = text.get(offset..).unwrap_or_default();
    rest.split(char::is_whitespace).next().unwrap_or_default()
}

/// `machine host login user password secret` (the `.netrc` format, written
/// by `RUN echo ... > ~/.netrc`): the detector's generic patterns need `=`
/// or `:` after the key, which this format has not.
pub(crate) fn netrc_credentials(text: &str, detector: &Detector, out: &mut Vec<Detection>) {
    static NETRC: OnceLock<Option<Regex>> = OnceLock::new();
    let Some(re) = NETRC
        .get_or_init(|| {
            Regex::new(r#"(?:^|\s|["'])(?:machine|default)\s+(?:\S+\s+)*?password\s+(?P<secret>[^\s"'\\]+)"#)
                .ok()
        })
        .as_ref()
    else {
        return;
    };
    for caps in re.captures_iter(text) {
        let Some(m) = caps.name("secret") else {
            continue;
        };
        let value = m.as_str();
        if value.starts_with('$') || out.iter().any(|d| d.offset == m.start()) {
            continue;
        }
        let mut probe = Vec::new();
        // Placeholders and allow-listed values are judged by the detector.
        detector.scan(Some("password"), value, &mut probe);
        let Some(p) = probe.into_iter().next() else {
            continue;
        };
        out.push(Detection {
            detector: "netrc-password".into(),
            preview: preview(value),
            high: p.high || entropy(value) >= detector.policy().entropy_threshold,
            offset: m.start(),
        });
    }
}

/// The Dockerfile instruction of a history line, shortened: `ARG`, `ENV`,
/// `RUN`, ... (BuildKit writes `RUN |2 A=b C=d /bin/sh -c ...` for a RUN
/// with build arguments, the classic builder `/bin/sh -c #(nop)  ENV ...`).
fn instruction(line: &str) -> &'static str {
    let l = line.trim_start();
    let l = l
        .strip_prefix("/bin/sh -c ")
        .map(|r| {
            r.trim_start()
                .strip_prefix("#(nop)")
                .unwrap_or(r)
                .trim_start()
        })
        .unwrap_or(l);
    for ins in [
        "ARG",
        "ENV",
        "RUN",
        "COPY",
        "ADD",
        "LABEL",
        "CMD",
        "ENTRYPOINT",
    ] {
        if l.starts_with(ins) && l[ins.len()..].starts_with([' ', '\t']) {
            return ins;
        }
    }
    if line.trim_start().starts_with("/bin/sh -c") || line.trim_start().starts_with('|') {
        return "RUN";
    }
    "build step"
}

fn secret_finding(d: &Detection, what: String, path: String) -> ImageFinding {
    let severity = if d.high {
        Severity::High
    } else {
        Severity::Medium
    };
    ImageFinding {
        rule: CONFIG_SECRET.id,
        severity,
        message: format!(
            "{what} holds a credential ({}, {}), readable by anyone who can pull the image",
            d.detector, d.preview
        ),
        layer: None,
        path,
        remediation: CONFIG_SECRET.remediation,
    }
}

fn privileged_ports(config: &ImageConfig, out: &mut Vec<ImageFinding>) {
    for key in &config.exposed_ports {
        let port = key.split('/').next().unwrap_or_default();
        let Ok(n) = port.trim().parse::<u32>() else {
            continue;
        };
        if n == 0 || n >= 1024 {
            continue;
        }
        out.push(ImageFinding {
            rule: PRIVILEGED_PORT.id,
            severity: PRIVILEGED_PORT.severity,
            message: format!(
                "the image exposes port {key}, below 1024: binding it needs root or CAP_NET_BIND_SERVICE"
            ),
            layer: None,
            path: "config.ExposedPorts".into(),
            remediation: PRIVILEGED_PORT.remediation,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testutil::{drive, file};
    use palisade_core::policy::SecretsPolicy;

    fn det() -> Detector {
        Detector::new(&SecretsPolicy::default())
    }

    fn user(u: &str) -> ImageConfig {
        ImageConfig {
            user: u.into(),
            ..ImageConfig::default()
        }
    }

    fn rules(f: &[ImageFinding]) -> Vec<&'static str> {
        f.iter().map(|f| f.rule).collect()
    }

    fn assert_never_shows(f: &[ImageFinding], secret: &str) {
        for x in f {
            assert!(!x.message.contains(secret), "leaked: {}", x.message);
            assert!(!x.path.contains(secret), "leaked: {}", x.path);
        }
    }

    #[test]
    fn root_users_fail_and_non_root_pass() {
        for u in ["", "root", "0", "0:0", "root:root", "root:1000", " 0 "] {
            let f = check_config(&user(u), &det());
            assert_eq!(rules(&f), ["image/runs-as-root"], "{u:?}");
            assert_eq!(f[0].severity, Severity::High);
            assert_eq!(f[0].path, "config.User");
        }
        for u in [
            "1000",
            "1000:1000",
            "65532:65532",
            "app",
            "nobody:nogroup",
            "10001:0",
        ] {
            assert!(check_config(&user(u), &det()).is_empty(), "{u:?}");
        }
    }

    #[test]
    fn user_name_mapped_to_uid_zero_by_passwd_fails() {
        let mut p = Passwd::default();
        drive(
            &mut p,
            &[file(
                0,
                "etc/passwd",
                "root:x:0:0:root:/root:/bin/bash\ntoor:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
            )],
            &[],
        );
        assert_eq!(p.uid_of("app"), Some(1000));
        let f = check_config_with(&user("toor"), &det(), Some(&p));
        assert_eq!(rules(&f), ["image/runs-as-root"]);
        assert!(f[0].message.contains("uid 0"));
        assert!(check_config_with(&user("app:app"), &det(), Some(&p)).is_empty());
        assert!(check_config_with(&user("ghost"), &det(), Some(&p)).is_empty());
    }

    #[test]
    fn passwd_overwritten_in_a_later_layer_uses_the_final_one() {
        let mut p = Passwd::default();
        drive(
            &mut p,
            &[
                file(0, "etc/passwd", "app:x:0:0::/:/bin/sh\n"),
                file(1, "etc/passwd", "app:x:1000:1000::/:/bin/sh\n"),
            ],
            &[],
        );
        assert_eq!(p.uid_of("app"), Some(1000));
    }

    #[test]
    fn env_secret_is_reported_redacted() {
        let secret = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
        let c = ImageConfig {
            user: "1000".into(),
            env: vec![
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin".into(),
                format!("GITHUB_TOKEN={secret}"),
                "DB_PASSWORD=hunter2!".into(),
            ],
            history: vec![(format!("ENV GITHUB_TOKEN={secret}"), true)],
            ..ImageConfig::default()
        };
        let f = check_config(&c, &det());
        assert_eq!(
            rules(&f),
            ["image/config-secret", "image/config-secret"],
            "{f:?}"
        );
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].message.contains("GITHUB_TOKEN"));
        assert!(f[0].message.contains("github-token"));
        assert!(f[0].message.contains("ghp_…"));
        assert_eq!(f[0].path, "config.Env");
        // A weak password is graded medium.
        assert_eq!(f[1].severity, Severity::Medium);
        assert_never_shows(&f, secret);
        assert_never_shows(&f, "hunter2");
    }

    #[test]
    fn build_arg_secret_in_history_is_reported() {
        let token = "ghp_zY9xW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8";
        let c = ImageConfig {
            user: "1000".into(),
            history: vec![
                ("/bin/sh -c #(nop) ADD file:0123abcd in / ".into(), false),
                (format!("ARG NPM_TOKEN={token}"), true),
                (
                    format!("RUN |1 NPM_TOKEN={token} /bin/sh -c npm ci"),
                    false,
                ),
                (
                    "RUN /bin/sh -c echo \"machine github.com login ci password Qw7rT2yU9iO4pZx\" > ~/.netrc # buildkit".into(),
                    false,
                ),
                ("RUN /bin/sh -c echo machine x login y password $TOKEN > ~/.netrc".into(), false),
            ],
            ..ImageConfig::default()
        };
        let f = check_config(&c, &det());
        assert_eq!(
            rules(&f),
            ["image/config-secret", "image/config-secret"],
            "{f:?}"
        );
        assert_eq!(f[0].path, "history[1].created_by");
        assert!(f[0].message.contains("ARG"), "{}", f[0].message);
        assert_eq!(f[1].path, "history[3].created_by");
        assert!(f[1].message.contains("netrc-password"), "{}", f[1].message);
        assert_never_shows(&f, token);
        assert_never_shows(&f, "Qw7rT2yU9iO4pZx");
    }

    #[test]
    fn privileged_ports_are_low() {
        let c = ImageConfig {
            user: "1000".into(),
            exposed_ports: vec![
                "80/tcp".into(),
                "8080/tcp".into(),
                "53/udp".into(),
                "1024".into(),
            ],
            ..ImageConfig::default()
        };
        let f = check_config(&c, &det());
        assert_eq!(
            rules(&f),
            ["image/privileged-port", "image/privileged-port"]
        );
        assert!(f.iter().all(|x| x.severity == Severity::Low));
        assert!(f[0].message.contains("80/tcp"));
        assert!(f[1].message.contains("53/udp"));
    }

    #[test]
    fn clean_config_has_no_findings() {
        let c = ImageConfig {
            user: "65532:65532".into(),
            env: vec![
                "PATH=/usr/bin".into(),
                "PASSWORD_FILE=/run/secrets/db".into(),
            ],
            exposed_ports: vec!["8443/tcp".into()],
            history: vec![("RUN /bin/sh -c apt-get update # buildkit".into(), false)],
            ..ImageConfig::default()
        };
        assert!(check_config(&c, &det()).is_empty());
    }
}
