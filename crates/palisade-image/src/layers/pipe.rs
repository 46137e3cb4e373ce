//! A layer's stream read on a thread of its own: reading the stored blob,
//! checking its digest and decompressing it run on one core while the tar
//! walk and the visitors run on another. The bytes cross over in a few
//! reused buffers, so memory stays at `buffers` × [`BUFFER_BYTES`] per
//! pipe whatever the speed of either side.
//!
//! Errors travel in the stream, after the bytes read before them, so the
//! walker meets them where it would have without the thread.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

/// Bytes in one buffer handed from the reading thread to the walker.
const BUFFER_BYTES: usize = 256 << 10;

/// Bytes the reading thread filled.
struct Filled {
    buf: Vec<u8>,
    len: usize,
}

/// Reads `source` to its end on a new thread of `scope` named `name`,
/// with at most `buffers` buffers in existence at once; the returned
/// reader yields the same bytes and errors. Dropping the reader stops the
/// thread at its next buffer.
pub(super) fn spawn<'scope, R>(
    scope: &'scope Scope<'scope, '_>,
    name: &str,
    buffers: usize,
    source: R,
) -> io::Result<PipeReader<'scope>>
where
    R: Read + Send + 'scope,
{
    let buffers = buffers.max(1);
    let (tx, rx) = sync_channel(buffers);
    let (free_tx, free_rx) = sync_channel(buffers);
    let thread = std::thread::Builder::new()
        .name(name.to_string())
        .spawn_scoped(scope, move || produce(source, buffers, &tx, &free_rx))?;
    Ok(PipeReader {
        rx,
        free: free_tx,
        current: Vec::new(),
        len: 0,
        pos: 0,
        thread: Some(thread),
    })
}

/// The reading thread: fills buffers from `source` until its end or an
/// error (sent last), or until the walker hangs up.
fn produce(
    mut source: impl Read,
    buffers: usize,
    tx: &SyncSender<io::Result<Filled>>,
    free: &Receiver<Vec<u8>>,
) {
    let mut allocated = 0;
    loop {
        let mut buf = match free.try_recv() {
            Ok(buf) => buf,
            Err(_) if allocated < buffers => {
                allocated += 1;
                vec![0; BUFFER_BYTES]
            }
            Err(_) => match free.recv() {
                Ok(buf) => buf,
                // The walker is gone.
                Err(_) => return,
            },
        };
        let mut len = 0;
        let mut end = false;
        let mut failed = None;
        while len < buf.len() {
            match source.read(&mut buf[len..]) {
                Ok(0) => {
                    end = true;
                    break;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if len > 0 && tx.send(Ok(Filled { buf, len })).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = tx.send(Err(e));
            return;
        }
        if end {
            return;
        }
    }
}

/// The walker's end of [`spawn`].
pub(super) struct PipeReader<'scope> {
    rx: Receiver<io::Result<Filled>>,
    free: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    len: usize,
    pos: usize,
    thread: Option<ScopedJoinHandle<'scope, ()>>,
}

impl Read for PipeReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos == self.len {
            if !self.current.is_empty() {
                // Never blocks: the channel holds as many buffers as exist.
                let _ = self.free.try_send(std::mem::take(&mut self.current));
            }
            match self.rx.recv() {
                Ok(Ok(filled)) => {
                    self.current = filled.buf;
                    self.len = filled.len;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    // The thread is done; a panic there is a bug, and
                    // surfaces here rather than as a short stream.
                    if let Some(thread) = self.thread.take() {
                        if let Err(panic) = thread.join() {
                            std::panic::resume_unwind(panic);
                        }
                    }
                    return Ok(0);
                }
            }
        }
        let n = out.len().min(self.len - self.pos);
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUFFERS: usize = 8;

    /// Yields `data` in small reads, then `error` if any.
    struct Source {
        data: io::Cursor<Vec<u8>>,
        error: Option<io::Error>,
    }

    impl Read for Source {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let small = buf.len().min(7001);
            let n = self.data.read(&mut buf[..small])?;
            match (n, self.error.take()) {
                (0, Some(e)) => Err(e),
                (_, e) => {
                    self.error = e;
                    Ok(n)
                }
            }
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn piped_bytes_arrive_unchanged_across_many_buffers() {
        let want = data(BUFFERS * BUFFER_BYTES * 3 + 12345);
        let got = std::thread::scope(|s| {
            let source = Source {
                data: io::Cursor::new(want.clone()),
                error: None,
            };
            let mut reader = spawn(s, "test", BUFFERS, source).unwrap();
            let mut got = Vec::new();
            reader.read_to_end(&mut got).unwrap();
            got
        });
        assert!(got == want);
    }

    #[test]
    fn piped_error_arrives_after_the_bytes_before_it() {
        let want = data(BUFFER_BYTES + 10);
        std::thread::scope(|s| {
            let source = Source {
                data: io::Cursor::new(want.clone()),
                error: Some(io::Error::other("digest mismatch")),
            };
            let mut reader = spawn(s, "test", BUFFERS, source).unwrap();
            let mut got = vec![0; want.len()];
            reader.read_exact(&mut got).unwrap();
            assert!(got == want);
            let err = reader.read(&mut [0; 16]).unwrap_err();
            assert_eq!(err.to_string(), "digest mismatch");
        });
    }

    #[test]
    fn dropping_the_reader_stops_the_thread() {
        std::thread::scope(|s| {
            let endless = io::repeat(7);
            let mut reader = spawn(s, "test", BUFFERS, endless).unwrap();
            let mut some = [0; 1000];
            reader.read_exact(&mut some).unwrap();
            drop(reader);
            // The scope joins the thread: the test ends only if it stopped.
        });
    }
}
