//! `palisade audit`: the cluster as the scan's source. The same engine,
//! rules and policy as `scan`; pods are folded into their controllers
//! before the report writer sees them.

use std::io::{self, IsTerminal};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use palisade_cluster::owners::{Folding, SharedOwners};
use palisade_cluster::resources::Secrets;
use palisade_cluster::{
    apply_reports, connect, ClusterSource, ConnectOptions, ListOptions, Lister,
};
use palisade_core::policy::Date;
use palisade_report::html::Extras;
use palisade_report::policyreport::PolicyReports;
use palisade_report::ReportWriter;
use palisade_scan::analyses::ClusterChecks;
use palisade_scan::Source;

use crate::cli::AuditArgs;
use crate::config::ScanConfig;

/// Runs an audit and returns the process exit status.
pub fn run(args: AuditArgs) -> Result<i32> {
    let mut cfg = ScanConfig::from_args(args.scan_args())?;
    if let Some(n) = cfg.threads {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    if args.page_size == 0 {
        anyhow::bail!("--page-size: must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let cluster = runtime
        .block_on(connect(&ConnectOptions {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        }))
        .map_err(|e| anyhow!(e))?;
    let list = ListOptions {
        page_size: args.page_size,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        ..ListOptions::default()
    };
    let lister = Lister::new(cluster.client.clone(), list);
    let extras = Extras {
        title: format!("cluster {}", cluster.name),
        ..Extras::default()
    };
    // The cluster's own Gatekeeper policies, unless --policy or the policy
    // file names constraints to evaluate instead.
    let cluster_policies = if cfg.constraints.is_empty() {
        runtime.block_on(palisade_cluster::gatekeeper_policies(&lister))
    } else {
        Vec::new()
    };
    let mut scan = crate::scan::build(&mut cfg, &extras)?;
    if !cluster_policies.is_empty() {
        let (set, errors) = compile_cluster_policies(cluster_policies);
        if let Some(set) = set {
            let inventory = palisade_rego::Inventory::load(&cfg.inventory).map_err(|e| {
                anyhow!(
                    "invalid --inventory:\n{}",
                    palisade_rego::join_errors(&e, "\n")
                )
            })?;
            scan = scan.with(palisade_scan::analyses::Constraints::new(set, inventory));
        }
        if !errors.is_empty() {
            scan = scan.with(Problems(Mutex::new(errors)));
        }
    } else if !cfg.constraints.is_empty() {
        scan = scan.with_note(
            "constraints were given (--policy or the policy file): the cluster's own Gatekeeper templates and constraints were not evaluated",
        );
    }
    let server = match runtime.block_on(lister.server_version()) {
        Ok(v) => Some((v, cluster.name.clone())),
        Err(f) => {
            scan = scan.with_note(format!(
                "{}: the API server's version was not checked",
                f.message
            ));
            None
        }
    };
    let checks = ClusterChecks::new(server, Date::today(), extras.coverage.clone());
    let owners: SharedOwners = Arc::default();
    let scan = scan
        .with(checks)
        .with_pod_filter(palisade_cluster::owners::pod_filter(owners.clone()));
    let secrets = if args.secret_values {
        Secrets::Values
    } else if args.secrets {
        Secrets::Metadata
    } else {
        Secrets::No
    };
    let mut source = ClusterSource::new(&cluster, runtime.handle().clone(), list, owners.clone())
        .namespace(args.namespace.clone())
        .secrets(secrets);
    if io::stderr().is_terminal() && !cfg.quiet {
        source = source.progress(progress());
    }

    let (output, inner) = crate::scan::open_report(&cfg, &extras)?;
    let summary = Arc::new(Mutex::new(None));
    let reports = Arc::new(Mutex::new(PolicyReports::new()));
    let inner: Box<dyn ReportWriter> = if args.apply_reports {
        Box::new(Tee {
            inner,
            reports: reports.clone(),
        })
    } else {
        inner
    };
    let folding = Box::new(Folding::new(inner, owners, summary.clone()));
    let sources: Vec<Box<dyn Source>> = vec![Box::new(source)];
    let Some(mut report) = crate::scan::outcome(scan.run(sources, folding))? else {
        return Ok(0);
    };
    if let Some(s) = summary.lock().unwrap_or_else(|e| e.into_inner()).take() {
        report.summary = s;
    }
    if args.apply_reports {
        let reports = std::mem::take(&mut *reports.lock().unwrap_or_else(|e| e.into_inner()))
            .reports(&report);
        let applied = runtime.block_on(apply_reports(&lister, &reports, args.namespace.as_deref()));
        if !cfg.quiet {
            eprintln!(
                "palisade: {} PolicyReports applied to {}, {} stale ones deleted",
                applied.written, cluster.name, applied.deleted
            );
        }
        if !applied.errors.is_empty() {
            for e in &applied.errors {
                eprintln!("palisade: {e}");
            }
            return Ok(2);
        }
    }
    if let Some(path) = output.file() {
        if !cfg.quiet && io::stderr().is_terminal() {
            let findings: usize = report.summary.findings.values().sum();
            eprintln!(
                "palisade: {} objects of {}, {findings} findings, {} errors; {} report written to {}",
                report.summary.objects,
                cluster.name,
                report.summary.errors,
                cfg.format.as_str(),
                path.display()
            );
        }
    }
    // 2 when a LIST failed, 1 on findings at or above the threshold.
    Ok(crate::scan::exit_status(&report, &cfg))
}

/// Passes findings on, and collects them as PolicyReports too (for
/// `--apply-reports`; they are the findings after folding).
/// Compiles the cluster's ConstraintTemplates and Constraints. One that
/// does not compile (or a constraint of a template that did not) is an
/// error naming it at its API path; the others are still evaluated.
fn compile_cluster_policies(
    mut objects: Vec<palisade_core::Object>,
) -> (
    Option<palisade_rego::PolicySet>,
    Vec<palisade_core::InputError>,
) {
    let mut errors = Vec::new();
    // Each round drops the objects named by an error: a template first,
    // then the constraints of its kind that no longer have a template.
    for _ in 0..4 {
        match palisade_rego::PolicySet::from_objects(&objects) {
            Ok(set) => return ((!set.is_empty()).then_some(set), errors),
            Err(e) => {
                let bad: std::collections::HashSet<String> =
                    e.iter().map(|e| e.file.clone()).collect();
                errors.extend(e.into_iter().map(|e| palisade_core::InputError {
                    file: e.file.as_str().into(),
                    line: e.line,
                    column: e.column,
                    message: format!("{} (not evaluated)", e.message),
                }));
                let before = objects.len();
                objects.retain(|o| !bad.contains(&*o.file));
                if objects.len() == before {
                    break;
                }
            }
        }
    }
    (None, errors)
}

/// Errors found before the audit ran, reported with its own.
struct Problems(Mutex<Vec<palisade_core::InputError>>);

impl palisade_scan::Analysis for Problems {
    fn needs(&self) -> palisade_scan::Needs {
        palisade_scan::Needs::default()
    }

    fn run(
        &self,
        _: &palisade_scan::Run<'_>,
        out: &mut palisade_scan::Out<'_>,
    ) -> std::result::Result<(), String> {
        for e in std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner())) {
            out.error(e);
        }
        Ok(())
    }
}

struct Tee<'w> {
    inner: Box<dyn ReportWriter + 'w>,
    reports: Arc<Mutex<PolicyReports>>,
}

impl ReportWriter for Tee<'_> {
    fn findings(&mut self, findings: &[palisade_core::Finding]) -> io::Result<()> {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(findings);
        self.inner.findings(findings)
    }

    fn finish(self: Box<Self>, rest: &palisade_core::ScanReport) -> io::Result<()> {
        self.inner.finish(rest)
    }
}

/// A spinner on standard error: the resource being listed and how many
/// of its objects were read.
fn progress() -> palisade_cluster::Progress {
    let spinner = crate::progress::Spinner::new();
    Box::new(move |resource: &str, n: usize| {
        spinner.say(format!("listing {resource}: {n} objects"));
    })
}
