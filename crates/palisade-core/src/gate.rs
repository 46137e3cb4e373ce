//! The policy gate: the one place where the policy file decides what
//! becomes of a finding — whether its rule is on, at which severity, and
//! whether an exemption (`exemptions[]`) or an inline suppression
//! (`palisade.dev/ignore`) hides it. Every finding of every analysis
//! (built-in rules, Gatekeeper constraints, RBAC, registry look-ups, image
//! content) passes through [`Gate::judge`] exactly once.

use crate::finding::{Finding, Severity};
use crate::node::{Node, Seg};
use crate::object::Object;
use crate::policy::{any_glob, glob_match, Date, Policy};
use crate::rule::{RuleMeta, Violation};

/// The annotation that suppresses findings on one object.
pub const IGNORE_ANNOTATION_KEY: &str = "palisade.dev/ignore";

/// A `palisade.dev/ignore` annotation without a reason, or for a rule the
/// policy does not let workloads suppress.
pub static IGNORE_ANNOTATION: RuleMeta = RuleMeta {
    id: "policy/ignore-annotation",
    title: "Inline suppression is not honoured",
    severity: Severity::Low,
    level: None,
    rationale: "An inline suppression must say why, and may only silence rules that the policy file lets workload owners suppress (suppressions.inline); otherwise a workload could exempt itself from a rule the platform team enforces.",
    remediation: "Write the annotation as palisade.dev/ignore: \"<rule>[,<rule>]: <reason>\", and ask the policy owners to allow the rule under suppressions.inline or to add an exemption.",
    references: &["https://github.com/palisade-sec/palisade/blob/main/docs/policy.md#inline-suppressions"],
};

/// Whether a rule is on and the severity it reports at, after the policy's
/// `rules` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The rule runs.
    pub enabled: bool,
    /// The severity its findings carry.
    pub severity: Severity,
}

/// What the gate made of a finding.
#[derive(Debug)]
pub enum Verdict {
    /// Reported, with the policy's severity.
    Keep(Finding),
    /// Hidden by an exemption or an inline suppression (counted as suppressed).
    Suppressed,
    /// Its rule is turned off (not counted).
    Disabled,
}

/// The policy as it applies to findings, as of one day (exemption expiry).
#[derive(Debug, Clone, Copy)]
pub struct Gate<'p> {
    policy: &'p Policy,
    today: Date,
}

impl<'p> Gate<'p> {
    /// The gate of `policy`, judging exemption expiry as of `today`.
    pub fn new(policy: &'p Policy, today: Date) -> Self {
        Gate { policy, today }
    }

    /// The setting of rule `id`, starting from its own defaults.
    pub fn setting(&self, id: &str, enabled: bool, severity: Severity) -> Setting {
        let (enabled, severity) = self.policy.setting(id, enabled, severity);
        Setting { enabled, severity }
    }

    /// Whether any exemption is limited to images (then callers look up
    /// the image of a container finding; otherwise they need not).
    pub fn has_image_exemptions(&self) -> bool {
        self.policy.exemptions.iter().any(|e| !e.images.is_empty())
    }

    /// Judges `f` under its rule's `setting`. `image` is the image of the
    /// container the finding is about, when it is about one (exemptions
    /// with `match.images` apply only then); `inline` is the object's
    /// suppression annotation, when the finding's analysis honours it.
    pub fn judge(
        &self,
        mut f: Finding,
        setting: Setting,
        image: Option<&str>,
        inline: Option<&InlineSuppression>,
    ) -> Verdict {
        if !setting.enabled {
            return Verdict::Disabled;
        }
        if inline.is_some_and(|s| s.covers(f.rule)) || self.exempt(&f, image) {
            return Verdict::Suppressed;
        }
        f.severity = setting.severity;
        Verdict::Keep(f.redact())
    }

    /// Judges a finding of a whole-run analysis: its setting is looked up
    /// from the finding's own rule id and default severity.
    pub fn judge_default(&self, f: Finding, image: Option<&str>) -> Verdict {
        let setting = self.setting(f.rule, true, f.severity);
        self.judge(f, setting, image, None)
    }

    fn exempt(&self, f: &Finding, image: Option<&str>) -> bool {
        self.policy.exemptions.iter().any(|e| {
            let image_matches =
                e.images.is_empty() || image.is_some_and(|img| any_glob(&e.images, img));
            image_matches && e.covers(f.rule, &f.object, self.today)
        })
    }
}

/// An object's `palisade.dev/ignore` annotation, as far as the policy honours it.
#[derive(Debug, Default)]
pub struct InlineSuppression {
    /// Rules the annotation names and the policy lets it suppress.
    honoured: Vec<String>,
    /// What is wrong with the annotation, if anything.
    problem: Option<(String, Vec<Seg>)>,
}

impl InlineSuppression {
    /// Reads `obj`'s annotation; `allowed` are the policy's `suppressions.inline` globs.
    pub fn of(obj: &Object, allowed: &[String]) -> Self {
        let mut s = InlineSuppression::default();
        let Some(value) = obj
            .root
            .get_path(&["metadata", "annotations", IGNORE_ANNOTATION_KEY])
            .and_then(Node::as_str)
        else {
            return s;
        };
        let path = vec![
            Seg::key("metadata"),
            Seg::key("annotations"),
            Seg::key(IGNORE_ANNOTATION_KEY),
        ];
        let (rules, reason) = value.split_once(':').unwrap_or((value, ""));
        if reason.trim().is_empty() {
            s.problem = Some((
                format!("annotation {IGNORE_ANNOTATION_KEY}={value:?} gives no reason; it is not honoured (write \"<rule>[,<rule>]: <reason>\")"),
                path,
            ));
            return s;
        }
        let mut refused = Vec::new();
        for rule in rules.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            if any_glob(allowed, rule) {
                s.honoured.push(rule.to_string());
            } else {
                refused.push(rule);
            }
        }
        if !refused.is_empty() {
            s.problem = Some((
                format!(
                    "annotation {IGNORE_ANNOTATION_KEY} asks to suppress {} but the policy does not allow inline suppression of {} (suppressions.inline)",
                    refused.join(", "),
                    if refused.len() == 1 { "it" } else { "them" }
                ),
                path,
            ));
        }
        s
    }

    /// Whether the annotation suppresses `rule`.
    pub fn covers(&self, rule: &str) -> bool {
        self.honoured.iter().any(|r| glob_match(r, rule))
    }

    /// The violation of [`IGNORE_ANNOTATION`] when the annotation is not honoured.
    pub fn problem(&self) -> Option<Violation> {
        let (message, path) = self.problem.as_ref()?;
        Some(Violation {
            message: message.clone(),
            container: None,
            path: path.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ObjectRef;
    use crate::policy::Exemption;
    use std::sync::Arc;

    fn finding(rule: &'static str, namespace: &str) -> Finding {
        Finding {
            rule,
            severity: Severity::High,
            message: String::new(),
            object: Arc::new(ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: Some(namespace.into()),
                name: "web".into(),
            }),
            container: Some("app".into()),
            path: String::new(),
            file: "f.yaml".into(),
            line: 1,
            column: 1,
            remediation: "",
        }
    }

    fn exemption(rules: &[&str], images: &[&str], expires: Option<Date>) -> Exemption {
        Exemption {
            rules: rules.iter().map(|s| s.to_string()).collect(),
            namespaces: vec!["kube-system".into()],
            names: Vec::new(),
            kinds: Vec::new(),
            images: images.iter().map(|s| s.to_string()).collect(),
            reason: "test".into(),
            owner: None,
            expires,
            line: 1,
        }
    }

    fn today() -> Date {
        Date::parse("2026-12-02").unwrap_or(Date::from_days(0))
    }

    #[test]
    fn settings_turn_rules_off_and_change_severity() {
        let mut policy = Policy::default();
        policy.rules.push(crate::policy::RuleSetting {
            rule: "pss/*".into(),
            enabled: None,
            severity: Some(Severity::Low),
        });
        policy.rules.push(crate::policy::RuleSetting {
            rule: "image/digest".into(),
            enabled: Some(false),
            severity: None,
        });
        let gate = Gate::new(&policy, today());
        match gate.judge_default(finding("pss/privileged", "default"), None) {
            Verdict::Keep(f) => assert_eq!(f.severity, Severity::Low),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            gate.judge_default(finding("image/digest", "default"), None),
            Verdict::Disabled
        ));
    }

    #[test]
    fn image_exemptions_cover_only_findings_about_that_image() {
        let mut policy = Policy::default();
        policy
            .exemptions
            .push(exemption(&["pss/*"], &["registry.k8s.io/**"], None));
        let gate = Gate::new(&policy, today());
        assert!(gate.has_image_exemptions());
        let f = || finding("pss/privileged", "kube-system");
        assert!(matches!(
            gate.judge_default(f(), Some("registry.k8s.io/kube-proxy:v1")),
            Verdict::Suppressed
        ));
        assert!(matches!(
            gate.judge_default(f(), Some("docker.io/evil:1")),
            Verdict::Keep(_)
        ));
        assert!(matches!(gate.judge_default(f(), None), Verdict::Keep(_)));
    }

    #[test]
    fn expired_exemptions_no_longer_apply() {
        let mut policy = Policy::default();
        policy
            .exemptions
            .push(exemption(&["pss/*"], &[], Date::parse("2026-12-01")));
        let gate = Gate::new(&policy, today());
        assert!(matches!(
            gate.judge_default(finding("pss/privileged", "kube-system"), None),
            Verdict::Keep(_)
        ));
        let before = Gate::new(&policy, Date::parse("2026-11-30").unwrap_or(today()));
        assert!(matches!(
            before.judge_default(finding("pss/privileged", "kube-system"), None),
            Verdict::Suppressed
        ));
    }
}
