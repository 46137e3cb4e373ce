//! `palisade scan --images`: gating workloads on what is inside their images
//! (`images.content`), end to end. Two images are built with `umoci` from
//! this machine's Debian files (`/bin/sh` from dash, the dpkg status, the
//! os-release) and pushed with skopeo to a real `docker-registry` on
//! loopback (the harness of palisade-oci's tests): `content/secret:v1` also
//! holds AWS credentials in `app/config.txt`, `content/clean:v1` does not.
//! The vulnerability database is built by `palisade db import` from one OSV
//! record: a Debian 12 advisory (urgency high) for the installed `dash`,
//! fixed in a later version, so both images are vulnerable.
//!
//! Every run sets `PALISADE_CACHE_DIR` to a directory of its own.

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;
#[path = "../../palisade-oci/tests/common/host_image.rs"]
mod host_image;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

use common::Registry;
use host_image::{build_image, dash_version, fixed_version, run, write_advisory, ADVISORY};
use serde_json::Value;

/// A value `detect.rs` reports as an AWS access key id: `AKIA` and sixteen
/// base32 characters, with enough distinct ones not to be a placeholder.
const AWS_KEY_ID: &str = "AKIAQ3EGRT7KZ5WMN2PX";
/// A 40-character base64-ish value under `aws_secret_access_key`.
const AWS_SECRET: &str = "k3Jx9QmZ2vT8pLw4Rn7Yb1Hc6Fd0Gs5Ae+Uo/Ki3";
/// The id of the OSV fixture's advisory.
/// The manifest's line of `image:` for the container `secret` (the first).
const SECRET_LINE: u64 = 13;
/// The manifest's line of `image:` for the container `clean` (the second).
const CLEAN_LINE: u64 = 15;

/// The registry with both images, the database and a working directory.
struct Gate {
    registry: Registry,
    dir: tempfile::TempDir,
    /// The database `palisade db import` wrote (`DIR/vuln.db`).
    db: PathBuf,
    /// Installed version of dash (`dpkg-query`).
    dash: String,
    /// Digest `content/secret:v1` points to.
    secret_digest: String,
    /// Digest `content/clean:v1` points to.
    clean_digest: String,
}

impl Gate {
    fn new() -> Gate {
        let registry = Registry::start();
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("layout");
        run(Command::new("umoci")
            .arg("init")
            .arg("--layout")
            .arg(&layout));
        let config =
            format!("aws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n");
        build_image(&layout, "secret", &[("app/config.txt", &config)]);
        build_image(&layout, "clean", &[]);
        registry.push(&layout, "secret", "content/secret:v1");
        registry.push(&layout, "clean", "content/clean:v1");
        let secret_digest = registry.skopeo_digest("content/secret:v1");
        let clean_digest = registry.skopeo_digest("content/clean:v1");
        assert_ne!(secret_digest, clean_digest);

        let dash = dash_version();
        let osv = dir.path().join("osv");
        write_advisory(&osv, &dash);
        let db = dir.path().join("vuln.db");
        let out = palisade(dir.path(), &dir.path().join("unused-cache"))
            .args(["db", "import"])
            .arg(&osv)
            .arg("--db")
            .arg(&db)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(db.is_file());
        Gate {
            registry,
            dir,
            db,
            dash,
            secret_digest,
            clean_digest,
        }
    }

    fn host(&self) -> &str {
        &self.registry.host
    }

    /// A fresh cache directory (`PALISADE_CACHE_DIR`) named `name`.
    fn cache(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes `palisade.yaml` with `images` as the body of `spec.images`
    /// (nothing when empty) and a Deployment running `content/secret:v1`
    /// (container `secret`) and `content/clean:v1` (container `clean`) by
    /// tag; returns the manifest's path.
    fn write(&self, images: &str) -> PathBuf {
        let dir = self.dir.path();
        let spec = if images.is_empty() {
            "spec: {}\n".to_string()
        } else {
            format!("spec:\n  images:\n{images}")
        };
        std::fs::write(
            dir.join("palisade.yaml"),
            format!("apiVersion: palisade.dev/v1alpha1\nkind: Policy\n{spec}"),
        )
        .unwrap();
        let h = self.host();
        let manifest = dir.join("deploy.yaml");
        std::fs::write(
            &manifest,
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n      - name: secret\n        image: {h}/content/secret:v1\n      - name: clean\n        image: {h}/content/clean:v1\n"
            ),
        )
        .unwrap();
        manifest
    }

    /// `palisade scan --config palisade.yaml --format json --insecure-registry HOST ARGS MANIFEST`
    /// with `cache` as the cache directory.
    fn scan(&self, manifest: &Path, cache: &Path, args: &[&str]) -> Output {
        palisade(self.dir.path(), cache)
            .arg("scan")
            .arg("--config")
            .arg(self.dir.path().join("palisade.yaml"))
            .args(["--format", "json", "--registry-timeout", "10"])
            .args(["--insecure-registry", self.host()])
            .args(args)
            .arg(manifest)
            .output()
            .unwrap()
    }

    /// The message of the advisory as `palisade image` words it.
    fn advisory_message(&self) -> String {
        format!(
            "dash {}: {ADVISORY} (CVE-2099-0001), fixed in {}: dash security update",
            self.dash,
            fixed_version(&self.dash)
        )
    }
}

/// The palisade binary with the environment a test controls: `cache` as
/// `PALISADE_CACHE_DIR`, no policy, database or offline switch inherited.
fn palisade(cwd: &Path, cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
    cmd.current_dir(cwd)
        .env("PALISADE_CACHE_DIR", cache)
        .env_remove("PALISADE_CONFIG")
        .env_remove("PALISADE_VULN_DB")
        .env_remove("PALISADE_OFFLINE")
        .env_remove("PALISADE_INSECURE_REGISTRIES")
        .env_remove("PALISADE_FAIL_ON")
        .env_remove("PALISADE_PLATFORM");
    cmd
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

/// One finding as the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    container: String,
    severity: String,
    message: String,
    path: String,
    line: u64,
}

/// The findings of `rule`, in report order.
fn of_rule(report: &Value, rule: &str) -> Vec<Found> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| Found {
            container: f["container"].as_str().unwrap_or_default().to_string(),
            severity: f["severity"].as_str().unwrap().to_string(),
            message: f["message"].as_str().unwrap().to_string(),
            path: f["path"].as_str().unwrap_or_default().to_string(),
            line: f["line"].as_u64().unwrap(),
        })
        .collect()
}

/// The findings of the content rules.
fn content_findings(report: &Value) -> Vec<(String, Found)> {
    ["image/vulnerable", "image/secrets", "image/unscanned"]
        .iter()
        .flat_map(|rule| {
            of_rule(report, rule)
                .into_iter()
                .map(|f| (rule.to_string(), f))
        })
        .collect()
}

/// The stored result's path for `digest` under `cache`.
fn entry(cache: &Path, digest: &str) -> PathBuf {
    cache
        .join("images")
        .join(format!("{}.json", digest.replacen(':', "-", 1)))
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn scan_images_reports_vulnerabilities_and_secrets_at_each_image_field_and_stores_them() {
    let g = Gate::new();
    let manifest = g.write(
        "    content: {vulnerabilities: high, secrets: true, unscanned: warn, database: vuln.db}\n",
    );
    let cache = g.cache("cache");
    let out = g.scan(&manifest, &cache, &["--images"]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r}\n{}", stderr(&out));

    // dash is in both images: one aggregated finding at each image field,
    // as severe as the advisory.
    let vulnerable = of_rule(&r, "image/vulnerable");
    assert_eq!(vulnerable.len(), 2, "{vulnerable:#?}");
    let h = g.host();
    for (f, container, line, digest) in [
        (&vulnerable[0], "secret", SECRET_LINE, &g.secret_digest),
        (&vulnerable[1], "clean", CLEAN_LINE, &g.clean_digest),
    ] {
        assert_eq!(f.container, container, "{f:#?}");
        assert_eq!(f.severity, "high", "{f:#?}");
        assert_eq!(f.line, line, "{f:#?}");
        assert!(f.path.ends_with(".image"), "{f:#?}");
        let who =
            format!("container {container:?} image \"{h}/content/{container}:v1\" ({digest})");
        assert_eq!(
            f.message,
            format!(
                "{who} has 1 known vulnerabilities at or above high: {}",
                g.advisory_message()
            ),
        );
    }

    // The credentials only in the secret image.
    let secrets = of_rule(&r, "image/secrets");
    assert_eq!(secrets.len(), 1, "{secrets:#?}");
    let s = &secrets[0];
    assert_eq!((s.container.as_str(), s.line), ("secret", SECRET_LINE));
    assert_eq!(s.severity, "high");
    assert!(
        s.message.starts_with(&format!(
            "container \"secret\" image \"{h}/content/secret:v1\" ({}) contains 2 secrets: ",
            g.secret_digest
        )),
        "{}",
        s.message
    );
    assert!(s.message.contains("app/config.txt"), "{}", s.message);
    // Previews only: the secret values never reach the report.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(AWS_KEY_ID) && !text.contains(AWS_SECRET));
    // The database was there: nothing is unscanned.
    assert!(of_rule(&r, "image/unscanned").is_empty(), "{r}");

    // Both results are stored by digest.
    let secret_entry = entry(&cache, &g.secret_digest);
    let clean_entry = entry(&cache, &g.clean_digest);
    for path in [&secret_entry, &clean_entry] {
        let stored: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert!(
            stored["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == "image/vulnerable"),
            "{stored}"
        );
    }
    let stamps = (mtime(&secret_entry), mtime(&clean_entry));

    // Again, with the registry still up: the same findings, read from the
    // stored results (not written again).
    std::thread::sleep(std::time::Duration::from_millis(20));
    let again = g.scan(&manifest, &cache, &["--images"]);
    let r2 = report(&again);
    assert_eq!(again.status.code(), Some(1), "{r2}");
    assert_eq!(content_findings(&r2), content_findings(&r));
    assert_eq!(
        (mtime(&secret_entry), mtime(&clean_entry)),
        stamps,
        "the second run scanned again instead of reading the stored results"
    );
}

#[test]
fn a_result_stored_by_palisade_image_is_used_by_scan_images() {
    let g = Gate::new();
    let cache = g.cache("cache");
    // `palisade image` stores the result under the tag's digest.
    let image = format!("{}/content/clean:v1", g.host());
    let out = palisade(g.dir.path(), &cache)
        .args(["image", &image, "--format", "json", "--insecure-registry"])
        .arg(g.host())
        .arg("--db")
        .arg(&g.db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let stored = entry(&cache, &g.clean_digest);
    let stamp = mtime(&stored);

    // scan --images reads it (no database configured: a new scan would
    // have said the vulnerabilities were not checked).
    let manifest = g.write("    content: {database: nowhere.db}\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = g.scan(&manifest, &cache, &["--images"]);
    let r = report(&out);
    let clean: Vec<(String, Found)> = content_findings(&r)
        .into_iter()
        .filter(|(_, f)| f.container == "clean")
        .collect();
    assert_eq!(clean.len(), 1, "{clean:#?}");
    assert_eq!(clean[0].0, "image/vulnerable");
    assert!(
        clean[0].1.message.contains(&g.advisory_message()),
        "{:?}",
        clean[0].1
    );
    assert_eq!(mtime(&stored), stamp);
}

#[test]
fn vulnerabilities_none_reports_secrets_only() {
    let g = Gate::new();
    let manifest = g.write("    content: {vulnerabilities: none, database: vuln.db}\n");
    let cache = g.cache("cache");
    let out = g.scan(&manifest, &cache, &["--images"]);
    let r = report(&out);
    assert!(of_rule(&r, "image/vulnerable").is_empty(), "{r}");
    assert!(of_rule(&r, "image/unscanned").is_empty(), "{r}");
    let secrets = of_rule(&r, "image/secrets");
    assert_eq!(secrets.len(), 1, "{secrets:#?}");
    assert_eq!(secrets[0].container, "secret");
}

#[test]
fn a_result_stored_without_vulnerabilities_does_not_pass_for_a_clean_one() {
    let g = Gate::new();
    let cache = g.cache("cache");
    // First a policy that does not gate on vulnerabilities stores results ...
    let manifest = g.write("    content: {vulnerabilities: none, database: vuln.db}\n");
    let out = g.scan(&manifest, &cache, &["--images"]);
    assert!(of_rule(&report(&out), "image/vulnerable").is_empty());
    // ... then one that does reads them: the advisory must still be found.
    let manifest = g.write("    content: {vulnerabilities: high, database: vuln.db}\n");
    let out = g.scan(&manifest, &cache, &["--images"]);
    let r = report(&out);
    let vulnerable = of_rule(&r, "image/vulnerable");
    assert_eq!(vulnerable.len(), 2, "{r}");
}

#[test]
fn a_missing_database_is_an_info_finding_that_vulnerabilities_were_not_checked() {
    let g = Gate::new();
    // No images.content: --images uses the defaults (vulnerabilities: high,
    // secrets: true) and the default database, $PALISADE_CACHE_DIR/vuln.db,
    // which does not exist.
    let manifest = g.write("");
    let cache = g.cache("cache");
    let out = g.scan(&manifest, &cache, &["--images", "--fail-on", "high"]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r}");
    assert!(of_rule(&r, "image/vulnerable").is_empty(), "{r}");
    let unscanned = of_rule(&r, "image/unscanned");
    let containers: Vec<&str> = unscanned.iter().map(|f| f.container.as_str()).collect();
    assert_eq!(containers, ["secret", "clean"], "{unscanned:#?}");
    let default_db = cache.join("vuln.db");
    for f in &unscanned {
        assert_eq!(f.severity, "info", "{f:#?}");
        assert!(
            f.message.contains(&format!(
                "vulnerabilities not checked: no vulnerability database at {}",
                default_db.display()
            )),
            "{}",
            f.message
        );
    }
    assert_eq!(of_rule(&r, "image/secrets").len(), 1, "{r}");

    // A database named in the policy is relative to the policy file.
    let manifest = g.write("    content: {database: nowhere.db}\n");
    let cache = g.cache("cache-relative");
    let out = g.scan(&manifest, &cache, &["--images"]);
    let r = report(&out);
    let unscanned = of_rule(&r, "image/unscanned");
    assert_eq!(unscanned.len(), 2, "{r}");
    let named = g.dir.path().join("nowhere.db");
    assert!(
        unscanned[0]
            .message
            .contains(&format!("no vulnerability database at {}", named.display())),
        "{}",
        unscanned[0].message
    );

    // Without database in the policy, $PALISADE_VULN_DB names it.
    let manifest = g.write("    content: {unscanned: warn}\n");
    let cache = g.cache("cache-env");
    let out = palisade(g.dir.path(), &cache)
        .env("PALISADE_VULN_DB", &g.db)
        .arg("scan")
        .arg("--config")
        .arg(g.dir.path().join("palisade.yaml"))
        .args([
            "--format",
            "json",
            "--images",
            "--insecure-registry",
            g.host(),
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    let r = report(&out);
    assert_eq!(of_rule(&r, "image/vulnerable").len(), 2, "{r}");
    assert!(of_rule(&r, "image/unscanned").is_empty(), "{r}");
}

#[test]
fn without_images_the_content_rules_do_not_run() {
    let g = Gate::new();
    let manifest = g.write("    content: {vulnerabilities: high, database: vuln.db}\n");
    let cache = g.cache("cache");
    let out = g.scan(&manifest, &cache, &[]);
    let r = report(&out);
    assert!(content_findings(&r).is_empty(), "{r}");
    // Nothing was scanned or stored.
    assert!(!cache.join("images").exists());
}

#[test]
fn offline_and_images_are_rejected_together() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pod.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: nginx:1.27}\n",
    )
    .unwrap();
    let out = palisade(dir.path(), dir.path())
        .args(["scan", "--offline", "--images"])
        .arg(&manifest)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--offline") && err.contains("--images"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn application_package_vulnerabilities_gate_workloads_like_os_ones() {
    // An image whose application brings Jinja2 2.10 (its dist-info in
    // site-packages), a PyPI advisory for it, and scan --images: the
    // finding at the image field counts it next to dash's.
    let registry = Registry::start();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    run(Command::new("umoci")
        .arg("init")
        .arg("--layout")
        .arg(&layout));
    build_image(
        &layout,
        "app",
        &[(
            "app/site-packages/Jinja2-2.10.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: Jinja2\nVersion: 2.10\n",
        )],
    );
    registry.push(&layout, "app", "content/app:v1");
    let osv = dir.path().join("osv");
    write_advisory(&osv, &dash_version());
    let pypi = serde_json::json!({
        "id": "GHSA-462w-v97r-4m45", "modified": "2024-01-01T00:00:00Z",
        "aliases": ["CVE-2019-10906"], "summary": "Jinja2 sandbox escape",
        "database_specific": {"severity": "HIGH"},
        "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}]}]
    });
    std::fs::write(osv.join("GHSA-462w-v97r-4m45.json"), pypi.to_string()).unwrap();
    let cache = dir.path().join("cache");
    let out = palisade(dir.path(), &cache)
        .args(["db", "import"])
        .arg(&osv)
        .arg("--db")
        .arg(dir.path().join("vuln.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(
        dir.path().join("palisade.yaml"),
        "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    content: {vulnerabilities: high, database: vuln.db}\n",
    )
    .unwrap();
    let manifest = dir.path().join("pod.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: app}}\nspec:\n  containers:\n  - name: app\n    image: {}/content/app:v1\n",
            registry.host
        ),
    )
    .unwrap();
    let out = palisade(dir.path(), &cache)
        .arg("scan")
        .arg("--config")
        .arg(dir.path().join("palisade.yaml"))
        .args(["--format", "json", "--registry-timeout", "10", "--images"])
        .args(["--insecure-registry", &registry.host])
        .arg(&manifest)
        .output()
        .unwrap();
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r}\n{}", stderr(&out));
    let vulnerable = of_rule(&r, "image/vulnerable");
    assert_eq!(vulnerable.len(), 1, "{vulnerable:#?}");
    let m = &vulnerable[0].message;
    assert!(
        m.contains("has 2 known vulnerabilities at or above high"),
        "{m}"
    );
    assert!(
        m.contains(
            "jinja2 2.10 (PyPI, in app/site-packages/Jinja2-2.10.dist-info): GHSA-462w-v97r-4m45"
        ),
        "{m}"
    );
}
