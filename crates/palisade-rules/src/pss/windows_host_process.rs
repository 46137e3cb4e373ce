//! `windowsHostProcess`: Windows HostProcess containers run on the host.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/windowsHostProcess",
        title: "Windows HostProcess containers are disallowed",
        severity: Severity::Critical,
        level: Some(PssLevel::Baseline),
        rationale: "A Windows HostProcess container runs directly on the host with the host's network and file system: it is privileged access to the Windows node.",
        remediation: "Remove securityContext.windowsOptions.hostProcess or set it to false at pod and container level.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

fn host_process(sc_windows: Option<&Node>) -> bool {
    sc_windows
        .and_then(|w| w.get("hostProcess"))
        .and_then(Node::as_bool)
        == Some(true)
}

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    if host_process(pod.sc("windowsOptions")) {
        let path = vec![
            Seg::key("securityContext"),
            Seg::key("windowsOptions"),
            Seg::key("hostProcess"),
        ];
        let msg = "hostProcess: pod must not set securityContext.windowsOptions.hostProcess=true"
            .to_string();
        out.push(pod.spec_violation(path, None, msg));
    }
    for c in pod.containers() {
        if host_process(c.sc("windowsOptions")) {
            let msg = format!(
                "hostProcess: container {:?} must not set securityContext.windowsOptions.hostProcess=true",
                c.name
            );
            out.push(pod.container_violation(
                &c,
                &["securityContext", "windowsOptions", "hostProcess"],
                msg,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn host_process_container_fails_baseline() {
        let f = findings(
            &pod("", "      windowsOptions: {hostProcess: true}\n"),
            "baseline",
            "v1.0",
        );
        assert_eq!(f[0].rule, "pss/windowsHostProcess");
        assert!(f[0].message.contains("hostProcess"));
    }

    #[test]
    fn host_process_false_passes() {
        assert!(ids(
            &pod("", "      windowsOptions: {hostProcess: false}\n"),
            "restricted",
            "latest"
        )
        .is_empty());
    }
}
