//! `secrets/env-secret-ref`: a Secret read into environment variables.
//! <https://kubernetes.io/docs/concepts/security/secrets-good-practices/>

use palisade_core::node::Seg;
use palisade_core::{Context, Node, Rule, RuleMeta, Severity, Target, Violation};

use super::GOOD_PRACTICES_URL;
use crate::pss::Pod;

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "secrets/env-secret-ref",
    title: "Secret consumed through environment variables",
    severity: Severity::Medium,
    level: None,
    rationale: "Environment variables leak: they are printed by debug endpoints and crash reports, copied into every child process, visible in /proc/<pid>/environ to anyone sharing the PID namespace, and often logged at start-up. A Secret mounted as a volume stays a file readable only by the container, and is updated in place when the Secret is rotated.",
    remediation: "Mount the Secret as a volume (volumes[].secret with a volumeMount, ideally readOnly) and have the application read the file; for third-party images that only take environment variables, prefer an init step or a wrapper that reads the file.",
    references: &[
        GOOD_PRACTICES_URL,
        "https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod",
    ],
};

/// The rule.
pub struct EnvSecretRef;

impl Rule for EnvSecretRef {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(view) = target.pod else { return };
        let pod = Pod { view };
        for c in pod.containers() {
            let env = c.node.get("env").map(Node::items).unwrap_or_default();
            for (i, e) in env.iter().enumerate() {
                let Some(r) = e.get_path(&["valueFrom", "secretKeyRef"]) else {
                    continue;
                };
                let var = e.get("name").and_then(Node::as_str).unwrap_or("");
                let secret = r.get("name").and_then(Node::as_str).unwrap_or("");
                let key = r.get("key").and_then(Node::as_str).unwrap_or("");
                let mut rel = c.rel(&["env"]);
                rel.extend([
                    Seg::Index(i),
                    Seg::key("valueFrom"),
                    Seg::key("secretKeyRef"),
                ]);
                out.push(pod.spec_violation(
                    rel,
                    Some(c.name),
                    format!(
                        "container {:?} reads key {key:?} of Secret {secret:?} into environment variable {var:?}; mount the Secret as a volume instead",
                        c.name
                    ),
                ));
            }
            let env_from = c.node.get("envFrom").map(Node::items).unwrap_or_default();
            for (i, e) in env_from.iter().enumerate() {
                let Some(r) = e.get("secretRef") else {
                    continue;
                };
                let secret = r.get("name").and_then(Node::as_str).unwrap_or("");
                let mut rel = c.rel(&["envFrom"]);
                rel.extend([Seg::Index(i), Seg::key("secretRef")]);
                out.push(pod.spec_violation(
                    rel,
                    Some(c.name),
                    format!(
                        "container {:?} loads every key of Secret {secret:?} as environment variables (envFrom); mount the Secret as a volume instead",
                        c.name
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::secrets::testutil::secrets;

    const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      initContainers:\n      - name: migrate\n        image: app\n        envFrom:\n        - configMapRef: {name: cfg}\n        - secretRef: {name: db}\n      containers:\n      - name: app\n        image: app\n        env:\n        - name: MODE\n          value: prod\n        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef: {name: db, key: password}\n        - name: NODE\n          valueFrom:\n            fieldRef: {fieldPath: spec.nodeName}\n";

    #[test]
    fn secret_key_ref_and_env_from_secret_are_reported_at_their_fields() {
        let f: Vec<_> = secrets(DEPLOY)
            .into_iter()
            .filter(|f| f.rule == "secrets/env-secret-ref")
            .collect();
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(
            f[0].path,
            "spec.template.spec.initContainers[0].envFrom[1].secretRef"
        );
        assert_eq!(f[0].container.as_deref(), Some("migrate"));
        assert!(f[0].message.contains("\"db\""), "{}", f[0].message);
        assert_eq!(
            f[1].path,
            "spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef"
        );
        assert_eq!(f[1].line, 21);
        assert!(f[1].message.contains("DB_PASSWORD") && f[1].message.contains("\"app\""));
    }

    #[test]
    fn secret_volume_passes() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    env:\n    - {name: CFG, valueFrom: {configMapKeyRef: {name: c, key: k}}}\n    volumeMounts: [{name: s, mountPath: /run/secrets/db, readOnly: true}]\n  volumes:\n  - name: s\n    secret: {secretName: db}\n";
        assert!(secrets(pod).is_empty(), "{:#?}", secrets(pod));
    }
}
