//! The database end to end: OSV fixtures written as JSON files and as a zip
//! archive, imported, and matched as palisade's CLI would query them.

use std::fs;
use std::io::Write;
use std::path::Path;

use palisade_vulndb::{Db, DbError, ImportStats, Match, PackageQuery, Severity};
use serde_json::{json, Value};

fn range(events: Value) -> Value {
    json!([{ "type": "ECOSYSTEM", "events": events }])
}

fn affected(eco: &str, name: &str, ranges: Value) -> Value {
    json!({ "package": { "ecosystem": eco, "name": name }, "ranges": ranges })
}

/// The fixture: (file name, record).
fn fixture() -> Vec<(&'static str, Value)> {
    vec![
        // Debian: a DSA for the openssl *source* package, fixed in a ~ version.
        (
            "debian/DSA-0001-1.json",
            json!({
                "id": "DSA-0001-1", "modified": "2024-01-01T00:00:00Z", "published": "2023-12-01T00:00:00Z",
                "aliases": ["CVE-2023-0001"], "summary": "openssl security update",
                "affected": [{
                    "package": { "ecosystem": "Debian:12", "name": "openssl" },
                    "ranges": range(json!([{ "introduced": "0" }, { "fixed": "3.0.11-1~deb12u2" }])),
                    "ecosystem_specific": { "urgency": "high" }
                }]
            }),
        ),
        // Debian: the CVE itself in `upstream`, a starred urgency, a digit-run revision.
        (
            "debian/DEBIAN-CVE-2024-0002.json",
            json!({
                "id": "DEBIAN-CVE-2024-0002", "modified": "2024-02-01T00:00:00Z",
                "upstream": ["CVE-2024-0002"], "details": "glibc: stack overflow\nin something",
                "affected": [{
                    "package": { "ecosystem": "Debian:12", "name": "glibc" },
                    "ranges": range(json!([{ "introduced": "0" }, { "fixed": "2.36-9+deb12u10" }])),
                    "ecosystem_specific": { "urgency": "low**" }
                }]
            }),
        ),
        // Debian: a fix with an epoch; an explicit versions list.
        (
            "debian/DEBIAN-CVE-2024-0003.json",
            json!({
                "id": "DEBIAN-CVE-2024-0003", "modified": "2024-02-01T00:00:00Z",
                "affected": [
                    affected("Debian:12", "perl", range(json!([{ "introduced": "0" }, { "fixed": "1:2.0-1" }]))),
                    { "package": { "ecosystem": "Debian:12", "name": "zlib" }, "versions": ["1:1.2.13.dfsg-1"] }
                ]
            }),
        ),
        // Withdrawn: kept, never matched.
        (
            "debian/DEBIAN-CVE-2024-0005.json",
            json!({
                "id": "DEBIAN-CVE-2024-0005", "modified": "2024-03-01T00:00:00Z",
                "withdrawn": "2024-03-01T00:00:00Z",
                "affected": [affected("Debian:12", "openssl", range(json!([{ "introduced": "0" }])))]
            }),
        ),
        // Alpine: origin package, -r revisions, _p suffix.
        (
            "alpine/ALPINE-CVE-2024-0010.json",
            json!({
                "id": "ALPINE-CVE-2024-0010", "modified": "2024-04-01T00:00:00Z", "aliases": ["CVE-2024-0010"],
                "affected": [
                    affected("Alpine:v3.20", "openssl", range(json!([{ "introduced": "0" }, { "fixed": "3.3.2-r0" }]))),
                    affected("Alpine:v3.20", "openssh", range(json!([{ "introduced": "0" }, { "fixed": "9.7_p1-r0" }])))
                ]
            }),
        ),
        // Duplicate id: the newer record must win whichever file is read first
        // (files are read in name order: the newer one comes first here).
        (
            "alpine/a-newer.json",
            json!({
                "id": "ALPINE-CVE-2024-0011", "modified": "2024-05-02T00:00:00.5Z",
                "affected": [affected("Alpine:v3.20", "musl", range(json!([{ "introduced": "0" }, { "fixed": "1.2.5-r2" }])))]
            }),
        ),
        (
            "alpine/b-older.json",
            json!({
                "id": "ALPINE-CVE-2024-0011", "modified": "2024-05-02T00:00:00Z",
                "affected": [affected("Alpine:v3.20", "musl", range(json!([{ "introduced": "0" }, { "fixed": "1.2.5-r1" }])))]
            }),
        ),
        // Red Hat: binary rpm names, epoch in the fix, two streams, a CVSS vector.
        (
            "redhat/RHSA-2024:0020.json",
            json!({
                "id": "RHSA-2024:0020", "modified": "2024-06-01T00:00:00Z", "aliases": ["CVE-2024-0020"],
                "summary": "openssl security update",
                "severity": [{ "type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
                "affected": [
                    affected("Red Hat:enterprise_linux:9::baseos", "openssl-libs",
                        range(json!([{ "introduced": "0" }, { "fixed": "1:3.0.7-27.el9" }]))),
                    affected("Red Hat:enterprise_linux:9::appstream", "openssl-libs",
                        range(json!([{ "introduced": "0" }, { "fixed": "1:3.0.7-28.el9" }])))
                ]
            }),
        ),
        // Ubuntu: LTS ecosystem, last_affected (no fix yet), Ubuntu's own rating.
        (
            "ubuntu/UBUNTU-CVE-2024-0030.json",
            json!({
                "id": "UBUNTU-CVE-2024-0030", "modified": "2024-07-01T00:00:00Z", "upstream": ["CVE-2024-0030"],
                "severity": [{ "type": "Ubuntu", "score": "medium" }],
                "affected": [affected("Ubuntu:22.04:LTS", "curl",
                    range(json!([{ "introduced": "0" }, { "last_affected": "7.81.0-1ubuntu1.15" }])))]
            }),
        ),
        // Not a record: ignored.
        ("README.txt", json!("not json at all")),
    ]
}

fn write_dir(dir: &Path, files: &[(&str, Value)]) {
    for (name, v) in files {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    }
}

fn write_zip(path: &Path, files: &[(&str, Value)]) {
    let mut zip = zip::ZipWriter::new(fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, v) in files {
        // OSV archives are flat: one <id>.json per record.
        let flat = name.rsplit('/').next().unwrap();
        zip.start_file(flat, opts).unwrap();
        zip.write_all(&serde_json::to_vec(v).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

fn imported() -> (tempfile::TempDir, Db, ImportStats) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("osv");
    write_dir(&dir, &fixture());
    let mut db = Db::open(tmp.path().join("cache/vuln.db")).unwrap();
    let stats = db.import(&dir).unwrap();
    (tmp, db, stats)
}

fn q<'a>(
    eco: &'a str,
    name: &'a str,
    source: Option<&'a str>,
    version: &'a str,
) -> PackageQuery<'a> {
    PackageQuery {
        ecosystem: eco,
        name,
        source_name: source,
        version,
    }
}

fn ids(m: &[Match]) -> Vec<&str> {
    m.iter().map(|m| m.id.as_str()).collect()
}

#[test]
fn import_counts_records_and_duplicates() {
    let (_tmp, db, stats) = imported();
    assert_eq!(
        stats,
        ImportStats {
            records: 9,
            inserted: 8,
            updated: 0,
            unchanged: 1,
            withdrawn: 1
        }
    );
    assert_eq!(db.advisory_count().unwrap(), 8);
}

#[test]
fn importing_twice_changes_nothing() {
    let (tmp, mut db, _) = imported();
    let again = db.import(tmp.path().join("osv")).unwrap();
    assert_eq!(
        again,
        ImportStats {
            records: 9,
            inserted: 0,
            updated: 0,
            unchanged: 9,
            withdrawn: 1
        }
    );
    assert_eq!(db.advisory_count().unwrap(), 8);
}

#[test]
fn a_newer_record_replaces_the_stored_one() {
    let (tmp, mut db, _) = imported();
    let newer = tmp.path().join("newer");
    write_dir(
        &newer,
        &[(
            "x.json",
            json!({
                "id": "DSA-0001-1", "modified": "2024-09-01T00:00:00Z", "summary": "revised",
                "affected": [affected("Debian:12", "openssl", range(json!([{ "introduced": "0" }, { "fixed": "3.0.11-1~deb12u3" }])))]
            }),
        )],
    );
    let stats = db.import(&newer).unwrap();
    assert_eq!((stats.updated, stats.inserted), (1, 0));
    let m = db
        .matches(&q(
            "Debian:12",
            "libssl3",
            Some("openssl"),
            "3.0.11-1~deb12u2",
        ))
        .unwrap();
    assert_eq!(ids(&m), ["DSA-0001-1"]);
    assert_eq!(m[0].summary, "revised");
    assert_eq!(m[0].fixed_version.as_deref(), Some("3.0.11-1~deb12u3"));
}

#[test]
fn debian_matches_the_source_package_with_its_fix() {
    let (_tmp, db, _) = imported();
    let m = db
        .matches(&q(
            "Debian:12",
            "libssl3",
            Some("openssl"),
            "3.0.11-1~deb12u1",
        ))
        .unwrap();
    assert_eq!(
        ids(&m),
        ["DSA-0001-1"],
        "the withdrawn advisory must not match"
    );
    let m = &m[0];
    assert_eq!(m.aliases, ["CVE-2023-0001"]);
    assert_eq!(m.fixed_version.as_deref(), Some("3.0.11-1~deb12u2"));
    assert_eq!(m.installed_version, "3.0.11-1~deb12u1");
    assert_eq!(m.package, "openssl");
    assert_eq!(m.ecosystem, "Debian:12");
    assert_eq!(m.severity, Severity::High);
    assert_eq!(m.severity_source.as_deref(), Some("urgency: high"));
    assert_eq!(m.summary, "openssl security update");
}

#[test]
fn debian_binary_name_without_source_does_not_match() {
    let (_tmp, db, _) = imported();
    assert!(db
        .matches(&q("Debian:12", "libssl3", None, "3.0.11-1~deb12u1"))
        .unwrap()
        .is_empty());
    // A binary named like its source matches without a source name.
    assert_eq!(
        ids(&db
            .matches(&q("Debian:12", "openssl", None, "3.0.0-1"))
            .unwrap()),
        ["DSA-0001-1"]
    );
}

#[test]
fn debian_fixed_or_newer_is_not_affected() {
    let (_tmp, db, _) = imported();
    for v in ["3.0.11-1~deb12u2", "3.0.11-1", "3.0.13-1~deb12u1"] {
        assert!(
            db.matches(&q("Debian:12", "libssl3", Some("openssl"), v))
                .unwrap()
                .is_empty(),
            "{v}"
        );
    }
    // Another Debian release is another ecosystem.
    assert!(db
        .matches(&q("Debian:11", "libssl3", Some("openssl"), "1.0"))
        .unwrap()
        .is_empty());
}

#[test]
fn debian_digit_runs_upstream_ids_and_details_summary() {
    let (_tmp, db, _) = imported();
    let m = db
        .matches(&q("Debian:12", "libc6", Some("glibc"), "2.36-9+deb12u4"))
        .unwrap();
    assert_eq!(ids(&m), ["DEBIAN-CVE-2024-0002"]);
    assert_eq!(m[0].aliases, ["CVE-2024-0002"]);
    assert_eq!(m[0].summary, "glibc: stack overflow");
    assert_eq!(m[0].severity, Severity::Low);
    assert_eq!(m[0].fixed_version.as_deref(), Some("2.36-9+deb12u10"));
    assert!(db
        .matches(&q("Debian:12", "libc6", Some("glibc"), "2.36-9+deb12u10"))
        .unwrap()
        .is_empty());
}

#[test]
fn debian_epochs_and_explicit_versions() {
    let (_tmp, db, _) = imported();
    // No epoch is epoch 0, below 1:2.0-1 whatever the upstream version.
    let m = db
        .matches(&q("Debian:12", "perl-base", Some("perl"), "5.36.0-7"))
        .unwrap();
    assert_eq!(ids(&m), ["DEBIAN-CVE-2024-0003"]);
    assert_eq!(m[0].fixed_version.as_deref(), Some("1:2.0-1"));
    assert!(db
        .matches(&q("Debian:12", "perl-base", Some("perl"), "1:2.0-1"))
        .unwrap()
        .is_empty());
    // Explicit versions match exactly, and carry no fix.
    let m = db
        .matches(&q("Debian:12", "zlib1g", Some("zlib"), "1:1.2.13.dfsg-1"))
        .unwrap();
    assert_eq!(ids(&m), ["DEBIAN-CVE-2024-0003"]);
    assert_eq!(m[0].fixed_version, None);
    assert!(db
        .matches(&q("Debian:12", "zlib1g", Some("zlib"), "1:1.2.13.dfsg-2"))
        .unwrap()
        .is_empty());
}

#[test]
fn alpine_revisions_and_p_suffix() {
    let (_tmp, db, _) = imported();
    let m = db
        .matches(&q(
            "Alpine:v3.20",
            "libcrypto3",
            Some("openssl"),
            "3.3.1-r3",
        ))
        .unwrap();
    assert_eq!(ids(&m), ["ALPINE-CVE-2024-0010"]);
    assert_eq!(m[0].fixed_version.as_deref(), Some("3.3.2-r0"));
    assert_eq!(m[0].severity, Severity::Unknown);
    for v in ["3.3.2-r0", "3.3.2-r1"] {
        assert!(db
            .matches(&q("Alpine:v3.20", "libcrypto3", Some("openssl"), v))
            .unwrap()
            .is_empty());
    }
    // 9.7 < 9.7_p1: affected; 9.7_p1 and 9.7_p2 are not.
    let m = db
        .matches(&q(
            "Alpine:v3.20",
            "openssh-client",
            Some("openssh"),
            "9.7-r0",
        ))
        .unwrap();
    assert_eq!(m[0].fixed_version.as_deref(), Some("9.7_p1-r0"));
    for v in ["9.7_p1-r0", "9.7_p2-r0"] {
        assert!(db
            .matches(&q("Alpine:v3.20", "openssh-client", Some("openssh"), v))
            .unwrap()
            .is_empty());
    }
}

#[test]
fn duplicate_ids_keep_the_newest_record() {
    let (_tmp, db, _) = imported();
    let m = db
        .matches(&q("Alpine:v3.20", "musl", None, "1.2.5-r1"))
        .unwrap();
    assert_eq!(ids(&m), ["ALPINE-CVE-2024-0011"]);
    assert_eq!(m[0].fixed_version.as_deref(), Some("1.2.5-r2"));
}

#[test]
fn red_hat_epochs_streams_and_cvss() {
    let (_tmp, db, _) = imported();
    for eco in ["Red Hat", "Red Hat:enterprise_linux:9"] {
        let m = db
            .matches(&q(eco, "openssl-libs", Some("openssl"), "1:3.0.7-24.el9"))
            .unwrap();
        assert_eq!(
            ids(&m),
            ["RHSA-2024:0020"],
            "{eco}: one match for two streams"
        );
        assert_eq!(m[0].fixed_version.as_deref(), Some("1:3.0.7-27.el9"));
        assert_eq!(m[0].package, "openssl-libs", "Red Hat matches binary names");
        assert_eq!(m[0].severity, Severity::Critical);
    }
    // Epoch 0 (implicit) is below epoch 1 even with a higher version.
    let m = db
        .matches(&q("Red Hat", "openssl-libs", None, "3.0.8-1.el9"))
        .unwrap();
    assert_eq!(ids(&m), ["RHSA-2024:0020"]);
    // At the baseos fix: still below the appstream one.
    let m = db
        .matches(&q("Red Hat", "openssl-libs", None, "1:3.0.7-27.el9"))
        .unwrap();
    assert_eq!(m[0].fixed_version.as_deref(), Some("1:3.0.7-28.el9"));
    assert!(db
        .matches(&q("Red Hat", "openssl-libs", None, "1:3.0.7-28.el9"))
        .unwrap()
        .is_empty());
    assert!(db
        .matches(&q(
            "Red Hat:enterprise_linux:8",
            "openssl-libs",
            None,
            "1:1.0-1.el8"
        ))
        .unwrap()
        .is_empty());
}

#[test]
fn ubuntu_lts_and_last_affected() {
    let (_tmp, db, _) = imported();
    for eco in ["Ubuntu:22.04", "Ubuntu:22.04:LTS"] {
        let m = db
            .matches(&q(eco, "libcurl4", Some("curl"), "7.81.0-1ubuntu1.15"))
            .unwrap();
        assert_eq!(ids(&m), ["UBUNTU-CVE-2024-0030"], "{eco}");
        assert_eq!(m[0].fixed_version, None);
        assert_eq!(m[0].severity, Severity::Medium);
        assert_eq!(m[0].aliases, ["CVE-2024-0030"]);
    }
    assert!(db
        .matches(&q(
            "Ubuntu:22.04",
            "libcurl4",
            Some("curl"),
            "7.81.0-1ubuntu1.16"
        ))
        .unwrap()
        .is_empty());
    assert!(db
        .matches(&q(
            "Ubuntu:24.04",
            "libcurl4",
            Some("curl"),
            "7.81.0-1ubuntu1.15"
        ))
        .unwrap()
        .is_empty());
}

#[test]
fn zip_archive_imports_like_the_directory() {
    let (tmp, dir_db, _) = imported();
    let archive = tmp.path().join("all.zip");
    write_zip(&archive, &fixture());
    let mut db = Db::open_in_memory().unwrap();
    let stats = db.import(&archive).unwrap();
    assert_eq!((stats.records, stats.inserted), (9, 8));
    let queries = [
        q("Debian:12", "libssl3", Some("openssl"), "3.0.11-1~deb12u1"),
        q("Alpine:v3.20", "musl", None, "1.2.5-r1"),
        q("Red Hat", "openssl-libs", None, "1:3.0.7-24.el9"),
        q(
            "Ubuntu:22.04",
            "libcurl4",
            Some("curl"),
            "7.81.0-1ubuntu1.15",
        ),
    ];
    for query in &queries {
        let (a, b) = (db.matches(query).unwrap(), dir_db.matches(query).unwrap());
        assert!(!a.is_empty());
        assert_eq!(a, b, "{query:?}");
    }
    assert_eq!(db.import(&archive).unwrap().unchanged, 9);
}

#[test]
fn a_bad_file_names_itself_and_leaves_the_db_unchanged() {
    let (tmp, mut db, _) = imported();
    let bad = tmp.path().join("bad");
    write_dir(
        &bad,
        &[(
            "a-good.json",
            json!({
                "id": "NEW-1", "modified": "2024-01-01T00:00:00Z",
                "affected": [affected("Debian:12", "bash", range(json!([{ "introduced": "0" }])))]
            }),
        )],
    );
    fs::write(bad.join("broken.json"), "{ \"id\": \"X\", ").unwrap();
    let err = db.import(&bad).unwrap_err();
    assert!(matches!(err, DbError::Parse { .. }), "{err:?}");
    assert!(err.to_string().contains("broken.json"), "{err}");
    // Rolled back: the good file before it was not kept either.
    assert_eq!(db.advisory_count().unwrap(), 8);
    assert!(db
        .matches(&q("Debian:12", "bash", None, "5.2-1"))
        .unwrap()
        .is_empty());
}

#[test]
fn a_record_without_modified_is_an_error_naming_the_zip_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("all.zip");
    write_zip(
        &archive,
        &[("X-1.json", json!({ "id": "X-1", "affected": [] }))],
    );
    let err = Db::open_in_memory()
        .unwrap()
        .import(&archive)
        .unwrap_err()
        .to_string();
    assert!(err.contains("all.zip: entry X-1.json"), "{err}");
    assert!(err.contains("modified"), "{err}");
}

#[test]
fn a_file_that_is_not_a_zip_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("all.zip");
    fs::write(&path, b"this is not a zip").unwrap();
    let err = Db::open_in_memory().unwrap().import(&path).unwrap_err();
    assert!(matches!(err, DbError::Zip { .. }), "{err:?}");
    assert!(err.to_string().contains("all.zip"), "{err}");
    let missing = Db::open_in_memory()
        .unwrap()
        .import(tmp.path().join("nope"))
        .unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
}

#[test]
fn invalid_installed_versions_and_unknown_ecosystems_are_errors() {
    let (_tmp, db, _) = imported();
    let err = db
        .matches(&q("Debian:12", "x", None, "not a version"))
        .unwrap_err();
    assert!(matches!(err, DbError::InvalidVersion { .. }), "{err:?}");
    let err = db
        .matches(&q("Alpine:v3.20", "x", None, "1.0-1"))
        .unwrap_err();
    assert!(err.to_string().contains("apk"), "{err}");
    let err = db.matches(&q("Hex", "x", None, "1.0.0")).unwrap_err();
    assert!(matches!(err, DbError::UnsupportedEcosystem(_)), "{err:?}");
    let err = db
        .matches(&q("PyPI", "x", None, "not a version"))
        .unwrap_err();
    assert!(err.to_string().contains("pep440"), "{err}");
}

#[test]
fn records_of_one_vulnerability_are_one_match_and_yaml_imports() {
    // A PyPA record in YAML (plain scalars that a YAML 1.1 loader would
    // make numbers and dates), and the GitHub record of the same CVE with
    // another fix and a higher severity: one match, both ids named.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("osv");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("PYSEC-2099-1.yaml"),
        "id: PYSEC-2099-1\nmodified: 2024-01-01T00:00:00Z\naliases:\n- CVE-2099-1\nsummary: one\naffected:\n- package:\n    ecosystem: PyPI\n    name: pyyaml\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: \"0\"\n    - fixed: 1.10\n  - type: GIT\n    repo: https://example.com/x\n    events:\n    - introduced: 0123abcd\n  versions:\n  - 1.9\n",
    )
    .unwrap();
    let ghsa = json!({
        "id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2099-1"],
        "summary": "two", "database_specific": {"severity": "CRITICAL"},
        "affected": [{"package": {"ecosystem": "PyPI", "name": "PyYAML"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.10.1"}]}]}]
    });
    fs::write(dir.join("GHSA-aaaa-bbbb-cccc.json"), ghsa.to_string()).unwrap();
    let mut db = Db::open_in_memory().unwrap();
    assert_eq!(db.import(&dir).unwrap().records, 2);
    let ms = db.matches(&q("PyPI", "pyYAML", None, "1.9.0")).unwrap();
    assert_eq!(ms.len(), 1, "{ms:#?}");
    let m = &ms[0];
    assert_eq!(m.id, "GHSA-aaaa-bbbb-cccc");
    assert_eq!(m.aliases, ["CVE-2099-1", "PYSEC-2099-1"]);
    assert_eq!(m.severity, Severity::Critical);
    // 1.10 (not 1.1: the YAML scalar stays text) fixes one record, 1.10.1 both.
    assert_eq!(m.fixed_version.as_deref(), Some("1.10.1"));
    let ms = db.matches(&q("PyPI", "pyyaml", None, "1.10")).unwrap();
    assert_eq!(ms.len(), 1);
    assert!(db
        .matches(&q("PyPI", "pyyaml", None, "1.10.1"))
        .unwrap()
        .is_empty());
}

#[test]
fn the_database_persists_across_opens() {
    let (tmp, db, _) = imported();
    drop(db);
    let db = Db::open(tmp.path().join("cache/vuln.db")).unwrap();
    assert_eq!(db.advisory_count().unwrap(), 8);
}

#[cfg(feature = "download")]
#[tokio::test]
async fn update_from_an_unreachable_mirror_names_the_url() {
    let client = reqwest::Client::new();
    let mut db = Db::open_in_memory().unwrap();
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let err = db
        .update_from("http://127.0.0.1:9/osv", &["Red Hat"], &client)
        .await
        .unwrap_err();
    assert!(matches!(err, DbError::Download { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("http://127.0.0.1:9/osv/Red%20Hat/all.zip"),
        "{err}"
    );
    assert_eq!(db.advisory_count().unwrap(), 0);
}

#[cfg(feature = "download")]
#[test]
fn archive_urls_follow_the_osv_bucket_layout() {
    let url = palisade_vulndb::archive_url(palisade_vulndb::DEFAULT_OSV_URL, "Debian").unwrap();
    assert_eq!(
        url.as_str(),
        "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip"
    );
    let url = palisade_vulndb::archive_url("https://mirror.example/osv/", "Red Hat").unwrap();
    assert_eq!(url.as_str(), "https://mirror.example/osv/Red%20Hat/all.zip");
    assert!(palisade_vulndb::archive_url("not a url", "Debian").is_err());
}

#[test]
fn listed_versions_a_range_covers_are_not_stored_and_still_match() {
    // PyPI records enumerate their ranges in `versions`; the import keeps
    // only the listed versions no range holds. The matches are the same:
    // in the range (with its fix), listed outside it (no fix), equal to a
    // listed version by PEP 440 (3.0.0 is 3.0), and nothing else.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("osv");
    fs::create_dir_all(&dir).unwrap();
    let rec = json!({
        "id": "PYSEC-2099-7", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "Some_Pkg"},
                      "ranges": range(json!([{"introduced": "1.0"}, {"fixed": "2.0"}])),
                      "versions": ["1.0", "1.5", "1.9.post1", "3.0", "not-pep440"]}]
    });
    fs::write(dir.join("PYSEC-2099-7.json"), rec.to_string()).unwrap();
    let file = tmp.path().join("vuln.db");
    let mut db = Db::open(&file).unwrap();
    db.import(&dir).unwrap();
    let stored: String = rusqlite::Connection::open(&file)
        .unwrap()
        .query_row("SELECT versions FROM affected", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, r#"["3.0","not-pep440"]"#);
    let fix = |v: &str| -> Option<Option<String>> {
        let ms = db.matches(&q("PyPI", "some-pkg", None, v)).unwrap();
        assert!(ms.len() <= 1);
        ms.into_iter().next().map(|m| m.fixed_version)
    };
    assert_eq!(fix("1.5"), Some(Some("2.0".into())));
    assert_eq!(fix("1.9.post1"), Some(Some("2.0".into())));
    assert_eq!(fix("1.0.0"), Some(Some("2.0".into())));
    assert_eq!(fix("3.0"), Some(None));
    assert_eq!(fix("3.0.0"), Some(None));
    assert_eq!(fix("2.0"), None);
    assert_eq!(fix("0.9"), None);
    assert_eq!(fix("3.0.1"), None);
}
