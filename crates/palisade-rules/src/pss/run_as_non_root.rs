//! `runAsNonRoot`: containers must be required to run as non-root users.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/runAsNonRoot",
        title: "Containers must be required to run as non-root users",
        severity: Severity::Medium,
        level: Some(PssLevel::Restricted),
        rationale: "Root in a container is root on the node's kernel: one escape or one writable host mount away from owning the node. runAsNonRoot makes the kubelet refuse to start an image that would run as uid 0.",
        remediation: "Set spec.securityContext.runAsNonRoot: true (or on every container) and build images with a non-root USER.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    if version.at_least(35) && pod.in_user_namespace() {
        return;
    }
    let mut pod_non_root = false;
    match pod.sc("runAsNonRoot").and_then(Node::as_bool) {
        Some(true) => pod_non_root = true,
        Some(false) => out.push(pod.spec_violation(
            vec![Seg::key("securityContext"), Seg::key("runAsNonRoot")],
            None,
            "runAsNonRoot != true: pod must not set securityContext.runAsNonRoot=false".into(),
        )),
        None => {}
    }
    for c in pod.containers() {
        let path = &["securityContext", "runAsNonRoot"];
        match c.sc("runAsNonRoot").and_then(Node::as_bool) {
            Some(true) => {}
            Some(false) => {
                let msg = format!(
                    "runAsNonRoot != true: container {:?} must not set securityContext.runAsNonRoot=false",
                    c.name
                );
                out.push(pod.container_violation(&c, path, msg));
            }
            None if !pod_non_root => {
                let msg = format!(
                    "runAsNonRoot != true: pod or container {:?} must set securityContext.runAsNonRoot=true",
                    c.name
                );
                out.push(pod.container_violation(&c, path, msg));
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn container_overriding_pod_non_root_fails() {
        let f = findings(
            &pod("", "      runAsNonRoot: false\n"),
            "restricted",
            "latest",
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "pss/runAsNonRoot");
        assert_eq!(f[0].path, "spec.containers[0].securityContext.runAsNonRoot");
    }

    #[test]
    fn user_namespace_relaxes_from_v1_35() {
        let y =
            pod("  hostUsers: false\n", "").replace("runAsNonRoot: true", "runAsNonRoot: false");
        assert!(ids(&y, "restricted", "v1.35").is_empty());
        assert!(!ids(&y, "restricted", "v1.34").is_empty());
    }
}
