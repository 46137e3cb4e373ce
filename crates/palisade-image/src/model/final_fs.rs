//! The final filesystem as the layers are applied one after the other,
//! kept as a tree of name components: each directory holds its children
//! by name, so a path shared by many files (`usr/share/doc/…`) is stored
//! once, however long, and hiding a tree is cutting one branch.
//!
//! Entries replace what earlier layers wrote, whiteouts and opaque
//! directories hide it (only what *earlier* layers wrote, as the OCI image
//! spec says, whatever the order of entries inside a layer), and a
//! non-directory written over a directory hides the directory's content.
//!
//! The tree is bounded by [`TableLimits`]: the bytes of names it keeps
//! (components and link targets) and the number of paths in it, parent
//! directories that no entry wrote included; past either, a write is
//! refused with [`TableFull`].

mod children;

use children::{Children, Id};

use super::{EntryKind, FsNode};

/// How much the tree may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableLimits {
    /// Bytes of name components and link targets.
    pub max_name_bytes: u64,
    /// Paths (nodes), parent directories included.
    pub max_paths: u64,
}

impl TableLimits {
    /// No limit (tests and tools that build a tree by hand).
    pub const UNLIMITED: TableLimits = TableLimits {
        max_name_bytes: u64::MAX,
        max_paths: u64::MAX,
    };
}

/// A write that the tree's limits refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFull {
    /// More bytes of names than `TableLimits::max_name_bytes`.
    NameBytes(u64),
    /// More paths than `TableLimits::max_paths`.
    Paths(u64),
}

/// The root's slot.
const ROOT: Id = 0;

/// One path of the tree: what was written there (nothing for a parent
/// directory that no entry wrote) and its children by name.
#[derive(Debug, Clone)]
struct Slot {
    node: Option<FsNode>,
    children: Children,
    /// No node under this slot (itself included) is older than this layer:
    /// a whiteout of a later layer only has to look where this is lower.
    oldest: usize,
}

/// The filesystem a container sees: every layer applied in order, with
/// whiteouts and opaque directories.
#[derive(Debug, Clone)]
pub struct FinalFs {
    slots: Vec<Slot>,
    /// Slots emptied by a removal (no node, no children), reused first.
    free: Vec<Id>,
    /// Bytes of the names and link targets held.
    name_bytes: u64,
    /// Slots in use besides the root.
    paths: u64,
    /// Slots that hold a node.
    nodes: usize,
    limits: TableLimits,
}

impl Default for FinalFs {
    fn default() -> Self {
        FinalFs::new(TableLimits::UNLIMITED)
    }
}

impl FinalFs {
    /// An empty filesystem bounded by `limits`.
    pub fn new(limits: TableLimits) -> Self {
        FinalFs {
            slots: vec![Slot::empty()],
            free: Vec::new(),
            name_bytes: 0,
            paths: 0,
            nodes: 0,
            limits,
        }
    }

    /// The node at `path` (normalised), if present in the final filesystem.
    pub fn get(&self, path: &str) -> Option<&FsNode> {
        self.find(path)
            .and_then(|id| self.slots[id as usize].node.as_ref())
    }

    /// Whether what `layer` wrote at `path` is still what the container
    /// sees (false when a later layer deleted or replaced it).
    pub fn survives(&self, layer: usize, path: &str) -> bool {
        self.get(path).is_some_and(|n| n.layer == layer)
    }

    /// How many paths hold a node.
    pub fn len(&self) -> usize {
        self.nodes
    }

    /// Whether no path holds a node.
    pub fn is_empty(&self) -> bool {
        self.nodes == 0
    }

    /// Bytes of names (components and link targets) the tree holds.
    pub fn name_bytes(&self) -> u64 {
        self.name_bytes
    }

    /// Whether a node exists strictly under the directory `dir`.
    pub fn any_under(&self, dir: &str) -> bool {
        let Some(start) = self.find(dir) else {
            return false;
        };
        let mut todo: Vec<Id> = self.slot(start).children.ids().collect();
        while let Some(id) = todo.pop() {
            let slot = self.slot(id);
            if slot.node.is_some() {
                return true;
            }
            todo.extend(slot.children.ids());
        }
        false
    }

    /// Calls `f` with every path that holds a node and the node, depth
    /// first, siblings in byte order of their names; the path is built in
    /// one buffer, never stored.
    pub fn for_each(&self, mut f: impl FnMut(&str, &FsNode)) {
        // (slot, its name, length of its parent's path)
        let mut todo: Vec<(Id, &str, usize)> = Vec::new();
        let mut path = String::new();
        for (name, id) in self.slot(ROOT).children.iter().rev() {
            todo.push((id, name, 0));
        }
        while let Some((id, name, at)) = todo.pop() {
            path.truncate(at);
            if at > 0 {
                path.push('/');
            }
            path.push_str(name);
            let slot = self.slot(id);
            if let Some(node) = &slot.node {
                f(&path, node);
            }
            let here = path.len();
            for (name, child) in slot.children.iter().rev() {
                todo.push((child, name, here));
            }
        }
    }

    /// Every path that holds a node, in [`FinalFs::for_each`] order.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.nodes);
        self.for_each(|p, _| out.push(p.to_string()));
        out
    }

    /// Writes `node` at `path` (normalised, not the root); a non-directory
    /// hides everything under `path`. Parent directories no entry wrote
    /// are added without a node.
    pub(crate) fn insert(&mut self, path: &str, node: FsNode) -> Result<(), TableFull> {
        self.charge(link_bytes(&node.kind), 0)?;
        let id = self.make_path(path, node.layer)?;
        if node.kind != EntryKind::Dir {
            self.drop_children(id);
        }
        let old = self.slots[id as usize].node.replace(node);
        match old {
            Some(old) => self.name_bytes -= link_bytes(&old.kind),
            None => self.nodes += 1,
        }
        Ok(())
    }

    /// A whiteout in `layer`: `path` and everything under it, as written
    /// by earlier layers, disappear.
    pub(crate) fn whiteout(&mut self, path: &str, layer: usize) {
        if let Some(chain) = self.chain(path) {
            self.remove_older(chain[chain.len() - 1], layer, true);
            self.prune(&chain, path);
        }
    }

    /// An opaque directory in `layer`: what earlier layers wrote under `dir` disappears.
    pub(crate) fn opaque(&mut self, dir: &str, layer: usize) {
        if let Some(chain) = self.chain(dir) {
            self.remove_older(chain[chain.len() - 1], layer, false);
            self.prune(&chain, dir);
        }
    }

    fn slot(&self, id: Id) -> &Slot {
        &self.slots[id as usize]
    }

    /// The slot of `path`, if the tree has one.
    fn find(&self, path: &str) -> Option<Id> {
        let mut id = ROOT;
        for part in components(path) {
            id = self.slot(id).children.get(part)?;
        }
        Some(id)
    }

    /// The slots from the root to `path`, if the tree has them.
    fn chain(&self, path: &str) -> Option<Vec<Id>> {
        let mut chain = vec![ROOT];
        for part in components(path) {
            chain.push(self.slot(chain[chain.len() - 1]).children.get(part)?);
        }
        Some(chain)
    }

    /// Counts `bytes` of names and `paths` new slots, unless over a limit.
    fn charge(&mut self, bytes: u64, paths: u64) -> Result<(), TableFull> {
        let names = self.name_bytes.saturating_add(bytes);
        if names > self.limits.max_name_bytes {
            return Err(TableFull::NameBytes(self.limits.max_name_bytes));
        }
        let count = self.paths.saturating_add(paths);
        if count > self.limits.max_paths {
            return Err(TableFull::Paths(self.limits.max_paths));
        }
        self.name_bytes = names;
        self.paths = count;
        Ok(())
    }

    /// The slot of `path`, made with its missing parents; every slot on
    /// the way learns that `layer` wrote under it.
    fn make_path(&mut self, path: &str, layer: usize) -> Result<Id, TableFull> {
        let mut id = ROOT;
        self.slots[ROOT as usize].oldest = self.slot(ROOT).oldest.min(layer);
        for part in components(path) {
            id = match self.slot(id).children.get(part) {
                Some(child) => child,
                None => {
                    self.charge(part.len() as u64, 1)?;
                    let child = self.alloc();
                    self.slots[id as usize].children.insert(part, child);
                    child
                }
            };
            let slot = &mut self.slots[id as usize];
            slot.oldest = slot.oldest.min(layer);
        }
        Ok(id)
    }

    fn alloc(&mut self) -> Id {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Slot::empty();
                id
            }
            None => {
                // `max_paths` keeps this far below `u32::MAX` in a scan.
                self.slots.push(Slot::empty());
                (self.slots.len() - 1) as Id
            }
        }
    }

    /// Frees a slot taken out of its parent, whose children are gone.
    fn release(&mut self, id: Id, name: &str) {
        let slot = std::mem::replace(&mut self.slots[id as usize], Slot::empty());
        if let Some(node) = slot.node {
            self.name_bytes -= link_bytes(&node.kind);
            self.nodes -= 1;
        }
        self.name_bytes -= name.len() as u64;
        self.paths -= 1;
        self.free.push(id);
    }

    /// Removes everything under slot `id`, whatever layer wrote it.
    fn drop_children(&mut self, id: Id) {
        let mut todo = vec![std::mem::take(&mut self.slots[id as usize].children)];
        while let Some(children) = todo.pop() {
            for (name, child) in children.into_vec() {
                let grandchildren = std::mem::take(&mut self.slots[child as usize].children);
                if !grandchildren.is_empty() {
                    todo.push(grandchildren);
                }
                self.release(child, &name);
            }
        }
    }

    /// Removes the nodes that layers before `layer` wrote under slot
    /// `top` (and at `top` when `itself`), with the slots left empty.
    /// Only branches holding something older than `layer` are visited.
    fn remove_older(&mut self, top: Id, layer: usize, itself: bool) {
        if self.slot(top).oldest >= layer {
            return;
        }
        let mut order = vec![top];
        let mut next = 0;
        while let Some(&id) = order.get(next) {
            next += 1;
            let older = self.slot(id).children.ids();
            let older: Vec<Id> = older.filter(|c| self.slot(*c).oldest < layer).collect();
            order.extend(older);
        }
        // Children before their parents, so that a parent sees which of
        // its children are left empty.
        for id in order.into_iter().rev() {
            if id != top || itself {
                let slot = &mut self.slots[id as usize];
                if slot.node.as_ref().is_some_and(|n| n.layer < layer) {
                    if let Some(node) = slot.node.take() {
                        self.name_bytes -= link_bytes(&node.kind);
                        self.nodes -= 1;
                    }
                }
            }
            self.prune_children(id);
        }
    }

    /// Frees the empty children of `id` and recomputes its `oldest`.
    fn prune_children(&mut self, id: Id) {
        let mut children = std::mem::take(&mut self.slots[id as usize].children);
        let mut oldest = self.slot(id).node.as_ref().map_or(usize::MAX, |n| n.layer);
        let mut freed = Vec::new();
        children.retain(|name, child| {
            let slot = &self.slots[child as usize];
            if slot.node.is_none() && slot.children.is_empty() {
                freed.push((child, name.len()));
                false
            } else {
                oldest = oldest.min(slot.oldest);
                true
            }
        });
        for (child, len) in freed {
            self.name_bytes -= len as u64;
            self.paths -= 1;
            self.free.push(child);
        }
        let slot = &mut self.slots[id as usize];
        slot.children = children;
        slot.oldest = oldest;
    }

    /// Frees the slots of `chain` (the root to `path`) left empty, deepest first.
    fn prune(&mut self, chain: &[Id], path: &str) {
        let names: Vec<&str> = components(path).collect();
        for depth in (1..chain.len()).rev() {
            let (id, parent) = (chain[depth], chain[depth - 1]);
            let slot = self.slot(id);
            if slot.node.is_some() || !slot.children.is_empty() {
                return;
            }
            self.slots[parent as usize]
                .children
                .remove(names[depth - 1]);
            self.release(id, names[depth - 1]);
        }
    }
}

impl Slot {
    fn empty() -> Slot {
        Slot {
            node: None,
            children: Children::default(),
            oldest: usize::MAX,
        }
    }
}

/// The components of a normalised path.
fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|p| !p.is_empty())
}

/// Bytes a node's link target adds to the names kept.
fn link_bytes(kind: &EntryKind) -> u64 {
    match kind {
        EntryKind::Symlink(t) | EntryKind::Hardlink(t) => t.len() as u64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(layer: usize, kind: EntryKind) -> FsNode {
        FsNode {
            layer,
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
        }
    }

    fn insert(fs: &mut FinalFs, path: &str, layer: usize, kind: EntryKind) {
        fs.insert(path, node(layer, kind)).unwrap();
    }

    #[test]
    fn whiteout_hides_earlier_layers_only() {
        let mut fs = FinalFs::default();
        insert(&mut fs, "a", 0, EntryKind::Dir);
        insert(&mut fs, "a/x", 0, EntryKind::File);
        insert(&mut fs, "a/y", 1, EntryKind::File);
        insert(&mut fs, "ab", 0, EntryKind::File);
        fs.whiteout("a", 1);
        assert!(fs.get("a").is_none());
        assert!(fs.get("a/x").is_none());
        assert!(fs.get("a/y").is_some(), "same-layer file survives");
        assert!(
            fs.get("ab").is_some(),
            "a sibling with the same prefix survives"
        );
        assert_eq!(fs.paths(), ["a/y", "ab"]);
        assert_eq!(fs.len(), 2);
    }

    #[test]
    fn file_over_directory_hides_its_content() {
        let mut fs = FinalFs::default();
        insert(&mut fs, "d", 0, EntryKind::Dir);
        insert(&mut fs, "d/f", 0, EntryKind::File);
        insert(&mut fs, "d", 1, EntryKind::Symlink("/x".into()));
        assert!(fs.get("d/f").is_none());
        assert_eq!(fs.name_bytes(), "d".len() as u64 + "/x".len() as u64);
        fs.opaque("", 2);
        assert!(fs.is_empty());
        assert_eq!(fs.name_bytes(), 0, "every name is given back");
        assert_eq!(fs.paths, 0);
    }

    #[test]
    fn shared_parents_are_kept_once() {
        let mut fs = FinalFs::default();
        let parent = "p".repeat(200);
        for i in 0..100 {
            insert(
                &mut fs,
                &format!("{parent}/{parent}/f{i:02}"),
                0,
                EntryKind::File,
            );
        }
        let names = 2 * 200 + 100 * 3;
        assert_eq!(fs.name_bytes(), names);
        assert_eq!(fs.len(), 100);
        assert!(
            fs.get(&parent).is_none(),
            "a parent no entry wrote has no node"
        );
        assert!(fs.any_under(&parent));
        assert_eq!(fs.paths()[0], format!("{parent}/{parent}/f00"));
    }

    #[test]
    fn limits_refuse_names_and_paths_past_them() {
        let limits = TableLimits {
            max_name_bytes: 10,
            max_paths: 3,
        };
        let mut fs = FinalFs::new(limits);
        fs.insert("abcd/ef", node(0, EntryKind::File)).unwrap();
        assert_eq!(
            fs.insert("abcd/ghijk", node(0, EntryKind::File)),
            Err(TableFull::NameBytes(10))
        );
        let mut fs = FinalFs::new(limits);
        fs.insert("a/b/c", node(0, EntryKind::File)).unwrap();
        assert_eq!(
            fs.insert("a/b/d", node(0, EntryKind::File)),
            Err(TableFull::Paths(3))
        );
        // A whiteout gives the room back.
        fs.whiteout("a/b", 1);
        assert!(fs.is_empty());
        fs.insert("x/y/z", node(1, EntryKind::File)).unwrap();
        assert_eq!(fs.paths(), ["x/y/z"]);
    }

    #[test]
    fn whiteouts_of_one_layer_skip_what_it_wrote_itself() {
        let mut fs = FinalFs::default();
        insert(&mut fs, "d/old", 0, EntryKind::File);
        for i in 0..50 {
            insert(&mut fs, &format!("d/new{i}"), 1, EntryKind::File);
        }
        fs.opaque("d", 1);
        assert_eq!(fs.len(), 50);
        assert!(fs.get("d/old").is_none());
        assert_eq!(fs.slot(fs.find("d").unwrap()).oldest, 1);
        fs.whiteout("d/new3", 2);
        assert_eq!(fs.len(), 49);
        assert!(fs.get("d/new3").is_none() && fs.get("d/new4").is_some());
    }
}
