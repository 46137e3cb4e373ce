//! `sysctls`: only namespaced, safe sysctls may be set.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/sysctls",
        title: "Only the safe subset of sysctls may be set",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "Sysctls outside the safe set are not isolated between pods on a node, or can exhaust node resources: setting them affects every workload on the node.",
        remediation: "Remove sysctls that are not in the safe set for the policy version (kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range, net.ipv4.ip_unprivileged_port_start, and the later additions).",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

/// The safe set at `version`.
fn allowed(name: &str, version: PssVersion) -> bool {
    match name {
        "kernel.shm_rmid_forced"
        | "net.ipv4.ip_local_port_range"
        | "net.ipv4.tcp_syncookies"
        | "net.ipv4.ping_group_range"
        | "net.ipv4.ip_unprivileged_port_start" => true,
        "net.ipv4.ip_local_reserved_ports" => version.at_least(27),
        "net.ipv4.tcp_keepalive_time"
        | "net.ipv4.tcp_fin_timeout"
        | "net.ipv4.tcp_keepalive_intvl"
        | "net.ipv4.tcp_keepalive_probes" => version.at_least(29),
        "net.ipv4.tcp_rmem" | "net.ipv4.tcp_wmem" => version.at_least(32),
        "net.ipv4.tcp_slow_start_after_idle" | "net.ipv4.tcp_notsent_lowat" => version.at_least(37),
        _ => false,
    }
}

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    let sysctls = pod.sc("sysctls").map(Node::items).unwrap_or_default();
    for (i, s) in sysctls.iter().enumerate() {
        let name = s.get("name").and_then(Node::as_str).unwrap_or("");
        if !allowed(name, version) {
            let path = vec![
                Seg::key("securityContext"),
                Seg::key("sysctls"),
                Seg::Index(i),
                Seg::key("name"),
            ];
            out.push(pod.spec_violation(path, None, format!("forbidden sysctls: {name:?}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids};

    fn with_sysctl(name: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  securityContext:\n    sysctls:\n    - name: {name}\n      value: '1'\n  containers:\n  - name: c\n    image: x\n")
    }

    #[test]
    fn unsafe_sysctl_fails_baseline() {
        let f = findings(&with_sysctl("kernel.msgmax"), "baseline", "latest");
        assert_eq!(f[0].rule, "pss/sysctls");
        assert_eq!(f[0].path, "spec.securityContext.sysctls[0].name");
    }

    #[test]
    fn safe_set_grows_with_version() {
        let y = with_sysctl("net.ipv4.tcp_notsent_lowat");
        assert!(ids(&y, "baseline", "v1.37").is_empty());
        assert_eq!(ids(&y, "baseline", "v1.36"), ["pss/sysctls"]);
        assert!(ids(&with_sysctl("net.ipv4.tcp_syncookies"), "baseline", "v1.0").is_empty());
    }
}
