//! `capabilities_baseline`: only the runtime's default capabilities may be added.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/capabilities_baseline",
        title: "Adding capabilities beyond the default set is disallowed",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "Capabilities such as SYS_ADMIN, NET_ADMIN or SYS_PTRACE give a container powers that lead straight to the host.",
        remediation: "Add only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID or SYS_CHROOT (exact, upper-case names without CAP_).",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

const ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    for c in pod.containers() {
        let added = c
            .sc("capabilities")
            .and_then(|caps| caps.get("add"))
            .map(Node::items)
            .unwrap_or_default();
        for (j, cap) in added.iter().enumerate() {
            let name = cap.as_str().unwrap_or("");
            if !ALLOWED.contains(&name) {
                let mut path = c.rel(&["securityContext", "capabilities", "add"]);
                path.push(Seg::Index(j));
                let msg = format!(
                    "non-default capabilities: container {:?} must not include {name:?} in securityContext.capabilities.add",
                    c.name
                );
                out.push(pod.spec_violation(path, Some(c.name), msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids};

    fn adding(cap: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      capabilities:\n        add: [{cap}]\n")
    }

    #[test]
    fn sys_admin_fails_baseline_at_its_list_entry() {
        let f = findings(&adding("SYS_ADMIN"), "baseline", "latest");
        assert_eq!(f[0].rule, "pss/capabilities_baseline");
        assert_eq!(
            f[0].path,
            "spec.containers[0].securityContext.capabilities.add[0]"
        );
        assert_eq!(f[0].line, 10);
    }

    #[test]
    fn names_compare_exactly() {
        assert!(ids(&adding("CHOWN"), "baseline", "latest").is_empty());
        assert_eq!(
            ids(&adding("chown"), "baseline", "latest"),
            ["pss/capabilities_baseline"]
        );
        assert_eq!(
            ids(&adding("CAP_CHOWN"), "baseline", "latest"),
            ["pss/capabilities_baseline"]
        );
    }
}
