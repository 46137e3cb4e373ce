//! Connections: accepted up to the connection cap, the TLS handshake, then
//! HTTP/1.1 or HTTP/2 as ALPN chose, closed when idle, and drained on
//! shutdown.
//!
//! The protocol is taken from ALPN rather than sniffed from the first bytes
//! (hyper-util's `auto` builder): that sniffing waits without a timeout, so a
//! client that completed the handshake and sent nothing held its connection
//! forever. hyper's HTTP/1.1 header-read timeout covers a client that sends
//! nothing or sends slowly; HTTP/2 has no such timeout in hyper, so every
//! connection also counts its requests in flight and is closed once it has
//! had none for the idle timeout.

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::AtomicUsize;

use axum::http::HeaderValue;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::Service as _;

use super::*;

/// On shutdown, how long an HTTP/1.1 connection with no request in flight is
/// kept open before it is closed. A keep-alive client may have sent its next
/// request already; it gets its answer (with `Connection: close`) instead of
/// a closed connection.
pub(super) const DRAIN_LINGER: Duration = Duration::from_millis(500);

/// How connections are served.
pub(super) struct Connections {
    /// TLS handshake, then headers of each request, within this; also the
    /// idle time after which a connection is closed.
    pub(super) header_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub(super) max_connections: usize,
    /// How long connections may take to finish on shutdown.
    pub(super) grace: Duration,
}

/// What every connection task shares.
struct Shared {
    tls: TlsAcceptor,
    app: Router,
    h1: auto::Builder<TokioExecutor>,
    h2: auto::Builder<TokioExecutor>,
    idle: Duration,
}

/// Accepts and serves connections until `stop`, then drains them: requests
/// in flight finish, idle connections close, and whatever is still open
/// after the grace period is dropped.
pub(super) async fn serve(
    listener: TcpListener,
    tls: TlsAcceptor,
    app: Router,
    limits: Connections,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        tls,
        app,
        h1: builder(limits.header_timeout).http1_only(),
        h2: builder(limits.header_timeout).http2_only(),
        idle: limits.header_timeout,
    });
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (drain, draining) = watch::channel(false);
    let mut open = JoinSet::new();
    while let Some((tcp, slot)) = next(&listener, &slots, &mut stop, &mut open).await {
        open.spawn(connection(tcp, shared.clone(), draining.clone(), slot));
    }
    // Closing the listener refuses new connections at once.
    drop(listener);
    let _ = drain.send(true);
    let finished = async { while open.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.grace, finished).await.is_err() {
        tracing::warn!(
            "{} connections still open after the shutdown grace, closing them",
            open.len()
        );
        open.shutdown().await;
    }
    Ok(())
}

fn builder(header_timeout: Duration) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    b.http2().timer(TokioTimer::new());
    b
}

/// The next connection with its slot under the cap, reaping finished
/// connection tasks meanwhile; `None` once `stop` fires.
async fn next(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
    stop: &mut oneshot::Receiver<()>,
    open: &mut JoinSet<()>,
) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    loop {
        tokio::select! {
            _ = &mut *stop => return None,
            Some(_) = open.join_next() => {}
            slot = slots.clone().acquire_owned() => {
                let slot = slot.ok()?;
                tokio::select! {
                    _ = &mut *stop => return None,
                    accepted = listener.accept() => match accepted {
                        Ok((tcp, _)) => return Some((tcp, slot)),
                        // Out of file descriptors, or the client gave up:
                        // wait a little rather than spin.
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    },
                }
            }
        }
    }
}

/// One connection: the handshake within the header timeout, then HTTP until
/// the client closes, the connection idles out, or shutdown drains it.
async fn connection(
    tcp: TcpStream,
    shared: Arc<Shared>,
    draining: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let Ok(Ok(tls)) = tokio::time::timeout(shared.idle, shared.tls.accept(tcp)).await else {
        return;
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let activity = Arc::new(Activity::new());
    let service = service(shared.app.clone(), activity.clone(), draining.clone(), h2);
    let builder = if h2 { &shared.h2 } else { &shared.h1 };
    let conn = builder.serve_connection(TokioIo::new(tls), service);
    drive(conn, &activity, draining, shared.idle, h2).await;
}

/// Polls `conn` to its end, asking it to close once it has been idle for
/// `idle` (or for [`DRAIN_LINGER`] while draining) and dropping it if it is
/// still open and idle that long after. HTTP/2 connections are asked to
/// close as soon as draining starts: GOAWAY tells the client which requests
/// were taken, so none is lost.
async fn drive<C: GracefulConnection>(
    conn: C,
    activity: &Activity,
    mut draining: watch::Receiver<bool>,
    idle: Duration,
    h2: bool,
) {
    tokio::pin!(conn);
    let (mut drain, mut closing) = (false, false);
    loop {
        let limit = if drain { DRAIN_LINGER.min(idle) } else { idle };
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = draining.wait_for(|d| *d), if !drain => {
                drain = true;
                if h2 && !closing {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = tokio::time::sleep_until(activity.next_check(limit)) => {
                if !activity.idle_for(limit) {
                    continue;
                }
                if closing {
                    // Asked to close and still idle (an HTTP/2 client that
                    // never sent its preface waits for it forever): drop.
                    return;
                }
                conn.as_mut().graceful_shutdown();
                closing = true;
                activity.touch();
            }
        }
    }
}

/// The router for one connection: counts its requests in flight and, while
/// draining, tells HTTP/1.1 clients that the connection closes after this
/// answer.
fn service(
    app: Router,
    activity: Arc<Activity>,
    draining: watch::Receiver<bool>,
    h2: bool,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: Request<Incoming>| {
        let busy = activity.begin();
        let mut app = app.clone();
        let draining = draining.clone();
        async move {
            let mut resp = app.call(req.map(Body::new)).await?;
            if !h2 && *draining.borrow() {
                resp.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            drop(busy);
            Ok(resp)
        }
    })
}

/// Requests in flight on one connection and when the last one began or
/// ended.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn last(&self) -> Instant {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.touch();
        Busy(self.clone())
    }

    /// Whether no request has been in flight for `limit`.
    fn idle_for(&self, limit: Duration) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0 && self.last().elapsed() >= limit
    }

    /// When to look again whether the connection has idled for `limit`.
    fn next_check(&self, limit: Duration) -> tokio::time::Instant {
        let at = if self.in_flight.load(Ordering::Relaxed) == 0 {
            self.last() + limit
        } else {
            Instant::now() + limit
        };
        tokio::time::Instant::from_std(at)
    }
}

/// One request in flight; dropping it records its end.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
