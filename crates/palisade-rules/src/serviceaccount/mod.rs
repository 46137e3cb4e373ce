//! The `serviceaccount` rule pack: which ServiceAccount a workload's pods
//! run as, whether its API token is mounted into them, and long-lived
//! token Secrets.
//! <https://kubernetes.io/docs/concepts/security/service-accounts/>
//!
//! A pod's ServiceAccount is `serviceAccountName`, else the deprecated
//! `serviceAccount`, else `default`, as the API server defaults it. The
//! ServiceAccounts found anywhere in the scan are looked up by the
//! workload's namespace (`""` when unset) and name.

use palisade_core::{Rule, RuleMeta, Seg};

mod default;
pub mod legacy_token;
mod token_automount;

/// The Kubernetes task page on configuring ServiceAccounts for pods.
pub const CONFIGURE_URL: &str =
    "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/";

/// The CIS Kubernetes Benchmark (section 5.1, RBAC and service accounts).
pub const CIS_URL: &str = "https://www.cisecurity.org/benchmark/kubernetes";

/// The rules of this pack, in `palisade rules` order: the one list the
/// engine runs and the catalog shows.
pub static RULES: &[&dyn Rule] = &[
    &token_automount::TokenAutomount,
    &default::DefaultServiceAccount,
    &legacy_token::LegacyTokenSecret,
];

/// Catalog entries of this pack, from [`RULES`].
pub fn catalog() -> impl Iterator<Item = &'static RuleMeta> {
    RULES.iter().map(|r| <dyn Rule>::meta(*r))
}

/// Path, relative to the pod spec, of the key that names the ServiceAccount
/// (`serviceAccountName` when none is written).
fn sa_path(key: Option<&'static str>) -> Vec<Seg> {
    vec![Seg::key(key.unwrap_or("serviceAccountName"))]
}

/// `namespace/name`, or `name` when the namespace is unset.
fn label(namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        name.to_string()
    } else {
        format!("{namespace}/{name}")
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use palisade_core::{Context, Engine, Finding, Limits};

    /// Findings of rules whose id starts with `prefix` at the default policy.
    pub fn scan(yaml: &str, prefix: &str) -> Vec<Finding> {
        let engine = Engine::new(crate::all_rules(), Context::default(), Limits::default());
        let report = engine.scan_bytes("t.yaml", yaml.as_bytes());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report
            .findings
            .into_iter()
            .filter(|f| f.rule.starts_with(prefix))
            .collect()
    }

    /// A Deployment in namespace `shop` with `extra` lines in its pod spec
    /// (indented six spaces, from line 11); its pod spec key is on line 10.
    pub fn deployment(extra: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n{extra}      containers:\n      - name: web\n        image: nginx:1.27\n"
        )
    }

    /// A ServiceAccount document (to append after `---`).
    pub fn service_account(namespace: &str, name: &str, automount: Option<bool>) -> String {
        let ns = if namespace.is_empty() {
            String::new()
        } else {
            format!("  namespace: {namespace}\n")
        };
        let am = automount
            .map(|b| format!("automountServiceAccountToken: {b}\n"))
            .unwrap_or_default();
        format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n{ns}{am}")
    }
}

#[cfg(test)]
mod example_tests {
    use super::testutil::scan;

    #[test]
    fn shipped_insecure_example_shows_the_serviceaccount_pack() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/insecure/service-accounts.yaml"
        );
        let yaml = std::fs::read_to_string(path).expect("examples/insecure/service-accounts.yaml");
        let found: Vec<_> = scan(&yaml, "serviceaccount/")
            .iter()
            .map(|f| (f.rule, f.object.name.clone(), f.line))
            .collect();
        let want = [
            ("serviceaccount/token-automount", "cart", 17),
            ("serviceaccount/default", "cart", 17),
            ("serviceaccount/token-automount", "reports", 40),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|&(r, n, l)| (r, n.to_string(), l))
            .collect();
        assert_eq!(found, want);
    }
}
