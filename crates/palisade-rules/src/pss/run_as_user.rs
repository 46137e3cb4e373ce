//! `runAsUser` (v1.23): containers must not set runAsUser to 0.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/runAsUser",
        title: "Containers must not set runAsUser to 0",
        severity: Severity::High,
        level: Some(PssLevel::Restricted),
        rationale: "runAsUser: 0 runs the container as root whatever the image says.",
        remediation: "Remove runAsUser: 0 or set a non-zero uid at pod and container level.",
        references: &[PSS_URL],
    },
    since: 23,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    if version.at_least(35) && pod.in_user_namespace() {
        return;
    }
    if pod.sc("runAsUser").and_then(Node::as_i64) == Some(0) {
        out.push(pod.spec_violation(
            vec![Seg::key("securityContext"), Seg::key("runAsUser")],
            None,
            "runAsUser=0: pod must not set runAsUser=0".into(),
        ));
    }
    for c in pod.containers() {
        if c.sc("runAsUser").and_then(Node::as_i64) == Some(0) {
            let msg = format!(
                "runAsUser=0: container {:?} must not set runAsUser=0",
                c.name
            );
            out.push(pod.container_violation(&c, &["securityContext", "runAsUser"], msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn uid_zero_fails_restricted_from_v1_23() {
        let y = pod("", "      runAsUser: 0\n");
        let f = findings(&y, "restricted", "latest");
        assert_eq!(f[0].rule, "pss/runAsUser");
        assert!(ids(&y, "restricted", "v1.22").is_empty());
    }

    #[test]
    fn non_zero_uid_passes() {
        assert!(ids(&pod("", "      runAsUser: 1000\n"), "restricted", "latest").is_empty());
    }
}
