//! `palisade scan`: gathers input (files, directories, stdin), runs the
//! engine over it, and writes the report.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use palisade_core::{Engine, InputError, Limits, ScanIndex, ScanReport};
use palisade_rego::{join_errors, Inventory, PolicySet, Review};
use palisade_report::{render, RenderOptions};
use rayon::prelude::*;

use crate::config::{Input, ScanConfig};

/// Extensions picked up when walking a directory.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// One unit of input.
enum Source {
    Stdin,
    File(PathBuf),
    /// A path that could not be listed.
    Broken(PathBuf, String),
}

/// Runs a scan and returns the process exit status.
/// One input read into memory (name, bytes), or the report of why it could
/// not be read.
type ReadResult = Result<(String, Vec<u8>), Box<ScanReport>>;

/// Reads every input and checks it with `engine`, in two passes, so that
/// rules can look across files (a ServiceAccount in one file, the
/// Deployment using it in another). Inputs are read once and kept for the
/// second pass (stdin cannot be read twice).
pub fn scan_inputs(engine: &Engine, inputs: &[Input], one_thread: bool) -> ScanReport {
    let sources = collect_sources(inputs);
    let read_one = |s: &Source| read_source(engine, s);
    let inputs: Vec<ReadResult> = if one_thread {
        sources.iter().map(read_one).collect()
    } else {
        sources.par_iter().map(read_one).collect()
    };
    let mut idx = ScanIndex::default();
    for (_, bytes) in inputs.iter().flatten() {
        engine.index_bytes(bytes, &mut idx);
    }
    let scan_one = |input: ReadResult| match input {
        Ok((name, bytes)) => engine.scan_with_index(&name, &bytes, &idx),
        Err(report) => *report,
    };
    let parts: Vec<ScanReport> = if one_thread {
        inputs.into_iter().map(scan_one).collect()
    } else {
        inputs.into_par_iter().map(scan_one).collect()
    };
    let mut report = ScanReport::default();
    for p in parts {
        report.merge(p);
    }
    report
}

pub fn run(cfg: ScanConfig) -> Result<i32> {
    if let Some(n) = cfg.threads {
        // Only fails when a global pool exists already, which it cannot here.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let engine = Engine::new(
        palisade_rules::all_rules(),
        cfg.ctx.clone(),
        Limits::default(),
    )
    .with_parallelism(cfg.threads != Some(1));
    // Rego constraints review every object, with the others as inventory,
    // so every object is kept; otherwise only what RBAC analysis reads.
    let rego = load_constraints(&cfg)?;
    let engine = if rego.is_some() {
        engine.with_collection(keep_all)
    } else {
        engine.with_collection(palisade_rbac::is_rbac_input)
    };
    let engine = if cfg.supply.is_some() {
        engine.with_image_uses()
    } else {
        engine
    };
    let mut report = scan_inputs(&engine, &cfg.inputs, cfg.threads == Some(1));
    if let Some(supply) = &cfg.supply {
        let findings = check_images(supply, &report.pods)?;
        engine.apply_image_policy(findings, &mut report);
    }
    if cfg.offline {
        report.summary.notes.push(
            "--offline: the registry rules (image/signature, image/resolved-digest, image/registry-error, image content) were not checked".into(),
        );
    }
    let kept = std::mem::take(&mut report.kept);
    if let Some((set, inventory)) = &rego {
        review_constraints(&engine, set, inventory.clone(), &kept, &mut report);
    }
    // RBAC: permissions of every subject, joined to the workloads' pods.
    let input = palisade_rbac::Input {
        objects: kept,
        pods: std::mem::take(&mut report.pods),
    };
    if !input.objects.is_empty() {
        engine.apply_policy(palisade_rbac::analyze(&input).findings(), &mut report);
    }
    for f in engine.policy_findings() {
        *report.summary.findings.entry(f.severity).or_default() += 1;
        report.findings.push(f);
    }

    let catalog = crate::image_cmd::full_catalog();
    let to_terminal = cfg.output.is_none() && io::stdout().is_terminal();
    let opts = RenderOptions {
        color: to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        quiet: cfg.quiet,
    };
    let written = match &cfg.output {
        Some(path) => {
            let mut f = io::BufWriter::new(
                File::create(path)
                    .with_context(|| format!("--output: cannot create {}", path.display()))?,
            );
            render(&report, &catalog, cfg.format, &opts, &mut f).and_then(|_| f.flush())
        }
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            render(&report, &catalog, cfg.format, &opts, &mut out).and_then(|_| out.flush())
        }
    };
    match written {
        Ok(()) => {}
        // A closed pipe (`palisade scan ... | head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(e).context("cannot write the report"),
    }
    if let Some(path) = &cfg.output {
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

/// Asks the registry about every image of the scan's pods (each distinct
/// image once) and returns the findings at each place it is used.
fn check_images(
    supply: &palisade_supply::Supply,
    pods: &[palisade_core::PodInfo],
) -> Result<Vec<(palisade_core::Finding, Option<String>)>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let images = pods
        .iter()
        .flat_map(|p| p.images.iter().map(|u| u.image.clone()));
    let checked = runtime.block_on(supply.check_all(images));
    Ok(pods
        .iter()
        .flat_map(|pod| supply.findings_of(&checked, &pod.images, &pod.object, &pod.file))
        .collect())
}

/// 2 on input errors, 1 on findings at or above the threshold, else 0.
fn keep_all(_: &str, _: &str) -> bool {
    true
}

/// Compiles the Gatekeeper templates and constraints and reads the extra
/// inventory; `None` when there are none. Load errors stop the scan with
/// every error's file:line:col (exit status 2).
fn load_constraints(cfg: &ScanConfig) -> Result<Option<(PolicySet, Inventory)>> {
    if cfg.constraints.is_empty() {
        return Ok(None);
    }
    let set = PolicySet::load(&cfg.constraints)
        .map_err(|e| anyhow::anyhow!("invalid constraints:\n{}", join_errors(&e, "\n")))?;
    let inventory = Inventory::load(&cfg.inventory)
        .map_err(|e| anyhow::anyhow!("invalid --inventory:\n{}", join_errors(&e, "\n")))?;
    Ok(Some((set, inventory)))
}

/// Reviews every object against the constraints (an AdmissionReview
/// document with its own request, anything else as a CREATE), with the
/// scan's other objects in `data.inventory`. Violations become findings
/// `rego/<Kind>/<name>` at the object; evaluation errors are input errors.
fn review_constraints(
    engine: &Engine,
    set: &PolicySet,
    mut inventory: Inventory,
    objects: &[palisade_core::Object],
    report: &mut ScanReport,
) {
    let docs: Vec<serde_json::Value> = objects.iter().map(|o| o.root.to_json()).collect();
    for d in &docs {
        // Objects without a name (generateName) cannot be inventory entries.
        let _ = inventory.add(d);
    }
    let results: Vec<_> = objects
        .par_iter()
        .zip(docs.par_iter())
        .map(|(obj, json)| {
            let review = if Review::is_admission_review(json) {
                Review::parse_admission_review(json)
            } else {
                Ok(Review::create(json))
            };
            (obj, review.map(|r| set.review_all(&r, &inventory)))
        })
        .collect();
    let mut findings = Vec::new();
    for (obj, outcome) in results {
        let pos = obj.locate(&[]);
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                report.summary.errors += 1;
                report.errors.push(InputError {
                    file: obj.file.clone(),
                    line: pos.line,
                    column: pos.col,
                    message: format!("AdmissionReview cannot be reviewed: {e}"),
                });
                continue;
            }
        };
        for v in outcome.violations {
            findings.push(palisade_core::Finding {
                rule: palisade_core::intern_rule_id(&v.rule_id()),
                severity: v.severity(),
                message: v.message,
                object: obj.id.clone(),
                container: None,
                path: palisade_core::node::render_path(&obj.prefix),
                file: obj.file.clone(),
                line: pos.line,
                column: pos.col,
                remediation: "Change the object to satisfy the constraint, or exclude it in the constraint's spec.match.",
            });
        }
        for e in outcome.errors {
            report.summary.errors += 1;
            report.errors.push(InputError {
                file: obj.file.clone(),
                line: pos.line,
                column: pos.col,
                message: format!("{} {:?}: {e}", obj.id.kind, obj.id.name),
            });
        }
    }
    engine.apply_policy(findings, report);
}

fn exit_status(report: &ScanReport, cfg: &ScanConfig) -> i32 {
    if !report.errors.is_empty() {
        2
    } else if report.has_findings_at(cfg.fail_on) {
        1
    } else {
        0
    }
}

fn collect_sources(inputs: &[Input]) -> Vec<Source> {
    let mut out = Vec::new();
    for input in inputs {
        match input {
            Input::Stdin => out.push(Source::Stdin),
            Input::Path(p) if p.is_dir() => walk(p, &mut out),
            Input::Path(p) => out.push(Source::File(p.clone())),
        }
    }
    out
}

/// Lists a directory's manifests, sorted, skipping hidden directories
/// (`.git`) and not following symbolic links (no loops).
fn walk(dir: &Path, out: &mut Vec<Source>) {
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => {
                let wanted = e
                    .path()
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()));
                if wanted {
                    out.push(Source::File(e.into_path()));
                }
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                out.push(Source::Broken(path, e.to_string()));
            }
        }
    }
}

/// Reads one input; an unreadable one becomes a report holding its error.
fn read_source(engine: &Engine, source: &Source) -> ReadResult {
    let limits = engine.limits();
    match source {
        Source::Stdin => {
            let mut buf = Vec::new();
            io::stdin()
                .lock()
                .take(limits.max_file_bytes + 1)
                .read_to_end(&mut buf)
                .map_err(|e| {
                    Box::new(unreadable("-", &format!("cannot read standard input: {e}")))
                })?;
            Ok(("-".to_string(), buf))
        }
        Source::File(path) => {
            let name = display(path);
            match read_file(path, limits) {
                Ok(bytes) => Ok((name, bytes)),
                Err(msg) => Err(Box::new(unreadable(&name, &msg))),
            }
        }
        Source::Broken(path, msg) => Err(Box::new(unreadable(&display(path), msg))),
    }
}

fn read_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > limits.max_file_bytes {
        return Err(format!(
            "file is {} bytes, over the limit of {} bytes",
            meta.len(),
            limits.max_file_bytes
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read: {e}"))
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn unreadable(file: &str, message: &str) -> ScanReport {
    let mut r = ScanReport::default();
    r.summary.files = 1;
    r.summary.errors = 1;
    r.errors.push(InputError {
        file: file.into(),
        line: 0,
        column: 0,
        message: message.to_string(),
    });
    r
}
