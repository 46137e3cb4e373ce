//! `palisade image` and the policy file: the image's findings pass the
//! policy gate once, so rule settings and image exemptions apply to them
//! as to every other finding. The image is an OCI layout written by the
//! registry tests' helper (no umoci needed).

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn palisade(cwd: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env_remove("PALISADE_CONFIG")
        .env_remove("PALISADE_FAIL_ON")
        .env("PALISADE_CACHE_DIR", cache)
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("palisade runs")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn find<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["rule"] == rule).collect())
        .unwrap_or_default()
}

fn one<'a>(report: &'a Value, rule: &str) -> &'a Value {
    let found = find(report, rule);
    assert_eq!(found.len(), 1, "{rule}: {report}");
    found[0]
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

#[test]
fn the_policy_file_applies_to_image_findings_once() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut layout = common::Layout::new();
    let image = layout.image("linux", "amd64", "content");
    layout.tag("t", &image, common::OCI_MANIFEST);
    let source = format!("oci:{}:t", layout.dir.display());
    let cache = tmp.path().join("cache");
    let run = |policy: &str| {
        let file = tmp.path().join("palisade.yaml");
        std::fs::write(&file, policy).unwrap();
        let args = [
            "image",
            &source,
            "--format",
            "json",
            "--skip-vulnerabilities",
            "--no-cache",
            "--config",
            file.to_str().unwrap(),
        ];
        let o = palisade(tmp.path(), &cache, &args);
        (o.status.code(), json(&o))
    };
    let header = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec:\n";
    let (status, report) = run(header);
    assert_eq!(status, Some(1));
    assert_eq!(
        str_of(one(&report, "image/runs-as-root"), "severity"),
        "high"
    );
    // A rule turned off is not reported, and nothing else fails the run.
    let (status, report) = run(&format!(
        "{header}  rules:\n    image/runs-as-root: {{enabled: false}}\n"
    ));
    assert!(find(&report, "image/runs-as-root").is_empty(), "{report}");
    assert_eq!(status, Some(0), "{report}");
    // A severity override is what the report and the exit status see.
    let (status, report) = run(&format!(
        "{header}  rules:\n    image/runs-as-root: {{severity: low}}\n"
    ));
    assert_eq!(
        str_of(one(&report, "image/runs-as-root"), "severity"),
        "low"
    );
    assert_eq!(status, Some(0), "below the default --fail-on high");
    // An exemption matching the image suppresses the finding and counts it.
    let (_, report) = run(&format!(
        "{header}  exemptions:\n  - rules: [image/runs-as-root]\n    match: {{images: ['oci:**']}}\n    reason: base image owned by another team\n"
    ));
    assert!(find(&report, "image/runs-as-root").is_empty(), "{report}");
    assert_eq!(report["summary"]["suppressed"], 1, "{report}");
}
