//! Importing OSV records into the store: from a directory of JSON (or
//! YAML, see [`crate::yaml`]) files or from a zip archive, each record
//! bounded in size.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use rusqlite::{params, OptionalExtension, Transaction};
use serde::Serialize;

use super::matching::affected_by;
use super::{ecosystem_key, package_key, timestamp_key, DbError, ImportStats, MAX_RECORD_BYTES};
use crate::osv::{self, Event, Record};
use crate::version::Scheme;

pub(super) struct Writer<'a> {
    pub(super) tx: &'a Transaction<'a>,
    pub(super) db_path: &'a str,
}

impl Writer<'_> {
    fn sql(&self, source: rusqlite::Error) -> DbError {
        DbError::Sqlite {
            path: self.db_path.to_string(),
            source,
        }
    }

    /// Parses and upserts one record read from `file`.
    pub(super) fn record(
        &mut self,
        file: &str,
        bytes: &[u8],
        stats: &mut ImportStats,
    ) -> Result<(), DbError> {
        let parse = |message: String| DbError::Parse {
            file: file.to_string(),
            message,
        };
        let r: Record = if is_yaml(file) {
            let text = std::str::from_utf8(bytes).map_err(|_| parse("not UTF-8".into()))?;
            let value = crate::yaml::to_json(text).map_err(parse)?;
            serde_json::from_value(value).map_err(|e| parse(e.to_string()))?
        } else {
            serde_json::from_slice(bytes).map_err(|e| parse(e.to_string()))?
        };
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
                .filter(|x| keeps_range(&x.kind, &pkg.ecosystem))
                .map(|x| &x.events)
                .collect();
            if ranges.is_empty() && a.versions.is_empty() {
                continue;
            }
            // A version is affected when it is listed or in a range, and its
            // fix comes from the ranges: listed versions that a range
            // already covers add nothing, and are left out so that look-ups
            // compare fewer (PyPI lists enumerate their ranges, hundreds of
            // versions per advisory).
            let versions: Vec<&String> = match Scheme::for_ecosystem(&pkg.ecosystem) {
                Some(scheme) if !ranges.is_empty() => {
                    let owned: Vec<Vec<Event>> = ranges.iter().map(|r| r.to_vec()).collect();
                    a.versions
                        .iter()
                        .filter(|v| {
                            !scheme.is_valid(v) || affected_by(scheme, v, &owned, &[]).is_none()
                        })
                        .collect()
                }
                _ => a.versions.iter().collect(),
            };
            let (level, source) = match osv::rate_affected(a) {
                Some((l, s)) => (Some(l.as_str()), s),
                None => (None, None),
            };
            insert.execute(params![
                r.id,
                pkg.ecosystem,
                ecosystem_key(&pkg.ecosystem),
                package_key(&pkg.ecosystem, &pkg.name),
                to_json(&ranges),
                to_json(&versions),
                level,
                source,
            ])?;
        }
        Ok(())
    }
}

/// Whether a range of type `kind` is evaluated for `ecosystem`: `ECOSYSTEM`
/// ranges always; `SEMVER` ranges for the application ecosystems (Go and
/// crates.io write only those; their versions are the ecosystem's own) but
/// not for the distributions, whose package versions are not semver; `GIT`
/// ranges (commit hashes) never: an installed package has no commit.
fn keeps_range(kind: &str, ecosystem: &str) -> bool {
    match kind {
        "ECOSYSTEM" => true,
        "SEMVER" => !matches!(
            Scheme::for_ecosystem(ecosystem),
            Some(Scheme::Dpkg | Scheme::Apk | Scheme::Rpm)
        ),
        _ => false,
    }
}

/// Whether `file` holds an OSV record in YAML (by its name).
fn is_yaml(file: &str) -> bool {
    file.ends_with(".yaml") || file.ends_with(".yml")
}

/// Whether an archive or directory member is an OSV record.
fn is_record(name: &str) -> bool {
    name.ends_with(".json") || is_yaml(name)
}

fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    // Serialising strings and vectors of plain enums cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(super) fn import_dir(
    w: &mut Writer<'_>,
    dir: &Path,
    stats: &mut ImportStats,
) -> Result<(), DbError> {
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).display().to_string();
            DbError::Io {
                path,
                source: e.into(),
            }
        })?;
        let path = entry.path();
        if !entry.file_type().is_file() || !is_record(&path.to_string_lossy()) {
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

pub(super) fn import_zip(
    w: &mut Writer<'_>,
    path: &Path,
    stats: &mut ImportStats,
) -> Result<(), DbError> {
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
        if !entry.is_file() || !is_record(&entry_name) {
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
