//! palisade-rules: the built-in rule packs and the rule catalog.
//!
//! Packs: `pss` (Pod Security Standards), `image` (provenance), `secrets`
//! (credentials in manifests), `serviceaccount` (token exposure) and
//! `hardening` (kube-linter / Polaris style best practices). The catalog
//! also lists the engine's own input and policy rules.

pub mod hardening;
pub mod image;
pub mod pss;
pub mod secrets;
pub mod serviceaccount;

use palisade_core::engine::{DUPLICATE_KEY, EXPIRED_EXEMPTION, IGNORE_ANNOTATION};
use palisade_core::{Rule, RuleMeta};

/// Every built-in rule, ready for the engine.
pub fn all_rules() -> Vec<Box<dyn Rule>> {
    let mut all: Vec<Box<dyn Rule>> = pss::CHECKS
        .iter()
        .map(|c| Box::new(CheckRef(c)) as Box<dyn Rule>)
        .collect();
    all.extend(image::rules());
    all.extend(secrets::rules());
    all.extend(serviceaccount::rules());
    all.extend(hardening::rules());
    all
}

/// Every rule the catalog knows, in `palisade rules` order.
pub fn catalog() -> Vec<&'static RuleMeta> {
    let mut all: Vec<&'static RuleMeta> = pss::CHECKS.iter().map(|c| &c.meta).collect();
    all.extend(image::catalog());
    all.extend(secrets::catalog());
    all.extend(serviceaccount::catalog());
    all.extend(hardening::catalog());
    // Whole-scan analysis: run by the scan after every object is read.
    all.extend(palisade_rbac::catalog());
    all.extend([&DUPLICATE_KEY, &EXPIRED_EXEMPTION, &IGNORE_ANNOTATION]);
    all
}

/// The pack a rule id belongs to (`pss/privileged` → `pss`).
pub fn pack_of(id: &str) -> &str {
    id.split_once('/').map_or(id, |(p, _)| p)
}

/// The catalog entry of `id`.
pub fn find(id: &str) -> Option<&'static RuleMeta> {
    catalog().into_iter().find(|m| m.id == id)
}

/// Rules of the PSS pack only (for comparisons and benchmarks).
pub fn pss_rules() -> Vec<Box<dyn Rule>> {
    pss::CHECKS
        .iter()
        .map(|c| Box::new(CheckRef(c)) as Box<dyn Rule>)
        .collect()
}

/// A `'static` check used as a boxed rule.
struct CheckRef(&'static pss::PssCheck);

impl Rule for CheckRef {
    fn meta(&self) -> &RuleMeta {
        self.0.meta()
    }

    fn check(
        &self,
        target: &palisade_core::Target<'_>,
        ctx: &palisade_core::Context,
        out: &mut Vec<palisade_core::Violation>,
    ) {
        self.0.check(target, ctx, out)
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
