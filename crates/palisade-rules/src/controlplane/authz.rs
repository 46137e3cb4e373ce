//! kube-apiserver authorization modes (`--authorization-mode`, a string
//! slice: `Node,RBAC`, or repeated flags that append). Unset, the API
//! server's default is `AlwaysAllow`. With `--authorization-config` the
//! authorizers are in an AuthorizationConfiguration file that cannot be
//! seen here, and these rules say nothing.
//! <https://kubernetes.io/docs/reference/access-authn-authz/authorization/#authorization-modules>

use palisade_core::{RuleMeta, Severity, Violation};

use super::flags::Flag;
use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL};

const AUTHZ_URL: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/authorization/#authorization-modules";

/// The modes in effect, each with the flag that set it (`None`: the default).
fn modes<'i>(i: &'i Instance<'_>) -> Option<Vec<(&'i str, Option<&'i Flag>)>> {
    if i.component != Component::ApiServer || i.flags.has("authorization-config") {
        return None;
    }
    let written: Vec<(&str, Option<&Flag>)> = i
        .flags
        .items("authorization-mode")
        .into_iter()
        .map(|(m, f)| (m, Some(f)))
        .collect();
    Some(if written.is_empty() {
        vec![("AlwaysAllow", None)]
    } else {
        written
    })
}

/// `controlplane/apiserver-always-allow`.
pub static ALWAYS_ALLOW: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-always-allow",
        title: "API server authorizes every request (AlwaysAllow)",
        severity: Severity::Critical,
        level: None,
        rationale: "The AlwaysAllow authorizer allows every request it is asked about: placed in --authorization-mode, any authenticated user (and, with anonymous authentication on, anyone) can do anything, whatever RBAC says. It is also what the API server uses when --authorization-mode is not set at all. CIS 1.2.6 requires AlwaysAllow to be absent.",
        remediation: "Set --authorization-mode=Node,RBAC (kubeadm's value), or an AuthorizationConfiguration (--authorization-config) with the Node and RBAC authorizers, and grant access with RBAC.",
        references: &["CIS Kubernetes Benchmark v1.9 1.2.6", CIS_URL, APISERVER_URL, AUTHZ_URL],
    },
    eval: always_allow,
};

fn always_allow(i: &Instance<'_>, out: &mut Vec<Violation>) {
    let Some(modes) = modes(i) else { return };
    for (_, f) in modes.iter().filter(|(m, _)| *m == "AlwaysAllow") {
        let message = match f {
            Some(f) => format!(
                "{} includes AlwaysAllow: every request is authorized, whatever RBAC says",
                i.written(f)
            ),
            None => "--authorization-mode is not set and defaults to AlwaysAllow: every request is authorized; set --authorization-mode=Node,RBAC".to_string(),
        };
        out.push(i.violation(*f, message));
    }
}

/// `controlplane/apiserver-authorization-node`.
pub static AUTHORIZATION_NODE: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-authorization-node",
        title: "API server does not use the Node authorizer",
        severity: Severity::Medium,
        level: None,
        rationale: "The Node authorizer limits each kubelet (user system:node:<name>) to the objects of the pods bound to its node: their Secrets, ConfigMaps and volumes. Without it a kubelet's credentials, taken from any compromised node, are judged by RBAC alone, where the system:nodes group commonly reads every Secret of the cluster. CIS 1.2.7 requires Node in --authorization-mode (with the NodeRestriction admission plugin, 1.2.14, for writes).",
        remediation: "Set --authorization-mode=Node,RBAC, Node first.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.7",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/reference/access-authn-authz/node/",
        ],
    },
    eval: authorization_node,
};

fn authorization_node(i: &Instance<'_>, out: &mut Vec<Violation>) {
    missing_mode(
        i,
        "Node",
        "kubelets are not limited to their own pods' objects",
        out,
    );
}

/// `controlplane/apiserver-authorization-rbac`.
pub static AUTHORIZATION_RBAC: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-authorization-rbac",
        title: "API server does not use the RBAC authorizer",
        severity: Severity::High,
        level: None,
        rationale: "Without RBAC in --authorization-mode, Roles, ClusterRoles and their bindings grant and limit nothing: access is decided by the other modes (AlwaysAllow allows everything, ABAC is a static file that needs a restart to change, a webhook is out of the cluster's sight). CIS 1.2.8 requires RBAC.",
        remediation: "Set --authorization-mode=Node,RBAC and express access as Roles and bindings.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.8",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/reference/access-authn-authz/rbac/",
        ],
    },
    eval: authorization_rbac,
};

fn authorization_rbac(i: &Instance<'_>, out: &mut Vec<Violation>) {
    missing_mode(i, "RBAC", "Roles and bindings have no effect", out);
}

/// Reports `mode` missing from the modes in effect: at the last
/// `--authorization-mode` (the one to change) or where it would be added.
fn missing_mode(i: &Instance<'_>, mode: &str, effect: &str, out: &mut Vec<Violation>) {
    let Some(modes) = modes(i) else { return };
    if modes.iter().any(|(m, _)| *m == mode) {
        return;
    }
    let last = i.flags.last("authorization-mode");
    let message = match last {
        Some(f) => format!("{} does not include {mode}: {effect}", i.written(f)),
        None => format!(
            "--authorization-mode is not set (AlwaysAllow): {mode} is not used and {effect}; set --authorization-mode=Node,RBAC"
        ),
    };
    out.push(i.violation(last, message));
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, scan, with_flag, without};

    #[test]
    fn always_allow_fails_where_it_is_written_or_when_the_mode_is_unset() {
        const ID: &str = "controlplane/apiserver-always-allow";
        assert!(scan(&apiserver(), ID).is_empty());
        let f = scan(
            &with_flag(&apiserver(), "--authorization-mode=AlwaysAllow"),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        let f = scan(&without(&apiserver(), "--authorization-mode"), ID);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert!(
            f[0].message.contains("defaults to AlwaysAllow"),
            "{}",
            f[0].message
        );
        // An AuthorizationConfiguration file holds the authorizers instead.
        let y = with_flag(
            &without(&apiserver(), "--authorization-mode"),
            "--authorization-config=/etc/kubernetes/authz.yaml",
        );
        assert!(scan(&y, ID).is_empty());
    }

    #[test]
    fn a_repeated_mode_flag_appends_so_a_later_node_is_not_lost() {
        // kubeadm writes --authorization-mode=Node,RBAC; a second one adds to it.
        let y = with_flag(&apiserver(), "--authorization-mode=Webhook");
        assert!(scan(&y, "controlplane/apiserver-authorization-node").is_empty());
        assert!(scan(&y, "controlplane/apiserver-authorization-rbac").is_empty());
    }

    #[test]
    fn a_mode_list_without_node_fails_at_the_flag() {
        const ID: &str = "controlplane/apiserver-authorization-node";
        assert!(scan(&apiserver(), ID).is_empty());
        let y = with_flag(
            &without(&apiserver(), "--authorization-mode"),
            "--authorization-mode=RBAC",
        );
        let f = scan(&y, ID);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert!(
            f[0].message
                .contains("--authorization-mode=RBAC does not include Node"),
            "{}",
            f[0].message
        );
        assert!(scan(&y, "controlplane/apiserver-authorization-rbac").is_empty());
    }

    #[test]
    fn a_mode_list_without_rbac_fails_at_the_flag() {
        const ID: &str = "controlplane/apiserver-authorization-rbac";
        assert!(scan(&apiserver(), ID).is_empty());
        let y = with_flag(
            &without(&apiserver(), "--authorization-mode"),
            "--authorization-mode=Node,ABAC",
        );
        let f = scan(&y, ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
    }
}
