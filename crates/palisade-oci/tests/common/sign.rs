//! Cosign signature artifacts made by hand for the tests: keys generated
//! with aws-lc-rs, simple signing payloads, and the `.sig` manifest pushed
//! with skopeo from an OCI layout, as `cosign sign --key` would write it.
//! Included by `tests/cosign.rs` with `#[path]` next to `mod common;`.
#![allow(dead_code)]

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING,
    ECDSA_P384_SHA384_ASN1_SIGNING, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};
use base64::Engine as _;

use crate::common::{Layout, Registry, OCI_MANIFEST};

/// Media type of a cosign payload layer.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Annotation carrying the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// A signing key of one of the kinds cosign uses.
pub enum TestKey {
    /// ECDSA P-256 with SHA-256 (cosign's default).
    P256(EcdsaKeyPair),
    /// ECDSA P-384 with SHA-384.
    P384(EcdsaKeyPair),
    /// Ed25519.
    Ed25519(Ed25519KeyPair),
    /// RSA signing with PKCS#1 v1.5 and SHA-256.
    RsaPkcs1(RsaKeyPair),
    /// RSA signing with PSS and SHA-256.
    RsaPss(RsaKeyPair),
}

impl TestKey {
    /// A fresh ECDSA P-256 key.
    pub fn p256() -> Self {
        TestKey::P256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap())
    }

    /// A fresh ECDSA P-384 key.
    pub fn p384() -> Self {
        TestKey::P384(EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).unwrap())
    }

    /// A fresh Ed25519 key.
    pub fn ed25519() -> Self {
        TestKey::Ed25519(Ed25519KeyPair::generate().unwrap())
    }

    /// A fresh 2048-bit RSA key signing with PKCS#1 v1.5 (`pss == false`) or PSS.
    pub fn rsa(pss: bool) -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        if pss {
            TestKey::RsaPss(pair)
        } else {
            TestKey::RsaPkcs1(pair)
        }
    }

    /// The public key as PEM `PUBLIC KEY` (SubjectPublicKeyInfo), like `cosign.pub`.
    pub fn public_pem(&self) -> String {
        let der: PublicKeyX509Der = match self {
            TestKey::P256(k) | TestKey::P384(k) => k.public_key().as_der().unwrap(),
            TestKey::Ed25519(k) => k.public_key().as_der().unwrap(),
            TestKey::RsaPkcs1(k) | TestKey::RsaPss(k) => k.public_key().as_der().unwrap(),
        };
        pem::encode(&pem::Pem::new("PUBLIC KEY", der.as_ref().to_vec()))
    }

    /// The private key as PEM `PRIVATE KEY` (PKCS#8), to test that it is refused.
    pub fn private_pem(&self) -> String {
        let der = match self {
            TestKey::P256(k) | TestKey::P384(k) => k.to_pkcs8v1().unwrap().as_ref().to_vec(),
            TestKey::Ed25519(k) => k.to_pkcs8v1().unwrap().as_ref().to_vec(),
            TestKey::RsaPkcs1(k) | TestKey::RsaPss(k) => {
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(k)
                    .unwrap()
                    .as_ref()
                    .to_vec()
            }
        };
        pem::encode(&pem::Pem::new("PRIVATE KEY", der))
    }

    /// The DER (ECDSA) or raw (Ed25519, RSA) signature over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::P256(k) | TestKey::P384(k) => k.sign(&rng, message).unwrap().as_ref().to_vec(),
            TestKey::Ed25519(k) => k.sign(message).as_ref().to_vec(),
            TestKey::RsaPkcs1(k) | TestKey::RsaPss(k) => {
                let encoding = if matches!(self, TestKey::RsaPss(_)) {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(encoding, &rng, message, &mut sig).unwrap();
                sig
            }
        }
    }
}

/// A simple signing payload as cosign writes it (compact JSON).
pub fn payload(docker_reference: &str, digest: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": null,
    }))
    .unwrap()
}

/// One layer of a signature manifest.
pub struct SigLayer {
    /// The layer bytes (the payload).
    pub payload: Vec<u8>,
    /// The signature annotation value (`None`: no annotation).
    pub annotation: Option<String>,
    /// The layer media type.
    pub media_type: String,
}

impl SigLayer {
    /// A layer carrying `payload` signed by `key`.
    pub fn signed(key: &TestKey, payload: Vec<u8>) -> Self {
        let signature = base64::engine::general_purpose::STANDARD.encode(key.sign(&payload));
        Self {
            payload,
            annotation: Some(signature),
            media_type: SIMPLE_SIGNING.to_string(),
        }
    }

    /// A layer whose signature was made over `signed` but which carries `payload`.
    pub fn tampered(key: &TestKey, signed: &[u8], payload: Vec<u8>) -> Self {
        let signature = base64::engine::general_purpose::STANDARD.encode(key.sign(signed));
        Self {
            payload,
            annotation: Some(signature),
            media_type: SIMPLE_SIGNING.to_string(),
        }
    }
}

/// The cosign tag of `digest`: `sha256-<hex>.sig`.
pub fn sig_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// Pushes a signature manifest of `layers` to `repo:sha256-<hex>.sig` for
/// `digest` and returns its manifest digest. The config mirrors cosign's.
pub fn push_signature(
    registry: &Registry,
    repo: &str,
    digest: &str,
    layers: &[SigLayer],
) -> String {
    let mut layout = Layout::new();
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for layer in layers {
        let blob = layout.blob(&layer.payload);
        let mut descriptor = serde_json::json!({
            "mediaType": layer.media_type, "digest": blob.digest, "size": blob.size,
        });
        if let Some(signature) = &layer.annotation {
            descriptor["annotations"] = serde_json::json!({ SIGNATURE_ANNOTATION: signature });
        }
        descriptors.push(descriptor);
        diff_ids.push(blob.digest);
    }
    let config = serde_json::json!({
        "architecture": "", "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {},
    });
    let config = layout.blob(&serde_json::to_vec(&config).unwrap());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.digest, "size": config.size},
        "layers": descriptors,
    });
    let manifest = layout.blob(&serde_json::to_vec(&manifest).unwrap());
    layout.tag("sig", &manifest, OCI_MANIFEST);
    registry.push(&layout.dir, "sig", &format!("{repo}:{}", sig_tag(digest)));
    manifest.digest
}
