//! Installed OS packages, from the package databases that survive in the
//! final filesystem (a database a later layer rewrote is read in its last
//! version, with that layer's index):
//!
//! - dpkg: `var/lib/dpkg/status`, RFC 822 stanzas
//!   (<https://man7.org/linux/man-pages/man1/dpkg-query.1.html>,
//!   <https://www.debian.org/doc/debian-policy/ch-controlfields.html>), and
//!   distroless's `var/lib/dpkg/status.d/<package>` (one stanza per file,
//!   next to `<package>.md5sums`, which is skipped);
//! - apk: `lib/apk/db/installed`
//!   (<https://wiki.alpinelinux.org/wiki/Apk_spec#Installed_Database_V2>);
//! - rpm: `rpmdb.sqlite`, see [`super::rpm`].
//!
//! These formats are a few lines each and no maintained crate reads them
//! from memory without a system library (dpkg's and apk's own parsers are
//! C), so they are parsed here.

use std::collections::{BTreeMap, HashSet};

use super::rpm;
use super::Kept;
use crate::model::{Entry, EntryKind, FinalFs, Package, PackageKind, Visitor};

const DPKG_STATUS: &str = "var/lib/dpkg/status";
const DPKG_STATUS_D: &str = "var/lib/dpkg/status.d/";
const APK_INSTALLED: &str = "lib/apk/db/installed";
const RPMDB_SQLITE: &[&str] = &[
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
];
/// rpm databases this analyzer cannot read (reported in the notes).
const RPMDB_OTHER: &[&str] = &[
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages.db",
];

/// Content limit asked of the walker for `rpmdb.sqlite` (see
/// [`Visitor::content_limit`]): large Fedora images reach about 30 MiB.
pub const RPMDB_CONTENT_LIMIT: u64 = 64 << 20;

/// Collects installed packages; see the module documentation.
#[derive(Debug, Default)]
pub struct PackageAnalyzer {
    kept: BTreeMap<String, Kept>,
    packages: Vec<Package>,
    notes: Vec<String>,
}

fn is_database(path: &str) -> bool {
    path == DPKG_STATUS
        || path == APK_INSTALLED
        || RPMDB_SQLITE.contains(&path)
        || path.strip_prefix(DPKG_STATUS_D).is_some_and(|name| {
            !name.is_empty() && !name.contains('/') && !name.ends_with(".md5sums")
        })
}

impl Visitor for PackageAnalyzer {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        is_database(entry.path)
    }

    fn content_limit(&self, entry: &Entry<'_>) -> Option<u64> {
        RPMDB_SQLITE
            .contains(&entry.path)
            .then_some(RPMDB_CONTENT_LIMIT)
    }

    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        if is_database(entry.path) || RPMDB_OTHER.contains(&entry.path) {
            self.kept
                .insert(entry.path.to_string(), Kept::record(entry, content));
        }
    }

    fn finish(&mut self, fs: &FinalFs) {
        self.packages.clear();
        self.notes.clear();
        for (path, kept) in &self.kept {
            let regular = fs.get(path).is_some_and(|n| n.kind == EntryKind::File);
            if !regular || !kept.survives(fs, path) {
                continue;
            }
            if RPMDB_OTHER.contains(&path.as_str()) {
                self.notes.push(format!(
                    "{path}: BerkeleyDB/ndb rpm databases (RHEL 7/8, SUSE) are not read; the image's rpm packages are not listed"
                ));
                continue;
            }
            let Some(content) = &kept.content else {
                self.notes.push(format!(
                    "{path} ({} bytes) is larger than the content limit handed to the package analyzer; its packages are not listed",
                    kept.size
                ));
                continue;
            };
            let layer = kept.layer;
            if path == DPKG_STATUS {
                self.packages
                    .extend(parse_dpkg(&String::from_utf8_lossy(content), layer, true));
            } else if path.starts_with(DPKG_STATUS_D) {
                self.packages
                    .extend(parse_dpkg(&String::from_utf8_lossy(content), layer, false));
            } else if path == APK_INSTALLED {
                self.packages
                    .extend(parse_apk(&String::from_utf8_lossy(content), layer));
            } else {
                match rpm::read_sqlite(content) {
                    Ok(headers) => self
                        .packages
                        .extend(headers.iter().map(|h| rpm_package(h, layer))),
                    Err(e) => self
                        .notes
                        .push(format!("{path}: {e}; its packages are not listed")),
                }
            }
        }
        // status and status.d can both list a package; keep the first.
        let mut seen: HashSet<(PackageKind, String, Option<String>)> = HashSet::new();
        self.packages
            .retain(|p| seen.insert((p.kind, p.name.clone(), p.arch.clone())));
        self.packages
            .sort_by(|a, b| (a.kind, &a.name, &a.arch).cmp(&(b.kind, &b.name, &b.arch)));
    }
}

impl PackageAnalyzer {
    /// The installed packages, once [`Visitor::finish`] has run, sorted by
    /// database and name.
    pub fn packages(&self) -> Vec<Package> {
        self.packages.clone()
    }

    /// Package databases present but not read (too large, unsupported
    /// format, corrupt).
    pub fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// The fields of RFC 822 stanzas: `(field, value)` per stanza, with
/// continuation lines dropped (only single-line fields are read).
fn stanzas(text: &str) -> Vec<Vec<(&str, &str)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(&str, &str)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim(), v.trim()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Packages of a dpkg status file. A stanza counts when its `Status` says
/// `installed` (`install ok installed`, also `hold ok installed`); without
/// a `Status` field it counts only when `require_status` is false
/// (distroless `status.d` files may leave it out).
pub fn parse_dpkg(text: &str, layer: usize, require_status: bool) -> Vec<Package> {
    let mut out = Vec::new();
    for st in stanzas(text) {
        let get = |k: &str| {
            st.iter()
                .find(|(f, _)| f.eq_ignore_ascii_case(k))
                .map(|(_, v)| *v)
        };
        let installed = match get("Status") {
            Some(s) => {
                let words: Vec<&str> = s.split_whitespace().collect();
                words.len() == 3 && words[1] == "ok" && words[2] == "installed"
            }
            None => !require_status,
        };
        let (Some(name), Some(version)) = (get("Package"), get("Version")) else {
            continue;
        };
        if !installed || name.is_empty() || version.is_empty() {
            continue;
        }
        let (source_name, source_version) = match get("Source") {
            Some(src) => match src.split_once('(') {
                Some((n, v)) => {
                    let v = v.trim_end_matches(')').trim();
                    (
                        Some(n.trim().to_string()),
                        (v != version && !v.is_empty()).then(|| v.to_string()),
                    )
                }
                None => (Some(src.to_string()), None),
            },
            None => (None, None),
        };
        out.push(Package {
            kind: PackageKind::Deb,
            name: name.to_string(),
            version: version.to_string(),
            source_name: source_name.filter(|s| !s.is_empty()),
            source_version,
            arch: get("Architecture").map(str::to_string),
            layer,
            path: None,
            checksum: None,
        });
    }
    out
}

/// Packages of an apk `installed` database (`P:` name, `V:` version, `A:`
/// arch, `o:` origin, one record per blank-line separated block).
pub fn parse_apk(text: &str, layer: usize) -> Vec<Package> {
    let mut out = Vec::new();
    let mut fields: [Option<&str>; 4] = [None; 4];
    let flush = |f: &mut [Option<&str>; 4], out: &mut Vec<Package>| {
        if let [Some(name), Some(version), arch, origin] = *f {
            out.push(Package {
                kind: PackageKind::Apk,
                name: name.to_string(),
                version: version.to_string(),
                source_name: origin.map(str::to_string),
                source_version: None,
                arch: arch.map(str::to_string),
                layer,
                path: None,
                checksum: None,
            });
        }
        *f = [None; 4];
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            flush(&mut fields, &mut out);
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let slot = match k {
            "P" => 0,
            "V" => 1,
            "A" => 2,
            "o" => 3,
            _ => continue,
        };
        if !v.is_empty() {
            fields[slot] = Some(v);
        }
    }
    flush(&mut fields, &mut out);
    out
}

fn rpm_package(h: &rpm::RpmHeader, layer: usize) -> Package {
    let vr = format!("{}-{}", h.version, h.release);
    let (source_name, source_version) = match h.source() {
        Some((n, v)) => {
            let differs = v != vr;
            (Some(n), differs.then_some(v))
        }
        None => (None, None),
    };
    Package {
        kind: PackageKind::Rpm,
        name: h.name.clone(),
        version: h.evr(),
        source_name,
        source_version,
        arch: h.arch.clone().filter(|a| !a.is_empty()),
        layer,
        path: None,
        checksum: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::rpm::tests::{header, rpmdb};
    use crate::analyze::testutil::{drive, file, W};

    const STATUS: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12989
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
 Version: 9.9 (a continuation line is not a field)

Package: login
Status: install ok installed
Architecture: amd64
Source: shadow (1:4.13+dfsg1-1)
Version: 1:4.13+dfsg1-1+b1

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+deb12u1

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: half-installed
Status: install reinstreq half-installed
Version: 2.0-1

Package: held
Status: hold ok installed
Architecture: all
Version: 3.0
";

    fn run(writes: &[W<'_>], deleted: &[(usize, &str)]) -> PackageAnalyzer {
        let mut a = PackageAnalyzer::default();
        drive(&mut a, writes, deleted);
        a
    }

    fn find<'a>(p: &'a [Package], name: &str) -> &'a Package {
        p.iter()
            .find(|x| x.name == name)
            .unwrap_or_else(|| panic!("{name} not in {p:?}"))
    }

    #[test]
    fn dpkg_status_epochs_sources_and_non_installed() {
        let p = parse_dpkg(STATUS, 3, true);
        let names: Vec<&str> = p.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["libc6", "login", "bsdutils", "held"]);
        let libc = find(&p, "libc6");
        assert_eq!(libc.kind, PackageKind::Deb);
        assert_eq!(libc.version, "2.36-9+deb12u7");
        assert_eq!(libc.source_name.as_deref(), Some("glibc"));
        assert_eq!(libc.source_version, None);
        assert_eq!(libc.arch.as_deref(), Some("amd64"));
        assert_eq!(libc.layer, 3);
        let login = find(&p, "login");
        assert_eq!(login.version, "1:4.13+dfsg1-1+b1");
        assert_eq!(login.source_name.as_deref(), Some("shadow"));
        assert_eq!(login.source_version.as_deref(), Some("1:4.13+dfsg1-1"));
        // Source version equal to the binary's without its epoch still differs.
        assert_eq!(
            find(&p, "bsdutils").source_version.as_deref(),
            Some("2.38.1-5")
        );
        assert_eq!(find(&p, "held").source_name, None);
    }

    #[test]
    fn distroless_status_d_one_stanza_per_file_md5sums_skipped() {
        let a = run(
            &[
                file(0, "var/lib/dpkg/status.d/base-files", "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"),
                file(0, "var/lib/dpkg/status.d/base-files.md5sums", "d41d8cd98f00b204e9800998ecf8427e  etc/issue\n"),
                file(1, "var/lib/dpkg/status.d/libssl3", "Package: libssl3\nStatus: install ok installed\nVersion: 3.0.13-1~deb12u1\nSource: openssl\nArchitecture: amd64\n"),
            ],
            &[],
        );
        let p = a.packages();
        let names: Vec<&str> = p.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["base-files", "libssl3"]);
        assert_eq!(find(&p, "libssl3").layer, 1);
        assert_eq!(find(&p, "libssl3").source_name.as_deref(), Some("openssl"));
        assert!(a.notes().is_empty());
    }

    #[test]
    fn only_the_surviving_database_is_read_with_its_layer() {
        let old = "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n";
        let new = "Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n";
        let p = run(&[file(0, DPKG_STATUS, old), file(2, DPKG_STATUS, new)], &[]).packages();
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].name.as_str(), p[0].layer), ("bash", 2));
        // A database deleted in a later layer lists nothing.
        let p = run(
            &[file(0, DPKG_STATUS, old), file(1, "x", "y")],
            &[(1, "var/lib/dpkg")],
        )
        .packages();
        assert!(p.is_empty());
    }

    #[test]
    fn apk_installed() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.5-r0\nA:x86_64\nS:383152\nT:the musl c library\no:musl\n\nC:Q1def=\nP:libcrypto3\nV:3.3.2-r0\nA:x86_64\no:openssl\nF:lib\nR:libcrypto.so.3\n\nP:broken-without-version\n";
        let p = run(&[file(0, APK_INSTALLED, db)], &[]).packages();
        assert_eq!(p.len(), 2, "{p:?}");
        let c = find(&p, "libcrypto3");
        assert_eq!(c.kind, PackageKind::Apk);
        assert_eq!(c.version, "3.3.2-r0");
        assert_eq!(c.source_name.as_deref(), Some("openssl"));
        assert_eq!(c.arch.as_deref(), Some("x86_64"));
    }

    #[test]
    fn rpmdb_sqlite_packages_with_epoch_and_source() {
        let db = rpmdb(&[
            header("gpg-pubkey", "5a6340b3", "6229229e", None, "", None),
            header(
                "openssl-libs",
                "3.0.7",
                "27.el9",
                Some(1),
                "x86_64",
                Some("openssl-3.0.7-27.el9.src.rpm"),
            ),
            header(
                "python3-libs",
                "3.9.18",
                "3.el9",
                None,
                "x86_64",
                Some("python3.9-3.9.18-3.el9.src.rpm"),
            ),
        ]);
        let a = run(&[file(1, "usr/lib/sysimage/rpm/rpmdb.sqlite", &db)], &[]);
        assert!(a.notes().is_empty(), "{:?}", a.notes());
        let p = a.packages();
        assert_eq!(p.len(), 2, "{p:?}");
        let ssl = find(&p, "openssl-libs");
        assert_eq!(ssl.kind, PackageKind::Rpm);
        assert_eq!(ssl.version, "1:3.0.7-27.el9");
        assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
        assert_eq!(ssl.source_version, None);
        assert_eq!(ssl.layer, 1);
        assert_eq!(
            find(&p, "python3-libs").source_name.as_deref(),
            Some("python3.9")
        );
    }

    #[test]
    fn rpmdb_asks_for_a_larger_content_limit_and_notes_when_it_gets_none() {
        let mut a = PackageAnalyzer::default();
        let e = Entry {
            layer: 0,
            path: "var/lib/rpm/rpmdb.sqlite",
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 20 << 20,
        };
        assert!(a.wants(&e));
        assert_eq!(a.content_limit(&e), Some(RPMDB_CONTENT_LIMIT));
        a.entry(&e, None);
        let mut fs = FinalFs::default();
        let node = crate::model::FsNode {
            layer: 0,
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: e.size,
        };
        assert_eq!(fs.insert(e.path, node), Ok(()));
        a.finish(&fs);
        assert!(a.packages().is_empty());
        assert_eq!(a.notes().len(), 1);
        assert!(a.notes()[0].contains("content limit"), "{:?}", a.notes());
    }

    #[test]
    fn berkeleydb_rpm_database_is_noted_as_unsupported() {
        let a = run(&[file(0, "var/lib/rpm/Packages", vec![0u8; 64])], &[]);
        assert!(a.packages().is_empty());
        assert!(a.notes()[0].contains("not read"), "{:?}", a.notes());
    }

    /// The real dpkg database of this machine, checked against dpkg-query.
    #[test]
    fn this_machines_dpkg_status_matches_dpkg_query() {
        let Ok(text) = std::fs::read_to_string("/var/lib/dpkg/status") else {
            eprintln!("no /var/lib/dpkg/status here: skipped");
            return;
        };
        let p = parse_dpkg(&text, 0, true);
        assert!(p.len() > 10, "{} packages", p.len());
        let Ok(out) = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "libc6"])
            .output()
        else {
            eprintln!("no dpkg-query here: skipped");
            return;
        };
        let want = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!want.is_empty());
        let libc: Vec<&Package> = p.iter().filter(|x| x.name == "libc6").collect();
        assert!(!libc.is_empty(), "libc6 not found");
        assert!(libc.iter().all(|x| x.version == want), "{libc:?} vs {want}");
        assert_eq!(libc[0].source_name.as_deref(), Some("glibc"));
        // Every package dpkg-query lists as installed is found, with its version.
        let out = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${db:Status-Status} ${Package} ${Version}\n"])
            .output()
            .expect("dpkg-query runs");
        let listed: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next()? == "installed")
                    .then(|| Some((w.next()?.to_string(), w.next()?.to_string())))?
            })
            .collect();
        assert!(!listed.is_empty());
        for (name, version) in &listed {
            assert!(
                p.iter().any(|x| &x.name == name && &x.version == version),
                "{name} {version} missing"
            );
        }
        assert_eq!(p.len(), listed.len());
    }
}
