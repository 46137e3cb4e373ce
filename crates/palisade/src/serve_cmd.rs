//! `palisade serve`: validates the arguments and runs the admission webhook
//! of `palisade-admission` until SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use palisade_admission::{LogTarget, NamespaceSource, ServeOptions, Server};
use palisade_core::policy_file::DEFAULT_FILE;

use crate::cli::ServeArgs;

/// The connection and memory limits of `palisade serve` (part of its
/// arguments).
#[derive(Debug, clap::Args)]
pub struct ConnectionArgs {
    /// Seconds allowed for the TLS handshake and for each request's headers;
    /// a connection with no request for this long is closed.
    #[arg(long, env = "PALISADE_HEADER_TIMEOUT", default_value_t = 10.0)]
    pub header_timeout: f64,
    /// Connections open at once (more wait to be accepted).
    #[arg(long, env = "PALISADE_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Request body bytes held at once by the requests being read or
    /// evaluated (more wait); at least --max-body-bytes.
    #[arg(long, env = "PALISADE_MAX_INFLIGHT_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_inflight_bytes: usize,
}

/// `secs` as a duration of at least `min` seconds, or an error naming `flag`.
fn seconds(flag: &str, secs: f64, min: f64) -> Result<Duration> {
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if secs >= min => Ok(d),
        _ => bail!("{flag}: must be a number of seconds, at least {min}"),
    }
}

/// Runs the server; returns the exit status.
pub fn run(args: ServeArgs) -> Result<i32> {
    let listen = args
        .listen
        .parse()
        .map_err(|e| anyhow!("--listen {:?}: {e} (expected HOST:PORT)", args.listen))?;
    if !(args.reload_interval.is_finite() && args.reload_interval >= 0.05) {
        bail!("--reload-interval: must be at least 0.05 seconds");
    }
    if args.threads == Some(0) {
        bail!("--threads: must be at least 1");
    }
    let mut opts = ServeOptions::new(listen, args.tls_cert, args.tls_key);
    opts.client_ca = args.client_ca;
    opts.policy = args.config.or_else(|| {
        let p = PathBuf::from(DEFAULT_FILE);
        p.is_file().then_some(p)
    });
    opts.decision_log = args.decision_log.map_or(LogTarget::Stdout, LogTarget::File);
    opts.max_body_bytes = args.max_body_bytes;
    opts.max_concurrent = args.max_concurrent;
    opts.request_timeout = Duration::from_secs(args.request_timeout);
    let limits = &args.connections;
    opts.header_timeout = seconds("--header-timeout", limits.header_timeout, 0.05)?;
    if limits.max_connections == 0 {
        bail!("--max-connections: must be at least 1");
    }
    opts.max_connections = limits.max_connections;
    if limits.max_inflight_bytes < args.max_body_bytes {
        bail!(
            "--max-inflight-bytes: must be at least --max-body-bytes ({})",
            args.max_body_bytes
        );
    }
    opts.max_inflight_bytes = limits.max_inflight_bytes;
    opts.reload_interval = Duration::from_secs_f64(args.reload_interval);
    opts.shutdown_grace = Duration::from_secs(args.shutdown_grace);
    if args.watch_namespaces {
        opts.namespaces = NamespaceSource::Cluster;
    }
    opts.registry = args.registry.client_options()?;
    if args.registry_deadline.is_nan() || args.registry_deadline < 0.1 {
        bail!("--registry-deadline: must be at least 0.1 seconds");
    }
    opts.registry_deadline = Duration::from_secs_f64(args.registry_deadline);

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(n) = args.threads {
        rt.worker_threads(n);
    }
    let rt = rt.build().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let server = Server::start(opts).await?;
        server.run_until_signal().await?;
        anyhow::Ok(())
    })?;
    Ok(0)
}
