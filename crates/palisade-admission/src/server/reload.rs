//! Certificate and policy reloads: a thread of their own polls the files and
//! swaps in new versions. The reads are blocking file I/O (through
//! [`crate::files::read_limited`], bounded in size and time), so they never
//! run on the async runtime: a file that never answers cannot wedge a
//! worker, `/healthz` or the SIGTERM handler.

use std::sync::mpsc::{self, RecvTimeoutError};

use super::*;

/// The running reload thread; dropping it stops the thread at its next tick
/// (a read parked on a file that never answers is left to the process exit).
pub(super) struct Reloader {
    _stop: mpsc::Sender<()>,
}

/// Starts polling every `every`; the thread runs inside `runtime`'s context
/// (building an evaluator may create timers and clients).
pub(super) fn spawn(
    state: Arc<AppState>,
    policy: Option<PathBuf>,
    every: Duration,
    runtime: tokio::runtime::Handle,
) -> std::io::Result<Reloader> {
    let (stop, stopped) = mpsc::channel::<()>();
    // Taken now, not when the thread first runs: a change made meanwhile
    // must not become the baseline.
    let mut last_policy = policy.as_deref().and_then(file_stamp);
    std::thread::Builder::new()
        .name("palisade-reload".into())
        .spawn(move || {
            let _context = runtime.enter();
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                reload_certificate(&state);
                if let Some(path) = policy.as_deref() {
                    let now = file_stamp(path);
                    if now != last_policy {
                        last_policy = now;
                        reload_policy(&state, path);
                    }
                }
            }
        })?;
    Ok(Reloader { _stop: stop })
}

fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn reload_certificate(state: &AppState) {
    match state.certs.reload_if_changed() {
        Ok(false) => {}
        Ok(true) => {
            tracing::info!("serving certificate reloaded");
            state.metrics.cert_reload(true);
            state.metrics.cert_expiry(state.certs.not_after());
        }
        Err(e) => {
            tracing::warn!("serving certificate not reloaded, keeping the previous one: {e}");
            state.metrics.cert_reload(false);
        }
    }
}

/// Swaps in the policy at `path`; a broken file is logged and the previous
/// policy keeps serving.
fn reload_policy(state: &AppState, path: &Path) {
    let built = read_policy(path).and_then(|p| {
        evaluator(
            p,
            state.live.clone(),
            &state.registry,
            state.registry_deadline,
        )
    });
    match built {
        Ok(e) => {
            state.eval.store(Arc::new(e));
            state.policy_loaded.store(true, Ordering::Relaxed);
            state.metrics.policy_reload(true);
            tracing::info!("policy reloaded from {}", path.display());
        }
        Err(e) => {
            state.metrics.policy_reload(false);
            tracing::error!("policy not reloaded, the previous policy keeps serving: {e}");
        }
    }
}
