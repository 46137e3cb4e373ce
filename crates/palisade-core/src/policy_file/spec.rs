//! The sections of a policy's `spec`: Pod Security level and version,
//! rule settings, images, secrets, exemptions and suppressions (admission
//! is in `admission.rs`).

use crate::finding::Severity;
use crate::node::{Node, Value};
use crate::policy::{
    AttestationRule, ContentPolicy, Date, Exemption, ExtraPattern, FailurePolicy, KeylessSigner,
    Policy, RuleSetting, VerifyRule, WorkloadDef,
};
use crate::rule::{PssLevel, PssVersion};

use super::{regex_syntax_check, type_name, Decoder, API_VERSION};

impl Decoder<'_> {
    /// The whole document: the header, then each section of `spec`.
    pub(super) fn policy(&mut self, root: &Node, p: &mut Policy) {
        let Some(root) = self.map(
            root,
            "the policy",
            &["apiVersion", "kind", "metadata", "spec"],
        ) else {
            return;
        };
        self.header(root);
        if let Some(spec) = root.get("spec") {
            self.spec(spec, p);
        }
    }

    /// `apiVersion`, `kind` and `metadata`.
    fn header(&mut self, root: &Node) {
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
    }

    /// `spec`, section by section.
    fn spec(&mut self, spec: &Node, p: &mut Policy) {
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
                "workloads",
            ],
        ) else {
            return;
        };
        if let Some(n) = spec.get("workloads") {
            self.workloads(n, p);
        }
        if let Some(n) = spec.get("constraints") {
            p.constraint_paths = self.strings(n, "spec.constraints");
        }
        if let Some(n) = spec.get("podSecurity") {
            self.pod_security(n, p);
        }
        if let Some(n) = spec.get("rules") {
            self.rules(n, p);
        }
        if let Some(n) = spec.get("images") {
            self.images(n, p);
        }
        if let Some(n) = spec.get("secrets") {
            self.secrets(n, p);
        }
        if let Some(n) = spec.get("exemptions") {
            self.exemptions(n, p);
        }
        if let Some(s) = spec.get("suppressions") {
            if let Some(s) = self.map(s, "spec.suppressions", &["inline"]) {
                if let Some(n) = s.get("inline") {
                    p.inline_suppressions = self.strings(n, "spec.suppressions.inline");
                }
            }
        }
        if let Some(n) = spec.get("admission") {
            self.admission(n, p);
        }
    }

    /// `spec.workloads[]`: custom resources that hold a pod spec.
    fn workloads(&mut self, node: &Node, p: &mut Policy) {
        if !matches!(node.value, Value::Seq(_) | Value::Null) {
            self.error(node.pos, "spec.workloads must be a list");
            return;
        }
        for item in node.items() {
            let Some(m) = self.map(
                item,
                "spec.workloads[]",
                &["apiVersion", "kind", "podSpecPath"],
            ) else {
                continue;
            };
            let field = |me: &mut Self, k: &str| {
                m.get(k)
                    .and_then(|x| me.string(x, &format!("spec.workloads[].{k}")))
            };
            let (api_version, kind, path) = (
                field(self, "apiVersion"),
                field(self, "kind"),
                field(self, "podSpecPath"),
            );
            let (Some(api_version), Some(kind), Some(pod_spec_path)) = (api_version, kind, path)
            else {
                self.error(
                    item.pos,
                    "each spec.workloads entry needs apiVersion, kind and podSpecPath",
                );
                continue;
            };
            let segments_ok = pod_spec_path.split('.').all(|s| !s.is_empty());
            if !segments_ok || !(pod_spec_path == "spec" || pod_spec_path.ends_with(".spec")) {
                let pos = m.get("podSpecPath").map_or(item.pos, |x| x.pos);
                self.error(
                    pos,
                    format!("spec.workloads[].podSpecPath {pod_spec_path:?} must be the dotted path of the pod spec, ending in `spec` (the pod's metadata is beside it), e.g. spec.template.spec"),
                );
                continue;
            }
            p.workloads.push(WorkloadDef {
                api_version,
                kind,
                pod_spec_path,
            });
        }
    }

    /// `spec.podSecurity`: level and version.
    fn pod_security(&mut self, ps: &Node, p: &mut Policy) {
        let Some(ps) = self.map(ps, "spec.podSecurity", &["level", "version"]) else {
            return;
        };
        if let Some(n) = ps.get("level") {
            if let Some(l) = self.parsed(n, "spec.podSecurity.level", |s| s.parse::<PssLevel>()) {
                p.level = l;
            }
        }
        if let Some(n) = ps.get("version") {
            if let Some(v) = self.parsed(n, "spec.podSecurity.version", |s| s.parse::<PssVersion>())
            {
                p.version = v;
            }
        }
    }

    /// `spec.images`: trusted registries, digests, signatures, content.
    fn images(&mut self, images: &Node, p: &mut Policy) {
        let Some(images) = self.map(
            images,
            "spec.images",
            &[
                "trustedRegistries",
                "requireDigest",
                "verify",
                "mutateDigest",
                "failurePolicy",
                "content",
                "trustedRoot",
            ],
        ) else {
            return;
        };
        if let Some(n) = images.get("trustedRegistries") {
            p.images.trusted_registries = self.strings(n, "spec.images.trustedRegistries");
        }
        if let Some(n) = images.get("requireDigest") {
            p.images.require_digest = self
                .boolean(n, "spec.images.requireDigest")
                .unwrap_or(false);
        }
        if let Some(n) = images.get("mutateDigest") {
            p.images.mutate_digest = self.boolean(n, "spec.images.mutateDigest").unwrap_or(false);
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
        if let Some(n) = images.get("trustedRoot") {
            p.images.trusted_root = self.string(n, "spec.images.trustedRoot");
        }
        if let Some(n) = images.get("verify") {
            self.verify_rules(n, p);
        }
        if let Some(n) = images.get("content") {
            self.content_policy(n, p);
        }
    }

    /// `spec.exemptions`: a list of exemptions.
    fn exemptions(&mut self, ex: &Node, p: &mut Policy) {
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
                &[
                    "images",
                    "keys",
                    "keyless",
                    "attestations",
                    "trustedRoot",
                    "required",
                ],
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
            let keyless = m
                .get("keyless")
                .map(|n| self.keyless_signers(n))
                .unwrap_or_default();
            let attestations = m
                .get("attestations")
                .map(|n| self.attestation_rules(n))
                .unwrap_or_default();
            let trusted_root = m
                .get("trustedRoot")
                .and_then(|n| self.string(n, "spec.images.verify[].trustedRoot"));
            if keys.is_empty() && keyless.is_empty() && attestations.is_empty() {
                self.error(
                    item.pos,
                    "a verify entry needs keys: [PEM files or inline PEM public keys], keyless: [{issuer, subject}] or attestations: [{predicateType}]",
                );
            }
            let required = m
                .get("required")
                .and_then(|n| self.boolean(n, "spec.images.verify[].required"))
                .unwrap_or(true);
            p.images.verify.push(VerifyRule {
                images,
                keys,
                keyless,
                attestations,
                trusted_root,
                required,
                line: item.pos.line,
            });
        }
    }

    /// `verify[].keyless`: a list of `{issuer, subject | subjectRegExp,
    /// repository, ref, workflow, trigger}`.
    fn keyless_signers(&mut self, node: &Node) -> Vec<KeylessSigner> {
        const WHAT: &str = "spec.images.verify[].keyless";
        let Value::Seq(items) = &node.value else {
            self.error(
                node.pos,
                format!("{WHAT} must be a list of {{issuer, subject | subjectRegExp}}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let keys = [
                "issuer",
                "subject",
                "subjectRegExp",
                "repository",
                "ref",
                "workflow",
                "trigger",
            ];
            let Some(m) = self.map(item, &format!("{WHAT}[]"), &keys) else {
                continue;
            };
            let field = |d: &mut Self, k: &str| {
                m.get(k).and_then(|n| d.string(n, &format!("{WHAT}[].{k}")))
            };
            let signer = KeylessSigner {
                issuer: field(self, "issuer").unwrap_or_default(),
                subject: field(self, "subject"),
                subject_regexp: field(self, "subjectRegExp"),
                repository: field(self, "repository"),
                git_ref: field(self, "ref"),
                workflow: field(self, "workflow"),
                trigger: field(self, "trigger"),
            };
            if signer.issuer.is_empty() {
                self.error(
                    item.pos,
                    "a keyless signer needs issuer: (the OIDC issuer URL)",
                );
            }
            match (&signer.subject, &signer.subject_regexp) {
                (None, None) => self.error(
                    item.pos,
                    "a keyless signer needs subject: or subjectRegExp: (the certificate identity)",
                ),
                (Some(_), Some(_)) => {
                    self.error(item.pos, "give subject: or subjectRegExp:, not both")
                }
                (None, Some(re)) => {
                    if let Err(e) = regex::Regex::new(re) {
                        self.error(item.pos, format!("subjectRegExp: {e}"));
                    }
                }
                _ => {}
            }
            out.push(signer);
        }
        out
    }

    /// `verify[].attestations`: a list of `{predicateType, conditions}`.
    fn attestation_rules(&mut self, node: &Node) -> Vec<AttestationRule> {
        const WHAT: &str = "spec.images.verify[].attestations";
        let Value::Seq(items) = &node.value else {
            self.error(
                node.pos,
                format!("{WHAT} must be a list of {{predicateType, conditions}}"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(m) = self.map(item, &format!("{WHAT}[]"), &["predicateType", "conditions"])
            else {
                continue;
            };
            let predicate_type = m
                .get("predicateType")
                .and_then(|n| self.string(n, &format!("{WHAT}[].predicateType")))
                .unwrap_or_default();
            if predicate_type.is_empty() {
                self.error(
                    item.pos,
                    "an attestation needs predicateType: (e.g. https://slsa.dev/provenance/v1)",
                );
            }
            let conditions = m
                .get("conditions")
                .map(|n| self.strings(n, &format!("{WHAT}[].conditions")))
                .unwrap_or_default();
            out.push(AttestationRule {
                predicate_type,
                conditions,
            });
        }
        out
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
