//! `procMount_restricted` (v1.35): at restricted level the /proc mask must be
//! kept even in a user namespace.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>

use palisade_core::{PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{proc_mount::check_proc_mount, Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/procMount_restricted",
        title: "The default /proc masks must be kept, even in a user namespace",
        severity: Severity::High,
        level: Some(PssLevel::Restricted),
        rationale: "Restricted pods keep the default /proc masks whatever their user namespace: an Unmasked /proc still exposes kernel interfaces.",
        remediation: "Remove securityContext.procMount or set it to Default.",
        references: &[PSS_URL],
    },
    since: 35,
    overrides: &["pss/procMount"],
    eval,
};

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    check_proc_mount(pod, out);
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{ids, pod};

    #[test]
    fn unmasked_proc_fails_restricted_even_in_user_namespace() {
        let y = pod("  hostUsers: false\n", "      procMount: Unmasked\n");
        assert_eq!(
            ids(&y, "restricted", "latest"),
            ["pss/procMount_restricted"]
        );
        // Before v1.35 the baseline check runs at restricted level instead.
        let y = pod("", "      procMount: Unmasked\n");
        assert_eq!(ids(&y, "restricted", "v1.34"), ["pss/procMount"]);
    }

    #[test]
    fn default_proc_mount_passes_restricted() {
        let y = pod("  hostUsers: false\n", "      procMount: Default\n");
        assert!(ids(&y, "restricted", "latest").is_empty());
    }
}
