//! The mode stage: what the findings of a request do in its namespace's
//! mode. At or above the threshold they deny (`enforce`), become warnings
//! (`warn`) or audit annotations (`audit`); below it they are warnings.

use std::collections::BTreeMap;

use kube_core::admission::AdmissionRequest;
use kube_core::DynamicObject;
use palisade_core::policy::Mode;
use palisade_core::{Finding, Severity};

use super::messages::{rule_list, status_message, warning};
use super::{effective_severity, Decision};

/// What a decision carries besides allowed or denied.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    /// Warnings shown to the user (kubectl prints them).
    pub(super) warnings: Vec<String>,
    /// Audit annotations (`violations`, `pod-security-audit-…`).
    pub(super) audit: BTreeMap<String, String>,
    /// Every rule that found something.
    pub(super) rules: Vec<&'static str>,
}

/// The findings of a request and the dry-run constraints it violates.
pub(super) struct Found {
    pub(super) findings: Vec<Finding>,
    /// `rego/…` ids of `dryrun` constraints: recorded, never enforced.
    pub(super) dryrun: Vec<String>,
    /// ValidatingAdmissionPolicies' audit annotations.
    pub(super) annotations: BTreeMap<String, String>,
}

/// Applies the namespace's mode (`d.mode`) to `findings`: denies `d` in
/// enforce mode when a finding reaches `threshold`, and returns the
/// warnings, annotations and rules the findings give.
pub(super) fn judge(
    d: &mut Decision,
    req: &AdmissionRequest<DynamicObject>,
    findings: &[Finding],
    threshold: Severity,
) -> Verdict {
    let (blocking, other): (Vec<&Finding>, Vec<&Finding>) = findings
        .iter()
        .partition(|f| effective_severity(f) >= threshold);
    let mut v = Verdict {
        rules: findings.iter().map(|f| f.rule).collect(),
        ..Verdict::default()
    };
    let below: Vec<String> = other.iter().map(|f| warning(f)).collect();
    match d.mode {
        Mode::Enforce if !blocking.is_empty() => {
            d.outcome = "deny";
            d.response = d.response.clone().deny(status_message(
                &req.kind.kind,
                &d.name,
                &d.namespace,
                &blocking,
            ));
            d.response.result.code = 403;
            d.response.result.reason = "Forbidden".into();
        }
        Mode::Enforce => {}
        Mode::Warn => {
            if !blocking.is_empty() {
                d.outcome = "warn";
            }
            v.warnings.extend(blocking.iter().map(|f| warning(f)));
        }
        Mode::Audit => {
            if !blocking.is_empty() {
                d.outcome = "audit";
                v.audit.insert("violations".into(), rule_list(&blocking));
            }
        }
    }
    v.warnings.extend(below);
    v
}

impl Verdict {
    /// Writes the warnings and annotations into the response (no audit
    /// annotations for a dry run) and the rules into the decision.
    pub(super) fn finish(
        mut self,
        mut d: Decision,
        mut dryrun: Vec<String>,
        annotations: BTreeMap<String, String>,
        dry_run: bool,
    ) -> Decision {
        self.audit.extend(annotations);
        if !dryrun.is_empty() {
            dryrun.sort_unstable();
            dryrun.dedup();
            self.audit
                .insert("constraints-dryrun".into(), dryrun.join(","));
        }
        if !self.warnings.is_empty() {
            d.response.warnings = Some(self.warnings);
        }
        if !self.audit.is_empty() && !dry_run {
            self.audit.insert("mode".into(), d.mode.as_str().into());
            d.response.audit_annotations = self.audit.into_iter().collect();
        }
        self.rules.sort_unstable();
        self.rules.dedup();
        d.rules = self.rules;
        d
    }
}
