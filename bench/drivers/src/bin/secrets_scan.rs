//! Benchmark driver for the `secrets` pack (used by `bench/secrets/run.sh`):
//! scans files with the engine running only the secrets rules, prints one
//! JSON line per finding (`file`, `line`, `rule`, `path`) and reports
//! throughput on stderr.
//!
//! Usage: `secrets_scan [--threads N] [--floor] [--detector] [--out FILE] [--stats FILE] PATH...`
//! (directories are walked for `*.yaml`, `*.yml` and `*.json`; `--floor`
//! runs the engine with no rules, to show what reading the YAML costs;
//! `--detector` also times the detector alone over the raw text).
//!
//! Findings in a multi-line value are located by the engine at the key that
//! holds the value; their message says `line N of the value`. For block
//! scalars (`key: |`), whose content starts on the next line, the line
//! printed here is the key's line plus N, so that a finding can be compared
//! line by line with tools that read files as text.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use palisade_core::{Context, Engine, Finding, Limits};
use palisade_rules::secrets;
use palisade_secrets::Detector;

struct Args {
    threads: usize,
    /// Run the engine with no rules: the cost of reading YAML alone.
    floor: bool,
    /// Also time the detector alone over the raw text of every file.
    detector: bool,
    out: Option<PathBuf>,
    stats: Option<PathBuf>,
    paths: Vec<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        floor: false,
        detector: false,
        out: None,
        stats: None,
        paths: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--threads" => {
                a.threads = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--threads needs a positive number")?;
            }
            "--floor" => a.floor = true,
            "--detector" => a.detector = true,
            "--out" => a.out = Some(it.next().ok_or("--out needs a file")?.into()),
            "--stats" => a.stats = Some(it.next().ok_or("--stats needs a file")?.into()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => a.paths.push(arg.into()),
        }
    }
    if a.paths.is_empty() {
        return Err(
            "usage: secrets_scan [--threads N] [--floor] [--detector] [--out FILE] [--stats FILE] PATH..."
                .into(),
        );
    }
    Ok(a)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else if matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    ) {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// The line of the finding's value, for findings inside block scalars.
/// `starts` holds the byte offset of every line of `text`.
fn value_line(f: &Finding, text: &str, starts: &[usize]) -> u32 {
    let Some(n) = f
        .message
        .split_once(", line ")
        .and_then(|(_, rest)| rest.split_once(" of the value"))
        .and_then(|(n, _)| n.parse::<u32>().ok())
    else {
        return f.line;
    };
    let i = f.line.saturating_sub(1) as usize;
    let key_line = match (starts.get(i), starts.get(i + 1)) {
        (Some(&a), Some(&b)) => text.get(a..b).unwrap_or(""),
        (Some(&a), None) => text.get(a..).unwrap_or(""),
        _ => "",
    }
    .trim_end();
    let header = key_line
        .split_once(": ")
        .map(|(_, v)| v.trim())
        .or_else(|| key_line.trim().strip_prefix("- "))
        .unwrap_or("");
    let block = header.starts_with('|') || header.starts_with('>');
    if block {
        f.line + n
    } else {
        f.line
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("secrets_scan: {e}");
            std::process::exit(2);
        }
    };
    let mut files = Vec::new();
    for p in &args.paths {
        if let Err(e) = collect(p, &mut files) {
            eprintln!("secrets_scan: {}: {e}", p.display());
            std::process::exit(2);
        }
    }
    let inputs: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter_map(|p| match std::fs::read(p) {
            Ok(b) => Some((p.display().to_string(), b)),
            Err(e) => {
                eprintln!("secrets_scan: {}: {e}", p.display());
                None
            }
        })
        .collect();
    let bytes: usize = inputs.iter().map(|(_, b)| b.len()).sum();

    // The engine with only the secrets pack; files are spread over threads here.
    let rules = if args.floor {
        Vec::new()
    } else {
        palisade_rules::boxed(secrets::RULES)
    };
    let engine = Engine::new(rules, Context::default(), Limits::default()).with_parallelism(false);
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let mut lines: Vec<Vec<String>> = Vec::new();
    let mut errors = 0usize;
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..args.threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    let mut errs = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((name, data)) = inputs.get(i) else {
                            break;
                        };
                        let report = engine.scan_bytes(name, data);
                        errs += report.errors.len();
                        let text = match std::str::from_utf8(data) {
                            Ok(t) => std::borrow::Cow::Borrowed(t),
                            Err(_) => String::from_utf8_lossy(data),
                        };
                        let starts: Vec<usize> = std::iter::once(0)
                            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                            .collect();
                        for f in &report.findings {
                            let line = serde_json::json!({
                                "file": name,
                                "line": value_line(f, &text, &starts),
                                "rule": f.rule,
                                "path": f.path,
                            });
                            out.push(line.to_string());
                        }
                    }
                    (out, errs)
                })
            })
            .collect();
        for w in workers {
            if let Ok((out, errs)) = w.join() {
                lines.push(out);
                errors += errs;
            }
        }
    });
    let secs = start.elapsed().as_secs_f64();

    // The detector alone over the raw text of every file, on one thread.
    let (mut raw, mut det_secs) = (0usize, f64::NAN);
    if args.detector {
        let det = Detector::new(&Default::default());
        let start = Instant::now();
        let mut detections = Vec::new();
        for (_, data) in &inputs {
            if let Ok(text) = std::str::from_utf8(data) {
                det.scan(None, text, &mut detections);
                raw += detections.len();
                detections.clear();
            }
        }
        det_secs = start.elapsed().as_secs_f64();
    }

    let findings: usize = lines.iter().map(Vec::len).sum();
    let all = lines.concat().join("\n");
    match &args.out {
        Some(p) => {
            if let Err(e) = std::fs::write(p, all + "\n") {
                eprintln!("secrets_scan: {}: {e}", p.display());
                std::process::exit(2);
            }
        }
        None => println!("{all}"),
    }
    let mb = bytes as f64 / 1e6;
    let mut stats = serde_json::json!({
        "files": inputs.len(),
        "bytes": bytes,
        "threads": args.threads,
        "seconds": secs,
        "mb_per_s": mb / secs,
        "findings": findings,
        "input_errors": errors,
    });
    eprint!(
        "secrets_scan: {} files, {mb:.1} MB: engine ({}) {:.1} MB/s on {} threads, {findings} findings, {errors} input errors",
        inputs.len(),
        if args.floor { "no rules" } else { "secrets pack" },
        mb / secs,
        args.threads,
    );
    if args.detector {
        stats["detector_only_seconds"] = det_secs.into();
        stats["detector_only_mb_per_s"] = (mb / det_secs).into();
        stats["detector_only_detections"] = raw.into();
        eprint!(
            "; detector alone on raw text {:.1} MB/s on 1 thread",
            mb / det_secs
        );
    }
    eprintln!();
    if let Some(p) = &args.stats {
        if let Err(e) = std::fs::write(p, stats.to_string()) {
            eprintln!("secrets_scan: {}: {e}", p.display());
            std::process::exit(2);
        }
    }
}
