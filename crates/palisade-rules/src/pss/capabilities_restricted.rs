//! `capabilities_restricted` (v1.22): drop ALL, add back at most NET_BIND_SERVICE.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/capabilities_restricted",
        title: "Containers must drop ALL capabilities and add back only NET_BIND_SERVICE",
        severity: Severity::Medium,
        level: Some(PssLevel::Restricted),
        rationale: "Even the runtime's default capabilities (CHOWN, DAC_OVERRIDE, SETUID, ...) help an attacker who gets code execution; a workload rarely needs any.",
        remediation: "Set securityContext.capabilities.drop: [\"ALL\"] on every container and add back at most NET_BIND_SERVICE.",
        references: &[PSS_URL],
    },
    since: 22,
    overrides: &["pss/capabilities_baseline"],
    eval,
};

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    if version.at_least(25) && pod.is_windows() {
        return;
    }
    for c in pod.containers() {
        let caps = c.sc("capabilities");
        let dropped = caps
            .and_then(|k| k.get("drop"))
            .map(Node::items)
            .unwrap_or_default();
        let drops_all = dropped.iter().any(|d| d.as_str() == Some("ALL"));
        if !drops_all {
            let mut msg = format!(
                "unrestricted capabilities: container {:?} must set securityContext.capabilities.drop=[\"ALL\"]",
                c.name
            );
            // `all` drops every capability at runtime, but Pod Security
            // Admission compares the name as written.
            if let Some(other) = dropped
                .iter()
                .filter_map(Node::as_str)
                .find(|d| d.eq_ignore_ascii_case("ALL"))
            {
                msg.push_str(&format!(
                    " (it drops {other:?}: the comparison is case-sensitive, write \"ALL\")"
                ));
            }
            out.push(pod.container_violation(
                &c,
                &["securityContext", "capabilities", "drop"],
                msg,
            ));
        }
        let added = caps
            .and_then(|k| k.get("add"))
            .map(Node::items)
            .unwrap_or_default();
        for (j, cap) in added.iter().enumerate() {
            let name = cap.as_str().unwrap_or("");
            if name != "NET_BIND_SERVICE" {
                let mut path = c.rel(&["securityContext", "capabilities", "add"]);
                path.push(Seg::Index(j));
                let msg = format!(
                    "unrestricted capabilities: container {:?} must not include {name:?} in securityContext.capabilities.add",
                    c.name
                );
                out.push(pod.spec_violation(path, Some(c.name), msg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn missing_drop_all_fails_restricted_and_replaces_baseline_check() {
        let y = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities: {add: [SYS_ADMIN]}\n";
        let f = findings(y, "restricted", "latest");
        let ids: Vec<_> = f.iter().map(|f| f.rule).collect();
        assert_eq!(
            ids,
            ["pss/capabilities_restricted", "pss/capabilities_restricted"]
        );
        assert!(f[1].message.contains("SYS_ADMIN"));
    }

    #[test]
    fn lower_case_all_fails_and_says_the_comparison_is_case_sensitive() {
        let y = pod("", "").replace("{drop: [ALL]}", "{drop: [all]}");
        let f = findings(&y, "restricted", "latest");
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .ends_with("(it drops \"all\": the comparison is case-sensitive, write \"ALL\")"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn drop_all_with_net_bind_service_passes() {
        let y = pod("", "").replace("{drop: [ALL]}", "{drop: [ALL], add: [NET_BIND_SERVICE]}");
        assert!(ids(&y, "restricted", "latest").is_empty());
    }
}
