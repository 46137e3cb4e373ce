//! The build information of an executable read as a stream of pieces.

use super::modinfo::{parse_modinfo, unframe, uvarint, varint_string};
use super::{is_elf, GoBinary, ALIGN, HEADER_LEN, MAGIC, MAX_BUILDINFO_BYTES, MAX_VERSION_BYTES};

/// The build information of a Go executable read as a stream of pieces,
/// for executables too large to hold whole. The blob is found by its magic
/// at a 16-byte aligned file offset (a segment's file offset and address
/// agree modulo its alignment, so the aligned address is an aligned
/// offset), a header that is not a valid one is passed over, and only the
/// blob is kept: the inline format (Go 1.18 and later) holds its strings,
/// so nothing else of the file is needed. The older format points into the
/// file, which a stream cannot go back to: it is reported as not read.
#[derive(Debug, Default)]
pub struct GoStream {
    /// Bytes from a 16-byte aligned offset on, not yet searched.
    window: Vec<u8>,
    /// The blob from its magic on, once found.
    blob: Option<Vec<u8>>,
    /// The blob's length, once its two lengths are read.
    needed: Option<usize>,
    /// The first four bytes, to tell an ELF file.
    head: Vec<u8>,
    error: Option<String>,
}

impl GoStream {
    /// The next piece of the file.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() || self.complete() {
            return;
        }
        if self.head.len() < 4 {
            let n = bytes.len().min(4 - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
        }
        if self.head.len() == 4 && !is_elf(&self.head) {
            return;
        }
        if self.blob.is_some() {
            self.extend_blob(bytes);
            return;
        }
        self.window.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(header) = self.window.get(at..at + HEADER_LEN) {
            if header.starts_with(MAGIC) && valid_header(header) {
                if header[15] & 2 == 0 {
                    self.error = Some(
                        "the build information is in the format of Go before 1.18, which is not read in executables over the content limit"
                            .into(),
                    );
                    self.window = Vec::new();
                    return;
                }
                let tail = self.window.split_off(at);
                self.window = Vec::new();
                self.blob = Some(Vec::new());
                self.extend_blob(&tail);
                return;
            }
            at += ALIGN as usize;
        }
        self.window.drain(..at);
    }

    fn complete(&self) -> bool {
        matches!((&self.blob, self.needed), (Some(b), Some(n)) if b.len() >= n)
    }

    /// Adds to the blob what it still lacks of `bytes`.
    fn extend_blob(&mut self, mut bytes: &[u8]) {
        let Some(mut blob) = self.blob.take() else {
            return;
        };
        loop {
            let want = self
                .needed
                .unwrap_or(HEADER_LEN + 2 * 10 + MAX_VERSION_BYTES);
            let n = bytes.len().min(want.saturating_sub(blob.len()));
            blob.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.needed.is_some() {
                break;
            }
            match inline_len(&blob) {
                Ok(Some(len)) => {
                    blob.truncate(len);
                    self.needed = Some(len);
                }
                Ok(None) if blob.len() < want => break,
                Ok(None) => {
                    self.error = Some("the Go build information is malformed".into());
                    break;
                }
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        self.blob = Some(blob);
    }

    /// The build information, once the whole file was pushed.
    pub fn finish(self) -> Result<Option<GoBinary>, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let Some(blob) = self.blob else {
            return Ok(None);
        };
        let rest = blob.get(HEADER_LEN..).unwrap_or_default();
        let (version, rest) = varint_string(rest, MAX_VERSION_BYTES, "Go version")?;
        let (modinfo, _) = varint_string(rest, MAX_BUILDINFO_BYTES, "module information")?;
        let go_version = String::from_utf8_lossy(version).into_owned();
        if go_version.trim().is_empty() {
            return Err("the Go build information has an empty Go version".into());
        }
        let text = String::from_utf8_lossy(unframe(modinfo));
        parse_modinfo(go_version, &text).map(Some)
    }
}

/// Whether a 32-byte header after the magic is one the Go linker writes:
/// pointer size 4 or 8, only the two known flags, and (inline format) zero
/// where the old format has its pointers.
fn valid_header(h: &[u8]) -> bool {
    matches!(h.get(14), Some(4 | 8))
        && h.get(15).is_some_and(|f| f & !3 == 0)
        && (h[15] & 2 == 0 || h[16..HEADER_LEN].iter().all(|&b| b == 0))
}

/// The length of an inline blob (header, then two varint-prefixed
/// strings), once enough of it is there to tell; an error when a length
/// is over its limit.
fn inline_len(blob: &[u8]) -> Result<Option<usize>, String> {
    let rest = blob.get(HEADER_LEN..).unwrap_or_default();
    let Some((vlen, n1)) = uvarint(rest) else {
        return Ok(None);
    };
    if vlen > MAX_VERSION_BYTES as u64 {
        return Err(format!(
            "the Go version claims {vlen} bytes, more than the limit of {MAX_VERSION_BYTES}"
        ));
    }
    let Some(after) = rest.get(n1 + vlen as usize..) else {
        return Ok(None);
    };
    let Some((mlen, n2)) = uvarint(after) else {
        return Ok(None);
    };
    if mlen > MAX_BUILDINFO_BYTES as u64 {
        return Err(format!(
            "the module information claims {mlen} bytes, more than the limit of {MAX_BUILDINFO_BYTES}"
        ));
    }
    Ok(Some(HEADER_LEN + n1 + vlen as usize + n2 + mlen as usize))
}
