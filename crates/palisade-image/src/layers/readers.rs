//! The readers a layer streams through: decompression (gzip, zstd or
//! none), the uncompressed-size limit, byte counting and progress.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{drain, Progress, PROGRESS_STEP};
use crate::error::ImageError;

/// The decompressor chosen by [`Compression::sniff`].
pub(super) enum Decoder<R: BufRead> {
    Plain(R),
    // Boxed: the gzip state is large, and there is one decoder per layer.
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(zstd::Decoder<'static, R>),
}

impl<R: BufRead> Decoder<R> {
    pub(super) fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => (*d).into_inner(),
            Decoder::Zstd(d) => d.finish(),
        }
    }
}

/// The decompressed stream, which at its end reads what is left of the
/// stored stream, so that the blob is checked against its digest to the
/// end; an error there comes after the last decompressed byte.
pub(super) struct ToTheEnd<R: BufRead> {
    /// `None` once the stored stream is read to its end.
    pub(super) decoder: Option<Decoder<R>>,
}

impl<R: BufRead> Read for ToTheEnd<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(0);
        };
        let n = decoder.read(buf)?;
        if n == 0 && !buf.is_empty() {
            if let Some(decoder) = self.decoder.take() {
                drain(&mut decoder.into_inner(), &mut vec![0; 64 << 10])?;
            }
        }
        Ok(n)
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// Counts uncompressed bytes against the total limit, and against the
/// metadata window while the tar reader looks for the next entry.
pub(super) struct LimitReader<'a, R> {
    pub(super) inner: R,
    pub(super) total: &'a Cell<u64>,
    pub(super) layer_bytes: &'a Cell<u64>,
    pub(super) limit: u64,
    pub(super) window: &'a Cell<Option<u64>>,
    /// The window's size, for the message.
    pub(super) window_limit: u64,
    pub(super) layer: &'a str,
}

impl<R: Read> Read for LimitReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.total.get() + n as u64;
        self.total.set(total);
        self.layer_bytes.set(self.layer_bytes.get() + n as u64);
        if total > self.limit {
            return Err(ImageError::TooManyBytes {
                layer: self.layer.to_string(),
                limit: self.limit,
            }
            .into_io());
        }
        if let Some(left) = self.window.get() {
            match left.checked_sub(n as u64) {
                Some(left) => self.window.set(Some(left)),
                None => {
                    return Err(ImageError::MetadataTooLarge {
                        layer: self.layer.to_string(),
                        after: String::new(),
                        limit: self.window_limit,
                    }
                    .into_io())
                }
            }
        }
        Ok(n)
    }
}

/// Counts stored bytes (on the reading thread).
pub(super) struct CountingReader<'a> {
    pub(super) inner: Box<dyn Read + Send>,
    pub(super) read: &'a AtomicU64,
}

impl Read for CountingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reports progress in stored bytes as the uncompressed stream is read
/// (on the walker's thread, which owns the callback).
pub(super) struct ProgressReader<'a, R> {
    pub(super) inner: R,
    /// Stored bytes read, counted by a [`CountingReader`].
    pub(super) read: &'a AtomicU64,
    pub(super) reported: u64,
    pub(super) report: Progress<'a>,
    pub(super) progress: Option<&'a dyn Fn(&Progress<'_>)>,
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = self.read.load(Ordering::Relaxed);
        if let Some(p) = self.progress {
            if read - self.reported >= PROGRESS_STEP {
                self.reported = read;
                p(&Progress {
                    compressed_read: read,
                    ..self.report
                });
            }
        }
        Ok(n)
    }
}
