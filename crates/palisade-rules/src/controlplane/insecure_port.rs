//! kube-apiserver's insecure port: `--insecure-port` and
//! `--insecure-bind-address`, an HTTP port that skips authentication and
//! authorization. Only 0 was accepted from 1.20 and both flags were
//! removed in 1.24; manifests of older clusters still carry them.
//! <https://kubernetes.io/docs/concepts/security/controlling-access/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL};

/// `controlplane/apiserver-insecure-port`.
pub static INSECURE_PORT: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-insecure-port",
        title: "API server serves an unauthenticated insecure port",
        severity: Severity::Critical,
        level: None,
        rationale: "Requests to the insecure port (--insecure-port, 8080 by default before 1.20) bypass authentication, authorization and TLS: whoever reaches it is cluster-admin. --insecure-bind-address moves it from localhost to another address, often every interface. CIS 1.2.17 and 1.2.18 (benchmark v1.20) require --insecure-bind-address unset and --insecure-port=0; later benchmarks dropped them because Kubernetes 1.24 removed both flags (from 1.20 only 0 was accepted).",
        remediation: "Set --insecure-port=0 and remove --insecure-bind-address, or better, upgrade: API servers from 1.24 have no insecure port. Clients use the secure port with credentials.",
        references: &[
            "CIS Kubernetes Benchmark v1.20 1.2.17",
            "CIS Kubernetes Benchmark v1.20 1.2.18",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/concepts/security/controlling-access/#api-server-ports-and-ips",
        ],
    },
    eval: insecure_port,
};

fn insecure_port(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    if let Some(f) = i.flags.last("insecure-port") {
        if f.text().trim().parse::<i64>() != Ok(0) {
            out.push(i.violation(
                Some(f),
                format!(
                    "{} serves the API over plain HTTP without authentication or authorization; set --insecure-port=0",
                    i.written(f)
                ),
            ));
        }
    }
    if let Some(f) = i.flags.last("insecure-bind-address") {
        out.push(i.violation(
            Some(f),
            format!(
                "{} is set: the insecure (unauthenticated) port listens beyond localhost when enabled; remove it",
                i.written(f)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, scan, with_flag};

    const ID: &str = "controlplane/apiserver-insecure-port";

    #[test]
    fn a_non_zero_insecure_port_fails_and_zero_passes() {
        assert!(scan(&apiserver(), ID).is_empty());
        assert!(scan(&with_flag(&apiserver(), "--insecure-port=0"), ID).is_empty());
        let f = scan(&with_flag(&apiserver(), "--insecure-port=8080"), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert!(
            f[0].message.contains("--insecure-port=8080"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn an_insecure_bind_address_fails() {
        let f = scan(
            &with_flag(&apiserver(), "--insecure-bind-address=0.0.0.0"),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("--insecure-bind-address=0.0.0.0"),
            "{}",
            f[0].message
        );
    }
}
