//! The Pod Security Admission namespace labels: which level and version a
//! namespace enforces, and the `warn` and `audit` labels, which add
//! warnings and audit annotations whatever the decision.
//! <https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces>

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_core::{Finding, PssLevel, PssVersion};
use palisade_scan::Scan;

use super::messages::{rule_list, truncate, warning};
use super::request::Read;
use super::verdict::Verdict;

/// The prefix of the Pod Security Admission namespace labels.
const PSA_LABEL: &str = "pod-security.kubernetes.io/";

/// The levels and versions that a namespace's labels select.
pub(super) struct PsaLabels {
    /// What `enforce` selects, else the policy's own level and version.
    pub(super) enforce: (PssLevel, PssVersion),
    pub(super) warn: Option<(PssLevel, PssVersion)>,
    pub(super) audit: Option<(PssLevel, PssVersion)>,
}

impl PsaLabels {
    pub(super) fn of(
        labels: Option<&BTreeMap<String, String>>,
        level: PssLevel,
        version: PssVersion,
    ) -> PsaLabels {
        let get = |mode: &str| -> Option<(PssLevel, PssVersion)> {
            let labels = labels?;
            let l = labels.get(&format!("{PSA_LABEL}{mode}"))?;
            // An invalid level is read as restricted, as upstream does.
            let l = l.parse::<PssLevel>().unwrap_or(PssLevel::Restricted);
            let v = labels
                .get(&format!("{PSA_LABEL}{mode}-version"))
                .and_then(|v| v.parse::<PssVersion>().ok())
                .unwrap_or(PssVersion::Latest);
            Some((l, v))
        };
        PsaLabels {
            enforce: get("enforce").unwrap_or((level, version)),
            warn: get("warn"),
            audit: get("audit"),
        }
    }

    /// The PSA labels stage: the object checked by the Pod Security
    /// Standards rules alone (`pss_scan`) at the `warn` level (each
    /// violation a warning worded as the API server words it) and at the
    /// `audit` level (the rules, as one audit annotation).
    pub(super) fn apply(
        &self,
        r: &Read,
        pss_scan: impl Fn(PssLevel, PssVersion) -> Arc<Scan>,
        verdict: &mut Verdict,
    ) {
        // Warnings and annotations only: a check that fails is logged and
        // adds nothing (the enforce stage has already failed closed on it).
        let check = |(level, version): (PssLevel, PssVersion)| -> Vec<Finding> {
            super::scan_objects(&pss_scan(level, version), r.objects()).unwrap_or_else(|e| {
                tracing::error!("pod security label check failed: {e}");
                Vec::new()
            })
        };
        if let Some((level, version)) = self.warn {
            for f in check((level, version)) {
                verdict.warnings.push(truncate(format!(
                    "would violate PodSecurity \"{level}:{version}\": {}",
                    warning(&f)
                )));
                verdict.rules.push(f.rule);
            }
        }
        if let Some((level, version)) = self.audit {
            let pss = check((level, version));
            if !pss.is_empty() {
                let refs: Vec<&Finding> = pss.iter().collect();
                verdict.audit.insert(
                    format!("pod-security-audit-{level}-{version}"),
                    rule_list(&refs),
                );
                verdict.rules.extend(pss.iter().map(|f| f.rule));
            }
        }
    }
}
