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
    /// Objects that arrive while the scan runs (a cluster's LISTs, page by
    /// page), checked as they come and dropped after their window: memory
    /// follows the report, not the input. The index pass does not see
    /// them, so a source puts what the index needs (ServiceAccounts) in an
    /// [`Unit::Objects`] before its stream.
    Stream(Stream),
}

/// What a streamed unit yields, in order.
#[derive(Debug)]
pub enum Batch {
    /// Objects to check.
    Objects(Vec<Object>),
    /// Input that could not be read (a LIST that failed), reported as an
    /// error at `name` (exit status 2); the stream goes on.
    Error {
        /// Where (`/api/v1/pods`).
        name: String,
        /// Why.
        message: String,
    },
    /// A note for the summary (a LIST that restarted).
    Note(String),
}

/// The batches of a [`Unit::Stream`], pulled one at a time by the check pass.
pub struct Stream(std::sync::Mutex<Box<dyn Iterator<Item = Batch> + Send>>);

impl Stream {
    /// A stream of `batches`.
    pub fn new(batches: impl Iterator<Item = Batch> + Send + 'static) -> Self {
        Stream(std::sync::Mutex::new(Box::new(batches)))
    }

    /// The next batch, or `None` at the end.
    pub fn next_batch(&self) -> Option<Batch> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).next()
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
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
    fn units(self: Box<Self>, limits: &Limits) -> Vec<Unit> {
        let mut out = Vec::new();
        let mut patches = Patches::default();
        let mut file = |p: PathBuf| {
            if is_stream(&p) {
                return stream(p, limits);
            }
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

/// Whether `path` exists and is not a regular file or directory: a FIFO,
/// a device, a process substitution (`<(cmd)`). Such input can be read
/// only once and may never end.
fn is_stream(path: &std::path::Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// A stream read once, within the file size limit, as bytes in memory.
fn stream(path: PathBuf, limits: &Limits) -> Unit {
    let name = path.to_string_lossy().into_owned();
    let read = std::fs::File::open(&path)
        .map_err(ReadError::Io)
        .and_then(|f| read_capped(f, limits.max_file_bytes));
    match read {
        Ok(bytes) => Unit::Bytes {
            name: name.into(),
            bytes: bytes.into(),
        },
        Err(e) => Unit::Unreadable {
            message: e.message(&name, limits.max_file_bytes),
            name,
        },
    }
}

/// Standard input, read once (up to the file limit, and one byte more so
/// that an oversized input is reported as such).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdin;

impl Source for Stdin {
    fn units(self: Box<Self>, limits: &Limits) -> Vec<Unit> {
        vec![
            match read_capped(std::io::stdin().lock(), limits.max_file_bytes) {
                Ok(buf) => {
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        eprintln!("palisade: warning: standard input is empty: nothing to scan");
                    }
                    Unit::Bytes {
                        name: "-".into(),
                        bytes: buf.into(),
                    }
                }
                Err(e) => Unit::Unreadable {
                    name: "-".into(),
                    message: e.message("standard input", limits.max_file_bytes),
                },
            },
        ]
    }
}

/// Why a stream could not be read whole.
#[derive(Debug)]
pub enum ReadError {
    /// It gives more than the file size limit.
    Over,
    /// Reading failed.
    Io(std::io::Error),
}

impl ReadError {
    /// The message for `what` (`standard input`, a path).
    pub fn message(&self, what: &str, limit: u64) -> String {
        match self {
            ReadError::Over => format!(
                "{what} gives more than the file size limit of {limit} bytes; nothing of it was scanned"
            ),
            ReadError::Io(e) => format!("cannot read {what}: {e}"),
        }
    }
}

/// Reads a stream whole, refusing it as soon as it passes `limit` bytes:
/// the buffer grows to at most `limit + 1` bytes (never to twice the
/// limit, as doubling would), and a pipe that never ends (`yes`) is
/// stopped there. Reading stops early at a NUL byte (`/dev/zero`): the
/// content is binary, which decoding reports.
pub fn read_capped(mut input: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    const CHUNK: usize = 64 * 1024;
    let cap = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    let mut buf: Vec<u8> = Vec::new();
    loop {
        if buf.len() == buf.capacity() {
            let grow = buf.capacity().max(CHUNK).min(cap - buf.len().min(cap));
            if grow == 0 {
                return Err(ReadError::Over);
            }
            buf.reserve_exact(grow);
        }
        let start = buf.len();
        let room = (buf.capacity() - start).min(cap - start).min(CHUNK);
        buf.resize(start + room, 0);
        let n = loop {
            match input.read(&mut buf[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        };
        buf.truncate(start + n);
        // A NUL byte makes it binary, which decoding refuses whatever
        // follows: no need to read `/dev/zero` up to the limit.
        if n == 0 || memchr::memchr(0, &buf[start..]).is_some() {
            return Ok(buf);
        }
        if buf.len() as u64 > limit {
            return Err(ReadError::Over);
        }
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

/// Whether any manifest file under `paths` (walked as [`Paths`] walks
/// them) contains `needle`: a cheap look, before a scan, for objects that
/// change what the scan must keep (ValidatingAdmissionPolicyBindings).
/// Streams are not read (they can be read only once).
pub fn paths_mention(paths: &[PathBuf], needle: &str) -> bool {
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let hit = |p: &std::path::Path| {
        !is_stream(p) && std::fs::read(p).is_ok_and(|b| finder.find(&b).is_some())
    };
    paths.iter().any(|path| {
        if path.is_dir() {
            walk::files(path, MANIFEST_EXTENSIONS, Depth::Recursive)
                .into_iter()
                .any(|e| matches!(e, walk::Entry::File(p) if hit(&p)))
        } else {
            hit(path)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_stream_is_refused_at_the_limit_without_growing_past_it() {
        let limit = 1_000_000;
        match read_capped(std::io::repeat(b'y'), limit) {
            Err(ReadError::Over) => {}
            other => panic!("expected Over, got {other:?}"),
        }
        let message = ReadError::Over.message("standard input", limit);
        assert_eq!(
            message,
            "standard input gives more than the file size limit of 1000000 bytes; nothing of it was scanned"
        );
        // Exactly at the limit is read whole, in a buffer no larger than it needs.
        let bytes = read_capped(&vec![b'a'; 1_000_000][..], limit).unwrap();
        assert_eq!(bytes.len(), 1_000_000);
        assert!(bytes.capacity() as u64 <= limit + 1, "{}", bytes.capacity());
    }

    #[test]
    fn a_nul_byte_stops_the_read_early() {
        let zeros = read_capped(std::io::repeat(0), 1 << 30).unwrap();
        assert!(zeros.len() <= 64 * 1024);
    }
}
