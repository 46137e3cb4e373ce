//! `palisade scan` with the rules that ask the registry: cosign signatures
//! (`images.verify`), `--resolve`, `--offline` and registry failures, against
//! a real `docker-registry` holding images and signature artifacts pushed by
//! skopeo (see the harness in palisade-oci's tests).

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;
#[path = "../../palisade-oci/tests/common/sign.rs"]
mod sign;

use std::path::Path;
use std::process::{Command, Output};

use common::{Layout, Registry, OCI_MANIFEST};
use serde_json::Value;
use sign::{payload, push_signature, SigLayer, TestKey};

/// A registry with `signed/app:v1` (signed by `key`), `signed/unsigned:v1`
/// (no signature) and `signed/forged:v1` (signed by another key).
struct Signed {
    registry: Registry,
    key: TestKey,
    app: String,
    dir: tempfile::TempDir,
}

impl Signed {
    fn new() -> Signed {
        let registry = Registry::start();
        let key = TestKey::p256();
        let other = TestKey::p256();
        let mut layout = Layout::new();
        let mut push = |name: &str, content: &str| {
            let image = layout.image("linux", "amd64", content);
            layout.tag(name, &image, OCI_MANIFEST);
            registry.push(&layout.dir, name, &format!("signed/{name}:v1"));
            image.digest
        };
        let app = push("app", "app");
        let _ = push("unsigned", "unsigned");
        let forged = push("forged", "forged");
        let host = &registry.host;
        let sign = |repo: &str, digest: &str, key: &TestKey| {
            let p = payload(&format!("{host}/{repo}"), digest);
            push_signature(&registry, repo, digest, &[SigLayer::signed(key, p)]);
        };
        sign("signed/app", &app, &key);
        sign("signed/forged", &forged, &other);
        Signed {
            registry,
            key,
            app,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn host(&self) -> &str {
        &self.registry.host
    }

    /// Writes the key, a policy verifying `signed/**` with it (plus `extra`
    /// under `images:`), and a Deployment running `images`; returns the
    /// manifest's path.
    fn write(&self, extra: &str, images: &[String]) -> std::path::PathBuf {
        let dir = self.dir.path();
        std::fs::write(dir.join("cosign.pub"), self.key.public_pem()).unwrap();
        std::fs::write(
            dir.join("palisade.yaml"),
            format!(
                "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [\"{}/signed/**\"]\n      keys: [cosign.pub]\n{extra}",
                self.host()
            ),
        )
        .unwrap();
        let containers: String = images
            .iter()
            .enumerate()
            .map(|(i, image)| format!("      - name: c{i}\n        image: {image}\n"))
            .collect();
        let manifest = dir.join("deploy.yaml");
        std::fs::write(
            &manifest,
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers:\n{containers}"
            ),
        )
        .unwrap();
        manifest
    }

    fn scan(&self, manifest: &Path, extra_args: &[&str], registries: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_palisade"));
        cmd.env_remove("PALISADE_CONFIG")
            .arg("scan")
            .arg("--config")
            .arg(self.dir.path().join("palisade.yaml"))
            .args(["--format", "json", "--registry-timeout", "2"])
            .args(extra_args);
        for r in registries {
            cmd.args(["--insecure-registry", r]);
        }
        cmd.arg(manifest).output().unwrap()
    }
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Findings of rules whose id is `rule`: (container, severity, message, line).
fn of_rule(report: &Value, rule: &str) -> Vec<(String, String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            (
                f["container"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn scan_verifies_signatures_at_the_image_field() {
    let s = Signed::new();
    let h = s.host();
    let manifest = s.write(
        "",
        &[
            format!("{h}/signed/app:v1"),
            format!("{h}/signed/unsigned:v1"),
            format!("{h}/signed/forged:v1"),
            format!("{h}/signed/app@{}", s.app),
        ],
    );
    let out = s.scan(&manifest, &[], &[h]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r}");
    let sig = of_rule(&r, "image/signature");
    let containers: Vec<&str> = sig.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(containers, ["c1", "c2"], "{sig:?}");
    assert_eq!(sig[0].1, "high");
    assert!(sig[0].2.contains("has no cosign signature"), "{}", sig[0].2);
    assert!(sig[0].2.contains(".sig tag"), "{}", sig[0].2);
    assert!(
        sig[1].2.contains("does not verify with the trusted key"),
        "{}",
        sig[1].2
    );
    // Each finding is at its container's image line (c0 is on line 13).
    assert_eq!(sig[0].3, 15);
    assert_eq!(sig[1].3, 17);
    assert!(of_rule(&r, "image/registry-error").is_empty(), "{r}");
    // No --resolve: the tags are not reported.
    assert!(of_rule(&r, "image/resolved-digest").is_empty());
}

#[test]
fn resolve_reports_the_digest_of_every_tag() {
    let s = Signed::new();
    let h = s.host();
    let manifest = s.write(
        "",
        &[
            format!("{h}/signed/app:v1"),
            format!("{h}/signed/app@{}", s.app),
        ],
    );
    let out = s.scan(&manifest, &["--resolve", "--fail-on", "high"], &[h]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(0), "{r}");
    let resolved = of_rule(&r, "image/resolved-digest");
    assert_eq!(resolved.len(), 1, "{resolved:?}");
    assert_eq!(resolved[0].0, "c0");
    assert_eq!(resolved[0].1, "info");
    let digest = s.registry.skopeo_digest("signed/app:v1");
    assert_eq!(digest, s.app);
    assert!(
        resolved[0]
            .2
            .ends_with(&format!("pin it as {h}/signed/app:v1@{digest}")),
        "{}",
        resolved[0].2
    );
}

#[test]
fn offline_skips_the_registry_and_says_so() {
    let s = Signed::new();
    let h = s.host();
    let manifest = s.write("", &[format!("{h}/signed/unsigned:v1")]);
    let out = s.scan(&manifest, &["--offline"], &[h]);
    let r = report(&out);
    assert!(of_rule(&r, "image/signature").is_empty(), "{r}");
    let notes = r["summary"]["notes"].as_array().unwrap();
    assert!(
        notes[0].as_str().unwrap().contains("--offline"),
        "{notes:?}"
    );
    // The static image rules still ran.
    assert!(!of_rule(&r, "image/digest").is_empty(), "{r}");
}

#[test]
fn registry_failures_follow_the_failure_policy() {
    let s = Signed::new();
    let closed = format!("127.0.0.1:{}", common::closed_port());
    // The verify entry covers the closed registry too.
    let image = format!("{closed}/signed/app:v1");
    let extra = format!("    - images: [\"{closed}/signed/**\"]\n      keys: [cosign.pub]\n");
    let manifest = s.write(&extra, std::slice::from_ref(&image));
    let out = s.scan(&manifest, &["--fail-on", "high"], &[&closed]);
    let r = report(&out);
    let errors = of_rule(&r, "image/registry-error");
    assert_eq!(errors.len(), 1, "{r}");
    assert_eq!(errors[0].1, "high");
    assert!(
        errors[0].2.contains("registry unreachable"),
        "{}",
        errors[0].2
    );
    assert_eq!(out.status.code(), Some(1));

    let manifest = s.write(&format!("{extra}    failurePolicy: Ignore\n"), &[image]);
    let out = s.scan(&manifest, &["--fail-on", "high"], &[&closed]);
    let r = report(&out);
    let errors = of_rule(&r, "image/registry-error");
    assert_eq!(errors.len(), 1, "{r}");
    assert_eq!(errors[0].1, "low");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn unreadable_keys_stop_the_scan() {
    let s = Signed::new();
    let manifest = s.write("", &["nginx:1.27".to_string()]);
    std::fs::write(s.dir.path().join("cosign.pub"), "not a key").unwrap();
    let out = s.scan(&manifest, &[], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("images.verify entry at line 6") && stderr.contains("cosign.pub"),
        "{stderr}"
    );
}

/// A Pod as `kubectl get pod -o yaml` (or `palisade audit`) gives it: the
/// registry is asked about the digest each container runs
/// (`status.containerStatuses[].imageID`), not the tag its spec names.
#[test]
fn a_running_pod_is_verified_at_the_digest_it_runs() {
    let s = Signed::new();
    let h = s.host();
    let _ = s.write("", &[]);
    let missing = format!("sha256:{}", "0".repeat(64));
    let pod = s.dir.path().join("pod.yaml");
    std::fs::write(
        &pod,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop}}\nspec:\n  containers:\n  - name: c0\n    image: {h}/signed/unsigned:v1\n  - name: c1\n    image: {h}/signed/app:v1\nstatus:\n  containerStatuses:\n  - name: c0\n    imageID: {h}/signed/app@{app}\n  - name: c1\n    imageID: docker-pullable://{h}/signed/app@{missing}\n",
            app = s.app
        ),
    )
    .unwrap();
    let out = s.scan(&pod, &[], &[h]);
    let r = report(&out);
    // c0's tag names an unsigned image, but what runs is the signed one.
    let sig = of_rule(&r, "image/signature");
    assert!(sig.iter().all(|f| f.0 != "c0"), "{sig:?}");
    // c1's tag names the signed image, but what runs is not in the registry.
    let c1: Vec<_> = sig
        .iter()
        .chain(of_rule(&r, "image/registry-error").iter())
        .filter(|f| f.0 == "c1")
        .cloned()
        .collect();
    assert_eq!(c1.len(), 1, "{r}");
    assert!(c1[0].2.contains("as it runs"), "{}", c1[0].2);
    // Both are at the spec's image fields (lines 7 and 9).
    assert_eq!(c1[0].3, 9);
}
