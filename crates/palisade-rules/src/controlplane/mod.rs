//! The `controlplane` rule pack: how kube-apiserver, kube-controller-manager,
//! kube-scheduler, etcd and the kubelet are configured, judged against the
//! CIS Kubernetes Benchmark (v1.9 ids, as kube-bench's `cis-1.9` checks
//! them) on the files where that configuration lives.
//!
//! Read from ([`source`]): every container of a Pod (the static pod
//! manifests of `/etc/kubernetes/manifests`) or any other workload that
//! runs a component, recognised by its command's program name
//! (`kube-apiserver`, `/usr/local/bin/etcd`, `sh -c "exec etcd ..."`,
//! `hyperkube apiserver`) or, without a command, by its image
//! (`registry.k8s.io/kube-apiserver:v1.31.0`), never by the pod's name;
//! `KubeletConfiguration` files; and kubeadm `ClusterConfiguration`s
//! ([`kubeadm`]). Flags are read as the components read them ([`flags`]);
//! a finding points at the `command`/`args` element that sets the flag,
//! or at the container's `command` when the flag is missing.
//! docs/controlplane.md describes the pack.

use palisade_core::{Context, Rule, RuleMeta, Target, Violation};

mod admission;
mod audit_log;
mod authn;
mod authz;
mod encryption_provider;
mod etcd_auth;
mod etcd_tls;
pub mod flags;
mod insecure_port;
mod kubeadm;
mod kubelet;
mod kubelet_ca;
mod profiling;
pub mod source;

use source::Instance;

/// The CIS Kubernetes Benchmark.
pub const CIS_URL: &str = "https://www.cisecurity.org/benchmark/kubernetes";

/// kube-apiserver's flag reference.
pub const APISERVER_URL: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-apiserver/";

/// kube-controller-manager's flag reference.
pub const CONTROLLER_MANAGER_URL: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-controller-manager/";

/// kube-scheduler's flag reference.
pub const SCHEDULER_URL: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-scheduler/";

/// The kubelet's flag reference.
pub const KUBELET_URL: &str =
    "https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/";

/// The KubeletConfiguration (v1beta1) reference.
pub const KUBELET_CONFIG_URL: &str =
    "https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/";

/// The Kubernetes task page on operating etcd.
pub const ETCD_URL: &str =
    "https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/";

/// etcd's transport security guide (its flags).
pub const ETCD_SECURITY_URL: &str = "https://etcd.io/docs/v3.5/op-guide/security/";

/// A rule of this pack: a check of one component instance at a time.
pub struct Check {
    /// Catalog entry.
    pub meta: RuleMeta,
    /// Appends the violations of one instance.
    pub(crate) eval: fn(&Instance<'_>, &mut Vec<Violation>),
}

impl Rule for Check {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        for i in source::instances(target) {
            (self.eval)(&i, out);
        }
    }
}

/// The rules of this pack, in `palisade rules` order: the one list the
/// engine runs and the catalog shows.
pub static RULES: &[&dyn Rule] = &[
    &authn::BASIC_AUTH_FILE,
    &authn::TOKEN_AUTH_FILE,
    &authn::ANONYMOUS_AUTH,
    &authz::ALWAYS_ALLOW,
    &authz::AUTHORIZATION_NODE,
    &authz::AUTHORIZATION_RBAC,
    &insecure_port::INSECURE_PORT,
    &admission::ALWAYS_ADMIT,
    &admission::NODE_RESTRICTION,
    &admission::PODSECURITY_DISABLED,
    &encryption_provider::ENCRYPTION_PROVIDER_CONFIG,
    &audit_log::AUDIT_LOG,
    &kubelet_ca::KUBELET_CERTIFICATE_AUTHORITY,
    &profiling::PROFILING,
    &etcd_tls::TLS,
    &etcd_auth::CLIENT_CERT_AUTH,
    &etcd_tls::AUTO_TLS,
    &etcd_tls::PEER_TLS,
    &etcd_auth::PEER_CLIENT_CERT_AUTH,
    &etcd_tls::PLAINTEXT_LISTENER,
    &kubelet::ANONYMOUS_AUTH,
    &kubelet::AUTHORIZATION_MODE,
    &kubelet::READ_ONLY_PORT,
    &kubelet::ROTATE_CERTIFICATES,
];

/// Catalog entries of this pack, from [`RULES`].
pub fn catalog() -> impl Iterator<Item = &'static RuleMeta> {
    RULES.iter().map(|r| <dyn Rule>::meta(*r))
}

#[cfg(test)]
pub(crate) mod testutil {
    pub use crate::testutil::{findings, scan};

    /// The ids of the `controlplane/` findings, in order.
    pub fn ids(yaml: &str) -> Vec<&'static str> {
        findings(yaml)
            .iter()
            .map(|f| f.rule)
            .filter(|r| r.starts_with("controlplane/"))
            .collect()
    }

    /// `examples/controlplane/<name>`: as kubeadm writes it.
    pub fn example(name: &str) -> String {
        let path = format!(
            "{}/../../examples/controlplane/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// `examples/controlplane/hardened/<name>`.
    pub fn hardened(name: &str) -> String {
        example(&format!("hardened/{name}"))
    }

    /// kubeadm's kube-apiserver manifest.
    pub fn apiserver() -> String {
        example("kube-apiserver.yaml")
    }

    /// `yaml` with `flag` as the command's second element (`command[1]`),
    /// right after the program.
    pub fn with_flag(yaml: &str, flag: &str) -> String {
        let start = yaml.find("  - command:\n").expect("a container command") + 13;
        let after_program = start + yaml[start..].find('\n').expect("the program line") + 1;
        format!(
            "{}    - {flag}\n{}",
            &yaml[..after_program],
            &yaml[after_program..]
        )
    }

    /// `yaml` without the command elements that start with `prefix`.
    pub fn without(yaml: &str, prefix: &str) -> String {
        let item = format!("    - {prefix}");
        yaml.lines()
            .filter(|l| !l.starts_with(&item))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}

#[cfg(test)]
mod example_tests {
    use super::testutil::{example, findings, hardened};

    /// The `controlplane/` findings of an example: (rule, path, line).
    fn found(yaml: &str) -> Vec<(&'static str, String, u32)> {
        findings(yaml)
            .into_iter()
            .filter(|f| f.rule.starts_with("controlplane/") || f.rule.starts_with("encryption/"))
            .map(|f| (f.rule, f.path, f.line))
            .collect()
    }

    fn owned(want: &[(&'static str, &str, u32)]) -> Vec<(&'static str, String, u32)> {
        want.iter()
            .map(|&(r, p, l)| (r, p.to_string(), l))
            .collect()
    }

    #[test]
    fn kubeadms_api_server_fails_the_checks_kube_bench_fails_on_a_kubeadm_cluster() {
        let c = "spec.containers[0].command";
        assert_eq!(
            found(&example("kube-apiserver.yaml")),
            owned(&[
                ("controlplane/apiserver-anonymous-auth", c, 14),
                ("controlplane/apiserver-encryption-provider-config", c, 14),
                ("controlplane/apiserver-audit-log", c, 14),
                (
                    "controlplane/apiserver-kubelet-certificate-authority",
                    c,
                    14
                ),
                ("controlplane/profiling", c, 14),
            ])
        );
    }

    #[test]
    fn kubeadms_controller_manager_and_scheduler_fail_only_profiling() {
        for file in ["kube-controller-manager.yaml", "kube-scheduler.yaml"] {
            assert_eq!(
                found(&example(file)),
                owned(&[("controlplane/profiling", "spec.containers[0].command", 12)]),
                "{file}"
            );
        }
    }

    #[test]
    fn kubeadms_etcd_and_kubelet_configuration_pass() {
        assert_eq!(found(&example("etcd.yaml")), []);
        assert_eq!(found(&example("kubelet-config.yaml")), []);
    }

    #[test]
    fn kubeadms_cluster_configuration_fails_what_its_manifests_fail() {
        let a = "apiServer.extraArgs";
        assert_eq!(
            found(&example("kubeadm-config.yaml")),
            owned(&[
                ("controlplane/apiserver-anonymous-auth", a, 4),
                ("controlplane/apiserver-encryption-provider-config", a, 4),
                ("controlplane/apiserver-audit-log", a, 4),
                ("controlplane/apiserver-kubelet-certificate-authority", a, 4),
                ("controlplane/profiling", a, 4),
                ("controlplane/profiling", "controllerManager.extraArgs", 1),
                ("controlplane/profiling", "scheduler.extraArgs", 1),
            ])
        );
    }

    #[test]
    fn the_hardened_examples_pass_every_controlplane_and_encryption_rule() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/controlplane/hardened"
        );
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("examples/controlplane/hardened")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "audit-policy.yaml",
                "authentication-config.yaml",
                "encryption-config.yaml",
                "etcd.yaml",
                "kube-apiserver.yaml",
                "kube-controller-manager.yaml",
                "kube-scheduler.yaml",
                "kubeadm-config.yaml",
                "kubelet-config.yaml",
            ]
        );
        for name in &names {
            assert_eq!(found(&hardened(name)), [], "{name}");
        }
    }
}
