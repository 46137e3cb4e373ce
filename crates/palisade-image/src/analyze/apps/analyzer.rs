//! [`AppAnalyzer`]: the visitor that finds application packages during the
//! layer walk. Each file is read where it passes (never extracted to disk)
//! and reduced to the packages it names; at the end only the files that
//! survive in the final filesystem count, so a package a later layer
//! removed or replaced is not reported.
//!
//! What is read, and its limits (a file over its limit is a note naming
//! it; the rest of the image is still scanned):
//!
//! | files | read as | limit |
//! |---|---|---|
//! | executables (any `x` bit) that are ELF | Go build info, `cargo auditable` `.dep-v0` | [`MAX_BINARY_BYTES`] |
//! | `*.jar`, `*.war`, `*.ear`, `*.par` | `pom.properties`, `MANIFEST.MF`, nested archives one level deep | [`MAX_ARCHIVE_BYTES`], then [`java::JarLimits`] |
//! | `site-packages`/`dist-packages` `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`, `*.egg-info` | core metadata | the scan's file limit |
//! | `node_modules/**/package.json` | `name`, `version` | the scan's file limit |
//! | `package-lock.json`, `npm-shrinkwrap.json` (v1–v3) | locked packages, dev dependencies left out | [`MAX_LOCKFILE_BYTES`] |
//! | `Cargo.lock` | locked crates | [`MAX_LOCKFILE_BYTES`] |
//! | `vendor/composer/installed.json` | Composer packages | [`MAX_LOCKFILE_BYTES`] |
//! | `specifications/*.gemspec` | gem name and version | the scan's file limit |
//!
//! Python distributions that an OS package installed (listed in a dpkg
//! `var/lib/dpkg/info/*.list` file or an apk database's `F:` lines) are
//! the OS package's, matched against the distribution's advisories: they
//! are not reported twice. rpm file lists are not read, so on RHEL-family
//! images a Python package installed by rpm is also listed as a PyPI one.

use std::collections::{BTreeMap, HashSet};

use super::{go, java, npm, php, python, ruby, rust};
use crate::model::{Entry, EntryKind, FinalFs, Package, PackageKind, Visitor};

/// The largest executable read for build information: Go binaries of
/// large programs reach about 150 MiB. Those over
/// [`MAX_WHOLE_BINARY_BYTES`] are read as a stream, keeping only Go's
/// build information blob.
pub const MAX_BINARY_BYTES: u64 = 256 << 20;
/// The largest executable held whole while it is read (the walker buffers
/// one file at a time): up to it, Go build information of every format and
/// Rust's `cargo auditable` section are read; above it, only Go's (Go 1.18
/// and later), from the stream.
pub const MAX_WHOLE_BINARY_BYTES: u64 = 16 << 20;
/// The largest Java archive read (a Spring Boot fat jar is 20–200 MiB).
pub const MAX_ARCHIVE_BYTES: u64 = 256 << 20;
/// The largest lockfile or `installed.json` read (a monorepo's
/// `package-lock.json` reaches 20–40 MiB).
pub const MAX_LOCKFILE_BYTES: u64 = 64 << 20;
/// The smallest executable worth opening: anything shorter is a script or
/// a stub, not a Go or Rust binary.
const MIN_BINARY_BYTES: u64 = 1024;

const DPKG_INFO: &str = "var/lib/dpkg/info/";
const APK_INSTALLED: &str = "lib/apk/db/installed";

/// What one file of a layer said: its packages and the warnings met
/// reading it.
#[derive(Debug, Clone, Default)]
struct Found {
    layer: usize,
    packages: Vec<Package>,
    warnings: Vec<String>,
    /// Python distribution directories an OS package owns (from dpkg
    /// `.list` files and the apk database).
    owned: Vec<String>,
}

/// What kind of file an entry is, for this analyzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Binary,
    Archive,
    PythonMetadata,
    PackageJson,
    NpmLock,
    CargoLock,
    Composer,
    Gemspec,
    DpkgList,
    ApkDb,
}

fn role(entry: &Entry<'_>) -> Option<Role> {
    if entry.kind != EntryKind::File {
        return None;
    }
    let path = entry.path;
    let name = path.rsplit('/').next().unwrap_or(path);
    if python::is_metadata_path(path) {
        return Some(Role::PythonMetadata);
    }
    if name == "package.json" {
        return npm::package_dir(path).map(|_| Role::PackageJson);
    }
    if name == "package-lock.json" || name == "npm-shrinkwrap.json" {
        // npm's hidden `node_modules/.package-lock.json` repeats what the
        // package.json files under node_modules say.
        return (!path.contains("node_modules/")).then_some(Role::NpmLock);
    }
    if name == "Cargo.lock" {
        // Crate sources in a registry cache or a vendor directory carry
        // their own lockfiles: not what the application links.
        let vendored = path.contains(".cargo/registry/") || path.contains("/vendor/");
        return (!vendored).then_some(Role::CargoLock);
    }
    if path.ends_with("vendor/composer/installed.json") {
        return Some(Role::Composer);
    }
    if ruby::is_gemspec_path(path) {
        return Some(Role::Gemspec);
    }
    if java::is_archive_path(path) {
        return Some(Role::Archive);
    }
    if path == APK_INSTALLED {
        return Some(Role::ApkDb);
    }
    if path.starts_with(DPKG_INFO) && name.ends_with(".list") {
        return Some(Role::DpkgList);
    }
    if entry.mode & 0o111 != 0 && entry.size >= MIN_BINARY_BYTES {
        return Some(Role::Binary);
    }
    None
}

/// Finds application packages; see the module documentation.
#[derive(Debug, Default)]
pub struct AppAnalyzer {
    found: BTreeMap<String, Found>,
    packages: Vec<Package>,
    notes: Vec<String>,
    jar_limits: java::JarLimits,
    /// The executable being streamed, by path.
    stream: Option<(String, go::GoStream)>,
}

impl Visitor for AppAnalyzer {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        role(entry).is_some()
    }

    fn content_limit(&self, entry: &Entry<'_>) -> Option<u64> {
        match role(entry)? {
            Role::Binary => Some(MAX_WHOLE_BINARY_BYTES),
            Role::Archive => Some(MAX_ARCHIVE_BYTES),
            Role::NpmLock | Role::CargoLock | Role::Composer | Role::DpkgList | Role::ApkDb => {
                Some(MAX_LOCKFILE_BYTES)
            }
            _ => None,
        }
    }

    fn stream_limit(&self, entry: &Entry<'_>) -> Option<u64> {
        (role(entry)? == Role::Binary).then_some(MAX_BINARY_BYTES)
    }

    fn piece(&mut self, entry: &Entry<'_>, offset: u64, bytes: &[u8]) {
        if offset == 0 {
            self.stream = Some((entry.path.to_string(), go::GoStream::default()));
        }
        if let Some((_, s)) = self.stream.as_mut() {
            s.push(bytes);
        }
    }

    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        let Some(role) = role(entry) else {
            // A directory, link or device replacing a file we read: the
            // final filesystem check at `finish` drops the file's record.
            return;
        };
        let path = entry.path;
        let mut found = Found {
            layer: entry.layer,
            ..Found::default()
        };
        let streamed = self
            .stream
            .take()
            .filter(|(p, _)| p == path)
            .map(|(_, s)| s);
        match (content, streamed) {
            (Some(bytes), _) => read(role, path, bytes, &self.jar_limits, &mut found),
            (None, Some(stream)) => {
                read_go(path, stream.finish(), &mut found);
            }
            (None, None) => {
                // Only executables too large to read go unnoted: most are
                // not Go or Rust binaries, and a note for each would drown
                // the rest.
                if role != Role::Binary {
                    found.warnings.push(format!(
                        "{path} ({} bytes) is over the content limit of the application package analyzer; its packages are not listed",
                        entry.size
                    ));
                } else if entry.size > MAX_BINARY_BYTES {
                    found.warnings.push(format!(
                        "{path} ({} bytes) is over the {MAX_BINARY_BYTES}-byte limit for executables; a Go or Rust build info in it is not read",
                        entry.size
                    ));
                }
                self.found.insert(path.to_string(), found);
                return;
            }
        }
        if found.packages.is_empty() && found.warnings.is_empty() && found.owned.is_empty() {
            // Nothing to remember, but an earlier write of the same path
            // must not survive in its place.
            self.found.remove(path);
            return;
        }
        for p in &mut found.packages {
            p.layer = entry.layer;
        }
        self.found.insert(path.to_string(), found);
    }

    fn finish(&mut self, fs: &FinalFs) {
        self.packages.clear();
        self.notes.clear();
        let mut owned: HashSet<&str> = HashSet::new();
        let mut live: Vec<&Found> = Vec::new();
        for (path, found) in &self.found {
            let regular = fs.get(path).is_some_and(|n| n.kind == EntryKind::File);
            if !regular || !fs.survives(found.layer, path) {
                continue;
            }
            owned.extend(found.owned.iter().map(String::as_str));
            live.push(found);
        }
        let mut npm_installed: HashSet<(String, String, String)> = HashSet::new();
        for found in &live {
            self.notes.extend(found.warnings.iter().cloned());
            for p in &found.packages {
                if p.kind == PackageKind::Python
                    && p.path.as_deref().is_some_and(|d| owned.contains(d))
                {
                    continue;
                }
                if p.kind == PackageKind::Npm && p.source_name.is_none() {
                    if let Some(root) = p.path.as_deref().map(project_root) {
                        npm_installed.insert((root.to_string(), p.name.clone(), p.version.clone()));
                    }
                }
                self.packages.push(p.clone());
            }
        }
        // A lockfile's package also installed under the project's
        // node_modules is listed once, from node_modules. Lockfile entries
        // carry the marker `source_name = "lockfile"` until here.
        self.packages.retain(|p| {
            if p.kind != PackageKind::Npm || p.source_name.is_none() {
                return true;
            }
            let root = p.path.as_deref().map(project_root).unwrap_or_default();
            !npm_installed.contains(&(root.to_string(), p.name.clone(), p.version.clone()))
        });
        for p in &mut self.packages {
            if p.kind == PackageKind::Npm {
                p.source_name = None;
            }
        }
        self.packages.sort_by(|a, b| {
            (a.kind, &a.path, &a.name, &a.version).cmp(&(b.kind, &b.path, &b.name, &b.version))
        });
        self.packages.dedup();
    }
}

impl AppAnalyzer {
    /// The application packages, once [`Visitor::finish`] has run, sorted
    /// by kind, file and name.
    pub fn packages(&self) -> Vec<Package> {
        self.packages.clone()
    }

    /// Files that could not be read (over a limit, malformed), each named.
    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// The directory of the project a package of `path` belongs to: what is
/// before the first `node_modules/`, or the lockfile's directory.
fn project_root(path: &str) -> &str {
    if let Some(i) = path.find("node_modules/") {
        return path[..i].trim_end_matches('/');
    }
    match path.rfind('/') {
        Some(i) => &path[..i],
        None => "",
    }
}

fn app(kind: PackageKind, name: String, version: String, path: &str) -> Package {
    Package {
        kind,
        name,
        version,
        source_name: None,
        source_version: None,
        arch: None,
        layer: 0,
        path: Some(path.to_string()),
        checksum: None,
    }
}

/// Reads one file of `role` into `found`.
fn read(role: Role, path: &str, bytes: &[u8], jar: &java::JarLimits, found: &mut Found) {
    let out = &mut found.packages;
    match role {
        Role::Binary => read_binary(path, bytes, found),
        Role::Archive => {
            let (packages, warnings) = java::read_archive(bytes, path, jar);
            for j in packages {
                let file = match &j.inner {
                    Some(inner) => format!("{path}!/{inner}"),
                    None => path.to_string(),
                };
                out.push(app(
                    PackageKind::Maven,
                    format!("{}:{}", j.group, j.artifact),
                    j.version,
                    &file,
                ));
            }
            found.warnings.extend(warnings);
        }
        Role::PythonMetadata => {
            let dir = python::dist_dir(path).unwrap_or(path);
            match python::parse_metadata(bytes) {
                Some((name, version)) => {
                    out.push(app(PackageKind::Python, name, version, dir));
                }
                None => found.warnings.push(format!(
                    "{path}: no Name and Version in the metadata; the Python package is not listed"
                )),
            }
        }
        Role::PackageJson => {
            let dir = npm::package_dir(path).unwrap_or(path);
            // A package.json without name or version (a workspace root,
            // a test fixture) names no installed package.
            if let Some((name, version)) = npm::parse_package_json(bytes) {
                out.push(app(PackageKind::Npm, name, version, dir));
            }
        }
        Role::NpmLock => match npm::parse_package_lock(bytes) {
            Ok(locked) => {
                for l in locked.into_iter().filter(|l| !l.dev) {
                    let mut p = app(PackageKind::Npm, l.name, l.version, path);
                    p.source_name = Some("lockfile".into());
                    out.push(p);
                }
            }
            Err(e) => found
                .warnings
                .push(format!("{path}: {e}; its packages are not listed")),
        },
        Role::CargoLock => match std::str::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(rust::parse_cargo_lock)
        {
            Ok(crates) => out.extend(
                crates
                    .into_iter()
                    .filter(|c| !c.root && c.source.is_some())
                    .map(|c| app(PackageKind::Cargo, c.name, c.version, path)),
            ),
            Err(e) => found
                .warnings
                .push(format!("{path}: {e}; its crates are not listed")),
        },
        Role::Composer => match php::parse_composer_installed(bytes) {
            Ok(pkgs) => out.extend(
                pkgs.into_iter()
                    .map(|(n, v)| app(PackageKind::Composer, n, v, path)),
            ),
            Err(e) => found
                .warnings
                .push(format!("{path}: {e}; its packages are not listed")),
        },
        Role::Gemspec => {
            if let Some((n, v)) = ruby::parse_gemspec(bytes, path) {
                out.push(app(PackageKind::Gem, n, v, path));
            }
        }
        Role::DpkgList => {
            let text = String::from_utf8_lossy(bytes);
            found
                .owned
                .extend(text.lines().filter_map(|l| owned_dist(l.trim())));
        }
        Role::ApkDb => {
            let text = String::from_utf8_lossy(bytes);
            found.owned.extend(
                text.lines()
                    .filter_map(|l| l.strip_prefix("F:"))
                    .filter_map(|l| owned_dist(l.trim())),
            );
        }
    }
}

/// The Python distribution directory a line of an OS package's file list
/// names (`usr/lib/python3/dist-packages/PyYAML-6.0.dist-info`), if any.
fn owned_dist(line: &str) -> Option<String> {
    let l = line.trim_start_matches('/');
    let is_dist = |p: String| python::dist_dir(&p) == Some(l);
    (is_dist(format!("{l}/METADATA")) || is_dist(format!("{l}/PKG-INFO")) || is_dist(l.to_string()))
        .then(|| l.to_string())
}

/// A Go binary's modules and toolchain, or a `cargo auditable` binary's
/// crates.
fn read_binary(path: &str, bytes: &[u8], found: &mut Found) {
    if !go::is_elf(bytes) {
        return;
    }
    if read_go(path, go::read_go_binary(bytes), found) {
        return;
    }
    match rust::read_auditable(bytes) {
        Ok(Some(crates)) => found.packages.extend(
            crates
                .into_iter()
                .filter(|c| !c.root)
                .map(|c| app(PackageKind::Cargo, c.name, c.version, path)),
        ),
        Ok(None) => {}
        Err(e) => found.warnings.push(format!(
            "{path}: cargo auditable data: {e}; its crates are not listed"
        )),
    }
}

/// The Go toolchain and modules of a binary's build information; whether
/// it had any (or a malformed one, warned about).
fn read_go(path: &str, info: Result<Option<go::GoBinary>, String>, found: &mut Found) -> bool {
    match info {
        Ok(Some(bin)) => {
            if let Some(v) = palisade_vulndb::version::golang::toolchain_to_semver(&bin.go_version)
            {
                found
                    .packages
                    .push(app(PackageKind::Go, "stdlib".into(), v, path));
            }
            if let Some(m) = bin.main {
                found.packages.push(module(m, path));
            }
            found
                .packages
                .extend(bin.deps.into_iter().map(|m| module(m, path)));
            true
        }
        Ok(None) => false,
        Err(e) => {
            found.warnings.push(format!(
                "{path}: Go build info: {e}; its modules are not listed"
            ));
            true
        }
    }
}

fn module(m: go::Module, path: &str) -> Package {
    let mut p = app(PackageKind::Go, m.path, m.version, path);
    p.checksum = m.sum;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::testutil::{drive, file};

    fn names(a: &AppAnalyzer) -> Vec<String> {
        a.packages()
            .iter()
            .map(|p| {
                format!(
                    "{:?} {} {} {}",
                    p.kind,
                    p.name,
                    p.version,
                    p.path.as_deref().unwrap_or("")
                )
            })
            .collect()
    }

    const SITE: &str = "usr/local/lib/python3.11/site-packages";

    #[test]
    fn removed_and_rewritten_files_count_as_the_final_filesystem_has_them() {
        let mut a = AppAnalyzer::default();
        let meta = format!("{SITE}/six-1.16.0.dist-info/METADATA");
        let old = format!("{SITE}/requests-2.0.0.dist-info/METADATA");
        drive(
            &mut a,
            &[
                file(0, &meta, "Name: six\nVersion: 1.16.0\n"),
                file(0, &old, "Name: requests\nVersion: 2.0.0\n"),
                file(
                    0,
                    "app/node_modules/ms/package.json",
                    r#"{"name":"ms","version":"2.0.0"}"#,
                ),
                file(
                    1,
                    "app/node_modules/ms/package.json",
                    r#"{"name":"ms","version":"2.1.3"}"#,
                ),
            ],
            &[(2, &format!("{SITE}/six-1.16.0.dist-info"))],
        );
        assert_eq!(
            names(&a),
            [
                format!("Python requests 2.0.0 {SITE}/requests-2.0.0.dist-info"),
                "Npm ms 2.1.3 app/node_modules/ms".to_string(),
            ]
        );
    }

    #[test]
    fn python_distributions_an_os_package_owns_are_left_to_it() {
        let mut a = AppAnalyzer::default();
        let deb = "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info";
        let apk = "usr/lib/python3.12/site-packages/certifi-2024.2.2.dist-info";
        drive(
            &mut a,
            &[
                file(
                    0,
                    &format!("{deb}/METADATA"),
                    "Name: PyYAML\nVersion: 6.0\n",
                ),
                file(
                    0,
                    &format!("{apk}/METADATA"),
                    "Name: certifi\nVersion: 2024.2.2\n",
                ),
                file(
                    0,
                    &format!("{SITE}/Jinja2-2.10.dist-info/METADATA"),
                    "Name: Jinja2\nVersion: 2.10\n",
                ),
                file(
                    0,
                    "var/lib/dpkg/info/python3-yaml.list",
                    format!("/.\n/usr\n/{deb}\n/{deb}/METADATA\n"),
                ),
                file(
                    0,
                    "lib/apk/db/installed",
                    format!("P:py3-certifi\nV:2024.2.2-r0\nF:{apk}\nR:METADATA\n\n"),
                ),
            ],
            &[],
        );
        assert_eq!(
            names(&a),
            [format!("Python jinja2 2.10 {SITE}/Jinja2-2.10.dist-info")]
        );
    }

    #[test]
    fn lockfile_packages_installed_under_node_modules_are_listed_once_and_dev_ones_not_at_all() {
        let lock = r#"{"name":"web","lockfileVersion":3,"packages":{
            "":{"name":"web","version":"1.0.0"},
            "node_modules/ms":{"version":"2.1.3"},
            "node_modules/minimist":{"version":"1.2.5"},
            "node_modules/jest":{"version":"29.0.0","dev":true}}}"#;
        let mut a = AppAnalyzer::default();
        drive(
            &mut a,
            &[
                file(0, "app/package-lock.json", lock),
                file(
                    0,
                    "app/node_modules/ms/package.json",
                    r#"{"name":"ms","version":"2.1.3"}"#,
                ),
                file(0, "app/node_modules/.package-lock.json", lock),
            ],
            &[],
        );
        assert_eq!(
            names(&a),
            [
                "Npm ms 2.1.3 app/node_modules/ms",
                "Npm minimist 1.2.5 app/package-lock.json"
            ]
        );
        assert!(a.packages().iter().all(|p| p.source_name.is_none()));
    }

    #[test]
    fn executables_over_the_whole_file_limit_are_streamed_for_go_build_info() {
        let whole =
            std::fs::read("/usr/bin/skopeo").expect("Debian's skopeo (apt-get install skopeo)");
        let mut read_whole = AppAnalyzer::default();
        drive(
            &mut read_whole,
            &[file(0, "usr/bin/big", &whole).mode(0o755)],
            &[],
        );
        let mut big = whole.clone();
        big.resize(whole.len().max(MAX_WHOLE_BINARY_BYTES as usize) + 1, 0);
        let mut a = AppAnalyzer::default();
        let e = Entry {
            layer: 0,
            path: "usr/bin/big",
            kind: EntryKind::File,
            mode: 0o755,
            uid: 0,
            gid: 0,
            size: big.len() as u64,
        };
        assert_eq!(a.content_limit(&e), Some(MAX_WHOLE_BINARY_BYTES));
        assert_eq!(a.stream_limit(&e), Some(MAX_BINARY_BYTES));
        drive(
            &mut a,
            &[
                file(0, "usr/bin/big", &big).mode(0o755),
                file(0, "usr/bin/small", "x".repeat(2048)).mode(0o755),
            ],
            &[],
        );
        // The same packages as when the file is read whole (Debian builds
        // its Go programs outside module mode: the toolchain only).
        let found = names(&a);
        assert!(!found.is_empty(), "{found:#?}");
        assert_eq!(found, names(&read_whole));
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("Go stdlib 1.19.8 usr/bin/big")),
            "{found:#?}"
        );
        assert!(a.notes().is_empty(), "{:?}", a.notes());
    }

    #[test]
    fn unreadable_files_are_notes_naming_them_and_the_rest_is_read() {
        let umoci =
            std::fs::read("/usr/bin/umoci").expect("Debian's umoci (apt-get install umoci)");
        let truncated = umoci[..umoci.len() / 2].to_vec();
        let mut a = AppAnalyzer::default();
        drive(
            &mut a,
            &[
                file(0, "usr/bin/umoci", &umoci).mode(0o755),
                file(0, "usr/bin/cut-short", &truncated).mode(0o755),
                file(
                    0,
                    "app/package-lock.json",
                    "{\"lockfileVersion\": 3, \"packages\": [nope",
                ),
                file(0, "app/Cargo.lock", "[[package]]\nname = 1\n"),
                file(
                    0,
                    &format!("{SITE}/bad-1.0.dist-info/METADATA"),
                    b"Name: b\xffd\nVersion: 1.0\n",
                ),
                file(0, "usr/bin/script", "#!/bin/sh\n".repeat(200)).mode(0o755),
            ],
            &[],
        );
        let notes = a.notes().join("\n");
        assert!(
            notes.contains("usr/bin/cut-short: Go build info"),
            "{notes}"
        );
        assert!(notes.contains("app/package-lock.json:"), "{notes}");
        assert!(notes.contains("app/Cargo.lock:"), "{notes}");
        assert_eq!(a.notes().len(), 3, "{notes}");
        let found = names(&a).join("\n");
        assert!(found.contains("Go stdlib 1.19.8 usr/bin/umoci"), "{found}");
        assert!(found.contains("Python b\u{fffd}d 1.0"), "{found}");

        // Over the content limit: the walker hands no content; the file is named.
        let mut a = AppAnalyzer::default();
        let e = Entry {
            layer: 0,
            path: "app/package-lock.json",
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 100 << 20,
        };
        assert_eq!(a.content_limit(&e), Some(MAX_LOCKFILE_BYTES));
        a.entry(&e, None);
        let mut fs = FinalFs::default();
        let node = crate::model::FsNode {
            layer: 0,
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 100 << 20,
        };
        fs.insert(e.path, node).unwrap();
        a.finish(&fs);
        assert!(
            a.notes()[0]
                .contains("app/package-lock.json (104857600 bytes) is over the content limit"),
            "{:?}",
            a.notes()
        );
    }
}
