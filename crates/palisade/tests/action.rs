//! The GitHub Action (`action.yml`): the scan step's script is read from
//! the file, given the inputs as the runner gives them (environment
//! variables of the step) and run with bash as a composite step runs it,
//! with the built palisade on PATH; the upload step is checked to send the
//! SARIF file only when the format is sarif.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use palisade_core::loader::load_str;
use palisade_core::Limits;
use serde_json::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(common::repo().join("action.yml")).expect("action.yml");
    let loaded = load_str(&text, &Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded
        .documents
        .first()
        .map(|d| d.root.to_json())
        .expect("one document")
}

fn steps(action: &Value) -> Vec<Value> {
    action["runs"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn step(action: &Value, pred: impl Fn(&Value) -> bool) -> Value {
    steps(action).into_iter().find(pred).expect("the step")
}

/// `${{ inputs.NAME }}` in `value` replaced by the input given, or its default.
fn substitute(value: &str, given: &BTreeMap<&str, &str>, action: &Value) -> String {
    let mut out = value.to_string();
    if let Some(inputs) = action["inputs"].as_object() {
        for (name, input) in inputs {
            let given = given.get(name.as_str()).copied();
            let v = given.or(input["default"].as_str()).unwrap_or("");
            out = out.replace(&format!("${{{{ inputs.{name} }}}}"), v);
        }
    }
    out
}

/// What the scan step did in `dir`: its output, and the step outputs it wrote.
struct Ran {
    output: Output,
    step_outputs: String,
}

/// Runs the scan step in `dir` with `inputs`, as `shell: bash` runs it.
fn run_scan(dir: &Path, inputs: &[(&str, &str)]) -> Ran {
    let action = action();
    let scan = step(&action, |s| s["id"] == "scan");
    assert_eq!(scan["shell"], "bash");
    let script = scan["run"].as_str().expect("run");
    assert!(
        !script.contains("${{"),
        "inputs spliced into the script:\n{script}"
    );
    let given: BTreeMap<&str, &str> = inputs.iter().copied().collect();
    let script_file = dir.join("../scan-step.sh");
    std::fs::write(&script_file, script).expect("write the script");
    let outputs = dir.join("../github-output");
    std::fs::write(&outputs, "").expect("write");

    let bin = PathBuf::from(env!("CARGO_BIN_EXE_palisade"));
    let bin_dir = bin.parent().expect("the binary's directory").to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .expect("PATH");
    let mut cmd = std::process::Command::new("bash");
    cmd.current_dir(dir)
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(&script_file)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &outputs)
        .env_remove("PALISADE_CONFIG")
        .env_remove("PALISADE_LEVEL")
        .env_remove("PALISADE_FAIL_ON");
    for (name, value) in scan["env"].as_object().expect("env") {
        let value = value.as_str().expect("a string");
        cmd.env(name, substitute(value, &given, &action));
    }
    let output = cmd.output().expect("bash runs");
    let step_outputs = std::fs::read_to_string(&outputs).expect("read outputs");
    Ran {
        output,
        step_outputs,
    }
}

/// A workspace with `k8s/web.yaml` from `examples/<manifest>`.
fn workspace(manifest: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("workspace");
    std::fs::create_dir_all(dir.join("k8s")).expect("mkdir");
    let from = common::repo().join("examples").join(manifest);
    std::fs::copy(from, dir.join("k8s/web.yaml")).expect("copy");
    (tmp, dir)
}

fn sarif_rules(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("palisade.sarif")).expect("the SARIF file");
    let log: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(log["version"], "2.1.0");
    log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let uri = &r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"];
            assert_eq!(uri, "k8s/web.yaml", "{r}");
            r["ruleId"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

#[test]
fn action_writes_sarif_and_records_the_exit_status() {
    let (_tmp, dir) = workspace("insecure/web.yaml");
    let ran = run_scan(&dir, &[("paths", "k8s/")]);
    assert!(ran.output.status.success(), "{:?}", ran.output);
    assert_eq!(ran.step_outputs, "exit-code=1\n");
    let rules = sarif_rules(&dir);
    assert!(rules.iter().any(|r| r == "pss/privileged"), "{rules:?}");
}

#[test]
fn action_passes_level_and_config() {
    let (_tmp, dir) = workspace("insecure/web.yaml");
    run_scan(&dir, &[("paths", "k8s/"), ("level", "privileged")]);
    let rules = sarif_rules(&dir);
    assert!(
        !rules.is_empty() && !rules.iter().any(|r| r.starts_with("pss/")),
        "{rules:?}"
    );

    let ran = run_scan(&dir, &[("paths", "k8s/"), ("config", "missing.yaml")]);
    assert_eq!(ran.step_outputs, "exit-code=2\n", "{:?}", ran.output);
    assert!(
        String::from_utf8_lossy(&ran.output.stderr).contains("missing.yaml"),
        "{:?}",
        ran.output
    );
}

#[test]
fn action_prints_annotations_for_several_paths_with_format_github() {
    let (_tmp, dir) = workspace("insecure/web.yaml");
    std::fs::copy(
        common::repo().join("examples/hardened/web.yaml"),
        dir.join("good.yaml"),
    )
    .expect("copy");
    let ran = run_scan(
        &dir,
        &[("paths", "good.yaml\n  k8s/web.yaml"), ("format", "github")],
    );
    assert_eq!(ran.step_outputs, "exit-code=1\n");
    let out = String::from_utf8_lossy(&ran.output.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with("::error file=k8s/web.yaml,")),
        "{out}"
    );
    // Both paths were read: two objects in k8s/web.yaml, three in good.yaml.
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.starts_with("5 objects")),
        "{out}"
    );
    assert!(!dir.join("palisade.sarif").exists());
}

#[test]
fn action_exit_status_is_zero_on_a_hardened_manifest() {
    let (_tmp, dir) = workspace("hardened/web.yaml");
    let ran = run_scan(&dir, &[]);
    assert_eq!(ran.step_outputs, "exit-code=0\n", "{:?}", ran.output);
    assert!(sarif_rules(&dir).is_empty());
}

#[test]
fn action_uploads_sarif_only_for_sarif_then_fails_on_a_nonzero_status() {
    let action = action();
    for input in ["paths", "level", "config", "format"] {
        assert!(action["inputs"][input].is_object(), "input {input}");
    }
    assert_eq!(action["inputs"]["format"]["default"], "sarif");
    assert_eq!(action["runs"]["using"], "composite");
    let upload = step(&action, |s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    });
    assert_eq!(upload["if"], "inputs.format == 'sarif'");
    assert_eq!(upload["with"]["sarif_file"], "${{ inputs.sarif-file }}");
    let names: Vec<Value> = steps(&action).iter().map(|s| s["name"].clone()).collect();
    assert_eq!(
        names,
        ["Install palisade", "Scan", "Upload SARIF", "Result"]
    );
    let result = step(&action, |s| s["name"] == "Result");
    assert_eq!(result["if"], "steps.scan.outputs.exit-code != '0'");
}
