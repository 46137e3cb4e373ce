//! A reader that checks a blob's size and sha256 while it streams: more
//! bytes than the descriptor says fail at once, a short blob or a wrong
//! digest fail at the end of the stream.

use std::io::{self, Read};

use sha2::{Digest as _, Sha256};

use crate::error::ImageError;

/// Wraps the stored bytes of one blob.
pub(crate) struct VerifyingReader<R> {
    inner: R,
    /// The blob, for messages (`layer sha256:...`).
    what: String,
    /// The digest to check at the end, if any.
    digest: Option<String>,
    /// The exact size expected, if known.
    size: Option<u64>,
    hasher: Sha256,
    read: u64,
    checked: bool,
}

impl<R: Read> VerifyingReader<R> {
    /// Checks `inner` against `digest` (`sha256:...`) and `size` when given.
    pub(crate) fn new(inner: R, what: String, digest: Option<String>, size: Option<u64>) -> Self {
        VerifyingReader {
            inner,
            what,
            digest,
            size,
            hasher: Sha256::new(),
            read: 0,
            checked: false,
        }
    }

    fn check_end(&mut self) -> Result<(), ImageError> {
        if let Some(expected) = self.size {
            if self.read != expected {
                return Err(ImageError::SizeMismatch {
                    what: self.what.clone(),
                    expected,
                    actual: self.read,
                });
            }
        }
        if let Some(expected) = &self.digest {
            let actual = format!(
                "sha256:{}",
                hex::encode(std::mem::take(&mut self.hasher).finalize())
            );
            if &actual != expected {
                return Err(ImageError::DigestMismatch {
                    what: self.what.clone(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            if !self.checked {
                self.checked = true;
                self.check_end().map_err(ImageError::into_io)?;
            }
            return Ok(0);
        }
        self.read += n as u64;
        if let Some(expected) = self.size {
            if self.read > expected {
                return Err(ImageError::SizeMismatch {
                    what: self.what.clone(),
                    expected,
                    actual: self.read,
                }
                .into_io());
            }
        }
        if self.digest.is_some() {
            self.hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(r: &mut impl Read) -> Result<Vec<u8>, ImageError> {
        let mut v = Vec::new();
        r.read_to_end(&mut v)
            .map_err(|e| ImageError::from_io(e, "test"))?;
        Ok(v)
    }

    #[test]
    fn matching_blob_reads_through() {
        let digest = crate::source::sha256_digest(b"hello");
        let mut r = VerifyingReader::new(&b"hello"[..], "blob".into(), Some(digest), Some(5));
        assert_eq!(read_all(&mut r).unwrap(), b"hello");
    }

    #[test]
    fn tampered_blob_fails_at_the_end() {
        let digest = crate::source::sha256_digest(b"hello");
        let mut r = VerifyingReader::new(&b"hellp"[..], "blob".into(), Some(digest), Some(5));
        let err = read_all(&mut r).unwrap_err();
        assert!(matches!(err, ImageError::DigestMismatch { .. }), "{err}");
    }

    #[test]
    fn long_and_short_blobs_fail_on_size() {
        let mut r = VerifyingReader::new(&b"hello!"[..], "blob".into(), None, Some(5));
        let err = read_all(&mut r).unwrap_err();
        assert!(err.to_string().contains("size mismatch"), "{err}");
        let mut r = VerifyingReader::new(&b"hell"[..], "blob".into(), None, Some(5));
        let err = read_all(&mut r).unwrap_err();
        assert!(err.to_string().contains("the blob has 4"), "{err}");
    }
}
