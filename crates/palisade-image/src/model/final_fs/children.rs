//! The children of one directory of the final filesystem, by name, in
//! byte order. Most directories hold a handful (and every parent of a deep
//! path holds one), so they are kept in a sorted vector of exactly their
//! size; a directory that grows past [`SMALL`] moves to a B-tree, so that
//! adding to a directory of many thousands of entries stays logarithmic.

use std::collections::BTreeMap;

/// Children kept in a vector up to this many.
const SMALL: usize = 8;

/// Index of a slot of the tree.
pub(super) type Id = u32;

/// The children of one directory.
#[derive(Debug, Clone)]
pub(super) enum Children {
    Small(Vec<(Box<str>, Id)>),
    Large(BTreeMap<Box<str>, Id>),
}

impl Default for Children {
    fn default() -> Self {
        Children::Small(Vec::new())
    }
}

impl Children {
    /// The child named `name`.
    pub(super) fn get(&self, name: &str) -> Option<Id> {
        match self {
            Children::Small(v) => v
                .binary_search_by(|(n, _)| (**n).cmp(name))
                .ok()
                .map(|i| v[i].1),
            Children::Large(m) => m.get(name).copied(),
        }
    }

    /// Adds the child `name` (not present yet).
    pub(super) fn insert(&mut self, name: &str, id: Id) {
        match self {
            Children::Small(v) if v.len() < SMALL => {
                let at = v
                    .binary_search_by(|(n, _)| (**n).cmp(name))
                    .unwrap_or_else(|at| at);
                // Exactly the room needed: a one-child directory holds one.
                v.reserve_exact(1);
                v.insert(at, (name.into(), id));
            }
            Children::Small(v) => {
                let mut m: BTreeMap<Box<str>, Id> = std::mem::take(v).into_iter().collect();
                m.insert(name.into(), id);
                *self = Children::Large(m);
            }
            Children::Large(m) => {
                m.insert(name.into(), id);
            }
        }
    }

    /// Takes the child `name` out.
    pub(super) fn remove(&mut self, name: &str) {
        match self {
            Children::Small(v) => {
                if let Ok(i) = v.binary_search_by(|(n, _)| (**n).cmp(name)) {
                    v.remove(i);
                }
            }
            Children::Large(m) => {
                m.remove(name);
            }
        }
    }

    /// Keeps the children for which `keep` says yes.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&str, Id) -> bool) {
        match self {
            Children::Small(v) => v.retain(|(n, id)| keep(n, *id)),
            Children::Large(m) => m.retain(|n, id| keep(n, *id)),
        }
    }

    /// Whether there are none.
    pub(super) fn is_empty(&self) -> bool {
        match self {
            Children::Small(v) => v.is_empty(),
            Children::Large(m) => m.is_empty(),
        }
    }

    /// The children in byte order of their names.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, Id)> {
        let (small, large) = match self {
            Children::Small(v) => (Some(v.iter().map(|(n, id)| (&**n, *id))), None),
            Children::Large(m) => (None, Some(m.iter().map(|(n, id)| (&**n, *id)))),
        };
        small
            .into_iter()
            .flatten()
            .chain(large.into_iter().flatten())
    }

    /// The children's slots.
    pub(super) fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.iter().map(|(_, id)| id)
    }

    /// The children, owned.
    pub(super) fn into_vec(self) -> Vec<(Box<str>, Id)> {
        match self {
            Children::Small(v) => v,
            Children::Large(m) => m.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_stay_sorted_past_the_small_size() {
        let mut c = Children::default();
        let names: Vec<String> = (0..20).rev().map(|i| format!("n{i:02}")).collect();
        for (i, n) in names.iter().enumerate() {
            c.insert(n, i as Id);
            let listed: Vec<&str> = c.iter().map(|(n, _)| n).collect();
            let mut sorted = listed.clone();
            sorted.sort_unstable();
            assert_eq!(listed, sorted);
        }
        assert!(matches!(c, Children::Large(_)));
        assert_eq!(c.get("n19"), Some(0));
        c.remove("n19");
        assert_eq!(c.get("n19"), None);
        c.retain(|n, _| n < "n05");
        assert_eq!(c.ids().count(), 5);
        assert_eq!(c.iter().next_back().map(|(n, _)| n), Some("n04"));
    }
}
