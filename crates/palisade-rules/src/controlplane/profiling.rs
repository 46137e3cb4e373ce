//! The profiling endpoints (`/debug/pprof`) of kube-apiserver,
//! kube-controller-manager and kube-scheduler: `--profiling`, true by
//! default. kube-scheduler may take it from its `--config` file
//! (`enableProfiling`), which is not seen here: with `--config` and no
//! flag, nothing is reported.

use palisade_core::{RuleMeta, Severity, Violation};

use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL, CONTROLLER_MANAGER_URL, SCHEDULER_URL};

/// `controlplane/profiling`.
pub static PROFILING: Check = Check {
    meta: RuleMeta {
        id: "controlplane/profiling",
        title: "Control-plane component serves profiling endpoints",
        severity: Severity::Low,
        level: None,
        rationale: "With --profiling (the default: true), kube-apiserver, kube-controller-manager and kube-scheduler serve Go's pprof handlers under /debug/pprof: heap and goroutine dumps that reveal the program's internals and data in memory, and CPU profiles that load the control plane on demand. They are behind authentication and authorization, but any subject granted the /debug/* non-resource URLs gets them, and they are never needed in production. kubeadm does not set --profiling. CIS 1.2.15 (API server), 1.3.2 (controller manager), 1.4.1 (scheduler).",
        remediation: "Set --profiling=false on kube-apiserver, kube-controller-manager and kube-scheduler (with kubeadm: profiling: \"false\" in the extraArgs of apiServer, controllerManager and scheduler).",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.15",
            "CIS Kubernetes Benchmark v1.9 1.3.2",
            "CIS Kubernetes Benchmark v1.9 1.4.1",
            CIS_URL,
            APISERVER_URL,
            CONTROLLER_MANAGER_URL,
            SCHEDULER_URL,
        ],
    },
    eval: profiling,
};

fn profiling(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if !matches!(
        i.component,
        Component::ApiServer | Component::ControllerManager | Component::Scheduler
    ) {
        return;
    }
    match i.flags.last("profiling") {
        Some(f) if f.as_bool() == Some(false) => {}
        Some(f) => out.push(i.violation(
            Some(f),
            format!("{} serves /debug/pprof; set --profiling=false", i.written(f)),
        )),
        None if i.component == Component::Scheduler && i.flags.has("config") => {}
        None => out.push(i.violation(
            None,
            "--profiling is not set and defaults to true: /debug/pprof is served; set --profiling=false"
                .to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, example, hardened, scan, with_flag};

    const ID: &str = "controlplane/profiling";

    #[test]
    fn unset_profiling_fails_on_each_component_kubeadm_writes() {
        for file in [
            "kube-apiserver.yaml",
            "kube-controller-manager.yaml",
            "kube-scheduler.yaml",
        ] {
            let f = scan(&example(file), ID);
            assert_eq!(f.len(), 1, "{file}");
            assert_eq!(f[0].path, "spec.containers[0].command", "{file}");
            assert!(scan(&hardened(file), ID).is_empty(), "{file}");
        }
        assert!(scan(&example("etcd.yaml"), ID).is_empty());
    }

    #[test]
    fn profiling_true_fails_at_its_element_and_false_passes() {
        let f = scan(&with_flag(&apiserver(), "--profiling"), ID);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert!(scan(&with_flag(&apiserver(), "--profiling=false"), ID).is_empty());
    }

    #[test]
    fn a_scheduler_with_a_config_file_and_no_flag_is_not_judged() {
        let y = with_flag(
            &example("kube-scheduler.yaml"),
            "--config=/etc/kubernetes/scheduler-config.yaml",
        );
        assert!(scan(&y, ID).is_empty());
    }
}
