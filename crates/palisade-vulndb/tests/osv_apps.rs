//! The application ecosystems against real advisories: the Go vulnerability
//! database, the PyPA advisory database (OSV in YAML) and RustSec's OSV
//! export, read from `corpora/osv` beside the repository, imported whole
//! and checked record by record:
//!
//! - every record listed in an INDEX.jsonl imports (JSON and YAML);
//! - for every range of every advisory that is not withdrawn, the
//!   `introduced` version (when not `0`) and every `last_affected` version
//!   match the advisory, and the `fixed` version does not (unless another
//!   range or the `versions` list of the same package covers it);
//! - every version of an explicit `versions` list matches;
//! - withdrawn advisories never match.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use palisade_vulndb::{Db, Match, PackageQuery, Scheme};
use serde_json::Value;

fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/osv");
    assert!(
        dir.join("golang-vulndb/INDEX.jsonl").is_file(),
        "the OSV corpus is not beside the repository (shared/corpora/osv)"
    );
    dir
}

struct Entry {
    path: PathBuf,
    id: String,
    withdrawn: bool,
}

/// The INDEX.jsonl entries of `source` in OSV formats (not RustSec's
/// Markdown sources).
fn index(source: &str) -> Vec<Entry> {
    let dir = corpus().join(source);
    let text = fs::read_to_string(dir.join("INDEX.jsonl")).unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["format"] != "rustsec-md")
        .map(|v| Entry {
            path: dir.join(v["file"].as_str().unwrap()),
            id: v["id"].as_str().unwrap().to_string(),
            withdrawn: !v["withdrawn"].is_null(),
        })
        .collect()
}

/// Every record of `entries` as JSON. The PyPA YAML files are read by
/// the test's own reader, Python's `yaml.BaseLoader` (every scalar a
/// string; Debian's python3-yaml), in one process for all of them, so the
/// test does not trust the crate's YAML reader it checks.
fn records(entries: &[Entry]) -> HashMap<PathBuf, Value> {
    let mut out = HashMap::new();
    let mut yaml: Vec<&Path> = Vec::new();
    for e in entries {
        if e.path.extension().is_some_and(|x| x == "yaml") {
            yaml.push(&e.path);
        } else {
            let text = fs::read_to_string(&e.path).unwrap();
            out.insert(e.path.clone(), serde_json::from_str(&text).unwrap());
        }
    }
    if yaml.is_empty() {
        return out;
    }
    let script = "import sys, json, yaml\nfor p in sys.argv[1:]:\n    print(json.dumps(yaml.load(open(p), Loader=yaml.BaseLoader)))\n";
    let run = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(&yaml)
        .output()
        .expect("Debian's python3 with python3-yaml");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = String::from_utf8(run.stdout).unwrap();
    for (path, line) in yaml.iter().zip(text.lines()) {
        out.insert(path.to_path_buf(), serde_json::from_str(line).unwrap());
    }
    assert_eq!(out.len(), entries.len());
    out
}

fn names(m: &Match) -> impl Iterator<Item = &str> {
    std::iter::once(m.id.as_str()).chain(m.aliases.iter().map(String::as_str))
}

fn hit(db: &Db, eco: &str, name: &str, version: &str, id: &str) -> bool {
    let q = PackageQuery {
        ecosystem: eco,
        name,
        source_name: None,
        version,
    };
    match db.matches(&q) {
        Ok(ms) => ms.iter().any(|m| names(m).any(|n| n == id)),
        Err(e) => panic!("{eco} {name} {version}: {e}"),
    }
}

/// Whether `v` is covered, for package `name`, by some range of `record`
/// other than range `skip.1` of affected entry `skip.0`, or by a versions
/// list (a record may list one package in several entries: the Go
/// database gives each fix its own).
fn covered_elsewhere(
    scheme: Scheme,
    record: &Value,
    name: &str,
    skip: (usize, usize),
    v: &str,
) -> bool {
    record["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, a)| a["package"]["name"] == name)
        .any(|(ai, a)| {
            let listed = a["versions"].as_array().is_some_and(|vs| {
                vs.iter()
                    .any(|x| scheme.compare(x.as_str().unwrap_or(""), v).is_eq())
            });
            listed
                || a["ranges"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .filter(|(ri, r)| (ai, *ri) != skip && r["type"] != "GIT")
                    .any(|(_, r)| in_range(scheme, &r["events"], v))
        })
}

/// The OSV evaluation of one range, written out here with a sort (the
/// crate's own evaluation takes the maximum instead).
fn in_range(scheme: Scheme, events: &Value, v: &str) -> bool {
    let mut evs: Vec<(String, String)> = events
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let (k, x) = e.as_object()?.iter().next()?;
            Some((k.clone(), x.as_str()?.to_string()))
        })
        .collect();
    evs.sort_by(|a, b| {
        if a.1 == "0" && a.0 == "introduced" {
            return Ordering::Less;
        }
        if b.1 == "0" && b.0 == "introduced" {
            return Ordering::Greater;
        }
        scheme.compare(&a.1, &b.1)
    });
    let mut vulnerable = false;
    for (k, x) in &evs {
        let c = if x == "0" && k == "introduced" {
            Ordering::Greater
        } else {
            scheme.compare(v, x)
        };
        match k.as_str() {
            "introduced" if c != Ordering::Less => vulnerable = true,
            "fixed" if c != Ordering::Less => vulnerable = false,
            "last_affected" if c == Ordering::Greater => vulnerable = false,
            _ => {}
        }
    }
    vulnerable
}

struct Tally {
    introduced: usize,
    fixed: usize,
    listed: usize,
    withdrawn: usize,
}

/// Imports `records` (a folder under `source`, or all of it) and checks
/// every record `source`'s INDEX.jsonl lists in OSV form.
fn check_source(db: &mut Db, source: &str, folder: &str) -> Tally {
    let entries = index(source);
    let stats = db.import(corpus().join(source).join(folder)).unwrap();
    assert_eq!(
        stats.records as usize,
        entries.len(),
        "{source}: every indexed record imports"
    );
    let mut t = Tally {
        introduced: 0,
        fixed: 0,
        listed: 0,
        withdrawn: 0,
    };
    let all = records(&entries);
    // What each (ecosystem, package, version) must and must not match,
    // asked of the database once per key.
    let mut expect: HashMap<(String, String, String), Expect> = HashMap::new();
    let mut want = |eco: &str, name: &str, v: &str, id: &str, hit: bool, why: &'static str| {
        let e = expect
            .entry((eco.to_string(), name.to_string(), v.to_string()))
            .or_default();
        if hit { &mut e.hit } else { &mut e.miss }.push((id.to_string(), why));
    };
    let mut seen = HashSet::new();
    for e in &entries {
        if !seen.insert(e.id.clone()) {
            continue;
        }
        let r = &all[&e.path];
        assert_eq!(r["id"], e.id.as_str());
        for (ai, a) in r["affected"].as_array().into_iter().flatten().enumerate() {
            let eco = a["package"]["ecosystem"].as_str().unwrap();
            let name = a["package"]["name"].as_str().unwrap();
            let scheme = Scheme::for_ecosystem(eco).unwrap();
            if e.withdrawn {
                for r in a["ranges"].as_array().into_iter().flatten() {
                    for ev in r["events"].as_array().into_iter().flatten() {
                        if let Some(v) = ev["introduced"].as_str().filter(|v| *v != "0") {
                            want(eco, name, v, &e.id, false, "withdrawn");
                            t.withdrawn += 1;
                        }
                    }
                }
                continue;
            }
            for (i, range) in a["ranges"].as_array().into_iter().flatten().enumerate() {
                if range["type"] == "GIT" {
                    continue;
                }
                for ev in range["events"].as_array().into_iter().flatten() {
                    let (k, v) = ev.as_object().unwrap().iter().next().unwrap();
                    let v = v.as_str().unwrap();
                    if v != "0" && !scheme.is_valid(v) {
                        continue; // a typo upstream: never an installed version
                    }
                    match k.as_str() {
                        "introduced" | "last_affected" if v != "0" => {
                            if !in_range(scheme, &range["events"], v) {
                                continue; // an empty range (introduced == fixed)
                            }
                            want(eco, name, v, &e.id, true, "introduced or last affected");
                            t.introduced += 1;
                        }
                        "fixed" => {
                            if covered_elsewhere(scheme, r, name, (ai, i), v)
                                || in_range(scheme, &range["events"], v)
                            {
                                continue;
                            }
                            want(eco, name, v, &e.id, false, "its own fix");
                            t.fixed += 1;
                        }
                        _ => {}
                    }
                }
            }
            for v in a["versions"].as_array().into_iter().flatten() {
                let v = v.as_str().unwrap();
                if !scheme.is_valid(v) {
                    continue;
                }
                want(eco, name, v, &e.id, true, "listed");
                t.listed += 1;
            }
        }
    }
    for ((eco, name, v), e) in &expect {
        let q = PackageQuery {
            ecosystem: eco,
            name,
            source_name: None,
            version: v,
        };
        let ms = db
            .matches(&q)
            .unwrap_or_else(|err| panic!("{eco} {name} {v}: {err}"));
        let got: HashSet<&str> = ms.iter().flat_map(names).collect();
        for (id, why) in &e.hit {
            assert!(
                got.contains(id.as_str()),
                "{eco} {name} {v}: {id} not matched ({why})"
            );
        }
        for (id, why) in &e.miss {
            assert!(
                !got.contains(id.as_str()),
                "{eco} {name} {v}: {id} matched ({why})"
            );
        }
    }
    eprintln!("{source}: {} queries", expect.len());
    t
}

#[derive(Default)]
struct Expect {
    hit: Vec<(String, &'static str)>,
    miss: Vec<(String, &'static str)>,
}

#[test]
fn go_vulndb_matches_its_own_ranges() {
    let mut db = Db::open_in_memory().unwrap();
    let t = check_source(&mut db, "golang-vulndb", "data");
    eprintln!(
        "Go: {} introduced, {} fixed, {} withdrawn checks",
        t.introduced, t.fixed, t.withdrawn
    );
    assert!(
        t.introduced > 1500 && t.fixed > 5000,
        "{} {}",
        t.introduced,
        t.fixed
    );
    // The Go toolchain as a binary names it: go1.19.8 is stdlib 1.19.8,
    // before the fix of GO-2023-1878 (net/http, fixed in 1.19.11).
    assert!(hit(&db, "Go", "stdlib", "1.19.8", "GO-2023-1878"));
    assert!(!hit(&db, "Go", "stdlib", "1.19.11", "GO-2023-1878"));
    // Module versions as binaries write them: with the v, pseudo-versions.
    assert!(hit(
        &db,
        "Go",
        "golang.org/x/text",
        "v0.3.5",
        "GO-2021-0113"
    ));
    assert!(hit(
        &db,
        "Go",
        "golang.org/x/text",
        "v0.0.0-20170915032832-14c0d48ead0c",
        "GO-2020-0015"
    ));
    assert!(!hit(
        &db,
        "Go",
        "golang.org/x/text",
        "v0.3.8",
        "GO-2022-1059"
    ));
}

#[test]
fn pypa_yaml_advisories_match_their_ranges_and_versions() {
    let mut db = Db::open_in_memory().unwrap();
    let t = check_source(&mut db, "pypa-advisory-database", "vulns");
    eprintln!(
        "PyPI: {} introduced, {} fixed, {} listed",
        t.introduced, t.fixed, t.listed
    );
    assert!(
        t.listed > 100_000 && t.fixed > 1000,
        "{} {}",
        t.listed,
        t.fixed
    );
    // Names as installed distributions spell them (PEP 503).
    assert!(hit(&db, "PyPI", "Jinja2", "2.10", "PYSEC-2019-217"));
    assert!(!hit(&db, "PyPI", "jinja2", "2.10.1", "PYSEC-2019-217"));
}

#[test]
fn rustsec_osv_export_matches_its_ranges() {
    let mut db = Db::open_in_memory().unwrap();
    let t = check_source(&mut db, "rustsec-advisory-db", "osv-branch");
    eprintln!("crates.io: {} introduced, {} fixed", t.introduced, t.fixed);
    assert!(t.fixed > 800, "{}", t.fixed);
}
