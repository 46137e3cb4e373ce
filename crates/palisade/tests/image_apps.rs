//! `palisade image` on what the application brings: an image built with
//! `umoci` from real artifacts of this machine — Debian's Go binaries
//! (`skopeo`, `docker-registry`, `umoci`), a Go program built here with a
//! module dependency, Debian's python3-yaml (owned by its dpkg package) and
//! a wheel installed with `pip install --target`, packages installed with
//! `npm install`, Debian's commons-lang3 jar inside a war, an application
//! `Cargo.lock`, a Composer `installed.json` and a gemspec — matched
//! against the real Go, PyPA and RustSec advisories of `corpora/osv` and a
//! few records written here for the ecosystems the corpus lacks (npm,
//! Maven, Packagist, RubyGems).

#[path = "../../palisade-image/tests/go_fixture/mod.rs"]
mod go_fixture;
mod umoci;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};
use umoci::{tool, Bundle};

fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/osv");
    assert!(
        dir.join("golang-vulndb/INDEX.jsonl").is_file(),
        "the OSV corpus is not beside the repository (shared/corpora/osv)"
    );
    dir
}

fn palisade(cwd: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    for var in [
        "NO_COLOR",
        "PALISADE_CONFIG",
        "PALISADE_FAIL_ON",
        "PALISADE_VULN_DB",
    ] {
        c.env_remove(var);
    }
    c.current_dir(cwd)
        .env("PALISADE_CACHE_DIR", cwd.join("cache"))
        .args(args)
        .output()
        .expect("palisade runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn pip() -> Command {
    match std::env::var_os("PALISADE_TEST_PIP") {
        Some(p) => Command::new(p),
        None => {
            let mut c = Command::new("python3");
            c.args(["-m", "pip"]);
            c
        }
    }
}

/// The advisories written here, for ecosystems the corpus has none of.
/// Ranges as their GitHub advisories give them.
fn own_records(dir: &Path) {
    let record = |id: &str, alias: &str, eco: &str, name: &str, events: Value| {
        json!({
            "id": id, "modified": "2024-05-01T00:00:00Z", "aliases": [alias],
            "summary": format!("{name}: advisory {id}"),
            "affected": [{"package": {"ecosystem": eco, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
            "database_specific": {"severity": "HIGH"},
        })
    };
    let records = [
        record(
            "GHSA-xvch-5gv4-984h",
            "CVE-2021-44906",
            "npm",
            "minimist",
            json!([{"introduced": "0"}, {"fixed": "0.2.4"}, {"introduced": "1.0.0"}, {"fixed": "1.2.6"}]),
        ),
        record(
            "GHSA-j288-q9x7-2f5v",
            "CVE-2025-48924",
            "Maven",
            "org.apache.commons:commons-lang3",
            json!([{"introduced": "3.0"}, {"fixed": "3.18.0"}]),
        ),
        record(
            "GHSA-w248-ffj2-4v5q",
            "CVE-2022-31091",
            "Packagist",
            "guzzlehttp/guzzle",
            json!([{"introduced": "7.0.0"}, {"fixed": "7.4.5"}]),
        ),
        record(
            "GHSA-wq4h-7r42-5hrr",
            "CVE-2022-30123",
            "RubyGems",
            "rack",
            json!([{"introduced": "2.2.0"}, {"fixed": "2.2.3.1"}]),
        ),
        // The GitHub record of the CVE the PyPA's PYSEC-2019-217 is about:
        // the two are one vulnerability, reported once.
        record(
            "GHSA-462w-v97r-4m45",
            "CVE-2019-10906",
            "PyPI",
            "jinja2",
            json!([{"introduced": "0"}, {"fixed": "2.10.1"}]),
        ),
    ];
    std::fs::create_dir_all(dir).unwrap();
    for r in records {
        let id = r["id"].as_str().unwrap().to_string();
        std::fs::write(dir.join(format!("{id}.json")), r.to_string()).unwrap();
    }
}

struct Image {
    tmp: tempfile::TempDir,
    layout: PathBuf,
    db: PathBuf,
    /// `go version -m` of the program built here: (module, version, sum).
    go_modules: Vec<(String, String, String)>,
}

impl Image {
    fn source(&self) -> String {
        format!("oci:{}:t", self.layout.display())
    }
}

fn build() -> Image {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bundle = Bundle::new(dir);
    let root = bundle.rootfs();
    let mkdir = |d: &str| std::fs::create_dir_all(root.join(d)).unwrap();
    let copy = |from: &str, to: &str| {
        std::fs::copy(from, root.join(to)).unwrap_or_else(|e| panic!("copy {from}: {e}"));
    };
    for d in ["usr/bin", "etc", "var/lib/dpkg/info", "app/bin"] {
        mkdir(d);
    }
    copy("/etc/os-release", "etc/os-release");
    for b in ["skopeo", "docker-registry", "umoci"] {
        copy(&format!("/usr/bin/{b}"), &format!("usr/bin/{b}"));
    }
    // Go: a program with a module dependency, built here.
    let go_dir = dir.join("go");
    std::fs::create_dir_all(&go_dir).unwrap();
    let binary = go_fixture::build(&go_dir, false);
    std::fs::copy(&binary, root.join("app/bin/server")).unwrap();
    let go_modules = go_version_m(&binary);
    // Python: Debian's PyYAML, owned by python3-yaml (its dpkg file list
    // says so), and Jinja2 2.10 installed by pip.
    let dist = "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info";
    mkdir(dist);
    copy(&format!("/{dist}/METADATA"), &format!("{dist}/METADATA"));
    copy(
        "/var/lib/dpkg/info/python3-yaml.list",
        "var/lib/dpkg/info/python3-yaml.list",
    );
    tool(
        pip()
            .args([
                "install",
                "--quiet",
                "--no-deps",
                "--no-compile",
                "--target",
            ])
            .arg(root.join("app/site-packages"))
            .args(["Jinja2==2.10", "six==1.16.0"]),
    );
    // npm: minimist 1.2.5 and ms, installed with npm.
    let web = root.join("app/web");
    std::fs::create_dir_all(&web).unwrap();
    std::fs::write(
        web.join("package.json"),
        r#"{"name": "web", "version": "1.0.0", "dependencies": {"minimist": "1.2.5", "ms": "2.1.3"}}"#,
    )
    .unwrap();
    tool(
        Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--loglevel=error",
            ])
            .current_dir(&web),
    );
    // Java: Debian's commons-lang3 jar inside a war.
    let war = root.join("app/app.war");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&war).unwrap());
    zip.start_file(
        "WEB-INF/lib/commons-lang3.jar",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(
        &mut zip,
        &std::fs::read("/usr/share/java/commons-lang3.jar").unwrap(),
    )
    .unwrap();
    zip.finish().unwrap();
    // Rust, PHP, Ruby: an application lockfile, Composer's installed.json,
    // a gemspec.
    std::fs::write(
        root.join("app/Cargo.lock"),
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .unwrap();
    mkdir("var/www/vendor/composer");
    std::fs::write(
        root.join("var/www/vendor/composer/installed.json"),
        r#"{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.4.0", "version_normalized": "7.4.0.0"}]}"#,
    )
    .unwrap();
    mkdir("usr/lib/ruby/gems/3.1.0/specifications");
    std::fs::write(
        root.join("usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec"),
        "Gem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.3\"\nend\n",
    )
    .unwrap();
    bundle.repack();
    // A later layer removes six: it must not be reported.
    std::fs::remove_dir_all(root.join("app/site-packages/six-1.16.0.dist-info")).unwrap();
    bundle.repack();

    let records = dir.join("own-osv");
    own_records(&records);
    let db = dir.join("vuln.db");
    let c = corpus();
    let o = palisade(
        dir,
        &[
            "db",
            "import",
            &c.join("golang-vulndb/data").display().to_string(),
            &c.join("pypa-advisory-database/vulns").display().to_string(),
            &c.join("rustsec-advisory-db/osv-branch")
                .display()
                .to_string(),
            &records.display().to_string(),
            "--db",
            &db.display().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    Image {
        layout: bundle.layout.clone(),
        db,
        go_modules,
        tmp,
    }
}

/// `go version -m FILE`: the main module and every dependency as
/// (module, version, sum), replacements applied.
fn go_version_m(file: &Path) -> Vec<(String, String, String)> {
    let out = tool(Command::new("go").arg("version").arg("-m").arg(file));
    let mut modules: Vec<(String, String, String)> = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.trim_start().split('\t').collect();
        match f.as_slice() {
            ["mod" | "dep", path, version, rest @ ..] => modules.push((
                path.to_string(),
                version.to_string(),
                rest.first().unwrap_or(&"").to_string(),
            )),
            ["=>", path, version, rest @ ..] => {
                if let Some(last) = modules.last_mut() {
                    *last = (
                        path.to_string(),
                        version.to_string(),
                        rest.first().unwrap_or(&"").to_string(),
                    );
                }
            }
            _ => {}
        }
    }
    assert!(modules.len() >= 2, "{out}");
    modules
}

/// `palisade image --format json` of the image with `extra` flags: its
/// exit status and report.
fn report(image: &Image, extra: &[&str]) -> (Option<i32>, Value) {
    let db = image.db.display().to_string();
    let source = image.source();
    let mut args = vec![
        "image",
        &source,
        "--format",
        "json",
        "--db",
        &db,
        "--no-cache",
    ];
    args.extend_from_slice(extra);
    let o = palisade(image.tmp.path(), &args);
    let r = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    (o.status.code(), r)
}

fn vulnerable(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "image/vulnerable")
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(v: &[(String, String)], path: &str, id: &str) -> bool {
    v.iter().any(|(p, m)| p.contains(path) && m.contains(id))
}

#[test]
fn application_packages_are_found_and_matched_with_their_ecosystems_rules() {
    let image = build();
    let (status, r) = report(&image, &[]);
    assert_eq!(status, Some(1), "{r}");
    let v = vulnerable(&r);
    let all = format!("{v:#?}");
    // Go: the toolchain of Debian's binaries (go1.19.8) and the module
    // compiled into the program built here.
    for b in ["usr/bin/skopeo", "usr/bin/docker-registry", "usr/bin/umoci"] {
        assert!(
            has(&v, &format!("{b}: Go package stdlib"), "GO-2023-1878"),
            "{b}: {all}"
        );
    }
    let text_module = image
        .go_modules
        .iter()
        .find(|(m, _, _)| m == "golang.org/x/text")
        .expect("x/text in go version -m");
    assert!(
        has(
            &v,
            "app/bin/server: Go package golang.org/x/text",
            "GO-2026-5970"
        ),
        "{all}"
    );
    assert!(
        !has(&v, "golang.org/x/text", "GO-2022-1059"),
        "x/text {} is past that fix: {all}",
        text_module.1
    );
    // Python: pip's Jinja2 2.10, with the PyPA and the GitHub record of
    // CVE-2019-10906 as one finding; PyYAML is python3-yaml's.
    let jinja: Vec<_> = v
        .iter()
        .filter(|(_, m)| m.contains("CVE-2019-10906"))
        .collect();
    assert_eq!(jinja.len(), 1, "{all}");
    assert!(
        jinja[0]
            .0
            .contains("app/site-packages/Jinja2-2.10.dist-info: PyPI package jinja2"),
        "{all}"
    );
    assert!(jinja[0].1.contains("fixed in 2.10.1"), "{all}");
    // npm, Maven (the jar inside the war), crates.io, Packagist, RubyGems.
    assert!(
        has(
            &v,
            "app/web/node_modules/minimist: npm package minimist",
            "GHSA-xvch-5gv4-984h"
        ),
        "{all}"
    );
    assert!(has(&v, "app/app.war!/WEB-INF/lib/commons-lang3.jar: Maven package org.apache.commons:commons-lang3", "GHSA-j288-q9x7-2f5v"), "{all}");
    assert!(
        has(
            &v,
            "app/Cargo.lock: crates.io package smallvec",
            "RUSTSEC-2021-0003"
        ),
        "{all}"
    );
    assert!(
        has(
            &v,
            "installed.json: Packagist package guzzlehttp/guzzle",
            "GHSA-w248-ffj2-4v5q"
        ),
        "{all}"
    );
    assert!(
        has(
            &v,
            "rack-2.2.3.gemspec: RubyGems package rack",
            "GHSA-wq4h-7r42-5hrr"
        ),
        "{all}"
    );

    // The table groups the findings by package: the rows of one package
    // (their path lines) are one run.
    let db = image.db.display().to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env_remove("PALISADE_VULN_DB")
        .env("PALISADE_CACHE_DIR", image.tmp.path().join("cache"))
        .env("COLUMNS", "400")
        .args(["image", &image.source(), "--db", &db, "--no-cache"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    let keys: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with("layer "))
        .filter_map(|l| l.split_once("): ").map(|(_, p)| p.trim()))
        .filter(|p| p.contains(" package "))
        .collect();
    assert!(keys.len() >= v.len(), "{table}");
    let mut runs: Vec<&str> = keys.clone();
    runs.dedup();
    let mut distinct = runs.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        runs.len(),
        distinct.len(),
        "a package's rows are split: {keys:#?}"
    );

    // The inventory (CycloneDX): every package with its purl and file.
    let o = palisade(
        image.tmp.path(),
        &[
            "image",
            &image.source(),
            "--format",
            "cyclonedx",
            "--db",
            &db,
            "--no-cache",
        ],
    );
    let bom: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    let components = bom["components"].as_array().unwrap();
    // The files each purl was found in.
    let files_of = |purl: &str| -> Vec<String> {
        components
            .iter()
            .filter(|c| c["purl"] == purl)
            .filter_map(|c| {
                c["properties"]
                    .as_array()?
                    .iter()
                    .find(|p| p["name"] == "palisade:file")
                    .and_then(|p| p["value"].as_str())
                    .map(str::to_string)
            })
            .collect()
    };
    let file_of = |purl: &str| -> Option<String> {
        let files = files_of(purl);
        assert!(files.len() <= 1, "{purl}: {files:?}");
        files.into_iter().next()
    };
    for (module, version, _) in &image.go_modules {
        // The main module built from its source tree is `(devel)`.
        let version = version.replace('(', "%28").replace(')', "%29");
        let purl = format!("pkg:golang/{module}@{version}");
        assert_eq!(file_of(&purl).as_deref(), Some("app/bin/server"), "{purl}");
    }
    let stdlib = files_of("pkg:golang/stdlib@1.19.8");
    for b in ["usr/bin/skopeo", "usr/bin/docker-registry", "usr/bin/umoci"] {
        assert!(stdlib.iter().any(|f| f == b), "{b}: {stdlib:?}");
    }
    assert_eq!(
        file_of("pkg:pypi/jinja2@2.10").as_deref(),
        Some("app/site-packages/Jinja2-2.10.dist-info")
    );
    assert_eq!(
        file_of("pkg:npm/minimist@1.2.5").as_deref(),
        Some("app/web/node_modules/minimist")
    );
    assert_eq!(
        file_of("pkg:npm/ms@2.1.3").as_deref(),
        Some("app/web/node_modules/ms")
    );
    let lang3 = dpkg_upstream("libcommons-lang3-java");
    assert!(file_of(&format!(
        "pkg:maven/org.apache.commons/commons-lang3@{lang3}"
    ))
    .is_some());
    assert!(file_of("pkg:cargo/smallvec@1.6.0").is_some());
    // Removed in a later layer; owned by an OS package; the lockfile's
    // packages installed under node_modules are listed once.
    assert!(
        components.iter().all(|c| c["name"] != "six"),
        "six was removed"
    );
    assert!(
        components
            .iter()
            .all(|c| c["purl"] != "pkg:pypi/pyyaml@6.0"),
        "PyYAML is python3-yaml's"
    );
    assert_eq!(
        components
            .iter()
            .filter(|c| c["purl"] == "pkg:npm/minimist@1.2.5")
            .count(),
        1
    );

    // Without application detection: only what the OS packages bring
    // (this image has no dpkg status), and a note saying so.
    let (_, r) = report(&image, &["--skip-applications"]);
    assert!(vulnerable(&r).is_empty(), "{:#?}", vulnerable(&r));
    let notes = r["summary"]["notes"].to_string();
    assert!(notes.contains("application packages not read"), "{notes}");
}

/// The upstream part of an installed Debian package's version
/// (`3.12.0-2+deb12u1` → `3.12.0`).
fn dpkg_upstream(package: &str) -> String {
    let v = tool(Command::new("dpkg-query").args(["-W", "-f=${Version}", package]));
    let v = v.split_once(':').map_or(v.as_str(), |(_, v)| v);
    v.rsplit_once('-').map_or(v, |(u, _)| u).to_string()
}
