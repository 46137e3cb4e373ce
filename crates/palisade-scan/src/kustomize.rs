//! Kustomize patches: a file that a `kustomization.yaml` in its directory
//! or a parent names under `patches`, `patchesStrategicMerge` or
//! `patchesJson6902` is a patch, not an object (a strategic-merge patch
//! looks like a partial Deployment). Scanned alone it would give false
//! findings or errors, so it is listed as skipped, with what to do instead.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use palisade_core::loader::{load_bytes, Limits};
use palisade_core::Node;

/// Why a patch file is skipped.
pub const PATCH_REASON: &str =
    "kustomize patch: scan the rendered output (kubectl kustomize DIR | palisade scan -)";

/// The file names kustomize reads as a kustomization.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Largest kustomization file read.
const MAX_KUSTOMIZATION_BYTES: u64 = 1 << 20;

/// Directories searched above a file for kustomizations.
const MAX_PARENTS: usize = 32;

/// The patch files named by kustomizations, read once per directory.
#[derive(Debug, Default)]
pub struct Patches {
    by_dir: HashMap<PathBuf, Vec<PathBuf>>,
}

impl Patches {
    /// Whether `file` is named as a patch by a kustomization in its
    /// directory or one of its parents.
    pub fn is_patch(&mut self, file: &Path) -> bool {
        let Ok(file) = file.canonicalize() else {
            return false;
        };
        let mut dir = file.parent();
        for _ in 0..MAX_PARENTS {
            let Some(d) = dir else { break };
            let patches = self
                .by_dir
                .entry(d.to_path_buf())
                .or_insert_with(|| patches_of(d));
            if patches.contains(&file) {
                return true;
            }
            dir = d.parent();
        }
        false
    }
}

/// The kustomization of `dir`, if it has one.
pub fn kustomization_of(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The canonical paths of the patch files `dir`'s kustomization names.
fn patches_of(dir: &Path) -> Vec<PathBuf> {
    let Some(path) = kustomization_of(dir) else {
        return Vec::new();
    };
    let Some(root) = read_kustomization(&path) else {
        return Vec::new();
    };
    let mut names: Vec<&str> = Vec::new();
    let items = |k: &str| root.get(k).map(Node::items).unwrap_or_default();
    names.extend(
        items("patchesStrategicMerge")
            .iter()
            .filter_map(Node::as_str),
    );
    for k in ["patchesJson6902", "patches"] {
        for item in items(k) {
            match item.as_str() {
                Some(s) => names.push(s),
                None => names.extend(item.get("path").and_then(Node::as_str)),
            }
        }
    }
    names
        .into_iter()
        // An inline patch is YAML text, not a file name.
        .filter(|n| !n.contains('\n'))
        .filter_map(|n| dir.join(n).canonicalize().ok())
        .collect()
}

/// The first document of a kustomization file, within a size limit.
pub fn read_kustomization(path: &Path) -> Option<Node> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_KUSTOMIZATION_BYTES)
        .read_to_end(&mut bytes)
        .ok()?;
    load_bytes(&bytes, &Limits::default())
        .documents
        .into_iter()
        .next()
        .map(|d| d.root)
}
