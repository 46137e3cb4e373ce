//! `appArmorProfile`: AppArmor must not be disabled (fields and beta annotations).
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline>

use palisade_core::node::Seg;
use palisade_core::{Node, PssLevel, PssVersion, RuleMeta, Severity, Violation};

use super::{Pod, PssCheck, PSS_URL};

/// The check.
pub static CHECK: PssCheck = PssCheck {
    meta: RuleMeta {
        id: "pss/appArmorProfile",
        title: "AppArmor must not be disabled or overridden",
        severity: Severity::High,
        level: Some(PssLevel::Baseline),
        rationale: "On AppArmor hosts the runtime's default profile confines containers; Unconfined removes that confinement.",
        remediation: "Set appArmorProfile.type to RuntimeDefault or Localhost (or leave it unset); beta annotations container.apparmor.security.beta.kubernetes.io/* may only be runtime/default or localhost/<profile>.",
        references: &[PSS_URL],
    },
    since: 0,
    overrides: &[],
    eval,
};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn allowed_type(profile: &Node) -> Option<&str> {
    let t = profile.get("type").and_then(Node::as_str).unwrap_or("");
    (!matches!(t, "RuntimeDefault" | "Localhost")).then_some(t)
}

fn eval(pod: &Pod<'_>, _: PssVersion, out: &mut Vec<Violation>) {
    if let Some(bad) = pod.sc("appArmorProfile").and_then(allowed_type) {
        let path = vec![
            Seg::key("securityContext"),
            Seg::key("appArmorProfile"),
            Seg::key("type"),
        ];
        let msg = format!("forbidden AppArmor profile: pod must not set securityContext.appArmorProfile.type to {bad:?}");
        out.push(pod.spec_violation(path, None, msg));
    }
    for c in pod.containers() {
        if let Some(bad) = c.sc("appArmorProfile").and_then(allowed_type) {
            let msg = format!(
                "forbidden AppArmor profile: container {:?} must not set securityContext.appArmorProfile.type to {bad:?}",
                c.name
            );
            out.push(pod.container_violation(
                &c,
                &["securityContext", "appArmorProfile", "type"],
                msg,
            ));
        }
    }
    for (key, value) in pod.annotations() {
        if key.starts_with(ANNOTATION_PREFIX)
            && !(value.is_empty() || value == "runtime/default" || value.starts_with("localhost/"))
        {
            let msg = format!("forbidden AppArmor profile: annotation {key}={value:?}");
            out.push(pod.meta_violation(
                vec![Seg::key("annotations"), Seg::Key(key.to_string().into())],
                msg,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::pss::testutil::{findings, ids, pod};

    #[test]
    fn unconfined_apparmor_annotation_fails_baseline() {
        let y = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n      annotations:\n        container.apparmor.security.beta.kubernetes.io/c: unconfined\n    spec:\n      containers:\n      - {name: c, image: x}\n";
        let f = findings(y, "baseline", "latest");
        assert_eq!(f[0].rule, "pss/appArmorProfile");
        assert_eq!(f[0].line, 8);
        assert!(f[0].path.starts_with("spec.template.metadata.annotations"));
    }

    #[test]
    fn unconfined_apparmor_field_fails_and_localhost_passes() {
        assert_eq!(
            ids(
                &pod("", "      appArmorProfile: {type: Unconfined}\n"),
                "baseline",
                "latest"
            ),
            ["pss/appArmorProfile"]
        );
        let ok = pod(
            "",
            "      appArmorProfile: {type: Localhost, localhostProfile: p}\n",
        );
        assert!(ids(&ok, "restricted", "latest").is_empty());
    }
}
