//! `palisade scan` with a keyless `images.verify` entry: a real
//! `docker-registry` holding images signed by a test Fulcio and logged by a
//! test Rekor (the harness of palisade-sigstore's and palisade-oci's tests),
//! the trusted root a file next to the policy.

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;
#[path = "../../palisade-sigstore/tests/common/fulcio.rs"]
mod fulcio;
#[path = "../../palisade-oci/tests/common/keyless_sign.rs"]
mod keyless_sign;
#[path = "../../palisade-oci/tests/common/sign.rs"]
mod sign;

use std::process::Command;

use common::{Layout, Registry, OCI_MANIFEST};
use fulcio::{World, ISSUER, SIGNED_AT, SUBJECT};
use keyless_sign::{push, sig_layer};
use serde_json::Value;
use sign::payload;

#[test]
fn scan_verifies_keyless_signatures_against_the_policy_root() {
    let registry = Registry::start();
    let host = registry.host.clone();
    let w = World::new();
    let (leaf, key) = w.leaf(SUBJECT, ISSUER);
    let (other_leaf, other_key) = w.leaf("someone@example.test", ISSUER);
    let mut layout = Layout::new();
    let mut digests = Vec::new();
    for (name, leaf, key) in [("app", &leaf, &key), ("other", &other_leaf, &other_key)] {
        let m = layout.image("linux", "amd64", name);
        layout.tag(name, &m, OCI_MANIFEST);
        registry.push(&layout.dir, name, &format!("kl/{name}:v1"));
        let p = payload(&format!("{host}/kl/{name}"), &m.digest);
        let layer = sig_layer(&w, leaf, key, p.clone(), &p, SIGNED_AT, true);
        let tag = format!("{}.sig", m.digest.replacen(':', "-", 1));
        push(&registry, &format!("kl/{name}"), &tag, &[layer]);
        digests.push(m.digest);
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.json"), w.root_json()).unwrap();
    std::fs::write(
        dir.path().join("palisade.yaml"),
        format!("apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [\"{host}/kl/**\"]\n      keyless:\n      - issuer: {ISSUER}\n        subjectRegExp: 'nobody@example\\.test'\n      - issuer: {ISSUER}\n        subject: {SUBJECT}\n      trustedRoot: root.json\n"),
    )
    .unwrap();
    // Two signers: the first matches neither image, the second only app.
    let manifest = dir.path().join("pod.yaml");
    std::fs::write(
        &manifest,
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n  - name: c0\n    image: {host}/kl/app:v1\n  - name: c1\n    image: {host}/kl/other:v1\n"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .env_remove("PALISADE_CONFIG")
        .arg("scan")
        .arg("--config")
        .arg(dir.path().join("palisade.yaml"))
        .args([
            "--format",
            "json",
            "--resolve",
            "--insecure-registry",
            &host,
        ])
        .arg(&manifest)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let sig: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "image/signature")
        .collect();
    assert_eq!(sig.len(), 1, "{r}");
    assert_eq!(sig[0]["container"], "c1");
    let msg = sig[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("identity mismatch: got someone@example.test"),
        "{msg}"
    );
    assert!(msg.contains(&digests[1]), "{msg}");
    // --resolve reports both tags' digests.
    let resolved = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "image/resolved-digest")
        .count();
    assert_eq!(resolved, 2, "{r}");
}
