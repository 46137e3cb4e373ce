//! Keyless signatures and attestations of an image digest: a Fulcio
//! certificate bound to an OIDC identity, the signing time proven by a
//! Rekor entry or an RFC 3161 timestamp, verified offline against a
//! trusted root by `palisade-sigstore`.
//!
//! Where they are found, in the image's own repository:
//! - cosign's classic `sha256-<hex>.sig` tag: simple signing layers with
//!   the certificate, chain and Rekor bundle in layer annotations;
//! - cosign's classic `sha256-<hex>.att` tag: DSSE envelope layers
//!   carrying in-toto statements, annotated the same way;
//! - OCI 1.1 referrers of the digest (the referrers API, or its tag-schema
//!   fallback `sha256-<hex>` where the registry lacks the API): Sigstore
//!   bundles (cosign v3's default), message signatures over the digest or
//!   DSSE statements whose subject is the digest.
//!
//! Each found artifact becomes a Sigstore bundle and goes through the same
//! verifier as `palisade verify-bundle`; a classic signature's payload must
//! then name the digest and repository, an attestation's statement its
//! predicate type and conditions. Work is bounded: [`MAX_CANDIDATES`]
//! artifacts per image, [`MAX_CHAIN`] certificates per chain,
//! [`MAX_ANNOTATION_BYTES`] per annotation, bundles up to
//! `palisade_sigstore::MAX_BUNDLE_BYTES`.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use oci_client::Reference;
use palisade_sigstore::{
    check_statement, statement, verify_blob, AttestationCheck, ClaimsPolicy, Failure, Signed,
    Signer, Subject, TrustedRoot,
};
use serde_json::{json, Value as Json};
use sha2::{Digest as _, Sha256};

use crate::cosign::{check_payload, repository_of, SignatureCheck};
use crate::{is_index, is_sha256_digest, parse_reference, Client, OciError};

/// Artifacts (signature layers, attestation layers, referrers) looked at
/// per image, so that a hostile registry cannot make us fetch thousands.
pub const MAX_CANDIDATES: usize = 32;
/// Certificates in one chain annotation.
pub const MAX_CHAIN: usize = 10;
/// Bytes of one certificate, chain or Rekor bundle annotation.
pub const MAX_ANNOTATION_BYTES: usize = 64 << 10;
/// Bytes of one signature payload or DSSE envelope layer.
const MAX_LAYER_BYTES: u64 = 4 << 20;

const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
const BUNDLE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
const TIMESTAMP_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";
/// The predicate type of cosign's own image signatures in bundle form.
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// One identity a keyless signature may come from.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The OIDC issuer, exactly.
    pub issuer: String,
    /// The certificate subject.
    pub subject: Subject,
    /// Workflow claims required of the certificate.
    pub claims: ClaimsPolicy,
}

impl Identity {
    /// `subject from issuer`, for messages.
    pub fn describe(&self) -> String {
        let subject = match &self.subject {
            Subject::Exact(s) => s.clone(),
            Subject::Regex(r) => format!("/{r}/"),
        };
        format!("{subject} from {}", self.issuer)
    }

    fn signer(&self) -> Signer {
        Signer::Keyless {
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            claims: self.claims.clone(),
        }
    }
}

/// What keyless verification of an image requires.
#[derive(Debug, Clone)]
pub struct KeylessPolicy {
    /// The signers: a signature by any of them, and attestations signed by
    /// one of them (empty: attestations by anyone the trusted Fulcio
    /// certified).
    pub identities: Vec<Identity>,
    /// Whether a signature is looked for (false when a keyed signature
    /// already verified and only the attestations remain).
    pub require_signature: bool,
    /// Attestations that must all be present, each signed by one of the
    /// identities (or by anyone from the trusted Fulcio when there are none).
    pub attestations: Vec<AttestationCheck>,
    /// The trusted root.
    pub root: Arc<TrustedRoot>,
    /// Names this policy in cache keys: two policies with the same id
    /// give the same verdicts.
    pub id: String,
}

/// A found artifact, before verification.
enum Candidate {
    /// A classic `.sig` layer: the payload, the bundle made from the annotations.
    Signature { payload: Vec<u8>, bundle: String },
    /// A Sigstore bundle (referrer) or a classic `.att` layer made into one.
    Bundle { bundle: String, source: String },
}

/// What the found artifacts proved.
#[derive(Default)]
struct Found {
    /// Identity index and where the signature was found.
    signature: Option<(usize, String)>,
    /// Per attestation requirement: satisfied.
    attested: Vec<bool>,
    /// Why artifacts were rejected.
    reasons: Vec<String>,
    /// Whether any signature or attestation artifact existed.
    any: bool,
}

impl Client {
    /// Looks for keyless signatures (and the attestations `policy` asks
    /// for) of `digest` in the repository of `reference`, and verifies
    /// them. `Verified { key }` names the identity (index in
    /// `policy.identities`) when every requirement holds; `Missing` when no
    /// signature or attestation artifact exists at all; `Invalid` with one
    /// reason per rejected artifact or unmet requirement otherwise. Err only
    /// for registry failures. Verdicts are cached like keyed ones, and
    /// concurrent calls for the same digest and policy share one verification.
    pub async fn verify_keyless(
        &self,
        reference: &str,
        digest: &str,
        policy: &KeylessPolicy,
    ) -> Result<SignatureCheck, OciError> {
        let image = parse_reference(reference)?;
        let repository = repository_of(&image);
        let digest = digest.to_ascii_lowercase();
        if !is_sha256_digest(&digest) {
            return Err(OciError::InvalidReference {
                reference: format!("{repository}@{digest}"),
                reason: "signatures are looked up by sha256 digest: expected sha256: followed by 64 hex digits".to_string(),
            });
        }
        // The verdict depends on whether a signature is looked for (not
        // when a keyed one already verified), so that is part of the key.
        let cache_key = format!(
            "keyless|{repository}|{digest}|{}|{}",
            policy.id, policy.require_signature
        );
        self.single_flight(&cache_key, || async {
            self.keyless_uncached(&image, &repository, &digest, policy)
                .await
        })
        .await
    }

    /// Runs `verify` for `cache_key` unless a verdict is cached; callers
    /// arriving while it runs wait for it and take its verdict from the cache.
    pub(crate) async fn single_flight<F, Fut>(
        &self,
        cache_key: &str,
        verify: F,
    ) -> Result<SignatureCheck, OciError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<SignatureCheck, OciError>>,
    {
        if let Some(hit) = self.cached_signature(cache_key) {
            return Ok(hit);
        }
        let gate = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            flights
                .entry(cache_key.to_string())
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
                .clone()
        };
        let _turn = gate.lock().await;
        if let Some(hit) = self.cached_signature(cache_key) {
            return Ok(hit);
        }
        self.verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let outcome = verify().await;
        if let Ok(check) = &outcome {
            // A digest names fixed content, so a positive verdict holds for
            // good; a negative one may change when a signature is pushed.
            let expires = (!matches!(check, SignatureCheck::Verified { .. })).then(Instant::now);
            if let Ok(mut cache) = self.signatures.lock() {
                cache.insert(cache_key.to_string(), (check.clone(), expires));
            }
        }
        if let Ok(mut flights) = self.flights.lock() {
            flights.remove(cache_key);
        }
        outcome
    }

    async fn keyless_uncached(
        &self,
        image: &Reference,
        repository: &str,
        digest: &str,
        policy: &KeylessPolicy,
    ) -> Result<SignatureCheck, OciError> {
        let mut found = Found {
            attested: vec![false; policy.attestations.len()],
            ..Found::default()
        };
        let tag = |suffix: &str| {
            Reference::with_tag(
                image.registry().to_string(),
                image.repository().to_string(),
                format!("{}{suffix}", digest.replacen(':', "-", 1)),
            )
        };
        let wants_signature = policy.require_signature && !policy.identities.is_empty();
        let wants_attestations = !policy.attestations.is_empty();
        let mut budget = MAX_CANDIDATES;
        let done = |f: &Found| {
            (!wants_signature || f.signature.is_some()) && f.attested.iter().all(|a| *a)
        };
        if wants_signature {
            let candidates = self
                .classic_layers(&tag(".sig"), SIMPLE_SIGNING, &mut budget, &mut found)
                .await?;
            self.check_candidates(candidates, digest, repository, policy, &mut found);
        }
        if !done(&found) {
            let candidates = self
                .referrers(image, digest, &mut budget, &mut found)
                .await?;
            self.check_candidates(candidates, digest, repository, policy, &mut found);
        }
        if wants_attestations && !done(&found) {
            let candidates = self
                .classic_layers(&tag(".att"), DSSE_ENVELOPE, &mut budget, &mut found)
                .await?;
            self.check_candidates(candidates, digest, repository, policy, &mut found);
        }
        if done(&found) {
            let (key, signature_digest) = found.signature.unwrap_or((0, String::new()));
            return Ok(SignatureCheck::Verified {
                key,
                signature_digest,
            });
        }
        if !found.any {
            return Ok(SignatureCheck::Missing);
        }
        let mut reasons = found.reasons;
        if wants_signature && found.signature.is_none() && reasons.is_empty() {
            reasons.push("no keyless signature found".to_string());
        }
        for (check, ok) in policy.attestations.iter().zip(&found.attested) {
            if !ok {
                reasons.push(format!(
                    "no verified attestation of type {}",
                    check.predicate_type.as_deref().unwrap_or("(any)")
                ));
            }
        }
        Ok(SignatureCheck::Invalid { reasons })
    }

    /// Verifies each candidate and records what it proves.
    fn check_candidates(
        &self,
        candidates: Vec<Candidate>,
        digest: &str,
        repository: &str,
        policy: &KeylessPolicy,
        found: &mut Found,
    ) {
        for candidate in candidates {
            match candidate {
                Candidate::Signature { payload, bundle } => {
                    if found.signature.is_some() {
                        continue;
                    }
                    let verified = verify_any(Signed::Blob(&payload), &bundle, policy)
                        .and_then(|i| check_payload(&payload, digest, repository).map(|()| i));
                    match verified {
                        Ok(i) => found.signature = Some((i, format!("{digest}.sig"))),
                        Err(r) => found.reasons.push(format!("signature layer: {r}")),
                    }
                }
                Candidate::Bundle { bundle, source } => {
                    self.check_bundle(&bundle, &source, digest, policy, found)
                }
            }
        }
    }

    fn check_bundle(
        &self,
        bundle: &str,
        source: &str,
        digest: &str,
        policy: &KeylessPolicy,
        found: &mut Found,
    ) {
        let st = statement(bundle);
        let predicate = st
            .as_ref()
            .and_then(|s| s.get("predicateType"))
            .and_then(Json::as_str)
            .map(str::to_string);
        let is_signature = st.is_none() || predicate.as_deref() == Some(COSIGN_SIGN_PREDICATE);
        if is_signature {
            if found.signature.is_some()
                || !policy.require_signature
                || policy.identities.is_empty()
            {
                return;
            }
            match verify_any(Signed::Digest(digest), bundle, policy) {
                Ok(i) => found.signature = Some((i, source.to_string())),
                Err(r) => found.reasons.push(format!("{source}: {r}")),
            }
            return;
        }
        let wanted: Vec<usize> = policy
            .attestations
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                !found.attested[*i]
                    && a.predicate_type
                        .as_deref()
                        .is_none_or(|t| Some(t) == predicate.as_deref())
            })
            .map(|(i, _)| i)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let what = format!(
            "{source}: attestation {}",
            predicate.as_deref().unwrap_or("")
        );
        if let Err(r) = verify_any(Signed::Digest(digest), bundle, policy) {
            found.reasons.push(format!("{what}: {r}"));
            return;
        }
        for i in wanted {
            match check_statement(bundle, &policy.attestations[i]) {
                Ok(()) => found.attested[i] = true,
                Err(e) => found.reasons.push(format!("{what}: {e}")),
            }
        }
    }

    /// The layers of a classic `.sig` or `.att` tag of `media_type`, made
    /// into bundles from their annotations.
    async fn classic_layers(
        &self,
        tag: &Reference,
        media_type: &str,
        budget: &mut usize,
        found: &mut Found,
    ) -> Result<Vec<Candidate>, OciError> {
        let name = tag.whole();
        let (body, _, manifest_type) = match self.fetch_manifest_of(tag).await {
            Ok(got) => got,
            Err(OciError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        found.any = true;
        if is_index(&manifest_type) {
            found.reasons.push(format!(
                "{name}: holds an image index, not a signature manifest"
            ));
            return Ok(Vec::new());
        }
        let manifest: OciImageManifest = match serde_json::from_slice(&body) {
            Ok(m) => m,
            Err(e) => {
                found
                    .reasons
                    .push(format!("{name}: malformed manifest: {e}"));
                return Ok(Vec::new());
            }
        };
        let mut out = Vec::new();
        for (i, layer) in manifest.layers.iter().enumerate() {
            if *budget == 0 {
                found.reasons.push(format!(
                    "{name}: layers from {i} on not checked (at most {MAX_CANDIDATES} artifacts per image)"
                ));
                break;
            }
            let annotations = layer.annotations.clone().unwrap_or_default();
            if layer.media_type != media_type {
                continue;
            }
            if !annotations.contains_key(CERTIFICATE_ANNOTATION) {
                // A keyed signature: not ours to judge.
                continue;
            }
            *budget -= 1;
            let blob = match self.layer_blob(tag, layer, MAX_LAYER_BYTES).await? {
                Ok(blob) => blob,
                Err(r) => {
                    found.reasons.push(format!("{name} layer {i}: {r}"));
                    continue;
                }
            };
            let made = if media_type == SIMPLE_SIGNING {
                classic_bundle(&annotations, Content::Message(&blob)).map(|bundle| {
                    Candidate::Signature {
                        payload: blob,
                        bundle,
                    }
                })
            } else {
                classic_bundle(&annotations, Content::Envelope(&blob)).map(|bundle| {
                    Candidate::Bundle {
                        bundle,
                        source: format!("{name} layer {i}"),
                    }
                })
            };
            match made {
                Ok(c) => out.push(c),
                Err(r) => found.reasons.push(format!("{name} layer {i}: {r}")),
            }
        }
        Ok(out)
    }

    /// One layer's bytes within `limit`: `Ok(Err(reason))` when the
    /// artifact is broken, `Err` when the registry fails.
    async fn layer_blob(
        &self,
        at: &Reference,
        layer: &OciDescriptor,
        limit: u64,
    ) -> Result<Result<Vec<u8>, String>, OciError> {
        if !is_sha256_digest(&layer.digest) {
            return Ok(Err(format!("unsupported layer digest {:?}", layer.digest)));
        }
        if u64::try_from(layer.size).map_or(true, |s| s > limit) {
            return Ok(Err(format!(
                "layer of {} bytes is over the limit of {limit} bytes",
                layer.size
            )));
        }
        match self.fetch_blob_of(at, &layer.digest, limit).await {
            Ok(blob) => Ok(Ok(blob)),
            Err(
                e @ (OciError::NotFound { .. }
                | OciError::TooLarge { .. }
                | OciError::DigestMismatch { .. }),
            ) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// The Sigstore bundles among the referrers of `digest`.
    async fn referrers(
        &self,
        image: &Reference,
        digest: &str,
        budget: &mut usize,
        found: &mut Found,
    ) -> Result<Vec<Candidate>, OciError> {
        let subject = Reference::with_digest(
            image.registry().to_string(),
            image.repository().to_string(),
            digest.to_string(),
        );
        let name = subject.whole();
        let auth = self.auth_for(&subject)?;
        self.inner
            .store_auth_if_needed(subject.resolve_registry(), &auth)
            .await;
        let index = match self
            .with_retries(&name, || self.inner.pull_referrers(&subject, None))
            .await
        {
            Ok(index) => index,
            Err(OciError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        // Entries name their artifact type; where a tool dropped it from
        // the index, the manifest's layers tell.
        let bundles = index.manifests.iter().filter(|m| {
            m.artifact_type
                .as_deref()
                .is_none_or(|t| t.starts_with(BUNDLE_PREFIX))
        });
        for (n, entry) in bundles.enumerate() {
            if *budget == 0 {
                found.any = true;
                found.reasons.push(format!(
                    "referrers of {name}: entries from {n} on not checked (at most {MAX_CANDIDATES} artifacts per image)"
                ));
                break;
            }
            *budget -= 1;
            let at = Reference::with_digest(
                image.registry().to_string(),
                image.repository().to_string(),
                entry.digest.clone(),
            );
            let source = format!("referrer {}", entry.digest);
            let manifest = match self.fetch_manifest_of(&at).await {
                Ok((body, _, _)) => serde_json::from_slice::<OciImageManifest>(&body)
                    .map_err(|e| format!("malformed manifest: {e}")),
                Err(e @ OciError::NotFound { .. }) => Err(e.to_string()),
                Err(e) => return Err(e),
            };
            let layer = match manifest {
                Ok(m) => match m
                    .layers
                    .into_iter()
                    .find(|l| l.media_type.starts_with(BUNDLE_PREFIX))
                {
                    Some(layer) => Ok(layer),
                    // Another kind of referrer (an SBOM, a Notary signature).
                    None if entry.artifact_type.is_none() => continue,
                    None => Err("no Sigstore bundle layer".to_string()),
                },
                Err(r) => Err(r),
            };
            found.any = true;
            let blob = match layer {
                Ok(layer) => {
                    self.layer_blob(&at, &layer, palisade_sigstore::MAX_BUNDLE_BYTES as u64)
                        .await?
                }
                Err(r) => Err(r),
            };
            match blob.and_then(|b| {
                String::from_utf8(b).map_err(|_| "the bundle is not UTF-8 JSON".to_string())
            }) {
                Ok(bundle) => out.push(Candidate::Bundle { bundle, source }),
                Err(r) => found.reasons.push(format!("{source}: {r}")),
            }
        }
        Ok(out)
    }
}

/// Verifies `bundle` for the first identity it matches: its index, or the
/// reason it matched none (the last identity's, when there are several).
fn verify_any(signed: Signed<'_>, bundle: &str, policy: &KeylessPolicy) -> Result<usize, String> {
    if policy.identities.is_empty() {
        // Attestations alone: anyone the trusted Fulcio certified.
        let anyone = Signer::Keyless {
            issuer: String::new(),
            subject: Subject::Regex(".*".into()),
            claims: ClaimsPolicy::default(),
        };
        return verify_blob(signed, bundle, &anyone, &policy.root)
            .map(|_| 0)
            .map_err(|e| e.to_string());
    }
    let mut last = String::new();
    for (i, identity) in policy.identities.iter().enumerate() {
        match verify_blob(signed, bundle, &identity.signer(), &policy.root) {
            Ok(_) => return Ok(i),
            Err(Failure::NotVerified(r))
                if r.starts_with("identity mismatch") || r.starts_with("issuer mismatch") =>
            {
                last = r
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(last)
}

/// What a classic layer signs.
enum Content<'a> {
    /// The payload bytes, signed directly.
    Message(&'a [u8]),
    /// A DSSE envelope (JSON).
    Envelope(&'a [u8]),
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A Sigstore bundle v0.1 made from a classic layer's annotations: the
/// certificate and chain, the Rekor bundle (signed entry timestamp) and
/// the RFC 3161 timestamp when present.
fn classic_bundle(
    annotations: &std::collections::BTreeMap<String, String>,
    content: Content<'_>,
) -> Result<String, String> {
    let annotation = |key: &str| -> Result<Option<&str>, String> {
        match annotations.get(key) {
            Some(v) if v.len() > MAX_ANNOTATION_BYTES => Err(format!(
                "annotation {key} of {} bytes is over the limit of {MAX_ANNOTATION_BYTES}",
                v.len()
            )),
            other => Ok(other.map(String::as_str)),
        }
    };
    let mut certificates = Vec::new();
    for key in [CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION] {
        let Some(text) = annotation(key)? else {
            continue;
        };
        let blocks = pem::parse_many(text).map_err(|e| format!("{key}: not PEM: {e}"))?;
        for block in blocks.iter().filter(|b| b.tag() == "CERTIFICATE") {
            certificates.push(json!({"rawBytes": b64(block.contents())}));
        }
    }
    if certificates.is_empty() {
        return Err(format!("{CERTIFICATE_ANNOTATION}: no certificate"));
    }
    if certificates.len() > MAX_CHAIN {
        return Err(format!(
            "a chain of {} certificates is over the limit of {MAX_CHAIN}",
            certificates.len()
        ));
    }
    let mut material =
        json!({"x509CertificateChain": {"certificates": certificates}, "tlogEntries": []});
    if let Some(text) = annotation(BUNDLE_ANNOTATION)? {
        material["tlogEntries"] = json!([rekor_entry(text)?]);
    }
    if let Some(text) = annotation(TIMESTAMP_ANNOTATION)? {
        let ts: Json = serde_json::from_str(text)
            .map_err(|e| format!("{TIMESTAMP_ANNOTATION}: not JSON: {e}"))?;
        let signed = ts
            .get("SignedRFC3161Timestamp")
            .and_then(Json::as_str)
            .ok_or_else(|| format!("{TIMESTAMP_ANNOTATION}: no SignedRFC3161Timestamp"))?;
        material["timestampVerificationData"] =
            json!({"rfc3161Timestamps": [{"signedTimestamp": signed}]});
    }
    let mut bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
        "verificationMaterial": material,
    });
    match content {
        Content::Message(payload) => {
            let signature = annotation(SIGNATURE_ANNOTATION)?
                .ok_or_else(|| format!("no {SIGNATURE_ANNOTATION} annotation"))?;
            bundle["messageSignature"] = json!({
                "messageDigest": {"algorithm": "SHA2_256", "digest": b64(&Sha256::digest(payload))},
                "signature": signature.trim(),
            });
        }
        Content::Envelope(envelope) => {
            let envelope: Json = serde_json::from_slice(envelope)
                .map_err(|e| format!("not a DSSE envelope: {e}"))?;
            bundle["dsseEnvelope"] = envelope;
        }
    }
    Ok(bundle.to_string())
}

/// A bundle's transparency log entry from cosign's Rekor bundle
/// annotation: `{SignedEntryTimestamp, Payload: {body, integratedTime,
/// logIndex, logID}}`.
fn rekor_entry(text: &str) -> Result<Json, String> {
    let bad = |what: &str| format!("{BUNDLE_ANNOTATION}: {what}");
    let rekor: Json = serde_json::from_str(text).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let set = rekor
        .get("SignedEntryTimestamp")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("no SignedEntryTimestamp"))?;
    let payload = rekor.get("Payload").ok_or_else(|| bad("no Payload"))?;
    let body = payload
        .get("body")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("no Payload.body"))?;
    let integrated = payload
        .get("integratedTime")
        .and_then(Json::as_i64)
        .ok_or_else(|| bad("no Payload.integratedTime"))?;
    let index = payload
        .get("logIndex")
        .and_then(Json::as_i64)
        .ok_or_else(|| bad("no Payload.logIndex"))?;
    let log_id = payload
        .get("logID")
        .and_then(Json::as_str)
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| bad("Payload.logID is not hex"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| bad("Payload.body is not base64"))?;
    let entry: Json =
        serde_json::from_slice(&decoded).map_err(|_| bad("Payload.body is not a Rekor entry"))?;
    let kind = entry.get("kind").and_then(Json::as_str).unwrap_or("");
    let version = entry.get("apiVersion").and_then(Json::as_str).unwrap_or("");
    Ok(json!({
        "logIndex": index.to_string(),
        "logId": {"keyId": b64(&log_id)},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": integrated.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": set},
        "canonicalizedBody": body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_annotations_are_refused_with_reasons() {
        let mut a = std::collections::BTreeMap::new();
        assert!(classic_bundle(&a, Content::Message(b"x"))
            .unwrap_err()
            .contains("no certificate"));
        a.insert(
            CERTIFICATE_ANNOTATION.to_string(),
            "x".repeat(MAX_ANNOTATION_BYTES + 1),
        );
        assert!(classic_bundle(&a, Content::Message(b"x"))
            .unwrap_err()
            .contains("over the limit"));
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        a.insert(CERTIFICATE_ANNOTATION.to_string(), cert.to_string());
        a.insert(CHAIN_ANNOTATION.to_string(), cert.repeat(MAX_CHAIN));
        assert!(classic_bundle(&a, Content::Message(b"x"))
            .unwrap_err()
            .contains("chain of 11"));
        a.remove(CHAIN_ANNOTATION);
        a.insert(BUNDLE_ANNOTATION.to_string(), "{\"truncated".to_string());
        assert!(classic_bundle(&a, Content::Message(b"x"))
            .unwrap_err()
            .contains("not JSON"));
        a.remove(BUNDLE_ANNOTATION);
        assert!(classic_bundle(&a, Content::Message(b"x"))
            .unwrap_err()
            .contains("no dev.cosignproject.cosign/signature"));
        assert!(classic_bundle(&a, Content::Envelope(b"[1,"))
            .unwrap_err()
            .contains("not a DSSE envelope"));
    }

    #[test]
    fn a_rekor_bundle_annotation_becomes_a_log_entry() {
        let body = b64(br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#);
        let text = format!(
            r#"{{"SignedEntryTimestamp":"c2V0","Payload":{{"body":"{body}","integratedTime":1700000000,"logIndex":42,"logID":"00ff"}}}}"#
        );
        let e = rekor_entry(&text).unwrap();
        assert_eq!(e["kindVersion"]["kind"], "hashedrekord");
        assert_eq!(e["kindVersion"]["version"], "0.0.1");
        assert_eq!(e["logIndex"], "42");
        assert_eq!(e["logId"]["keyId"], b64(&[0, 255]));
        assert_eq!(e["inclusionPromise"]["signedEntryTimestamp"], "c2V0");
    }
}
