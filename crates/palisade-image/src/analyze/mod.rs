//! The analyzers fed by the layer walker: each is a [`Visitor`] that sees
//! every entry of every layer once, in order, then the final filesystem.
//!
//! - [`config`]: the image config (user, environment, build history, ports)
//!   and the `etc/passwd` that resolves a `USER` name to its uid.
//! - [`secrets`]: credentials in file contents and sensitive files by name,
//!   also in layers whose files a later layer deleted.
//! - [`os`]: the base distribution, and what makes the image less than
//!   minimal (shells, package managers, network tools, setuid and
//!   world-writable files).
//! - [`packages`]: installed OS packages from the dpkg, apk and rpm databases.
//! - [`apps`]: what the application brings: Go modules and Rust crates in
//!   binaries, Python, npm, Java, Composer and RubyGems packages.
//!
//! [`Analyzers`] owns one of each, hands them to the walker and turns what
//! they found into one [`Analysis`]:
//!
//! ```ignore
//! let mut analyzers = Analyzers::new(detector_for(&policy.secrets));
//! walk(&mut source, limits, &mut analyzers.visitors())?;
//! let analysis = analyzers.finish_into(&config, &layer_infos);
//! ```

use std::sync::Arc;

use palisade_core::RuleMeta;
use palisade_secrets::{detector_for, Detector};

use crate::model::{
    Entry, FinalFs, ImageConfig, ImageFinding, LayerInfo, OsInfo, Package, Visitor,
};

pub mod apps;
pub mod config;
pub mod os;
pub mod packages;
pub mod rpm;
pub mod secrets;

pub use apps::AppAnalyzer;
pub use config::{check_config, check_config_with, Passwd};
pub use os::OsAnalyzer;
pub use packages::PackageAnalyzer;
pub use secrets::SecretScanner;

/// The Kubernetes security checklist section on images, which most image
/// rules enforce (minimal images, no root, no secrets, vulnerability scans).
pub const CHECKLIST_URL: &str =
    "https://kubernetes.io/docs/concepts/security/security-checklist/#images";

/// Every rule of `palisade image`, in `palisade rules` order.
pub fn catalog() -> Vec<&'static RuleMeta> {
    vec![
        &config::RUNS_AS_ROOT,
        &config::CONFIG_SECRET,
        &config::PRIVILEGED_PORT,
        &secrets::IN_IMAGE,
        &secrets::IN_IMAGE_DELETED,
        &secrets::SENSITIVE_FILE,
        &os::NOT_MINIMAL,
        &os::SETUID_FILE,
        &os::WORLD_WRITABLE,
    ]
}

/// Everything the analyzers found in one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Findings of every rule: config first, then layer contents, then the
    /// final filesystem.
    pub findings: Vec<ImageFinding>,
    /// Installed packages: the OS packages (from the databases that survive
    /// in the final filesystem), then the application packages.
    pub packages: Vec<Package>,
    /// The base distribution.
    pub os: OsInfo,
    /// What the analyzers could not read, so that a report never passes off
    /// a partial result as complete (a package database over the content
    /// limit, an unsupported database format).
    pub notes: Vec<String>,
}

/// One of each analyzer, ready to be walked and then finished together.
pub struct Analyzers {
    detector: Arc<Detector>,
    passwd: Passwd,
    secrets: SecretScanner,
    os: OsAnalyzer,
    packages: PackageAnalyzer,
    apps: Option<AppAnalyzer>,
}

impl Default for Analyzers {
    /// Analyzers with the credential detector of the default secrets policy.
    fn default() -> Self {
        Analyzers::new(detector_for(&Default::default()))
    }
}

impl Analyzers {
    /// Analyzers that detect credentials with `detector` (from
    /// [`detector_for`] with the policy's `secrets` section).
    pub fn new(detector: Arc<Detector>) -> Self {
        Analyzers {
            passwd: Passwd::default(),
            secrets: SecretScanner::new(detector.clone()),
            os: OsAnalyzer::default(),
            packages: PackageAnalyzer::default(),
            apps: Some(AppAnalyzer::default()),
            detector,
        }
    }

    /// The same analyzers without application package detection (`false`):
    /// only the OS package databases are read.
    pub fn with_applications(mut self, on: bool) -> Self {
        self.apps = on.then(AppAnalyzer::default);
        self
    }

    /// The visitors to hand to the layer walker.
    pub fn visitors(&mut self) -> Vec<&mut dyn Visitor> {
        let mut v: Vec<&mut dyn Visitor> = vec![
            &mut self.passwd,
            &mut self.secrets,
            &mut self.os,
            &mut self.packages,
        ];
        if let Some(apps) = &mut self.apps {
            v.push(apps);
        }
        v
    }

    /// Findings, packages and OS of the walked image; `config` is its image
    /// config and `layers` what the walker measured of each layer (for the
    /// size breakdown; may be empty, the analyzers' own tallies are used then).
    pub fn finish_into(self, config: &ImageConfig, layers: &[LayerInfo]) -> Analysis {
        let mut findings = check_config_with(config, &self.detector, Some(&self.passwd));
        findings.extend(self.secrets.findings());
        findings.extend(self.os.findings(layers));
        let mut notes = self.packages.notes();
        notes.extend(self.secrets.notes());
        let mut packages = self.packages.packages();
        match &self.apps {
            Some(apps) => {
                packages.extend(apps.packages());
                notes.extend(apps.notes());
            }
            None => notes
                .push("application packages not read: skipped (--skip-applications)".to_string()),
        }
        Analysis {
            findings,
            packages,
            os: self.os.os_info(),
            notes,
        }
    }
}

/// The final-filesystem version of one file whose content a visitor keeps:
/// every write replaces the previous one, and at `finish` it counts only if
/// that write is what the container sees.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kept {
    /// Layer of the last write.
    pub layer: usize,
    /// Its content (`None` when over the content limit or not a regular file).
    pub content: Option<Vec<u8>>,
    /// Its size as the tar header gives it.
    pub size: u64,
}

impl Kept {
    /// Records one write of `entry` with `content`.
    pub fn record(entry: &Entry<'_>, content: Option<&[u8]>) -> Kept {
        Kept {
            layer: entry.layer,
            content: content.map(<[u8]>::to_vec),
            size: entry.size,
        }
    }

    /// Whether this write is what the final filesystem holds at `path`.
    pub fn survives(&self, fs: &FinalFs, path: &str) -> bool {
        fs.survives(self.layer, path)
    }
}

/// Follows symbolic links in the final filesystem, component by component
/// (`bin` → `usr/bin` in merged-/usr images, `etc/os-release` →
/// `../usr/lib/os-release`), at most 16 links. Returns the normalised path
/// of what `path` names, or `None` when it does not exist or links loop.
pub(crate) fn resolve(fs: &FinalFs, path: &str) -> Option<String> {
    let mut todo: Vec<String> = path.split('/').rev().map(str::to_string).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = todo.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        done.push(part);
        let here = done.join("/");
        // Tar streams may leave out parent directories: a missing
        // intermediate component is taken as a plain directory.
        let Some(node) = fs.get(&here) else {
            if todo.is_empty() {
                return None;
            }
            continue;
        };
        if let crate::model::EntryKind::Symlink(target) = &node.kind {
            links += 1;
            if links > 16 {
                return None;
            }
            done.pop();
            if target.starts_with('/') {
                done.clear();
            }
            todo.extend(target.split('/').rev().map(str::to_string));
        }
    }
    Some(done.join("/"))
}

/// Bytes in a human unit (`1.2 MiB`).
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// `items` joined with `, `, at most `cap` of them, then `and N more`.
pub(crate) fn capped_list(items: &[String], cap: usize) -> String {
    capped_join(items, cap, ", ")
}

/// `items` joined with `sep`, at most `cap` of them, then `and N more`.
pub(crate) fn capped_join(items: &[String], cap: usize, sep: &str) -> String {
    let mut s = items
        .iter()
        .take(cap)
        .cloned()
        .collect::<Vec<_>>()
        .join(sep);
    if items.len() > cap {
        s.push_str(&format!(" and {} more", items.len() - cap));
    }
    s
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Synthetic entries and final filesystems for driving visitors without
    //! a walker.

    use crate::model::{Entry, EntryKind, FinalFs, FsNode, Visitor};

    /// One synthetic file write: layer, path, content, mode.
    pub struct W<'a> {
        pub layer: usize,
        pub path: &'a str,
        pub kind: EntryKind,
        pub mode: u32,
        pub content: Vec<u8>,
    }

    /// A regular file of `layer` with `content`, mode 0644.
    pub fn file<'a>(layer: usize, path: &'a str, content: impl AsRef<[u8]>) -> W<'a> {
        W {
            layer,
            path,
            kind: EntryKind::File,
            mode: 0o644,
            content: content.as_ref().to_vec(),
        }
    }

    /// A symlink of `layer` to `target`.
    pub fn link<'a>(layer: usize, path: &'a str, target: &str) -> W<'a> {
        W {
            layer,
            path,
            kind: EntryKind::Symlink(target.to_string()),
            mode: 0o777,
            content: Vec::new(),
        }
    }

    /// A directory of `layer` with `mode`.
    pub fn dir(layer: usize, path: &str, mode: u32) -> W<'_> {
        W {
            layer,
            path,
            kind: EntryKind::Dir,
            mode,
            content: Vec::new(),
        }
    }

    impl W<'_> {
        /// The same write with another mode.
        pub fn mode(mut self, mode: u32) -> Self {
            self.mode = mode;
            self
        }
    }

    /// Feeds `writes` to `v` as the walker would (content only when wanted,
    /// up to `limit` bytes), applies them and `deleted` paths to a final
    /// filesystem, calls `finish` and returns that filesystem.
    pub fn drive(v: &mut dyn Visitor, writes: &[W<'_>], deleted: &[(usize, &str)]) -> FinalFs {
        let mut fs = FinalFs::default();
        let mut last_layer = 0;
        for w in writes {
            for (layer, path) in deleted {
                if *layer > last_layer && *layer <= w.layer {
                    remove(&mut fs, v, *layer, path);
                }
            }
            last_layer = w.layer;
            let size = if w.kind == EntryKind::File {
                w.content.len() as u64
            } else {
                0
            };
            let e = Entry {
                layer: w.layer,
                path: w.path,
                kind: w.kind.clone(),
                mode: w.mode,
                uid: 0,
                gid: 0,
                size,
            };
            let wanted = e.kind == EntryKind::File && v.wants(&e);
            let limit = (1u64 << 20).max(v.content_limit(&e).unwrap_or(0));
            let content = (wanted && size <= limit).then_some(w.content.as_slice());
            if wanted && content.is_none() && v.stream_limit(&e).is_some_and(|l| size <= l) {
                for (i, piece) in w.content.chunks(64 << 10).enumerate() {
                    v.piece(&e, (i as u64) << 16, piece);
                }
            }
            v.entry(&e, content);
            let node = FsNode {
                layer: w.layer,
                kind: w.kind.clone(),
                mode: w.mode,
                uid: 0,
                gid: 0,
                size,
            };
            if let Err(full) = fs.insert(w.path, node) {
                panic!("an unlimited filesystem refused {}: {full:?}", w.path);
            }
        }
        for (layer, path) in deleted {
            if *layer > last_layer {
                remove(&mut fs, v, *layer, path);
            }
        }
        v.finish(&fs);
        fs
    }

    fn remove(fs: &mut FinalFs, v: &mut dyn Visitor, layer: usize, path: &str) {
        fs.whiteout(path, layer);
        v.removed(layer, path, false);
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{dir, drive, file, link};
    use super::*;
    use crate::model::{Base, Severity};

    #[test]
    fn catalog_ids_are_unique_and_namespaced() {
        let c = catalog();
        let mut ids: Vec<&str> = c.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), c.len());
        for m in c {
            assert!(
                m.id.starts_with("image/") || m.id.starts_with("secrets/"),
                "{}",
                m.id
            );
            assert!(!m.rationale.is_empty() && !m.remediation.is_empty());
            assert!(!m.references.is_empty(), "{}", m.id);
        }
    }

    #[test]
    fn resolve_follows_merged_usr_and_relative_links() {
        struct Nop;
        impl Visitor for Nop {
            fn wants(&mut self, _: &Entry<'_>) -> bool {
                false
            }
            fn entry(&mut self, _: &Entry<'_>, _: Option<&[u8]>) {}
            fn finish(&mut self, _: &FinalFs) {}
        }
        let fs = drive(
            &mut Nop,
            &[
                dir(0, "usr", 0o755),
                dir(0, "usr/bin", 0o755),
                link(0, "bin", "usr/bin"),
                file(0, "usr/bin/dash", "x"),
                link(0, "usr/bin/sh", "dash"),
                link(0, "etc/os-release", "../usr/lib/os-release"),
                link(0, "loop", "loop"),
            ],
            &[],
        );
        assert_eq!(resolve(&fs, "bin/sh").as_deref(), Some("usr/bin/dash"));
        assert_eq!(resolve(&fs, "etc/os-release"), None);
        assert_eq!(resolve(&fs, "loop"), None);
    }

    #[test]
    fn analyzers_run_together_on_one_walk() {
        let mut a = Analyzers::default();
        let writes = [
            file(
                0,
                "etc/os-release",
                "ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n",
            ),
            file(
                0,
                "lib/apk/db/installed",
                "P:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\n",
            ),
            file(0, "bin/busybox", vec![0u8; 800]),
            link(0, "bin/sh", "/bin/busybox"),
            file(0, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            file(1, "app/.env", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"),
        ];
        // One final filesystem for all four, as the walker gives it.
        struct All<'a>(Vec<&'a mut dyn Visitor>);
        impl Visitor for All<'_> {
            fn wants(&mut self, e: &Entry<'_>) -> bool {
                self.0.iter_mut().fold(false, |w, v| v.wants(e) | w)
            }
            fn content_limit(&self, e: &Entry<'_>) -> Option<u64> {
                self.0.iter().filter_map(|v| v.content_limit(e)).max()
            }
            fn entry(&mut self, e: &Entry<'_>, c: Option<&[u8]>) {
                for v in &mut self.0 {
                    v.entry(e, c);
                }
            }
            fn finish(&mut self, fs: &FinalFs) {
                for v in &mut self.0 {
                    v.finish(fs);
                }
            }
        }
        drive(&mut All(a.visitors()), &writes, &[]);
        let config = ImageConfig {
            user: String::new(),
            ..ImageConfig::default()
        };
        let r = a.finish_into(&config, &[]);
        assert_eq!(r.os.base, Base::Alpine);
        assert_eq!(r.packages.len(), 1);
        let rules: Vec<&str> = r.findings.iter().map(|f| f.rule).collect();
        assert!(rules.contains(&"image/runs-as-root"), "{rules:?}");
        assert!(rules.contains(&"secrets/sensitive-file"), "{rules:?}");
        assert!(rules.contains(&"image/not-minimal"), "{rules:?}");
        assert!(r.findings.iter().all(|f| f.severity >= Severity::Low));
        for f in &r.findings {
            assert!(!f.message.contains("AKIAIOSFODNN7EXAMPLE"), "{}", f.message);
        }
    }

    #[test]
    fn capped_list_names_how_many_more() {
        let items: Vec<String> = (0..5).map(|i| i.to_string()).collect();
        assert_eq!(capped_list(&items, 3), "0, 1, 2 and 2 more");
        assert_eq!(capped_list(&items[..2], 3), "0, 1");
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(3 << 20), "3.0 MiB");
    }
}
