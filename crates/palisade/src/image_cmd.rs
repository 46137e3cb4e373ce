//! `palisade image` and `palisade db`: what is inside an image, in one
//! streaming pass over its layers (`palisade-image`), with installed
//! packages looked up in the vulnerability database (`palisade-vulndb`).

use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use palisade_core::{Context, Engine, Finding, ObjectRef, Policy, ScanReport, Severity};
use palisade_image::cache::ResultCache;
use palisade_image::layers::Progress;
use palisade_image::model::{self, Base, Limits};
use palisade_image::scan::{scan_image, ImageScan, ScanOptions};
use palisade_image::source::{OpenOptions, Source};
use palisade_report::{is_broken_pipe, render, Output, RenderOptions};
use palisade_secrets::detector_for;
use palisade_vulndb::Db;

use crate::cli::{DbCommand, ImageArgs};
use palisade_report::cyclonedx::{
    cyclonedx, Bom, BomOs, BomPackage, BomVulnerability, PackageKind,
};

/// Runs `palisade image`; the exit status follows `--fail-on`.
pub fn run(args: ImageArgs) -> Result<i32> {
    let format = args.format.report();
    let fail_on: Severity = args
        .fail_on
        .parse()
        .map_err(|e| anyhow!("--fail-on: {e}"))?;
    let source = Source::parse(&args.image)?;
    let policy = crate::config::load_policy(args.config.as_deref())?;
    let registry = args.registry.client_options()?;
    let opts = ScanOptions {
        open: OpenOptions {
            platform: registry.platform.clone(),
            registry: registry.clone(),
        },
        limits: Limits {
            max_total_bytes: args.max_bytes,
            max_entries: args.max_entries,
            max_file_bytes: args.max_file_bytes,
            ..Limits::default()
        },
        detector: detector_for(&policy.secrets),
        db: args.db.clone(),
        vulnerabilities: !args.skip_vulnerabilities,
        applications: !args.skip_applications,
    };
    let bars = Bars::new(!args.quiet && io::stderr().is_terminal());
    let scan = scan_image(&source, &opts, Some(&|p: &Progress<'_>| bars.update(p)))
        .with_context(|| format!("cannot scan {}", args.image))?;
    bars.finish();
    if !args.no_cache {
        store(&scan);
    }

    let output = Output::new(args.output.as_deref());
    let mut out = output.open()?;
    let report = judged(report_of(&scan), &scan.name, &policy)?;
    let written = match format {
        None => {
            let mut doc = serde_json::to_vec_pretty(&bom(&scan)).map_err(io::Error::other)?;
            doc.push(b'\n');
            out.write_all(&doc)
        }
        Some(format) => {
            let opts = RenderOptions {
                color: output.is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
                quiet: args.quiet,
                width: output.table_width(),
            };
            render(&report, &palisade_scan::catalog(), format, &opts, &mut out)
        }
    };
    match written.and_then(|_| out.flush()) {
        Ok(()) => {}
        Err(e) if is_broken_pipe(&e) => {}
        Err(e) => return Err(e).context("cannot write the report"),
    }
    Ok(i32::from(report.has_findings_at(fail_on)))
}

/// The image's findings through the scan pipeline: the policy's rule
/// settings, and exemptions that match the image, apply to them once, as
/// to every other finding.
fn judged(mut report: ScanReport, image: &str, policy: &Policy) -> Result<ScanReport> {
    let engine = Engine::new(
        Vec::new(),
        Context::from_policy(policy.clone()),
        palisade_core::Limits::default(),
    );
    let findings = std::mem::take(&mut report.findings);
    let scan = palisade_scan::Scan::new(engine).with(palisade_scan::analyses::ImageContent::new(
        image,
        findings,
        Vec::new(),
    ));
    let judged = scan.collect(Vec::new())?;
    report.summary.findings = judged.summary.findings;
    report.summary.suppressed += judged.summary.suppressed;
    report.findings = judged.findings;
    Ok(report)
}

/// Stores the result by the digests that name the image: the manifest
/// read, and for a registry tag also the digest the tag points to (an
/// index digest for a multi-arch image), which admission resolves.
fn store(scan: &ImageScan) {
    let Some(dir) = ResultCache::default_dir() else {
        return;
    };
    let mut digests = vec![scan.manifest_digest.as_str()];
    digests.extend(scan.reference_digest.as_deref());
    if let Err(e) = ResultCache::new(dir).put(&digests, scan) {
        eprintln!("palisade: the result was not stored for scan --images: {e}");
    }
}

/// The scan as a report of findings located at the image.
pub fn report_of(scan: &ImageScan) -> ScanReport {
    let object = Arc::new(ObjectRef {
        api_version: "oci".to_string(),
        kind: "Image".to_string(),
        namespace: None,
        name: format!("{} ({})", scan.name, scan.manifest_digest),
    });
    let file: Arc<str> = scan.name.as_str().into();
    let mut report = ScanReport::default();
    for f in &scan.findings {
        let path = match f
            .layer
            .and_then(|l| scan.layers.get(l).map(|info| (l, info)))
        {
            Some((l, info)) => format!("layer {l} ({}): {}", short(&info.digest), f.path),
            None => f.path.clone(),
        };
        *report.summary.findings.entry(f.severity).or_default() += 1;
        report.findings.push(Finding {
            rule: f.rule,
            severity: f.severity,
            message: f.message.clone(),
            object: object.clone(),
            container: None,
            path,
            file: file.clone(),
            line: 0,
            column: 0,
            remediation: f.remediation,
        });
    }
    report.summary.files = 1;
    report.summary.objects = 1;
    *report
        .summary
        .other_kinds
        .entry("Image".to_string())
        .or_default() += 1;
    report.summary.notes.push(format!(
        "{}: {} layers, {} packages ({}), {} vulnerabilities",
        scan.name,
        scan.layers.len(),
        scan.packages.len(),
        if scan.os.pretty_name.is_empty() {
            format!("{:?}", scan.os.base).to_lowercase()
        } else {
            scan.os.pretty_name.clone()
        },
        scan.vulnerabilities.len()
    ));
    report.summary.notes.extend(scan.notes.iter().cloned());
    report
}

fn bom(scan: &ImageScan) -> serde_json::Value {
    let vulnerabilities: Vec<BomVulnerability> = scan
        .vulnerabilities
        .iter()
        .map(|v| BomVulnerability {
            package: v.package,
            id: v.advisory.id.clone(),
            aliases: v.advisory.aliases.clone(),
            severity: format!("{:?}", v.advisory.severity).to_lowercase(),
            fixed: v.advisory.fixed_version.clone(),
            summary: v.advisory.summary.clone(),
        })
        .collect();
    let os = BomOs {
        id: if scan.os.base == Base::Scratch {
            String::new()
        } else {
            scan.os.id.clone()
        },
        version_id: scan.os.version_id.clone(),
        pretty_name: scan.os.pretty_name.clone(),
    };
    let packages: Vec<BomPackage> = scan
        .packages
        .iter()
        .map(|p| BomPackage {
            kind: match p.kind {
                model::PackageKind::Deb => PackageKind::Deb,
                model::PackageKind::Apk => PackageKind::Apk,
                model::PackageKind::Rpm => PackageKind::Rpm,
                model::PackageKind::Go => PackageKind::Golang,
                model::PackageKind::Python => PackageKind::Pypi,
                model::PackageKind::Npm => PackageKind::Npm,
                model::PackageKind::Maven => PackageKind::Maven,
                model::PackageKind::Cargo => PackageKind::Cargo,
                model::PackageKind::Composer => PackageKind::Composer,
                model::PackageKind::Gem => PackageKind::Gem,
            },
            name: p.name.clone(),
            version: p.version.clone(),
            source_name: p.source_name.clone(),
            arch: p.arch.clone(),
            layer: p.layer,
            path: p.path.clone(),
        })
        .collect();
    cyclonedx(&Bom {
        reference: &scan.name,
        digest: &scan.manifest_digest,
        os: &os,
        packages: &packages,
        vulnerabilities: &vulnerabilities,
        tool_version: env!("CARGO_PKG_VERSION"),
        now: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    })
}

fn short(digest: &str) -> &str {
    let end = digest.len().min("sha256:".len() + 12);
    &digest[..end]
}

/// Progress bars on a terminal: one per layer being read.
struct Bars {
    multi: Option<MultiProgress>,
    current: std::sync::Mutex<Option<(usize, ProgressBar)>>,
}

impl Bars {
    fn new(on: bool) -> Bars {
        Bars {
            multi: on.then(MultiProgress::new),
            current: std::sync::Mutex::new(None),
        }
    }

    fn update(&self, p: &Progress<'_>) {
        let Some(multi) = &self.multi else { return };
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(l, _)| *l != p.layer) {
            let bar = multi.add(ProgressBar::new(p.compressed_size));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(format!(
                "layer {}/{} {}",
                p.layer + 1,
                p.layers,
                short(p.digest)
            ));
            bar.enable_steady_tick(Duration::from_millis(200));
            *current = Some((p.layer, bar));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_position(p.compressed_read);
            if p.done {
                bar.finish();
            }
        }
    }

    fn finish(&self) {
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

/// Runs `palisade db`.
pub fn run_db(cmd: DbCommand) -> Result<i32> {
    let path_of = |db: Option<std::path::PathBuf>| -> Result<std::path::PathBuf> {
        match db {
            Some(p) => Ok(p),
            None => Ok(Db::default_path()?),
        }
    };
    match cmd {
        DbCommand::Import { paths, db } => {
            let path = path_of(db)?;
            let mut db = Db::open(&path)?;
            for p in &paths {
                let stats = db.import(p)?;
                println!(
                    "{}: {} records, {} new, {} updated, {} unchanged, {} withdrawn",
                    p.display(),
                    stats.records,
                    stats.inserted,
                    stats.updated,
                    stats.unchanged,
                    stats.withdrawn
                );
            }
            println!("{}: {} advisories", path.display(), db.advisory_count()?);
            Ok(0)
        }
        DbCommand::Update { ecosystems, db } => {
            if ecosystems.is_empty() {
                bail!("--ecosystem: give at least one");
            }
            let path = path_of(db)?;
            let mut db = Db::open(&path)?;
            let client = palisade_vulndb::http_client()?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let names: Vec<&str> = ecosystems.iter().map(String::as_str).collect();
            let stats = rt.block_on(db.update(&names, &client))?;
            println!(
                "{}: {} records, {} new, {} updated; {} advisories",
                path.display(),
                stats.records,
                stats.inserted,
                stats.updated,
                db.advisory_count()?
            );
            Ok(0)
        }
        DbCommand::Status { db } => {
            let path = path_of(db)?;
            if !path.is_file() {
                println!(
                    "{}: no database (palisade db update, or palisade db import FILE)",
                    path.display()
                );
                return Ok(1);
            }
            let db = Db::open(&path)?;
            println!("{}: {} advisories", path.display(), db.advisory_count()?);
            Ok(0)
        }
    }
}
