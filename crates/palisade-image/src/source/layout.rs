//! OCI image layouts on disk: `index.json` → manifest (or nested index,
//! chosen by platform) → config and layer blobs under `blobs/sha256/`,
//! each checked for size and digest as it is read.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use palisade_oci::{ImageIndexEntry, OciImageIndex, Platform};

use super::verify::VerifyingReader;
use super::{
    is_index_media_type, manifest_parts, parse_config, read_limited, sha256_hex, Image, LayerDesc,
    LayerOpener, MAX_DOCUMENT_BYTES,
};
use crate::error::ImageError;

/// The annotation naming a manifest in `index.json`.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Indexes nested deeper than this are refused (real layouts nest one level).
const MAX_NESTING: usize = 4;

/// Opens the image tagged `tag` (or the only one) in the layout at `dir`:
/// the `index.json` entry, the manifest behind any nested indexes, then
/// the config.
pub(super) fn open(
    dir: &Path,
    tag: Option<&str>,
    platform: &Platform,
    name: String,
) -> Result<Image, ImageError> {
    let blobs = Blobs {
        dir: dir.to_path_buf(),
    };
    let index = read_index(dir)?;
    let not_found = |reason: String| ImageError::NotFound {
        image: name.clone(),
        reason,
    };
    let entry = index_entry(&index, tag, platform, &not_found)?;
    let (digest, bytes) = manifest(&blobs, entry, platform, &not_found)?;
    let (config_desc, layers) = manifest_parts(&bytes, &format!("manifest {digest}"))?;
    let what = format!("config {}", config_desc.digest);
    check_size(&what, config_desc.size)?;
    let config_bytes = read_limited(
        blobs.open(&config_desc.digest, Some(config_desc.size), &what)?,
        config_desc.size,
        &what,
    )?;
    let config = parse_config(&config_bytes).map_err(|reason| ImageError::Malformed {
        what: what.clone(),
        reason,
    })?;
    Ok(Image::new(
        name,
        digest,
        config_desc.digest,
        config,
        layers,
        Box::new(blobs),
    ))
}

/// The layout's `index.json`.
fn read_index(dir: &Path) -> Result<OciImageIndex, ImageError> {
    let index_path = dir.join("index.json");
    let index_bytes = read_limited(
        File::open(&index_path).map_err(|e| io_error(&index_path, &e))?,
        MAX_DOCUMENT_BYTES,
        &index_path.display().to_string(),
    )?;
    serde_json::from_slice(&index_bytes).map_err(|e| ImageError::Malformed {
        what: index_path.display().to_string(),
        reason: format!("not an image index: {e}"),
    })
}

/// The `index.json` entry of `tag`; without a tag, the only entry, or the
/// one for `platform` in a multi-platform layout.
fn index_entry<'i>(
    index: &'i OciImageIndex,
    tag: Option<&str>,
    platform: &Platform,
    not_found: &impl Fn(String) -> ImageError,
) -> Result<&'i ImageIndexEntry, ImageError> {
    let tags = || -> String {
        let list: Vec<&str> = index
            .manifests
            .iter()
            .filter_map(|m| m.annotations.as_ref()?.get(REF_NAME).map(String::as_str))
            .collect();
        if list.is_empty() {
            "the layout has no tags".to_string()
        } else {
            format!("the layout has: {}", list.join(", "))
        }
    };
    match tag {
        Some(tag) => index
            .manifests
            .iter()
            .find(|m| {
                m.annotations
                    .as_ref()
                    .and_then(|a| a.get(REF_NAME))
                    .is_some_and(|n| n == tag)
            })
            .ok_or_else(|| not_found(format!("no manifest tagged {tag:?} ({})", tags()))),
        None if index.manifests.len() == 1 => Ok(&index.manifests[0]),
        None => {
            // Several entries and no tag: a multi-platform layout is chosen by platform.
            let digest = palisade_oci::choose_platform(index, platform).ok_or_else(|| {
                not_found(format!(
                    "{} manifests and no tag given ({})",
                    index.manifests.len(),
                    tags()
                ))
            })?;
            index
                .manifests
                .iter()
                .find(|m| m.digest == digest)
                .ok_or_else(|| not_found(format!("no manifest {digest}")))
        }
    }
}

/// A document blob over the size limit is refused before it is read.
fn check_size(what: &str, len: u64) -> Result<(), ImageError> {
    if len > MAX_DOCUMENT_BYTES {
        return Err(ImageError::Malformed {
            what: what.to_string(),
            reason: format!("larger than the limit of {MAX_DOCUMENT_BYTES} bytes"),
        });
    }
    Ok(())
}

/// The image manifest `entry` leads to, following nested indexes (at most
/// [`MAX_NESTING`] deep) by platform: its digest and bytes.
fn manifest(
    blobs: &Blobs,
    entry: &ImageIndexEntry,
    platform: &Platform,
    not_found: &impl Fn(String) -> ImageError,
) -> Result<(String, Vec<u8>), ImageError> {
    let mut digest = entry.digest.clone();
    let mut media_type = entry.media_type.clone();
    let mut size = entry.size;
    let mut depth = 0;
    loop {
        let what = format!("manifest {digest}");
        let len = u64::try_from(size).map_err(|_| ImageError::Malformed {
            what: what.clone(),
            reason: "negative size".to_string(),
        })?;
        check_size(&what, len)?;
        let bytes = read_limited(blobs.open(&digest, Some(len), &what)?, len, &what)?;
        if !is_index_media_type(&media_type) && !looks_like_index(&bytes) {
            return Ok((digest, bytes));
        }
        depth += 1;
        if depth > MAX_NESTING {
            return Err(ImageError::Malformed {
                what,
                reason: format!("indexes nested more than {MAX_NESTING} deep"),
            });
        }
        let nested: OciImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| ImageError::Malformed {
                what: what.clone(),
                reason: format!("not an image index: {e}"),
            })?;
        let chosen = palisade_oci::choose_platform(&nested, platform).ok_or_else(|| {
            not_found(format!(
                "no manifest for platform {platform} (index has: {})",
                palisade_oci::index_platforms(&nested)
            ))
        })?;
        let next = nested
            .manifests
            .iter()
            .find(|m| m.digest == chosen)
            .ok_or_else(|| not_found(format!("no manifest {chosen}")))?;
        digest = next.digest.clone();
        media_type = next.media_type.clone();
        size = next.size;
    }
}

/// An index without `mediaType` on its descriptor is still recognised by its `manifests`.
fn looks_like_index(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        manifests: Option<serde::de::IgnoredAny>,
        layers: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(bytes)
        .is_ok_and(|p| p.manifests.is_some() && p.layers.is_none())
}

/// The `blobs/` directory of a layout.
struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    /// A verifying reader of the blob named `digest`.
    fn open(
        &self,
        digest: &str,
        size: Option<u64>,
        what: &str,
    ) -> Result<VerifyingReader<BufReader<File>>, ImageError> {
        let hex = sha256_hex(digest).ok_or_else(|| ImageError::Malformed {
            what: what.to_string(),
            reason: format!("unsupported or malformed digest {digest:?} (sha256 only)"),
        })?;
        let path = self.dir.join("blobs").join("sha256").join(hex);
        let file = File::open(&path).map_err(|e| io_error(&path, &e))?;
        Ok(VerifyingReader::new(
            BufReader::with_capacity(256 << 10, file),
            what.to_string(),
            Some(digest.to_string()),
            size,
        ))
    }
}

impl LayerOpener for Blobs {
    fn open(&mut self, layer: &LayerDesc) -> Result<Box<dyn Read + Send>, ImageError> {
        let what = format!("layer {}", layer.digest);
        Ok(Box::new(Blobs::open(
            self,
            &layer.digest,
            Some(layer.size),
            &what,
        )?))
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> ImageError {
    ImageError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
