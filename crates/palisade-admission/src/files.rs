//! Reading the certificate, key, CA and policy files: at most
//! [`MAX_FILE_BYTES`], within [`READ_TIMEOUT`], each read in a thread of its
//! own. A path that never answers (a FIFO without a writer, a hung network
//! mount) then parks one thread instead of a runtime worker, and a path that
//! never ends (a symlink to `/dev/zero`) is refused at the limit instead of
//! filling memory.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

/// Largest certificate, key, CA bundle or policy file read: 1 MiB, the size
/// limit of the Secret and ConfigMap that hold them in a cluster.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Time a file has to be read before the read is given up.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than the limit.
    #[error("larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The read did not finish in time.
    #[error("not read within {}s (a FIFO or a hung mount?)", .0.as_secs_f64())]
    Timeout(Duration),
    /// An earlier read of the same path is still waiting.
    #[error("an earlier read has not finished after {}s", READ_TIMEOUT.as_secs_f64())]
    Busy,
}

/// Paths whose read thread has not returned yet: at most one parked thread
/// per path, however often a reload retries it.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The bytes of `path`, at most `limit` of them, read within `timeout`.
pub fn read_limited(path: &Path, limit: u64, timeout: Duration) -> Result<Vec<u8>, ReadError> {
    {
        let mut pending = pending();
        if pending.iter().any(|p| p == path) {
            return Err(ReadError::Busy);
        }
        pending.push(path.to_path_buf());
    }
    let (tx, rx) = mpsc::channel();
    let owned = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("palisade-read".into())
        .spawn(move || {
            let read = read_up_to(&owned, limit);
            pending().retain(|p| p != &owned);
            let _ = tx.send(read);
        });
    if let Err(e) = spawned {
        pending().retain(|p| p != path);
        return Err(ReadError::Io(e));
    }
    match rx.recv_timeout(timeout) {
        Ok(read) => read,
        Err(RecvTimeoutError::Timeout) => Err(ReadError::Timeout(timeout)),
        Err(RecvTimeoutError::Disconnected) => Err(ReadError::Io(std::io::Error::other(
            "the reading thread stopped",
        ))),
    }
}

/// Reads one byte past `limit` so that a file of exactly `limit` bytes is
/// accepted and a longer one is told apart without reading it all.
fn read_up_to(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_at_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [b'x'; 10]).unwrap();
        assert_eq!(read_limited(&path, 10, READ_TIMEOUT).unwrap().len(), 10);
        let err = read_limited(&path, 9, READ_TIMEOUT).unwrap_err();
        assert_eq!(err.to_string(), "larger than the limit of 9 bytes");
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_device_stops_at_the_limit() {
        let err = read_limited(Path::new("/dev/zero"), 1024, READ_TIMEOUT).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 1024 }), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_times_out_and_is_not_read_twice() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let short = Duration::from_millis(100);
        let err = read_limited(&fifo, 1024, short).unwrap_err();
        assert!(matches!(err, ReadError::Timeout(_)), "{err}");
        let again = read_limited(&fifo, 1024, short).unwrap_err();
        assert!(matches!(again, ReadError::Busy), "{again}");
        // A writer releases the parked thread.
        std::fs::write(&fifo, b"late").unwrap();
    }
}
