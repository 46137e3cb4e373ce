//! kube-apiserver audit logging: `--audit-log-path`, and the
//! `--audit-policy-file` without which no event is recorded.
//! <https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL};

/// `controlplane/apiserver-audit-log`.
pub static AUDIT_LOG: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-audit-log",
        title: "API server writes no audit log",
        severity: Severity::Medium,
        level: None,
        rationale: "The audit log is the record of who did what through the API: without it a compromise (a stolen token reading Secrets, a pod created to escape to a node) leaves no trace to investigate. The API server logs audit events only with --audit-log-path (or a webhook backend) and an --audit-policy-file saying what to record; with no policy nothing is recorded even when a path is set. kubeadm sets neither. CIS 1.2.16 (and 1.2.17-1.2.19 for retention: --audit-log-maxage, --audit-log-maxbackup, --audit-log-maxsize).",
        remediation: "Set --audit-log-path (e.g. /var/log/kubernetes/audit/audit.log, on a hostPath volume) and --audit-policy-file with a policy that records at least Metadata for every request and never records Secret bodies; set --audit-log-maxage=30, --audit-log-maxbackup=10, --audit-log-maxsize=100, and ship the log off the host.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.16",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/",
        ],
    },
    eval: audit_log,
};

fn audit_log(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    let path = i.flags.last("audit-log-path");
    match path {
        Some(f) if !f.text().trim().is_empty() => {
            if !i.flags.has_value("audit-policy-file") {
                out.push(i.violation(
                    Some(f),
                    format!(
                        "{} is set but --audit-policy-file is not: without a policy no audit event is recorded",
                        i.written(f)
                    ),
                ));
            }
        }
        _ => out.push(
            i.violation(
                path,
                "--audit-log-path is not set: API requests are not recorded in an audit log"
                    .to_string(),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, scan, with_flag};

    const ID: &str = "controlplane/apiserver-audit-log";

    #[test]
    fn no_audit_log_path_fails_and_a_path_with_a_policy_passes() {
        let f = scan(&apiserver(), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command");
        let y = with_flag(
            &apiserver(),
            "--audit-log-path=/var/log/kubernetes/audit/audit.log",
        );
        let y = with_flag(&y, "--audit-policy-file=/etc/kubernetes/audit-policy.yaml");
        assert!(scan(&y, ID).is_empty());
    }

    #[test]
    fn a_path_without_a_policy_fails_at_the_path() {
        let y = with_flag(
            &apiserver(),
            "--audit-log-path=/var/log/kubernetes/audit/audit.log",
        );
        let f = scan(&y, ID);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert!(
            f[0].message.contains("without a policy"),
            "{}",
            f[0].message
        );
    }
}
