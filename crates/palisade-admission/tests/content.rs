//! The webhook's content gate (`images.content`) end to end: the real
//! server over real TLS (certificates generated here) resolving images in a
//! real `docker-registry` (the harness of palisade-oci's tests), whose
//! content a background thread scans while the admission path only reads
//! stored results.
//!
//! The images are built with `umoci` from this machine's Debian 12 files
//! (`/bin/sh` from dash, the dpkg status, the os-release); the `secret` one
//! also holds AWS credentials in `app/config.txt`. The vulnerability
//! database holds one OSV record: a Debian 12 advisory (urgency high) for
//! the installed `dash`, so every image is vulnerable.
//!
//! Results are stored under `$PALISADE_CACHE_DIR`, which the server reads
//! from the process environment: it is set once for this test binary (see
//! [`cache_dir`]), and every test builds images whose content (and so
//! digest) is its own, so no test sees another's results.

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;
mod harness;
#[path = "../../palisade-oci/tests/common/host_image.rs"]
mod host_image;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Registry;
use harness::{warnings, Webhook};
use host_image::{build_image, dash_version, run, write_advisory, ADVISORY};
use palisade_image::cache::ResultCache;
use palisade_image::model::Limits;
use palisade_image::scan::{scan_image, ScanOptions};
use palisade_image::source::{OpenOptions, Source};
use serde_json::Value;

/// A value the palisade-secrets detector reports as an AWS access key id (not a placeholder).
const AWS_KEY_ID: &str = "AKIAQ3EGRT7KZ5WMN2PX";
/// A 40-character base64-ish value under `aws_secret_access_key`.
const AWS_SECRET: &str = "k3Jx9QmZ2vT8pLw4Rn7Yb1Hc6Fd0Gs5Ae+Uo/Ki3";
/// The id of the OSV fixture's advisory.
/// How long the background scan may take before a test gives up.
const SCAN_WAIT: Duration = Duration::from_secs(20);

/// `$PALISADE_CACHE_DIR` of this test binary: `content-cache` under cargo's
/// `CARGO_TARGET_TMPDIR`, set once, before any server starts (tests of
/// one binary share the environment, so it is never changed afterwards).
fn cache_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // One directory, emptied by each run (a static is never dropped,
        // so a temporary directory would be left behind by every run).
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("content-cache");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::env::set_var("PALISADE_CACHE_DIR", &dir);
        std::env::remove_var("PALISADE_VULN_DB");
        dir
    })
}

/// A registry holding `content/secret:v1` and `content/clean:v1`, built
/// with `marker` written into both (so their digests are this test's own),
/// and the vulnerability database.
struct Images {
    registry: Registry,
    /// Holds the layout and the database.
    _dir: tempfile::TempDir,
    /// The database (`DIR/vuln.db`).
    db: PathBuf,
    /// Digest `content/secret:v1` points to.
    secret_digest: String,
    /// Digest `content/clean:v1` points to.
    clean_digest: String,
}

impl Images {
    fn new(marker: &str) -> Images {
        let registry = Registry::start();
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("layout");
        run(Command::new("umoci")
            .arg("init")
            .arg("--layout")
            .arg(&layout));
        let config =
            format!("aws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n");
        build_image(
            &layout,
            "secret",
            &[("app/config.txt", &config), ("app/test.txt", marker)],
        );
        build_image(&layout, "clean", &[("app/test.txt", marker)]);
        registry.push(&layout, "secret", "content/secret:v1");
        registry.push(&layout, "clean", "content/clean:v1");
        let secret_digest = registry.skopeo_digest("content/secret:v1");
        let clean_digest = registry.skopeo_digest("content/clean:v1");

        let osv = dir.path().join("osv");
        write_advisory(&osv, &dash_version());
        let db = dir.path().join("vuln.db");
        let stats = palisade_vulndb::Db::open(&db)
            .and_then(|mut d| d.import(&osv))
            .unwrap();
        assert_eq!(stats.records, 1, "{stats:?}");
        Images {
            registry,
            _dir: dir,
            db,
            secret_digest,
            clean_digest,
        }
    }

    fn host(&self) -> &str {
        &self.registry.host
    }

    /// `HOST/content/NAME:v1`.
    fn image(&self, name: &str) -> String {
        format!("{}/content/{name}:v1", self.host())
    }

    /// A policy with `images.content` set to `{content}` plus the database.
    fn policy(&self, content: &str) -> String {
        format!(
            "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    content: {{{content}, database: {:?}}}\n",
            self.db.display().to_string()
        )
    }

    /// Scans `HOST/content/NAME@DIGEST` and stores the result as
    /// `palisade image` does, by the digest the tag points to.
    fn prescan(&self, name: &str, digest: &str) {
        let reference = format!("{}/content/{name}@{digest}", self.host());
        let registry = client_options(self.host(), Duration::from_secs(10));
        let opts = ScanOptions {
            open: OpenOptions {
                platform: registry.platform.clone(),
                registry,
            },
            limits: Limits::default(),
            detector: palisade_secrets::detector_for(&palisade_core::Policy::default().secrets),
            db: Some(self.db.clone()),
            vulnerabilities: true,
            applications: true,
        };
        let scan = scan_image(&Source::parse(&reference).unwrap(), &opts, None).unwrap();
        ResultCache::new(cache_dir().join("images"))
            .put(&[digest], &scan)
            .unwrap();
    }
}

/// Registry options reaching `host` over plain HTTP.
fn client_options(host: &str, timeout: Duration) -> palisade_oci::ClientOptions {
    palisade_oci::ClientOptions {
        insecure_registries: vec![host.to_string()],
        timeout,
        ..palisade_oci::ClientOptions::default()
    }
}

/// Starts the server with `policy`, reaching the registry `insecure`
/// over plain HTTP.
async fn start_webhook(policy: &str, insecure: &str) -> Webhook {
    cache_dir();
    let registry = client_options(insecure, Duration::from_secs(10));
    Webhook::start(&[("palisade.yaml", policy)], registry).await
}

/// Sends the review of a Pod with `image` until it is denied (the
/// background scan has stored its result); the denial message.
async fn denied_once_scanned(s: &Webhook, image: &str) -> String {
    let until = Instant::now() + SCAN_WAIT;
    loop {
        let r = s.validate_pod(image).await;
        if r["allowed"] == false {
            return denial(&r);
        }
        assert!(
            Instant::now() < until,
            "{image} still admitted after {SCAN_WAIT:?}: {r}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The warnings of the content rules.
fn content_warnings(response: &Value) -> Vec<String> {
    warnings(response)
        .into_iter()
        .filter(|w| {
            ["[image/unscanned]", "[image/secrets]", "[image/vulnerable]"]
                .iter()
                .any(|rule| w.starts_with(rule))
        })
        .collect()
}

/// Asserts a 403 denial and returns its message.
fn denial(response: &Value) -> String {
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 403, "{response}");
    response["status"]["message"].as_str().unwrap().to_string()
}

/// The stored result's path for `digest`.
fn entry(digest: &str) -> PathBuf {
    cache_dir()
        .join("images")
        .join(format!("{}.json", digest.replacen(':', "-", 1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unscanned_image_is_admitted_with_a_warning_and_denied_once_the_background_scan_is_done()
{
    let img = Images::new("queue");
    let s = start_webhook(&img.policy("unscanned: warn"), img.host()).await;
    let image = img.image("secret");
    assert!(!entry(&img.secret_digest).exists());

    // Not scanned yet: admitted, with the warning that it is queued. The
    // request does not wait for the scan.
    let started = Instant::now();
    let r = s.validate_pod(&image).await;
    let took = started.elapsed();
    assert_eq!(r["allowed"], true, "{r}");
    let w = content_warnings(&r);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("[image/unscanned] spec.containers[0].image:"),
        "{w:?}"
    );
    assert!(
        w[0].contains(&format!(
            "container \"app\" image {image:?} ({}) has not been scanned yet; it is queued for a background scan",
            img.secret_digest
        )),
        "{w:?}"
    );

    // The background scan stores its result by digest; the same request is
    // then denied for what the image holds.
    let msg = denied_once_scanned(&s, &image).await;
    eprintln!("first /validate of an unscanned image: {took:?}");
    assert!(entry(&img.secret_digest).is_file());
    assert!(
        msg.contains("[image/secrets] container \"app\" spec.containers[0].image:"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "image {image:?} ({}) contains 2 secrets: app/config.txt",
            img.secret_digest
        )),
        "{msg}"
    );
    assert!(
        msg.contains("[image/vulnerable] container \"app\" spec.containers[0].image:"),
        "{msg}"
    );
    assert!(
        msg.contains("has 1 known vulnerabilities at or above high: dash "),
        "{msg}"
    );
    assert!(msg.contains(ADVISORY), "{msg}");
    assert!(!msg.contains("image/unscanned"), "{msg}");
    assert!(
        !msg.contains(AWS_KEY_ID) && !msg.contains(AWS_SECRET),
        "{msg}"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscanned_deny_denies_an_image_until_its_scan_is_done() {
    let img = Images::new("deny");
    let s = start_webhook(&img.policy("unscanned: deny"), img.host()).await;
    let image = img.image("clean");
    let r = s.validate_pod(&image).await;
    let msg = denial(&r);
    assert!(
        msg.contains("[image/unscanned] container \"app\" spec.containers[0].image:"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "image {image:?} ({}) has not been scanned yet; it is queued for a background scan",
            img.clean_digest
        )),
        "{msg}"
    );

    // Queued all the same: once scanned, the denial is for its content.
    let until = Instant::now() + SCAN_WAIT;
    let msg = loop {
        let msg = denial(&s.validate_pod(&image).await);
        if !msg.contains("image/unscanned") {
            break msg;
        }
        assert!(Instant::now() < until, "still unscanned: {msg}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(msg.contains("[image/vulnerable]"), "{msg}");
    assert!(!msg.contains("[image/secrets]"), "{msg}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prescanned_image_is_judged_on_the_first_request() {
    let img = Images::new("prescanned");
    let (secret, clean) = (img.secret_digest.clone(), img.clean_digest.clone());
    let pre = std::sync::Arc::new(img);
    let p = pre.clone();
    tokio::task::spawn_blocking(move || {
        p.prescan("secret", &secret);
        p.prescan("clean", &clean);
    })
    .await
    .unwrap();
    let img = pre;

    // Strict about unscanned images, and about critical vulnerabilities
    // only (the advisory is high): the clean image passes.
    let s = start_webhook(
        &img.policy("unscanned: deny, vulnerabilities: critical"),
        img.host(),
    )
    .await;
    let r = s.validate_pod(&img.image("clean")).await;
    assert_eq!(r["allowed"], true, "{r}");
    assert!(content_warnings(&r).is_empty(), "{r}");

    let msg = denial(&s.validate_pod(&img.image("secret")).await);
    assert!(msg.contains("[image/secrets]"), "{msg}");
    assert!(!msg.contains("image/unscanned"), "{msg}");
    assert!(!msg.contains("image/vulnerable"), "{msg}");
    s.stop().await;

    // At the high threshold the same stored result denies the clean image.
    let s = start_webhook(&img.policy("unscanned: deny"), img.host()).await;
    let msg = denial(&s.validate_pod(&img.image("clean")).await);
    assert!(msg.contains("[image/vulnerable]"), "{msg}");
    assert!(!msg.contains("image/unscanned"), "{msg}");
    s.stop().await;
}
