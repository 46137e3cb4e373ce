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
mod tests;
