//! `allowPrivilegeEscalation` (v1.8): containers must not be able to gain
//! privileges (setuid binaries, file capabilities).
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>

use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/allowPrivilegeEscalation",
        title: "Privilege escalation must be disallowed",
        severity: Severity::Medium,
        level: Some(PssLevel::Restricted),
        rationale: "Unless allowPrivilegeEscalation is false, a process can gain more privileges than its parent (setuid binaries, file capabilities), defeating runAsNonRoot and dropped capabilities.",
        remediation: "Set securityContext.allowPrivilegeEscalation: false on every container.",
        references: &[PSS_URL],
    },
    since: 8,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    if version.at_least(25) && pod.is_windows() {
        return;
    }
    for c in pod.containers() {
        if c.sc("allowPrivilegeEscalation").and_then(Node::as_bool) != Some(false) {
            let msg = format!(
                "allowPrivilegeEscalation != false: container {:?} must set securityContext.allowPrivilegeEscalation=false",
                c.name
            );
            out.push(pod.container_violation(
                &c,
                &["securityContext", "allowPrivilegeEscalation"],
                msg,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn escalation_allowed_fails_restricted_from_v1_8() {
        let y = pod("", "").replace(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: true",
        );
        let f = findings(&y, "restricted", "latest");
        assert_eq!(f[0].rule, "pss/allowPrivilegeEscalation");
        assert_eq!(
            f[0].path,
            "spec.containers[0].securityContext.allowPrivilegeEscalation"
        );
        assert!(ids(&y, "restricted", "v1.7").is_empty());
    }

    #[test]
    fn escalation_disallowed_passes() {
        assert!(ids(&pod("", ""), "restricted", "v1.8").is_empty());
    }
}
