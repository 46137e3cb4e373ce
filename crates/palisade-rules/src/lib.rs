//! palisade-rules: the built-in rule packs and the rule catalog.
//!
//! Packs: `pss` (Pod Security Standards), `image` (provenance), `secrets`
//! (credentials in manifests), `serviceaccount` (token exposure),
//! `hardening` (kube-linter / Polaris style best practices),
//! `controlplane` (kube-apiserver, controller manager, scheduler, etcd and
//! kubelet settings against the CIS Kubernetes Benchmark, from static pod
//! manifests, KubeletConfiguration files and kubeadm ClusterConfigurations)
//! and `encryption` (EncryptionConfiguration files: what is encrypted at
//! rest, with which provider and keys). Each pack lists its rules once, in
//! its `RULES`.

pub mod controlplane;
pub mod encryption;
pub mod hardening;
pub mod image;
pub mod pss;
pub mod secrets;
pub mod serviceaccount;
pub mod vap_export;

use palisade_core::{Rule, RuleMeta};

/// The packs, in `palisade rules` order (the PSS pack's checks come first).
fn packs() -> impl Iterator<Item = &'static dyn Rule> {
    let pss = pss::CHECKS.iter().map(|c| *c as &'static dyn Rule);
    pss.chain(
        [
            image::RULES,
            secrets::RULES,
            serviceaccount::RULES,
            hardening::RULES,
            controlplane::RULES,
            encryption::RULES,
        ]
        .into_iter()
        .flatten()
        .copied(),
    )
}

/// Every built-in rule, ready for the engine.
pub fn all_rules() -> Vec<Box<dyn Rule>> {
    packs().map(|r| Box::new(r) as Box<dyn Rule>).collect()
}

/// The catalog entries of the rule packs, in `palisade rules` order. The
/// whole catalog (with the engine's own rules, RBAC, the registry and
/// image content) is built in one place: `palisade_scan::catalog`.
pub fn catalog() -> Vec<&'static RuleMeta> {
    packs().map(<dyn Rule>::meta).collect()
}

/// The pack a rule id belongs to (`pss/privileged` → `pss`).
pub fn pack_of(id: &str) -> &str {
    id.split_once('/').map_or(id, |(p, _)| p)
}

/// One pack's `RULES`, ready for the engine.
pub fn boxed(list: &'static [&'static dyn Rule]) -> Vec<Box<dyn Rule>> {
    list.iter().map(|r| Box::new(*r) as Box<dyn Rule>).collect()
}

/// Rules of the PSS pack only (for comparisons and benchmarks).
pub fn pss_rules() -> Vec<Box<dyn Rule>> {
    pss::CHECKS
        .iter()
        .map(|c| Box::new(*c) as Box<dyn Rule>)
        .collect()
}

/// What the packs' unit tests share.
#[cfg(test)]
pub(crate) mod testutil {
    use palisade_core::{Context, Engine, Finding, Limits};

    /// Findings of every rule for `yaml`, at the default policy.
    pub fn findings(yaml: &str) -> Vec<Finding> {
        let engine = Engine::new(crate::all_rules(), Context::default(), Limits::default());
        let report = engine.scan_bytes("t.yaml", yaml.as_bytes());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report.findings
    }

    /// Findings of rule `id`.
    pub fn scan(yaml: &str, id: &str) -> Vec<Finding> {
        findings(yaml)
            .into_iter()
            .filter(|f| f.rule == id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_ids_are_unique_and_documented() {
        let cat = catalog();
        let mut ids: Vec<_> = cat.iter().map(|m| m.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), cat.len());
        for m in cat {
            assert!(
                !m.rationale.is_empty() && !m.remediation.is_empty() && !m.references.is_empty(),
                "{}",
                m.id
            );
        }
    }

    #[test]
    fn every_rule_the_engine_runs_is_in_the_catalog() {
        let cat: Vec<_> = catalog().iter().map(|m| m.id).collect();
        for r in all_rules() {
            assert!(
                cat.contains(&r.meta().id),
                "{} missing from catalog",
                r.meta().id
            );
        }
    }
}
