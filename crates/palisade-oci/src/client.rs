//! The registry client (feature `client`, on by default).

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

pub use oci_client::manifest::{ImageIndexEntry, OciDescriptor, OciImageIndex, OciImageManifest};

use crate::cosign::SignatureCheck;
use crate::{auth, platform, OciError, Platform};

/// Manifest media types accepted when resolving (Docker v2 schema 2 and OCI).
const ACCEPTED_MEDIA_TYPES: &[&str] = &[
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];

/// Attempts per registry call (the first try plus two retries).
const ATTEMPTS: u32 = 3;
/// Delay before the first retry; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// How the client reaches registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Registries (`HOST:PORT`) spoken to over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// PEM file of extra CA certificates to trust.
    pub ca_file: Option<PathBuf>,
    /// Docker `config.json` to read credentials from (default: `$DOCKER_CONFIG` or `~/.docker`).
    pub registry_config: Option<PathBuf>,
    /// Platform chosen from image indexes.
    pub platform: Platform,
    /// Timeout of each registry request.
    pub timeout: Duration,
    /// How long a tag → digest lookup is reused.
    pub cache_ttl: Duration,
    /// How long a negative signature verdict (none found, none valid) is
    /// reused; a positive one is kept for good, as a digest never changes.
    pub negative_ttl: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            ca_file: None,
            registry_config: None,
            platform: Platform::default(),
            timeout: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(300),
            negative_ttl: Duration::from_secs(30),
        }
    }
}

/// The outcome of resolving one image reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The normalised reference, e.g. `docker.io/library/alpine:3.20`.
    pub reference: String,
    /// Digest of the manifest the reference points to (the index digest for a multi-arch image).
    pub digest: String,
    /// Media type of that manifest.
    pub media_type: String,
    /// For an index: digest of the manifest chosen for the requested platform.
    pub platform_digest: Option<String>,
}

impl Resolved {
    /// The pinned form `registry/repo:tag@sha256:...` (the tag is kept when there was one).
    pub fn pinned(&self) -> String {
        // `reference` is normalised by us; strip any digest it already carries.
        let base = self
            .reference
            .split_once('@')
            .map_or(self.reference.as_str(), |(b, _)| b);
        format!("{base}@{}", self.digest)
    }
}

/// A registry client with a tag → digest cache and a cache of signature checks.
pub struct Client {
    pub(crate) inner: oci_client::Client,
    pub(crate) options: ClientOptions,
    pub(crate) cache: Mutex<HashMap<String, (Resolved, Instant)>>,
    /// Signature checks by (repository, digest, key fingerprints); the
    /// instant is set only for results that expire (see `cosign.rs`).
    pub(crate) signatures: Mutex<HashMap<String, (SignatureCheck, Option<Instant>)>>,
    /// Verifications running now, by cache key: later callers wait on the
    /// first one's turn instead of asking the registry again.
    pub(crate) flights: Mutex<HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    /// Signature verifications that went to the registry (not cached).
    pub(crate) verifications: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client; fails only when the CA file cannot be read.
    pub fn new(options: ClientOptions) -> Result<Self, OciError> {
        let mut extra_root_certificates = Vec::new();
        if let Some(path) = &options.ca_file {
            let data = std::fs::read(path).map_err(|e| OciError::Config {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            extra_root_certificates.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
        let protocol = if options.insecure_registries.is_empty() {
            ClientProtocol::Https
        } else {
            ClientProtocol::HttpsExcept(options.insecure_registries.clone())
        };
        let config = ClientConfig {
            protocol,
            extra_root_certificates,
            // Index entries are chosen here (see `choose_platform`), not by oci-client.
            platform_resolver: None,
            read_timeout: Some(options.timeout),
            connect_timeout: Some(options.timeout),
            ..ClientConfig::default()
        };
        Ok(Self {
            inner: oci_client::Client::new(config),
            options,
            cache: Mutex::new(HashMap::new()),
            signatures: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            verifications: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Resolves `reference` (a tag or digest reference) to its manifest digest.
    pub async fn resolve(&self, reference: &str) -> Result<Resolved, OciError> {
        let parsed = parse_reference(reference)?;
        let normalised = parsed.whole();
        let key = format!("{normalised}|{}", self.options.platform);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let resolved = self.resolve_uncached(&parsed, normalised).await?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (resolved.clone(), Instant::now()));
        }
        Ok(resolved)
    }

    pub(crate) fn cached(&self, key: &str) -> Option<Resolved> {
        let mut cache = self.cache.lock().ok()?;
        match cache.get(key) {
            Some((r, at)) if at.elapsed() < self.options.cache_ttl => Some(r.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) async fn resolve_uncached(
        &self,
        image: &Reference,
        normalised: String,
    ) -> Result<Resolved, OciError> {
        let (body, digest, media_type) = self.fetch_manifest_of(image).await?;
        let platform_digest = if is_index(&media_type) {
            let index: OciImageIndex =
                serde_json::from_slice(&body).map_err(|e| OciError::Registry {
                    reference: normalised.clone(),
                    reason: format!("invalid image index: {e}"),
                })?;
            let chosen = platform::choose(&index, &self.options.platform).ok_or_else(|| {
                OciError::NoPlatform {
                    reference: normalised.clone(),
                    platform: self.options.platform.to_string(),
                    available: platform::available(&index),
                }
            })?;
            // Fetched (and its digest checked against `chosen`) to prove the
            // platform's manifest is there and intact.
            self.fetch_manifest_of(&image.clone_with_digest(chosen.clone()))
                .await?;
            Some(chosen)
        } else {
            None
        };
        Ok(Resolved {
            reference: normalised,
            digest,
            media_type,
            platform_digest,
        })
    }

    /// How many signature verifications asked the registry (cache misses),
    /// for tests and benchmarks of the cache and of request sharing.
    pub fn verifications_run(&self) -> u64 {
        self.verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Fetches the raw manifest bytes of `reference` (tag or digest) and
    /// verifies its digest; returns (bytes, digest, media type).
    pub async fn fetch_manifest(
        &self,
        reference: &str,
    ) -> Result<(Vec<u8>, String, String), OciError> {
        let image = parse_reference(reference)?;
        self.fetch_manifest_of(&image).await
    }

    /// [`Client::fetch_manifest`] of a parsed reference.
    pub(crate) async fn fetch_manifest_of(
        &self,
        image: &Reference,
    ) -> Result<(Vec<u8>, String, String), OciError> {
        let normalised = image.whole();
        let auth = self.auth_for(image)?;
        let (body, digest) = self
            .with_retries(&normalised, || {
                self.inner
                    .pull_manifest_raw(image, &auth, ACCEPTED_MEDIA_TYPES)
            })
            .await?;
        verify_digest(&body, &digest).map_err(|e| e.for_reference(&normalised))?;
        if let Some(requested) = image.digest() {
            verify_digest(&body, requested).map_err(|e| e.for_reference(&normalised))?;
        }
        let media_type = media_type_of(&body).map_err(|reason| OciError::Registry {
            reference: normalised.clone(),
            reason,
        })?;
        Ok((body.to_vec(), digest, media_type))
    }

    /// Fetches a blob of the repository of `reference` (its tag or digest
    /// part is ignored) by `digest`, refusing more than `max_bytes`, and
    /// verifies its sha256.
    pub async fn fetch_blob(
        &self,
        reference: &str,
        digest: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, OciError> {
        let image = parse_reference(reference)?;
        self.fetch_blob_of(&image, digest, max_bytes).await
    }

    /// What a blob download of `image`'s repository by `digest` needs: its
    /// name for messages (`registry/repository@digest`) and its descriptor,
    /// with the registry's credentials stored. Only a well-formed sha256
    /// digest is accepted, since it becomes part of the URL.
    pub(crate) async fn blob_request(
        &self,
        image: &Reference,
        digest: &str,
    ) -> Result<(String, OciDescriptor), OciError> {
        let name = format!("{}/{}@{digest}", image.registry(), image.repository());
        if !is_sha256_digest(digest) {
            return Err(OciError::InvalidReference {
                reference: name,
                reason: "a blob digest must be sha256: followed by 64 lowercase hex digits"
                    .to_string(),
            });
        }
        let auth = self.auth_for(image)?;
        self.inner
            .store_auth_if_needed(image.resolve_registry(), &auth)
            .await;
        let descriptor = OciDescriptor {
            digest: digest.to_string(),
            ..OciDescriptor::default()
        };
        Ok((name, descriptor))
    }

    /// [`Client::fetch_blob`] of a parsed reference.
    pub(crate) async fn fetch_blob_of(
        &self,
        image: &Reference,
        digest: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, OciError> {
        let (name, descriptor) = self.blob_request(image, digest).await?;
        let body = self
            .with_retries_of(&name, || {
                self.read_blob(image, &descriptor, &name, max_bytes)
            })
            .await?;
        verify_digest(&body, digest).map_err(|e| e.for_reference(&name))?;
        Ok(body)
    }

    /// Starts downloading a blob of the repository of `reference` (its tag
    /// or digest part is ignored) by `digest` and hands back its chunks as
    /// they arrive, without holding the blob in memory. Opening the download
    /// is retried like every other call; a connection that fails midway is
    /// not (the caller sees the error). `oci-client` checks the sha256 at the
    /// end of the stream; callers that need their own check hash the chunks.
    pub async fn blob_stream(&self, reference: &str, digest: &str) -> Result<BlobStream, OciError> {
        let image = parse_reference(reference)?;
        let (name, descriptor) = self.blob_request(&image, digest).await?;
        let inner = self
            .with_retries(&name, || self.inner.pull_blob_stream(&image, &descriptor))
            .await?;
        Ok(BlobStream {
            content_length: inner.content_length,
            name,
            inner,
        })
    }

    /// One attempt at reading a blob, stopping as soon as it exceeds `max_bytes`.
    pub(crate) async fn read_blob(
        &self,
        image: &Reference,
        descriptor: &OciDescriptor,
        name: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, OciError> {
        let too_large = |size: Option<u64>| OciError::TooLarge {
            reference: name.to_string(),
            limit: max_bytes,
            size,
        };
        let mut stream = self
            .inner
            .pull_blob_stream(image, descriptor)
            .await
            .map_err(|e| OciError::from_distribution(name, e))?;
        if let Some(length) = stream.content_length {
            if length > max_bytes {
                return Err(too_large(Some(length)));
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| OciError::from_blob_stream(name, e))?;
            if body.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(too_large(None));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Credentials for the registry of `image` from the Docker config.
    pub(crate) fn auth_for(&self, image: &Reference) -> Result<RegistryAuth, OciError> {
        auth::registry_auth(
            image.resolve_registry(),
            self.options.registry_config.as_deref(),
        )
    }

    /// Runs one `oci-client` call with [`Client::with_retries_of`].
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        reference: &str,
        mut call: F,
    ) -> Result<T, OciError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        self.with_retries_of(reference, || {
            let attempt = call();
            async move {
                attempt
                    .await
                    .map_err(|e| OciError::from_distribution(reference, e))
            }
        })
        .await
    }

    /// Runs one registry call with the per-request timeout, retrying
    /// 429/5xx answers and transport errors with exponential backoff.
    pub(crate) async fn with_retries_of<T, F, Fut>(
        &self,
        reference: &str,
        mut call: F,
    ) -> Result<T, OciError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciError>>,
    {
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let outcome = tokio::time::timeout(self.options.timeout, call()).await;
            let err = match outcome {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(e)) => e,
                Err(_) => OciError::Unreachable {
                    reference: reference.to_string(),
                    reason: format!("timed out after {:?}", self.options.timeout),
                },
            };
            if !err.is_retryable() {
                return Err(err);
            }
            if attempt >= ATTEMPTS {
                return Err(err.gave_up(attempt));
            }
            tracing::debug!(reference, attempt, error = %err, "retrying registry call");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }
}

/// A blob being downloaded (see [`Client::blob_stream`]): a stream of its
/// chunks in order, each an error naming the blob when the transfer fails.
pub struct BlobStream {
    /// The length the registry announced (`Content-Length`), if any.
    pub content_length: Option<u64>,
    /// `registry/repository@digest`, for error messages.
    name: String,
    inner: oci_client::client::SizedStream,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("name", &self.name)
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

impl futures_util::Stream for BlobStream {
    type Item = Result<bytes::Bytes, OciError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.inner.poll_next_unpin(cx).map(|item| {
            item.map(|chunk| chunk.map_err(|e| OciError::from_blob_stream(&this.name, e)))
        })
    }
}

/// The digest of the entry of `index` for `platform`, chosen as
/// [`Client::resolve`] chooses (for image layouts read from disk).
pub fn choose_platform(index: &OciImageIndex, platform: &Platform) -> Option<String> {
    platform::choose(index, platform)
}

/// The platforms `index` lists (`linux/amd64, linux/arm64`), for error messages.
pub fn index_platforms(index: &OciImageIndex) -> String {
    platform::available(index)
}

/// Whether `digest` is `sha256:` and 64 lowercase hex digits (what a blob
/// URL or a `.sig` tag may be built from).
pub(crate) fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Checks that `body` hashes to `digest` (`sha256:<hex>`; other algorithms are rejected).
pub fn verify_digest(body: &[u8], digest: &str) -> Result<(), OciError> {
    let Some(expected) = digest.strip_prefix("sha256:") else {
        return Err(OciError::DigestMismatch {
            reference: String::new(),
            expected: digest.to_string(),
            actual: "unsupported digest algorithm".to_string(),
        });
    };
    let actual = hex::encode(Sha256::digest(body));
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(OciError::DigestMismatch {
            reference: String::new(),
            expected: digest.to_string(),
            actual: format!("sha256:{actual}"),
        })
    }
}

/// Parses and normalises a reference (`alpine` → `docker.io/library/alpine:latest`).
pub(crate) fn parse_reference(reference: &str) -> Result<Reference, OciError> {
    reference
        .parse()
        .map_err(|e: oci_client::ParseError| OciError::InvalidReference {
            reference: reference.to_string(),
            reason: e.to_string(),
        })
}

pub(crate) fn is_index(media_type: &str) -> bool {
    media_type == OCI_IMAGE_INDEX_MEDIA_TYPE || media_type == IMAGE_MANIFEST_LIST_MEDIA_TYPE
}

/// The manifest's media type: its `mediaType` field, or (OCI allows leaving
/// it out) guessed from whether it lists `manifests`.
pub(crate) fn media_type_of(body: &[u8]) -> Result<String, String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe =
        serde_json::from_slice(body).map_err(|e| format!("manifest is not JSON: {e}"))?;
    let media_type = match (probe.media_type, probe.manifests) {
        (Some(m), _) => m,
        (None, Some(_)) => OCI_IMAGE_INDEX_MEDIA_TYPE.to_string(),
        (None, None) => OCI_IMAGE_MEDIA_TYPE.to_string(),
    };
    if ACCEPTED_MEDIA_TYPES.contains(&media_type.as_str()) {
        Ok(media_type)
    } else {
        Err(format!("unsupported manifest media type {media_type}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(crate) fn verify_digest_accepts_matching_bytes() {
        let body = br#"{"schemaVersion":2}"#;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(body)));
        assert!(verify_digest(body, &digest).is_ok());
    }

    #[test]
    pub(crate) fn verify_digest_rejects_tampered_bytes() {
        let body = br#"{"schemaVersion":2}"#;
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(body)));
        let tampered = br#"{"schemaVersion":3}"#;
        let err = verify_digest(tampered, &digest).unwrap_err();
        assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
        assert!(err.to_string().contains(&digest), "{err}");
    }

    #[test]
    pub(crate) fn verify_digest_rejects_unknown_algorithm() {
        assert!(verify_digest(b"x", "md5:abc").is_err());
    }

    #[test]
    pub(crate) fn media_type_is_guessed_when_absent() {
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"manifests":[]}"#).unwrap(),
            OCI_IMAGE_INDEX_MEDIA_TYPE
        );
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"layers":[]}"#).unwrap(),
            OCI_IMAGE_MEDIA_TYPE
        );
        assert!(media_type_of(br#"{"mediaType":"text/plain"}"#).is_err());
        assert!(media_type_of(b"not json").is_err());
    }

    #[test]
    pub(crate) fn short_names_are_normalised_to_docker_hub() {
        let r = parse_reference("alpine").unwrap();
        assert_eq!(r.whole(), "docker.io/library/alpine:latest");
        assert_eq!(r.resolve_registry(), "index.docker.io");
        let r = parse_reference("ghcr.io/org/app:1.2").unwrap();
        assert_eq!(r.whole(), "ghcr.io/org/app:1.2");
        assert!(parse_reference("UPPER/Case:bad tag").is_err());
    }

    #[test]
    pub(crate) fn pinned_keeps_tag_and_adds_digest() {
        let r = Resolved {
            reference: "docker.io/library/alpine:3.20".into(),
            digest: "sha256:ab".into(),
            media_type: OCI_IMAGE_MEDIA_TYPE.into(),
            platform_digest: None,
        };
        assert_eq!(r.pinned(), "docker.io/library/alpine:3.20@sha256:ab");
        let r = Resolved {
            reference: "docker.io/library/alpine@sha256:ab".into(),
            ..r
        };
        assert_eq!(r.pinned(), "docker.io/library/alpine@sha256:ab");
    }
}
