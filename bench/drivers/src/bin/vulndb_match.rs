//! Benchmark driver of `bench/vulndb/run.sh`: imports OSV folders into a
//! vulnerability database file the way `palisade db import` does, then looks
//! up N components with `Db::matches`, the call `palisade image` makes for
//! every package it finds.
//!
//! Two sets of N components, each looked up once after an untimed pass:
//!
//! - `image`: as in images, where most packages have no advisory: every
//!   package that the advisories name once, at a version they name (an
//!   `introduced` other than `0`, a `fixed`, a `last_affected` or a listed
//!   version), and packages that no advisory names for the rest;
//! - `worst`: every component at a version the advisories name, cycled
//!   when the corpus has fewer than N: the most advised packages (Django,
//!   TensorFlow: over a hundred records each) come up again and again.
//!
//! Both in a fixed pseudo-random order. The floor is the same look-ups as
//! bare SQLite: the same indexed query, every row's columns fetched as
//! text, no JSON decoded and no version compared: what any matcher over
//! this database pays.
//!
//! Usage: `vulndb_match --db FILE [--queries N] [--sets image,worst] FOLDER...`
//! Prints one line of `key=value` pairs on stdout.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use palisade_vulndb::{Db, PackageQuery, Scheme};
use rusqlite::{params, Connection};
use serde_json::Value;

#[derive(Clone)]
struct Component {
    ecosystem: String,
    ecosystem_key: String,
    package: String,
    version: String,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("vulndb_match: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut db_path: Option<PathBuf> = None;
    let mut queries = 50_000usize;
    let mut sets = "image,worst".to_string();
    let mut folders = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--db" => db_path = args.next().map(PathBuf::from),
            "--queries" => {
                queries = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--queries takes a number")?
            }
            "--sets" => sets = args.next().ok_or("--sets takes image,worst")?,
            _ if a.starts_with("--") => return Err(format!("unknown option {a}")),
            _ => folders.push(PathBuf::from(a)),
        }
    }
    let db_path = db_path.ok_or("--db FILE is needed")?;
    if folders.is_empty() {
        return Err("no OSV folder given".into());
    }
    let _ = std::fs::remove_file(&db_path);

    let t = Instant::now();
    let mut db = Db::open(&db_path).map_err(|e| e.to_string())?;
    let mut records = 0;
    for f in &folders {
        records += db.import(f).map_err(|e| e.to_string())?.records;
    }
    let import_s = t.elapsed().as_secs_f64();
    let advisories = db.advisory_count().map_err(|e| e.to_string())?;

    let conn = Connection::open(&db_path).map_err(|e| e.to_string())?;
    // The connection set up as the database's own.
    conn.pragma_update(None, "cache_size", -palisade_vulndb::CACHE_KIB)
        .map_err(|e| e.to_string())?;
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(|e| e.to_string())?;
    let all = components(&conn)?;

    // Image-like: every package with advisories once, at an affected
    // version; the rest packages no advisory names.
    let mut seen = HashSet::new();
    let mut image: Vec<Component> = all
        .iter()
        .filter(|c| seen.insert((c.ecosystem_key.clone(), c.package.clone())))
        .take(queries)
        .cloned()
        .collect();
    let advised = image.len();
    let ecosystems = ["Go", "PyPI", "crates.io"];
    for i in 0..queries - advised {
        let eco = ecosystems[i % ecosystems.len()];
        image.push(Component {
            ecosystem: eco.into(),
            ecosystem_key: eco.into(),
            package: format!("absent-package-{i}"),
            version: "1.2.3".into(),
        });
    }
    shuffle(&mut image);
    // Worst case: every component at an advised version, cycled.
    let worst: Vec<Component> = all.iter().cycle().take(queries).cloned().collect();

    let mut line = format!(
        "records={records} advisories={advisories} import_s={import_s:.2} queries={queries} \
         advised_packages={advised} worst_distinct={}",
        all.len().min(queries)
    );
    for (name, work) in [("image", &image), ("worst", &worst)] {
        if !sets.split(',').any(|s| s == name) {
            continue;
        }
        // One untimed pass of each, so that both find the pages in memory.
        lookups(&db, work)?;
        floor(&conn, work)?;
        let t = Instant::now();
        let (matched, hits) = lookups(&db, work)?;
        let match_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let rows = floor(&conn, work)?;
        let floor_s = t.elapsed().as_secs_f64();
        line += &format!(
            " {name}_matched={matched} {name}_matches={hits} {name}_rows={rows} {name}_match_s={match_s:.3} \
             {name}_floor_s={floor_s:.3} {name}_ratio={:.2} {name}_per_query_us={:.1}",
            match_s / floor_s,
            match_s * 1e6 / work.len() as f64
        );
    }
    println!("{line}");
    Ok(())
}

/// A fixed pseudo-random order (xorshift), so that look-ups do not walk the
/// index in order.
fn shuffle<T>(v: &mut [T]) {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..v.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.swap(i, (s % (i as u64 + 1)) as usize);
    }
}

/// Components at versions the advisories name, in a fixed shuffled order.
fn components(conn: &Connection) -> Result<Vec<Component>, String> {
    let sql = |e: rusqlite::Error| e.to_string();
    let mut stmt = conn
        .prepare(
            "SELECT f.ecosystem, f.ecosystem_key, f.package, f.ranges, f.versions
             FROM affected f JOIN advisories a ON a.id = f.advisory_id
             WHERE a.withdrawn IS NULL ORDER BY f.rowid",
        )
        .map_err(sql)?;
    let mut out = Vec::new();
    let mut rows = stmt.query([]).map_err(sql)?;
    while let Some(r) = rows.next().map_err(sql)? {
        let ecosystem: String = r.get(0).map_err(sql)?;
        let ecosystem_key: String = r.get(1).map_err(sql)?;
        let package: String = r.get(2).map_err(sql)?;
        let ranges: Value = serde_json::from_str(&r.get::<_, String>(3).map_err(sql)?)
            .map_err(|e| e.to_string())?;
        let versions: Value = serde_json::from_str(&r.get::<_, String>(4).map_err(sql)?)
            .map_err(|e| e.to_string())?;
        let Some(scheme) = Scheme::for_ecosystem(&ecosystem) else {
            continue;
        };
        let events = ranges
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|o| o.values());
        let listed = versions.as_array().into_iter().flatten();
        for v in events.chain(listed).filter_map(Value::as_str) {
            if v != "0" && scheme.is_valid(v) {
                out.push(Component {
                    ecosystem: ecosystem.clone(),
                    ecosystem_key: ecosystem_key.clone(),
                    package: package.clone(),
                    version: v.to_string(),
                });
            }
        }
    }
    shuffle(&mut out);
    if out.is_empty() {
        return Err("the folders hold no advisory with versions".into());
    }
    Ok(out)
}

/// `Db::matches` for every component: (components with a match, matches).
fn lookups(db: &Db, work: &[Component]) -> Result<(usize, usize), String> {
    let (mut matched, mut hits) = (0, 0);
    for c in work {
        let m = db
            .matches(&PackageQuery {
                ecosystem: &c.ecosystem,
                name: &c.package,
                source_name: None,
                version: &c.version,
            })
            .map_err(|e| e.to_string())?;
        matched += usize::from(!m.is_empty());
        hits += m.len();
    }
    Ok((matched, hits))
}

/// The same indexed query as bare SQLite: rows fetched, nothing decoded.
fn floor(conn: &Connection, work: &[Component]) -> Result<usize, String> {
    let sql = |e: rusqlite::Error| e.to_string();
    let mut stmt = conn
        .prepare_cached(
            "SELECT a.id, a.aliases, a.summary, a.severity, a.severity_source,
                    f.ecosystem, f.ranges, f.versions, f.severity, f.severity_source
             FROM affected f JOIN advisories a ON a.id = f.advisory_id
             WHERE f.ecosystem_key = ?1 AND f.package = ?2 AND a.withdrawn IS NULL",
        )
        .map_err(sql)?;
    let mut n = 0;
    let mut bytes = 0usize;
    for c in work {
        let mut rows = stmt
            .query(params![c.ecosystem_key, c.package])
            .map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            for i in 0..10 {
                if let Ok(rusqlite::types::ValueRef::Text(t)) = r.get_ref(i) {
                    bytes += t.len();
                }
            }
            n += 1;
        }
    }
    std::hint::black_box(bytes);
    Ok(n)
}
