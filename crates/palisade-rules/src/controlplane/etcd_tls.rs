//! etcd transport security: certificates for clients (`--cert-file`,
//! `--key-file`) and peers (`--peer-cert-file`, `--peer-key-file`), the
//! listeners' schemes (`--listen-client-urls`, default
//! `http://localhost:2379`; `--listen-peer-urls`, default
//! `http://localhost:2380`), and self-signed certificates (`--auto-tls`,
//! `--peer-auto-tls`). The metrics listener (`--listen-metrics-urls`,
//! `http://127.0.0.1:2381` under kubeadm) serves no data and is not read.
//! <https://etcd.io/docs/v3.5/op-guide/security/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, CIS_URL, ETCD_SECURITY_URL, ETCD_URL};

/// `controlplane/etcd-tls`.
pub static TLS: Check = Check {
    meta: RuleMeta {
        id: "controlplane/etcd-tls",
        title: "etcd serves clients without a TLS certificate",
        severity: Severity::High,
        level: None,
        rationale: "Without --cert-file and --key-file etcd cannot serve its clients over TLS: the API server's traffic, which carries every object including Secrets, crosses the network in clear text, and client-certificate authentication is impossible. kubeadm sets both. CIS 2.1.",
        remediation: "Set --cert-file and --key-file to a serving certificate from the etcd CA (kubeadm: /etc/kubernetes/pki/etcd/server.crt and server.key) and use https:// in --listen-client-urls and --advertise-client-urls.",
        references: &["CIS Kubernetes Benchmark v1.9 2.1", CIS_URL, ETCD_URL, ETCD_SECURITY_URL],
    },
    eval: tls,
};

fn tls(i: &Instance<'_>, out: &mut Vec<Violation>) {
    require_pair(i, "cert-file", "key-file", "clients", out);
}

/// `controlplane/etcd-peer-tls`.
pub static PEER_TLS: Check = Check {
    meta: RuleMeta {
        id: "controlplane/etcd-peer-tls",
        title: "etcd talks to its peers without a TLS certificate",
        severity: Severity::High,
        level: None,
        rationale: "Without --peer-cert-file and --peer-key-file, etcd members replicate in clear text: the raft stream carries every write, Secrets included, and peers cannot authenticate each other. kubeadm sets both (even for one member, which keeps a later join safe). CIS 2.4.",
        remediation: "Set --peer-cert-file and --peer-key-file to a peer certificate from the etcd CA (kubeadm: /etc/kubernetes/pki/etcd/peer.crt and peer.key) and use https:// in --listen-peer-urls and --initial-advertise-peer-urls.",
        references: &["CIS Kubernetes Benchmark v1.9 2.4", CIS_URL, ETCD_URL, ETCD_SECURITY_URL],
    },
    eval: peer_tls,
};

fn peer_tls(i: &Instance<'_>, out: &mut Vec<Violation>) {
    require_pair(i, "peer-cert-file", "peer-key-file", "peers", out);
}

/// Reports etcd flags `cert` and `key` unless both are set.
fn require_pair(i: &Instance<'_>, cert: &str, key: &str, whom: &str, out: &mut Vec<Violation>) {
    if i.component != Component::Etcd {
        return;
    }
    let missing: Vec<String> = [cert, key]
        .into_iter()
        .filter(|n| !i.flags.has_value(n))
        .map(|n| format!("--{n}"))
        .collect();
    if missing.is_empty() {
        return;
    }
    // At the half of the pair that is written, if one is.
    let at = i.flags.last(cert).or_else(|| i.flags.last(key));
    out.push(i.violation(
        at,
        format!(
            "{} not set: etcd cannot serve its {whom} over TLS",
            if missing.len() == 2 {
                format!("{} and {} are", missing[0], missing[1])
            } else {
                format!("{} is", missing[0])
            }
        ),
    ));
}

/// `controlplane/etcd-plaintext-listener`.
pub static PLAINTEXT_LISTENER: Check = Check {
    meta: RuleMeta {
        id: "controlplane/etcd-plaintext-listener",
        title: "etcd listens for clients or peers over plain HTTP",
        severity: Severity::High,
        level: None,
        rationale: "An http:// URL in --listen-client-urls or --listen-peer-urls is served without TLS even when certificates are configured: whatever connects there exchanges every object, Secrets included, in clear text, and no client certificate is asked for. Unset, both flags default to http://localhost (2379 for clients, 2380 for peers). CIS 2.1 and 2.4 (TLS for clients and peers).",
        remediation: "Use only https:// URLs (or unix sockets) in --listen-client-urls and --listen-peer-urls, and the matching --advertise-client-urls and --initial-advertise-peer-urls (kubeadm: https://127.0.0.1:2379,https://<node-ip>:2379 and https://<node-ip>:2380).",
        references: &[
            "CIS Kubernetes Benchmark v1.9 2.1",
            "CIS Kubernetes Benchmark v1.9 2.4",
            CIS_URL,
            ETCD_URL,
            ETCD_SECURITY_URL,
        ],
    },
    eval: plaintext_listener,
};

fn plaintext_listener(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::Etcd {
        return;
    }
    for (name, default) in [
        ("listen-client-urls", "http://localhost:2379"),
        ("listen-peer-urls", "http://localhost:2380"),
    ] {
        match i.flags.last(name) {
            Some(f) => {
                let plain: Vec<&str> = f
                    .text()
                    .split(',')
                    .map(str::trim)
                    .filter(|u| u.len() >= 7 && u[..7].eq_ignore_ascii_case("http://"))
                    .collect();
                if !plain.is_empty() {
                    out.push(i.violation(
                        Some(f),
                        format!("--{name} listens without TLS on {}", plain.join(", ")),
                    ));
                }
            }
            None => out.push(i.violation(
                None,
                format!("--{name} is not set and defaults to {default}, without TLS"),
            )),
        }
    }
}

/// `controlplane/etcd-auto-tls`.
pub static AUTO_TLS: Check = Check {
    meta: RuleMeta {
        id: "controlplane/etcd-auto-tls",
        title: "etcd uses self-signed certificates (--auto-tls, --peer-auto-tls)",
        severity: Severity::Medium,
        level: None,
        rationale: "--auto-tls and --peer-auto-tls make etcd generate a self-signed certificate for its client or peer listeners: traffic is encrypted but nobody can verify it reaches the real etcd, and the generated certificates cannot authenticate clients or peers, so a machine in the middle reads everything. CIS 2.3 and 2.6 require both to be unset or false.",
        remediation: "Remove --auto-tls and --peer-auto-tls and configure certificates from the etcd CA (--cert-file/--key-file, --peer-cert-file/--peer-key-file) with client and peer certificate authentication.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 2.3",
            "CIS Kubernetes Benchmark v1.9 2.6",
            CIS_URL,
            ETCD_URL,
            ETCD_SECURITY_URL,
        ],
    },
    eval: auto_tls,
};

fn auto_tls(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::Etcd {
        return;
    }
    for (name, whom) in [("auto-tls", "clients"), ("peer-auto-tls", "peers")] {
        if let Some(f) = i.flags.last(name).filter(|f| f.as_bool() != Some(false)) {
            out.push(i.violation(
                Some(f),
                format!(
                    "{} serves {whom} with a self-signed certificate that no one can verify",
                    i.written(f)
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{example, scan, with_flag, without};

    fn etcd() -> String {
        example("etcd.yaml")
    }

    #[test]
    fn missing_client_certificates_fail_and_kubeadms_pass() {
        const ID: &str = "controlplane/etcd-tls";
        assert!(scan(&etcd(), ID).is_empty());
        let f = scan(&without(&etcd(), "--key-file"), ID);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("--key-file is not set"),
            "{}",
            f[0].message
        );
        // At the certificate that is written.
        assert_eq!(f[0].path, "spec.containers[0].command[2]");
        let f = scan(&without(&without(&etcd(), "--key-file"), "--cert-file"), ID);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert!(
            f[0].message
                .contains("--cert-file and --key-file are not set"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn missing_peer_certificates_fail_and_kubeadms_pass() {
        const ID: &str = "controlplane/etcd-peer-tls";
        assert!(scan(&etcd(), ID).is_empty());
        let f = scan(
            &without(&without(&etcd(), "--peer-cert-file"), "--peer-key-file"),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command");
    }

    #[test]
    fn http_listeners_fail_and_kubeadms_https_and_http_metrics_pass() {
        const ID: &str = "controlplane/etcd-plaintext-listener";
        assert!(scan(&etcd(), ID).is_empty());
        let y = etcd().replace(
            "--listen-client-urls=https://127.0.0.1:2379,https://10.0.0.10:2379",
            "--listen-client-urls=https://127.0.0.1:2379,http://10.0.0.10:2379",
        );
        let f = scan(&y, ID);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("http://10.0.0.10:2379"),
            "{}",
            f[0].message
        );
        assert!(
            !f[0].message.contains("https://127.0.0.1"),
            "{}",
            f[0].message
        );
        let f = scan(&without(&etcd(), "--listen-peer-urls"), ID);
        assert!(
            f[0].message.contains("defaults to http://localhost:2380"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].path, "spec.containers[0].command");
    }

    #[test]
    fn auto_tls_fails_for_clients_and_peers() {
        const ID: &str = "controlplane/etcd-auto-tls";
        assert!(scan(&etcd(), ID).is_empty());
        let f = scan(
            &with_flag(&with_flag(&etcd(), "--auto-tls"), "--peer-auto-tls=true"),
            ID,
        );
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].path, "spec.containers[0].command[2]");
        assert_eq!(f[1].path, "spec.containers[0].command[1]");
        assert!(scan(&with_flag(&etcd(), "--auto-tls=false"), ID).is_empty());
    }
}
