//! The decision log: one JSON line per admission decision (who asked for
//! what, in which mode, what was decided and by which rules, how long it
//! took), to standard output or a file. It never holds the object itself,
//! so no secret value from a manifest reaches it.

use std::io::Write;
use std::sync::Mutex;

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

/// Where decision lines go.
pub struct DecisionLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl DecisionLog {
    /// A log written to `out` (a file, standard output, a buffer in tests).
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        DecisionLog {
            out: Mutex::new(out),
        }
    }

    /// Writes one line; a write error is reported on the operational log and
    /// never fails the request.
    pub fn record(&self, entry: &Entry<'_>) {
        let mut line = match serde_json::to_vec(entry) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("cannot encode a decision: {e}");
                return;
            }
        };
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = out.write_all(&line).and_then(|()| out.flush()) {
            tracing::error!("cannot write the decision log: {e}");
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}
