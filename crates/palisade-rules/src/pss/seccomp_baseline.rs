//! `seccompProfile_baseline`: seccomp must not be explicitly disabled. Up to
//! v1.18 it reads the alpha annotations; from v1.19 the `seccompProfile` fields.
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/seccompProfile_baseline",
        title: "Seccomp profile must not be explicitly set to Unconfined",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "Seccomp filters the system calls a container may make; Unconfined exposes the whole kernel attack surface.",
        remediation: "Set seccompProfile.type to RuntimeDefault or Localhost (or leave it unset) at pod and container level; remove Unconfined seccomp annotations.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// `seccompProfile.type` values that keep seccomp on.
pub(super) fn valid_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

fn valid_annotation(v: &str) -> bool {
    v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
}

fn eval(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>) {
    if version.at_least(19) {
        eval_fields(pod, out);
    } else {
        eval_annotations(pod, out);
    }
}

fn eval_annotations(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    let check = |key: String, out: &mut Vec<Violation>| {
        if let Some(v) = pod.annotation(&key) {
            if !valid_annotation(v) {
                let msg = format!("seccompProfile: forbidden annotation {key}={v:?}");
                out.push(
                    pod.meta_violation(vec![Seg::key("annotations"), Seg::Key(key.into())], msg),
                );
            }
        }
    };
    check(POD_ANNOTATION.to_string(), out);
    for c in pod.containers() {
        check(format!("{CONTAINER_ANNOTATION_PREFIX}{}", c.name), out);
    }
}

fn eval_fields(pod: &Pod<'_>, out: &mut Vec<Violation>) {
    if let Some(profile) = pod.sc("seccompProfile") {
        let t = profile.get("type").and_then(Node::as_str).unwrap_or("");
        if !valid_type(t) {
            let path = vec![
                Seg::key("securityContext"),
                Seg::key("seccompProfile"),
                Seg::key("type"),
            ];
            let msg = format!(
                "seccompProfile: pod must not set securityContext.seccompProfile.type to {t:?}"
            );
            out.push(pod.spec_violation(path, None, msg));
        }
    }
    for c in pod.containers() {
        if let Some(profile) = c.sc("seccompProfile") {
            let t = profile.get("type").and_then(Node::as_str).unwrap_or("");
            if !valid_type(t) {
                let msg = format!(
                    "seccompProfile: container {:?} must not set securityContext.seccompProfile.type to {t:?}",
                    c.name
                );
                out.push(pod.container_violation(
                    &c,
                    &["securityContext", "seccompProfile", "type"],
                    msg,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn unconfined_profile_fails_baseline() {
        let f = findings(
            &pod("", "      seccompProfile: {type: Unconfined}\n"),
            "baseline",
            "latest",
        );
        assert_eq!(f[0].rule, "pss/seccompProfile_baseline");
        assert_eq!(
            f[0].path,
            "spec.containers[0].securityContext.seccompProfile.type"
        );
    }

    #[test]
    fn unconfined_annotation_fails_before_v1_19_and_is_ignored_after() {
        let y = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined\nspec:\n  containers:\n  - name: c\n    image: x\n";
        let f = findings(y, "baseline", "v1.18");
        assert_eq!(f[0].rule, "pss/seccompProfile_baseline");
        assert_eq!(
            f[0].path,
            "metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]"
        );
        assert_eq!(f[0].line, 6);
        assert!(ids(y, "baseline", "v1.19").is_empty());
    }

    #[test]
    fn runtime_default_passes() {
        assert!(ids(
            &pod("", "      seccompProfile: {type: RuntimeDefault}\n"),
            "baseline",
            "latest"
        )
        .is_empty());
    }
}
