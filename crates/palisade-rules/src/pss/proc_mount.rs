//! `procMount` (baseline): the default /proc mask hides sensitive kernel
//! interfaces; from v1.35 an Unmasked /proc is allowed in a user namespace.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::{PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/procMount",
        title: "The default /proc masks must be kept",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "An Unmasked /proc exposes kernel interfaces (sysrq-trigger, kcore, timer lists) that the runtime normally hides from containers.",
        remediation: "Remove securityContext.procMount or set it to Default (from v1.35 baseline allows Unmasked only with spec.hostUsers: false).",
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
    check_proc_mount(pod, out);
}

/// Reports every container whose procMount is set to anything but `Default`.
pub(super) fn check_proc_mount(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    for c in pod.containers() {
        let Some(node) = c.sc("procMount") else {
            continue;
        };
        let value = node.as_str().unwrap_or("");
        if value != "Default" {
            out.push(pod.container_violation(
                &c,
                &["securityContext", "procMount"],
                format!(
                    "procMount: container {:?} must not set securityContext.procMount={value:?}",
                    c.name
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{ids, pod};

    #[test]
    fn unmasked_proc_fails_baseline_unless_user_namespace_from_v1_35() {
        let y = pod("", "      procMount: Unmasked\n");
        assert_eq!(ids(&y, "baseline", "latest"), ["pss/procMount"]);
        let userns = pod("  hostUsers: false\n", "      procMount: Unmasked\n");
        assert!(ids(&userns, "baseline", "v1.35").is_empty());
        assert_eq!(ids(&userns, "baseline", "v1.34"), ["pss/procMount"]);
    }

    #[test]
    fn default_proc_mount_passes() {
        assert!(ids(
            &pod("", "      procMount: Default\n"),
            "restricted",
            "latest"
        )
        .is_empty());
    }
}
