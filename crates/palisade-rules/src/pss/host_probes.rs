//! `hostProbesAndHostLifecycle` (v1.34): probes and lifecycle handlers must
//! not name a host, or the kubelet can be made to reach any address.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/hostProbesAndHostLifecycle",
        title: "Probes and lifecycle handlers must not set a host",
        severity: Severity::Medium,
        level: Some(PssLevel::Baseline),
        rationale: "The kubelet performs httpGet and tcpSocket probes and lifecycle hooks from the node; a host field turns it into a request forwarder to any address the node can reach (server-side request forgery).",
        remediation: "Remove the host field from httpGet/tcpSocket in livenessProbe, readinessProbe, startupProbe and lifecycle postStart/preStop; the pod IP is used by default.",
        references: &[PSS_URL],
    },
    since: 34,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    const HANDLERS: [(&str, Option<&str>); 5] = [
        ("livenessProbe", None),
        ("readinessProbe", None),
        ("startupProbe", None),
        ("lifecycle", Some("postStart")),
        ("lifecycle", Some("preStop")),
    ];
    for c in pod.containers() {
        for (outer, inner) in HANDLERS {
            let Some(mut handler) = c.node.get(outer) else {
                continue;
            };
            let mut path = c.rel(&[outer]);
            if let Some(inner) = inner {
                let Some(h) = handler.get(inner) else {
                    continue;
                };
                handler = h;
                path.push(Seg::key(inner));
            }
            for action in ["httpGet", "tcpSocket"] {
                let host = handler
                    .get(action)
                    .and_then(|a| a.get("host"))
                    .and_then(|h| h.as_str())
                    .unwrap_or("");
                if !host.is_empty() {
                    let mut p = path.clone();
                    p.extend([Seg::key(action), Seg::key("host")]);
                    let what = inner.unwrap_or(outer);
                    out.push(pod.spec_violation(
                        p,
                        Some(c.name),
                        format!(
                            "probe or lifecycle host: container {:?} uses {what} {action} host {host:?}",
                            c.name
                        ),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    const PROBE: &str = "    livenessProbe:\n      httpGet: {host: 169.254.169.254, port: 80}\n";

    #[test]
    fn probe_host_fails_from_v1_34_only() {
        let f = findings(&pod("", PROBE), "baseline", "v1.34");
        assert_eq!(f[0].rule, "pss/hostProbesAndHostLifecycle");
        assert_eq!(f[0].path, "spec.containers[0].livenessProbe.httpGet.host");
        assert!(ids(&pod("", PROBE), "baseline", "v1.33").is_empty());
    }

    #[test]
    fn probe_without_host_passes() {
        let y = pod(
            "",
            "    lifecycle:\n      preStop:\n        tcpSocket: {port: 80}\n",
        );
        assert!(ids(&y, "restricted", "latest").is_empty());
    }
}
