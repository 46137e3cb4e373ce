//! A kubeadm `ClusterConfiguration` (`kubeadm.k8s.io/v1beta3`, `v1beta4`)
//! as the static pod manifests kubeadm writes from it: for kube-apiserver,
//! kube-controller-manager, kube-scheduler and the local etcd, kubeadm's
//! own flags, with each `extraArgs` name replacing kubeadm's flag of that
//! name, followed by the `extraArgs` in order. The same rules then judge
//! them as a command line; a setting neither kubeadm nor `extraArgs`
//! writes has the program's default, and is reported at the component's
//! `extraArgs` (where it would be added).
//!
//! `extraArgs` is a map of name to value up to v1beta3 and a list of
//! `{name, value}` from v1beta4 (where a name may repeat). An external
//! etcd (`etcd.external`) is not kubeadm's to configure and is skipped.
//! kubeadm's flags are those of `cmd/kubeadm/app/phases/controlplane/manifests.go`
//! and `cmd/kubeadm/app/phases/etcd/local.go` (addresses are placeholders:
//! no rule reads them).
//! <https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/>

use std::borrow::Cow;

use palisade_core::{Node, Seg, Value};

use super::flags::{Flag, Flags};
use super::source::{Component, Instance, Origin};

/// The ClusterConfiguration key of each component kubeadm writes a static pod for.
const COMPONENTS: [(Component, &[&str]); 4] = [
    (Component::ApiServer, &["apiServer"]),
    (Component::ControllerManager, &["controllerManager"]),
    (Component::Scheduler, &["scheduler"]),
    (Component::Etcd, &["etcd", "local"]),
];

/// The flags kubeadm writes for kube-apiserver. `--authorization-mode` is
/// left out when `extraArgs` sets `authorization-config`.
const APISERVER: &[(&str, &str)] = &[
    ("advertise-address", "<advertise-address>"),
    ("allow-privileged", "true"),
    ("authorization-mode", "Node,RBAC"),
    ("client-ca-file", "/etc/kubernetes/pki/ca.crt"),
    ("enable-admission-plugins", "NodeRestriction"),
    ("enable-bootstrap-token-auth", "true"),
    ("etcd-cafile", "/etc/kubernetes/pki/etcd/ca.crt"),
    (
        "etcd-certfile",
        "/etc/kubernetes/pki/apiserver-etcd-client.crt",
    ),
    (
        "etcd-keyfile",
        "/etc/kubernetes/pki/apiserver-etcd-client.key",
    ),
    ("etcd-servers", "https://127.0.0.1:2379"),
    (
        "kubelet-client-certificate",
        "/etc/kubernetes/pki/apiserver-kubelet-client.crt",
    ),
    (
        "kubelet-client-key",
        "/etc/kubernetes/pki/apiserver-kubelet-client.key",
    ),
    (
        "kubelet-preferred-address-types",
        "InternalIP,ExternalIP,Hostname",
    ),
    (
        "proxy-client-cert-file",
        "/etc/kubernetes/pki/front-proxy-client.crt",
    ),
    (
        "proxy-client-key-file",
        "/etc/kubernetes/pki/front-proxy-client.key",
    ),
    ("requestheader-allowed-names", "front-proxy-client"),
    (
        "requestheader-client-ca-file",
        "/etc/kubernetes/pki/front-proxy-ca.crt",
    ),
    ("requestheader-extra-headers-prefix", "X-Remote-Extra-"),
    ("requestheader-group-headers", "X-Remote-Group"),
    ("requestheader-username-headers", "X-Remote-User"),
    ("secure-port", "6443"),
    (
        "service-account-issuer",
        "https://kubernetes.default.svc.cluster.local",
    ),
    ("service-account-key-file", "/etc/kubernetes/pki/sa.pub"),
    (
        "service-account-signing-key-file",
        "/etc/kubernetes/pki/sa.key",
    ),
    ("service-cluster-ip-range", "10.96.0.0/12"),
    ("tls-cert-file", "/etc/kubernetes/pki/apiserver.crt"),
    ("tls-private-key-file", "/etc/kubernetes/pki/apiserver.key"),
];

/// The flags kubeadm writes for kube-controller-manager.
const CONTROLLER_MANAGER: &[(&str, &str)] = &[
    (
        "authentication-kubeconfig",
        "/etc/kubernetes/controller-manager.conf",
    ),
    (
        "authorization-kubeconfig",
        "/etc/kubernetes/controller-manager.conf",
    ),
    ("bind-address", "127.0.0.1"),
    ("client-ca-file", "/etc/kubernetes/pki/ca.crt"),
    ("cluster-name", "kubernetes"),
    ("cluster-signing-cert-file", "/etc/kubernetes/pki/ca.crt"),
    ("cluster-signing-key-file", "/etc/kubernetes/pki/ca.key"),
    ("controllers", "*,bootstrapsigner,tokencleaner"),
    ("kubeconfig", "/etc/kubernetes/controller-manager.conf"),
    ("leader-elect", "true"),
    (
        "requestheader-client-ca-file",
        "/etc/kubernetes/pki/front-proxy-ca.crt",
    ),
    ("root-ca-file", "/etc/kubernetes/pki/ca.crt"),
    (
        "service-account-private-key-file",
        "/etc/kubernetes/pki/sa.key",
    ),
    ("use-service-account-credentials", "true"),
];

/// The flags kubeadm writes for kube-scheduler.
const SCHEDULER: &[(&str, &str)] = &[
    (
        "authentication-kubeconfig",
        "/etc/kubernetes/scheduler.conf",
    ),
    ("authorization-kubeconfig", "/etc/kubernetes/scheduler.conf"),
    ("bind-address", "127.0.0.1"),
    ("kubeconfig", "/etc/kubernetes/scheduler.conf"),
    ("leader-elect", "true"),
];

/// The flags kubeadm writes for its local etcd.
const ETCD: &[(&str, &str)] = &[
    ("advertise-client-urls", "https://<advertise-address>:2379"),
    ("cert-file", "/etc/kubernetes/pki/etcd/server.crt"),
    ("client-cert-auth", "true"),
    ("data-dir", "/var/lib/etcd"),
    (
        "initial-advertise-peer-urls",
        "https://<advertise-address>:2380",
    ),
    ("initial-cluster", "<node>=https://<advertise-address>:2380"),
    ("key-file", "/etc/kubernetes/pki/etcd/server.key"),
    (
        "listen-client-urls",
        "https://127.0.0.1:2379,https://<advertise-address>:2379",
    ),
    ("listen-metrics-urls", "http://127.0.0.1:2381"),
    ("listen-peer-urls", "https://<advertise-address>:2380"),
    ("name", "<node>"),
    ("peer-cert-file", "/etc/kubernetes/pki/etcd/peer.crt"),
    ("peer-client-cert-auth", "true"),
    ("peer-key-file", "/etc/kubernetes/pki/etcd/peer.key"),
    ("peer-trusted-ca-file", "/etc/kubernetes/pki/etcd/ca.crt"),
    ("snapshot-count", "10000"),
    ("trusted-ca-file", "/etc/kubernetes/pki/etcd/ca.crt"),
];

/// Appends the instances of a ClusterConfiguration's components to `out`.
pub fn instances<'a>(root: &Node, out: &mut Vec<Instance<'a>>) {
    for (component, keys) in COMPONENTS {
        if component == Component::Etcd && root.get_path(&["etcd", "external"]).is_some() {
            continue;
        }
        let mut at: Vec<Seg> = keys.iter().map(|k| Seg::key(k)).collect();
        at.push(Seg::key("extraArgs"));
        let extra = extra_args(root.get_path(keys).and_then(|n| n.get("extraArgs")), &at);
        let defaults = match component {
            Component::ApiServer => APISERVER,
            Component::ControllerManager => CONTROLLER_MANAGER,
            Component::Scheduler => SCHEDULER,
            Component::Etcd | Component::Kubelet => ETCD,
        };
        let authz_file = extra.iter().any(|f| f.name == "authorization-config");
        let mut flags = Flags::default();
        for (name, value) in defaults {
            let replaced = extra.iter().any(|f| f.name == *name);
            if replaced || (*name == "authorization-mode" && authz_file) {
                continue;
            }
            flags.push(Flag {
                name: (*name).to_string(),
                value: Some((*value).to_string()),
                path: at.clone(),
            });
        }
        for f in extra {
            flags.push(f);
        }
        out.push(Instance {
            component,
            origin: Origin::Kubeadm,
            flags,
            missing_at: at,
            container: None,
            subject: format!("{} of the kubeadm ClusterConfiguration", component.binary()),
        });
    }
}

/// The `extraArgs` of a component, at their entries.
fn extra_args(node: Option<&Node>, at: &[Seg]) -> Vec<Flag> {
    let Some(node) = node else {
        return Vec::new();
    };
    let text = |n: &Node| -> Option<String> {
        match &n.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            _ => None,
        }
    };
    let flag = |name: &str, value: Option<String>, path: Vec<Seg>| Flag {
        // kubeadm writes `--name=value`; the component reads `_` as `-`.
        name: name.trim_start_matches('-').replace('_', "-"),
        value: Some(value.unwrap_or_default()),
        path,
    };
    let child = |seg: Seg| {
        let mut p = at.to_vec();
        p.push(seg);
        p
    };
    match &node.value {
        // v1beta3 and earlier: a map.
        Value::Map(entries) => entries
            .iter()
            .map(|e| {
                flag(
                    &e.key,
                    text(&e.node),
                    child(Seg::Key(Cow::Owned(e.key.clone()))),
                )
            })
            .collect(),
        // v1beta4: a list of {name, value}.
        Value::Seq(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let name = item.get("name").and_then(Node::as_str)?;
                Some(flag(
                    name,
                    item.get("value").and_then(text),
                    child(Seg::Index(i)),
                ))
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{ids, scan};

    const V1BETA3: &str = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.31.0\napiServer:\n  extraArgs:\n    authorization-mode: AlwaysAllow\n    profiling: \"false\"\n";

    #[test]
    fn v1beta3_extra_args_replace_kubeadms_flag_of_the_same_name() {
        let f = scan(V1BETA3, "controlplane/apiserver-always-allow");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].path, "apiServer.extraArgs.authorization-mode");
        assert_eq!(f[0].line, 6);
        assert!(
            f[0].message
                .contains("kube-apiserver of the kubeadm ClusterConfiguration"),
            "{}",
            f[0].message
        );
        // Node and RBAC were kubeadm's, and are gone with its authorization-mode.
        assert_eq!(
            scan(V1BETA3, "controlplane/apiserver-authorization-node").len(),
            1
        );
        // profiling: false in extraArgs; the other components keep the default.
        let p: Vec<String> = scan(V1BETA3, "controlplane/profiling")
            .iter()
            .map(|f| f.path.clone())
            .collect();
        assert_eq!(p, ["controllerManager.extraArgs", "scheduler.extraArgs"]);
    }

    #[test]
    fn v1beta4_extra_args_are_a_list_and_a_setting_kubeadm_does_not_write_is_reported() {
        let y = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: anonymous-auth\n    value: \"false\"\n  - name: enable-admission-plugins\n    value: AlwaysAdmit\n";
        assert!(scan(y, "controlplane/apiserver-anonymous-auth").is_empty());
        let f = scan(y, "controlplane/apiserver-always-admit");
        assert_eq!(f[0].path, "apiServer.extraArgs[1]");
        // kubeadm's NodeRestriction was replaced.
        assert_eq!(
            scan(y, "controlplane/apiserver-node-restriction")[0].path,
            "apiServer.extraArgs[1]"
        );
        // Nothing written: kubeadm does not set --anonymous-auth, which defaults to true.
        let bare = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n";
        let f = scan(bare, "controlplane/apiserver-anonymous-auth");
        assert_eq!(f[0].path, "apiServer.extraArgs");
        assert_eq!(f[0].line, 1);
    }

    #[test]
    fn kubeadms_own_flags_pass_the_etcd_and_authorization_rules() {
        let bare = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n";
        let got = ids(bare);
        assert_eq!(
            got,
            [
                "controlplane/apiserver-anonymous-auth",
                "controlplane/apiserver-encryption-provider-config",
                "controlplane/apiserver-audit-log",
                "controlplane/apiserver-kubelet-certificate-authority",
                "controlplane/profiling",
                "controlplane/profiling",
                "controlplane/profiling",
            ]
        );
    }

    #[test]
    fn an_external_etcd_is_not_checked_and_a_local_ones_extra_args_are() {
        let ext = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [http://10.0.0.5:2379]\n";
        assert!(ids(ext)
            .iter()
            .all(|id| !id.starts_with("controlplane/etcd-")));
        let local = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  local:\n    extraArgs:\n      client-cert-auth: \"false\"\n";
        let f = scan(local, "controlplane/etcd-client-cert-auth");
        assert_eq!(f[0].path, "etcd.local.extraArgs.client-cert-auth");
    }
}
