//! kube-apiserver authentication: static password and token files, and
//! anonymous requests.
//! <https://kubernetes.io/docs/reference/access-authn-authz/authentication/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL};

/// `controlplane/apiserver-basic-auth-file`.
pub static BASIC_AUTH_FILE: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-basic-auth-file",
        title: "API server accepts static passwords (--basic-auth-file)",
        severity: Severity::Critical,
        level: None,
        rationale: "--basic-auth-file makes the API server accept HTTP basic authentication against a CSV file of user names and clear-text passwords kept on the control-plane host: passwords that never expire, cannot be rotated without a restart, and are sent with every request. The flag was deprecated in 1.16 and removed in Kubernetes 1.19 (an API server of 1.19 or later refuses to start with it), but it is still seen in manifests of old clusters, where it often grants cluster-admin to a shared account.",
        remediation: "Remove --basic-auth-file and the password file; authenticate people with OIDC or client certificates and automation with ServiceAccount tokens, then upgrade the cluster past 1.18.",
        references: &[
            "CIS Kubernetes Benchmark v1.6 1.2.2 (removed from later versions with the flag)",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/reference/access-authn-authz/authentication/",
        ],
    },
    eval: basic_auth_file,
};

fn basic_auth_file(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    if let Some(f) = i.flags.last("basic-auth-file") {
        out.push(i.violation(
            Some(f),
            format!(
                "{} is set: static clear-text passwords authenticate API requests (the flag was removed in Kubernetes 1.19)",
                i.setting(&f.name)
            ),
        ));
    }
}

/// `controlplane/apiserver-token-auth-file`.
pub static TOKEN_AUTH_FILE: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-token-auth-file",
        title: "API server accepts static bearer tokens (--token-auth-file)",
        severity: Severity::High,
        level: None,
        rationale: "--token-auth-file makes the API server accept the bearer tokens listed in a CSV file on the control-plane host. The tokens never expire, are kept in clear text, and can only be changed by editing the file and restarting every API server, so a leaked token stays valid until someone notices. CIS 1.2.2 requires the flag to be unset.",
        remediation: "Remove --token-auth-file and the token file; use OIDC or client certificates for people and short-lived ServiceAccount tokens (TokenRequest) for automation. Bootstrap tokens (--enable-bootstrap-token-auth) cover the node-join case with expiring tokens.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.2",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#static-token-file",
        ],
    },
    eval: token_auth_file,
};

fn token_auth_file(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    if let Some(f) = i.flags.last("token-auth-file") {
        out.push(i.violation(
            Some(f),
            format!(
                "{} is set: static bearer tokens that never expire authenticate API requests",
                i.setting(&f.name)
            ),
        ));
    }
}

/// `controlplane/apiserver-anonymous-auth`.
pub static ANONYMOUS_AUTH: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-anonymous-auth",
        title: "API server accepts anonymous requests",
        severity: Severity::Medium,
        level: None,
        rationale: "With anonymous authentication on (the default: --anonymous-auth is true unless set to false, and kubeadm does not set it), a request without credentials is served as system:anonymous in group system:unauthenticated. Whatever RBAC grants those subjects, by default the version and health endpoints and by mistake far more (a binding to system:unauthenticated is a common misconfiguration), is open to anyone who reaches the port. CIS 1.2.1 asks for --anonymous-auth=false. When --authentication-config is set, the AuthenticationConfiguration file may configure anonymous access (1.32+) and an unset flag is not reported.",
        remediation: "Set --anonymous-auth=false, or from 1.32 use an AuthenticationConfiguration (--authentication-config) whose anonymous section allows only /livez, /readyz and /healthz, which the kubelet's probes of a kubeadm API server need. Check that nothing is bound to system:anonymous or system:unauthenticated.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.1",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests",
        ],
    },
    eval: anonymous_auth,
};

fn anonymous_auth(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    match i.flags.last("anonymous-auth") {
        Some(f) if f.as_bool() == Some(false) => {}
        Some(f) => out.push(i.violation(
            Some(f),
            format!(
                "{} lets requests without credentials in as system:anonymous; set it to false",
                i.written(f)
            ),
        )),
        None if i.flags.has("authentication-config") => {}
        None => out.push(i.violation(
            None,
            "--anonymous-auth is not set and defaults to true: requests without credentials are served as system:anonymous; set --anonymous-auth=false".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, hardened, scan, with_flag};

    #[test]
    fn basic_auth_file_fails_at_its_element_and_kubeadms_manifest_passes() {
        const ID: &str = "controlplane/apiserver-basic-auth-file";
        assert!(scan(&apiserver(), ID).is_empty());
        let f = scan(
            &with_flag(
                &apiserver(),
                "--basic-auth-file=/etc/kubernetes/passwords.csv",
            ),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert_eq!(f[0].severity, palisade_core::Severity::Critical);
        assert_eq!(f[0].container.as_deref(), Some("kube-apiserver"));
    }

    #[test]
    fn token_auth_file_fails_in_the_space_form_at_the_flags_element() {
        const ID: &str = "controlplane/apiserver-token-auth-file";
        assert!(scan(&apiserver(), ID).is_empty());
        let y = with_flag(
            &apiserver(),
            "--token-auth-file\n    - /etc/kubernetes/tokens.csv",
        );
        let f = scan(&y, ID);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert!(
            f[0].message.starts_with(
                "kube-apiserver in container \"kube-apiserver\": --token-auth-file is set"
            ),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn anonymous_auth_unset_fails_at_the_command_and_false_passes() {
        const ID: &str = "controlplane/apiserver-anonymous-auth";
        let f = scan(&apiserver(), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert!(
            f[0].message.contains("defaults to true"),
            "{}",
            f[0].message
        );
        assert!(scan(&with_flag(&apiserver(), "--anonymous-auth=false"), ID).is_empty());
        // The hardened manifest configures anonymous access in an AuthenticationConfiguration.
        assert!(scan(&hardened("kube-apiserver.yaml"), ID).is_empty());
        let f = scan(&with_flag(&apiserver(), "--anonymous-auth=true"), ID);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
    }
}
