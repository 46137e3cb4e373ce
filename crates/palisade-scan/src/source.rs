//! Sources: where a scan's input comes from. Each yields [`Unit`]s in
//! order; the scan reads them in two passes (index, then check), so files
//! are read from disk twice in bounded pieces, and input that cannot be
//! read twice (standard input) is read once into memory.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use palisade_core::walk::{self, Depth, MANIFEST_EXTENSIONS};

use crate::kustomize::{Patches, PATCH_REASON};
use palisade_core::{Limits, Object};

/// One unit of input.
#[derive(Debug)]
pub enum Unit {
    /// A file on disk.
    File(PathBuf),
    /// Bytes in memory (standard input, a request body), named as a file.
    Bytes {
        /// The name findings carry (`-` for standard input).
        name: Arc<str>,
        /// The content.
        bytes: Arc<[u8]>,
    },
    /// Objects already parsed (an admission request, a cluster listing),
    /// shared rather than copied.
    Objects(Arc<[Object]>),
    /// A file that is not scanned, listed with the reason (a kustomize patch).
    Skipped {
        /// The file.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Input that could not be read, reported as an error of the file.
    Unreadable {
        /// The file.
        name: String,
        /// Why.
        message: String,
    },
}

/// A front door's input.
pub trait Source: Send {
    /// The units of input, in order. Called once, before the index pass.
    fn units(self: Box<Self>, limits: &Limits) -> Vec<Unit>;
}

/// Files and directories (walked recursively for manifests, see
/// [`palisade_core::walk`]).
#[derive(Debug, Clone)]
pub struct Paths(pub Vec<PathBuf>);

impl Source for Paths {
    fn units(self: Box<Self>, _limits: &Limits) -> Vec<Unit> {
        let mut out = Vec::new();
        let mut patches = Patches::default();
        let mut file = |p: PathBuf| {
            if patches.is_patch(&p) {
                Unit::Skipped {
                    name: p.to_string_lossy().into_owned(),
                    reason: PATCH_REASON,
                }
            } else {
                Unit::File(p)
            }
        };
        for path in self.0 {
            if path.is_dir() {
                for entry in walk::files(&path, MANIFEST_EXTENSIONS, Depth::Recursive) {
                    out.push(match entry {
                        walk::Entry::File(p) => file(p),
                        walk::Entry::Broken(p, message) => Unit::Unreadable {
                            name: p.to_string_lossy().into_owned(),
                            message,
                        },
                    });
                }
            } else {
                out.push(file(path));
            }
        }
        out
    }
}

/// Standard input, read once (up to the file limit, and one byte more so
/// that an oversized input is reported as such).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdin;

impl Source for Stdin {
    fn units(self: Box<Self>, limits: &Limits) -> Vec<Unit> {
        let mut buf = Vec::new();
        let read = std::io::stdin()
            .lock()
            .take(limits.max_file_bytes + 1)
            .read_to_end(&mut buf);
        vec![match read {
            Ok(_) => Unit::Bytes {
                name: "-".into(),
                bytes: buf.into(),
            },
            Err(e) => Unit::Unreadable {
                name: "-".into(),
                message: format!("cannot read standard input: {e}"),
            },
        }]
    }
}

/// Bytes in memory, read as a file of that name would be.
#[derive(Debug, Clone)]
pub struct Bytes {
    /// The name findings carry.
    pub name: String,
    /// The content.
    pub bytes: Vec<u8>,
}

impl Source for Bytes {
    fn units(self: Box<Self>, _limits: &Limits) -> Vec<Unit> {
        vec![Unit::Bytes {
            name: self.name.into(),
            bytes: self.bytes.into(),
        }]
    }
}

/// Objects already in memory: no parsing, the same checks.
#[derive(Debug, Clone)]
pub struct Objects(pub Arc<[Object]>);

impl From<Vec<Object>> for Objects {
    fn from(objects: Vec<Object>) -> Self {
        Objects(objects.into())
    }
}

impl Source for Objects {
    fn units(self: Box<Self>, _limits: &Limits) -> Vec<Unit> {
        vec![Unit::Objects(self.0)]
    }
}
