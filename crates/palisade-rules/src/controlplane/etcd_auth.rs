//! etcd client-certificate authentication, for clients
//! (`--client-cert-auth`) and for peers (`--peer-client-cert-auth`); both
//! are false by default. etcd reads `ETCD_<FLAG>` variables too.
//! <https://etcd.io/docs/v3.5/op-guide/security/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, CIS_URL, ETCD_SECURITY_URL, ETCD_URL};

/// `controlplane/etcd-client-cert-auth`.
pub static CLIENT_CERT_AUTH: Check = Check {
    meta: RuleMeta {
        id: "controlplane/etcd-client-cert-auth",
        title: "etcd does not require client certificates",
        severity: Severity::High,
        level: None,
        rationale: "etcd holds every object of the cluster, Secrets included, and without --client-cert-auth=true (the default is false) it serves any client that reaches its client port: etcd has no authorization of its own unless its auth is enabled, so reading /registry/secrets needs no credential at all. The API server authenticates with its client certificate (--etcd-certfile); nobody else should be able to. kubeadm sets the flag. CIS 2.2.",
        remediation: "Set --client-cert-auth=true with --trusted-ca-file pointing at a CA used only for etcd (kubeadm: /etc/kubernetes/pki/etcd/ca.crt), and give the API server a client certificate from it.",
        references: &["CIS Kubernetes Benchmark v1.9 2.2", CIS_URL, ETCD_URL, ETCD_SECURITY_URL],
    },
    eval: client_cert_auth,
};

fn client_cert_auth(i: &Instance<'_>, out: &mut Vec<Violation>) {
    require_true(
        i,
        "client-cert-auth",
        "any client that reaches etcd's client port reads and writes every object",
        out,
    );
}

/// `controlplane/etcd-peer-client-cert-auth`.
pub static PEER_CLIENT_CERT_AUTH: Check = Check {
    meta: RuleMeta {
        id: "controlplane/etcd-peer-client-cert-auth",
        title: "etcd does not require peer certificates",
        severity: Severity::High,
        level: None,
        rationale: "Without --peer-client-cert-auth=true (the default is false) etcd accepts any connection on its peer port as a cluster member: whoever reaches it can join the raft cluster or receive replicated data, which is every object of the cluster. kubeadm sets the flag. CIS 2.5.",
        remediation: "Set --peer-client-cert-auth=true with --peer-trusted-ca-file pointing at the etcd CA, and give every member a peer certificate from it.",
        references: &["CIS Kubernetes Benchmark v1.9 2.5", CIS_URL, ETCD_URL, ETCD_SECURITY_URL],
    },
    eval: peer_client_cert_auth,
};

fn peer_client_cert_auth(i: &Instance<'_>, out: &mut Vec<Violation>) {
    require_true(
        i,
        "peer-client-cert-auth",
        "any host that reaches etcd's peer port is taken for a member",
        out,
    );
}

/// Reports boolean flag `name` of etcd unless it is true.
fn require_true(i: &Instance<'_>, name: &str, effect: &str, out: &mut Vec<Violation>) {
    if i.component != Component::Etcd {
        return;
    }
    match i.flags.last(name) {
        Some(f) if f.as_bool() == Some(true) => {}
        Some(f) => out.push(i.violation(
            Some(f),
            format!("{}: {effect}; set --{name}=true", i.written(f)),
        )),
        None => out.push(i.violation(
            None,
            format!("--{name} is not set and defaults to false: {effect}; set --{name}=true"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{example, scan, with_flag, without};

    fn etcd() -> String {
        example("etcd.yaml")
    }

    #[test]
    fn client_cert_auth_missing_or_false_fails_and_kubeadms_true_passes() {
        const ID: &str = "controlplane/etcd-client-cert-auth";
        assert!(scan(&etcd(), ID).is_empty());
        let f = scan(&without(&etcd(), "--client-cert-auth"), ID);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert!(
            f[0].message.contains("defaults to false"),
            "{}",
            f[0].message
        );
        // The last value wins: kubeadm's true, then false.
        let twice = etcd().replace(
            "    - --client-cert-auth=true\n",
            "    - --client-cert-auth=true\n    - --client-cert-auth=false\n",
        );
        let f = scan(&twice, ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command[4]");
        // Go's flag package: a single dash works too.
        assert!(scan(
            &with_flag(&without(&etcd(), "--client-cert-auth"), "-client-cert-auth"),
            ID
        )
        .is_empty());
    }

    #[test]
    fn an_etcd_env_variable_sets_the_flag_when_the_command_line_does_not() {
        const ID: &str = "controlplane/etcd-client-cert-auth";
        let y = without(&etcd(), "--client-cert-auth").replace(
            "    name: etcd\n",
            "    name: etcd\n    env:\n    - name: ETCD_CLIENT_CERT_AUTH\n      value: \"true\"\n",
        );
        assert!(scan(&y, ID).is_empty());
        let y = y.replace("value: \"true\"", "value: \"false\"");
        let f = scan(&y, ID);
        assert_eq!(f[0].path, "spec.containers[0].env[0].value");
    }

    #[test]
    fn peer_client_cert_auth_missing_fails_and_kubeadms_true_passes() {
        const ID: &str = "controlplane/etcd-peer-client-cert-auth";
        assert!(scan(&etcd(), ID).is_empty());
        let f = scan(&without(&etcd(), "--peer-client-cert-auth"), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command");
    }
}
