//! The kubelet's API: anonymous requests, authorization, the read-only
//! port and client certificate rotation, from a KubeletConfiguration
//! file (`kubelet.config.k8s.io/v1beta1`) or a container running
//! `kubelet` with flags.
//!
//! The two have different defaults. In the file, unset fields are safe
//! (upstream `v1beta1` defaults: `authentication.anonymous.enabled: false`,
//! `authorization.mode: Webhook`, `readOnlyPort: 0`); on the command line
//! they are not (`--anonymous-auth=true`, `--authorization-mode=AlwaysAllow`,
//! `--read-only-port=10255`). A kubelet started with `--config` takes what
//! its flags leave unset from that file, which is not seen here: an unset
//! flag is then not reported (scan the file itself). `rotateCertificates`
//! and `--rotate-certificates` are false by default in both; CIS 4.2.10
//! passes them unset, and only an explicit false is reported.
//! <https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::flags::Flag;
use super::source::{Component, Instance, Origin};
use super::{Check, CIS_URL, KUBELET_CONFIG_URL, KUBELET_URL};

const KUBELET_AUTH_URL: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-authn-authz/";

/// What an unset setting means for this instance: `Some(default)` when the
/// flag's default applies, `None` when it is safe (a file) or unknown
/// (a command line with `--config`).
fn unset_default(i: &Instance<'_>, flag_default: &'static str) -> Option<&'static str> {
    match i.origin {
        Origin::KubeletFile => None,
        _ if i.flags.has("config") => None,
        _ => Some(flag_default),
    }
}

/// Whether the instance is a kubelet.
fn is_kubelet(i: &Instance<'_>) -> bool {
    i.component == Component::Kubelet
}

/// `controlplane/kubelet-anonymous-auth`.
pub static ANONYMOUS_AUTH: Check = Check {
    meta: RuleMeta {
        id: "controlplane/kubelet-anonymous-auth",
        title: "Kubelet accepts anonymous requests",
        severity: Severity::High,
        level: None,
        rationale: "With anonymous authentication on, requests to the kubelet's API (port 10250) without credentials are served as system:anonymous; with the AlwaysAllow authorizer (the command-line default) that is exec into every pod of the node and its logs, for anyone who reaches the port. The command-line default of --anonymous-auth is true; in a KubeletConfiguration file authentication.anonymous.enabled defaults to false (kubeadm writes false). CIS 4.2.1.",
        remediation: "Set authentication.anonymous.enabled: false in the KubeletConfiguration (or --anonymous-auth=false), with authentication.webhook.enabled: true and authentication.x509.clientCAFile so the API server and monitoring can still authenticate.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 4.2.1",
            CIS_URL,
            KUBELET_CONFIG_URL,
            KUBELET_URL,
            KUBELET_AUTH_URL,
        ],
    },
    eval: anonymous_auth,
};

fn anonymous_auth(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if !is_kubelet(i) {
        return;
    }
    match i.flags.last("anonymous-auth") {
        Some(f) if f.as_bool() == Some(false) => {}
        Some(f) => out.push(i.violation(
            Some(f),
            format!(
                "{} lets requests without credentials use the kubelet's API",
                i.written(f)
            ),
        )),
        None => {
            if let Some(d) = unset_default(i, "true") {
                out.push(i.violation(
                    None,
                    format!("--anonymous-auth is not set and defaults to {d}: requests without credentials use the kubelet's API"),
                ));
            }
        }
    }
}

/// `controlplane/kubelet-authorization-mode`.
pub static AUTHORIZATION_MODE: Check = Check {
    meta: RuleMeta {
        id: "controlplane/kubelet-authorization-mode",
        title: "Kubelet authorizes every request (AlwaysAllow)",
        severity: Severity::High,
        level: None,
        rationale: "With authorization mode AlwaysAllow, every authenticated request to the kubelet's API is allowed: any client certificate from the cluster CA or any ServiceAccount token (with webhook authentication) can exec into every pod of the node and read its logs. Webhook mode asks the API server (SubjectAccessReview) instead. The command-line default of --authorization-mode is AlwaysAllow; in a KubeletConfiguration file authorization.mode defaults to Webhook (kubeadm writes Webhook). CIS 4.2.2.",
        remediation: "Set authorization.mode: Webhook in the KubeletConfiguration (or --authorization-mode=Webhook) with authentication.webhook.enabled: true.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 4.2.2",
            CIS_URL,
            KUBELET_CONFIG_URL,
            KUBELET_URL,
            KUBELET_AUTH_URL,
        ],
    },
    eval: authorization_mode,
};

fn authorization_mode(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if !is_kubelet(i) {
        return;
    }
    match i.flags.last("authorization-mode") {
        Some(f) if f.text().trim() == "AlwaysAllow" => out.push(i.violation(
            Some(f),
            format!(
                "{}: every authenticated request to the kubelet's API is allowed; use Webhook",
                i.written(f)
            ),
        )),
        Some(_) => {}
        None => {
            if let Some(d) = unset_default(i, "AlwaysAllow") {
                out.push(i.violation(
                    None,
                    format!("--authorization-mode is not set and defaults to {d}: every authenticated request to the kubelet's API is allowed; set --authorization-mode=Webhook"),
                ));
            }
        }
    }
}

/// `controlplane/kubelet-read-only-port`.
pub static READ_ONLY_PORT: Check = Check {
    meta: RuleMeta {
        id: "controlplane/kubelet-read-only-port",
        title: "Kubelet serves the unauthenticated read-only port",
        severity: Severity::Medium,
        level: None,
        rationale: "The read-only port serves the kubelet's pod list (with every pod's spec: environment variables, images, volumes), node stats and metrics over plain HTTP to anyone, with no authentication or authorization. The command-line default of --read-only-port is 10255; in a KubeletConfiguration file readOnlyPort defaults to 0, which disables it (kubeadm expects 0 and warns otherwise). CIS 4.2.4.",
        remediation: "Set readOnlyPort: 0 in the KubeletConfiguration (or --read-only-port=0) and scrape metrics from the authenticated port 10250.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 4.2.4",
            CIS_URL,
            KUBELET_CONFIG_URL,
            KUBELET_URL,
        ],
    },
    eval: read_only_port,
};

fn read_only_port(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if !is_kubelet(i) {
        return;
    }
    match i.flags.last("read-only-port") {
        Some(f) if f.text().trim().parse::<i64>() == Ok(0) => {}
        Some(f) => out.push(i.violation(
            Some(f),
            format!(
                "{} serves pod specs and node stats over HTTP without authentication",
                i.written(f)
            ),
        )),
        None => {
            if let Some(d) = unset_default(i, "10255") {
                out.push(i.violation(
                    None,
                    format!("--read-only-port is not set and defaults to {d}: pod specs and node stats are served over HTTP without authentication; set --read-only-port=0"),
                ));
            }
        }
    }
}

/// `controlplane/kubelet-rotate-certificates`.
pub static ROTATE_CERTIFICATES: Check = Check {
    meta: RuleMeta {
        id: "controlplane/kubelet-rotate-certificates",
        title: "Kubelet client certificate rotation is turned off",
        severity: Severity::Low,
        level: None,
        rationale: "With rotation off the kubelet keeps its client certificate until it expires: the credential stays valid for its whole lifetime (a year under kubeadm) if it leaks, and the node drops out of the cluster when it expires. With rotateCertificates: true the kubelet requests a new certificate from the certificates.k8s.io API as the old one nears expiry. Upstream, an unset field (and flag) means false, but CIS 4.2.10 passes it unset because installers (kubeadm) write true; only an explicit false is reported.",
        remediation: "Set rotateCertificates: true in the KubeletConfiguration (or --rotate-certificates=true); kubeadm's CSR approvers handle the renewals.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 4.2.10",
            CIS_URL,
            KUBELET_CONFIG_URL,
            KUBELET_URL,
            "https://kubernetes.io/docs/reference/access-authn-authz/kubelet-tls-bootstrapping/#certificate-rotation",
        ],
    },
    eval: rotate_certificates,
};

fn rotate_certificates(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if !is_kubelet(i) {
        return;
    }
    let explicit_false = |f: &&Flag| f.as_bool() == Some(false);
    if let Some(f) = i.flags.last("rotate-certificates").filter(explicit_false) {
        out.push(i.violation(
            Some(f),
            format!(
                "{}: the kubelet's client certificate is never renewed",
                i.written(f)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{example, hardened, scan};

    const FILE: &str = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n";

    fn kubelet_pod(flags: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: node-agent}}\nspec:\n  containers:\n  - name: kubelet\n    image: registry.example.com/kubelet:v1.31.0\n    command: [/usr/bin/kubelet{flags}]\n")
    }

    #[test]
    fn anonymous_true_in_the_file_fails_and_unset_or_kubeadms_false_passes() {
        const ID: &str = "controlplane/kubelet-anonymous-auth";
        assert!(scan(&example("kubelet-config.yaml"), ID).is_empty());
        // Unset in the file: upstream v1beta1 defaults to false.
        assert!(scan(FILE, ID).is_empty());
        let f = scan(
            &format!("{FILE}authentication:\n  anonymous:\n    enabled: true\n"),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "authentication.anonymous.enabled");
        assert_eq!(f[0].line, 5);
        assert!(
            f[0].message
                .contains("authentication.anonymous.enabled: true"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn anonymous_flag_unset_fails_without_a_config_file() {
        const ID: &str = "controlplane/kubelet-anonymous-auth";
        let f = scan(&kubelet_pod(""), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert!(
            f[0].message.contains("defaults to true"),
            "{}",
            f[0].message
        );
        assert!(scan(&kubelet_pod(", --config=/var/lib/kubelet/config.yaml"), ID).is_empty());
        assert!(scan(&kubelet_pod(", --anonymous-auth=false"), ID).is_empty());
        let f = scan(
            &kubelet_pod(", --config=/var/lib/kubelet/config.yaml, --anonymous-auth"),
            ID,
        );
        assert_eq!(f[0].path, "spec.containers[0].command[2]");
    }

    #[test]
    fn always_allow_fails_in_the_file_and_unset_means_webhook() {
        const ID: &str = "controlplane/kubelet-authorization-mode";
        assert!(scan(&example("kubelet-config.yaml"), ID).is_empty());
        assert!(scan(FILE, ID).is_empty());
        let f = scan(&format!("{FILE}authorization: {{mode: AlwaysAllow}}\n"), ID);
        assert_eq!(f[0].path, "authorization.mode");
        let f = scan(&kubelet_pod(""), ID);
        assert!(
            f[0].message.contains("defaults to AlwaysAllow"),
            "{}",
            f[0].message
        );
        assert!(scan(&kubelet_pod(", --authorization-mode=Webhook"), ID).is_empty());
    }

    #[test]
    fn a_read_only_port_fails_and_zero_or_unset_in_the_file_passes() {
        const ID: &str = "controlplane/kubelet-read-only-port";
        assert!(scan(&example("kubelet-config.yaml"), ID).is_empty());
        assert!(scan(&format!("{FILE}readOnlyPort: 0\n"), ID).is_empty());
        let f = scan(&format!("{FILE}readOnlyPort: 10255\n"), ID);
        assert_eq!(f[0].path, "readOnlyPort");
        assert_eq!(f[0].line, 3);
        let f = scan(&kubelet_pod(""), ID);
        assert!(
            f[0].message.contains("defaults to 10255"),
            "{}",
            f[0].message
        );
        assert!(scan(&kubelet_pod(", --read-only-port, '0'"), ID).is_empty());
    }

    #[test]
    fn rotate_certificates_false_fails_and_true_or_unset_passes() {
        const ID: &str = "controlplane/kubelet-rotate-certificates";
        assert!(scan(&example("kubelet-config.yaml"), ID).is_empty());
        assert!(scan(&hardened("kubelet-config.yaml"), ID).is_empty());
        assert!(scan(FILE, ID).is_empty());
        let f = scan(&format!("{FILE}rotateCertificates: false\n"), ID);
        assert_eq!(f[0].path, "rotateCertificates");
        let f = scan(&kubelet_pod(", --rotate-certificates=false"), ID);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert!(scan(&kubelet_pod(""), ID).is_empty());
    }
}
