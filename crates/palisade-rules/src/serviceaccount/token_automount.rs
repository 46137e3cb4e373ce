//! `serviceaccount/token-automount`: pods that get a ServiceAccount API
//! token mounted without needing one.
//! <https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting>

use palisade_core::{Context, Node, PodPart, Rule, RuleMeta, Seg, Severity, Target, Violation};

use super::{label, CIS_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "serviceaccount/token-automount",
    title: "ServiceAccount token is mounted into the pod",
    severity: Severity::Medium,
    level: None,
    rationale: "Unless the pod or its ServiceAccount sets automountServiceAccountToken: false, the kubelet mounts an API token into every container. Most applications never call the Kubernetes API, but anyone who gets code execution in the container can: with whatever RBAC the ServiceAccount holds, and at least the discovery APIs, a foothold for lateral movement (CIS 5.1.6). Medium: it turns an application compromise into cluster API access, whose impact depends on RBAC that palisade does not see. The ServiceAccount's own setting counts when the ServiceAccount is part of the same scan; the pod's setting wins over it, as in the API server.",
    remediation: "Set automountServiceAccountToken: false in the pod spec, or on the ServiceAccount (and ship it with the workload); pods that need the API can mount a projected token explicitly or set it true with a dedicated ServiceAccount.",
    references: &[
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
        CIS_URL,
    ],
};

/// The rule.
pub struct TokenAutomount;

impl Rule for TokenAutomount {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(view) = target.pod else { return };
        let (sa, _) = view.service_account();
        let namespace = target.object.id.namespace.as_deref().unwrap_or("");
        let who = label(namespace, sa);
        let path = view.path(PodPart::Spec, &[Seg::key("automountServiceAccountToken")]);
        let why = match view
            .spec
            .get("automountServiceAccountToken")
            .and_then(Node::as_bool)
        {
            Some(false) => return,
            Some(true) => "the pod sets automountServiceAccountToken: true",
            None => match target
                .index
                .service_accounts
                .get(&(namespace.to_string(), sa.to_string()))
            {
                Some(Some(false)) => return,
                Some(_) => "neither the pod nor the ServiceAccount sets automountServiceAccountToken: false",
                None => "the pod does not set automountServiceAccountToken: false and the ServiceAccount is not in the scan",
            },
        };
        let message = format!(
            "the API token of ServiceAccount {who:?} is mounted into every container: {why}"
        );
        out.push(Violation {
            message,
            container: None,
            path,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::serviceaccount::testutil::{deployment, scan, service_account};

    const ID: &str = "serviceaccount/token-automount";

    #[test]
    fn pod_without_setting_fails_at_its_spec_naming_the_service_account() {
        let f = scan(&deployment("      serviceAccountName: web\n"), ID);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, ID);
        assert_eq!(f[0].path, "spec.template.spec.automountServiceAccountToken");
        assert_eq!((f[0].line, f[0].column), (10, 5));
        assert!(
            f[0].message
                .contains("ServiceAccount \"shop/web\" is mounted")
                && f[0].message.contains("not in the scan"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn pod_setting_true_fails_at_the_field_even_if_the_account_disables_it() {
        let y = format!(
            "{}---\n{}",
            deployment("      automountServiceAccountToken: true\n"),
            service_account("shop", "default", Some(false))
        );
        let f = scan(&y, ID);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].line, f[0].column), (11, 7));
        assert!(
            f[0].message.contains("\"shop/default\""),
            "{}",
            f[0].message
        );
        assert!(f[0]
            .message
            .contains("pod sets automountServiceAccountToken: true"));
    }

    #[test]
    fn pod_setting_false_passes() {
        let f = scan(
            &deployment("      automountServiceAccountToken: false\n"),
            ID,
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn service_account_in_the_scan_that_disables_it_passes() {
        let y = format!(
            "{}---\n{}",
            deployment("      serviceAccount: web\n"),
            service_account("shop", "web", Some(false))
        );
        assert!(scan(&y, ID).is_empty());
    }

    #[test]
    fn service_account_in_another_namespace_or_leaving_it_on_does_not_count() {
        let y = format!(
            "{}---\n{}---\n{}",
            deployment("      serviceAccountName: web\n"),
            service_account("other", "web", Some(false)),
            service_account("shop", "default", Some(false))
        );
        assert_eq!(scan(&y, ID).len(), 1);
        let y = format!(
            "{}---\n{}",
            deployment("      serviceAccountName: web\n"),
            service_account("shop", "web", None)
        );
        let f = scan(&y, ID);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("\"shop/web\""));
        assert!(f[0]
            .message
            .contains("neither the pod nor the ServiceAccount"));
    }

    #[test]
    fn objects_without_namespace_match_under_the_empty_namespace() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n---\n";
        let y = format!("{pod}{}", service_account("", "default", Some(false)));
        assert!(scan(&y, ID).is_empty());
        let f = scan(pod, ID);
        assert_eq!(
            (f[0].path.as_str(), f[0].line),
            ("spec.automountServiceAccountToken", 4)
        );
        assert!(f[0].message.contains("ServiceAccount \"default\""));
    }
}
