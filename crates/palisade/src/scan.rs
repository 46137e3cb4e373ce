//! `palisade scan`: wires the validated configuration to the scan pipeline
//! (`palisade-scan`) and the report writer, and turns the outcome into an
//! exit status.

use std::io::{self, IsTerminal};

use anyhow::{anyhow, Context as _, Result};
use palisade_core::{Engine, Limits, ScanReport};
use palisade_rego::{join_errors, Inventory, PolicySet};
use palisade_report::html::Extras;
use palisade_report::{is_broken_pipe, writer, Format, Output, RenderOptions, ReportWriter};
use palisade_scan::analyses::{
    Constraints, EncryptionFiles, ExpiredExemptions, NetworkIsolation, Rbac, Registry,
};
use palisade_scan::{has_findings_at, Scan, ScanError, Source};

use crate::config::{Input, ScanConfig};
use crate::kustomize::Kustomized;

/// The sources of the command line's inputs, in order.
/// With `kustomize`, directories are rendered first (see [`crate::kustomize`]).
pub fn sources(inputs: &[Input], kustomize: bool) -> Vec<Box<dyn Source>> {
    inputs
        .iter()
        .map(|input| -> Box<dyn Source> {
            match input {
                Input::Stdin => Box::new(palisade_scan::Stdin),
                Input::Path(p) if kustomize => Box::new(Kustomized(p.clone())),
                Input::Path(p) => Box::new(palisade_scan::Paths(vec![p.clone()])),
            }
        })
        .collect()
}

/// Runs a scan and returns the process exit status.
pub fn run(mut cfg: ScanConfig) -> Result<i32> {
    if let Some(n) = cfg.threads {
        // Only fails when a global pool exists already, which it cannot here.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let extras = Extras {
        title: cfg
            .inputs
            .iter()
            .map(|i| match i {
                crate::config::Input::Stdin => "-".to_string(),
                crate::config::Input::Path(p) => p.display().to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        ..Extras::default()
    };
    let scan = build(&mut cfg, &extras)?;

    let (output, report_writer) = open_report(&cfg, &extras)?;
    let Some(report) = outcome(scan.run(sources(&cfg.inputs, cfg.kustomize), report_writer))?
    else {
        return Ok(0);
    };
    if let Some(path) = output.file() {
        if !cfg.quiet && io::stderr().is_terminal() {
            // The report went to a file: keep a short note on the terminal.
            let findings: usize = report.summary.findings.values().sum();
            eprintln!(
                "palisade: {} objects, {findings} findings, {} errors; {} report written to {}",
                report.summary.objects,
                report.summary.errors,
                cfg.format.as_str(),
                path.display()
            );
        }
    }
    Ok(exit_status(&report, &cfg))
}

/// A scan's outcome for a command: the report, `None` when the reader of
/// the output went away (a broken pipe: exit quietly), or the error.
pub fn outcome(result: Result<ScanReport, ScanError>) -> Result<Option<ScanReport>> {
    match result {
        Ok(r) => Ok(Some(r)),
        Err(ScanError::Write(e)) if is_broken_pipe(&e) => Ok(None),
        Err(ScanError::Write(e)) => Err(e).context("cannot write the report"),
        Err(e) => Err(anyhow!(e)),
    }
}

/// Where the report goes (`--output`, else standard output) and its
/// writer in the chosen format.
pub fn open_report(cfg: &ScanConfig, extras: &Extras) -> Result<(Output, Box<dyn ReportWriter>)> {
    let output = Output::new(cfg.output.as_deref());
    let opts = RenderOptions {
        color: output.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        quiet: cfg.quiet,
        width: output.table_width(),
    };
    let out = output.open()?;
    let report_writer: Box<dyn ReportWriter> = match cfg.format {
        Format::Html => Box::new(palisade_report::html::Writer::new(
            out,
            palisade_scan::catalog(),
            extras.clone(),
        )),
        format => writer(format, palisade_scan::catalog(), opts, out),
    };
    Ok((output, report_writer))
}

/// The scan of `cfg`: the engine with every rule, then the analyses that
/// run after every object is read, in this order: the registry, then
/// Gatekeeper constraints, RBAC, and the policy's own findings.
pub fn build(cfg: &mut ScanConfig, extras: &Extras) -> Result<Scan> {
    let constraints = load_constraints(cfg)?;
    let engine = Engine::new(
        palisade_rules::all_rules(),
        cfg.ctx.clone(),
        Limits::default(),
    );
    let mut scan = Scan::new(engine).with_parallelism(cfg.threads != Some(1));
    if let Some(supply) = cfg.supply.take() {
        scan = scan.with(Registry::new(supply));
    }
    if cfg.offline {
        scan = scan.with_note("--offline: the registry rules (image/signature, image/resolved-digest, image/registry-error, image content) were not checked");
    }
    // ValidatingAdmissionPolicies among the scanned files run too (their
    // bindings are looked for first: keeping every object costs memory).
    let paths: Vec<std::path::PathBuf> = cfg
        .inputs
        .iter()
        .filter_map(|i| match i {
            crate::config::Input::Path(p) => Some(p.clone()),
            crate::config::Input::Stdin => None,
        })
        .collect();
    let input_vaps = palisade_scan::paths_mention(&paths, "ValidatingAdmissionPolicyBinding");
    if let Some((set, _)) = &constraints {
        for w in set.warnings() {
            scan = scan.with_note(w.to_string());
        }
    }
    match (constraints, input_vaps) {
        (Some((set, inventory)), false) => scan = scan.with(Constraints::new(set, inventory)),
        (Some((set, inventory)), true) => {
            scan = scan.with(Constraints::new(set, inventory).with_input_policies())
        }
        (None, true) => {
            let inventory = Inventory::load(&cfg.inventory)
                .map_err(|e| anyhow!("invalid --inventory:\n{}", join_errors(&e, "\n")))?;
            scan =
                scan.with(Constraints::new(PolicySet::default(), inventory).with_input_policies())
        }
        (None, false) => {}
    }
    Ok(scan
        .with(Rbac::with_paths(extras.paths.clone()))
        .with(NetworkIsolation)
        .with(EncryptionFiles)
        .with(ExpiredExemptions))
}

/// Compiles the Gatekeeper templates and constraints and reads the extra
/// inventory; `None` when there are none. Load errors stop the scan with
/// every error's file:line:col (exit status 2).
fn load_constraints(cfg: &ScanConfig) -> Result<Option<(PolicySet, Inventory)>> {
    if cfg.constraints.is_empty() {
        return Ok(None);
    }
    let set = PolicySet::load_with(&cfg.constraints, cfg.engine)
        .map_err(|e| anyhow!("invalid constraints:\n{}", join_errors(&e, "\n")))?;
    let inventory = Inventory::load(&cfg.inventory)
        .map_err(|e| anyhow!("invalid --inventory:\n{}", join_errors(&e, "\n")))?;
    Ok(Some((set, inventory)))
}

/// 2 on input errors, 1 on findings at or above the threshold, else 0.
pub fn exit_status(report: &ScanReport, cfg: &ScanConfig) -> i32 {
    if !report.errors.is_empty() {
        2
    } else if has_findings_at(report, cfg.fail_on) {
        1
    } else {
        0
    }
}
