//! The HTTPS server: routes, limits, reloads and shutdown. Evaluation lives
//! in [`crate::review`]; this module only moves bytes and keeps state.
//!
//! Limits (each documented in docs/admission.md): at most `max_connections`
//! connections open; the TLS handshake and each request's headers within
//! `header_timeout`, which is also how long a connection may idle; request
//! bodies up to `max_body_bytes` (default 3 MiB, as the API server), a
//! larger declared `Content-Length` refused before the body is read, the
//! whole body read within `request_timeout`; at most `max_concurrent`
//! requests evaluated at once and at most `max_inflight_bytes` of bodies
//! held by them (the rest wait).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use kube_core::admission::{AdmissionRequest, AdmissionReview};
use kube_core::DynamicObject;
use palisade_core::policy::Mode;
use palisade_core::policy_file::parse_policy;
use palisade_core::Policy;
use tower::limit::ConcurrencyLimitLayer;

use crate::decision_log::{now_ms, DecisionLog, Entry};
use crate::files::{read_limited, MAX_FILE_BYTES, READ_TIMEOUT};
use crate::imagereview::{self, ImageReview};
use crate::metrics::Metrics;
use crate::namespaces::LiveNamespaces;
use crate::review::{Decision, Evaluator, Online, Read, Skip};
use crate::tls::{server_config, CertStore};

mod budget;
mod handlers;
mod listed;
mod listen;
mod reload;

pub use handlers::{decode_admission, decode_image_review};
use handlers::{metrics, readyz, review, ImageReviews, Mutate, Validate};
pub use listed::MAX_LISTED;

/// The AdmissionReview API version served.
const ADMISSION_API_VERSION: &str = "admission.k8s.io/v1";

/// Where decision lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output.
    Stdout,
    /// Appended to a file.
    File(PathBuf),
}

/// Where namespace labels come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceSource {
    /// `admission.namespaceLabels` in the policy file only.
    PolicyFile,
    /// A watch on the cluster's Namespaces, connecting as kubectl would (the
    /// in-cluster service account, else `KUBECONFIG`).
    Cluster,
    /// A watch on the API server at this URL (no authentication): tests.
    ClusterAt(String),
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Serving certificate chain (PEM).
    pub tls_cert: PathBuf,
    /// Its private key (PEM).
    pub tls_key: PathBuf,
    /// CA bundle for client certificates; when set, clients must present one.
    pub client_ca: Option<PathBuf>,
    /// The policy file (`None`: the built-in defaults).
    pub policy: Option<PathBuf>,
    /// Decision log destination.
    pub decision_log: LogTarget,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Requests evaluated at once.
    pub max_concurrent: usize,
    /// Request body bytes held at once by requests being read or evaluated
    /// (a request reserves its declared length, else `max_body_bytes`).
    pub max_inflight_bytes: usize,
    /// Connections open at once (more wait to be accepted).
    pub max_connections: usize,
    /// Time allowed to read a request body.
    pub request_timeout: Duration,
    /// Time allowed for the TLS handshake and for each request's headers;
    /// a connection with no request for this long is closed.
    pub header_timeout: Duration,
    /// How often certificate and policy files are checked for changes.
    pub reload_interval: Duration,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Where namespace labels come from.
    pub namespaces: NamespaceSource,
    /// How registries are reached (for `images.verify` and `images.mutateDigest`).
    pub registry: palisade_oci::ClientOptions,
    /// Time allowed for all registry checks of one request; images without
    /// an answer by then are registry errors (`images.failurePolicy` decides).
    pub registry_deadline: Duration,
}

impl ServeOptions {
    /// Options with the documented defaults.
    pub fn new(listen: SocketAddr, tls_cert: PathBuf, tls_key: PathBuf) -> Self {
        ServeOptions {
            listen,
            tls_cert,
            tls_key,
            client_ca: None,
            policy: None,
            decision_log: LogTarget::Stdout,
            max_body_bytes: 3 * 1024 * 1024,
            max_concurrent: 256,
            max_inflight_bytes: 32 * 1024 * 1024,
            max_connections: 512,
            request_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            reload_interval: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(25),
            namespaces: NamespaceSource::PolicyFile,
            registry: palisade_oci::ClientOptions::default(),
            registry_deadline: Duration::from_secs(4),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Certificates.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The policy file.
    #[error("policy: {0}")]
    Policy(String),
    /// Sockets, files.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The cluster connection for the namespace watch.
    #[error("namespace watch: {0}")]
    Kube(String),
}

/// Shared by every request.
struct AppState {
    eval: ArcSwap<Evaluator>,
    metrics: Metrics,
    log: DecisionLog,
    certs: Arc<CertStore>,
    live: Option<Arc<LiveNamespaces>>,
    policy_loaded: AtomicBool,
    max_body_bytes: usize,
    request_timeout: Duration,
    budget: budget::Budget,
    registry: palisade_oci::ClientOptions,
    registry_deadline: Duration,
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    reloader: reload::Reloader,
    watcher: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// Loads certificates and policy, binds, and starts serving in the
    /// background. Fails (without serving) if any of them is unusable.
    pub async fn start(opts: ServeOptions) -> Result<Server, ServeError> {
        let certs = Arc::new(CertStore::open(&opts.tls_cert, &opts.tls_key)?);
        let tls = server_config(certs.clone(), opts.client_ca.as_deref())?;
        let policy = match &opts.policy {
            Some(p) => read_policy(p).map_err(ServeError::Policy)?,
            None => Policy::default(),
        };
        let log = match &opts.decision_log {
            LogTarget::Stdout => DecisionLog::new(Box::new(std::io::stdout())),
            LogTarget::File(p) => DecisionLog::new(Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            )),
        };
        let client = match &opts.namespaces {
            NamespaceSource::PolicyFile => None,
            NamespaceSource::Cluster => Some(
                kube::Client::try_default()
                    .await
                    .map_err(|e| ServeError::Kube(e.to_string()))?,
            ),
            NamespaceSource::ClusterAt(url) => {
                let uri = url
                    .parse()
                    .map_err(|e| ServeError::Kube(format!("{url}: {e}")))?;
                Some(
                    kube::Client::try_from(kube::Config::new(uri))
                        .map_err(|e| ServeError::Kube(e.to_string()))?,
                )
            }
        };
        let live = client.as_ref().map(|_| Arc::new(LiveNamespaces::default()));
        let metrics = Metrics::new();
        metrics.cert_expiry(certs.not_after());
        let state = Arc::new(AppState {
            eval: ArcSwap::from_pointee(
                evaluator(policy, live.clone(), &opts.registry, opts.registry_deadline)
                    .map_err(ServeError::Policy)?,
            ),
            live: live.clone(),
            metrics,
            log,
            certs: certs.clone(),
            policy_loaded: AtomicBool::new(true),
            max_body_bytes: opts.max_body_bytes,
            request_timeout: opts.request_timeout,
            budget: budget::Budget::new(opts.max_inflight_bytes.max(opts.max_body_bytes)),
            registry: opts.registry.clone(),
            registry_deadline: opts.registry_deadline,
        });
        let app = router(state.clone(), opts.max_concurrent);

        let listener = tokio::net::TcpListener::bind(opts.listen).await?;
        let addr = listener.local_addr()?;
        let limits = listen::Connections {
            header_timeout: opts.header_timeout,
            max_connections: opts.max_connections,
            grace: opts.shutdown_grace,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let tls = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let task = tokio::spawn(listen::serve(listener, tls, app, limits, stopped));
        let runtime = tokio::runtime::Handle::current();
        let reloader = reload::spawn(state, opts.policy.clone(), opts.reload_interval, runtime)?;
        let watcher = match (client, live) {
            (Some(c), Some(l)) => Some(tokio::spawn(crate::namespaces::watch(c, l))),
            _ => None,
        };
        tracing::info!("palisade serve: listening on https://{addr}");
        Ok(Server {
            addr,
            stop,
            task,
            reloader,
            watcher,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets in-flight requests finish and
    /// closes idle connections (all within the grace period), then returns.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        drop(self.reloader);
        if let Some(w) = &self.watcher {
            w.abort();
        }
        match self.task.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run_until_signal(self) -> std::io::Result<()> {
        wait_for_signal().await;
        tracing::info!("palisade serve: shutting down, draining in-flight requests");
        self.shutdown().await
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Reads and validates a policy file (at most [`MAX_FILE_BYTES`], within
/// [`READ_TIMEOUT`]); errors name it with line and column.
pub fn read_policy(path: &Path) -> Result<Policy, String> {
    let name = path.display().to_string();
    let bytes = read_limited(path, MAX_FILE_BYTES, READ_TIMEOUT)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
    parse_policy(&name, &text).map_err(|errors| {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{name}:{}:{}: {}", e.pos.line, e.pos.col, e.message))
            .collect();
        lines.join("; ")
    })
}

/// The evaluator of a policy: its engines, plus its Gatekeeper constraints
/// (paths relative to the policy file) compiled once here, and its registry
/// checks (keys read here; caches start empty).
fn evaluator(
    policy: Policy,
    live: Option<Arc<LiveNamespaces>>,
    registry: &palisade_oci::ClientOptions,
    deadline: Duration,
) -> Result<Evaluator, String> {
    let paths = policy.constraint_paths_resolved();
    let set = if paths.is_empty() {
        None
    } else {
        let set = palisade_rego::PolicySet::load(&paths)
            .map_err(|errors| palisade_rego::join_errors(&errors, "; "))?;
        Some(Arc::new(set))
    };
    // Image content is never scanned on the admission path: unscanned
    // images are queued for the background scanner.
    let content = policy
        .images
        .content
        .clone()
        .map(|c| (c, palisade_supply::Mode::Queue));
    let supply = palisade_supply::Supply::for_policy(
        &policy,
        registry.clone(),
        policy.images.mutate_digest,
        content,
    )?;
    let supply = supply.map(|s| s.with_deadline(deadline));
    Ok(Evaluator::new(policy)
        .with_live_namespaces(live)
        .with_constraints(set)
        .with_supply(supply))
}

fn router(state: Arc<AppState>, max_concurrent: usize) -> Router {
    Router::new()
        .route("/validate", post(review::<Validate>))
        .route("/mutate", post(review::<Mutate>))
        .route("/imagereview", post(review::<ImageReviews>))
        .layer(ConcurrencyLimitLayer::new(max_concurrent.max(1)))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

#[cfg(test)]
mod tests;
