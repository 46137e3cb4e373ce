//! `seccompProfile_restricted` (v1.19): every container must run with a
//! seccomp profile, set on the container or inherited from the pod.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{seccomp_baseline::valid_type, Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/seccompProfile_restricted",
        title: "Seccomp profile must be RuntimeDefault or Localhost",
        severity: Severity::Medium,
        level: Some(PssLevel::Restricted),
        rationale: "Without a seccomp profile a container may call every system call the kernel offers; most kernel exploits start with one a workload never needs.",
        remediation: "Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost with a profile) so that every container inherits it.",
        references: &[PSS_URL],
    },
    since: 19,
    overrides: &["pss/seccompProfile_baseline"],
    eval,
};

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    if version.at_least(25) && pod.is_windows() {
        return;
    }
    let mut pod_set = false;
    if let Some(profile) = pod.sc("seccompProfile") {
        let t = profile.get("type").and_then(Node::as_str).unwrap_or("");
        if valid_type(t) {
            pod_set = true;
        } else {
            let path = vec![
                Seg::key("securityContext"),
                Seg::key("seccompProfile"),
                Seg::key("type"),
            ];
            let msg = format!(
                "seccompProfile: pod must not set securityContext.seccompProfile.type to {t:?}"
            );
            out.push(pod.spec_violation(path, None, msg));
        }
    }
    for c in pod.containers() {
        match c.sc("seccompProfile") {
            Some(profile) => {
                let t = profile.get("type").and_then(Node::as_str).unwrap_or("");
                if !valid_type(t) {
                    let msg = format!(
                        "seccompProfile: container {:?} must not set securityContext.seccompProfile.type to {t:?}",
                        c.name
                    );
                    out.push(pod.container_violation(
                        &c,
                        &["securityContext", "seccompProfile", "type"],
                        msg,
                    ));
                }
            }
            None if !pod_set => {
                let msg = format!(
                    "seccompProfile: pod or container {:?} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                    c.name
                );
                out.push(pod.container_violation(&c, &["securityContext", "seccompProfile"], msg));
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids};

    const NO_SECCOMP: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true}\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities: {drop: [ALL]}\n";

    #[test]
    fn container_without_profile_fails_restricted_from_v1_19() {
        let f = findings(NO_SECCOMP, "restricted", "latest");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "pss/seccompProfile_restricted");
        assert_eq!(f[0].container.as_deref(), Some("c"));
        assert!(ids(NO_SECCOMP, "restricted", "v1.18").is_empty());
    }

    #[test]
    fn windows_pods_are_exempt_from_v1_25() {
        let y = NO_SECCOMP.replace("spec:\n", "spec:\n  os: {name: windows}\n");
        assert!(ids(&y, "restricted", "v1.25").is_empty());
        assert_eq!(
            ids(&y, "restricted", "v1.24"),
            ["pss/seccompProfile_restricted"]
        );
    }
}
