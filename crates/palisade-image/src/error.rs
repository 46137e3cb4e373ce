//! What can go wrong while opening an image or walking its layers; every
//! message names the image, layer digest or path concerned.
//!
//! The error is `Clone` (plain strings and numbers only) because the layer
//! readers report it through `std::io::Error` (the `Read` trait the tar and
//! decompression crates drive) and the walker takes it back out of there.

/// An image could not be opened or walked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The image reference or source string does not parse.
    #[error("{source_str}: invalid image source: {reason}")]
    InvalidSource {
        /// The source as given.
        source_str: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The registry could not deliver the image (see `palisade_oci::OciError`).
    #[error("{0}")]
    Registry(String),
    /// A file of an image layout or archive could not be read.
    #[error("{path}: {reason}")]
    Io {
        /// The file (or `archive!member`).
        path: String,
        /// The operating system's or the parser's answer.
        reason: String,
    },
    /// A manifest, index or config is not what the image format says.
    #[error("{what}: {reason}")]
    Malformed {
        /// The document (`index.json`, `manifest sha256:...`, `config sha256:...`).
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No manifest for the requested tag or platform.
    #[error("{image}: {reason}")]
    NotFound {
        /// The image source.
        image: String,
        /// What was looked for and what there is.
        reason: String,
    },
    /// A blob's bytes do not hash to its digest.
    #[error("{what}: digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        /// The blob (`layer sha256:...`, file path).
        what: String,
        /// The digest it is named by.
        expected: String,
        /// The digest of its bytes.
        actual: String,
    },
    /// A blob is not as long as its descriptor says.
    #[error("{what}: size mismatch: the descriptor says {expected} bytes, the blob has {actual}")]
    SizeMismatch {
        /// The blob.
        what: String,
        /// The size in the descriptor.
        expected: u64,
        /// The bytes found (at least this many when the blob is longer).
        actual: u64,
    },
    /// The layers decompress to more than `Limits::max_total_bytes`.
    #[error(
        "layer {layer} exceeds the limit of {limit} uncompressed bytes (a decompression bomb?)"
    )]
    TooManyBytes {
        /// Digest of the layer being read when the limit was hit.
        layer: String,
        /// The limit.
        limit: u64,
    },
    /// The layers hold more than `Limits::max_entries` tar entries.
    #[error("layer {layer} exceeds the limit of {limit} tar entries")]
    TooManyEntries {
        /// Digest of the layer being read when the limit was hit.
        layer: String,
        /// The limit.
        limit: u64,
    },
    /// The final filesystem would keep more names or paths than its limits
    /// (`Limits::max_path_names`, `Limits::max_entries`).
    #[error("layer {layer}: {path}: the final filesystem would keep more than {limit} {what} (a hostile layer?)")]
    PathTableFull {
        /// The layer.
        layer: String,
        /// The entry that would pass the limit (control characters escaped).
        path: String,
        /// The limit.
        limit: u64,
        /// What it counts, with the limit's name.
        what: &'static str,
    },
    /// The image has more than `Limits::max_layers` layers.
    #[error("{image}: {count} layers, more than the limit of {limit}")]
    TooManyLayers {
        /// The image.
        image: String,
        /// Its layer count.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// A tar header's metadata (long name, PAX records) is larger than any
    /// real one: refused before it is held in memory.
    #[error(
        "layer {layer}: tar metadata of more than {limit} bytes after {after} (a hostile archive?)"
    )]
    MetadataTooLarge {
        /// The layer.
        layer: String,
        /// The last entry read before it (`the start` for the first).
        after: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A layer is not a valid (compressed) tar stream.
    #[error("layer {layer}: {reason}")]
    Layer {
        /// The layer.
        layer: String,
        /// What the tar or decompression reader said.
        reason: String,
    },
}

impl ImageError {
    /// Takes an `ImageError` back out of an I/O error raised by one of this
    /// crate's readers (possibly wrapped by the tar or decompression crates),
    /// or describes the I/O error as a layer error.
    pub(crate) fn from_io(err: std::io::Error, layer: &str) -> Self {
        find_in_chain(&err).unwrap_or_else(|| ImageError::Layer {
            layer: layer.to_string(),
            reason: chain_text(&err),
        })
    }

    /// The same error with the control characters of every name in it
    /// escaped (see [`crate::printable`]): paths, members and reasons come
    /// from the image.
    pub fn printable(mut self) -> Self {
        use crate::printable::escape_in_place as esc;
        match &mut self {
            ImageError::InvalidSource {
                source_str: a,
                reason: b,
            }
            | ImageError::Io { path: a, reason: b }
            | ImageError::Malformed { what: a, reason: b }
            | ImageError::NotFound {
                image: a,
                reason: b,
            }
            | ImageError::Layer {
                layer: a,
                reason: b,
            } => {
                esc(a);
                esc(b);
            }
            ImageError::DigestMismatch {
                what,
                expected,
                actual,
            } => {
                esc(what);
                esc(expected);
                esc(actual);
            }
            ImageError::MetadataTooLarge { layer, after, .. } => {
                esc(layer);
                esc(after);
            }
            ImageError::PathTableFull { layer, path, .. } => {
                esc(layer);
                esc(path);
            }
            ImageError::Registry(a)
            | ImageError::SizeMismatch { what: a, .. }
            | ImageError::TooManyBytes { layer: a, .. }
            | ImageError::TooManyEntries { layer: a, .. }
            | ImageError::TooManyLayers { image: a, .. } => esc(a),
        }
        self
    }

    /// Wraps `self` into an I/O error for the `Read` implementations.
    pub(crate) fn into_io(self) -> std::io::Error {
        std::io::Error::other(self)
    }
}

/// The first `ImageError` in `err`'s chain. `io::Error::source` skips the
/// error it wraps (it returns that error's source), so wrapped errors are
/// opened with `get_ref` as well.
fn find_in_chain(err: &(dyn std::error::Error + 'static)) -> Option<ImageError> {
    let mut current = Some(err);
    let mut depth = 0;
    while let Some(e) = current {
        depth += 1;
        if depth > 32 {
            return None;
        }
        if let Some(found) = e.downcast_ref::<ImageError>() {
            return Some(found.clone());
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            current = Some(inner as &(dyn std::error::Error + 'static));
            continue;
        }
        current = e.source();
    }
    None
}

/// The error and its causes on one line.
fn chain_text(err: &std::io::Error) -> String {
    let mut out = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
