//! The final filesystem as the layers are applied one after the other:
//! entries replace what earlier layers wrote, whiteouts and opaque
//! directories hide it (only what *earlier* layers wrote, as the OCI image
//! spec says, whatever the order of entries inside a layer), and a
//! non-directory written over a directory hides the directory's content.
//! Paths are kept sorted during the walk so that hiding a tree is a range,
//! not a scan of every path.

use std::collections::BTreeMap;

use crate::model::{EntryKind, FinalFs, FsNode};

/// The filesystem being built.
#[derive(Default)]
pub(crate) struct FsBuilder {
    nodes: BTreeMap<String, FsNode>,
}

impl FsBuilder {
    /// The node at `path`, if any.
    pub(crate) fn get(&self, path: &str) -> Option<&FsNode> {
        self.nodes.get(path)
    }

    /// Writes `node` at `path`.
    pub(crate) fn insert(&mut self, path: &str, node: FsNode) {
        if node.kind != EntryKind::Dir {
            // A file over a directory: the directory's content goes with it.
            self.remove_under(path, usize::MAX);
        }
        self.nodes.insert(path.to_string(), node);
    }

    /// A whiteout in `layer`: `path` and everything under it, as written
    /// by earlier layers, disappear.
    pub(crate) fn whiteout(&mut self, path: &str, layer: usize) {
        if self.nodes.get(path).is_some_and(|n| n.layer < layer) {
            self.nodes.remove(path);
        }
        self.remove_under(path, layer);
    }

    /// An opaque directory in `layer`: what earlier layers wrote under `dir` disappears.
    pub(crate) fn opaque(&mut self, dir: &str, layer: usize) {
        self.remove_under(dir, layer);
    }

    /// Removes the nodes strictly under `dir` written before `layer`.
    fn remove_under(&mut self, dir: &str, layer: usize) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, n)| n.layer < layer)
            .map(|(k, _)| k.clone())
            .collect();
        for k in doomed {
            self.nodes.remove(&k);
        }
    }

    /// The final filesystem.
    pub(crate) fn finish(self) -> FinalFs {
        FinalFs {
            nodes: self.nodes.into_iter().collect(),
        }
    }
}

/// Why an entry's path was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// A `..` climbs above the image root.
    Escapes,
    /// A NUL byte (no file system accepts one).
    Nul,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PathError::Escapes => "a `..` climbs above the image root",
            PathError::Nul => "the path holds a NUL byte",
        })
    }
}

/// Normalises a tar path: relative to the image root, no leading `/` or
/// `./`, no `.` or empty components, `..` resolved; `""` is the root.
/// A `..` that would climb above the root is refused, also in an absolute
/// path (where a shell would stop at `/`): no tool writes such paths, so
/// they are taken as hostile rather than guessed at.
pub(crate) fn normalise(raw: &str) -> Result<String, PathError> {
    if raw.contains('\0') {
        return Err(PathError::Nul);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(PathError::Escapes);
                }
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
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

    #[test]
    fn paths_are_normalised() {
        assert_eq!(normalise("./etc/passwd").unwrap(), "etc/passwd");
        assert_eq!(normalise("/etc//./passwd").unwrap(), "etc/passwd");
        assert_eq!(normalise("usr/lib/../bin/").unwrap(), "usr/bin");
        assert_eq!(normalise("./").unwrap(), "");
        assert_eq!(normalise("../../etc/passwd"), Err(PathError::Escapes));
        assert_eq!(normalise("/../etc/passwd"), Err(PathError::Escapes));
        assert_eq!(normalise("a/../../b"), Err(PathError::Escapes));
        assert_eq!(normalise("a\0b"), Err(PathError::Nul));
    }

    #[test]
    fn whiteout_hides_earlier_layers_only() {
        let mut fs = FsBuilder::default();
        fs.insert("a", node(0, EntryKind::Dir));
        fs.insert("a/x", node(0, EntryKind::File));
        fs.insert("a/y", node(1, EntryKind::File));
        fs.insert("ab", node(0, EntryKind::File));
        fs.whiteout("a", 1);
        assert!(fs.get("a").is_none());
        assert!(fs.get("a/x").is_none());
        assert!(fs.get("a/y").is_some(), "same-layer file survives");
        assert!(
            fs.get("ab").is_some(),
            "a sibling with the same prefix survives"
        );
    }

    #[test]
    fn file_over_directory_hides_its_content() {
        let mut fs = FsBuilder::default();
        fs.insert("d", node(0, EntryKind::Dir));
        fs.insert("d/f", node(0, EntryKind::File));
        fs.insert("d", node(1, EntryKind::Symlink("/x".into())));
        assert!(fs.get("d/f").is_none());
        fs.opaque("", 2);
        assert!(fs.finish().nodes.is_empty());
    }
}
