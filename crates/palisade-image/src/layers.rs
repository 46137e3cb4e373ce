//! The streaming layer walker: each layer of an [`Image`] is read once, in
//! order, decompressed as a stream (gzip, zstd or none, sniffed from the
//! bytes rather than trusted from the media type), and its tar entries are
//! walked without seeking or extracting anything. Paths are normalised,
//! whiteouts and opaque directories applied to the final filesystem, and
//! every entry is handed to the [`Visitor`]s with the content of regular
//! files that a visitor wants (up to `Limits::max_file_bytes`, read once).
//!
//! Hostile input is refused, never followed: a path climbing out of the
//! root, a path longer than `Limits::max_path_bytes`, a hard link to
//! nothing seen before (or to itself, or to a directory), a sparse file
//! larger than the content limit — each is skipped and named in
//! [`WalkResult::warnings`]. Symbolic links are recorded, never resolved.
//! Exceeding a limit (total uncompressed bytes, entries, layers, tar
//! metadata per entry) stops the walk with an error naming the layer.
//!
//! Reading the stored blob (and checking its digest) and decompressing run
//! on threads of their own ([`pipe`]), ahead of the tar walk and the
//! visitors, and the next layer is started while this one is walked; each
//! stage holds a few MiB at most.

mod fs;
mod pipe;

use std::cell::Cell;
use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ImageError;
use crate::model::{FinalFs, LayerInfo, Limits, TableLimits, Visitor};
use crate::source::Image;

mod entry;
mod readers;

use readers::*;

/// The result of one walk.
#[derive(Debug, Clone, Default)]
pub struct WalkResult {
    /// What each layer holds, base first.
    pub layers: Vec<LayerInfo>,
    /// The filesystem a container of the image sees.
    pub fs: FinalFs,
    /// Entries refused, each as `layer sha256:...: PATH: reason`.
    pub warnings: Vec<String>,
}

/// Where a walk is, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress<'a> {
    /// Index of the layer being read (0 = base).
    pub layer: usize,
    /// Number of layers.
    pub layers: usize,
    /// Its digest.
    pub digest: &'a str,
    /// Its stored (compressed) size from the manifest.
    pub compressed_size: u64,
    /// Stored bytes read so far.
    pub compressed_read: u64,
    /// The layer is finished.
    pub done: bool,
}

/// Normalises a tar path as the walker does: relative to the image root,
/// no leading `/` or `./`, no `.` or empty components, `..` resolved (`""`
/// is the root); an error when a `..` climbs above the root.
pub fn normalise_path(raw: &str) -> Result<String, String> {
    fs::normalise(raw).map_err(|e| e.to_string())
}

/// Progress is reported at least this often, in stored bytes.
const PROGRESS_STEP: u64 = 1 << 20;
/// Read buffer between the stored stream and the decompressor.
const READ_BUFFER: usize = 256 << 10;
/// Buffers of stored bytes read ahead of decompression.
const READ_BUFFERS: usize = 4;
/// Buffers of uncompressed bytes decompressed ahead of the walk: 4 MiB,
/// enough to carry the walk over a run of small text files while the
/// decompressor is busy with a large binary (and the other way round).
const UNPACKED_BUFFERS: usize = 16;
/// Tar metadata allowed for one entry beyond its path (PAX records for
/// xattrs and times, headers, padding); real entries use a few KiB.
const METADATA_SLACK: u64 = 1 << 20;

/// Walks every layer of `image` in order, feeding `visitors`, and builds
/// the final filesystem; calls each visitor's `finish` at the end.
/// Names in warnings and errors have their control characters escaped.
pub fn walk(
    image: &mut Image,
    limits: &Limits,
    visitors: &mut [&mut dyn Visitor],
    progress: Option<&dyn Fn(&Progress<'_>)>,
) -> Result<WalkResult, ImageError> {
    walk_layers(image, limits, visitors, progress).map_err(ImageError::printable)
}

fn walk_layers(
    image: &mut Image,
    limits: &Limits,
    visitors: &mut [&mut dyn Visitor],
    progress: Option<&dyn Fn(&Progress<'_>)>,
) -> Result<WalkResult, ImageError> {
    let count = image.layers.len();
    if count > limits.max_layers {
        return Err(ImageError::TooManyLayers {
            image: image.name.clone(),
            count,
            limit: limits.max_layers,
        });
    }
    // History lines that made a layer, in order, matched to the layers.
    let mut created_by = image
        .config
        .history
        .iter()
        .filter(|(_, empty)| !empty)
        .map(|(line, _)| (!line.is_empty()).then(|| line.clone()))
        .collect::<Vec<_>>()
        .into_iter();
    let total_bytes = Cell::new(0);
    let mut state = WalkState {
        limits: *limits,
        total_entries: 0,
        fs: FinalFs::new(TableLimits {
            max_name_bytes: limits.max_path_names,
            max_paths: limits.max_entries,
        }),
        warnings: Vec::new(),
        content: Vec::new(),
        scratch: vec![0; 64 << 10],
        wanted: vec![None; visitors.len()],
    };
    let descs = image.layers.clone();
    // Stored bytes read of each layer, counted on its reading thread.
    let stored_read = descs.iter().map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
    let mut layers = Vec::with_capacity(count);
    std::thread::scope(|scope| {
        // The next layer is opened and read ahead while the walk is on
        // this one, so that the reading threads have work while the
        // walk is busy; an error in opening it waits for its turn.
        let mut ahead = None;
        for (index, desc) in descs.iter().enumerate() {
            let started = match ahead.take() {
                Some(started) => started,
                None => start_layer(scope, image, index, &desc.digest, &stored_read[index]),
            }?;
            if let Some(next) = descs.get(index + 1) {
                ahead = Some(start_layer(
                    scope,
                    image,
                    index + 1,
                    &next.digest,
                    &stored_read[index + 1],
                ));
            }
            let report = Progress {
                layer: index,
                layers: count,
                digest: &desc.digest,
                compressed_size: desc.size,
                compressed_read: 0,
                done: false,
            };
            let mut info =
                state.walk_layer(index, started, report, &total_bytes, visitors, progress)?;
            info.created_by = created_by.next().flatten();
            layers.push(info);
        }
        Ok::<_, ImageError>(())
    })?;
    for v in visitors.iter_mut() {
        v.finish(&state.fs);
    }
    Ok(WalkResult {
        layers,
        fs: state.fs,
        warnings: state.warnings,
    })
}

/// What the walk carries from one layer to the next.
struct WalkState {
    limits: Limits,
    total_entries: u64,
    fs: FinalFs,
    warnings: Vec<String>,
    /// File content handed to visitors (reused).
    content: Vec<u8>,
    /// Buffer for reading through content nobody wants.
    scratch: Vec<u8>,
    /// Which visitors want the current entry's content, with their content limit.
    wanted: Vec<Option<u64>>,
}

/// The compression of a layer, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn sniff(magic: &[u8]) -> Result<Self, &'static str> {
        Ok(match magic {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            [0xfd, b'7', b'z', b'X', ..] => return Err("xz"),
            [b'B', b'Z', b'h', ..] => return Err("bzip2"),
            _ => Compression::None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// A layer whose stored blob is being read and decompressed ahead of the walk.
struct Started<'scope> {
    compression: Compression,
    /// The uncompressed stream.
    stream: pipe::PipeReader<'scope>,
    /// Stored bytes read so far.
    stored_read: &'scope AtomicU64,
}

/// Opens layer `index` of `image`, sniffs its compression and starts the
/// threads that read and decompress it.
fn start_layer<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    image: &mut Image,
    index: usize,
    digest: &str,
    stored_read: &'scope AtomicU64,
) -> Result<Started<'scope>, ImageError> {
    let fail = |e: io::Error| ImageError::from_io(e, digest);
    let mut stored = CountingReader {
        inner: image.open_layer(index)?,
        read: stored_read,
    };
    // Sniff the magic bytes, then hand them back in front of the stream.
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match stored.read(&mut magic[got..]).map_err(fail)? {
            0 => break,
            n => got += n,
        }
    }
    let compression = Compression::sniff(&magic[..got]).map_err(|kind| ImageError::Layer {
        layer: digest.to_string(),
        reason: format!("compressed with {kind}, which OCI and Docker layers never use"),
    })?;
    // Two threads ahead of the walk: one reads the stored blob and hashes
    // it, one decompresses; with the walk that makes three stages that the
    // cores share as the content of the layers shifts the work between them.
    let stored = pipe::spawn(scope, "palisade-read", READ_BUFFERS, stored).map_err(fail)?;
    let buffered = BufReader::with_capacity(
        READ_BUFFER,
        io::Cursor::new(magic[..got].to_vec()).chain(stored),
    );
    let decoder = match compression {
        Compression::None => Decoder::Plain(buffered),
        Compression::Gzip => {
            Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(buffered)))
        }
        Compression::Zstd => Decoder::Zstd(zstd::Decoder::with_buffer(buffered).map_err(fail)?),
    };
    let stream = pipe::spawn(
        scope,
        "palisade-unpack",
        UNPACKED_BUFFERS,
        ToTheEnd {
            decoder: Some(decoder),
        },
    )
    .map_err(fail)?;
    Ok(Started {
        compression,
        stream,
        stored_read,
    })
}

impl WalkState {
    fn walk_layer(
        &mut self,
        index: usize,
        started: Started<'_>,
        report: Progress<'_>,
        total_bytes: &Cell<u64>,
        visitors: &mut [&mut dyn Visitor],
        progress: Option<&dyn Fn(&Progress<'_>)>,
    ) -> Result<LayerInfo, ImageError> {
        if let Some(p) = progress {
            p(&report);
        }
        let reader = ProgressReader {
            inner: started.stream,
            read: started.stored_read,
            reported: 0,
            report,
            progress,
        };
        let info = self.walk_tar(reader, index, started.compression, total_bytes, visitors)?;
        if let Some(p) = progress {
            p(&Progress {
                compressed_read: info.compressed_size,
                done: true,
                ..report
            });
        }
        Ok(info)
    }

    /// The tar walk of one layer's uncompressed stream, to its end.
    fn walk_tar(
        &mut self,
        reader: ProgressReader<'_, impl Read>,
        index: usize,
        compression: Compression,
        total_bytes: &Cell<u64>,
        visitors: &mut [&mut dyn Visitor],
    ) -> Result<LayerInfo, ImageError> {
        let digest = reader.report.digest;
        let fail = |e: io::Error| ImageError::from_io(e, digest);
        let layer_bytes = Cell::new(0u64);
        let window = Cell::new(None);
        let metadata_budget = self.limits.max_path_bytes as u64 * 2 + METADATA_SLACK;
        let counted = LimitReader {
            inner: reader,
            total: total_bytes,
            layer_bytes: &layer_bytes,
            limit: self.limits.max_total_bytes,
            window: &window,
            window_limit: metadata_budget,
            layer: digest,
        };
        let mut info = LayerInfo {
            digest: digest.to_string(),
            compression: compression.name().to_string(),
            compressed_size: 0,
            ..LayerInfo::default()
        };
        let mut archive = tar::Archive::new(counted);
        let mut last_path = String::from("the start of the layer");
        {
            let mut entries = archive.entries().map_err(fail)?;
            let mut pending = 0u64;
            loop {
                window.set(Some(metadata_budget + pending));
                let next = entries.next();
                window.set(None);
                let Some(entry) = next else { break };
                let mut entry = entry.map_err(|e| match ImageError::from_io(e, digest) {
                    ImageError::MetadataTooLarge { layer, limit, .. } => {
                        ImageError::MetadataTooLarge {
                            layer,
                            limit,
                            after: last_path.clone(),
                        }
                    }
                    other => other,
                })?;
                self.total_entries += 1;
                info.entries += 1;
                if self.total_entries > self.limits.max_entries {
                    return Err(ImageError::TooManyEntries {
                        layer: digest.to_string(),
                        limit: self.limits.max_entries,
                    });
                }
                let path_text = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                let sparse = entry.header().entry_type().is_gnu_sparse();
                self.entry(index, digest, &mut entry, &path_text, visitors, &mut info)?;
                // Read the rest of the entry here, so that what the tar
                // reader reads before the next entry is metadata only; a
                // sparse file's holes are not expanded: its stored bytes are
                // skipped by the tar reader instead.
                pending = if sparse {
                    entry.header().entry_size().unwrap_or(0)
                } else {
                    drain(&mut entry, &mut self.scratch).map_err(fail)?;
                    0
                };
                last_path = path_text;
            }
        }
        // Past the end-of-archive blocks: read the rest of the stream, so
        // that the stored blob is checked against its digest to the end
        // (see `ToTheEnd`).
        let mut counted = archive.into_inner();
        drain(&mut counted, &mut self.scratch).map_err(fail)?;
        info.uncompressed_size = layer_bytes.get();
        info.compressed_size = counted.inner.read.load(Ordering::Relaxed);
        Ok(info)
    }
}

/// At most 200 characters of a path, for messages.
fn shorten(path: &str) -> String {
    match path.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &path[..i]),
        None => path.to_string(),
    }
}

/// Reads `r` to its end.
fn drain(r: &mut impl Read, scratch: &mut [u8]) -> io::Result<()> {
    loop {
        match r.read(scratch) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_is_sniffed_from_magic_bytes() {
        assert_eq!(
            Compression::sniff(&[0x1f, 0x8b, 8, 0]),
            Ok(Compression::Gzip)
        );
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Ok(Compression::Zstd)
        );
        assert_eq!(Compression::sniff(b"etc/"), Ok(Compression::None));
        assert_eq!(Compression::sniff(b""), Ok(Compression::None));
        assert_eq!(Compression::sniff(b"BZh9"), Err("bzip2"));
    }
}
