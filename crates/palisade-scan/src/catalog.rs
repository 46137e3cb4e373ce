//! The whole rule catalog, built in one place: every rule palisade can
//! report, in `palisade rules` order. Each crate lists its own rules once;
//! this only puts the lists together.

use palisade_core::engine::{DUPLICATE_KEY, EXPIRED_EXEMPTION, IGNORE_ANNOTATION};
use palisade_core::RuleMeta;

/// Every rule: the manifest packs (with the registry rules after the other
/// `image/` rules), RBAC, the engine's own input and policy rules, then
/// image content.
pub fn catalog() -> Vec<&'static RuleMeta> {
    let packs = palisade_rules::catalog();
    let after_image = packs
        .iter()
        .rposition(|m| m.id.starts_with("image/"))
        .map_or(packs.len(), |i| i + 1);
    let mut all = Vec::with_capacity(packs.len() + 64);
    all.extend(&packs[..after_image]);
    all.extend(palisade_supply::rules::CATALOG);
    all.extend(&packs[after_image..]);
    all.extend(palisade_rbac::catalog());
    all.push(&crate::analyses::network::META);
    all.extend(crate::analyses::cluster::CATALOG);
    all.extend(crate::analyses::storage::CATALOG);
    all.push(&crate::analyses::encryption_files::CONFIG_READABLE);
    all.extend([
        &DUPLICATE_KEY,
        &palisade_rbac::CONFLICT,
        &EXPIRED_EXEMPTION,
        &IGNORE_ANNOTATION,
    ]);
    all.extend(palisade_image::catalog());
    all
}

/// The catalog entry of `id`.
pub fn find(id: &str) -> Option<&'static RuleMeta> {
    catalog().into_iter().find(|m| m.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_entry_is_documented() {
        let cat = catalog();
        let mut ids: Vec<_> = cat.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), cat.len(), "a rule is listed twice");
        for m in &cat {
            assert!(
                !m.title.is_empty() && !m.rationale.is_empty() && !m.remediation.is_empty(),
                "{} is not documented",
                m.id
            );
        }
    }

    #[test]
    fn every_crate_contributes_and_registry_rules_follow_the_image_pack() {
        let ids: Vec<_> = catalog().iter().map(|m| m.id).collect();
        for id in [
            "pss/privileged",
            "image/signature",
            "rbac/cluster-admin-binding",
            "input/duplicate-key",
            "image/vulnerable",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
        let pos = |id: &str| ids.iter().position(|x| *x == id).unwrap();
        assert_eq!(pos("image/signature"), pos("image/running-untrusted") + 1);
        assert!(pos("image/resolved-digest") < pos("secrets/env-secret-ref"));
    }
}
