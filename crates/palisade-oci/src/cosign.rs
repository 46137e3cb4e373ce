//! Keyed cosign signature verification: the `sha256-<hex>.sig` tag next to
//! an image, its "simple signing" payload layers, and their signatures
//! checked against the caller's public keys.
//!
//! Written here rather than taken from the `sigstore` crate, which pulls in
//! about 400 crates including openssl for what is, in the keyed case, one
//! manifest, one blob per signature and one signature check with aws-lc-rs
//! (see docs/dependencies.md). Keyless signatures are `keyless.rs`.
//!
//! Format: <https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md>.

use std::fmt;

use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
use aws_lc_rs::signature::{self, ParsedPublicKey, VerificationAlgorithm};
use base64::Engine as _;
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::Reference;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::{is_index, is_sha256_digest, parse_reference, Client, OciError};

/// Media type of a cosign signature payload layer.
const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation holding the base64 signature over the payload.
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `critical.type` of a cosign image signature payload.
const SIGNATURE_TYPE: &str = "cosign container image signature";
/// Payloads are a few hundred bytes; anything beyond this is not a payload.
const MAX_PAYLOAD_BYTES: u64 = 1 << 20;
/// Signature layers tried per image, so that a hostile manifest listing
/// thousands of layers cannot make us fetch thousands of blobs.
const MAX_SIGNATURE_LAYERS: usize = 32;

/// The algorithm family of a [`PublicKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
    Ed25519,
    Rsa { bits: Option<usize> },
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::EcdsaP256 => f.write_str("ECDSA P-256"),
            KeyKind::EcdsaP384 => f.write_str("ECDSA P-384"),
            KeyKind::EcdsaP521 => f.write_str("ECDSA P-521"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
            KeyKind::Rsa { bits: Some(bits) } => write!(f, "RSA-{bits}"),
            KeyKind::Rsa { bits: None } => f.write_str("RSA"),
        }
    }
}

/// A cosign verification key.
#[derive(Clone)]
pub struct PublicKey {
    kind: KeyKind,
    /// One verifier per signature scheme the key may sign with (RSA keys
    /// may sign with PKCS#1 v1.5 or PSS; other kinds have one).
    verifiers: Vec<ParsedPublicKey>,
    /// `sha256:<hex>` of the SubjectPublicKeyInfo DER.
    fingerprint: String,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// Verification schemes per key kind, in the order they are tried when parsing.
const SCHEMES: &[(KeyKind, &[&dyn VerificationAlgorithm])] = &[
    (KeyKind::EcdsaP256, &[&signature::ECDSA_P256_SHA256_ASN1]),
    (KeyKind::EcdsaP384, &[&signature::ECDSA_P384_SHA384_ASN1]),
    (KeyKind::EcdsaP521, &[&signature::ECDSA_P521_SHA512_ASN1]),
    (KeyKind::Ed25519, &[&signature::ED25519]),
    (
        KeyKind::Rsa { bits: None },
        &[
            &signature::RSA_PKCS1_2048_8192_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
        ],
    ),
];

impl PublicKey {
    /// Parses a PEM `PUBLIC KEY` (SPKI): ECDSA P-256 (cosign's default,
    /// SHA-256), ECDSA P-384 (SHA-384), ECDSA P-521 (SHA-512), Ed25519, RSA
    /// (PKCS#1 v1.5 or PSS with SHA-256). Error text says what is wrong.
    pub fn from_pem(pem: &str) -> Result<PublicKey, String> {
        let blocks = pem::parse_many(pem).map_err(|e| format!("not a PEM public key: {e}"))?;
        if blocks.is_empty() {
            return Err(
                "no PEM block found: expected -----BEGIN PUBLIC KEY----- (e.g. cosign.pub)"
                    .to_string(),
            );
        }
        if let Some(private) = blocks.iter().find(|b| b.tag().contains("PRIVATE KEY")) {
            return Err(format!(
                "this is a private key (PEM {}); give the public key instead (e.g. cosign.pub)",
                private.tag()
            ));
        }
        let public: Vec<&pem::Pem> = blocks.iter().filter(|b| b.tag() == "PUBLIC KEY").collect();
        let block = match public.as_slice() {
            [one] => *one,
            [] => {
                let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
                let hint = if tags.contains(&"CERTIFICATE") {
                    " (a certificate: for keyless signatures, list the signer under keyless: [{issuer, subject}] instead)"
                } else {
                    ""
                };
                return Err(format!(
                    "expected a PEM PUBLIC KEY block, found {}{hint}",
                    tags.join(", ")
                ));
            }
            more => {
                return Err(format!(
                    "found {} PUBLIC KEY blocks; give one key per entry",
                    more.len()
                ));
            }
        };
        Self::from_spki_der(block.contents())
    }

    /// Parses a DER SubjectPublicKeyInfo.
    fn from_spki_der(der: &[u8]) -> Result<PublicKey, String> {
        for (kind, algorithms) in SCHEMES {
            let verifiers: Vec<ParsedPublicKey> = algorithms
                .iter()
                .filter_map(|alg| ParsedPublicKey::new(*alg, der).ok())
                .collect();
            if verifiers.is_empty() {
                continue;
            }
            let kind = match kind {
                KeyKind::Rsa { .. } => {
                    let bits = aws_lc_rs::rsa::PublicEncryptingKey::from_der(der)
                        .ok()
                        .map(|k| k.key_size_bits());
                    if let Some(bits) = bits.filter(|b| *b < 2048) {
                        return Err(format!(
                            "RSA key of {bits} bits is too short (at least 2048 bits)"
                        ));
                    }
                    KeyKind::Rsa { bits }
                }
                other => *other,
            };
            // The fingerprint is over the SPKI as the key library writes it,
            // so that the same key always has the same fingerprint.
            let spki = verifiers
                .first()
                .and_then(|v| AsDer::<PublicKeyX509Der>::as_der(v).ok())
                .map(|d| d.as_ref().to_vec())
                .unwrap_or_else(|| der.to_vec());
            return Ok(PublicKey {
                kind,
                verifiers,
                fingerprint: format!("sha256:{}", hex::encode(Sha256::digest(&spki))),
            });
        }
        Err("unsupported or malformed public key: expected ECDSA P-256/P-384/P-521, Ed25519 or RSA (2048 to 8192 bits) in SubjectPublicKeyInfo form".to_string())
    }

    /// Short description, e.g. "ECDSA P-256 key sha256:1a2b3c4d…"
    /// (fingerprint of the SPKI DER), used in messages.
    pub fn describe(&self) -> String {
        let short = self.fingerprint.get(..15).unwrap_or(&self.fingerprint);
        format!("{} key {short}…", self.kind)
    }

    /// `sha256:<hex>` of the SubjectPublicKeyInfo DER.
    pub(crate) fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether `signature` is a valid signature over `message` by this key.
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifiers
            .iter()
            .any(|v| v.verify_sig(message, signature).is_ok())
    }
}

/// Outcome of looking for signatures of one image digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// A signature by `keys[key]` over a payload naming this digest and
    /// repository; `signature_digest` is the digest of the signature
    /// manifest (the `.sig` tag) it was found in.
    Verified {
        /// Index of the key in the slice given to [`Client::verify_cosign`].
        key: usize,
        /// Digest of the signature manifest.
        signature_digest: String,
    },
    /// No signature artifact exists for this digest (the `.sig` tag is
    /// absent or has no layers).
    Missing,
    /// Signature artifacts exist but none verifies with any key; one reason
    /// per signature layer tried.
    Invalid {
        /// Why each layer was rejected, e.g. "layer 0: signature does not verify with the trusted key".
        reasons: Vec<String>,
    },
}

/// The parts of a simple signing payload that are checked.
#[derive(Debug, Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Debug, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Debug, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// Checks a payload whose signature has been verified: it must be a cosign
/// image signature naming `digest` and `repository` (normalised).
pub(crate) fn check_payload(payload: &[u8], digest: &str, repository: &str) -> Result<(), String> {
    let payload: Payload = serde_json::from_slice(payload)
        .map_err(|e| format!("payload is not a cosign simple signing document: {e}"))?;
    let critical = payload.critical;
    if critical.kind != SIGNATURE_TYPE {
        return Err(format!(
            "payload type is {:?}, not {SIGNATURE_TYPE:?}",
            critical.kind
        ));
    }
    let named = critical.image.docker_manifest_digest;
    if !named.eq_ignore_ascii_case(digest) {
        return Err(format!("payload names {named} not {digest}"));
    }
    let identity = critical.identity.docker_reference;
    match normalise_repository(&identity) {
        Some(named) if named == repository => Ok(()),
        _ => Err(format!(
            "payload names repository {identity}, not {repository}"
        )),
    }
}

/// `registry/repository` of a reference, as cosign writes it in
/// `critical.identity.docker-reference`: Docker Hub as `docker.io` (also
/// for `index.docker.io`), official images under `library/`, no tag or digest.
fn normalise_repository(reference: &str) -> Option<String> {
    let parsed: Reference = reference.trim().parse().ok()?;
    Some(repository_of(&parsed))
}

/// `registry/repository` of a parsed reference (the parser already maps
/// `index.docker.io` to `docker.io` and adds `library/`).
pub(crate) fn repository_of(reference: &Reference) -> String {
    format!(
        "{}/{}",
        reference.registry().to_ascii_lowercase(),
        reference.repository()
    )
}

/// The tag cosign stores the signatures of `digest` under: `sha256-<hex>.sig`.
fn signature_tag(digest: &str) -> Option<String> {
    is_sha256_digest(digest).then(|| format!("{}.sig", digest.replacen(':', "-", 1)))
}

/// What became of one signature layer.
enum LayerOutcome {
    /// Verified by the key at this index.
    Verified(usize),
    /// Rejected, with the reason.
    Rejected(String),
}

impl Client {
    /// Looks for cosign signatures of `digest` in the repository of
    /// `reference` (the image's own repository; the tag or digest part of
    /// `reference` is ignored), at the tag `sha256-<hex>.sig`, and verifies
    /// them against `keys`. Err only for registry failures (unreachable,
    /// unauthorized, malformed signature manifest); a missing `.sig` tag is
    /// `Ok(SignatureCheck::Missing)`.
    pub async fn verify_cosign(
        &self,
        reference: &str,
        digest: &str,
        keys: &[PublicKey],
    ) -> Result<SignatureCheck, OciError> {
        let image = parse_reference(reference)?;
        let repository = repository_of(&image);
        let digest = digest.to_ascii_lowercase();
        let Some(tag) = signature_tag(&digest) else {
            return Err(OciError::InvalidReference {
                reference: format!("{repository}@{digest}"),
                reason: "cosign signatures are looked up by sha256 digest: expected sha256: followed by 64 hex digits".to_string(),
            });
        };
        let fingerprints: Vec<&str> = keys.iter().map(PublicKey::fingerprint).collect();
        let cache_key = format!("{repository}|{digest}|{}", fingerprints.join(","));
        let sig_ref = Reference::with_tag(
            image.registry().to_string(),
            image.repository().to_string(),
            tag,
        );
        self.single_flight(&cache_key, || async {
            let check = self
                .verify_uncached(&sig_ref, &repository, &digest, keys)
                .await?;
            tracing::debug!(repository, digest, ?check, "cosign signature check");
            Ok(check)
        })
        .await
    }

    pub(crate) fn cached_signature(&self, key: &str) -> Option<SignatureCheck> {
        let mut cache = self.signatures.lock().ok()?;
        match cache.get(key) {
            Some((check, None)) => Some(check.clone()),
            Some((check, Some(at))) if at.elapsed() < self.options.negative_ttl => {
                Some(check.clone())
            }
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    async fn verify_uncached(
        &self,
        sig_ref: &Reference,
        repository: &str,
        digest: &str,
        keys: &[PublicKey],
    ) -> Result<SignatureCheck, OciError> {
        let sig_name = sig_ref.whole();
        let (body, signature_digest, media_type) = match self.fetch_manifest_of(sig_ref).await {
            Ok(found) => found,
            Err(OciError::NotFound { .. }) => return Ok(SignatureCheck::Missing),
            Err(e) => return Err(e),
        };
        if is_index(&media_type) {
            return Err(OciError::Registry {
                reference: sig_name,
                reason: format!(
                    "signature tag holds an image index ({media_type}), not a cosign signature manifest"
                ),
            });
        }
        let manifest: OciImageManifest =
            serde_json::from_slice(&body).map_err(|e| OciError::Registry {
                reference: sig_name.clone(),
                reason: format!("malformed cosign signature manifest: {e}"),
            })?;
        if manifest.layers.is_empty() {
            return Ok(SignatureCheck::Missing);
        }
        let mut reasons = Vec::new();
        for (i, layer) in manifest.layers.iter().enumerate() {
            if i == MAX_SIGNATURE_LAYERS {
                reasons.push(format!(
                    "layers {i} to {}: not checked (at most {MAX_SIGNATURE_LAYERS} signature layers are tried)",
                    manifest.layers.len() - 1
                ));
                break;
            }
            match self
                .check_layer(sig_ref, layer, repository, digest, keys)
                .await?
            {
                LayerOutcome::Verified(key) => {
                    return Ok(SignatureCheck::Verified {
                        key,
                        signature_digest,
                    });
                }
                LayerOutcome::Rejected(reason) => reasons.push(format!("layer {i}: {reason}")),
            }
        }
        Ok(SignatureCheck::Invalid { reasons })
    }

    /// Checks one signature layer. The signature is checked before the
    /// payload is read: an unverified payload is not trusted for anything.
    async fn check_layer(
        &self,
        sig_ref: &Reference,
        layer: &OciDescriptor,
        repository: &str,
        digest: &str,
        keys: &[PublicKey],
    ) -> Result<LayerOutcome, OciError> {
        let reject = |reason: String| Ok(LayerOutcome::Rejected(reason));
        if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
            return reject(format!(
                "media type {} is not a cosign signature payload",
                layer.media_type
            ));
        }
        if !is_sha256_digest(&layer.digest) {
            return reject(format!("unsupported payload digest {:?}", layer.digest));
        }
        let Some(encoded) = layer
            .annotations
            .as_ref()
            .and_then(|a| a.get(SIGNATURE_ANNOTATION))
        else {
            return reject(format!("no {SIGNATURE_ANNOTATION} annotation"));
        };
        let signature = match base64::engine::general_purpose::STANDARD.decode(encoded.trim()) {
            Ok(signature) => signature,
            Err(e) => return reject(format!("signature annotation is not base64: {e}")),
        };
        match u64::try_from(layer.size) {
            Ok(size) if size <= MAX_PAYLOAD_BYTES => {}
            Ok(size) => {
                return reject(format!(
                    "payload of {size} bytes is over the limit of {MAX_PAYLOAD_BYTES} bytes"
                ))
            }
            Err(_) => return reject(format!("invalid payload size {}", layer.size)),
        }
        let payload = match self
            .fetch_blob_of(sig_ref, &layer.digest, MAX_PAYLOAD_BYTES)
            .await
        {
            Ok(payload) => payload,
            // The registry answered, but not with a usable payload: the
            // artifact is broken, which is a rejected signature, not an outage.
            Err(
                e @ (OciError::NotFound { .. }
                | OciError::TooLarge { .. }
                | OciError::DigestMismatch { .. }),
            ) => return reject(format!("payload {}: {e}", layer.digest)),
            Err(e) => return Err(e),
        };
        let Some(key) = keys.iter().position(|k| k.verifies(&payload, &signature)) else {
            return reject(match keys.len() {
                1 => "signature does not verify with the trusted key".to_string(),
                n => format!("signature does not verify with any of the {n} trusted keys"),
            });
        };
        match check_payload(&payload, digest, repository) {
            Ok(()) => Ok(LayerOutcome::Verified(key)),
            Err(reason) => reject(reason),
        }
    }
}

#[cfg(test)]
mod tests;
