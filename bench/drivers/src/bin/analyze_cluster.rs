//! Loads a generated cluster (`gen_cluster`) the way `palisade scan` does —
//! the core engine parsing every file and keeping RBAC objects and pods —
//! then analyses it and prints the time of each phase, the resident memory
//! before and after the analysis, and the sizes of the answers.
//!
//! Usage: `analyze_cluster DIR` (every `*.yaml` in DIR). Peak memory of the
//! whole process is measured from outside with `/usr/bin/time`.

use std::process::ExitCode;
use std::time::Instant;

use palisade_core::{Context, Engine, Limits, ScanIndex, ScanReport};
use palisade_rbac::{analyze, is_rbac_input, Input};

/// Resident memory in MiB (`VmRSS` of /proc/self/status), 0 when unknown.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: analyze_cluster DIR");
        return ExitCode::from(2);
    };
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect(),
        Err(e) => {
            eprintln!("analyze_cluster: {dir}: {e}");
            return ExitCode::FAILURE;
        }
    };
    files.sort();
    let engine = Engine::new(Vec::new(), Context::default(), Limits::default())
        .with_collection(is_rbac_input);

    let t0 = Instant::now();
    let mut idx = ScanIndex::default();
    let mut contents = Vec::new();
    for f in &files {
        match std::fs::read(f) {
            Ok(bytes) => {
                engine.index_bytes(&bytes, &mut idx);
                contents.push((f.display().to_string(), bytes));
            }
            Err(e) => {
                eprintln!("analyze_cluster: {}: {e}", f.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let mut report = ScanReport::default();
    for (name, bytes) in &contents {
        report.merge(engine.scan_with_index(name, bytes, &idx));
    }
    drop(contents);
    let load = t0.elapsed().as_secs_f64();
    if let Some(first) = report.errors.first() {
        eprintln!(
            "analyze_cluster: {} input errors, first: {first:?}",
            report.errors.len()
        );
        return ExitCode::FAILURE;
    }
    let input = Input {
        objects: std::mem::take(&mut report.kept).into(),
        pods: std::mem::take(&mut report.pods).into(),
    };
    let rss_before = rss_mib();

    let t1 = Instant::now();
    let analysis = analyze(&input);
    let analyze_s = t1.elapsed().as_secs_f64();
    let rss_after = rss_mib();

    let t2 = Instant::now();
    let findings = analysis.findings();
    let paths = analysis.paths();
    let who = analysis.who_can("get", "secrets", Some("*"));
    let can = analysis.can("ServiceAccount:ns-1:ci");
    let queries_s = t2.elapsed().as_secs_f64();

    let c = analysis.counts();
    println!(
        "objects={} pods={} roles={} rules={} bindings={} findings={} risky_pods={} paths={} who_can_secrets={} can_rules={} load_s={load:.3} analyze_s={analyze_s:.3} queries_s={queries_s:.3} rss_before_mib={rss_before:.1} rss_after_mib={rss_after:.1}",
        input.objects.len(),
        input.pods.len(),
        c.roles,
        c.rules,
        c.bindings,
        findings.len(),
        c.risky_pods,
        paths.len(),
        who.len(),
        can.len(),
    );
    ExitCode::SUCCESS
}
