//! `serviceaccount/default`: pods running as their namespace's `default`
//! ServiceAccount.
//! <https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts>

use palisade_core::{Context, PodPart, Rule, RuleMeta, Severity, Target, Violation};

use super::{label, sa_path, CIS_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "serviceaccount/default",
    title: "Pod runs as the namespace's default ServiceAccount",
    severity: Severity::Low,
    level: None,
    rationale: "Every pod that names no ServiceAccount shares the namespace's default one: a permission granted to it for one workload is granted to all of them, and audit logs cannot tell the workloads apart (CIS 5.1.5). Low: the default ServiceAccount has no permissions unless someone binds them, so this is about least privilege and accountability rather than an exposure by itself; serviceaccount/token-automount reports the mounted token.",
    remediation: "Create a ServiceAccount for the workload (with automountServiceAccountToken: false unless it calls the API) and set spec.serviceAccountName to it.",
    references: &[
        "https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts",
        CIS_URL,
    ],
};

/// The rule.
pub struct DefaultServiceAccount;

impl Rule for DefaultServiceAccount {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(view) = target.pod else { return };
        let (sa, key) = view.service_account();
        if sa != "default" {
            return;
        }
        let namespace = target.object.id.namespace.as_deref().unwrap_or("");
        let how = match key {
            Some(k) => format!("{k}: default"),
            None => "no serviceAccountName".to_string(),
        };
        out.push(Violation {
            message: format!(
                "pod runs as the namespace's default ServiceAccount {:?} ({how})",
                label(namespace, sa)
            ),
            container: None,
            path: view.path(PodPart::Spec, &sa_path(key)),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::serviceaccount::testutil::{deployment, scan};

    const ID: &str = "serviceaccount/default";

    #[test]
    fn pod_without_service_account_fails_at_its_spec() {
        let f = scan(&deployment(""), ID);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, ID);
        assert_eq!(f[0].path, "spec.template.spec.serviceAccountName");
        assert_eq!(f[0].line, 10);
        assert!(
            f[0].message
                .contains("\"shop/default\" (no serviceAccountName)"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn explicit_default_fails_at_the_field() {
        let f = scan(&deployment("      serviceAccount: default\n"), ID);
        assert_eq!(f[0].path, "spec.template.spec.serviceAccount");
        assert_eq!((f[0].line, f[0].column), (11, 7));
        let f = scan(&deployment("      serviceAccountName: \"\"\n"), ID);
        assert_eq!(f[0].path, "spec.template.spec.serviceAccountName");
    }

    #[test]
    fn dedicated_service_account_passes() {
        assert!(scan(&deployment("      serviceAccountName: web\n"), ID).is_empty());
        // serviceAccountName wins over the deprecated serviceAccount.
        let y = deployment("      serviceAccountName: web\n      serviceAccount: default\n");
        assert!(scan(&y, ID).is_empty());
    }
}
