//! kube-apiserver's verification of kubelet serving certificates:
//! `--kubelet-certificate-authority`.
//! <https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#apiserver-to-kubelet>

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL};

/// `controlplane/apiserver-kubelet-certificate-authority`.
pub static KUBELET_CERTIFICATE_AUTHORITY: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-kubelet-certificate-authority",
        title: "API server does not verify kubelet serving certificates",
        severity: Severity::Medium,
        level: None,
        rationale: "The API server connects to kubelets for exec, attach, port-forward and logs. Without --kubelet-certificate-authority it does not verify the kubelet's serving certificate, so whoever can intercept or impersonate a node's address (ARP or DNS spoofing, a reused node IP) receives the exec sessions, port-forwards and log requests meant for that kubelet, and can answer them. kubeadm does not set it, because kubelets serve self-signed certificates by default. CIS 1.2.5.",
        remediation: "Have kubelets request serving certificates from the cluster CA (serverTLSBootstrap: true in the KubeletConfiguration, and approve their CSRs), then set --kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.5",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/concepts/architecture/control-plane-node-communication/#apiserver-to-kubelet",
        ],
    },
    eval: kubelet_certificate_authority,
};

fn kubelet_certificate_authority(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer || i.flags.has_value("kubelet-certificate-authority") {
        return;
    }
    out.push(i.violation(
        i.flags.last("kubelet-certificate-authority"),
        "--kubelet-certificate-authority is not set: kubelet serving certificates are not verified on exec, attach and logs".to_string(),
    ));
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, scan, with_flag};

    const ID: &str = "controlplane/apiserver-kubelet-certificate-authority";

    #[test]
    fn kubeadms_api_server_fails_and_the_flag_passes() {
        let f = scan(&apiserver(), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert!(scan(
            &with_flag(
                &apiserver(),
                "--kubelet-certificate-authority=/etc/kubernetes/pki/ca.crt"
            ),
            ID
        )
        .is_empty());
    }
}
