//! The deployment manifests in `deploy/` (what `kubectl apply -k deploy/`
//! installs for `palisade serve`) pass palisade's own strictest checks, and
//! the kustomization lists every one of them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy_dir() -> PathBuf {
    repo().join("deploy")
}

/// The binary, run from an empty directory (so that no `.palisade.yaml`
/// lying around changes the policy) and without palisade's environment.
fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env_remove("NO_COLOR")
        .env_remove("PALISADE_CONFIG")
        .env_remove("PALISADE_LEVEL")
        .env_remove("PALISADE_PSS_VERSION")
        .env_remove("PALISADE_FAIL_ON")
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("palisade runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// Scans `deploy/` at the restricted level (every pack on) and checks that
/// nothing is reported: exit 0, no findings, errors or suppressions, and
/// exactly one workload (the Deployment).
fn assert_clean_scan(extra: &[&str]) {
    let cwd = tempfile::tempdir().expect("temp dir");
    let deploy = deploy_dir();
    let deploy = deploy.to_str().expect("UTF-8 path");
    let mut args = vec!["scan", "--level", "restricted", "--format", "json"];
    args.extend_from_slice(extra);
    args.push(deploy);
    let o = run(cwd.path(), &args);
    let v = json(&o);
    assert_eq!(v["schema"], "palisade.json/v1", "{}", text(&o));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let s = &v["summary"];
    for sev in ["critical", "high", "medium", "low", "info"] {
        assert_eq!(
            s["findings"][sev],
            0,
            "{sev} findings in deploy/: {}",
            text(&o)
        );
    }
    assert_eq!(
        v["findings"].as_array().map(Vec::len),
        Some(0),
        "{}",
        text(&o)
    );
    assert_eq!(s["errors"], 0, "{}", text(&o));
    assert_eq!(s["skipped"], 0, "{}", text(&o));
    // Nothing passes by way of an exemption or an inline suppression.
    assert_eq!(s["suppressed"], 0, "{}", text(&o));
    assert_eq!(
        s["workloads"],
        2,
        "the webhook's Deployment and the audit CronJob are the only workloads: {}",
        text(&o)
    );
    assert_eq!(
        s["other_kinds"]["ValidatingWebhookConfiguration"],
        1,
        "{}",
        text(&o)
    );
    assert_eq!(
        s["other_kinds"]["MutatingWebhookConfiguration"],
        1,
        "{}",
        text(&o)
    );
}

#[test]
fn deploy_manifests_pass_restricted_with_every_pack() {
    assert_clean_scan(&[]);
}

/// The `palisade.yaml` key of the policy ConfigMap, unindented.
fn configmap_policy() -> String {
    let path = deploy_dir().join("configmap.yaml");
    let cm = std::fs::read_to_string(&path).expect("read deploy/configmap.yaml");
    let mut lines = cm
        .lines()
        .skip_while(|l| l.trim_end() != "  palisade.yaml: |");
    assert!(
        lines.next().is_some(),
        "no `palisade.yaml: |` key in {}",
        path.display()
    );
    let mut policy = String::new();
    for l in lines {
        if l.trim().is_empty() {
            policy.push('\n');
        } else if let Some(body) = l.strip_prefix("    ") {
            policy.push_str(body);
            policy.push('\n');
        } else {
            break;
        }
    }
    policy
}

#[test]
fn configmap_policy_is_valid_and_exempts_system_namespaces() {
    let policy = configmap_policy();
    assert!(policy.contains("kind: Policy"), "{policy}");
    assert!(
        policy.contains("namespaces: [kube-system, palisade-system]"),
        "admission.exempt.namespaces: {policy}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("palisade.yaml");
    std::fs::write(&file, &policy).expect("write policy");
    let file = file.to_str().expect("UTF-8 path");

    let o = run(dir.path(), &["config", "check", file]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // The Deployment also passes under the policy it ships with.
    assert_clean_scan(&["--config", file]);
}

/// The entries of the top-level `resources:` list of a kustomization.
fn kustomization_resources(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_resources = false;
    for line in text.lines() {
        let l = line.split(" #").next().unwrap_or("").trim_end();
        if l.trim_start().starts_with('#') || l.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('-') {
            in_resources = l == "resources:";
            continue;
        }
        if in_resources {
            let item = l
                .trim_start()
                .strip_prefix("- ")
                .unwrap_or_else(|| panic!("unexpected line in kustomization resources: {line:?}"));
            out.push(
                item.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_owned(),
            );
        }
    }
    out
}

#[test]
fn kustomization_lists_every_manifest() {
    let dir = deploy_dir();
    let kust = std::fs::read_to_string(dir.join("kustomization.yaml"))
        .expect("read deploy/kustomization.yaml");
    let listed = kustomization_resources(&kust);
    assert!(
        !listed.is_empty(),
        "no resources in deploy/kustomization.yaml"
    );
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(
        listed_set.len(),
        listed.len(),
        "duplicate resources: {listed:?}"
    );

    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("read deploy/")
        .map(|e| e.expect("dir entry"))
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .map(|e| e.file_name().into_string().expect("UTF-8 file name"))
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .filter(|n| n != "kustomization.yaml" && n != "kustomization.yml")
        .collect();
    assert!(on_disk.contains("deployment.yaml"), "{on_disk:?}");

    let unlisted: Vec<_> = on_disk.difference(&listed_set).collect();
    assert!(
        unlisted.is_empty(),
        "not in deploy/kustomization.yaml: {unlisted:?}"
    );
    let missing: Vec<_> = listed_set.difference(&on_disk).collect();
    assert!(missing.is_empty(), "listed but not in deploy/: {missing:?}");
}

#[test]
fn kustomization_resources_parser() {
    let k = "# c\napiVersion: kustomize.config.k8s.io/v1beta1\nresources:\n- a.yaml\n  # note\n- \"b.yaml\" # why\nimages: []\n";
    assert_eq!(kustomization_resources(k), ["a.yaml", "b.yaml"]);
}

/// The audit ClusterRole grants `get` and `list` on exactly what `palisade
/// audit` reads (the list in palisade-cluster), and nothing on Secrets.
#[test]
fn audit_clusterrole_grants_what_audit_reads_and_no_secrets() {
    use palisade_cluster::resources::{builtin, Secrets};
    let cwd = tempfile::tempdir().expect("temp dir");
    let dir = deploy_dir().join("audit");
    let o = run(
        cwd.path(),
        &[
            "rbac",
            "can",
            "ServiceAccount:palisade-system:palisade-audit",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let rules = json(&o);
    let grants = |verb: &str, group: &str, resource: &str| {
        rules.as_array().unwrap().iter().any(|g| {
            let has = |field: &str, want: &str| {
                g["rule"][field]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|x| x == want || x == "*"))
            };
            has("verbs", verb) && has("apiGroups", group) && has("resources", resource)
        })
    };
    for r in builtin(Secrets::No) {
        for verb in ["get", "list"] {
            assert!(
                grants(verb, &r.group, &r.plural),
                "no {verb} on {}",
                r.display()
            );
        }
    }
    for w in palisade_core::CUSTOM_WORKLOADS {
        let plural = format!("{}s", w.kind.to_ascii_lowercase());
        assert!(
            grants("list", w.group, &plural),
            "no list on {plural}.{}",
            w.group
        );
    }
    for verb in ["get", "list", "watch"] {
        assert!(!grants(verb, "", "secrets"), "{verb} on secrets is granted");
    }
    for verb in ["create", "update", "delete", "patch"] {
        assert!(!grants(verb, "", "pods"), "{verb} on pods is granted");
    }
    assert!(grants("patch", "wgpolicyk8s.io", "policyreports"));
    assert!(grants("delete", "wgpolicyk8s.io", "clusterpolicyreports"));
}
