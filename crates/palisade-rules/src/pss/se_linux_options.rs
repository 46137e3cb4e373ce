//! `seLinuxOptions`: custom SELinux users, roles and types are forbidden.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/seLinuxOptions",
        title: "Setting a custom SELinux user, role or type is forbidden",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "A custom SELinux type (such as spc_t) or user/role can lift the confinement that the container type enforces.",
        remediation: "Leave seLinuxOptions.type empty or use container_t, container_init_t, container_kvm_t or container_engine_t (v1.31+); do not set seLinuxOptions.user or role.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

fn allowed_type(t: &str, version: PssVersion) -> bool {
    matches!(
        t,
        "" | "container_t" | "container_init_t" | "container_kvm_t"
    ) || (version.at_least(31) && t == "container_engine_t")
}

fn check_options(
    opts: &Node,
    version: PssVersion,
    who: &str,
    mut violation: impl FnMut(&'static str, String),
) {
    let t = opts.get("type").and_then(Node::as_str).unwrap_or("");
    if !allowed_type(t, version) {
        violation(
            "type",
            format!("seLinuxOptions: {who} must not set securityContext.seLinuxOptions.type={t:?}"),
        );
    }
    for field in ["user", "role"] {
        let v = opts.get(field).and_then(Node::as_str).unwrap_or("");
        if !v.is_empty() {
            violation(field, format!("seLinuxOptions: {who} must not set securityContext.seLinuxOptions.{field}={v:?}"));
        }
    }
}

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    if let Some(opts) = pod.sc("seLinuxOptions") {
        check_options(opts, version, "pod", |field, msg| {
            let path = vec![
                Seg::key("securityContext"),
                Seg::key("seLinuxOptions"),
                Seg::key(field),
            ];
            out.push(pod.spec_violation(path, None, msg));
        });
    }
    for c in pod.containers() {
        if let Some(opts) = c.sc("seLinuxOptions") {
            let who = format!("container {:?}", c.name);
            check_options(opts, version, &who, |field, msg| {
                let mut path = c.rel(&["securityContext", "seLinuxOptions"]);
                path.push(Seg::key(field));
                out.push(pod.spec_violation(path, Some(c.name), msg));
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn spc_t_type_and_custom_user_fail_baseline() {
        let f = findings(
            &pod("", "      seLinuxOptions: {type: spc_t, user: sysadm_u}\n"),
            "baseline",
            "latest",
        );
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].path,
            "spec.containers[0].securityContext.seLinuxOptions.type"
        );
        assert_eq!(
            f[1].path,
            "spec.containers[0].securityContext.seLinuxOptions.user"
        );
    }

    #[test]
    fn container_engine_t_is_allowed_from_v1_31() {
        let y = pod(
            "",
            "      seLinuxOptions: {type: container_engine_t, level: s0}\n",
        );
        assert!(ids(&y, "baseline", "v1.31").is_empty());
        assert_eq!(ids(&y, "baseline", "v1.30"), ["pss/seLinuxOptions"]);
    }
}
