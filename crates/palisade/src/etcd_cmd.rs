//! `palisade etcd`: how the API server stored every Secret, read from
//! etcd (palisade-etcd), reported through the scan pipeline so the policy
//! and the output formats are those of `scan`. The EncryptionConfiguration,
//! when given, is also the scan's input: its own rules run on it.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use palisade_etcd::{EtcdOptions, EtcdStorage, Keyring};
use palisade_report::html::Extras;
use palisade_scan::Source;

use crate::cli::EtcdArgs;
use crate::config::ScanConfig;

/// Runs `palisade etcd` and returns the process exit status.
pub fn run(args: EtcdArgs) -> Result<i32> {
    let mut cfg = ScanConfig::from_args(args.scan_args())?;
    // No registry is asked, and none needs to be said so.
    cfg.offline = false;
    cfg.supply = None;
    if args.page_size == 0 {
        anyhow::bail!("--page-size: must be at least 1");
    }
    // A configuration that cannot be read is an error at its position;
    // etcd is still read, without keys.
    let (ring, broken) = match &args.encryption_config {
        Some(path) => match Keyring::read(path) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some((path.display().to_string(), e))),
        },
        None => (None, None),
    };
    let options = EtcdOptions {
        endpoints: args.endpoints.clone(),
        cacert: args.cacert.clone(),
        cert: args.cert.clone(),
        key: args.key.clone(),
        server_name: args.server_name.clone(),
        timeout: Duration::from_secs(args.timeout.max(1)),
        max_page_bytes: args.max_page_bytes.max(1 << 16),
    };
    let extras = Extras {
        title: format!("etcd {}", args.endpoints.join(",")),
        ..Extras::default()
    };
    let mut storage = EtcdStorage::new(options, ring)
        .prefix(&args.prefix)
        .page_size(i64::from(args.page_size));
    if let Some((file, e)) = broken {
        storage = storage.broken_config(&file, e);
    }
    if io::stderr().is_terminal() && !cfg.quiet {
        storage = storage.progress(progress());
    }
    let scan = crate::scan::build(&mut cfg, &extras)?.with(storage);
    let sources: Vec<Box<dyn Source>> = match &args.encryption_config {
        Some(p) => vec![Box::new(palisade_scan::Paths(vec![p.clone()]))],
        None => Vec::new(),
    };
    let (output, writer) = crate::scan::open_report(&cfg, &extras)?;
    let Some(report) = crate::scan::outcome(scan.run(sources, writer))? else {
        return Ok(0);
    };
    if let Some(path) = output.file() {
        if !cfg.quiet && io::stderr().is_terminal() {
            let findings: usize = report.summary.findings.values().sum();
            eprintln!(
                "palisade: {findings} findings, {} errors; {} report written to {}",
                report.summary.errors,
                cfg.format.as_str(),
                path.display()
            );
        }
    }
    Ok(crate::scan::exit_status(&report, &cfg))
}

/// A spinner on standard error: the resource being read and how many values.
fn progress() -> palisade_etcd::Progress {
    let spinner = crate::progress::Spinner::new();
    Arc::new(move |resource: &str, n: usize| {
        spinner.say(format!("reading {resource} from etcd: {n} values"));
    })
}
