//! Image scan results kept by digest (a digest names content, so a result
//! never goes stale; the vulnerability part is as fresh as the database at
//! scan time, which the entry records). `scan --images` and the webhook read
//! them instead of scanning again; `palisade image` writes them.
//!
//! One JSON file per digest under `$PALISADE_CACHE_DIR/images`, else
//! `$XDG_CACHE_HOME/palisade/images`, else `~/.cache/palisade/images`;
//! written to a temporary file and renamed, so readers never see half a file.

use std::path::{Path, PathBuf};

use palisade_core::Severity;
use serde::{Deserialize, Serialize};

use crate::scan::ImageScan;

/// Largest cache entry read (a result lists findings, not files).
const MAX_ENTRY_BYTES: u64 = 32 << 20;

/// One finding as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedFinding {
    /// Rule id.
    pub rule: String,
    /// Severity (`critical` ... `info`).
    pub severity: String,
    /// Message (redacted previews only, as reported).
    pub message: String,
    /// Path in the image or config field.
    pub path: String,
}

impl CachedFinding {
    /// The severity, `info` when the stored text is unknown.
    pub fn severity(&self) -> Severity {
        self.severity.parse().unwrap_or(Severity::Info)
    }
}

/// The stored result of one image scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedScan {
    /// The digest it is stored under.
    pub digest: String,
    /// The image as it was scanned.
    pub name: String,
    /// Seconds since the Unix epoch when it was scanned.
    pub scanned_at: u64,
    /// Every finding.
    pub findings: Vec<CachedFinding>,
    /// What the scan did not check.
    pub notes: Vec<String>,
}

impl CachedScan {
    /// The stored form of `scan`.
    pub fn of(digest: &str, scan: &ImageScan) -> CachedScan {
        CachedScan {
            digest: digest.to_string(),
            name: scan.name.clone(),
            scanned_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            findings: scan
                .findings
                .iter()
                .map(|f| CachedFinding {
                    rule: f.rule.to_string(),
                    severity: f.severity.as_str().to_string(),
                    message: f.message.clone(),
                    path: f.path.clone(),
                })
                .collect(),
            notes: scan.notes.clone(),
        }
    }
}

/// The directory of stored results.
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
}

impl ResultCache {
    /// Results under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ResultCache { dir: dir.into() }
    }

    /// Results in the user's cache directory (see the module documentation).
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("PALISADE_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("palisade"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("palisade"))
            })?;
        Some(base.join("images"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        let valid = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| {
            self.dir
                .join(format!("sha256-{}.json", hex.to_ascii_lowercase()))
        })
    }

    /// The stored result for `digest`, if any (an unreadable or malformed
    /// entry counts as absent: the image is scanned again).
    pub fn get(&self, digest: &str) -> Option<CachedScan> {
        let path = self.path_of(digest)?;
        let meta = std::fs::metadata(&path).ok()?;
        if meta.len() > MAX_ENTRY_BYTES {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        serde_json::from_slice::<CachedScan>(&bytes)
            .ok()
            .filter(|c| c.digest.eq_ignore_ascii_case(digest))
    }

    /// Stores `scan` under each of `digests` (an index digest and the
    /// platform manifest digest name the same scan).
    pub fn put(&self, digests: &[&str], scan: &ImageScan) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        for digest in digests {
            let Some(path) = self.path_of(digest) else {
                continue;
            };
            let entry = CachedScan::of(digest, scan);
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, serde_json::to_vec(&entry)?)?;
            std::fs::rename(&tmp, &path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Base, ImageFinding, OsInfo};

    fn scan() -> ImageScan {
        ImageScan {
            name: "app:1".into(),
            manifest_digest: format!("sha256:{}", "a".repeat(64)),
            config_digest: String::new(),
            reference_digest: None,
            os: OsInfo {
                base: Base::Scratch,
                id: String::new(),
                version_id: String::new(),
                pretty_name: String::new(),
            },
            packages: Vec::new(),
            layers: Vec::new(),
            findings: vec![ImageFinding {
                rule: "image/runs-as-root",
                severity: Severity::High,
                message: "runs as root".into(),
                layer: None,
                path: "config.User".into(),
                remediation: "",
            }],
            vulnerabilities: Vec::new(),
            notes: vec!["a note".into()],
        }
    }

    #[test]
    fn results_round_trip_by_every_digest() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(dir.path());
        let a = format!("sha256:{}", "a".repeat(64));
        let b = format!("sha256:{}", "b".repeat(64));
        assert!(cache.get(&a).is_none());
        cache.put(&[&a, &b], &scan()).unwrap();
        for d in [&a, &b] {
            let got = cache.get(d).unwrap();
            assert_eq!(&got.digest, d);
            assert_eq!(got.findings[0].rule, "image/runs-as-root");
            assert_eq!(got.findings[0].severity(), Severity::High);
            assert_eq!(got.notes, ["a note"]);
        }
    }

    #[test]
    fn bad_digests_and_corrupt_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ResultCache::new(dir.path());
        assert!(cache.get("sha256:../../etc/passwd").is_none());
        assert!(cache.get("md5:abc").is_none());
        let a = format!("sha256:{}", "c".repeat(64));
        std::fs::write(
            dir.path().join(format!("sha256-{}.json", "c".repeat(64))),
            "{not json",
        )
        .unwrap();
        assert!(cache.get(&a).is_none());
    }
}
