//! `serviceaccount/legacy-token-secret`: a Secret that holds a long-lived
//! ServiceAccount token (`type: kubernetes.io/service-account-token`, tied
//! to its ServiceAccount by the `kubernetes.io/service-account.name`
//! annotation). Found in manifests and, under `palisade audit --secrets`,
//! in the cluster, where Secrets are listed as metadata only: there the
//! annotation is what tells such a Secret (the type is not listed).
//! <https://kubernetes.io/docs/concepts/configuration/secret/#serviceaccount-token-secrets>

use palisade_core::node::Seg;
use palisade_core::{Context, Node, Rule, RuleMeta, Severity, Target, Violation};

use super::CIS_URL;

/// The annotation naming the ServiceAccount a token Secret is for.
pub const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";

/// The label the legacy token cleaner puts on a token it invalidated.
pub const INVALID_SINCE_LABEL: &str = "kubernetes.io/legacy-token-invalid-since";

/// The Secret type of a ServiceAccount token.
const TOKEN_TYPE: &str = "kubernetes.io/service-account-token";

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "serviceaccount/legacy-token-secret",
    title: "Secret holds a long-lived ServiceAccount token",
    severity: Severity::Medium,
    level: None,
    rationale: "A kubernetes.io/service-account-token Secret holds a token that never expires and is not bound to a pod: whoever reads the Secret once (a backup, an etcd snapshot, a role with get on secrets, a manifest in a repository) holds the ServiceAccount's permissions until the Secret is deleted. Since Kubernetes 1.24 such Secrets are no longer created for ServiceAccounts; pods get short-lived projected tokens (TokenRequest) instead, and the legacy token cleaner (1.29+) invalidates unused ones. A Secret labelled kubernetes.io/legacy-token-invalid-since by the cleaner is not reported: its token no longer authenticates.",
    remediation: "Delete the Secret and give whatever used the token a short-lived one: a projected serviceAccountToken volume for pods, kubectl create token (TokenRequest) for a person or a CI job, or the cloud's workload identity for an external system.",
    references: &[
        "https://kubernetes.io/docs/concepts/configuration/secret/#serviceaccount-token-secrets",
        "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#legacy-serviceaccount-token-cleaner",
        CIS_URL,
    ],
};

/// The rule.
pub struct LegacyTokenSecret;

impl Rule for LegacyTokenSecret {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let obj = target.object;
        if obj.id.kind != "Secret" || obj.id.api_version != "v1" {
            return;
        }
        let root = &obj.root;
        let typ = root.get("type").and_then(Node::as_str);
        let account = root
            .get_path(&["metadata", "annotations", SA_NAME_ANNOTATION])
            .and_then(Node::as_str)
            .filter(|a| !a.is_empty());
        // Written with its type, or listed as metadata (no type) with the
        // annotation that only token Secrets carry.
        let is_token = match typ {
            Some(t) => t == TOKEN_TYPE,
            None => account.is_some(),
        };
        if !is_token {
            return;
        }
        if root
            .get_path(&["metadata", "labels", INVALID_SINCE_LABEL])
            .is_some()
        {
            return;
        }
        let (path, whose) = match account {
            Some(a) => (
                vec![
                    Seg::key("metadata"),
                    Seg::key("annotations"),
                    Seg::key(SA_NAME_ANNOTATION),
                ],
                format!("ServiceAccount {a:?}"),
            ),
            None => (
                vec![Seg::key("type")],
                "the ServiceAccount it will be annotated with".to_string(),
            ),
        };
        out.push(Violation {
            message: format!(
                "Secret {:?} holds a long-lived token of {whose}: it never expires and works wherever the Secret is read; delete it and use short-lived tokens (projected volumes, TokenRequest)",
                obj.id.name
            ),
            container: None,
            path,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::serviceaccount::testutil::scan;

    #[test]
    fn a_token_secret_is_reported_by_type_or_by_annotation_when_listed_as_metadata() {
        let y = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: ci-token\n  annotations: {kubernetes.io/service-account.name: ci}\ntype: kubernetes.io/service-account-token\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: listed\n  namespace: shop\n  annotations: {kubernetes.io/service-account.name: deployer}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: cleaned\n  annotations: {kubernetes.io/service-account.name: old}\n  labels: {kubernetes.io/legacy-token-invalid-since: 2026-01-02}\ntype: kubernetes.io/service-account-token\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: opaque\n  annotations: {kubernetes.io/service-account.name: x}\ntype: Opaque\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: plain}\n";
        let f = scan(y, "serviceaccount/legacy-token-secret");
        let names: Vec<&str> = f.iter().map(|f| f.object.name.as_str()).collect();
        assert_eq!(names, ["ci-token", "listed"], "{f:#?}");
        assert!(
            f[0].message.contains("ServiceAccount \"ci\""),
            "{}",
            f[0].message
        );
        assert_eq!(
            f[1].path,
            r#"metadata.annotations["kubernetes.io/service-account.name"]"#
        );
    }
}
