//! `secrets/hardcoded-credential` and `secrets/weak-credential`: credentials
//! written into manifests, in any string field of any object.
//! <https://kubernetes.io/docs/concepts/security/secrets-good-practices/>
//!
//! One walk visits every string of the object with the key it is stored
//! under as a hint: env `value` under its `name`, map values under their
//! key, a command-line argument under the `--flag` before it, ConfigMap
//! `binaryData` after base64 decoding. The `data`/`stringData` of a
//! `kind: Secret` are left to `secrets/plaintext-secret-manifest`, and
//! `encryptedData` (Sealed Secrets) and `metadata.managedFields` are skipped.
//!
//! The engine grades findings by rule, so the two severities are two
//! rules: specific detectors and high-entropy generic values are
//! `hardcoded-credential` (high), low-entropy generic values are
//! `weak-credential` (medium). The engine runs them one after the other on
//! the same object and thread, so the first walk keeps the weak findings
//! for the second (see [`Stash`]); a `weak-credential` check that finds no
//! stash for its object walks the object itself. The detector is compiled
//! once per policy (see [`detect::detector_for`]).

use std::cell::RefCell;

use palisade_core::node::{Entry, Pos, Seg};
use palisade_core::{Context, Node, Rule, RuleMeta, Severity, Target, Value, Violation};

use super::detect::{self, Detection, Detector, GENERIC};
use super::GOOD_PRACTICES_URL;

const RATIONALE: &str = "A credential written into a manifest is readable by everyone who can read the repository, its history, CI logs and rendered charts, and by anyone allowed to get the object in the cluster (ConfigMaps, annotations and pod specs are not protected like Secrets). It cannot be rotated without a commit, and removing it later does not remove it from history.";

const REMEDIATION: &str = "Revoke and rotate the credential, then store it outside the manifest: in a Secret created from an external store (External Secrets Operator, Secrets Store CSI driver, Vault) and mounted as a file. If the value is not a secret, add a pattern to secrets.allow in the policy.";

/// Catalog entry of the high-severity rule.
pub static META: RuleMeta = RuleMeta {
    id: "secrets/hardcoded-credential",
    title: "Credential hardcoded in a manifest",
    severity: Severity::High,
    level: None,
    rationale: RATIONALE,
    remediation: REMEDIATION,
    references: &[
        GOOD_PRACTICES_URL,
        "https://kubernetes.io/docs/concepts/configuration/secret/",
    ],
};

/// Catalog entry of the medium-severity rule (low-entropy generic values).
pub static WEAK_META: RuleMeta = RuleMeta {
    id: "secrets/weak-credential",
    title: "Low-entropy credential hardcoded in a manifest",
    severity: Severity::Medium,
    level: None,
    rationale: "A value under a password, token or key name that has low entropy is still a credential written into the manifest, with the same exposure as any other; its low entropy also makes it guessable. It is reported apart from high-entropy credentials because some such values are test fixtures.",
    remediation: REMEDIATION,
    references: &[
        GOOD_PRACTICES_URL,
        "https://kubernetes.io/docs/concepts/configuration/secret/",
    ],
};

/// The rule, in its high (`hardcoded-credential`) or weak (`weak-credential`) form.
pub struct HardcodedCredential {
    weak: bool,
}

impl HardcodedCredential {
    /// `secrets/hardcoded-credential`: specific detectors and high-entropy values.
    pub const fn strong() -> Self {
        HardcodedCredential { weak: false }
    }

    /// `secrets/weak-credential`: low-entropy generic values.
    pub const fn weak() -> Self {
        HardcodedCredential { weak: true }
    }
}

impl Rule for HardcodedCredential {
    fn meta(&self) -> &RuleMeta {
        if self.weak {
            &WEAK_META
        } else {
            &META
        }
    }

    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>) {
        let key = Stash::key(target, ctx);
        if self.weak {
            if let Some(weak) = Stash::take(key) {
                out.extend(weak);
                return;
            }
            walk(target, ctx, None, Some(out));
        } else {
            let mut weak = Vec::new();
            walk(target, ctx, Some(out), Some(&mut weak));
            Stash::put(key, weak);
        }
    }
}

/// Walks the object, sending high findings to `high` and weak ones to `weak`.
fn walk(
    target: &Target<'_>,
    ctx: &Context,
    high: Option<&mut Vec<Violation>>,
    weak: Option<&mut Vec<Violation>>,
) {
    let det = detect::detector_for(&ctx.policy.secrets);
    let obj = target.object;
    let mut w = Walker {
        det: &det,
        secret_kind: obj.id.kind == "Secret" && obj.id.api_version == "v1",
        path: Vec::new(),
        container: None,
        buf: Vec::new(),
        high,
        weak,
    };
    w.node(&obj.root, None);
}

/// The weak findings of the object last walked by `hardcoded-credential` on
/// this thread, for `weak-credential` to take. The key identifies the
/// object (its address, file name allocation, position and the policy);
/// the stash is taken at most once and replaced by the next walk, so a
/// `weak-credential` check on any other object walks for itself.
struct Stash;

/// Identity of one check: object address, file name address, policy address, position.
type StashKey = (usize, usize, usize, Pos);

thread_local! {
    static STASH: RefCell<Option<(StashKey, Vec<Violation>)>> = const { RefCell::new(None) };
}

impl Stash {
    fn key(target: &Target<'_>, ctx: &Context) -> StashKey {
        let obj = target.object;
        (
            std::ptr::from_ref(obj) as usize,
            obj.file.as_ptr() as usize,
            std::sync::Arc::as_ptr(&ctx.policy) as usize,
            obj.root.pos,
        )
    }

    fn put(key: StashKey, weak: Vec<Violation>) {
        STASH.with(|s| *s.borrow_mut() = Some((key, weak)));
    }

    fn take(key: StashKey) -> Option<Vec<Violation>> {
        STASH.with(|s| {
            let mut s = s.borrow_mut();
            match s.take() {
                Some((k, v)) if k == key => Some(v),
                _ => None,
            }
        })
    }
}

/// A path segment borrowed from the object while walking.
#[derive(Clone, Copy)]
enum P<'o> {
    K(&'o str),
    I(usize),
}

/// How a field is named in a message.
#[derive(Clone, Copy)]
enum Label<'o> {
    /// A mapping value under its key.
    Key(&'o str),
    /// The `value` of a `{name, value}` item of `list` (env, parameters).
    Named { list: &'o str, name: &'o str },
    /// An item of a string list (`args[2]`).
    Item { key: &'o str, index: usize },
    /// A `binaryData` entry, decoded.
    Decoded(&'o str),
}

impl Label<'_> {
    fn describe(self) -> String {
        match self {
            Label::Key(k) => format!("field {k:?}"),
            Label::Named { list: "env", name } => format!("env var {name}"),
            Label::Named { name, .. } => format!("{name:?} value"),
            Label::Item { key, index } => format!("{key}[{index}]"),
            Label::Decoded(k) => format!("binaryData {k:?} (base64-decoded)"),
        }
    }
}

struct Walker<'a, 'o> {
    det: &'a Detector,
    secret_kind: bool,
    path: Vec<P<'o>>,
    container: Option<&'o str>,
    buf: Vec<Detection>,
    high: Option<&'a mut Vec<Violation>>,
    weak: Option<&'a mut Vec<Violation>>,
}

impl<'o> Walker<'_, 'o> {
    fn node(&mut self, n: &'o Node, key: Option<&'o str>) {
        match &n.value {
            Value::Str(s) => {
                let label = Label::Key(key.unwrap_or(""));
                self.string(s, key, label);
            }
            Value::Seq(items) => self.seq(items, key),
            Value::Map(entries) => self.map(entries),
            _ => {}
        }
    }

    /// The key of the list holding the current mapping (`env` for an env item).
    fn list_key(&self) -> Option<&'o str> {
        match self.path.as_slice() {
            [.., P::K(k), P::I(_)] => Some(k),
            _ => None,
        }
    }

    fn skipped(&self, depth: usize, key: &str) -> bool {
        match (depth, key) {
            (0, "apiVersion" | "kind") => true,
            (0, "data" | "stringData") => self.secret_kind,
            (1, "managedFields") => matches!(self.path.first(), Some(P::K("metadata"))),
            (_, "encryptedData") => true,
            _ => false,
        }
    }

    fn map(&mut self, entries: &'o [Entry]) {
        let depth = self.path.len();
        let name = entries
            .iter()
            .find(|e| e.key == "name")
            .and_then(|e| e.node.as_str());
        let list = self.list_key().unwrap_or("");
        for e in entries {
            let k = e.key.as_str();
            if self.skipped(depth, k) {
                continue;
            }
            self.path.push(P::K(k));
            match (&e.node.value, name) {
                (Value::Str(s), Some(name)) if k == "value" => {
                    self.string(s, Some(name), Label::Named { list, name });
                }
                (Value::Map(sub), _) if depth == 0 && k == "binaryData" => self.binary(sub),
                _ => self.node(&e.node, Some(k)),
            }
            self.path.pop();
        }
    }

    fn seq(&mut self, items: &'o [Node], key: Option<&'o str>) {
        let containers = key.is_some_and(|k| palisade_core::CONTAINER_LISTS.contains(&k));
        // A `--password` item names the value in the item after it.
        let mut flag: Option<&'o str> = None;
        for (i, item) in items.iter().enumerate() {
            self.path.push(P::I(i));
            match &item.value {
                Value::Str(s) => {
                    let hint = flag.take().filter(|_| !s.starts_with('-'));
                    let label = Label::Item {
                        key: key.unwrap_or(""),
                        index: i,
                    };
                    self.string(s, hint, label);
                    flag = cli_flag(s).filter(|f| self.det.is_secret_key(f));
                }
                Value::Map(_) if containers => {
                    let outer = self.container;
                    self.container = item.get("name").and_then(Node::as_str).or(Some(""));
                    self.node(item, None);
                    self.container = outer;
                }
                _ => self.node(item, key),
            }
            self.path.pop();
        }
    }

    fn binary(&mut self, entries: &'o [Entry]) {
        for e in entries {
            let Some(text) = e.node.as_str().and_then(detect::decode_base64) else {
                continue;
            };
            let Some(text) = detect::as_text(&text) else {
                continue;
            };
            self.path.push(P::K(&e.key));
            self.string(text, Some(&e.key), Label::Decoded(&e.key));
            self.path.pop();
        }
    }

    fn string(&mut self, text: &str, hint: Option<&str>, label: Label<'o>) {
        self.det.scan(hint, text, &mut self.buf);
        if self.buf.is_empty() {
            return;
        }
        let multiline = text.contains('\n');
        let mut buf = std::mem::take(&mut self.buf);
        for d in buf.drain(..) {
            let wanted = if d.high {
                self.high.is_some()
            } else {
                self.weak.is_some()
            };
            if !wanted {
                continue;
            }
            let at = if multiline {
                let line = 1 + text
                    .get(..d.offset)
                    .map_or(0, |t| t.bytes().filter(|&b| b == b'\n').count());
                format!(", line {line} of the value")
            } else {
                String::new()
            };
            let what = match (d.detector.as_str(), d.high) {
                (GENERIC, true) => "credential under a secret-like name (high entropy)".to_string(),
                (GENERIC, false) => {
                    "low-entropy credential under a secret-like name (a weak password is still a password)".to_string()
                }
                (name, _) => name.to_string(),
            };
            let lead = match self.container {
                Some(c) => format!("container {c:?}, {}", label.describe()),
                None => label.describe(),
            };
            let v = Violation {
                message: format!("{lead}{at}: hardcoded {what}, value {:?}", d.preview),
                container: self.container.map(str::to_string),
                path: self.segs(),
            };
            let out = if d.high {
                &mut self.high
            } else {
                &mut self.weak
            };
            if let Some(out) = out {
                out.push(v);
            }
        }
        self.buf = buf;
    }

    fn segs(&self) -> Vec<Seg> {
        self.path
            .iter()
            .map(|p| match *p {
                P::K(k) => Seg::Key(k.to_string().into()),
                P::I(i) => Seg::Index(i),
            })
            .collect()
    }
}

/// The name of a `--flag` / `-flag` argument that takes its value in the next item.
fn cli_flag(s: &str) -> Option<&str> {
    let f = s.strip_prefix('-')?;
    let f = f.strip_prefix('-').unwrap_or(f);
    (!f.is_empty() && !f.contains(['=', ' '])).then_some(f)
}

#[cfg(test)]
mod tests {
    use palisade_core::policy::ExtraPattern;
    use palisade_core::Policy;

    use crate::secrets::testutil::{assert_redacted, secrets, secrets_with};

    fn deployment(container_extra: &str) -> String {
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n{container_extra}")
    }

    fn configmap(data: &str) -> String {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n{data}")
    }

    const STRONG: &str = "Xk9#mQ2$vL7pR4wZ";
    const GHP: &str = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";

    #[test]
    fn high_entropy_env_password_is_high_at_the_value() {
        let y = deployment(&format!("        env:\n        - name: MODE\n          value: prod\n        - name: DB_PASSWORD\n          value: \"{STRONG}\"\n"));
        let f = secrets(&y);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].rule, "secrets/hardcoded-credential");
        assert_eq!(f[0].severity, palisade_core::Severity::High);
        assert_eq!(f[0].path, "spec.template.spec.containers[0].env[1].value");
        assert_eq!(f[0].line, 15);
        assert_eq!(f[0].container.as_deref(), Some("app"));
        assert!(
            f[0].message.contains("env var DB_PASSWORD"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("\"Xk9#…\""), "{}", f[0].message);
        assert_redacted(&f, STRONG);
    }

    #[test]
    fn low_entropy_env_password_is_a_weak_credential() {
        let y = deployment("        env:\n        - {name: DB_PASSWORD, value: hunter22}\n");
        let f = secrets(&y);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].rule, "secrets/weak-credential");
        assert_eq!(f[0].severity, palisade_core::Severity::Medium);
        assert_redacted(&f, "hunter22");
    }

    #[test]
    fn references_placeholders_and_paths_pass() {
        let y = deployment("        env:\n        - {name: DB_PASSWORD, value: $(PASSWORD)}\n        - {name: API_TOKEN, value: changeme}\n        - {name: PASSWORD_FILE, value: /run/secrets/db}\n        - {name: SECRET, value: '${SECRET}'}\n        - {name: TOKEN, value: '<token>'}\n        - name: KEY\n          valueFrom:\n            secretKeyRef: {name: k, key: api_key}\n        args: [\"--password=$(DB_PASSWORD)\", \"--token-file=/var/run/token\", \"--tls-key-path\", \"/etc/tls/key\"]\n        volumeMounts: [{name: s, mountPath: /etc/secret}]\n      volumes:\n      - name: s\n        secret: {secretName: app-credentials}\n");
        let f: Vec<_> = secrets(&y)
            .into_iter()
            .filter(|f| f.rule != "secrets/env-secret-ref")
            .collect();
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn command_and_args_forms_are_found() {
        let y = deployment(&format!("        command: [\"sh\", \"-c\", \"export DB_PASSWORD={STRONG} && exec app\"]\n        args: [\"--api-token\", \"{GHP}\", \"--verbose\", \"--client-secret=s3cr3tValue\"]\n"));
        let f = secrets(&y);
        let paths: Vec<(&str, &str)> = f.iter().map(|f| (f.rule, f.path.as_str())).collect();
        assert_eq!(
            paths,
            [
                (
                    "secrets/hardcoded-credential",
                    "spec.template.spec.containers[0].command[2]"
                ),
                (
                    "secrets/hardcoded-credential",
                    "spec.template.spec.containers[0].args[1]"
                ),
                (
                    "secrets/weak-credential",
                    "spec.template.spec.containers[0].args[3]"
                ),
            ],
            "{f:#?}"
        );
        assert!(f[1].message.contains("github-token"));
        assert_redacted(&f, STRONG);
        assert_redacted(&f, GHP);
        assert_redacted(&f, "s3cr3tValue");
    }

    #[test]
    fn configmap_data_binary_data_annotations_and_labels_are_scanned() {
        // binaryData holds "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n".
        let y = configmap(&format!("  annotations:\n    ci.example.com/token: \"{GHP}\"\n  labels:\n    password: hunter22\ndata:\n  app.properties: |\n    server.port=8080\n    aws.key=AKIAIOSFODNN7EXAMPLE\n  uuid: 7f3c1f2e-9d1b-4c55-8f0e-1a2b3c4d5e6f\nbinaryData:\n  creds: YXdzX2FjY2Vzc19rZXlfaWQgPSBBS0lBSU9TRk9ETk43RVhBTVBMRQo=\n"));
        let f = secrets(&y);
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.rule, f.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    "secrets/hardcoded-credential",
                    "metadata.annotations[\"ci.example.com/token\"]"
                ),
                ("secrets/hardcoded-credential", "data[\"app.properties\"]"),
                ("secrets/hardcoded-credential", "binaryData.creds"),
                ("secrets/weak-credential", "metadata.labels.password"),
            ],
            "{f:#?}"
        );
        assert!(
            f[1].message.contains("line 2 of the value"),
            "{}",
            f[1].message
        );
        assert!(f[2].message.contains("base64-decoded"), "{}", f[2].message);
        assert_redacted(&f, "AKIAIOSFODNN7EXAMPLE");
    }

    #[test]
    fn any_field_of_any_object_is_scanned_but_not_secret_data() {
        let y = format!("apiVersion: example.com/v1\nkind: Pipeline\nmetadata: {{name: p}}\nspec:\n  notify:\n    slack: https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/aB3dE5fG7hJ9kL1mN3pQ5rS7\n  db: postgres://app:Zq8vN3xK1wT6@db:5432/app\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  token: {GHP}\n---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: s}}\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq8Wn3kQpLs7/Tz1mNbxYw==\n");
        let f = secrets(&y);
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.rule, f.path.as_str())).collect();
        assert_eq!(
            got,
            [
                ("secrets/hardcoded-credential", "spec.notify.slack"),
                ("secrets/hardcoded-credential", "spec.db"),
                ("secrets/plaintext-secret-manifest", "stringData"),
            ],
            "{f:#?}"
        );
        assert!(f[1].message.contains("url-credentials"));
        assert_redacted(&f, GHP);
        assert_redacted(&f, "Zq8vN3xK1wT6");
    }

    #[test]
    fn every_detector_fires_in_a_configmap() {
        let cases: &[(&str, &str)] = &[
            ("aws-access-key-id", "AKIAIOSFODNN7EXAMPLE"),
            ("github-token", GHP),
            ("gitlab-token", "glpat-aB3dE5fG7hJ9kL1mN3pQ"),
            ("slack-token", "xoxb-1234567890-1234567890123-aB3dE5fG7hJ9kL1mN3pQ5rS7"),
            ("stripe-key", "sk_live_aB3dE5fG7hJ9kL1mN3pQ5rS7tU"),
            ("npm-token", "npm_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"),
            ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
        ];
        for (det, value) in cases {
            let f = secrets(&configmap(&format!("data:\n  setting: \"{value}\"\n")));
            assert_eq!(f.len(), 1, "{det}: {f:#?}");
            assert!(f[0].message.contains(det), "{det}: {}", f[0].message);
            assert_redacted(&f, value);
        }
        let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n    -----END OPENSSH PRIVATE KEY-----";
        let f = secrets(&configmap(&format!("data:\n  id_ed25519: |\n    {pem}\n")));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("private-key"));
        assert_redacted(&f, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ");
        let gcp = "{\"type\": \"service_account\", \"project_id\": \"demo\", \"private_key_id\": \"0123\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\", \"client_email\": \"x@demo.iam.gserviceaccount.com\"}";
        let f = secrets(&configmap(&format!("data:\n  key.json: '{gcp}'\n")));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].message.contains("gcp-service-account-key"),
            "{}",
            f[0].message
        );
        let az = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net";
        let f = secrets(&configmap(&format!("data:\n  STORAGE: \"{az}\"\n")));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("azure-storage-key"));
        assert_redacted(
            &f,
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq",
        );
    }

    #[test]
    fn realistic_non_secrets_pass() {
        let y = configmap("data:\n  uuid: 7f3c1f2e-9d1b-4c55-8f0e-1a2b3c4d5e6f\n  sha: 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b\n  image: registry.example.com/app@sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b\n  url: https://api.example.com/v1?page=2\n  blob: eyJmZWF0dXJlcyI6IHsiYmV0YSI6IHRydWV9fQ==\n  secretName: db-credentials\n  tokenTTL: 3600s\n  passwordPolicy: strong\n");
        assert!(secrets(&y).is_empty(), "{:#?}", secrets(&y));
    }

    #[test]
    fn allow_list_and_extra_patterns_from_the_policy() {
        let mut policy = Policy::default();
        policy.secrets.allow = vec!["^hunter".into()];
        policy.secrets.extra_patterns = vec![
            ExtraPattern {
                name: "acme-token".into(),
                regex: "acme_[a-z0-9]{16}".into(),
                keywords: vec!["acme_".into()],
            },
            ExtraPattern {
                name: "broken".into(),
                regex: "([".into(),
                keywords: vec!["x".into()],
            },
        ];
        let y = configmap("data:\n  DB_PASSWORD: hunter22\n  note: acme_0123456789abcdef\n");
        let f = secrets_with(&y, policy);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.contains("acme-token"));
        assert_eq!(f[0].path, "data.note");
        assert_redacted(&f, "acme_0123456789abcdef");
    }

    #[test]
    fn weak_rule_alone_walks_for_itself() {
        use palisade_core::{Context, Engine, Limits};
        let y = deployment("        env:\n        - {name: DB_PASSWORD, value: hunter22}\n");
        let rules: Vec<Box<dyn palisade_core::Rule>> =
            vec![Box::new(super::HardcodedCredential::weak())];
        let engine = Engine::new(rules, Context::default(), Limits::default());
        let f = engine.scan_bytes("t.yaml", y.as_bytes()).findings;
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "secrets/weak-credential");
        // The next object does not see the previous object's weak findings.
        let clean = deployment("        env:\n        - {name: MODE, value: prod}\n");
        let both = format!("{y}---\n{clean}");
        let f = secrets(&both);
        assert_eq!(f.len(), 1, "{f:#?}");
    }

    #[test]
    fn entropy_threshold_comes_from_the_policy() {
        let y = deployment("        env:\n        - {name: DB_PASSWORD, value: hunter22}\n");
        let mut policy = Policy::default();
        policy.secrets.entropy_threshold = 2.0;
        let f = secrets_with(&y, policy);
        assert_eq!(f[0].rule, "secrets/hardcoded-credential");
    }
}
