//! `privileged`: privileged containers disable most security mechanisms.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::{PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/privileged",
        title: "Privileged containers are disallowed",
        severity: Severity::Critical,
        level: Some(PssLevel::Baseline),
        rationale: "A privileged container runs with all capabilities and direct access to the host's devices: it is root on the node.",
        remediation: "Remove securityContext.privileged or set it to false on every container (init and ephemeral containers included).",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    for c in pod.containers() {
        if c.sc("privileged").and_then(|n| n.as_bool()) == Some(true) {
            out.push(pod.container_violation(
                &c,
                &["securityContext", "privileged"],
                format!(
                    "privileged: container {:?} must not set securityContext.privileged=true",
                    c.name
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn privileged_container_fails_baseline_at_its_field() {
        let f = findings(&pod("", "      privileged: true\n"), "baseline", "latest");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "pss/privileged");
        assert_eq!(f[0].path, "spec.containers[0].securityContext.privileged");
        assert_eq!((f[0].line, f[0].column), (15, 7));
    }

    #[test]
    fn unprivileged_container_passes() {
        assert!(ids(
            &pod("", "      privileged: false\n"),
            "restricted",
            "latest"
        )
        .is_empty());
    }
}
