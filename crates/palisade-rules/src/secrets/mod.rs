//! The `secrets` rule pack: credentials in manifests. Secrets read into
//! environment variables, credentials written into any field of any object
//! (with a keyword-gated detector, [`detect::Detector`]), and Secret
//! manifests kept in source.
//!
//! <https://kubernetes.io/docs/concepts/security/secrets-good-practices/>

use palisade_core::{Rule, RuleMeta};
use palisade_secrets as detect;

mod env_secret_ref;
mod hardcoded_credential;
mod plaintext_secret;
mod registry_credential;

/// The Kubernetes "Good practices for Kubernetes Secrets" page the pack links to.
pub const GOOD_PRACTICES_URL: &str =
    "https://kubernetes.io/docs/concepts/security/secrets-good-practices/";

/// The rules of this pack, in `palisade rules` order: the one list the
/// engine runs and the catalog shows.
pub static RULES: &[&dyn Rule] = &[
    &env_secret_ref::EnvSecretRef,
    &hardcoded_credential::HardcodedCredential::strong(),
    &hardcoded_credential::HardcodedCredential::weak(),
    &plaintext_secret::PlaintextSecret,
    &registry_credential::RegistryCredential,
];

/// Catalog entries of this pack, from [`RULES`].
pub fn catalog() -> impl Iterator<Item = &'static RuleMeta> {
    RULES.iter().map(|r| <dyn Rule>::meta(*r))
}

/// The Secret of `target` when it is one written in a manifest: a Secret
/// read from the API server is where its values belong, so the rules
/// about Secrets kept in source skip it.
fn secret_manifest<'a>(target: &palisade_core::Target<'a>) -> Option<&'a palisade_core::Object> {
    let obj = target.object;
    (obj.id.kind == "Secret"
        && obj.id.api_version == "v1"
        && !palisade_core::is_api_location(&obj.file))
    .then_some(obj)
}

#[cfg(test)]
pub(crate) mod testutil {
    use palisade_core::{Context, Engine, Finding, Limits, Policy};

    /// Findings of the whole rule set (every pack) for `yaml` under `policy`.
    pub fn findings_with(yaml: &str, policy: Policy) -> Vec<Finding> {
        let engine = Engine::new(
            crate::all_rules(),
            Context::from_policy(policy),
            Limits::default(),
        );
        let report = engine.scan_bytes("t.yaml", yaml.as_bytes());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report.findings
    }

    /// Findings of the `secrets` pack only, under the default policy.
    pub fn secrets(yaml: &str) -> Vec<Finding> {
        secrets_with(yaml, Policy::default())
    }

    /// Findings of the `secrets` pack only, under `policy`.
    pub fn secrets_with(yaml: &str, policy: Policy) -> Vec<Finding> {
        findings_with(yaml, policy)
            .into_iter()
            .filter(|f| f.rule.starts_with("secrets/"))
            .collect()
    }

    /// Asserts that no field of any finding (as JSON) contains `value`.
    pub fn assert_redacted(findings: &[Finding], value: &str) {
        for f in findings {
            let json = serde_json::to_string(f).expect("finding serialises");
            assert!(!json.contains(value), "secret leaked in {json}");
        }
    }
}
