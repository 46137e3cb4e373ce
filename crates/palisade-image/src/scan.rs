//! One whole image scan: open the source, walk every layer once with the
//! analyzers, then look the installed packages up in the vulnerability
//! database. Shared by `palisade image`, `scan --images` and the webhook's
//! background scanner.

use std::path::PathBuf;
use std::sync::Arc;

use palisade_core::{RuleMeta, Severity};
use palisade_secrets::Detector;
use palisade_vulndb::{Db, Match, PackageQuery};

use crate::analyze::{Analyzers, CHECKLIST_URL};
use crate::error::ImageError;
use crate::layers::{walk, Progress};
use crate::model::{Base, ImageFinding, LayerInfo, Limits, OsInfo, Package};
use crate::printable::escape_in_place;
use crate::source::{OpenOptions, Source};

/// `image/vulnerable`.
pub static VULNERABLE: RuleMeta = RuleMeta {
    id: "image/vulnerable",
    title: "Installed package has a known vulnerability",
    severity: Severity::High,
    level: None,
    rationale: "A package of the image is at a version an advisory lists as affected. OS packages are matched against the distribution's security tracker (OSV data of Debian, Ubuntu, Alpine, Red Hat) on the package the distribution tracks (Debian, Ubuntu and Alpine track source packages; Red Hat binary packages), with the distribution's own version ordering (dpkg epochs and ~, apk suffixes, rpm vercmp). What the application brings is matched against its ecosystem's advisories with that ecosystem's version rules: Go modules compiled into binaries and the Go standard library they were built with (Go vulnerability database; semver with +incompatible and pseudo-versions), Python distributions (PyPA; PEP 440), npm packages (semver), Java archives (Maven ComparableVersion), Rust crates (RustSec; semver), Composer and RubyGems packages. The finding names the ecosystem and the file the package was found in. The finding's severity is the advisory's (critical, high, medium, low; unknown ratings are reported as medium).",
    remediation: "Rebuild the image on an updated base (docker build --pull), or upgrade the package to the fixed version the finding names; if no fix exists, judge whether the vulnerable code is reachable and use a minimal base that does not ship the package.",
    references: &[CHECKLIST_URL, "https://osv.dev/"],
};

/// `image/secrets`.
pub static SECRETS: RuleMeta = RuleMeta {
    id: "image/secrets",
    title: "Image contains secrets",
    severity: Severity::High,
    level: None,
    rationale: "The image a workload runs holds credentials: in a file of a layer (also one a later layer deleted: it is still in the image for anyone who can pull it), a sensitive file such as a private key, or the image config's environment and build history. Everyone with pull access to the registry has them. Reported at the workload's image field from the stored result of palisade image for the image's digest (scan --images, and the webhook with images.content).",
    remediation: "Rebuild the image without the secret (multi-stage builds, build secrets mounted with RUN --mount=type=secret rather than ARG or COPY), rotate the exposed credential, and pass secrets at runtime from a Secret volume. palisade image IMAGE lists where each one is.",
    references: &[CHECKLIST_URL],
};

/// `image/unscanned`.
pub static UNSCANNED: RuleMeta = RuleMeta {
    id: "image/unscanned",
    title: "Image content not scanned yet",
    severity: Severity::Low,
    level: None,
    rationale: "The webhook never scans an image on the admission path (a scan reads every layer and takes seconds); it reads the stored result for the image's digest. An image without one is queued for a background scan, and until it is done its content is unknown: low (a warning) by default, high (denied in enforce mode) with images.content.unscanned: deny.",
    remediation: "Scan images in CI with palisade image (the result is stored by digest for the webhook's cache directory), or let the background scan finish and retry; use unscanned: deny only where every image is scanned before deployment.",
    references: &[CHECKLIST_URL],
};

/// Rules of the image content whose findings `image/secrets` sums up.
pub const SECRET_RULES: &[&str] = &[
    "secrets/in-image",
    "secrets/in-image-deleted",
    "secrets/sensitive-file",
    "image/config-secret",
];

/// How to scan.
#[derive(Clone)]
pub struct ScanOptions {
    /// How to open the source (platform, registry client options).
    pub open: OpenOptions,
    /// Limits of the walk.
    pub limits: Limits,
    /// The credential detector (from the policy's `secrets` section).
    pub detector: Arc<Detector>,
    /// The vulnerability database (`None`: its default path); a missing
    /// database is a note in the result, not an error.
    pub db: Option<PathBuf>,
    /// Look packages up in the vulnerability database.
    pub vulnerabilities: bool,
    /// Read application packages (Go and Rust binaries, Python, npm, Java,
    /// Composer, RubyGems) besides the OS package databases.
    pub applications: bool,
}

/// One vulnerability of one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vulnerability {
    /// Index into [`ImageScan::packages`].
    pub package: usize,
    /// The advisory.
    pub advisory: Match,
}

/// Everything one scan found.
#[derive(Debug, Clone)]
pub struct ImageScan {
    /// The source as given.
    pub name: String,
    /// Digest of the manifest read (the platform's manifest for an index;
    /// the config digest for a docker-archive).
    pub manifest_digest: String,
    /// Digest of the config blob.
    pub config_digest: String,
    /// For a registry reference, the digest it resolved to (see
    /// [`crate::source::Image::reference_digest`]).
    pub reference_digest: Option<String>,
    /// The OS.
    pub os: OsInfo,
    /// Installed packages.
    pub packages: Vec<Package>,
    /// Each layer's sizes.
    pub layers: Vec<LayerInfo>,
    /// Findings of every rule, vulnerabilities included (one per advisory
    /// and package).
    pub findings: Vec<ImageFinding>,
    /// The vulnerabilities behind the `image/vulnerable` findings.
    pub vulnerabilities: Vec<Vulnerability>,
    /// What was not checked or could not be read (never a silent gap).
    pub notes: Vec<String>,
}

/// Scans `source`. `progress` is called as layers are read.
pub fn scan_image(
    source: &Source,
    opts: &ScanOptions,
    progress: Option<&dyn Fn(&Progress<'_>)>,
) -> Result<ImageScan, ImageError> {
    let mut image = source.open(&opts.open).map_err(ImageError::printable)?;
    let mut analyzers = Analyzers::new(opts.detector.clone()).with_applications(opts.applications);
    let walked = {
        let mut visitors = analyzers.visitors();
        walk(&mut image, &opts.limits, &mut visitors, progress)?
    };
    let analysis = analyzers.finish_into(&image.config, &walked.layers);
    let mut notes = analysis.notes;
    notes.extend(walked.warnings);
    let mut findings = analysis.findings;
    let vulnerabilities = if opts.vulnerabilities {
        let (v, more) = vulnerabilities(&analysis.os, &analysis.packages, opts.db.as_ref());
        notes.extend(more);
        findings.extend(v.iter().map(|v| finding(v, &analysis.packages[v.package])));
        v
    } else {
        // Stored by digest and read by later policies: a result without the
        // lookup must say so, or it would pass for an image without any.
        notes.push("vulnerabilities not checked: skipped (--skip-vulnerabilities)".to_string());
        Vec::new()
    };
    let mut scan = ImageScan {
        name: image.name.clone(),
        manifest_digest: image.manifest_digest.clone(),
        config_digest: image.config_digest.clone(),
        reference_digest: image.reference_digest.clone(),
        os: analysis.os,
        packages: analysis.packages,
        layers: walked.layers,
        findings,
        vulnerabilities,
        notes,
    };
    escape_names(&mut scan);
    Ok(scan)
}

/// Escapes the control characters of every string of `scan` that the
/// image wrote (paths, package names, OS names, history lines) or that a
/// message built from one (see [`crate::printable`]); vulnerabilities are
/// matched before this, on the names as written.
fn escape_names(scan: &mut ImageScan) {
    for f in &mut scan.findings {
        escape_in_place(&mut f.message);
        escape_in_place(&mut f.path);
    }
    scan.notes.iter_mut().for_each(escape_in_place);
    for s in [
        &mut scan.os.id,
        &mut scan.os.version_id,
        &mut scan.os.pretty_name,
    ] {
        escape_in_place(s);
    }
    for p in &mut scan.packages {
        escape_in_place(&mut p.name);
        escape_in_place(&mut p.version);
        for s in [
            &mut p.source_name,
            &mut p.source_version,
            &mut p.arch,
            &mut p.path,
        ] {
            s.iter_mut().for_each(escape_in_place);
        }
    }
    for l in &mut scan.layers {
        // A docker-archive layer is named by its member in the archive.
        escape_in_place(&mut l.digest);
        l.created_by.iter_mut().for_each(escape_in_place);
    }
}

/// The ecosystem queried for an OS: OSV's, with the Red Hat major release
/// when known (el8 fixes must not judge an el9 package).
fn query_ecosystem(os: &OsInfo) -> Option<String> {
    let eco = os.ecosystem()?;
    if os.base == Base::RhelFamily {
        let major = os.version_id.split('.').next().unwrap_or_default();
        if !major.is_empty() {
            return Some(format!("Red Hat:enterprise_linux:{major}"));
        }
    }
    Some(eco)
}

/// The ecosystem and name a package is looked up by: an application
/// package's own ecosystem (the same in every image), an OS package's
/// distribution; `None` when the OS has no advisory source.
fn query_of<'a>(p: &'a Package, os_ecosystem: Option<&'a str>) -> Option<(&'a str, &'a str)> {
    match p.kind.app_ecosystem() {
        Some(eco) => Some((eco, p.name.as_str())),
        None => os_ecosystem.map(|eco| (eco, p.name.as_str())),
    }
}

/// Whether an application package's version can be looked up at all: a
/// Go main module built from a source tree is `(devel)`, an npm link or a
/// jar without a version has none; no advisory names those.
fn has_release_version(p: &Package) -> bool {
    !p.version.is_empty() && p.version != "(devel)"
}

/// Looks every package up; the notes say what was not looked up and why.
fn vulnerabilities(
    os: &OsInfo,
    packages: &[Package],
    db: Option<&PathBuf>,
) -> (Vec<Vulnerability>, Vec<String>) {
    if packages.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let mut notes = Vec::new();
    let os_ecosystem = query_ecosystem(os);
    if os_ecosystem.is_none() && packages.iter().any(|p| p.kind.is_os()) {
        notes.push(format!(
            "vulnerabilities of OS packages not checked: the OS ({}) has no advisory source palisade knows",
            if os.pretty_name.is_empty() {
                "unknown"
            } else {
                &os.pretty_name
            }
        ));
        if packages.iter().all(|p| p.kind.is_os()) {
            return (Vec::new(), notes);
        }
    }
    let path = match db {
        Some(p) => p.clone(),
        None => match Db::default_path() {
            Ok(p) => p,
            Err(e) => {
                return (
                    Vec::new(),
                    vec![format!("vulnerabilities not checked: {e}")],
                )
            }
        },
    };
    if !path.is_file() {
        return (
            Vec::new(),
            vec![format!(
                "vulnerabilities not checked: no vulnerability database at {} (palisade db update, or palisade db import FILE)",
                path.display()
            )],
        );
    }
    let db = match Db::open(&path) {
        Ok(db) => db,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!("vulnerabilities not checked: {e}")],
            )
        }
    };
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for (i, p) in packages.iter().enumerate() {
        let Some((ecosystem, name)) = query_of(p, os_ecosystem.as_deref()) else {
            continue;
        };
        if !p.kind.is_os() && !has_release_version(p) {
            continue;
        }
        let q = PackageQuery {
            ecosystem,
            name,
            source_name: p.source_name.as_deref(),
            version: &p.version,
        };
        match db.matches(&q) {
            Ok(ms) => out.extend(ms.into_iter().map(|advisory| Vulnerability {
                package: i,
                advisory,
            })),
            Err(e) => failed.push(match &p.path {
                Some(file) => format!("{} {} ({file}): {e}", p.name, p.version),
                None => format!("{} {}: {e}", p.name, p.version),
            }),
        }
    }
    if !failed.is_empty() {
        notes.push(format!(
            "vulnerabilities not checked for {} packages: {}",
            failed.len(),
            crate::analyze::capped_join(&failed, 20, "; ")
        ));
    }
    (out, notes)
}

fn finding(v: &Vulnerability, p: &Package) -> ImageFinding {
    let a = &v.advisory;
    let severity = match a.severity {
        palisade_vulndb::Severity::Critical => Severity::Critical,
        palisade_vulndb::Severity::High => Severity::High,
        palisade_vulndb::Severity::Medium | palisade_vulndb::Severity::Unknown => Severity::Medium,
        palisade_vulndb::Severity::Low => Severity::Low,
    };
    let aliases = if a.aliases.is_empty() {
        String::new()
    } else {
        format!(" ({})", a.aliases.join(", "))
    };
    let fix = match &a.fixed_version {
        Some(f) => format!("fixed in {f}"),
        None => "no fix yet".to_string(),
    };
    let source = match (&p.source_name, p.kind.app_ecosystem(), &p.path) {
        (_, Some(eco), Some(file)) => format!(" ({eco}, in {file})"),
        (_, Some(eco), None) => format!(" ({eco})"),
        (Some(s), None, _) if s != &p.name => format!(" (source {s})"),
        _ => String::new(),
    };
    let summary = if a.summary.is_empty() {
        String::new()
    } else {
        format!(": {}", a.summary)
    };
    ImageFinding {
        rule: VULNERABLE.id,
        severity,
        message: format!(
            "{} {}{source}: {}{aliases}, {fix}{summary}",
            p.name, p.version, a.id
        ),
        layer: Some(p.layer),
        path: match (p.kind.app_ecosystem(), &p.path) {
            (Some(eco), Some(file)) => format!("{file}: {eco} package {}", p.name),
            (Some(eco), None) => format!("{eco} package {}", p.name),
            (None, _) => format!("package {}", p.name),
        },
        remediation: VULNERABLE.remediation,
    }
}
