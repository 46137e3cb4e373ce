//! `palisade serve`: validates the arguments and runs the admission webhook
//! of `palisade-admission` until SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use palisade_admission::{LogTarget, NamespaceSource, ServeOptions, Server};
use palisade_core::policy_file::DEFAULT_FILE;

use crate::cli::ServeArgs;

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
    opts.header_timeout = Duration::from_secs(args.request_timeout);
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
