//! `hostPorts`: host ports bind the node's network interfaces.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/hostPorts",
        title: "HostPorts should be disallowed",
        severity: Severity::Medium,
        level: Some(PssLevel::Baseline),
        rationale: "A hostPort binds a port on the node itself, bypassing network policies and exposing the pod on the node's address.",
        remediation: "Remove hostPort from container ports (set it to 0) and expose the pod through a Service.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    // API defaulting: with hostNetwork, an unset hostPort defaults to the
    // containerPort, and admission sees the defaulted value.
    let host_network = pod.spec().get("hostNetwork").and_then(|n| n.as_bool()) == Some(true);
    for c in pod.containers() {
        let ports = c.node.get("ports").map(|p| p.items()).unwrap_or_default();
        for (j, port) in ports.iter().enumerate() {
            let explicit = port.get("hostPort").and_then(|n| n.as_i64()).unwrap_or(0);
            let (host_port, defaulted) = if explicit == 0 && host_network {
                let cp = port
                    .get("containerPort")
                    .and_then(|n| n.as_i64())
                    .unwrap_or(0);
                (cp, true)
            } else {
                (explicit, false)
            };
            if host_port != 0 {
                let mut path = c.rel(&["ports"]);
                path.push(Seg::Index(j));
                if !defaulted {
                    path.push(Seg::key("hostPort"));
                }
                let note = if defaulted {
                    " (defaulted from containerPort because hostNetwork=true)"
                } else {
                    ""
                };
                out.push(pod.spec_violation(
                    path,
                    Some(c.name),
                    format!(
                        "hostPort: container {:?} uses hostPort {host_port}{note}",
                        c.name
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn host_port_fails_baseline_at_the_port() {
        let f = findings(
            &pod(
                "",
                "    ports:\n    - containerPort: 80\n      hostPort: 8080\n",
            ),
            "baseline",
            "latest",
        );
        assert_eq!(f[0].rule, "pss/hostPorts");
        assert_eq!(f[0].path, "spec.containers[0].ports[0].hostPort");
        assert!(f[0].message.contains("8080"));
    }

    #[test]
    fn host_network_defaults_host_port_from_container_port() {
        let f = ids(
            &pod(
                "  hostNetwork: true\n",
                "    ports:\n    - containerPort: 80\n",
            ),
            "baseline",
            "latest",
        );
        assert_eq!(f, ["pss/hostNamespaces", "pss/hostPorts"]);
    }

    #[test]
    fn container_port_alone_passes() {
        let y = pod(
            "",
            "    ports:\n    - containerPort: 80\n      hostPort: 0\n",
        );
        assert!(ids(&y, "restricted", "latest").is_empty());
    }
}
