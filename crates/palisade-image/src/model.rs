//! The types shared by the layer walker (`layers`, `fs`, `source`) and the
//! analyzers (`analyze/*`): what one tar entry looks like once its path is
//! normalised, the visitor the walker feeds, the final filesystem, and the
//! parsed image config.

mod final_fs;

pub use final_fs::{FinalFs, TableFull, TableLimits};

/// What kind of tar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file (also a hard link's target content is not repeated:
    /// see `Hardlink`).
    File,
    /// A directory.
    Dir,
    /// A symbolic link to the given target (as written; never followed).
    Symlink(String),
    /// A hard link to the given normalised path (of this or an earlier layer).
    Hardlink(String),
    /// Devices, FIFOs and anything else.
    Other,
}

/// One entry of one layer's tar stream, with its path normalised: relative
/// to the image root, no leading `/` or `./`, no `.` or `..` components, no
/// trailing `/` (`etc/os-release`). Whiteouts are not entries: the walker
/// applies them to the final filesystem and reports them through
/// [`Visitor::removed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Index of the layer in manifest order (0 = base).
    pub layer: usize,
    /// The normalised path.
    pub path: &'a str,
    /// The entry type.
    pub kind: EntryKind,
    /// Permission bits including setuid (0o4000), setgid (0o2000), sticky.
    pub mode: u32,
    /// Owner uid.
    pub uid: u64,
    /// Owner gid.
    pub gid: u64,
    /// Size in bytes (regular files; 0 otherwise).
    pub size: u64,
}

/// An analyzer fed by the walker in one pass over every layer, in order.
pub trait Visitor {
    /// Whether this visitor wants the content of a regular file. The walker
    /// reads it once for all visitors that want it, and only up to
    /// `Limits::max_file_bytes` (a larger file is passed with `None`).
    fn wants(&mut self, entry: &Entry<'_>) -> bool;
    /// A content limit above `Limits::max_file_bytes` that this visitor
    /// needs for `entry` when it wants it (an rpm `rpmdb.sqlite` is often
    /// 5–30 MiB); `None` keeps the scan's limit. The walker reads the file
    /// up to the largest limit asked for and hands the content only to
    /// visitors whose own limit it fits; the bytes still count against
    /// `Limits::max_total_bytes`. Default: `None`.
    fn content_limit(&self, _entry: &Entry<'_>) -> Option<u64> {
        None
    }
    /// For a file this visitor wants but that is over its content limit:
    /// up to what size it wants the file as a stream of pieces instead
    /// (`piece`, in order, before `entry` with no content), read as the
    /// walker goes and never held whole. Default: `None`, not streamed.
    fn stream_limit(&self, _entry: &Entry<'_>) -> Option<u64> {
        None
    }
    /// The piece of a streamed file that starts at `offset`.
    fn piece(&mut self, _entry: &Entry<'_>, _offset: u64, _bytes: &[u8]) {}
    /// Every entry of every layer, in order (also files that a later layer
    /// deletes or overwrites). `content` is `Some` when `wants` said yes and
    /// the file is within the content limit.
    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>);
    /// A whiteout in `layer` removed `path` (a file or a whole directory
    /// tree) from what earlier layers wrote; `opaque` when it was an opaque
    /// directory marker (`.wh..wh..opq`: the directory's earlier content is
    /// hidden, the directory itself stays). Default: ignored.
    fn removed(&mut self, _layer: usize, _path: &str, _opaque: bool) {}
    /// All layers are done; `fs` is the final filesystem.
    fn finish(&mut self, fs: &FinalFs);
}

/// One path of the final filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsNode {
    /// The layer that wrote it last.
    pub layer: usize,
    /// The entry type.
    pub kind: EntryKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner uid.
    pub uid: u64,
    /// Owner gid.
    pub gid: u64,
    /// Size in bytes.
    pub size: u64,
}

/// What one layer holds, for the size breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct LayerInfo {
    /// Layer digest (`sha256:...`) as the manifest names it.
    pub digest: String,
    /// Compression found by sniffing the bytes: `gzip`, `zstd` or `none`.
    pub compression: String,
    /// Size as stored (compressed).
    pub compressed_size: u64,
    /// Size of the uncompressed tar stream.
    pub uncompressed_size: u64,
    /// Tar entries.
    pub entries: u64,
    /// Bytes of regular files it adds.
    pub file_bytes: u64,
    /// The history line that created it (`created_by`), if the config has one.
    pub created_by: Option<String>,
}

/// The parts of the OCI / Docker image config the analyzers read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageConfig {
    /// `os` (`linux`).
    pub os: String,
    /// `architecture` (`amd64`).
    pub architecture: String,
    /// `config.User` as written (`""`, `root`, `0`, `1000:1000`, `app`).
    pub user: String,
    /// `config.Env` entries (`KEY=value`).
    pub env: Vec<String>,
    /// `config.ExposedPorts` keys (`80/tcp`).
    pub exposed_ports: Vec<String>,
    /// `config.Entrypoint` and `config.Cmd`.
    pub entrypoint: Vec<String>,
    /// `config.Cmd`.
    pub cmd: Vec<String>,
    /// `history[]`: (`created_by`, `empty_layer`).
    pub history: Vec<(String, bool)>,
}

/// Explicit limits of one image scan; exceeding one is an error naming
/// the limit, never a silent truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total uncompressed bytes over all layers.
    pub max_total_bytes: u64,
    /// Tar entries over all layers.
    pub max_entries: u64,
    /// Largest file whose content is handed to visitors (larger files are
    /// still walked, with `content: None`).
    pub max_file_bytes: u64,
    /// Longest path accepted.
    pub max_path_bytes: usize,
    /// Layers in one image.
    pub max_layers: usize,
    /// Bytes of names (path components, each kept once however many
    /// paths share it, and link targets) the final filesystem keeps.
    pub max_path_names: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 16 << 30,
            max_entries: 2_000_000,
            max_file_bytes: 1 << 20,
            max_path_bytes: 4096,
            max_layers: 256,
            max_path_names: 64 << 20,
        }
    }
}

/// Severity, as everywhere in palisade.
pub use palisade_core::Severity;

/// A finding about an image's content or config. The report layer turns it
/// into a `palisade_core::Finding` located at the image (`file` = the image
/// reference, `path` = `layer <digest>: <path>` or `config: <field>`).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFinding {
    /// Rule id (`image/runs-as-root`, `secrets/in-image`, ...), from [`crate::catalog`].
    pub rule: &'static str,
    /// Severity (the rule's default unless the rule grades findings).
    pub severity: Severity,
    /// What is wrong; never contains a secret (redacted previews only).
    pub message: String,
    /// Index of the layer concerned, if any.
    pub layer: Option<usize>,
    /// Normalised path in the filesystem, or the config field (`config.User`,
    /// `config.Env`, `history[3].created_by`).
    pub path: String,
    /// How to fix it.
    pub remediation: &'static str,
}

/// Package format: an OS package database, or an application ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// dpkg (`var/lib/dpkg/status`, distroless `var/lib/dpkg/status.d/*`).
    Deb,
    /// apk (`lib/apk/db/installed`).
    Apk,
    /// rpm (`var/lib/rpm/rpmdb.sqlite`, `usr/lib/sysimage/rpm/rpmdb.sqlite`).
    Rpm,
    /// A Go module compiled into a binary, or the Go toolchain that built it
    /// (named `stdlib`, as the Go vulnerability database names it).
    Go,
    /// A Python distribution (`*.dist-info`, `*.egg-info`).
    Python,
    /// An npm package (`node_modules/**/package.json`, `package-lock.json`).
    Npm,
    /// A Java archive (`groupId:artifactId`).
    Maven,
    /// A Rust crate (`cargo auditable` binaries, `Cargo.lock`).
    Cargo,
    /// A PHP package (`vendor/composer/installed.json`).
    Composer,
    /// A Ruby gem (`specifications/*.gemspec`).
    Gem,
}

impl PackageKind {
    /// The OSV ecosystem of an application package kind (`Go`, `PyPI`,
    /// `npm`, `Maven`, `crates.io`, `Packagist`, `RubyGems`); `None` for OS
    /// packages, whose ecosystem is the distribution's.
    pub fn app_ecosystem(self) -> Option<&'static str> {
        match self {
            PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm => None,
            PackageKind::Go => Some("Go"),
            PackageKind::Python => Some("PyPI"),
            PackageKind::Npm => Some("npm"),
            PackageKind::Maven => Some("Maven"),
            PackageKind::Cargo => Some("crates.io"),
            PackageKind::Composer => Some("Packagist"),
            PackageKind::Gem => Some("RubyGems"),
        }
    }

    /// Whether this is an OS package database's kind.
    pub fn is_os(self) -> bool {
        self.app_ecosystem().is_none()
    }
}

/// One installed package: an OS package, or one the application brings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    /// Database format.
    pub kind: PackageKind,
    /// Binary package name.
    pub name: String,
    /// Installed version, exactly as the database writes it (`1:2.36-9+deb12u4`, `3.1.4-r5`, `0:1.2.3-4.el9` with epoch when set).
    pub version: String,
    /// Source package name (Debian `Source:`; apk `o:` origin; rpm source rpm name), when it differs or is known.
    pub source_name: Option<String>,
    /// Source version when the database gives a different one (Debian `Source: name (version)`).
    pub source_version: Option<String>,
    /// Architecture.
    pub arch: Option<String>,
    /// Layer that wrote the database the package was read from.
    pub layer: usize,
    /// For application packages, the file it was found in (the Go binary,
    /// the `.dist-info` directory, the `package.json`, the jar; for a jar
    /// inside a jar, `outer.war!/WEB-INF/lib/inner.jar`); `None` for OS
    /// packages.
    pub path: Option<String>,
    /// The checksum the application's own metadata records for it (a Go
    /// module's `h1:` sum from the build info), when there is one.
    pub checksum: Option<String>,
}

/// The base the image is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Base {
    /// No OS files at all: `FROM scratch` with a static binary.
    Scratch,
    /// Google's distroless (dpkg `status.d`, no shell, no package manager).
    Distroless,
    /// Alpine Linux.
    Alpine,
    /// Debian.
    Debian,
    /// Ubuntu.
    Ubuntu,
    /// RHEL, UBI, CentOS, Rocky, Alma, Fedora, Amazon Linux.
    RhelFamily,
    /// Another distribution (named by `/etc/os-release`).
    Other,
}

/// What `/etc/os-release` (or the markers) say about the OS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OsInfo {
    /// The base.
    pub base: Base,
    /// `ID` (`debian`, `alpine`, `rhel`), empty when unknown.
    pub id: String,
    /// `VERSION_ID` (`12`, `3.20.3`, `9.4`), empty when unknown.
    pub version_id: String,
    /// `PRETTY_NAME`, empty when unknown.
    pub pretty_name: String,
}

impl OsInfo {
    /// The OSV ecosystem of this OS's packages: `Debian:12`, `Ubuntu:22.04`
    /// (`Ubuntu:22.04:LTS` is written by OSV for LTS releases; matching
    /// accepts both), `Alpine:v3.20`, `Red Hat`; `None` for scratch or unknown.
    pub fn ecosystem(&self) -> Option<String> {
        match self.base {
            Base::Debian | Base::Distroless => {
                let major = self.version_id.split('.').next().unwrap_or_default();
                (!major.is_empty()).then(|| format!("Debian:{major}"))
            }
            Base::Ubuntu => {
                (!self.version_id.is_empty()).then(|| format!("Ubuntu:{}", self.version_id))
            }
            Base::Alpine => {
                let mut parts = self.version_id.split('.');
                match (parts.next(), parts.next()) {
                    (Some(a), Some(b)) => Some(format!("Alpine:v{a}.{b}")),
                    _ => None,
                }
            }
            Base::RhelFamily => Some("Red Hat".to_string()),
            Base::Scratch | Base::Other => None,
        }
    }
}
