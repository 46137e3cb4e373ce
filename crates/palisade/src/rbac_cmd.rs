//! `palisade rbac who-can | can | paths`: questions about the access graph
//! of the RBAC objects and workloads in the input.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use palisade_core::{Context, Engine, Limits};
use palisade_report::rbac;
use palisade_scan::Scan;

use crate::cli::RbacCommand;
use crate::config::Input;

/// Runs an `rbac` query; returns the exit status (2 when some input could
/// not be read, after answering from the rest).
pub fn run(cmd: RbacCommand) -> Result<i32> {
    let paths = match &cmd {
        RbacCommand::WhoCan { paths, .. }
        | RbacCommand::Can { paths, .. }
        | RbacCommand::Paths { paths, .. } => paths.clone(),
    };
    let (analysis, errors) = load(paths)?;
    let mut out = std::io::stdout().lock();
    match cmd {
        RbacCommand::WhoCan {
            verb,
            resource,
            namespace,
            format,
            ..
        } => {
            let ns = namespace.as_deref().unwrap_or("*");
            let grants = analysis.who_can(&verb, &resource, Some(ns));
            rbac::write_who_can(&mut out, &grants, &verb, &resource, format)?;
        }
        RbacCommand::Can {
            subject, format, ..
        } => {
            let subject = palisade_rbac::Subject::parse(&subject)
                .map_err(|e| anyhow::anyhow!("{subject:?}: {e}"))?;
            let rules = analysis.effective_rules(&subject);
            rbac::write_can(&mut out, &subject, &rules, format)?;
        }
        RbacCommand::Paths { format, .. } => {
            let paths = analysis.paths();
            rbac::write_paths(&mut out, &paths, || analysis.access_graph(), format)?;
        }
    }
    out.flush()?;
    Ok(if errors { 2 } else { 0 })
}

/// Reads the inputs and analyses their RBAC; reports input errors on stderr.
fn load(paths: Vec<PathBuf>) -> Result<(palisade_rbac::Analysis, bool)> {
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        bail!("-: standard input can be read only once");
    }
    let inputs: Vec<Input> = paths
        .into_iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::Path(p)
            }
        })
        .collect();
    // No rules: only the objects and pods the analysis needs are collected.
    let engine = Engine::new(
        Vec::new(),
        Context::from_policy(Default::default()),
        Limits::default(),
    );
    let scan = Scan::new(engine).keeping(palisade_rbac::is_rbac_input);
    let report = scan.collect(crate::scan::sources(&inputs, false))?;
    for e in &report.errors {
        eprintln!("{}:{}:{}: {}", e.file, e.line, e.column, e.message);
    }
    let input = palisade_rbac::Input {
        objects: report.kept.into(),
        pods: report.pods.into(),
    };
    Ok((palisade_rbac::analyze(&input), !report.errors.is_empty()))
}
