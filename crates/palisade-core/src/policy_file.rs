//! Reads `palisade.yaml` (`apiVersion: palisade.dev/v1alpha1`, `kind: Policy`)
//! into a [`Policy`]. Decoding is strict: an unknown key or a wrong type is
//! an error with its line and column, so a typo never silently weakens the
//! policy. Written over the spanned [`Node`] tree (not serde) because serde
//! loses the positions these errors need.

use std::collections::BTreeMap;

use crate::finding::Severity;
use crate::loader::{load_str, Diagnostic, Limits};
use crate::node::{Node, Pos, Value};
use crate::policy::{
    ContentPolicy, Date, Exemption, ExtraPattern, FailurePolicy, Mode, ModeRule, Mutations, Policy,
    RequestExemptions, RuleSetting, VerifyRule,
};
use crate::rule::{PssLevel, PssVersion};

/// The `apiVersion` of the policy file.
pub const API_VERSION: &str = "palisade.dev/v1alpha1";

/// The file `scan` and `serve` look for in the working directory.
pub const DEFAULT_FILE: &str = ".palisade.yaml";

/// A commented policy equal to the built-in defaults (`palisade config init`).
pub const DEFAULT_POLICY_YAML: &str = r#"# palisade policy: read by `palisade scan` (CI) and `palisade serve` (admission),
# so what passes CI is what the cluster admits. Schema: docs/policy.md.
apiVersion: palisade.dev/v1alpha1
kind: Policy
metadata:
  name: default
spec:
  # Pod Security Standards level (privileged | baseline | restricted) and
  # version (v1.0 .. v1.37 | latest). Command-line flags override these.
  podSecurity:
    level: restricted
    version: latest

  # Per-rule settings, by rule id or glob; later entries win.
  #   rules:
  #     hardening/*: {severity: low}
  #     serviceaccount/default: {enabled: false}
  rules: {}

  images:
    # Registries or repositories images must come from (globs: `*` stops at
    # `/`, `**` does not). Empty: any registry.
    trustedRegistries: []
    # Require every image to be pinned by digest (image/digest-required, high,
    # replaces image/digest).
    requireDigest: false
    # cosign signatures checked against the registry (image/signature):
    # images matching a glob need a valid signature by one of the keys
    # (PEM files relative to this file, or inline PEM). required: false only
    # reports signatures that are present but invalid.
    verify: []
    #   - images: [registry.example.com/team/**]
    #     keys: [cosign.pub]
    #     required: true
    # Pin image tags to the digest they point to now, in /mutate.
    mutateDigest: false
    # A registry that cannot be asked: Fail (a high finding, denied in
    # enforce mode) or Ignore (a warning).
    failurePolicy: Fail
    # Gate on what is inside images (results of palisade image, by digest):
    # image/vulnerable at or above a severity (none: off), image/secrets,
    # and in the webhook what to do with an image not scanned yet (warn, or
    # deny; it is queued for scanning). scan --images turns this on.
    # content: {vulnerabilities: high, secrets: true, unscanned: warn}

  secrets:
    # Shannon entropy (bits per character) from which a generic credential
    # is reported as high rather than as a weak credential.
    entropyThreshold: 3.5
    # Your own token formats: name, regex, and literal keywords that must
    # occur for the regex to run.
    extraPatterns: []
    # Regular expressions for values that are known not to be secrets.
    allow: []

  # Exemptions: rules that do not apply to matching objects. A reason is
  # required; an expired exemption stops applying and is reported.
  #   exemptions:
  #   - rules: [pss/hostNamespaces, pss/hostPorts]
  #     match:
  #       namespaces: [monitoring]
  #       kinds: [DaemonSet]
  #       names: [node-exporter*]
  #       images: [quay.io/prometheus/**]
  #     reason: node-exporter reads host network statistics
  #     owner: platform-team
  #     expires: 2027-06-30
  exemptions: []

  # Inline suppression with the annotation
  #   palisade.dev/ignore: "<rule>[,<rule>]: <reason>"
  # is honoured only for rules matching these globs. Default: none, so a
  # workload owner cannot exempt a workload from a rule the platform enforces.
  suppressions:
    inline: []

  # Gatekeeper ConstraintTemplates and Constraints (files or directories,
  # relative to this file), checked by scan and serve alike.
  constraints: []

  # Admission (palisade serve).
  admission:
    # Findings at or above this severity deny (every Pod Security Standards
    # violation at the configured level counts as at least high).
    threshold: high
    # enforce (deny), warn (allow with warnings) or audit (allow, record).
    defaultMode: enforce
    # Per-namespace modes; the first match wins. Example:
    #   - {namespaces: [sandbox-*], mode: warn}
    modes: []
    # Requests admitted without evaluation (as in the Pod Security
    # Admission configuration). Example: namespaces: [kube-system]
    exempt:
      usernames: []
      groups: []
      namespaces: []
      runtimeClassNames: []
    # Labels of namespaces, as in the cluster; pod-security.kubernetes.io/*
    # labels here are honoured as Pod Security Admission honours them.
    namespaceLabels: {}
    # A kind palisade cannot check: allow (with a warning) or deny.
    unknownKinds: allow
    # What /mutate sets where the user set nothing (all off by default).
    mutations:
      automountServiceAccountToken: false
      seccompProfile: false
      allowPrivilegeEscalation: false
      dropAllCapabilities: false
      runAsNonRoot: false
"#;

/// Why a policy file could not be used.
#[derive(Debug)]
pub enum PolicyFileError {
    /// The file could not be read.
    Read(std::io::Error),
    /// The file is invalid: one `file:line:col: message` line per error.
    Invalid(Vec<String>),
}

/// Reads and validates a policy file; errors name it with line and column.
pub fn read_policy_file(path: &std::path::Path) -> Result<Policy, PolicyFileError> {
    let text = std::fs::read_to_string(path).map_err(PolicyFileError::Read)?;
    let name = path.display().to_string();
    parse_policy(&name, &text).map_err(|errors| {
        PolicyFileError::Invalid(
            errors
                .iter()
                .map(|e| format!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))
                .collect(),
        )
    })
}

/// Reads a policy from YAML text; `file` names it in errors and findings.
pub fn parse_policy(file: &str, text: &str) -> Result<Policy, Vec<Diagnostic>> {
    let loaded = load_str(text, &Limits::default());
    if !loaded.errors.is_empty() {
        return Err(loaded.errors);
    }
    let mut docs = loaded.documents.into_iter();
    let Some(doc) = docs.next() else {
        return Err(vec![err(Pos { line: 1, col: 1 }, "empty policy file")]);
    };
    if let Some(extra) = docs.next() {
        return Err(vec![err(
            extra.root.pos,
            "a policy file holds one document; found a second",
        )]);
    }
    let mut errors = Vec::new();
    let mut dup = doc
        .duplicate_keys
        .iter()
        .map(|d| {
            err(
                d.again,
                format!(
                    "key {:?} is written twice (first at line {})",
                    d.key, d.first.line
                ),
            )
        })
        .collect::<Vec<_>>();
    errors.append(&mut dup);
    let mut policy = Policy {
        file: Some(file.to_string()),
        ..Policy::default()
    };
    let mut d = Decoder {
        errors: &mut errors,
    };
    d.policy(&doc.root, &mut policy);
    if errors.is_empty() {
        Ok(policy)
    } else {
        errors.sort_by_key(|e| e.pos);
        Err(errors)
    }
}

fn err(pos: Pos, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        pos,
        message: message.into(),
    }
}

fn type_name(n: &Node) -> &'static str {
    match n.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

struct Decoder<'e> {
    errors: &'e mut Vec<Diagnostic>,
}

impl Decoder<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.errors.push(err(pos, message));
    }

    /// Checks that `node` is a mapping with only `allowed` keys; returns its entries.
    fn map<'n>(&mut self, node: &'n Node, what: &str, allowed: &[&str]) -> Option<&'n Node> {
        match &node.value {
            Value::Map(entries) => {
                for e in entries {
                    if !allowed.contains(&e.key.as_str()) {
                        self.error(
                            e.key_pos,
                            format!(
                                "unknown key {:?} in {what} (expected one of: {})",
                                e.key,
                                allowed.join(", ")
                            ),
                        );
                    }
                }
                Some(node)
            }
            Value::Null => None,
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be a mapping, not {}", type_name(node)),
                );
                None
            }
        }
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be a string, not {}", type_name(node)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be true or false, not {}", type_name(node)),
                );
                None
            }
        }
    }

    fn strings(&mut self, node: &Node, what: &str) -> Vec<String> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| self.string(i, &format!("each entry of {what}")))
                .collect(),
            Value::Null => Vec::new(),
            _ => {
                self.error(
                    node.pos,
                    format!("{what} must be a list of strings, not {}", type_name(node)),
                );
                Vec::new()
            }
        }
    }

    fn parsed<T>(
        &mut self,
        node: &Node,
        what: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let s = self.string(node, what)?;
        match parse(&s) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(node.pos, format!("{what}: {e}"));
                None
            }
        }
    }

    fn policy(&mut self, root: &Node, p: &mut Policy) {
        let Some(root) = self.map(
            root,
            "the policy",
            &["apiVersion", "kind", "metadata", "spec"],
        ) else {
            return;
        };
        match root.get("apiVersion").and_then(Node::as_str) {
            Some(API_VERSION) => {}
            Some(other) => self.error(
                root.entry("apiVersion").map_or(root.pos, |e| e.node.pos),
                format!("apiVersion {other:?} is not supported; expected {API_VERSION}"),
            ),
            None => self.error(root.pos, format!("missing apiVersion: {API_VERSION}")),
        }
        match root.get("kind").and_then(Node::as_str) {
            Some("Policy") => {}
            _ => self.error(
                root.entry("kind").map_or(root.pos, |e| e.node.pos),
                "kind must be Policy",
            ),
        }
        if let Some(meta) = root.get("metadata") {
            self.map(meta, "metadata", &["name", "annotations", "labels"]);
        }
        let Some(spec) = root.get("spec") else { return };
        let Some(spec) = self.map(
            spec,
            "spec",
            &[
                "podSecurity",
                "rules",
                "images",
                "secrets",
                "exemptions",
                "suppressions",
                "admission",
                "constraints",
            ],
        ) else {
            return;
        };
        if let Some(n) = spec.get("constraints") {
            p.constraint_paths = self.strings(n, "spec.constraints");
        }
        if let Some(ps) = spec.get("podSecurity") {
            if let Some(ps) = self.map(ps, "spec.podSecurity", &["level", "version"]) {
                if let Some(n) = ps.get("level") {
                    if let Some(l) =
                        self.parsed(n, "spec.podSecurity.level", |s| s.parse::<PssLevel>())
                    {
                        p.level = l;
                    }
                }
                if let Some(n) = ps.get("version") {
                    if let Some(v) =
                        self.parsed(n, "spec.podSecurity.version", |s| s.parse::<PssVersion>())
                    {
                        p.version = v;
                    }
                }
            }
        }
        if let Some(rules) = spec.get("rules") {
            self.rules(rules, p);
        }
        if let Some(images) = spec.get("images") {
            if let Some(images) = self.map(
                images,
                "spec.images",
                &[
                    "trustedRegistries",
                    "requireDigest",
                    "verify",
                    "mutateDigest",
                    "failurePolicy",
                    "content",
                ],
            ) {
                if let Some(n) = images.get("trustedRegistries") {
                    p.images.trusted_registries = self.strings(n, "spec.images.trustedRegistries");
                }
                if let Some(n) = images.get("requireDigest") {
                    p.images.require_digest = self
                        .boolean(n, "spec.images.requireDigest")
                        .unwrap_or(false);
                }
                if let Some(n) = images.get("mutateDigest") {
                    p.images.mutate_digest =
                        self.boolean(n, "spec.images.mutateDigest").unwrap_or(false);
                }
                if let Some(n) = images.get("failurePolicy") {
                    if let Some(f) = self.parsed(n, "spec.images.failurePolicy", |s| match s {
                        "Fail" => Ok(FailurePolicy::Fail),
                        "Ignore" => Ok(FailurePolicy::Ignore),
                        other => Err(format!("{other:?} is not Fail or Ignore")),
                    }) {
                        p.images.failure_policy = f;
                    }
                }
                if let Some(n) = images.get("verify") {
                    self.verify_rules(n, p);
                }
                if let Some(n) = images.get("content") {
                    self.content_policy(n, p);
                }
            }
        }
        if let Some(secrets) = spec.get("secrets") {
            self.secrets(secrets, p);
        }
        if let Some(ex) = spec.get("exemptions") {
            match &ex.value {
                Value::Seq(items) => {
                    for item in items {
                        if let Some(e) = self.exemption(item) {
                            p.exemptions.push(e);
                        }
                    }
                }
                Value::Null => {}
                _ => self.error(
                    ex.pos,
                    format!("spec.exemptions must be a list, not {}", type_name(ex)),
                ),
            }
        }
        if let Some(s) = spec.get("suppressions") {
            if let Some(s) = self.map(s, "spec.suppressions", &["inline"]) {
                if let Some(n) = s.get("inline") {
                    p.inline_suppressions = self.strings(n, "spec.suppressions.inline");
                }
            }
        }
        if let Some(a) = spec.get("admission") {
            self.admission(a, p);
        }
    }

    fn admission(&mut self, a: &Node, p: &mut Policy) {
        let Some(a) = self.map(
            a,
            "spec.admission",
            &[
                "threshold",
                "defaultMode",
                "modes",
                "exempt",
                "namespaceLabels",
                "unknownKinds",
                "mutations",
            ],
        ) else {
            return;
        };
        if let Some(n) = a.get("threshold") {
            if let Some(t) = self.parsed(n, "spec.admission.threshold", |s| s.parse::<Severity>()) {
                p.admission_threshold = t;
            }
        }
        let adm = &mut p.admission;
        if let Some(n) = a.get("defaultMode") {
            if let Some(m) = self.parsed(n, "spec.admission.defaultMode", |s| s.parse::<Mode>()) {
                adm.default_mode = m;
            }
        }
        if let Some(n) = a.get("unknownKinds") {
            if let Some(allow) = self.parsed(n, "spec.admission.unknownKinds", |s| match s {
                "allow" => Ok(true),
                "deny" => Ok(false),
                _ => Err(format!("{s:?} is not allow or deny")),
            }) {
                adm.allow_unknown_kinds = allow;
            }
        }
        if let Some(n) = a.get("modes") {
            match &n.value {
                Value::Seq(items) => {
                    for item in items {
                        let Some(m) = self.map(
                            item,
                            "spec.admission.modes[]",
                            &["namespaces", "matchLabels", "mode"],
                        ) else {
                            continue;
                        };
                        let namespaces = m
                            .get("namespaces")
                            .map(|n| self.strings(n, "spec.admission.modes[].namespaces"))
                            .unwrap_or_default();
                        let match_labels = m
                            .get("matchLabels")
                            .map(|n| self.string_map(n, "spec.admission.modes[].matchLabels"))
                            .unwrap_or_default();
                        let mode = m.get("mode").and_then(|n| {
                            self.parsed(n, "spec.admission.modes[].mode", |s| s.parse::<Mode>())
                        });
                        match mode {
                            Some(mode) => adm.modes.push(ModeRule {
                                namespaces,
                                match_labels,
                                mode,
                            }),
                            None if m.get("mode").is_none() => {
                                self.error(item.pos, "each admission.modes entry needs a mode")
                            }
                            None => {}
                        }
                    }
                }
                Value::Null => {}
                _ => self.error(
                    n.pos,
                    format!("spec.admission.modes must be a list, not {}", type_name(n)),
                ),
            }
        }
        if let Some(n) = a.get("exempt") {
            if let Some(e) = self.map(
                n,
                "spec.admission.exempt",
                &["usernames", "groups", "namespaces", "runtimeClassNames"],
            ) {
                let list = |d: &mut Self, k: &str| {
                    e.get(k)
                        .map(|n| d.strings(n, &format!("spec.admission.exempt.{k}")))
                        .unwrap_or_default()
                };
                adm.exempt = RequestExemptions {
                    usernames: list(self, "usernames"),
                    groups: list(self, "groups"),
                    namespaces: list(self, "namespaces"),
                    runtime_class_names: list(self, "runtimeClassNames"),
                };
            }
        }
        if let Some(n) = a.get("namespaceLabels") {
            match &n.value {
                Value::Map(entries) => {
                    for e in entries {
                        let labels = self.string_map(
                            &e.node,
                            &format!("spec.admission.namespaceLabels.{}", e.key),
                        );
                        adm.namespace_labels.insert(e.key.clone(), labels);
                    }
                }
                Value::Null => {}
                _ => self.error(
                    n.pos,
                    format!(
                        "spec.admission.namespaceLabels must map namespace names to labels, not {}",
                        type_name(n)
                    ),
                ),
            }
        }
        if let Some(n) = a.get("mutations") {
            if let Some(m) = self.map(
                n,
                "spec.admission.mutations",
                &[
                    "automountServiceAccountToken",
                    "seccompProfile",
                    "allowPrivilegeEscalation",
                    "dropAllCapabilities",
                    "runAsNonRoot",
                ],
            ) {
                let flag = |d: &mut Self, k: &str| {
                    m.get(k)
                        .and_then(|n| d.boolean(n, &format!("spec.admission.mutations.{k}")))
                        .unwrap_or(false)
                };
                adm.mutations = Mutations {
                    automount_service_account_token: flag(self, "automountServiceAccountToken"),
                    seccomp_profile: flag(self, "seccompProfile"),
                    allow_privilege_escalation: flag(self, "allowPrivilegeEscalation"),
                    drop_all_capabilities: flag(self, "dropAllCapabilities"),
                    run_as_non_root: flag(self, "runAsNonRoot"),
                };
            }
        }
    }

    /// A mapping of strings to strings (labels).
    fn string_map(&mut self, node: &Node, what: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match &node.value {
            Value::Map(entries) => {
                for e in entries {
                    if let Some(v) = self.string(&e.node, &format!("{what}.{}", e.key)) {
                        out.insert(e.key.clone(), v);
                    }
                }
            }
            Value::Null => {}
            _ => self.error(
                node.pos,
                format!(
                    "{what} must be a mapping of strings, not {}",
                    type_name(node)
                ),
            ),
        }
        out
    }

    fn rules(&mut self, rules: &Node, p: &mut Policy) {
        // Rule ids (and globs) are the keys, so any key is allowed here.
        if !matches!(rules.value, Value::Map(_) | Value::Null) {
            self.error(
                rules.pos,
                format!(
                    "spec.rules must be a mapping of rule id to settings, not {}",
                    type_name(rules)
                ),
            );
            return;
        }
        for e in rules.entries() {
            let what = format!("spec.rules[{:?}]", e.key);
            let Some(m) = self.map(&e.node, &what, &["enabled", "severity"]) else {
                continue;
            };
            let enabled = m
                .get("enabled")
                .and_then(|n| self.boolean(n, &format!("{what}.enabled")));
            let severity = m.get("severity").and_then(|n| {
                self.parsed(n, &format!("{what}.severity"), |s| s.parse::<Severity>())
            });
            p.rules.push(RuleSetting {
                rule: e.key.clone(),
                enabled,
                severity,
            });
        }
    }

    fn secrets(&mut self, secrets: &Node, p: &mut Policy) {
        let Some(s) = self.map(
            secrets,
            "spec.secrets",
            &["entropyThreshold", "extraPatterns", "allow"],
        ) else {
            return;
        };
        if let Some(n) = s.get("entropyThreshold") {
            match n.value {
                Value::Int(i) if (0..=8).contains(&i) => p.secrets.entropy_threshold = i as f64,
                Value::Float(f) if (0.0..=8.0).contains(&f) => p.secrets.entropy_threshold = f,
                _ => self.error(n.pos, "spec.secrets.entropyThreshold must be a number from 0 to 8 (bits per character)"),
            }
        }
        if let Some(n) = s.get("allow") {
            let allow = self.strings(n, "spec.secrets.allow");
            for (i, re) in allow.iter().enumerate() {
                if let Err(e) = regex_syntax_check(re) {
                    let pos = n.items().get(i).map_or(n.pos, |x| x.pos);
                    self.error(
                        pos,
                        format!("spec.secrets.allow: invalid regular expression: {e}"),
                    );
                }
            }
            p.secrets.allow = allow;
        }
        if let Some(n) = s.get("extraPatterns") {
            for item in n.items() {
                let Some(m) = self.map(
                    item,
                    "spec.secrets.extraPatterns[]",
                    &["name", "regex", "keywords"],
                ) else {
                    continue;
                };
                let name = m
                    .get("name")
                    .and_then(|x| self.string(x, "extraPatterns[].name"));
                let regex = m
                    .get("regex")
                    .and_then(|x| self.string(x, "extraPatterns[].regex"));
                let keywords = m
                    .get("keywords")
                    .map(|x| self.strings(x, "extraPatterns[].keywords"))
                    .unwrap_or_default();
                match (name, regex) {
                    (Some(name), Some(regex)) => {
                        if let Err(e) = regex_syntax_check(&regex) {
                            let pos = m.get("regex").map_or(m.pos, |x| x.pos);
                            self.error(
                                pos,
                                format!("extraPatterns[].regex: invalid regular expression: {e}"),
                            );
                        } else {
                            p.secrets.extra_patterns.push(ExtraPattern {
                                name,
                                regex,
                                keywords,
                            });
                        }
                    }
                    _ => self.error(
                        item.pos,
                        "each extraPatterns entry needs a name and a regex",
                    ),
                }
            }
            if !matches!(n.value, Value::Seq(_) | Value::Null) {
                self.error(n.pos, "spec.secrets.extraPatterns must be a list");
            }
        }
    }

    fn content_policy(&mut self, node: &Node, p: &mut Policy) {
        let Some(m) = self.map(
            node,
            "spec.images.content",
            &["vulnerabilities", "secrets", "unscanned", "database"],
        ) else {
            return;
        };
        let mut c = ContentPolicy::default();
        if let Some(n) = m.get("vulnerabilities") {
            c.vulnerabilities = self
                .parsed(n, "spec.images.content.vulnerabilities", |s| match s {
                    "none" => Ok(None),
                    other => other.parse::<Severity>().map(Some),
                })
                .unwrap_or(c.vulnerabilities);
        }
        if let Some(n) = m.get("secrets") {
            c.secrets = self
                .boolean(n, "spec.images.content.secrets")
                .unwrap_or(true);
        }
        if let Some(n) = m.get("unscanned") {
            c.deny_unscanned = self
                .parsed(n, "spec.images.content.unscanned", |s| match s {
                    "warn" => Ok(false),
                    "deny" => Ok(true),
                    other => Err(format!("{other:?} is not warn or deny")),
                })
                .unwrap_or(false);
        }
        if let Some(n) = m.get("database") {
            c.database = self.string(n, "spec.images.content.database");
        }
        p.images.content = Some(c);
    }

    fn verify_rules(&mut self, node: &Node, p: &mut Policy) {
        let Value::Seq(items) = &node.value else {
            self.error(
                node.pos,
                "spec.images.verify must be a list of {images, keys, required}",
            );
            return;
        };
        for item in items {
            let Some(m) = self.map(
                item,
                "spec.images.verify[]",
                &["images", "keys", "required"],
            ) else {
                continue;
            };
            let list = |d: &mut Self, k: &str| {
                m.get(k)
                    .map(|n| d.strings(n, &format!("spec.images.verify[].{k}")))
                    .unwrap_or_default()
            };
            let images = list(self, "images");
            let keys = list(self, "keys");
            if images.is_empty() {
                self.error(item.pos, "a verify entry needs images: [globs]");
            }
            if keys.is_empty() {
                self.error(
                    item.pos,
                    "a verify entry needs keys: [PEM files or inline PEM public keys]",
                );
            }
            let required = m
                .get("required")
                .and_then(|n| self.boolean(n, "spec.images.verify[].required"))
                .unwrap_or(true);
            p.images.verify.push(VerifyRule {
                images,
                keys,
                required,
                line: item.pos.line,
            });
        }
    }

    fn exemption(&mut self, item: &Node) -> Option<Exemption> {
        let m = self.map(
            item,
            "an exemption",
            &["rules", "match", "reason", "owner", "expires"],
        )?;
        let rules = m
            .get("rules")
            .map(|n| self.strings(n, "exemptions[].rules"))
            .unwrap_or_default();
        if rules.is_empty() {
            self.error(item.pos, "an exemption needs rules: [rule ids or globs]");
        }
        let reason = m
            .get("reason")
            .and_then(|n| self.string(n, "exemptions[].reason"))
            .unwrap_or_default();
        if reason.trim().is_empty() {
            self.error(item.pos, "an exemption needs a reason");
        }
        let owner = m
            .get("owner")
            .and_then(|n| self.string(n, "exemptions[].owner"));
        let expires = m.get("expires").and_then(|n| {
            self.parsed(n, "exemptions[].expires", |s| {
                Date::parse(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
            })
        });
        let mut e = Exemption {
            rules,
            namespaces: Vec::new(),
            names: Vec::new(),
            kinds: Vec::new(),
            images: Vec::new(),
            reason,
            owner,
            expires,
            line: item.pos.line,
        };
        if let Some(mt) = m.get("match") {
            if let Some(mt) = self.map(
                mt,
                "exemptions[].match",
                &["namespaces", "names", "kinds", "images"],
            ) {
                let list = |d: &mut Self, k: &str| {
                    mt.get(k)
                        .map(|n| d.strings(n, &format!("exemptions[].match.{k}")))
                        .unwrap_or_default()
                };
                e.namespaces = list(self, "namespaces");
                e.names = list(self, "names");
                e.kinds = list(self, "kinds");
                e.images = list(self, "images");
            }
        }
        Some(e)
    }
}

/// Validates regular-expression syntax without compiling it here (core
/// does not depend on `regex`; the secrets pack compiles the patterns).
fn regex_syntax_check(re: &str) -> Result<(), String> {
    let mut depth = 0i32;
    let mut escaped = false;
    let mut in_class = false;
    for c in re.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced ')'".into());
                }
            }
            _ => {}
        }
    }
    if escaped {
        return Err("trailing backslash".into());
    }
    if in_class {
        return Err("unclosed '['".into());
    }
    if depth != 0 {
        return Err("unclosed '('".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_equals_built_in_defaults() {
        let p = parse_policy("p.yaml", DEFAULT_POLICY_YAML).expect("default policy parses");
        assert_eq!(
            p,
            Policy {
                file: Some("p.yaml".into()),
                ..Policy::default()
            }
        );
    }

    #[test]
    fn full_policy_is_read() {
        let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  podSecurity: {level: baseline, version: v1.29}\n  rules:\n    hardening/*: {severity: info}\n    serviceaccount/default: {enabled: false}\n  images:\n    trustedRegistries: [registry.example.com/*]\n    requireDigest: true\n  secrets:\n    entropyThreshold: 4\n    extraPatterns:\n    - {name: acme, regex: 'acme_[a-z0-9]{16}', keywords: [acme_]}\n    allow: ['^EXAMPLE']\n  exemptions:\n  - rules: [pss/hostNamespaces]\n    match: {namespaces: [monitoring], kinds: [DaemonSet]}\n    reason: node exporter\n    owner: platform\n    expires: 2027-06-30\n  suppressions: {inline: ['hardening/*']}\n  admission: {threshold: critical}\n";
        let p = parse_policy("p.yaml", text).expect("parses");
        assert_eq!(p.level, PssLevel::Baseline);
        assert_eq!(p.version, PssVersion::V1(29));
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[1].enabled, Some(false));
        assert!(p.images.require_digest);
        assert_eq!(p.secrets.entropy_threshold, 4.0);
        assert_eq!(p.secrets.extra_patterns[0].keywords, ["acme_"]);
        assert_eq!(
            p.exemptions[0].expires.map(|d| d.to_string()).as_deref(),
            Some("2027-06-30")
        );
        assert_eq!(p.exemptions[0].line, 17);
        assert_eq!(p.inline_suppressions, ["hardening/*"]);
        assert_eq!(p.admission_threshold, Severity::Critical);
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors_with_lines() {
        let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    trustedRegistry: [x]\n    requireDigest: sometimes\n  exemptions:\n  - rules: [pss/privileged]\n    expires: next week\n";
        let errs = parse_policy("p.yaml", text).expect_err("invalid");
        let lines: Vec<u32> = errs.iter().map(|e| e.pos.line).collect();
        assert_eq!(lines, [5, 6, 8, 9], "{errs:?}");
        assert!(errs[0].message.contains("unknown key \"trustedRegistry\""));
        assert!(errs[1].message.contains("true or false"));
        assert!(errs[2].message.contains("reason"));
        assert!(errs[3].message.contains("YYYY-MM-DD"));
    }

    #[test]
    fn wrong_kind_and_bad_regex_are_errors() {
        let errs =
            parse_policy("p.yaml", "apiVersion: v1\nkind: ConfigMap\n").expect_err("invalid");
        assert_eq!(errs.len(), 2);
        let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  secrets:\n    allow: ['(unclosed']\n";
        let errs = parse_policy("p.yaml", text).expect_err("invalid");
        assert_eq!(errs[0].pos.line, 5);
    }

    #[test]
    fn image_verification_settings_are_read() {
        let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [ghcr.io/acme/**]\n      keys: [keys/cosign.pub]\n    - images: [registry.example.com/*]\n      keys: [a.pub, b.pub]\n      required: false\n    mutateDigest: true\n    failurePolicy: Ignore\n";
        let p = parse_policy("conf/p.yaml", text).expect("parses");
        let v = &p.images.verify;
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].images, ["ghcr.io/acme/**"]);
        assert_eq!(v[0].keys, ["keys/cosign.pub"]);
        assert!(v[0].required, "required by default");
        assert_eq!(v[0].line, 6);
        assert!(!v[1].required);
        assert_eq!(v[1].keys.len(), 2);
        assert!(p.images.mutate_digest);
        assert_eq!(p.images.failure_policy, FailurePolicy::Ignore);
        assert_eq!(
            p.relative_path(&v[0].keys[0]),
            std::path::Path::new("conf/keys/cosign.pub")
        );
    }

    #[test]
    fn image_verification_mistakes_are_errors_with_lines() {
        let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [ghcr.io/acme/**]\n    - keys: [k.pub]\n      requird: true\n    failurePolicy: Open\n";
        let errs = parse_policy("p.yaml", text).expect_err("invalid");
        let lines: Vec<u32> = errs.iter().map(|e| e.pos.line).collect();
        assert_eq!(lines, [6, 7, 8, 9], "{errs:?}");
        assert!(errs[0].message.contains("needs keys"), "{errs:?}");
        assert!(errs[1].message.contains("needs images"), "{errs:?}");
        assert!(
            errs[2].message.contains("unknown key \"requird\""),
            "{errs:?}"
        );
        assert!(errs[3].message.contains("not Fail or Ignore"), "{errs:?}");
    }
}
