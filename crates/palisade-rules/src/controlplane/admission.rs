//! kube-apiserver admission plugins: `--enable-admission-plugins` and
//! `--disable-admission-plugins` (string slices, added to and taken from
//! the default-on set), and the deprecated `--admission-control` (read
//! here as more enabled plugins). NodeRestriction is not in the default
//! set; PodSecurity is (beta and on by default from 1.23, GA in 1.25).
//! <https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/>

use palisade_core::{RuleMeta, Severity, Violation};

use super::flags::Flag;
use super::source::{Component, Instance};
use super::{Check, APISERVER_URL, CIS_URL};

const ADMISSION_URL: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/";

/// The plugins enabled on top of the defaults, each with its flag.
fn enabled<'i>(i: &'i Instance<'_>) -> Vec<(&'i str, &'i Flag)> {
    let mut list = i.flags.items("enable-admission-plugins");
    list.extend(i.flags.items("admission-control"));
    list
}

/// `controlplane/apiserver-always-admit`.
pub static ALWAYS_ADMIT: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-always-admit",
        title: "API server enables the AlwaysAdmit admission plugin",
        severity: Severity::High,
        level: None,
        rationale: "AlwaysAdmit admits every request without looking at it. It was deprecated in 1.13 because it does nothing useful and, placed in the plugin list, it signals that admission control is meant to be off; CIS 1.2.10 requires it to be absent.",
        remediation: "Remove AlwaysAdmit from --enable-admission-plugins (and --admission-control).",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.10",
            CIS_URL,
            APISERVER_URL,
            ADMISSION_URL,
        ],
    },
    eval: always_admit,
};

fn always_admit(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    for (_, f) in enabled(i).into_iter().filter(|(p, _)| *p == "AlwaysAdmit") {
        out.push(i.violation(
            Some(f),
            format!(
                "{} enables AlwaysAdmit, which admits every request unchecked",
                i.written(f)
            ),
        ));
    }
}

/// `controlplane/apiserver-node-restriction`.
pub static NODE_RESTRICTION: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-node-restriction",
        title: "API server does not enable the NodeRestriction admission plugin",
        severity: Severity::Medium,
        level: None,
        rationale: "NodeRestriction limits what a kubelet may write: its own Node object and the status of pods bound to it, and not the node-restriction.kubernetes.io/ labels that steer workloads. Without it, the credentials of one compromised node can relabel or taint other nodes and attract sensitive pods. It is not in the default plugin set; kubeadm enables it. CIS 1.2.14.",
        remediation: "Add NodeRestriction to --enable-admission-plugins (kubeadm writes --enable-admission-plugins=NodeRestriction) and use the Node authorizer.",
        references: &[
            "CIS Kubernetes Benchmark v1.9 1.2.14",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#noderestriction",
        ],
    },
    eval: node_restriction,
};

fn node_restriction(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    let disabled = i
        .flags
        .items("disable-admission-plugins")
        .into_iter()
        .find(|(p, _)| *p == "NodeRestriction");
    if let Some((_, f)) = disabled {
        out.push(i.violation(
            Some(f),
            format!(
                "{} disables NodeRestriction: kubelets may modify other nodes and pods",
                i.written(f)
            ),
        ));
        return;
    }
    if enabled(i).iter().any(|(p, _)| *p == "NodeRestriction") {
        return;
    }
    let last = i.flags.last("enable-admission-plugins");
    let message = match last {
        Some(f) => format!(
            "{} does not include NodeRestriction (it is not on by default): kubelets may modify other nodes and pods",
            i.written(f)
        ),
        None => "--enable-admission-plugins is not set and NodeRestriction is not on by default: kubelets may modify other nodes and pods; set --enable-admission-plugins=NodeRestriction".to_string(),
    };
    out.push(i.violation(last, message));
}

/// `controlplane/apiserver-podsecurity-disabled`.
pub static PODSECURITY_DISABLED: Check = Check {
    meta: RuleMeta {
        id: "controlplane/apiserver-podsecurity-disabled",
        title: "API server disables the PodSecurity admission plugin",
        severity: Severity::Medium,
        level: None,
        rationale: "PodSecurity enforces the Pod Security Standards through namespace labels (pod-security.kubernetes.io/enforce). It is on by default since 1.23 and GA since 1.25; listing it in --disable-admission-plugins turns it off, and the enforce labels of every namespace then do nothing, so privileged pods are admitted wherever RBAC allows creating pods. CIS 5.2.1 asks for at least one active policy control mechanism: if another one (Kyverno, Gatekeeper, ValidatingAdmissionPolicy) enforces the standards, this finding can be suppressed.",
        remediation: "Remove PodSecurity from --disable-admission-plugins, and label namespaces with the Pod Security Standard they must meet (restricted wherever possible).",
        references: &[
            "CIS Kubernetes Benchmark v1.9 5.2.1",
            CIS_URL,
            APISERVER_URL,
            "https://kubernetes.io/docs/concepts/security/pod-security-admission/",
        ],
    },
    eval: podsecurity_disabled,
};

fn podsecurity_disabled(i: &Instance<'_>, out: &mut Vec<Violation>) {
    if i.component != Component::ApiServer {
        return;
    }
    for (_, f) in i
        .flags
        .items("disable-admission-plugins")
        .into_iter()
        .filter(|(p, _)| *p == "PodSecurity")
    {
        out.push(i.violation(
            Some(f),
            format!(
                "{} turns off Pod Security Admission (on by default since 1.25): namespaces' pod-security.kubernetes.io labels are not enforced",
                i.written(f)
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::controlplane::testutil::{apiserver, scan, with_flag, without};

    #[test]
    fn always_admit_fails_at_the_list_that_enables_it() {
        const ID: &str = "controlplane/apiserver-always-admit";
        assert!(scan(&apiserver(), ID).is_empty());
        let f = scan(
            &with_flag(&apiserver(), "--enable-admission-plugins=AlwaysAdmit"),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        let f = scan(
            &with_flag(
                &apiserver(),
                "--admission-control=NamespaceLifecycle,AlwaysAdmit",
            ),
            ID,
        );
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn node_restriction_missing_or_disabled_fails_and_kubeadms_list_passes() {
        const ID: &str = "controlplane/apiserver-node-restriction";
        assert!(scan(&apiserver(), ID).is_empty());
        let f = scan(&without(&apiserver(), "--enable-admission-plugins"), ID);
        assert_eq!(f[0].path, "spec.containers[0].command");
        assert!(
            f[0].message.contains("not on by default"),
            "{}",
            f[0].message
        );
        let f = scan(
            &with_flag(&apiserver(), "--disable-admission-plugins=NodeRestriction"),
            ID,
        );
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        let y = with_flag(
            &without(&apiserver(), "--enable-admission-plugins"),
            "--enable-admission-plugins=PodNodeSelector",
        );
        assert!(scan(&y, ID)[0].message.contains(
            "--enable-admission-plugins=PodNodeSelector does not include NodeRestriction"
        ));
    }

    #[test]
    fn disabling_podsecurity_fails_and_the_default_passes() {
        const ID: &str = "controlplane/apiserver-podsecurity-disabled";
        assert!(scan(&apiserver(), ID).is_empty());
        let f = scan(
            &with_flag(
                &apiserver(),
                "--disable-admission-plugins=PodSecurity,DefaultStorageClass",
            ),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "spec.containers[0].command[1]");
        assert!(
            f[0].message.contains("on by default since 1.25"),
            "{}",
            f[0].message
        );
    }
}
