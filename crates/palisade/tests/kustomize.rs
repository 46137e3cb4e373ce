//! Kustomize: a patch file is listed as skipped, never scanned as an
//! object; `--kustomize` renders the overlay with `kubectl kustomize` and
//! reports the rendered objects at the source file they come from.
//! Needs kubectl on PATH (`scripts/test.sh` installs Debian's
//! kubernetes-client when it is missing).

use std::path::Path;
use std::process::{Command, Output};

fn palisade(args: &[&str], path_env: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    c.args(args).env_remove("PALISADE_CONFIG");
    if let Some(p) = path_env {
        c.env("PATH", p);
    }
    c.output().expect("run palisade")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A base Deployment and an overlay that renames it and patches the
/// container to be privileged.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "base/kustomization.yaml",
        "resources:\n- deployment.yaml\n",
    );
    write(
        d,
        "base/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: app\n        image: nginx\n",
    );
    write(
        d,
        "overlay/kustomization.yaml",
        "bases:\n- ../base\nnamePrefix: prod-\npatchesStrategicMerge:\n- privileged.yaml\n",
    );
    write(
        d,
        "overlay/privileged.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        securityContext:\n          privileged: true\n",
    );
    dir
}

fn privileged(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "pss/privileged")
        .map(|f| {
            (
                f["object"]["name"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_patch_file_is_skipped_with_the_reason_not_scanned_as_an_object() {
    let dir = tree();
    let o = palisade(
        &["scan", "--format", "json", dir.path().to_str().unwrap()],
        None,
    );
    let report = json(&o);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    let patch = dir.path().join("overlay/privileged.yaml");
    let skipped: Vec<&serde_json::Value> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["file"] == patch.to_str().unwrap())
        .collect();
    assert_eq!(skipped.len(), 1, "{report}");
    assert_eq!(
        skipped[0]["reason"],
        "kustomize patch: scan the rendered output (kubectl kustomize DIR | palisade scan -)"
    );
    assert!(privileged(&report).is_empty(), "{report}");
}

#[test]
fn kustomize_renders_the_overlay_and_reports_at_the_source_file() {
    let dir = tree();
    let o = palisade(
        &[
            "scan",
            "--kustomize",
            "--format",
            "json",
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    let report = json(&o);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert_eq!(o.status.code(), Some(1));
    // One Deployment: the base is rendered through the overlay only. The
    // patch adds securityContext, so the finding points at the container
    // the base writes (line 12), in the base file.
    let base = dir.path().join("base/deployment.yaml");
    assert_eq!(
        privileged(&report),
        [(
            "prod-web".to_string(),
            base.to_string_lossy().into_owned(),
            12
        )]
    );
    assert_eq!(report["summary"]["workloads"], 1, "{report}");
}

#[test]
fn kustomize_without_kubectl_is_a_clear_error() {
    let dir = tree();
    let empty = tempfile::tempdir().unwrap();
    let o = palisade(
        &[
            "scan",
            "--kustomize",
            "--format",
            "json",
            dir.path().to_str().unwrap(),
        ],
        Some(empty.path().to_str().unwrap()),
    );
    assert_eq!(o.status.code(), Some(2));
    let report = json(&o);
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("install kubectl"), "{message}");
}
