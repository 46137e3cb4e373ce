//! kube-apiserver encryption at rest: `--encryption-provider-config`.
//! The file itself (an EncryptionConfiguration) is judged by the
//! `encryption` pack when it is scanned.
//! <https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL};

/// `controlplane/apiserver-encryption-provider-config`.
pub static ENCRYPTION_PROVIDER_CONFIG: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-encryption-provider-config",
        title: "API server does not encrypt Secrets at rest",
        severity: Severity::High,
        level: None,
        rationale: "Without --encryption-provider-config the API server writes every Secret to etcd as plain protobuf: anyone who reads the etcd data directory, a snapshot or a backup, or holds an etcd client certificate, reads every credential of the cluster. kubeadm does not set the flag. CIS 1.2.27.",
        remediation: "Write an EncryptionConfiguration that encrypts at least secrets with kms v2 (or secretbox/aesgcm with a managed key), mount it into the API server pod, set --encryption-provider-config to its path on every API server, then rewrite existing Secrets: kubectl get secrets -A -o json | kubectl replace -f -.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.27",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/",
        ],
    },
    eval: encryption_provider_config,
};

fn encryption_provider_config(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer || i.flags.has_value("encryption-provider-config") {
        return;
    }
    let at = i.flags.last("encryption-provider-config");
    out.push(
        i.violation(
            at,
            "--encryption-provider-config is not set: Secrets are written to etcd unencrypted"
                .to_string(),
        ),
    );
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, scan, with_flag};

    const ID: &str = "controlplane/apiserver-encryption-provider-config";

    #[test]
    fn kubeadms_api_server_fails_at_the_command_and_the_flag_passes() {
        let f = scan(&apiserver(), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert_eq!(f[0].line, 14);
        let y = with_flag(
            &apiserver(),
            "--encryption-provider-config=/etc/kubernetes/enc/encryption-config.yaml",
        );
        assert!(scan(&y, ID).is_empty());
    }
}
