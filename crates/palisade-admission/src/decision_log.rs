//! The decision log: one JSON line per admission decision (who asked for
//! what, in which mode, what was decided and by which rules, how long it
//! took), to standard output or a file. It never holds the object itself,
//! so no secret value from a manifest reaches it.

use std::io::Write;

use serde::Serialize;

/// One decision.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry<'a> {
    /// Unix time of the decision, in milliseconds.
    pub time_ms: u128,
    /// `validate`, `mutate` or `imagereview`.
    pub endpoint: &'a str,
    /// The request uid (empty for ImageReview, which has none).
    pub uid: &'a str,
    /// Kind of the object.
    pub kind: &'a str,
    /// Namespace.
    pub namespace: &'a str,
    /// Object name.
    pub name: &'a str,
    /// Requesting user.
    pub user: &'a str,
    /// `CREATE`, `UPDATE`, ...
    pub operation: &'a str,
    /// The namespace's mode.
    pub mode: &'a str,
    /// `allow`, `deny`, `warn`, `audit`, `exempt`, `skip`.
    pub decision: &'a str,
    /// Whether the request was a dry run.
    pub dry_run: bool,
    /// Rules that found something.
    pub rules: &'a [&'a str],
    /// Time to decide, in milliseconds.
    pub latency_ms: f64,
}

/// Where decision lines go. Lines are handed to a writer thread, so a slow
/// disk never holds up an admission response; the thread flushes whenever
/// it has caught up.
pub struct DecisionLog {
    tx: Option<std::sync::mpsc::Sender<Vec<u8>>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for DecisionLog {
    /// Lets the writer finish the queued lines (on shutdown).
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl DecisionLog {
    /// A log written to `out` (a file, standard output, a buffer in tests).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let spawned = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(out);
                while let Ok(line) = rx.recv() {
                    let mut result = out.write_all(&line);
                    // Batch whatever else is waiting, then flush.
                    while let Ok(more) = rx.try_recv() {
                        result = result.and_then(|()| out.write_all(&more));
                    }
                    if let Err(e) = result.and_then(|()| out.flush()) {
                        tracing::error!("cannot write the decision log: {e}");
                    }
                }
            });
        let writer = match spawned {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!("cannot start the decision-log writer: {e}");
                None
            }
        };
        DecisionLog {
            tx: Some(tx),
            writer,
        }
    }

    /// Queues one line; never blocks and never fails the request (an
    /// encoding or write error is reported on the operational log).
    pub fn record(&self, entry: &Entry<'_>) {
        let mut line = match serde_json::to_vec(entry) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("cannot encode a decision: {e}");
                return;
            }
        };
        line.push(b'\n');
        if self.tx.as_ref().is_none_or(|tx| tx.send(line).is_err()) {
            tracing::error!("the decision-log writer has stopped; a decision was not logged");
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
