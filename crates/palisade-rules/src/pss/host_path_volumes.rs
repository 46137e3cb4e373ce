//! `hostPathVolumes`: hostPath volumes mount the node's filesystem.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/hostPathVolumes",
        title: "HostPath volumes are forbidden",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "A hostPath volume gives the pod the node's files: the container runtime socket, kubelet credentials, or the whole root filesystem.",
        remediation: "Replace hostPath volumes with emptyDir, configMap, secret, projected or persistentVolumeClaim volumes.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    let volumes = pod
        .spec()
        .get("volumes")
        .map(|v| v.items())
        .unwrap_or_default();
    for (i, v) in volumes.iter().enumerate() {
        if v.get("hostPath").is_some() {
            let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("");
            out.push(pod.spec_violation(
                vec![Seg::key("volumes"), Seg::Index(i), Seg::key("hostPath")],
                None,
                format!("hostPath volumes: volume {name:?} uses hostPath"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn host_path_volume_fails_baseline() {
        let f = findings(
            &pod("  volumes:\n  - name: root\n    hostPath: {path: /}\n", ""),
            "baseline",
            "latest",
        );
        assert_eq!(f[0].rule, "pss/hostPathVolumes");
        assert_eq!(f[0].path, "spec.volumes[0].hostPath");
    }

    #[test]
    fn empty_dir_volume_passes() {
        let y = pod("  volumes:\n  - name: scratch\n    emptyDir: {}\n", "");
        assert!(ids(&y, "baseline", "latest").is_empty());
    }
}
