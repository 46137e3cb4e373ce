//! End-to-end tests of the `palisade` binary: real files, real processes,
//! exit statuses, and every output format.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    c.env_remove("NO_COLOR")
        .env_remove("PALISADE_LEVEL")
        .env_remove("PALISADE_PSS_VERSION")
        .env_remove("PALISADE_FAIL_ON");
    c
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(args: &[&str]) -> Output {
    bin()
        .current_dir(repo())
        .args(args)
        .output()
        .expect("palisade runs")
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .current_dir(repo())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("palisade runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child.wait_with_output().expect("palisade exits")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn write_temp(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write temp file");
    p
}

/// A pod that passes every pack but the Pod Security Standards (image pinned
/// by digest, own ServiceAccount without a token, read-only root
/// filesystem, resources), with `spec_extra` and `container_extra` lines, so
/// that the exit status depends on the PSS level and version alone.
fn pss_pod(spec_extra: &str, container_extra: &str) -> Vec<u8> {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  serviceAccountName: app\n  automountServiceAccountToken: false\n{spec_extra}  containers:\n  - name: c\n    image: registry.example.com/app:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n    securityContext: {{readOnlyRootFilesystem: true}}\n    resources: {{requests: {{cpu: 100m}}, limits: {{memory: 128Mi}}}}\n{container_extra}"
    )
    .into_bytes()
}

#[test]
fn hardened_examples_pass_restricted_with_exit_0() {
    let o = run(&["scan", "examples/hardened"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("no findings"), "{}", stdout(&o));
}

#[test]
fn insecure_examples_fail_with_exit_1_and_precise_locations() {
    let o = run(&["scan", "--format", "json", "examples/insecure"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["schema"], "palisade.json/v1");
    let findings = v["findings"].as_array().expect("findings");
    let privileged = findings
        .iter()
        .find(|f| f["rule"] == "pss/privileged")
        .expect("privileged finding");
    assert_eq!(privileged["file"], "examples/insecure/web.yaml");
    assert_eq!(privileged["line"], 23);
    assert_eq!(
        privileged["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(privileged["container"], "nginx");
    assert_eq!(privileged["object"]["kind"], "Deployment");
    assert_eq!(privileged["object"]["namespace"], "shop");
    // The CronJob's finding is under the job template.
    let cron = findings
        .iter()
        .find(|f| f["rule"] == "pss/hostNamespaces" && f["object"]["kind"] == "CronJob")
        .expect("CronJob hostPID finding");
    assert_eq!(cron["path"], "spec.jobTemplate.spec.template.spec.hostPID");
    // JSON input is located too.
    let json_file = findings
        .iter()
        .find(|f| f["rule"] == "pss/sysctls")
        .expect("sysctls finding in the JSON example");
    assert_eq!(json_file["file"], "examples/insecure/node-agent.json");
    assert_eq!(json_file["line"], 11);
    assert_eq!(v["summary"]["other_kinds"]["Service"], 1);
}

#[test]
fn stdin_is_scanned_with_dash() {
    let pod = b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext: {privileged: yes}\n";
    let o = run_stdin(
        &["scan", "--level", "baseline", "--format", "json", "-"],
        pod,
    );
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["findings"][0]["file"], "-");
    assert_eq!(v["findings"][0]["rule"], "pss/privileged");
    assert_eq!(v["findings"][0]["line"], 8);
}

#[test]
fn malformed_document_is_an_error_with_location_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = write_temp(
        dir.path(),
        "mixed.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostIPC: true\n  containers: [{name: c, image: x}]\n---\nkind: [unclosed\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n  hostPID: true\n  containers: [{name: c, image: x}]\n",
    );
    let o = run(&[
        "scan",
        "--level",
        "baseline",
        "--format",
        "json",
        f.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "input errors give exit status 2");
    let v = json(&o);
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1);
    assert!(errors[0]["line"].as_u64().expect("line") >= 8);
    assert!(errors[0]["message"]
        .as_str()
        .expect("msg")
        .contains("malformed YAML"));
    let rules: Vec<_> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"].as_str().is_some_and(|r| r.starts_with("pss/")))
        .map(|f| f["object"]["name"].as_str().expect("name").to_string())
        .collect();
    assert_eq!(
        rules,
        ["a", "b"],
        "documents before and after the broken one are checked"
    );
}

#[test]
fn binary_file_missing_file_and_helm_template_are_errors_not_crashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin_file = write_temp(
        dir.path(),
        "blob.yaml",
        b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe",
    );
    let helm = write_temp(
        dir.path(),
        "chart.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  containers: []\n",
    );
    let o = run(&[
        "scan",
        "--format",
        "json",
        bin_file.to_str().expect("utf8"),
        helm.to_str().expect("utf8"),
        "does/not/exist.yaml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    let messages: Vec<String> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["message"].as_str().expect("msg").to_string())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].contains("binary"));
    assert!(messages[1].contains("helm template"));
    assert!(messages[2].contains("cannot read"));
}

#[test]
fn lists_and_other_kinds_and_skipped_documents_are_counted() {
    let list = b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    hostNetwork: true\n    containers: [{name: c, image: x}]\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: cm}\n---\nreplicaCount: 3\n";
    let o = run_stdin(
        &["scan", "--level", "baseline", "--format", "json", "-"],
        list,
    );
    let v = json(&o);
    assert_eq!(v["summary"]["objects"], 2);
    assert_eq!(v["summary"]["workloads"], 1);
    assert_eq!(v["summary"]["other_kinds"]["ConfigMap"], 1);
    assert_eq!(v["summary"]["skipped"], 1);
    assert_eq!(v["skipped"][0]["line"], 14);
    assert_eq!(v["findings"][0]["line"], 8);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn fail_on_threshold_and_privileged_level_set_the_exit_status() {
    // hostPorts is medium: below --fail-on high the scan passes.
    let pod = &pss_pod("", "    ports: [{containerPort: 80, hostPort: 80}]\n");
    let o = run_stdin(
        &["scan", "--level", "baseline", "--fail-on", "high", "-"],
        pod,
    );
    assert_eq!(o.status.code(), Some(0));
    let o = run_stdin(
        &["scan", "--level", "baseline", "--fail-on", "medium", "-"],
        pod,
    );
    assert_eq!(o.status.code(), Some(1));
    let o = run_stdin(&["scan", "--level", "privileged", "-"], pod);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn version_flag_changes_the_verdict_as_upstream_does() {
    let pod = &pss_pod(
        "  securityContext:\n    sysctls: [{name: net.ipv4.tcp_keepalive_time, value: '60'}]\n",
        "",
    );
    let o = run_stdin(
        &["scan", "--level", "baseline", "--pss-version", "v1.28", "-"],
        pod,
    );
    assert_eq!(o.status.code(), Some(1));
    let o = run_stdin(
        &["scan", "--level", "baseline", "--pss-version", "v1.29", "-"],
        pod,
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn invalid_flags_exit_2_naming_the_flag() {
    for (args, flag) in [
        (vec!["scan", "--level", "strict", "examples"], "--level"),
        (
            vec!["scan", "--pss-version", "1.25", "examples"],
            "--pss-version",
        ),
        (vec!["scan", "--format", "xml", "examples"], "--format"),
        (vec!["scan", "--fail-on", "severe", "examples"], "--fail-on"),
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let o = run(&["scan"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn sarif_output_is_valid_and_relative() {
    let o = run(&["scan", "--format", "sarif", "examples/insecure"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    let rules = run0["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "pss/privileged"));
    let results = run0["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        assert!(uri.starts_with("examples/insecure/"), "{uri}");
        let idx = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
    }
}

#[test]
fn table_output_to_a_pipe_has_no_colour_and_a_summary() {
    let o = run(&["scan", "examples/insecure"]);
    let out = stdout(&o);
    assert!(
        !out.contains('\u{1b}'),
        "no ANSI escapes when not a terminal"
    );
    assert!(out.contains("examples/insecure/web.yaml"));
    assert!(out.contains("pss/privileged"));
    let last = out.lines().last().expect("summary line");
    assert!(last.contains("findings"), "{last}");
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.json");
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--output",
        path.to_str().expect("utf8"),
        "examples/hardened",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("report")).expect("json");
    assert_eq!(v["summary"]["skipped"], 1, "kustomization.yaml is skipped");
    assert_eq!(v["summary"]["workloads"], 3);
}

#[test]
fn rules_lists_the_catalog_and_explains_one_rule() {
    let o = run(&["rules"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert_eq!(out.lines().filter(|l| l.starts_with("pss/")).count(), 19);
    let o = run(&["rules", "pss/privileged"]);
    let out = stdout(&o);
    assert!(out.contains("kubernetes.io/docs/concepts/security/pod-security-standards"));
    assert!(out.contains("fix:"));
    let o = run(&["rules", "pss/nope"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A List inside a List is read item by item, as kubectl reads it: a
/// privileged Pod two Lists deep is found, at its line (the path is in the
/// object's own terms, as for every List item).
#[test]
fn nested_lists_are_flattened_like_kubectl() {
    let yaml = b"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: settings, namespace: shop}
  - apiVersion: v1
    kind: Pod
    metadata: {name: deep, namespace: shop}
    spec:
      containers:
      - name: app
        image: nginx
        securityContext:
          privileged: true
";
    let o = run_stdin(&["scan", "--format", "json", "-"], yaml);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let report = json(&o);
    let privileged: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "pss/privileged")
        .collect();
    assert_eq!(privileged.len(), 1, "{report}");
    let f = privileged[0];
    assert_eq!(f["object"]["name"], "deep");
    assert_eq!(f["path"], "spec.containers[0].securityContext.privileged");
    assert_eq!(f["line"], 18);
    assert_eq!(report["summary"]["workloads"], 1);
}

/// Hidden files inside a scanned directory are read (kubectl applies
/// them); hidden directories such as `.git` are not.
#[test]
fn hidden_files_are_scanned_but_hidden_directories_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME, namespace: shop}\nspec:\n  containers:\n  - name: app\n    image: nginx\n    securityContext: {privileged: true}\n";
    write_temp(
        dir.path(),
        ".prod.yaml",
        pod.replace("NAME", "dotfile").as_bytes(),
    );
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write_temp(
        dir.path(),
        ".git/pod.yaml",
        pod.replace("NAME", "in-git").as_bytes(),
    );
    let o = run(&["scan", "--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let report = json(&o);
    let names: std::collections::BTreeSet<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["object"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["dotfile".to_string()].into());
}

/// A UTF-32 file is called UTF-32 (it was called UTF-16), with exit 2.
#[test]
fn utf32_input_is_named_utf32() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0xFF, 0xFE, 0, 0];
    for c in "kind: Pod\n".chars() {
        bytes.extend((c as u32).to_le_bytes());
    }
    let file = write_temp(dir.path(), "pod.yaml", &bytes);
    let o = run(&["scan", "--format", "json", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let report = json(&o);
    assert_eq!(
        report["errors"][0]["message"],
        "file is UTF-32; convert it to UTF-8"
    );
}

/// YAML that libyaml (and so kubectl) reads is read: a flow sequence closed
/// at the key's column, a quoted scalar continued at the key's column (both
/// were "malformed YAML: invalid indentation"), and a file of concatenated
/// JSON objects, each checked at its own line.
#[test]
fn yaml_and_json_that_kubectl_reads_are_checked() {
    let yaml = b"apiVersion: v1
kind: Pod
metadata:
  name: spire
  namespace: shop
  annotations:
    description: \"Runs the agent
    on every node\"
spec:
  containers:
  - name: agent
    image: nginx
    args: [
      \"-config\",
      \"/run/agent.conf\"
    ]
    securityContext:
      privileged: true
";
    let o = run_stdin(&["scan", "--format", "json", "-"], yaml);
    let report = json(&o);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    let privileged = |r: &serde_json::Value| {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "pss/privileged")
            .map(|f| (f["object"]["name"].clone(), f["line"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(privileged(&report), [("spire".into(), 18.into())]);

    let stream = br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}
{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "second", "namespace": "shop"},
 "spec": {"containers": [{"name": "app", "image": "nginx",
   "securityContext": {"privileged": true}}]}}"#;
    let o = run_stdin(&["scan", "--format", "json", "-"], stream);
    let report = json(&o);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert_eq!(privileged(&report), [("second".into(), 4.into())]);
    assert_eq!(report["summary"]["documents"], 2, "{report}");
}

/// A registry login in a dockerconfigjson Secret is decoded and reported,
/// with the registry and user named and the password never printed, in
/// every output format.
#[test]
fn dockerconfigjson_registry_login_is_reported_without_the_password() {
    // {"auths":{"registry.example.com":{"auth":base64("deploy-bot:Zq8rT2mK9wL4xVb7")}}}
    let config = "eyJhdXRocyI6eyJyZWdpc3RyeS5leGFtcGxlLmNvbSI6eyJhdXRoIjoiWkdWd2JHOTVMV0p2ZERwYWNUaHlWREp0U3psM1REUjRWbUkzIn19fQ==";
    let yaml = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: regcred, namespace: shop}}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {config}\n");
    let o = run_stdin(&["scan", "--format", "json", "-"], yaml.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    let report = json(&o);
    let f: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "secrets/registry-credential")
        .collect();
    assert_eq!(f.len(), 1, "{report}");
    let message = f[0]["message"].as_str().unwrap();
    assert!(message.contains("\"deploy-bot\"") && message.contains("\"registry.example.com\""));
    assert_eq!(f[0]["line"], 6);
    for format in ["json", "table", "sarif", "junit"] {
        let o = run_stdin(&["scan", "--format", format, "-"], yaml.as_bytes());
        let out = stdout(&o);
        assert!(!out.contains("Zq8rT2mK9wL4xVb7"), "{format}: {out}");
        assert!(
            !out.contains("ZGVwbG95LWJvdDpacThyVDJtSzl3TDR4VmI3"),
            "{format}"
        );
    }
}

/// Image references that carry a credential (a token as the tag, a URL
/// with a password) are quoted by the image rules' messages; no output
/// format shows the credential, and errors do not either.
#[test]
fn credentials_in_image_references_reach_no_output() {
    let token = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
    let password = "S3cretPassw0rd9x";
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web, namespace: shop}}\nspec:\n  containers:\n  - name: app\n    image: registry.example.com/app:{token}\n  - name: side\n    image: https://u:{password}@registry.example.com/a:1\n"
    );
    for format in ["table", "json", "sarif", "junit"] {
        let o = run_stdin(&["scan", "--format", format, "-"], yaml.as_bytes());
        assert_eq!(o.status.code(), Some(1), "{format}");
        let out = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
        // The table wraps its message column; the others quote the preview whole.
        if format != "table" {
            assert!(
                out.contains("registry.example.com/app:ghp_…"),
                "{format}: {out}"
            );
        }
        assert!(
            !out.contains(token) && !out.contains(password),
            "{format}: {out}"
        );
    }
}

/// Pod templates inside custom resources are checked at their real paths:
/// Argo Rollouts, Knative Services (not counted as core Services),
/// OpenKruise CloneSets, KEDA ScaledJobs, Tekton Task steps, and a kind
/// the policy file's `workloads` names.
#[test]
fn pod_templates_in_custom_resources_are_checked() {
    let privileged = "securityContext: {privileged: true}";
    let template = |indent: &str| {
        format!("{indent}template:\n{indent}  metadata: {{labels: {{app: a}}}}\n{indent}  spec:\n{indent}    containers:\n{indent}    - name: app\n{indent}      image: nginx\n{indent}      {privileged}\n")
    };
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: rollout, namespace: shop}}\nspec:\n{}---\napiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {{name: knative, namespace: shop}}\nspec:\n{}---\napiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata: {{name: cloneset, namespace: shop}}\nspec:\n{}---\napiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: {{name: scaledjob, namespace: shop}}\nspec:\n  jobTemplate:\n    spec:\n{}---\napiVersion: tekton.dev/v1\nkind: Task\nmetadata: {{name: task, namespace: shop}}\nspec:\n  steps:\n  - name: build\n    image: golang\n    {privileged}\n---\napiVersion: example.com/v1\nkind: Worker\nmetadata: {{name: custom, namespace: shop}}\nspec:\n  runner:\n    spec:\n      containers:\n      - name: app\n        image: nginx\n        {privileged}\n",
        template("  "),
        template("  "),
        template("  "),
        template("      "),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_temp(
        dir.path(),
        "palisade.yaml",
        b"apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  workloads:\n  - {apiVersion: example.com/v1, kind: Worker, podSpecPath: spec.runner.spec}\n",
    );
    let o = run_stdin(
        &[
            "scan",
            "--config",
            config.to_str().unwrap(),
            "--format",
            "json",
            "-",
        ],
        yaml.as_bytes(),
    );
    let report = json(&o);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    let found: std::collections::BTreeMap<String, String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "pss/privileged")
        .map(|f| {
            (
                f["object"]["name"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: std::collections::BTreeMap<String, String> = [
        (
            "rollout",
            "spec.template.spec.containers[0].securityContext.privileged",
        ),
        (
            "knative",
            "spec.template.spec.containers[0].securityContext.privileged",
        ),
        (
            "cloneset",
            "spec.template.spec.containers[0].securityContext.privileged",
        ),
        (
            "scaledjob",
            "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged",
        ),
        ("task", "spec.steps[0].securityContext.privileged"),
        (
            "custom",
            "spec.runner.spec.containers[0].securityContext.privileged",
        ),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(found, expected);
    assert_eq!(report["summary"]["workloads"], 6, "{report}");
    assert!(
        report["summary"]["other_kinds"].get("Service").is_none(),
        "{report}"
    );
}

/// Input that is not a regular file is read once, within the file size
/// limit: a FIFO is scanned, `/dev/zero` is refused as binary at once, and
/// empty standard input is a warning.
#[test]
fn fifos_devices_and_empty_stdin_are_read_within_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pod.yaml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            std::fs::write(&fifo, "apiVersion: v1\nkind: Pod\nmetadata: {name: fifo}\nspec:\n  containers: [{name: a, image: nginx, securityContext: {privileged: true}}]\n").unwrap();
        })
    };
    let o = run(&["scan", "--format", "json", fifo.to_str().unwrap()]);
    writer.join().unwrap();
    let report = json(&o);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "pss/privileged" && f["object"]["name"] == "fifo"));

    let o = run(&["scan", "--format", "json", "/dev/zero"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        json(&o)["errors"][0]["message"],
        "binary file (contains NUL bytes), not YAML or JSON"
    );

    let o = run_stdin(&["scan", "-"], b"");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("standard input is empty"));
}

/// `config check` refuses a policy whose constraints paths do not exist.
#[test]
fn config_check_verifies_constraint_paths() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_temp(
        dir.path(),
        "palisade.yaml",
        b"apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  constraints: [gatekeeper/, missing/]\n",
    );
    std::fs::create_dir(dir.path().join("gatekeeper")).unwrap();
    let o = run(&["config", "check", policy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"missing/\"") && !err.contains("\"gatekeeper/\""),
        "{err}"
    );
}

/// A Pod of 3,000 containers lists at most 1,000 findings; the rest are
/// counted (the exit status sees them) and named in a note.
#[test]
fn findings_per_object_are_capped_with_a_note() {
    let containers: String = (0..3000)
        .map(|i| {
            format!("  - {{name: c{i}, image: nginx, securityContext: {{privileged: true}}}}\n")
        })
        .collect();
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: many\nspec:\n  containers:\n{containers}"
    );
    let o = run_stdin(&["scan", "--format", "json", "-"], yaml.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    let report = json(&o);
    assert_eq!(report["findings"].as_array().unwrap().len(), 1000);
    let notes = report["summary"]["notes"].to_string();
    assert!(
        notes.contains("more findings not listed (at most 1000 per object)"),
        "{notes}"
    );
}

/// A List whose items are aliases of one Pod of aliased containers (a few
/// KB expanding to thousands of objects) lists each finding once, where it
/// is written, and notes the repeats; the exit status still counts them.
#[test]
fn findings_repeated_through_aliases_are_listed_once() {
    let containers = vec!["*c"; 20].join(", ");
    let pods = vec!["*p"; 100].join(", ");
    let yaml = format!(
        "apiVersion: v1\nkind: List\nx: &c {{name: a, image: nginx, securityContext: {{privileged: true}}}}\ny: &p {{apiVersion: v1, kind: Pod, metadata: {{name: p, namespace: s}}, spec: {{containers: [{containers}]}}}}\nitems: [{pods}]\n"
    );
    let o = run_stdin(&["scan", "--format", "json", "-"], yaml.as_bytes());
    assert_eq!(o.status.code(), Some(1));
    let report = json(&o);
    let findings = report["findings"].as_array().unwrap();
    let privileged = findings
        .iter()
        .filter(|f| f["rule"] == "pss/privileged")
        .count();
    assert_eq!(privileged, 1, "{report}");
    // Each `*c` is a place of its own (a container's missing fields point
    // at it), but the 100 Pods are one written Pod: ~50 findings, not ~5,000.
    assert!(findings.len() < 100, "{}", findings.len());
    let notes = report["summary"]["notes"].to_string();
    assert!(
        notes.contains("YAML aliases repeat fields already reported"),
        "{notes}"
    );
}

/// Argo Workflows: every template that runs a container is checked as a
/// pod, at the paths it is written at, with the pod fields the workflow
/// spec gives it; a field of the workflow spec is reported once.
#[test]
fn argo_workflow_templates_are_checked_as_pods() {
    let yaml = b"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: build, namespace: ci}
spec:
  hostNetwork: true
  entrypoint: main
  templates:
  - name: main
    steps: [[{name: b, template: compile}]]
  - name: compile
    container:
      image: golang
      securityContext: {privileged: true}
  - name: test
    script:
      image: golang
      source: go test ./...
---
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly, namespace: ci}
spec:
  schedule: '0 0 * * *'
  workflowSpec:
    templates:
    - name: run
      containerSet:
        containers:
        - name: a
          image: alpine
          securityContext: {privileged: true}
";
    let o = run_stdin(&["scan", "--format", "json", "-"], yaml);
    let report = json(&o);
    assert_eq!(report["errors"], serde_json::json!([]), "{report}");
    let of = |rule: &str| -> Vec<(String, String, u64)> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| {
                (
                    f["object"]["name"].as_str().unwrap().to_string(),
                    f["path"].as_str().unwrap().to_string(),
                    f["line"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        of("pss/privileged"),
        [
            ("build".to_string(), "spec.templates[1].container.securityContext.privileged".to_string(), 13),
            ("nightly".to_string(), "spec.workflowSpec.templates[0].containerSet.containers[0].securityContext.privileged".to_string(), 31),
        ]
    );
    assert_eq!(
        of("pss/hostNamespaces"),
        [("build".to_string(), "spec.hostNetwork".to_string(), 5)]
    );
    assert_eq!(report["summary"]["workloads"], 2, "{report}");
}
