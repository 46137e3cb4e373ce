//! Reading policy, inventory and suite files: paths or directories
//! (recursive, `.yaml`/`.yml`/`.json`), every document, `*List` items
//! expanded, with positions kept for error messages.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use palisade_core::loader::{load_bytes, Limits};
use palisade_core::object::{objects_of, Content};
use palisade_core::walk;
use palisade_core::{Node, Object, Pos};

use crate::error::LoadError;

/// Expands `paths` into files: a file is taken as named, a directory is
/// walked recursively for manifests by the scan's own walker
/// ([`palisade_core::walk`]: name order, hidden entries skipped).
pub(crate) fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<LoadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walk::files(path, walk::MANIFEST_EXTENSIONS, walk::Depth::Recursive) {
                match entry {
                    walk::Entry::File(f) => files.push(f),
                    walk::Entry::Broken(p, e) => errors.push(LoadError::file(
                        &display(&p),
                        format!("cannot read directory: {e}"),
                    )),
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    (files, errors)
}

/// How a path is written in messages.
pub(crate) fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Reads one file into its Kubernetes objects. Documents that are not
/// objects (no `apiVersion`/`kind`) are left out; parse errors are returned.
pub(crate) fn read_file(path: &Path) -> (Vec<Object>, Vec<LoadError>) {
    let name = display(path);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return (
                Vec::new(),
                vec![LoadError::file(&name, format!("cannot read: {e}"))],
            )
        }
    };
    read_bytes(&name, &bytes)
}

/// Parses bytes as a file named `name` would be.
pub(crate) fn read_bytes(name: &str, bytes: &[u8]) -> (Vec<Object>, Vec<LoadError>) {
    let loaded = load_bytes(bytes, &Limits::default());
    let errors: Vec<LoadError> = loaded
        .errors
        .iter()
        .map(|d| LoadError::new(name, d.pos, d.message.clone()))
        .collect();
    let file: Arc<str> = Arc::from(name);
    let mut objects = Vec::new();
    for doc in loaded.documents {
        if let Content::Objects(objs) = objects_of(&file, doc.root) {
            objects.extend(objs);
        }
    }
    (objects, errors)
}

/// Reads every file of `paths` (see [`expand`]).
pub(crate) fn read_paths(paths: &[PathBuf]) -> (Vec<Object>, Vec<LoadError>) {
    let (files, mut errors) = expand(paths);
    let mut objects = Vec::new();
    for f in &files {
        let (objs, errs) = read_file(f);
        objects.extend(objs);
        errors.extend(errs);
    }
    (objects, errors)
}

/// The position of the object itself (its `kind` key, else its first line).
pub(crate) fn object_pos(obj: &Object) -> Pos {
    obj.root
        .entry("kind")
        .map(|e| e.key_pos)
        .unwrap_or(obj.root.pos)
}

/// The position of the field at `keys`, or of its nearest written parent.
pub(crate) fn field_pos(root: &Node, keys: &[&str]) -> Pos {
    let mut node = root;
    let mut pos = root.pos;
    for k in keys {
        match node.entry(k) {
            Some(e) => {
                pos = e.key_pos;
                node = &e.node;
            }
            None => break,
        }
    }
    pos
}

/// The API group of an `apiVersion` (`""` for the core group).
pub(crate) fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The version part of an `apiVersion`.
pub(crate) fn version_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or(api_version, |(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_items_are_read_as_objects_and_values_files_are_left_out() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n---\nreplicas: 3\n";
        let (objs, errs) = read_bytes("f.yaml", text.as_bytes());
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0].id.kind, "Namespace");
    }

    #[test]
    fn parse_errors_carry_the_file_and_line() {
        let (_, errs) = read_bytes("bad.yaml", b"a: 1\n---\nb: [1, 2\nc: 3\n");
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].file, "bad.yaml");
        assert!(errs[0].line >= 3, "{errs:?}");
    }

    #[test]
    fn api_group_and_version_split() {
        assert_eq!(group_of("apps/v1"), "apps");
        assert_eq!(group_of("v1"), "");
        assert_eq!(version_of("apps/v1"), "v1");
        assert_eq!(version_of("v1"), "v1");
    }
}
