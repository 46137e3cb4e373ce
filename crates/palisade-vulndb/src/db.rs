//! The advisory store: OSV records imported into SQLite, and the matching of
//! one installed package against them.
//!
//! # Ecosystems
//! OSV names ecosystems `Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.20`,
//! `Red Hat:enterprise_linux:9::baseos`. A query's ecosystem (as
//! `palisade-image`'s `OsInfo::ecosystem()` writes it) matches an
//! advisory's when
//! - they are equal;
//! - for Ubuntu, they are equal once a trailing `:LTS` is dropped from
//!   either (`Ubuntu:22.04` matches `Ubuntu:22.04:LTS`);
//! - for Red Hat, the advisory's starts with the query's: `Red Hat` matches
//!   every `Red Hat:*` stream (an image's os-release does not say which
//!   repositories its packages came from), `Red Hat:enterprise_linux:9`
//!   only the RHEL 9 ones. Pass the most specific form known: a plain
//!   `Red Hat` compares an el9 package against el8 fix versions too (which
//!   rpm ordering mostly, but not always, places correctly).
//!
//! # Package names
//! Debian and Ubuntu advisories name *source* packages, and so do Alpine's
//! (the aport, apk's `o:` origin): the query's `source_name` is used when
//! given, else its `name`. Red Hat's OSV records name binary rpms: the
//! query's `name` is used.
//!
//! # Ranges
//! Only `ECOSYSTEM` ranges and explicit `versions` lists are kept (`SEMVER`
//! and `GIT` ranges describe upstream code, not distribution packages).
//! Evaluation follows the OSV specification: within a range, a version is
//! affected when the greatest event at or below it is an `introduced`
//! (`introduced: "0"` being below everything), `fixed: F` ending the range
//! at `F` and `last_affected: L` just after `L`; `limit` events bound the
//! range from above. Versions compare with the ecosystem's own ordering
//! ([`crate::version::Scheme`]).

use std::collections::HashMap;
use std::fs;
use std::ops::AddAssign;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::osv::{Event, Severity};
use crate::version::Scheme;

mod import;
mod matching;

use import::{import_dir, import_zip, Writer};
use matching::lowest;
pub(crate) use matching::{
    affected_by, default_path_from, ecosystem_key, ecosystem_matches, package_key, timestamp_key,
};

/// Largest single OSV record read from a file or archive entry. Real ones
/// are a few KiB; the cap keeps a hostile archive from exhausting memory.
const MAX_RECORD_BYTES: u64 = 16 << 20;

/// Bumped whenever the tables change; an older file is rebuilt empty.
const SCHEMA_VERSION: i64 = 2;

/// SQLite's page cache per connection, in KiB (a bound, filled on use).
pub const CACHE_KIB: i64 = 32 * 1024;

const SCHEMA: &str = "
CREATE TABLE advisories (
    id TEXT PRIMARY KEY,
    summary TEXT NOT NULL,
    severity TEXT NOT NULL,          -- critical/high/medium/low/unknown
    severity_source TEXT,            -- the rating it was read from
    aliases TEXT NOT NULL,           -- JSON array: aliases, then upstream ids
    modified TEXT NOT NULL,          -- as written
    modified_key TEXT NOT NULL,      -- normalised for ordering
    published TEXT,
    withdrawn TEXT
);
CREATE TABLE affected (
    advisory_id TEXT NOT NULL,
    ecosystem TEXT NOT NULL,         -- as written: Debian:12, Red Hat:enterprise_linux:9::baseos
    ecosystem_key TEXT NOT NULL,     -- see ecosystem_key()
    package TEXT NOT NULL,
    ranges TEXT NOT NULL,            -- JSON: [[{\"introduced\":\"0\"},{\"fixed\":\"1.2-3\"}], ...] (ECOSYSTEM ranges; SEMVER too for application ecosystems)
    versions TEXT NOT NULL,          -- JSON array of explicitly affected versions
    severity TEXT,                   -- this entry's own rating, if any
    severity_source TEXT
);
CREATE INDEX affected_by_package ON affected (ecosystem_key, package);
CREATE INDEX affected_by_advisory ON affected (advisory_id);
";

/// What failed, and on what.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// An SQLite error on the database file.
    #[error("vulnerability database {path}: {source}")]
    Sqlite {
        /// The database file (`:memory:` for an in-memory one).
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A zip archive could not be read.
    #[error("{path}: not a readable zip archive: {source}")]
    Zip {
        /// The archive.
        path: String,
        /// The zip error.
        #[source]
        source: zip::result::ZipError,
    },
    /// An OSV record could not be parsed; nothing of the import was kept.
    #[error("{file}: {message}")]
    Parse {
        /// The file (`archive.zip: entry X.json` inside an archive).
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A stored row does not decode (the file was changed by something else).
    #[error("vulnerability database {path}: advisory {id}: {message}")]
    Corrupt {
        /// The database file.
        path: String,
        /// The advisory.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// No cache directory could be determined.
    #[error("no cache directory for the vulnerability database: set PALISADE_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoCacheDir,
    /// The query's ecosystem has no version ordering here.
    #[error("ecosystem {0:?} is not supported (Debian, Ubuntu, Alpine, Red Hat, Go, PyPI, npm, Maven, crates.io, RubyGems and Packagist are)")]
    UnsupportedEcosystem(String),
    /// The installed version is not one the ecosystem's package manager accepts.
    #[error("{package} {version:?}: not a valid {scheme} version")]
    InvalidVersion {
        /// The package.
        package: String,
        /// The version as given.
        version: String,
        /// The scheme (`dpkg`, `apk`, `rpm`).
        scheme: &'static str,
    },
    /// Downloading an OSV archive failed.
    #[error("downloading {url}: {message}")]
    Download {
        /// The archive's URL.
        url: String,
        /// What failed.
        message: String,
    },
}

/// One installed package to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageQuery<'a> {
    /// The OSV ecosystem: `Debian:12`, `Ubuntu:22.04`, `Alpine:v3.20`,
    /// `Red Hat` (or a specific `Red Hat:enterprise_linux:9`).
    pub ecosystem: &'a str,
    /// Binary package name.
    pub name: &'a str,
    /// Source package name (Debian `Source:`, apk `o:` origin), if known.
    pub source_name: Option<&'a str>,
    /// Installed version as the package database writes it.
    pub version: &'a str,
}

/// One advisory that affects a queried package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// Advisory id (`DSA-5678-1`, `DEBIAN-CVE-2024-1234`, `ALPINE-CVE-...`, `RHSA-2024:1234`).
    pub id: String,
    /// Other ids of the same issue (CVE ids first where the record has them).
    pub aliases: Vec<String>,
    /// One-line summary (may be empty).
    pub summary: String,
    /// Severity level.
    pub severity: Severity,
    /// The rating the level was read from (`urgency: low`, a CVSS vector), if any.
    pub severity_source: Option<String>,
    /// The package name the advisory lists (the source package for Debian, Ubuntu, Alpine).
    pub package: String,
    /// The installed version, as queried.
    pub installed_version: String,
    /// The lowest fixed version above the installed one, if a fix exists.
    pub fixed_version: Option<String>,
    /// The advisory's ecosystem as written (`Ubuntu:22.04:LTS`, `Red Hat:enterprise_linux:9::baseos`).
    pub ecosystem: String,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    /// OSV records read.
    pub records: u64,
    /// Records new to the database.
    pub inserted: u64,
    /// Records that replaced an older version of themselves.
    pub updated: u64,
    /// Records already present with the same or a newer `modified`.
    pub unchanged: u64,
    /// Records (of those read) marked `withdrawn`: kept, never matched.
    pub withdrawn: u64,
}

impl AddAssign for ImportStats {
    fn add_assign(&mut self, o: ImportStats) {
        self.records += o.records;
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.withdrawn += o.withdrawn;
    }
}

/// The vulnerability database: one SQLite file.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    path: String,
}

impl Db {
    /// Opens (creating it and its directory if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Db, DbError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| DbError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| DbError::Sqlite {
            path: name.clone(),
            source,
        })?;
        Db::init(conn, name)
    }

    /// An empty database in memory (tests, one-shot scans of an archive).
    pub fn open_in_memory() -> Result<Db, DbError> {
        let name = ":memory:".to_string();
        let conn = Connection::open_in_memory().map_err(|source| DbError::Sqlite {
            path: name.clone(),
            source,
        })?;
        Db::init(conn, name)
    }

    fn init(mut conn: Connection, path: String) -> Result<Db, DbError> {
        let sql = |source| DbError::Sqlite {
            path: path.clone(),
            source,
        };
        // Look-ups read the same index and table pages over and over: up
        // to CACHE_KIB of them stay in the process instead of being read
        // from the kernel each time (SQLite's default is 2 MiB).
        conn.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(sql)?;
        // The bundled SQLite is built with STAT4, which re-plans a statement
        // whenever its bound values change, that is, at every look-up; with
        // the planner's stability guarantee it is planned once (the plan is
        // the one index either way).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(sql)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if version != SCHEMA_VERSION {
            // A cache: an unknown layout is dropped and refilled by the next
            // update rather than migrated.
            let tx = conn.transaction().map_err(sql)?;
            tx.execute_batch("DROP TABLE IF EXISTS affected; DROP TABLE IF EXISTS advisories;")
                .map_err(sql)?;
            tx.execute_batch(SCHEMA).map_err(sql)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(Db { conn, path })
    }

    /// Where the database lives by default: `$PALISADE_CACHE_DIR/vuln.db`,
    /// else `$XDG_CACHE_HOME/palisade/vuln.db`, else
    /// `~/.cache/palisade/vuln.db`. The XDG layout is used on every
    /// platform so that the path is the same in containers and CI.
    pub fn default_path() -> Result<PathBuf, DbError> {
        default_path_from(|k| std::env::var_os(k))
    }

    /// Number of advisories stored (withdrawn ones included).
    pub fn advisory_count(&self) -> Result<u64, DbError> {
        self.conn
            .query_row("SELECT count(*) FROM advisories", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n.unsigned_abs())
            .map_err(|source| self.sql(source))
    }

    fn sql(&self, source: rusqlite::Error) -> DbError {
        DbError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Imports OSV records from `path`: a zip archive as OSV publishes them
    /// (`<ecosystem>/all.zip`) or a directory searched recursively for
    /// `*.json` files. A record replaces a stored one with the same id only
    /// when its `modified` is newer, so importing twice changes nothing.
    /// The import is one transaction: on an error, which names the file,
    /// the database is left as it was.
    pub fn import(&mut self, path: impl AsRef<Path>) -> Result<ImportStats, DbError> {
        let path = path.as_ref();
        let meta = fs::metadata(path).map_err(|source| DbError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let db_path = self.path.clone();
        let sql = |source| DbError::Sqlite {
            path: db_path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut stats = ImportStats::default();
        {
            let mut w = Writer {
                tx: &tx,
                db_path: &db_path,
            };
            if meta.is_dir() {
                import_dir(&mut w, path, &mut stats)?;
            } else {
                import_zip(&mut w, path, &mut stats)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok(stats)
    }

    /// The advisories that affect the queried package, one per advisory id,
    /// sorted by id. Withdrawn advisories never match. One indexed query.
    pub fn matches(&self, q: &PackageQuery<'_>) -> Result<Vec<Match>, DbError> {
        let scheme = Scheme::for_ecosystem(q.ecosystem)
            .ok_or_else(|| DbError::UnsupportedEcosystem(q.ecosystem.to_string()))?;
        let package = match scheme {
            Scheme::Dpkg | Scheme::Apk => q.source_name.filter(|s| !s.is_empty()).unwrap_or(q.name),
            _ => q.name,
        };
        let key = package_key(q.ecosystem, package);
        if !scheme.is_valid(q.version) {
            return Err(DbError::InvalidVersion {
                package: package.to_string(),
                version: q.version.to_string(),
                scheme: scheme.as_str(),
            });
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.id, a.aliases, a.summary, a.severity, a.severity_source,
                        f.ecosystem, f.ranges, f.versions, f.severity, f.severity_source
                 FROM affected f JOIN advisories a ON a.id = f.advisory_id
                 WHERE f.ecosystem_key = ?1 AND f.package = ?2 AND a.withdrawn IS NULL",
            )
            .map_err(|e| self.sql(e))?;
        let rows = stmt
            .query_map(params![ecosystem_key(q.ecosystem), key.as_ref()], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    aliases: r.get(1)?,
                    summary: r.get(2)?,
                    severity: r.get(3)?,
                    severity_source: r.get(4)?,
                    ecosystem: r.get(5)?,
                    ranges: r.get(6)?,
                    versions: r.get(7)?,
                    affected_severity: r.get(8)?,
                    affected_severity_source: r.get(9)?,
                })
            })
            .map_err(|e| self.sql(e))?;

        let mut out: Vec<Match> = Vec::new();
        for row in rows {
            let row = row.map_err(|e| self.sql(e))?;
            if !ecosystem_matches(q.ecosystem, &row.ecosystem) {
                continue;
            }
            let corrupt = |e: serde_json::Error| DbError::Corrupt {
                path: self.path.clone(),
                id: row.id.clone(),
                message: e.to_string(),
            };
            let ranges: Vec<Vec<Event>> = serde_json::from_str(&row.ranges).map_err(corrupt)?;
            let versions: Vec<String> = serde_json::from_str(&row.versions).map_err(corrupt)?;
            let Some(fixed) = affected_by(scheme, q.version, &ranges, &versions) else {
                continue;
            };
            if let Some(seen) = out.iter_mut().find(|m| m.id == row.id) {
                // The same advisory through another stream (RHEL appstream
                // and baseos): keep the lowest fix above the installed version.
                seen.fixed_version = lowest(scheme, seen.fixed_version.take(), fixed);
                continue;
            }
            let aliases: Vec<String> = serde_json::from_str(&row.aliases).map_err(corrupt)?;
            let (severity, severity_source) = match row.affected_severity {
                Some(s) => (Severity::from_name(&s), row.affected_severity_source),
                None => (Severity::from_name(&row.severity), row.severity_source),
            };
            out.push(Match {
                id: row.id,
                aliases,
                summary: row.summary,
                severity,
                severity_source,
                package: package.to_string(),
                installed_version: q.version.to_string(),
                fixed_version: fixed,
                ecosystem: row.ecosystem,
            });
        }
        let mut out = merge_aliases(scheme, out);
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

/// Folds matches that name one vulnerability into one: two records are the
/// same when one's id or aliases meet the other's (a `GO-` record and the
/// `GHSA-` record it aliases; a `PYSEC-` and a `GHSA-` record of one CVE).
/// The merged match keeps the id that sorts first, every other id as an
/// alias, the highest severity, and the highest of the fixes (the version
/// that fixes every record's account of it; none when one record has none).
pub(crate) fn merge_aliases(scheme: Scheme, matches: Vec<Match>) -> Vec<Match> {
    let mut groups: Vec<Match> = Vec::with_capacity(matches.len());
    fn names(x: &Match) -> impl Iterator<Item = &String> {
        std::iter::once(&x.id).chain(&x.aliases)
    }
    // Every name seen, with the first group that holds it.
    let mut group_of: HashMap<String, usize> = HashMap::new();
    for m in matches {
        let Some(at) = names(&m).filter_map(|n| group_of.get(n)).min().copied() else {
            for n in names(&m) {
                group_of.insert(n.clone(), groups.len());
            }
            groups.push(m);
            continue;
        };
        // `at` is now the first group holding each of these names.
        for n in names(&m) {
            group_of.insert(n.clone(), at);
        }
        let g = &mut groups[at];
        let mut all: Vec<String> = names(g).chain(names(&m)).cloned().collect();
        all.sort();
        all.dedup();
        let (severity, source) = if m.severity > g.severity {
            (m.severity, m.severity_source.clone())
        } else {
            (g.severity, g.severity_source.clone())
        };
        let fixed = match (g.fixed_version.take(), m.fixed_version.clone()) {
            (Some(a), Some(b)) => Some(if scheme.compare(&a, &b).is_lt() { b } else { a }),
            _ => None,
        };
        if m.id < g.id {
            g.id = m.id.clone();
            g.summary = m.summary.clone();
        }
        g.severity = severity;
        g.severity_source = source;
        g.fixed_version = fixed;
        let id = g.id.clone();
        g.aliases = all.into_iter().filter(|a| *a != id).collect();
    }
    groups
}

struct Row {
    id: String,
    aliases: String,
    summary: String,
    severity: String,
    severity_source: Option<String>,
    ecosystem: String,
    ranges: String,
    versions: String,
    affected_severity: Option<String>,
    affected_severity_source: Option<String>,
}
