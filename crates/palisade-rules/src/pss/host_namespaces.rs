//! `hostNamespaces`: sharing the host's network, PID or IPC namespace.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::{PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{keys, Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/hostNamespaces",
        title: "Sharing the host namespaces is disallowed",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "hostNetwork exposes the node's interfaces and loopback services; hostPID lets the pod see and signal every process on the node; hostIPC shares its shared memory.",
        remediation: "Remove spec.hostNetwork, spec.hostPID and spec.hostIPC, or set them to false.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    for field in ["hostNetwork", "hostPID", "hostIPC"] {
        if pod.spec().get(field).and_then(|n| n.as_bool()) == Some(true) {
            out.push(pod.spec_violation(
                keys(&[field]),
                None,
                format!("host namespaces: {field}=true"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn host_pid_fails_baseline() {
        let f = findings(&pod("  hostPID: true\n", ""), "baseline", "v1.0");
        assert_eq!(f[0].rule, "pss/hostNamespaces");
        assert_eq!(f[0].path, "spec.hostPID");
        assert!(f[0].message.contains("hostPID=true"));
    }

    #[test]
    fn host_network_false_passes() {
        assert!(ids(&pod("  hostNetwork: false\n", ""), "baseline", "latest").is_empty());
    }
}
