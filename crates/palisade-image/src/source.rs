//! Where an image comes from: a registry reference, an OCI image layout
//! (`oci:DIR[:tag]`) or a `docker save` tarball (`docker-archive:FILE`).
//! Opening one yields an [`Image`]: the chosen manifest's digest, the parsed
//! config, the layer descriptors, and each layer's bytes as a stream that
//! checks the layer's size and sha256 as it is read (an error at the end of
//! a stream that does not match). Nothing is extracted to disk and no layer
//! is held in memory.

mod archive;
mod layout;
mod registry;
mod verify;

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use palisade_oci::{ClientOptions, OciImageManifest, Platform};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

pub use crate::error::ImageError;
use crate::model::ImageConfig;

/// Largest manifest, index or config document read (real ones are a few KiB;
/// configs with long histories a few hundred).
pub const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// Where to read an image from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A registry reference (`alpine:3.20`, `ghcr.io/org/app@sha256:...`).
    Registry(String),
    /// An OCI image layout directory, with the `org.opencontainers.image.ref.name`
    /// of the manifest to read (optional when the layout holds one image).
    OciLayout {
        /// The layout directory (holding `oci-layout`, `index.json`, `blobs/`).
        dir: PathBuf,
        /// The tag, if given.
        tag: Option<String>,
    },
    /// A `docker save` (or `skopeo copy ... docker-archive:`) tarball.
    DockerArchive(PathBuf),
}

impl Source {
    /// Parses `oci:DIR[:tag]`, `docker-archive:FILE`, or else a registry
    /// reference (an optional `docker://` prefix is dropped, as skopeo writes it).
    pub fn parse(s: &str) -> Result<Source, ImageError> {
        let invalid = |reason: &str| ImageError::InvalidSource {
            source_str: s.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = s.strip_prefix("oci:") {
            // skopeo's convention: the tag follows the last `:`, unless that
            // part looks like a path (a directory name holding `:`).
            let (dir, tag) = match rest.rsplit_once(':') {
                Some((dir, tag)) if !tag.contains('/') && !dir.is_empty() => {
                    (dir, (!tag.is_empty()).then(|| tag.to_string()))
                }
                _ => (rest, None),
            };
            if dir.is_empty() {
                return Err(invalid("expected oci:DIR[:tag]"));
            }
            return Ok(Source::OciLayout {
                dir: PathBuf::from(dir),
                tag,
            });
        }
        if let Some(file) = s.strip_prefix("docker-archive:") {
            if file.is_empty() {
                return Err(invalid("expected docker-archive:FILE"));
            }
            return Ok(Source::DockerArchive(PathBuf::from(file)));
        }
        let reference = s.strip_prefix("docker://").unwrap_or(s);
        if reference.is_empty() || reference.chars().any(char::is_whitespace) {
            return Err(invalid(
                "expected an image reference, oci:DIR[:tag] or docker-archive:FILE",
            ));
        }
        Ok(Source::Registry(reference.to_string()))
    }

    /// Reads the image's manifest and config and prepares its layer streams.
    ///
    /// Blocking. A registry image gets a small tokio runtime of its own, so
    /// call this (and walk the image) from a thread that is not running
    /// async tasks, such as one of `tokio::task::spawn_blocking`.
    pub fn open(&self, options: &OpenOptions) -> Result<Image, ImageError> {
        match self {
            Source::Registry(reference) => registry::open(reference, options),
            Source::OciLayout { dir, tag } => {
                layout::open(dir, tag.as_deref(), &options.platform, self.to_string())
            }
            Source::DockerArchive(file) => archive::open(file, self.to_string()),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Registry(r) => f.write_str(r),
            Source::OciLayout { dir, tag: Some(t) } => write!(f, "oci:{}:{t}", dir.display()),
            Source::OciLayout { dir, tag: None } => write!(f, "oci:{}", dir.display()),
            Source::DockerArchive(file) => write!(f, "docker-archive:{}", file.display()),
        }
    }
}

/// How to open an image.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// The platform chosen from image indexes (registry and layout alike).
    pub platform: Platform,
    /// How to reach registries; its `platform` is replaced by the one above.
    pub registry: ClientOptions,
}

/// One layer as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDesc {
    /// `sha256:...` of the stored (compressed) bytes. For a docker-archive
    /// whose layers are plain tars this is also the config's diff id.
    pub digest: String,
    /// The media type the manifest gives (the walker sniffs the bytes instead).
    pub media_type: String,
    /// Stored size in bytes.
    pub size: u64,
}

/// Opens the byte stream of one layer of an [`Image`].
pub trait LayerOpener: Send {
    /// A reader of the stored bytes of `layer`; it fails at the end of the
    /// stream when the bytes do not match the descriptor.
    fn open(&mut self, layer: &LayerDesc) -> Result<Box<dyn Read + Send>, ImageError>;
}

/// An opened image: what the manifest and config say, and its layer streams.
pub struct Image {
    /// The source as the user wrote it (for messages and reports).
    pub name: String,
    /// Digest of the manifest read (for a multi-arch index: the platform's manifest).
    pub manifest_digest: String,
    /// Digest of the config blob.
    pub config_digest: String,
    /// The parsed config.
    pub config: ImageConfig,
    /// The layers, base first.
    pub layers: Vec<LayerDesc>,
    /// For a registry reference: the digest it resolved to (an index
    /// digest for a multi-arch tag), which admission looks results up by.
    pub reference_digest: Option<String>,
    opener: Box<dyn LayerOpener>,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("name", &self.name)
            .field("manifest_digest", &self.manifest_digest)
            .field("config_digest", &self.config_digest)
            .field("config", &self.config)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

impl Image {
    /// An image from its parts (for sources this crate does not know).
    pub fn new(
        name: String,
        manifest_digest: String,
        config_digest: String,
        config: ImageConfig,
        layers: Vec<LayerDesc>,
        opener: Box<dyn LayerOpener>,
    ) -> Self {
        Image {
            name,
            manifest_digest,
            config_digest,
            config,
            layers,
            reference_digest: None,
            opener,
        }
    }

    /// An image whose layer blobs are in memory (tests and tools); digests
    /// are computed, the media type is a plain tar's.
    pub fn from_blobs(name: &str, config: ImageConfig, blobs: Vec<Vec<u8>>) -> Self {
        let layers = blobs
            .iter()
            .map(|b| LayerDesc {
                digest: sha256_digest(b),
                media_type: "application/vnd.oci.image.layer.v1.tar".to_string(),
                size: b.len() as u64,
            })
            .collect();
        Image::new(
            name.to_string(),
            String::new(),
            String::new(),
            config,
            layers,
            Box::new(MemoryLayers { blobs }),
        )
    }

    /// The stored bytes of layer `index`, checked against its descriptor as they are read.
    pub fn open_layer(&mut self, index: usize) -> Result<Box<dyn Read + Send>, ImageError> {
        let layer = self
            .layers
            .get(index)
            .ok_or_else(|| ImageError::NotFound {
                image: self.name.clone(),
                reason: format!("no layer {index} ({} layers)", self.layers.len()),
            })?
            .clone();
        self.opener.open(&layer)
    }
}

/// Layers held in memory (see [`Image::from_blobs`]).
struct MemoryLayers {
    blobs: Vec<Vec<u8>>,
}

impl LayerOpener for MemoryLayers {
    fn open(&mut self, layer: &LayerDesc) -> Result<Box<dyn Read + Send>, ImageError> {
        let blob = self
            .blobs
            .iter()
            .find(|b| sha256_digest(b) == layer.digest)
            .ok_or_else(|| ImageError::NotFound {
                image: "memory".to_string(),
                reason: format!("no blob {}", layer.digest),
            })?;
        Ok(Box::new(std::io::Cursor::new(blob.clone())))
    }
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hex part of a well-formed `sha256:<64 lowercase hex>` digest; digests
/// become file names and URLs, so nothing else is accepted.
pub(crate) fn sha256_hex(digest: &str) -> Option<&str> {
    digest.strip_prefix("sha256:").filter(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The OCI / Docker image config, as far as the analyzers read it. Both
/// formats share this JSON shape; `null` stands for absent everywhere.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConfig {
    os: Option<String>,
    architecture: Option<String>,
    config: Option<RawContainerConfig>,
    history: Option<Vec<RawHistory>>,
    rootfs: Option<RawRootfs>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct RawContainerConfig {
    user: Option<String>,
    env: Option<Vec<String>>,
    exposed_ports: Option<serde_json::Map<String, serde_json::Value>>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawHistory {
    created_by: Option<String>,
    empty_layer: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRootfs {
    diff_ids: Option<Vec<String>>,
}

/// Parses an image config blob (OCI or Docker).
pub fn parse_config(bytes: &[u8]) -> Result<ImageConfig, String> {
    parse_config_with_diff_ids(bytes).map(|(c, _)| c)
}

/// [`parse_config`], and the `rootfs.diff_ids` (docker-archive layers are named by them).
fn parse_config_with_diff_ids(bytes: &[u8]) -> Result<(ImageConfig, Vec<String>), String> {
    let raw: RawConfig =
        serde_json::from_slice(bytes).map_err(|e| format!("invalid image config: {e}"))?;
    let c = raw.config.unwrap_or_default();
    let mut exposed_ports: Vec<String> = c
        .exposed_ports
        .unwrap_or_default()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    exposed_ports.sort();
    let config = ImageConfig {
        os: raw.os.unwrap_or_default(),
        architecture: raw.architecture.unwrap_or_default(),
        user: c.user.unwrap_or_default(),
        env: c.env.unwrap_or_default(),
        exposed_ports,
        entrypoint: c.entrypoint.unwrap_or_default(),
        cmd: c.cmd.unwrap_or_default(),
        history: raw
            .history
            .unwrap_or_default()
            .into_iter()
            .map(|h| {
                (
                    h.created_by.unwrap_or_default(),
                    h.empty_layer.unwrap_or(false),
                )
            })
            .collect(),
    };
    let diff_ids = raw.rootfs.and_then(|r| r.diff_ids).unwrap_or_default();
    Ok((config, diff_ids))
}

/// The config descriptor and layers of an OCI or Docker schema 2 manifest.
fn manifest_parts(bytes: &[u8], what: &str) -> Result<(LayerDesc, Vec<LayerDesc>), ImageError> {
    let malformed = |reason: String| ImageError::Malformed {
        what: what.to_string(),
        reason,
    };
    let manifest: OciImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| malformed(format!("not an image manifest: {e}")))?;
    let desc = |d: &palisade_oci::OciDescriptor| -> Result<LayerDesc, ImageError> {
        if sha256_hex(&d.digest).is_none() {
            return Err(malformed(format!(
                "unsupported or malformed digest {:?} (sha256 only)",
                d.digest
            )));
        }
        let size = u64::try_from(d.size)
            .map_err(|_| malformed(format!("negative size of {}", d.digest)))?;
        Ok(LayerDesc {
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            size,
        })
    };
    let config = desc(&manifest.config)?;
    let layers = manifest.layers.iter().map(desc).collect::<Result<_, _>>()?;
    Ok((config, layers))
}

/// Whether a manifest media type names an index (OCI) or manifest list (Docker).
fn is_index_media_type(media_type: &str) -> bool {
    media_type == "application/vnd.oci.image.index.v1+json"
        || media_type == "application/vnd.docker.distribution.manifest.list.v2+json"
}

/// Reads `reader` to its end, refusing more than `limit` bytes.
fn read_limited(mut reader: impl Read, limit: u64, what: &str) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    (&mut reader)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| ImageError::from_io(e, what))?;
    if out.len() as u64 > limit {
        return Err(ImageError::Malformed {
            what: what.to_string(),
            reason: format!("larger than the limit of {limit} bytes"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_by_prefix() {
        assert_eq!(
            Source::parse("oci:/tmp/lay:v1").unwrap(),
            Source::OciLayout {
                dir: "/tmp/lay".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            Source::parse("oci:/tmp/lay").unwrap(),
            Source::OciLayout {
                dir: "/tmp/lay".into(),
                tag: None
            }
        );
        assert_eq!(
            Source::parse("docker-archive:/tmp/a.tar").unwrap(),
            Source::DockerArchive("/tmp/a.tar".into())
        );
        assert_eq!(
            Source::parse("docker://alpine:3.20").unwrap(),
            Source::Registry("alpine:3.20".into())
        );
        assert!(Source::parse("oci:").is_err());
        assert!(Source::parse("docker-archive:").is_err());
        assert!(Source::parse("").is_err());
        assert_eq!(
            Source::parse("oci:/tmp/lay:v1").unwrap().to_string(),
            "oci:/tmp/lay:v1"
        );
    }

    #[test]
    fn config_with_nulls_parses() {
        let c = parse_config(
            br#"{"os":"linux","architecture":"amd64","config":{"User":"app","Env":null,"ExposedPorts":{"80/tcp":{},"443/tcp":{}},"Entrypoint":["/bin/app"],"Cmd":null},"history":[{"created_by":"ADD x /"},{"created_by":"ENV A=b","empty_layer":true}]}"#,
        )
        .unwrap();
        assert_eq!(c.user, "app");
        assert!(c.env.is_empty());
        assert_eq!(c.exposed_ports, vec!["443/tcp", "80/tcp"]);
        assert_eq!(c.entrypoint, vec!["/bin/app"]);
        assert_eq!(
            c.history,
            vec![
                ("ADD x /".to_string(), false),
                ("ENV A=b".to_string(), true)
            ]
        );
        assert!(parse_config(b"not json").is_err());
        assert!(parse_config(b"\"text\"").is_err());
    }

    #[test]
    fn only_well_formed_sha256_digests_are_accepted() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert!(sha256_hex(&good).is_some());
        assert!(sha256_hex("sha256:../../etc/passwd").is_none());
        assert!(sha256_hex(&format!("sha512:{}", "a".repeat(64))).is_none());
        assert!(sha256_hex(&format!("sha256:{}", "A".repeat(64))).is_none());
    }
}
