//! One tar entry of a layer: its path checked, whiteouts applied, hard
//! links validated, its content read once for the visitors that want it,
//! then recorded in the filesystem.

use std::io::Read;

use super::{fs, shorten, WalkState};
use crate::error::ImageError;
use crate::model::{Entry, EntryKind, FsNode, LayerInfo, TableFull, Visitor};

impl WalkState {
    /// One tar entry: refused, a whiteout, or recorded and handed to the visitors.
    pub(super) fn entry<R: Read>(
        &mut self,
        layer: usize,
        digest: &str,
        entry: &mut tar::Entry<'_, R>,
        raw_path: &str,
        visitors: &mut [&mut dyn Visitor],
        info: &mut LayerInfo,
    ) -> Result<(), ImageError> {
        let entry_type = entry.header().entry_type();
        if entry_type == tar::EntryType::XGlobalHeader {
            return Ok(());
        }
        let Some(path) = self.checked_path(digest, raw_path) else {
            return Ok(());
        };
        if self.whiteout(layer, &path, visitors) {
            return Ok(());
        }
        let link_name = || {
            entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let Some(kind) = self.kind_of(entry_type, &path, link_name, digest, raw_path) else {
            return Ok(());
        };
        let size = if kind == EntryKind::File {
            entry.size()
        } else {
            0
        };
        if entry_type.is_gnu_sparse() && size > self.limits.max_file_bytes {
            // Its holes would expand to `size` bytes of zeros that no
            // decompression limit counts.
            self.refuse(
                digest,
                raw_path,
                &format!("sparse file of {size} bytes, larger than the content limit"),
            );
            return Ok(());
        }
        let header = entry.header();
        let e = Entry {
            layer,
            path: &path,
            kind,
            mode: header.mode().unwrap_or(0),
            uid: header.uid().unwrap_or(0),
            gid: header.gid().unwrap_or(0),
            size,
        };
        self.deliver(&e, entry, digest, visitors)?;
        info.file_bytes += size;
        let node = FsNode {
            layer,
            kind: e.kind,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            size,
        };
        self.fs
            .insert(&path, node)
            .map_err(|full| table_full(full, digest, &path))
    }

    /// The entry's normalised path; `None` (with a warning when refused)
    /// for a path that climbs out of the root or is over the limit, and
    /// for the root directory itself.
    fn checked_path(&mut self, digest: &str, raw_path: &str) -> Option<String> {
        let path = match fs::normalise(raw_path) {
            Ok(p) => p,
            Err(reason) => {
                self.refuse(digest, raw_path, &reason.to_string());
                return None;
            }
        };
        if path.len() > self.limits.max_path_bytes {
            self.refuse(
                digest,
                &shorten(raw_path),
                &format!(
                    "path of {} bytes, longer than the limit of {}",
                    path.len(),
                    self.limits.max_path_bytes
                ),
            );
            return None;
        }
        // The root directory itself (`./`): nothing to record.
        (!path.is_empty()).then_some(path)
    }

    /// Applies a whiteout (`.wh.NAME` removes NAME, `.wh..wh..opq` empties
    /// its directory) and tells the visitors; `false` when `path` is not one.
    fn whiteout(&mut self, layer: usize, path: &str, visitors: &mut [&mut dyn Visitor]) -> bool {
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let Some(hidden) = name.strip_prefix(".wh.") else {
            return false;
        };
        if hidden == ".wh..opq" {
            self.fs.opaque(parent, layer);
            for v in visitors.iter_mut() {
                v.removed(layer, parent, true);
            }
        } else if hidden.starts_with(".wh.") || hidden.is_empty() {
            // Other aufs metadata (`.wh..wh.plnk`, `.wh..wh.aufs`): not files.
        } else {
            let target = if parent.is_empty() {
                hidden.to_string()
            } else {
                format!("{parent}/{hidden}")
            };
            self.fs.whiteout(&target, layer);
            for v in visitors.iter_mut() {
                v.removed(layer, &target, false);
            }
        }
        true
    }

    /// What the entry is; `None` (with a warning) for a hard link that
    /// points out of the root, to itself, to a directory or to nothing.
    fn kind_of(
        &mut self,
        entry_type: tar::EntryType,
        path: &str,
        link_name: impl FnOnce() -> String,
        digest: &str,
        raw_path: &str,
    ) -> Option<EntryKind> {
        Some(match entry_type {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File
            }
            // Old tars mark regular files by a NUL type; a trailing `/` marks a directory.
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => {
                let target = link_name();
                if target.len() > self.limits.max_path_bytes {
                    self.refuse(
                        digest,
                        &shorten(raw_path),
                        &format!(
                            "symlink target of {} bytes, longer than the limit of {}",
                            target.len(),
                            self.limits.max_path_bytes
                        ),
                    );
                    return None;
                }
                EntryKind::Symlink(target)
            }
            tar::EntryType::Link => {
                let link_name = link_name();
                let target = match fs::normalise(&link_name) {
                    Ok(t) => t,
                    Err(reason) => {
                        self.refuse(
                            digest,
                            raw_path,
                            &format!("hard link target {link_name:?}: {reason}"),
                        );
                        return None;
                    }
                };
                let problem = if target == path || target.is_empty() {
                    Some("hard link to itself")
                } else {
                    match self.fs.get(&target) {
                        None => Some("hard link to a path not seen before"),
                        Some(n) if n.kind == EntryKind::Dir => Some("hard link to a directory"),
                        Some(_) => None,
                    }
                };
                if let Some(problem) = problem {
                    self.refuse(digest, raw_path, &format!("{problem} ({target})"));
                    return None;
                }
                EntryKind::Hardlink(target)
            }
            _ => EntryKind::Other,
        })
    }

    /// Hands the entry to every visitor, with its content to those that
    /// want it and whose content limit it fits (read once for all).
    fn deliver<R: Read>(
        &mut self,
        e: &Entry<'_>,
        entry: &mut tar::Entry<'_, R>,
        digest: &str,
        visitors: &mut [&mut dyn Visitor],
    ) -> Result<(), ImageError> {
        let size = e.size;
        // Each visitor's content limit when it wants the content: the
        // scan's, or the larger one it asks for (`Visitor::content_limit`).
        let mut read_limit = None;
        for (want, v) in self.wanted.iter_mut().zip(visitors.iter_mut()) {
            *want = (e.kind == EntryKind::File && v.wants(e)).then(|| {
                let own = v.content_limit(e).map_or(self.limits.max_file_bytes, |l| {
                    l.max(self.limits.max_file_bytes)
                });
                read_limit = read_limit.max(Some(own));
                own
            });
        }
        let have_content = read_limit.is_some_and(|limit| size <= limit);
        if have_content {
            // A large file's buffer is not kept for the small ones after it.
            if self.content.capacity() as u64 > 2 * self.limits.max_file_bytes.max(size) {
                self.content = Vec::new();
            }
            self.content.clear();
            self.content
                .reserve_exact(usize::try_from(size).unwrap_or(0));
            entry
                .take(size)
                .read_to_end(&mut self.content)
                .map_err(|err| ImageError::from_io(err, digest))?;
            if self.content.len() as u64 != size {
                return Err(ImageError::Layer {
                    layer: digest.to_string(),
                    reason: format!(
                        "{}: truncated: {} of {size} bytes",
                        e.path,
                        self.content.len()
                    ),
                });
            }
        }
        // The visitors that want it and got no content, as a stream.
        let streamed: Vec<bool> = self
            .wanted
            .iter()
            .zip(visitors.iter())
            .map(|(want, v)| {
                want.is_some_and(|limit| !(have_content && size <= limit))
                    && v.stream_limit(e).is_some_and(|l| size <= l)
            })
            .collect();
        if streamed.contains(&true) {
            let mut piece = vec![0u8; PIECE_BYTES];
            let mut offset = 0u64;
            let mut rest = entry.take(size);
            while offset < size {
                let n = rest
                    .read(&mut piece)
                    .map_err(|err| ImageError::from_io(err, digest))?;
                if n == 0 {
                    return Err(ImageError::Layer {
                        layer: digest.to_string(),
                        reason: format!("{}: truncated: {offset} of {size} bytes", e.path),
                    });
                }
                for (_, v) in streamed
                    .iter()
                    .zip(visitors.iter_mut())
                    .filter(|(s, _)| **s)
                {
                    v.piece(e, offset, &piece[..n]);
                }
                offset += n as u64;
            }
        }
        for (want, v) in self.wanted.iter().zip(visitors.iter_mut()) {
            let fits = have_content && want.is_some_and(|limit| size <= limit);
            v.entry(e, fits.then_some(self.content.as_slice()));
        }
        Ok(())
    }

    fn refuse(&mut self, digest: &str, path: &str, reason: &str) {
        let warning = format!("layer {digest}: {path}: refused: {reason}");
        self.warnings
            .push(crate::printable::escape_controls(&warning).into_owned());
    }
}

/// The size of the pieces a streamed file is handed over in.
const PIECE_BYTES: usize = 1 << 20;

/// The error for a write the final filesystem's limits refuse.
fn table_full(full: TableFull, digest: &str, path: &str) -> ImageError {
    let (limit, what) = match full {
        TableFull::NameBytes(limit) => (limit, "bytes of path names"),
        TableFull::Paths(limit) => (
            limit,
            "paths, parent directories included (`--max-entries`)",
        ),
    };
    ImageError::PathTableFull {
        layer: digest.to_string(),
        path: shorten(path),
        limit,
        what,
    }
}
