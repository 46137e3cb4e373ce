//! Keyless cosign artifacts made for the tests with the test Fulcio and
//! log of `palisade-sigstore/tests/common/fulcio.rs`: `.sig` and `.att`
//! layers with cosign's annotations, and Sigstore bundles pushed as OCI
//! referrers with the tag-schema index. Included with `#[path]` next to
//! `mod common;`, `mod fulcio;` and `mod sign;`.
#![allow(dead_code)]

use std::collections::BTreeMap;

use crate::common::{self, Layout, Registry, OCI_INDEX, OCI_MANIFEST};
use crate::fulcio::{b64, cert_pem, World, SIGNED_AT};
use crate::sign::SIMPLE_SIGNING;
use rcgen::{KeyPair, SigningKey};

pub const DSSE: &str = "application/vnd.dsse.envelope.v1+json";
pub const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const SLSA: &str = "https://slsa.dev/provenance/v1";

/// One layer of a pushed artifact.
pub struct Layer {
    pub media_type: String,
    pub bytes: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// Writes a manifest of `layers` (with `artifact_type` and `subject` when
/// given, as a referrer) into `layout`; returns its digest and size.
pub fn manifest(
    layout: &Layout,
    layers: &[Layer],
    artifact: Option<(&str, &str)>,
) -> (String, usize) {
    let descriptors: Vec<serde_json::Value> = layers
        .iter()
        .map(|l| {
            let b = layout.blob(&l.bytes);
            serde_json::json!({"mediaType": l.media_type, "digest": b.digest, "size": b.size,
                "annotations": l.annotations})
        })
        .collect();
    let config = layout.blob(b"{}");
    let mut manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.digest, "size": config.size},
        "layers": descriptors,
    });
    if let Some((artifact_type, subject)) = artifact {
        manifest["artifactType"] = artifact_type.into();
        manifest["subject"] =
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": subject, "size": 1});
    }
    let blob = layout.blob(&serde_json::to_vec(&manifest).unwrap());
    (blob.digest, blob.size)
}

/// Pushes a manifest of `layers` to `repo:tag`.
pub fn push(r: &Registry, repo: &str, tag: &str, layers: &[Layer]) {
    let mut layout = Layout::new();
    let (digest, size) = manifest(&layout, layers, None);
    let blob = common::Blob { digest, size };
    layout.tag("t", &blob, OCI_MANIFEST);
    r.push(&layout.dir, "t", &format!("{repo}:{tag}"));
}

/// Pushes referrers of `subject`, one Sigstore bundle each, with the
/// tag-schema index (`sha256-<hex>`) listing them, as a client does for a
/// registry without the referrers API.
pub fn push_referrers(r: &Registry, repo: &str, subject: &str, bundles: &[String]) {
    let mut layout = Layout::new();
    let manifests: Vec<serde_json::Value> = bundles
        .iter()
        .map(|bundle| {
            let layer = Layer {
                media_type: BUNDLE.into(),
                bytes: bundle.clone().into_bytes(),
                annotations: BTreeMap::new(),
            };
            let (digest, size) = manifest(&layout, &[layer], Some((BUNDLE, subject)));
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": size,
                "artifactType": BUNDLE})
        })
        .collect();
    let index =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    let blob = layout.blob(&serde_json::to_vec(&index).unwrap());
    layout.tag("i", &blob, OCI_INDEX);
    r.push(
        &layout.dir,
        "i",
        &format!("{repo}:{}", subject.replacen(':', "-", 1)),
    );
}

/// The cosign annotations of a keyless layer: certificate, chain, and the
/// Rekor bundle of `body` (unless `logged` is false).
pub fn annotations(
    w: &World,
    leaf: &[u8],
    body: &serde_json::Value,
    at: i64,
    logged: bool,
) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    a.insert("dev.sigstore.cosign/certificate".into(), cert_pem(leaf));
    a.insert("dev.sigstore.cosign/chain".into(), w.ca_pem());
    if logged {
        let (body_b64, set) = w.log(body, at);
        a.insert(
            "dev.sigstore.cosign/bundle".into(),
            w.rekor_annotation(&body_b64, &set, at),
        );
    }
    a
}

/// A classic keyless `.sig` layer over `payload`, signed with `signed`
/// (normally the payload itself) and logged at `at`.
pub fn sig_layer(
    w: &World,
    leaf: &[u8],
    key: &KeyPair,
    payload: Vec<u8>,
    signed: &[u8],
    at: i64,
    logged: bool,
) -> Layer {
    let sig = key.sign(signed).unwrap();
    let body = w.hashedrekord(signed, &sig, leaf);
    let mut a = annotations(w, leaf, &body, at, logged);
    a.insert("dev.cosignproject.cosign/signature".into(), b64(&sig));
    Layer {
        media_type: SIMPLE_SIGNING.into(),
        bytes: payload,
        annotations: a,
    }
}

/// A classic keyless `.att` layer: a DSSE envelope over `statement`.
pub fn att_layer(w: &World, leaf: &[u8], key: &KeyPair, statement: &[u8]) -> Layer {
    let (envelope, body) = w.dsse(statement, leaf, key);
    let mut a = annotations(w, leaf, &body, SIGNED_AT, true);
    a.insert("predicateType".into(), SLSA.into());
    Layer {
        media_type: DSSE.into(),
        bytes: serde_json::to_vec(&envelope).unwrap(),
        annotations: a,
    }
}
