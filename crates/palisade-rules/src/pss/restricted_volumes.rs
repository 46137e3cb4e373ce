//! `restrictedVolumes`: restricted pods may only use volume types that keep
//! data inside the cluster's control.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/restrictedVolumes",
        title: "Only the restricted set of volume types may be used",
        severity: Severity::High,
        level: Some(PssLevel::Restricted),
        rationale: "Volume types other than configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret reach host paths or network storage directly, bypassing PersistentVolume access control.",
        remediation: "Use a persistentVolumeClaim (or another allowed type) instead of hostPath and in-tree network volumes.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &["pss/hostPathVolumes"],
    eval,
};

const ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
    "image",
];

const RESTRICTED: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    let volumes = pod
        .spec()
        .get("volumes")
        .map(Node::items)
        .unwrap_or_default();
    for (i, v) in volumes.iter().enumerate() {
        // As upstream: any allowed source makes the volume allowed.
        if ALLOWED.iter().any(|k| v.get(k).is_some()) {
            continue;
        }
        // A volume with no known source is defaulted to emptyDir by the API
        // server before admission, so it is allowed too.
        let Some(kind) = RESTRICTED.iter().find(|k| v.get(k).is_some()) else {
            continue;
        };
        let name = v.get("name").and_then(Node::as_str).unwrap_or("");
        out.push(pod.spec_violation(
            vec![Seg::key("volumes"), Seg::Index(i), Seg::key(kind)],
            None,
            format!(
                "restricted volume types: volume {name:?} uses restricted volume type {kind:?}"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn nfs_volume_fails_restricted_but_not_baseline() {
        let y = pod(
            "  volumes:\n  - name: v\n    nfs: {server: s, path: /}\n",
            "",
        );
        let f = findings(&y, "restricted", "latest");
        assert_eq!(f[0].rule, "pss/restrictedVolumes");
        assert_eq!(f[0].path, "spec.volumes[0].nfs");
        assert!(ids(&y, "baseline", "latest").is_empty());
    }

    #[test]
    fn host_path_is_reported_once_at_restricted() {
        let y = pod("  volumes:\n  - name: v\n    hostPath: {path: /}\n", "");
        assert_eq!(ids(&y, "restricted", "latest"), ["pss/restrictedVolumes"]);
    }

    #[test]
    fn volume_with_only_a_name_is_defaulted_to_empty_dir() {
        let y = pod("  volumes:\n  - name: v\n", "");
        assert!(ids(&y, "restricted", "latest").is_empty());
    }
}
