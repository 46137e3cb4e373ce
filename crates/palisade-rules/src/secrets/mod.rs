//! The `secrets` rule pack.

use palisade_core::{Rule, RuleMeta};

/// The rules of this pack, ready for the engine.
pub fn rules() -> Vec<Box<dyn Rule>> {
    Vec::new()
}

/// Catalog entries of this pack, in `palisade rules` order.
pub fn catalog() -> Vec<&'static RuleMeta> {
    Vec::new()
}
