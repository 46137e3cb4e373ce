//! `export vap`: the exported ValidatingAdmissionPolicy, run on palisade's
//! CEL engine, gives the same verdict as the built-in rules on every
//! fixture of the upstream Pod Security Admission suite
//! (../shared/corpora/pod-security-admission), at its own level and
//! version, as a Pod and as a Deployment; its message names the check as
//! upstream requires. The image rules agree with the built-in ones on a
//! table of references.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use palisade_core::loader::load_bytes;
use palisade_core::{Context, Engine, Limits, PssLevel, PssVersion};
use palisade_rego::{Inventory, PolicySet, Review};
use palisade_rules::vap_export::{export, export_yaml, VapExport};
use serde_json::{json, Value};

fn corpus_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PALISADE_PSA_CORPUS") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/pod-security-admission")
}

fn policy_set(opts: &VapExport, dir: &Path) -> PolicySet {
    let f = dir.join(format!("{}-{}.yaml", opts.level, opts.version));
    std::fs::write(&f, export_yaml(opts)).unwrap_or_else(|e| panic!("{e}"));
    let set = PolicySet::load(&[f]).unwrap_or_else(|e| panic!("{opts:?}: {e:#?}"));
    // Every expression is well typed for the kinds its policy matches.
    assert!(set.warnings().is_empty(), "{opts:?}: {:#?}", set.warnings());
    set
}

fn to_json(text: &str) -> Value {
    let loaded = load_bytes(text.as_bytes(), &Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.documents[0].root.to_json()
}

/// The exported policy's messages for `object` (empty: admitted).
fn vap_verdict(set: &PolicySet, object: &Value) -> Vec<String> {
    match set.review(&Review::create(object), &Inventory::new()) {
        Ok(vs) => vs.into_iter().map(|v| v.message).collect(),
        Err(e) => vec![format!("ERROR {e}")],
    }
}

fn deployment(pod: &Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "wrapped"},
        "spec": {"selector": {}, "template": {"metadata": pod.get("metadata").cloned().unwrap_or(json!({})),
            "spec": pod["spec"].clone()}}})
}

#[test]
fn the_exported_policy_agrees_with_the_built_in_rules_on_every_upstream_fixture() {
    let dir = corpus_dir();
    let index = std::fs::read_to_string(dir.join("INDEX.jsonl"))
        .unwrap_or_else(|e| panic!("cannot read the PSA corpus at {} ({e})", dir.display()));
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vap_export");
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let mut sets: BTreeMap<(String, String), (PolicySet, Engine)> = BTreeMap::new();
    let mut disagreements = Vec::new();
    let mut checked = 0usize;
    for line in index.lines().filter(|l| !l.trim().is_empty()) {
        let fx: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}"));
        let s = |k: &str| fx[k].as_str().unwrap_or("").to_string();
        let (file, level, version) = (s("file"), s("level"), s("version"));
        let (set, engine) = sets
            .entry((level.clone(), version.clone()))
            .or_insert_with(|| {
                let l: PssLevel = level.parse().unwrap_or_else(|e| panic!("{e}"));
                let v: PssVersion = version.parse().unwrap_or_else(|e| panic!("{e}"));
                let mut opts = VapExport::new(l, v);
                opts.latest_tag = false;
                let engine = Engine::new(
                    palisade_rules::pss_rules(),
                    Context::new(l, v),
                    Limits::default(),
                );
                (policy_set(&opts, &tmp), engine)
            });
        let text = std::fs::read_to_string(dir.join(&file)).unwrap_or_else(|e| panic!("{e}"));
        let builtin = engine.scan_bytes(&file, text.as_bytes());
        let builtin_denies = !builtin.findings.is_empty();
        let pod = to_json(&text);
        for (what, object) in [("pod", pod.clone()), ("deployment", deployment(&pod))] {
            let messages = vap_verdict(set, &object);
            checked += 1;
            if messages.iter().any(|m| m.starts_with("ERROR")) {
                disagreements.push(format!("{file} ({what}): {messages:?}"));
                continue;
            }
            let exported_denies = !messages.is_empty();
            if builtin_denies != exported_denies {
                disagreements.push(format!(
                    "{file} ({what}): built-in {:?}, exported {messages:?}",
                    builtin.findings.iter().map(|f| f.rule).collect::<Vec<_>>()
                ));
                continue;
            }
            // A rejection names the check as upstream requires (the first
            // failing validation is the one the API server reports).
            if s("expect") == "fail" {
                let want = s("expect_message_substring");
                if !messages.iter().any(|m| m.contains(&want)) {
                    disagreements.push(format!(
                        "{file} ({what}): no message contains {want:?}: {messages:?}"
                    ));
                }
            }
        }
        // Upstream's own expectation, as a third opinion.
        if builtin_denies != (s("expect") == "fail") {
            disagreements.push(format!("{file}: the built-in rules disagree with upstream"));
        }
    }
    assert_eq!(
        checked,
        2 * 4537,
        "every fixture, as a Pod and as a Deployment"
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements, first: {:#?}",
        disagreements.len(),
        &disagreements[..disagreements.len().min(20)]
    );
}

#[test]
fn the_exported_image_rules_agree_with_the_built_in_ones() {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vap_export_images");
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let mut opts = VapExport::new(PssLevel::Privileged, PssVersion::Latest);
    opts.require_digest = true;
    opts.trusted_registries = vec![
        "registry.example.com".into(),
        "docker.io/library/*".into(),
        "ghcr.io/acme/".into(),
    ];
    let set = policy_set(&opts, &tmp);
    let policy = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  podSecurity: {level: privileged}\n  images:\n    requireDigest: true\n    trustedRegistries: [registry.example.com, \"docker.io/library/*\", ghcr.io/acme/]\n";
    let policy = palisade_core::policy_file::parse_policy("p.yaml", policy)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut ctx = Context::new(PssLevel::Privileged, PssVersion::Latest);
    ctx.policy = std::sync::Arc::new(policy);
    let engine = Engine::new(palisade_rules::all_rules(), ctx, Limits::default());
    let images = [
        "nginx",
        "nginx:latest",
        "nginx:1.27",
        "library/nginx:1.27",
        "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "registry.example.com/shop/web:1.0",
        "registry.example.com:5000/shop/web:1.0",
        "registry.example.com/shop/web@sha256:0000000000000000000000000000000000000000000000000000000000000000",
        "ghcr.io/acme/tool:2",
        "ghcr.io/acme/deep/tool:2",
        "ghcr.io/other/tool:2",
        "docker.io/nginx:1",
        "index.docker.io/library/nginx:1",
        "Registry.Example.com/shop/web:1",
        "acme/tool:2",
        "localhost/tool",
        "registry.example.community/x:1",
    ];
    let ids = [
        "image/latest-tag",
        "image/digest-required",
        "image/registry",
    ];
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for image in images {
        let pod = format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n    image: \"{image}\"\n");
        let report = engine.scan_bytes("p.yaml", pod.as_bytes());
        let mut builtin: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.rule)
            .filter(|r| ids.contains(r))
            .collect();
        builtin.sort_unstable();
        let messages = vap_verdict(&set, &to_json(&pod));
        let mut exported: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| messages.iter().any(|m| m.contains(&format!("{id}: "))))
            .collect();
        exported.sort_unstable();
        assert_eq!(exported, builtin, "{image}: {messages:?}");
        for id in exported {
            *seen.entry(id).or_default() += 1;
        }
    }
    // Each rule fires on some references and not on others.
    for id in ids {
        let n = seen.get(id).copied().unwrap_or(0);
        assert!(n > 0 && n < images.len(), "{id}: {n} of {}", images.len());
    }
}

#[test]
fn the_binding_carries_the_actions_and_excluded_namespaces() {
    let mut opts = VapExport::new(PssLevel::Restricted, PssVersion::Latest);
    opts.actions = vec!["Warn".into(), "Audit".into()];
    opts.exclude_namespaces = vec!["kube-system".into()];
    let docs = export(&opts);
    assert_eq!(
        docs.len(),
        8,
        "a policy and a binding per place of the pod template"
    );
    assert_eq!(
        docs[0]["metadata"]["name"],
        "palisade-pss-restricted-latest-pods"
    );
    assert_eq!(
        docs[1]["spec"]["policyName"],
        "palisade-pss-restricted-latest-pods"
    );
    assert_eq!(
        docs[2]["metadata"]["name"],
        "palisade-pss-restricted-latest-workloads"
    );
    assert_eq!(
        docs[1]["spec"]["validationActions"],
        json!(["Warn", "Audit"])
    );
    assert_eq!(
        docs[1]["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"],
        json!(["kube-system"])
    );
    // Restricted at latest: every check that applies, and the tag rule.
    assert_eq!(
        docs[0]["spec"]["validations"].as_array().map(Vec::len),
        Some(16)
    );
}
