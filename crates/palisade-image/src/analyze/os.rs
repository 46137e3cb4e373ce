//! The base distribution (`os-release` and marker files) and what makes an
//! image less than minimal: shells, package managers, network tools and
//! package caches a workload does not need, setuid/setgid binaries and
//! world-writable paths. Everything is judged on the final filesystem (what
//! the container sees); the per-layer sizes come from the walker's
//! [`LayerInfo`] or, without it, from this visitor's own tallies.
//!
//! os-release format: <https://www.freedesktop.org/software/systemd/man/latest/os-release.html>

use std::collections::{BTreeMap, HashMap};

use palisade_core::{RuleMeta, Severity};

use super::{capped_join, capped_list, human, resolve, Kept, CHECKLIST_URL};
use crate::model::{
    Base, Entry, EntryKind, FinalFs, FsNode, ImageFinding, LayerInfo, OsInfo, Visitor,
};

const DISTROLESS_URL: &str = "https://github.com/GoogleContainerTools/distroless";

/// `image/not-minimal`.
pub static NOT_MINIMAL: RuleMeta = RuleMeta {
    id: "image/not-minimal",
    title: "Image carries shells, package managers or network tools",
    severity: Severity::Medium,
    level: None,
    rationale: "A shell, a package manager (apt, apk, dnf, pip, npm) or a download tool (curl, wget, nc) in a production image is what an attacker who gets code execution uses next: to run scripts, install tooling and fetch payloads or move data out. None of them is needed to run a compiled service, and each adds packages whose vulnerabilities the image then ships. One finding lists what the final filesystem holds, with its size, and the size of each layer, so that the cost of the build stage leaking into the runtime image is visible. Distroless and scratch images pass.",
    remediation: "Build in one stage and copy only the artifacts into a minimal runtime stage: FROM gcr.io/distroless/static-debian12 (or base/cc, java, python), chainguard images, or scratch for static binaries. If a shell is needed for debugging, use kubectl debug with an ephemeral container instead of shipping one. At the least, remove package caches in the same RUN that fills them (rm -rf /var/lib/apt/lists/*, apk add --no-cache).",
    references: &[CHECKLIST_URL, DISTROLESS_URL, "https://kubernetes.io/docs/tasks/debug/debug-application/debug-running-pod/#ephemeral-container"],
};

/// `image/setuid-file`.
pub static SETUID_FILE: RuleMeta = RuleMeta {
    id: "image/setuid-file",
    title: "Image contains setuid or setgid executables",
    severity: Severity::Medium,
    level: None,
    rationale: "A setuid or setgid file runs with its owner's or group's privileges whoever starts it: in a container that runs as a non-root user, a setuid-root binary (su, mount, passwd, newgrp) is the usual way back to root, through its own bugs or a misconfiguration. Containers rarely need any. The finding lists the regular files of the final filesystem with mode bits 04000 or 02000. Setting allowPrivilegeEscalation: false (no_new_privs) neutralises them at run time.",
    remediation: "Strip the bits in the Dockerfile (RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +) or use a base without them (distroless, scratch), and set allowPrivilegeEscalation: false in the pod's securityContext.",
    references: &[
        CHECKLIST_URL,
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    ],
};

/// `image/world-writable`.
pub static WORLD_WRITABLE: RuleMeta = RuleMeta {
    id: "image/world-writable",
    title: "Image contains world-writable files or directories",
    severity: Severity::Low,
    level: None,
    rationale: "A file or directory any user can write lets any process in the container (whatever uid it runs as) replace scripts, binaries or configuration another process trusts. Symbolic links (always mode 0777) and sticky directories such as /tmp, where users can only remove their own files, are not reported.",
    remediation: "Remove write permission for others (chmod o-w) in the Dockerfile, give the files to the user the process runs as instead, and mount writable paths as emptyDir volumes with readOnlyRootFilesystem: true.",
    references: &[CHECKLIST_URL],
};

/// Files (and the final-filesystem copies of them) this visitor reads.
const KEPT: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/alpine-release",
    "etc/debian_version",
    "etc/redhat-release",
];

/// Directories searched for the tools below.
/// (`busybox` is where distroless `:debug` images keep their shell.)
const BIN_DIRS: &[&str] = &[
    "bin",
    "usr/bin",
    "sbin",
    "usr/sbin",
    "usr/local/bin",
    "busybox",
];
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox"];
const PACKAGE_MANAGERS: &[&str] = &[
    "apt", "apt-get", "dpkg", "apk", "yum", "dnf", "microdnf", "rpm", "pip", "pip3", "npm",
];
const NETWORK_TOOLS: &[&str] = &["curl", "wget", "nc", "netcat", "ncat", "socat", "telnet"];
/// Package-manager caches: needless bytes in the final filesystem.
const CACHES: &[&str] = &[
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/apk",
    "var/cache/yum",
    "var/cache/dnf",
    "root/.cache/pip",
    "root/.npm",
];
/// Paths listed in one aggregated finding.
const SHOWN: usize = 20;

/// A tool found in the final filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tool {
    /// The names it is called by (`sh`, `dash`).
    names: Vec<String>,
    /// The file it resolves to (`usr/bin/dash`).
    file: String,
    layer: usize,
    size: u64,
}

/// Detects the OS and judges minimality; see the module documentation.
#[derive(Debug, Default)]
pub struct OsAnalyzer {
    kept: HashMap<&'static str, Kept>,
    /// Per layer: (entries, regular-file bytes).
    tallies: Vec<(u64, u64)>,
    os: Option<OsInfo>,
    shells: Vec<Tool>,
    package_managers: Vec<Tool>,
    network_tools: Vec<Tool>,
    /// Cache directory → bytes per layer.
    caches: Vec<(String, BTreeMap<usize, u64>)>,
    /// (path, layer, mode, uid) of setuid/setgid regular files.
    setuid: Vec<(String, usize, u32, u64)>,
    /// (path, layer, is dir) of world-writable paths.
    world_writable: Vec<(String, usize, bool)>,
}

impl Visitor for OsAnalyzer {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        KEPT.contains(&entry.path)
    }

    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        if self.tallies.len() <= entry.layer {
            self.tallies.resize(entry.layer + 1, (0, 0));
        }
        if let Some(t) = self.tallies.get_mut(entry.layer) {
            t.0 += 1;
            if entry.kind == EntryKind::File {
                t.1 += entry.size;
            }
        }
        if let Some(p) = KEPT.iter().find(|p| **p == entry.path) {
            self.kept.insert(p, Kept::record(entry, content));
        }
    }

    fn finish(&mut self, fs: &FinalFs) {
        let has_shell = {
            self.shells = tools(fs, SHELLS);
            !self.shells.is_empty()
        };
        self.package_managers = tools(fs, PACKAGE_MANAGERS);
        self.network_tools = tools(fs, NETWORK_TOOLS);
        let os_release = ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .find_map(|p| self.final_text(fs, p));
        let marker = |p: &str| self.final_text(fs, p);
        let dbs = PackageDbs::of(fs);
        self.os = Some(detect(
            os_release.as_deref(),
            [
                marker("etc/alpine-release"),
                marker("etc/debian_version"),
                marker("etc/redhat-release"),
            ],
            &dbs,
            has_shell,
        ));

        self.caches = CACHES
            .iter()
            .map(|c| (c.to_string(), BTreeMap::new()))
            .collect();
        self.setuid.clear();
        self.world_writable.clear();
        fs.for_each(|path, node| self.final_node(path, node));
        self.caches
            .retain(|(_, by_layer)| by_layer.values().sum::<u64>() > 0);
    }
}

impl OsAnalyzer {
    /// Tallies one path of the final filesystem: cache sizes, setuid and
    /// world-writable files.
    fn final_node(&mut self, path: &str, node: &FsNode) {
        let file = matches!(node.kind, EntryKind::File | EntryKind::Hardlink(_));
        if node.kind == EntryKind::File {
            if let Some((_, by_layer)) = self.caches.iter_mut().find(|(c, _)| {
                path.starts_with(c.as_str()) && path.as_bytes().get(c.len()) == Some(&b'/')
            }) {
                *by_layer.entry(node.layer).or_default() += node.size;
            }
        }
        if file && node.mode & 0o6000 != 0 {
            self.setuid
                .push((path.to_string(), node.layer, node.mode, node.uid));
        }
        let dir = node.kind == EntryKind::Dir;
        if (file || dir) && node.mode & 0o002 != 0 && !(dir && node.mode & 0o1000 != 0) {
            self.world_writable
                .push((path.to_string(), node.layer, dir));
        }
    }

    /// The OS of the image (scratch until [`Visitor::finish`] has run).
    pub fn os_info(&self) -> OsInfo {
        self.os.clone().unwrap_or(OsInfo {
            base: Base::Scratch,
            id: String::new(),
            version_id: String::new(),
            pretty_name: String::new(),
        })
    }

    /// `image/not-minimal`, `image/setuid-file` and `image/world-writable`.
    pub fn findings(&self, layers: &[LayerInfo]) -> Vec<ImageFinding> {
        let mut out: Vec<ImageFinding> = self.minimality(layers).into_iter().collect();
        out.extend(self.setuid_finding());
        out.extend(self.world_writable_finding());
        out
    }

    /// `image/not-minimal`: one finding listing the shells, package
    /// managers, network tools and package caches of the final filesystem
    /// with their sizes, then each layer's size and what of that it adds;
    /// `None` when there are none. `layers` gives digests and sizes (the
    /// visitor's own per-layer tallies are used where it is shorter).
    pub fn minimality(&self, layers: &[LayerInfo]) -> Option<ImageFinding> {
        // Removable bytes and names per layer.
        let mut per_layer: BTreeMap<usize, (u64, Vec<String>)> = BTreeMap::new();
        let mut parts = self.tool_parts(&mut per_layer);
        parts.extend(self.cache_part(&mut per_layer));
        if parts.is_empty() {
            return None;
        }
        let breakdown = self.layer_breakdown(layers, &per_layer);
        let first = self
            .shells
            .first()
            .or(self.package_managers.first())
            .or(self.network_tools.first());
        Some(ImageFinding {
            rule: NOT_MINIMAL.id,
            severity: NOT_MINIMAL.severity,
            message: format!(
                "the image is not minimal; remove {}. Size by layer: {}",
                parts.join("; "),
                capped_join(&breakdown, SHOWN, "; ")
            ),
            layer: None,
            path: first
                .map(|t| t.file.clone())
                .or_else(|| self.caches.first().map(|c| c.0.clone()))
                .unwrap_or_default(),
            remediation: NOT_MINIMAL.remediation,
        })
    }

    /// One part per kind of needless tool found (`shells: …`), adding each
    /// tool's bytes to its layer once (bin/sh and bin/busybox may resolve to
    /// the same file).
    fn tool_parts(&self, per_layer: &mut BTreeMap<usize, (u64, Vec<String>)>) -> Vec<String> {
        let mut parts = Vec::new();
        let mut counted: Vec<&str> = Vec::new();
        for (label, list) in [
            ("shells", &self.shells),
            ("package managers", &self.package_managers),
            ("network tools", &self.network_tools),
        ] {
            if list.is_empty() {
                continue;
            }
            let items: Vec<String> = list.iter().map(tool_text).collect();
            parts.push(format!("{label}: {}", capped_list(&items, SHOWN)));
            for t in list {
                let e = per_layer.entry(t.layer).or_default();
                if !counted.contains(&t.file.as_str()) {
                    counted.push(&t.file);
                    e.0 += t.size;
                }
                let b = basename(&t.file).to_string();
                if !e.1.contains(&b) {
                    e.1.push(b);
                }
            }
        }
        parts
    }

    /// The package caches left in the image, adding their bytes by layer.
    fn cache_part(&self, per_layer: &mut BTreeMap<usize, (u64, Vec<String>)>) -> Option<String> {
        if self.caches.is_empty() {
            return None;
        }
        let items: Vec<String> = self
            .caches
            .iter()
            .map(|(c, by)| format!("{c} ({})", human(by.values().sum())))
            .collect();
        for (c, by) in &self.caches {
            for (layer, bytes) in by {
                let e = per_layer.entry(*layer).or_default();
                e.0 += bytes;
                e.1.push(c.clone());
            }
        }
        Some(format!("package caches: {}", items.join(", ")))
    }

    /// Each layer's size, digest and build step, with what could be removed.
    fn layer_breakdown(
        &self,
        layers: &[LayerInfo],
        per_layer: &BTreeMap<usize, (u64, Vec<String>)>,
    ) -> Vec<String> {
        let n = layers.len().max(self.tallies.len());
        (0..n)
            .map(|i| {
                let info = layers.get(i);
                let bytes = info
                    .map(|l| l.file_bytes)
                    .or_else(|| self.tallies.get(i).map(|t| t.1))
                    .unwrap_or(0);
                let mut s = format!("layer {i}");
                if let Some(d) = info
                    .map(|l| short_digest(&l.digest))
                    .filter(|d| !d.is_empty())
                {
                    s.push_str(&format!(" {d}"));
                }
                s.push_str(&format!(": {}", human(bytes)));
                if let Some(cb) = info.and_then(|l| l.created_by.as_deref()) {
                    s.push_str(&format!(" [{}]", shorten(cb, 60)));
                }
                if let Some((removable, names)) = per_layer.get(&i) {
                    s.push_str(&format!(
                        " ({} removable: {})",
                        human(*removable),
                        capped_list(names, 8)
                    ));
                }
                s
            })
            .collect()
    }

    fn setuid_finding(&self) -> Option<ImageFinding> {
        let (path, layer, ..) = self.setuid.first()?;
        let items: Vec<String> = self
            .setuid
            .iter()
            .map(|(p, l, mode, uid)| {
                let bits = match (mode & 0o4000 != 0, mode & 0o2000 != 0) {
                    (true, true) => "setuid+setgid",
                    (true, false) => "setuid",
                    _ => "setgid",
                };
                let owner = if *uid == 0 {
                    " root".to_string()
                } else {
                    format!(" uid {uid}")
                };
                format!(
                    "{p} ({bits}{}, {:04o}, layer {l})",
                    if mode & 0o4000 != 0 {
                        owner
                    } else {
                        String::new()
                    },
                    mode & 0o7777
                )
            })
            .collect();
        Some(ImageFinding {
            rule: SETUID_FILE.id,
            severity: SETUID_FILE.severity,
            message: format!(
                "{} setuid/setgid file(s): {}",
                items.len(),
                capped_list(&items, SHOWN)
            ),
            layer: (self.setuid.iter().all(|s| s.1 == *layer)).then_some(*layer),
            path: path.clone(),
            remediation: SETUID_FILE.remediation,
        })
    }

    fn world_writable_finding(&self) -> Option<ImageFinding> {
        let (path, layer, _) = self.world_writable.first()?;
        let items: Vec<String> = self
            .world_writable
            .iter()
            .map(|(p, l, dir)| format!("{p}{} (layer {l})", if *dir { "/" } else { "" }))
            .collect();
        Some(ImageFinding {
            rule: WORLD_WRITABLE.id,
            severity: WORLD_WRITABLE.severity,
            message: format!(
                "{} world-writable path(s) without the sticky bit: {}",
                items.len(),
                capped_list(&items, SHOWN)
            ),
            layer: (self.world_writable.iter().all(|w| w.1 == *layer)).then_some(*layer),
            path: path.clone(),
            remediation: WORLD_WRITABLE.remediation,
        })
    }

    /// The text of `path` if the kept write is what the final filesystem
    /// holds there, following a symlink to another kept path.
    fn final_text(&self, fs: &FinalFs, path: &str) -> Option<String> {
        let real = resolve(fs, path)?;
        let kept = self.kept.get(real.as_str())?;
        if !kept.survives(fs, &real) {
            return None;
        }
        kept.content
            .as_ref()
            .map(|c| String::from_utf8_lossy(c).into_owned())
    }
}

/// The package databases present in the final filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PackageDbs {
    dpkg_status: bool,
    dpkg_status_d: bool,
    any: bool,
}

impl PackageDbs {
    fn of(fs: &FinalFs) -> PackageDbs {
        let dpkg_status = fs.get("var/lib/dpkg/status").is_some();
        let dpkg_status_d = fs.any_under("var/lib/dpkg/status.d");
        let other = [
            "lib/apk/db/installed",
            "var/lib/rpm/rpmdb.sqlite",
            "var/lib/rpm/Packages",
            "var/lib/rpm/Packages.db",
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            "usr/lib/sysimage/rpm/Packages.db",
        ]
        .iter()
        .any(|p| fs.get(p).is_some());
        PackageDbs {
            dpkg_status,
            dpkg_status_d,
            any: dpkg_status || dpkg_status_d || other,
        }
    }
}

/// The tools among `names` in the bin directories of `fs`, resolved through
/// symlinks to regular files: one per file, with every name it answers to.
fn tools(fs: &FinalFs, names: &[&str]) -> Vec<Tool> {
    let mut out: Vec<Tool> = Vec::new();
    for name in names {
        for dir in BIN_DIRS {
            let Some(file) = resolve(fs, &format!("{dir}/{name}")) else {
                continue;
            };
            let Some(node) = fs.get(&file) else { continue };
            let size = match &node.kind {
                EntryKind::File => node.size,
                EntryKind::Hardlink(target) => fs.get(target).map_or(0, |n| n.size),
                _ => continue,
            };
            match out.iter_mut().find(|t| t.file == file) {
                Some(t) => {
                    if !t.names.iter().any(|n| n == name) {
                        t.names.push(name.to_string());
                    }
                }
                None => out.push(Tool {
                    names: vec![name.to_string()],
                    file,
                    layer: node.layer,
                    size,
                }),
            }
            break;
        }
    }
    out
}

/// A tool as the finding names it: its file, size and other names.
fn tool_text(t: &Tool) -> String {
    let base = basename(&t.file);
    let aliases: Vec<&str> = t
        .names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != base)
        .collect();
    if aliases.is_empty() {
        format!("{} ({})", t.file, human(t.size))
    } else {
        format!(
            "{} ({}; also {})",
            t.file,
            human(t.size),
            aliases.join(", ")
        )
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn short_digest(d: &str) -> String {
    let hex = d.split_once(':').map_or(d, |(_, h)| h);
    hex.chars().take(12).collect()
}

fn shorten(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n).collect();
    t.push('…');
    t
}

mod release;

#[cfg(test)]
use release::base_of;
use release::detect;
pub use release::parse_os_release;

#[cfg(test)]
mod tests;
