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

use std::cmp::Ordering;
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::ops::AddAssign;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::osv::{self, Event, Record, Severity};
use crate::version::Scheme;

/// Largest single OSV record read from a file or archive entry. Real ones
/// are a few KiB; the cap keeps a hostile archive from exhausting memory.
const MAX_RECORD_BYTES: u64 = 16 << 20;

/// Bumped whenever the tables change; an older file is rebuilt empty.
const SCHEMA_VERSION: i64 = 1;

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
    ranges TEXT NOT NULL,            -- JSON: [[{\"introduced\":\"0\"},{\"fixed\":\"1.2-3\"}], ...] (ECOSYSTEM ranges)
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
    #[error("ecosystem {0:?} is not supported (Debian, Ubuntu, Alpine and Red Hat are)")]
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
            Scheme::Rpm => q.name,
        };
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
            .query_map(params![ecosystem_key(q.ecosystem), package], |r| {
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
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
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

fn lowest(scheme: Scheme, a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if scheme.compare(&b, &a) == Ordering::Less {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    }
}

/// The default database path, reading the environment through `var`.
pub(crate) fn default_path_from(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<PathBuf, DbError> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if let Some(d) = var("PALISADE_CACHE_DIR") {
        d
    } else if let Some(x) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
        x.join("palisade")
    } else if let Some(home) = var("HOME") {
        home.join(".cache").join("palisade")
    } else {
        return Err(DbError::NoCacheDir);
    };
    Ok(dir.join("vuln.db"))
}

/// The indexed form of an ecosystem (see the module docs): Red Hat streams
/// fold to `Red Hat`, Ubuntu's `:LTS` is dropped.
pub(crate) fn ecosystem_key(eco: &str) -> &str {
    if eco.starts_with("Red Hat") {
        "Red Hat"
    } else if eco.starts_with("Ubuntu:") {
        eco.strip_suffix(":LTS").unwrap_or(eco)
    } else {
        eco
    }
}

/// Whether a query's ecosystem matches an advisory's (same key assumed).
pub(crate) fn ecosystem_matches(query: &str, advisory: &str) -> bool {
    if query.starts_with("Red Hat") {
        advisory.starts_with(query)
    } else {
        ecosystem_key(query) == ecosystem_key(advisory)
    }
}

fn event_version(e: &Event) -> &str {
    match e {
        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
    }
}

/// Order of events at the same version: a range that is introduced and
/// fixed at one version is empty.
fn event_rank(e: &Event) -> u8 {
    match e {
        Event::Introduced(_) => 0,
        Event::LastAffected(_) => 1,
        Event::Fixed(_) => 2,
        Event::Limit(_) => 3,
    }
}

/// OSV's event order: by version, `introduced: "0"` first.
fn event_cmp(scheme: Scheme, a: &Event, b: &Event) -> Ordering {
    let zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
    match (zero(a), zero(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => scheme
            .compare(event_version(a), event_version(b))
            .then_with(|| event_rank(a).cmp(&event_rank(b))),
    }
}

/// Whether `v` is affected by the ranges or the explicit versions; `Some`
/// holds the fix (if any) when it is.
///
/// The OSV algorithm walks the sorted events and lets each one at or below
/// `v` set or clear "vulnerable"; the last one wins. That last one is simply
/// the greatest event whose condition holds, found here without sorting
/// (a sort with a comparator over untrusted strings could panic; a maximum
/// cannot).
pub(crate) fn affected_by(
    scheme: Scheme,
    v: &str,
    ranges: &[Vec<Event>],
    versions: &[String],
) -> Option<Option<String>> {
    let mut affected = versions
        .iter()
        .any(|x| scheme.compare(x, v) == Ordering::Equal);
    let mut fixed: Option<String> = None;
    for events in ranges {
        let limits: Vec<&str> = events
            .iter()
            .filter_map(|e| match e {
                Event::Limit(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        if !limits.is_empty()
            && !limits
                .iter()
                .any(|&l| l == "*" || scheme.compare(v, l) == Ordering::Less)
        {
            continue;
        }
        let holds = |e: &Event| match e {
            Event::Introduced(i) => i == "0" || scheme.compare(v, i) != Ordering::Less,
            Event::Fixed(f) => scheme.compare(v, f) != Ordering::Less,
            Event::LastAffected(l) => scheme.compare(v, l) == Ordering::Greater,
            Event::Limit(_) => false,
        };
        let mut last: Option<&Event> = None;
        for e in events.iter().filter(|e| holds(e)) {
            if last.is_none_or(|l| event_cmp(scheme, e, l) == Ordering::Greater) {
                last = Some(e);
            }
        }
        if !matches!(last, Some(Event::Introduced(_))) {
            continue;
        }
        affected = true;
        let next_fix = events
            .iter()
            .filter_map(|e| match e {
                Event::Fixed(f) if scheme.compare(f, v) == Ordering::Greater => Some(f.clone()),
                _ => None,
            })
            .fold(None, |acc, f| lowest(scheme, acc, Some(f)));
        fixed = lowest(scheme, fixed, next_fix);
    }
    affected.then_some(fixed)
}

/// Normalises an RFC 3339 UTC timestamp (`2024-01-02T03:04:05Z`, with or
/// without fractional seconds) to a fixed-width string that sorts in time
/// order; anything else is kept as written (and sorts as text). Written by
/// hand: OSV timestamps are always this one form, and this is the only date
/// handling the crate needs.
pub(crate) fn timestamp_key(s: &str) -> String {
    let b = s.as_bytes();
    let shape_ok = b.len() >= 20
        && b.iter().take(19).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T' || *c == b't' || *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    let Some(rest) = s.get(19..).filter(|_| shape_ok) else {
        return s.to_string();
    };
    let Some(rest) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) else {
        return s.to_string();
    };
    let frac = match rest.strip_prefix('.') {
        Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) => f,
        None if rest.is_empty() => "",
        _ => return s.to_string(),
    };
    let mut frac: String = frac.chars().take(9).collect();
    while frac.len() < 9 {
        frac.push('0');
    }
    format!("{}T{}.{frac}Z", &s[..10], &s[11..19])
}

struct Writer<'a> {
    tx: &'a Transaction<'a>,
    db_path: &'a str,
}

impl Writer<'_> {
    fn sql(&self, source: rusqlite::Error) -> DbError {
        DbError::Sqlite {
            path: self.db_path.to_string(),
            source,
        }
    }

    /// Parses and upserts one record read from `file`.
    fn record(&mut self, file: &str, bytes: &[u8], stats: &mut ImportStats) -> Result<(), DbError> {
        let parse = |message: String| DbError::Parse {
            file: file.to_string(),
            message,
        };
        let r: Record = serde_json::from_slice(bytes).map_err(|e| parse(e.to_string()))?;
        if r.id.trim().is_empty() {
            return Err(parse("empty `id`".into()));
        }
        stats.records += 1;
        if r.withdrawn.is_some() {
            stats.withdrawn += 1;
        }
        let key = timestamp_key(&r.modified);
        let stored: Option<String> = self
            .tx
            .prepare_cached("SELECT modified_key FROM advisories WHERE id = ?1")
            .and_then(|mut s| s.query_row([&r.id], |row| row.get(0)).optional())
            .map_err(|e| self.sql(e))?;
        match &stored {
            Some(old) if *old >= key => {
                stats.unchanged += 1;
                return Ok(());
            }
            Some(_) => stats.updated += 1,
            None => stats.inserted += 1,
        }
        self.store(&r, &key, stored.is_some())
            .map_err(|e| self.sql(e))
    }

    fn store(&mut self, r: &Record, key: &str, replace: bool) -> rusqlite::Result<()> {
        if replace {
            self.tx
                .prepare_cached("DELETE FROM affected WHERE advisory_id = ?1")?
                .execute([&r.id])?;
        }
        let mut aliases: Vec<&str> = Vec::new();
        for a in r.aliases.iter().chain(&r.upstream) {
            if a != &r.id && !aliases.contains(&a.as_str()) {
                aliases.push(a);
            }
        }
        let summary = r
            .summary
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                r.details
                    .as_deref()
                    .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
            })
            .unwrap_or_default()
            .trim();
        let (severity, severity_source) = osv::rate(r);
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO advisories
                 (id, summary, severity, severity_source, aliases, modified, modified_key, published, withdrawn)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                r.id,
                summary,
                severity.as_str(),
                severity_source,
                to_json(&aliases),
                r.modified,
                key,
                r.published,
                r.withdrawn,
            ])?;
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO affected
             (advisory_id, ecosystem, ecosystem_key, package, ranges, versions, severity, severity_source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for a in &r.affected {
            let Some(pkg) = &a.package else { continue };
            let ranges: Vec<&Vec<Event>> = a
                .ranges
                .iter()
                .filter(|x| x.kind == "ECOSYSTEM")
                .map(|x| &x.events)
                .collect();
            if ranges.is_empty() && a.versions.is_empty() {
                continue;
            }
            let (level, source) = match osv::rate_affected(a) {
                Some((l, s)) => (Some(l.as_str()), s),
                None => (None, None),
            };
            insert.execute(params![
                r.id,
                pkg.ecosystem,
                ecosystem_key(&pkg.ecosystem),
                pkg.name,
                to_json(&ranges),
                to_json(&a.versions),
                level,
                source,
            ])?;
        }
        Ok(())
    }
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    // Serialising strings and vectors of plain enums cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn import_dir(w: &mut Writer<'_>, dir: &Path, stats: &mut ImportStats) -> Result<(), DbError> {
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).display().to_string();
            DbError::Io {
                path,
                source: e.into(),
            }
        })?;
        let path = entry.path();
        if !entry.file_type().is_file() || path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let name = path.display().to_string();
        let io = |source| DbError::Io {
            path: name.clone(),
            source,
        };
        let mut bytes = Vec::new();
        File::open(path)
            .map_err(io)?
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(DbError::Parse {
                file: name,
                message: format!("larger than {MAX_RECORD_BYTES} bytes"),
            });
        }
        w.record(&name, &bytes, stats)?;
    }
    Ok(())
}

fn import_zip(w: &mut Writer<'_>, path: &Path, stats: &mut ImportStats) -> Result<(), DbError> {
    let name = path.display().to_string();
    let zip_err = |source| DbError::Zip {
        path: name.clone(),
        source,
    };
    let file = File::open(path).map_err(|source| DbError::Io {
        path: name.clone(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(zip_err)?;
    let mut bytes = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let entry_name = entry.name().map_err(zip_err)?.into_owned();
        if !entry.is_file() || !entry_name.ends_with(".json") {
            continue;
        }
        let file = format!("{name}: entry {entry_name}");
        bytes.clear();
        (&mut entry)
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| DbError::Parse {
                file: file.clone(),
                message: e.to_string(),
            })?;
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(DbError::Parse {
                file,
                message: format!("larger than {MAX_RECORD_BYTES} bytes"),
            });
        }
        w.record(&file, &bytes, stats)?;
    }
    Ok(())
}
