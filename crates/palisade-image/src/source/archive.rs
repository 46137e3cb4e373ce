//! `docker save` tarballs (also what `skopeo copy ... docker-archive:FILE`
//! writes): `manifest.json` lists the config and layer members. One pass
//! over the tar headers (seeking past the data) records where each member's
//! bytes start; a layer is then read by seeking the file to that offset.
//! Nothing is extracted.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::verify::VerifyingReader;
use super::{
    parse_config_with_diff_ids, read_limited, sha256_digest, sha256_hex, Image, LayerDesc,
    LayerOpener, MAX_DOCUMENT_BYTES,
};
use crate::error::ImageError;

/// Members in one archive beyond which it is refused (an image has a few
/// hundred at most: config, layers, their metadata files).
const MAX_MEMBERS: usize = 100_000;

/// One entry of `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Where a member's bytes are in the archive file.
#[derive(Clone, Copy)]
struct Member {
    offset: u64,
    size: u64,
}

/// Opens the image in the `docker save` tarball `file`.
pub(super) fn open(file: &Path, name: String) -> Result<Image, ImageError> {
    let members = index_members(file)?;
    let read_member = |member: &str| -> Result<Vec<u8>, ImageError> {
        let what = format!("{}!{member}", file.display());
        let m = members.get(member).ok_or_else(|| ImageError::Malformed {
            what: file.display().to_string(),
            reason: format!("no member {member:?} in the archive"),
        })?;
        if m.size > MAX_DOCUMENT_BYTES {
            return Err(ImageError::Malformed {
                what,
                reason: format!("larger than the limit of {MAX_DOCUMENT_BYTES} bytes"),
            });
        }
        read_limited(open_member(file, m)?, m.size, &what)
    };
    let manifest_bytes = read_member("manifest.json")?;
    let manifests: Vec<ArchiveManifest> =
        serde_json::from_slice(&manifest_bytes).map_err(|e| ImageError::Malformed {
            what: format!("{}!manifest.json", file.display()),
            reason: e.to_string(),
        })?;
    let manifest = match manifests.as_slice() {
        [one] => one,
        [] => {
            return Err(ImageError::NotFound {
                image: name,
                reason: "manifest.json lists no image".to_string(),
            })
        }
        many => {
            let tags: Vec<String> = many
                .iter()
                .map(|m| m.repo_tags.clone().unwrap_or_default().join(" "))
                .collect();
            return Err(ImageError::NotFound {
                image: name,
                reason: format!(
                    "the archive holds {} images ({}); save one image per archive",
                    many.len(),
                    tags.join(", ")
                ),
            });
        }
    };
    let config_bytes = read_member(&manifest.config)?;
    let config_digest = sha256_digest(&config_bytes);
    let (config, diff_ids) =
        parse_config_with_diff_ids(&config_bytes).map_err(|reason| ImageError::Malformed {
            what: format!("{}!{}", file.display(), manifest.config),
            reason,
        })?;
    let mut layers = Vec::with_capacity(manifest.layers.len());
    let mut places = HashMap::new();
    for (i, path) in manifest.layers.iter().enumerate() {
        let member = members.get(path).ok_or_else(|| ImageError::Malformed {
            what: format!("{}!manifest.json", file.display()),
            reason: format!("layer member {path:?} is not in the archive"),
        })?;
        // The layer's name: the blob digest when the member is named by
        // one (`blobs/sha256/<hex>`, docker 25+), else the config's diff id
        // (plain tar layers of older docker and skopeo), else an index.
        let digest = blob_digest_of_path(path)
            .or_else(|| diff_ids.get(i).filter(|d| sha256_hex(d).is_some()).cloned())
            .unwrap_or_else(|| format!("{path} (layer {i})"));
        places.insert(digest.clone(), (path.clone(), member));
        layers.push(LayerDesc {
            digest,
            media_type: "application/vnd.docker.image.rootfs.diff.tar".to_string(),
            size: member.size,
        });
    }
    // A docker-archive has no registry manifest; the config digest is the image id.
    Ok(Image::new(
        name,
        config_digest.clone(),
        config_digest,
        config,
        layers,
        Box::new(ArchiveLayers {
            file: file.to_path_buf(),
            places,
        }),
    ))
}

/// `sha256:<hex>` when `path` is `blobs/sha256/<hex>`.
fn blob_digest_of_path(path: &str) -> Option<String> {
    let hex = normalise(path).strip_prefix("blobs/sha256/")?.to_string();
    let digest = format!("sha256:{hex}");
    sha256_hex(&digest).is_some().then_some(digest)
}

/// Member names as written (`./manifest.json` and `manifest.json` alike).
fn normalise(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

/// The regular-file members of an archive by name, with symbolic links
/// between members resolved (docker and skopeo write `<id>/layer.tar` as a
/// link to a layer stored once). Links are followed inside the archive
/// only, never on disk.
struct Members {
    files: HashMap<String, Member>,
    links: HashMap<String, String>,
}

impl Members {
    /// The member called `name`, through at most a few links.
    fn get(&self, name: &str) -> Option<Member> {
        let mut name = normalise(name);
        for _ in 0..8 {
            if let Some(m) = self.files.get(&name) {
                return Some(*m);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }
}

/// One pass over the tar headers, seeking past member data.
fn index_members(file: &Path) -> Result<Members, ImageError> {
    let io = |e: std::io::Error| ImageError::Io {
        path: file.display().to_string(),
        reason: e.to_string(),
    };
    let f = File::open(file).map_err(io)?;
    let mut archive = tar::Archive::new(f);
    let mut members = Members {
        files: HashMap::new(),
        links: HashMap::new(),
    };
    for entry in archive.entries_with_seek().map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = normalise(&String::from_utf8_lossy(&entry.path_bytes()));
        let kind = entry.header().entry_type();
        if kind.is_file() {
            members.files.insert(
                path,
                Member {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
            );
        } else if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            // Symlink targets are relative to the link's directory, hard
            // link targets to the archive root.
            let base = match path.rsplit_once('/') {
                Some((dir, _)) if kind.is_symlink() => format!("{dir}/"),
                _ => String::new(),
            };
            if let Ok(target) = crate::layers::normalise_path(&format!("{base}{target}")) {
                members.links.insert(path, target);
            }
        }
        if members.files.len() + members.links.len() > MAX_MEMBERS {
            return Err(ImageError::Malformed {
                what: file.display().to_string(),
                reason: format!("more than {MAX_MEMBERS} members: not an image archive"),
            });
        }
    }
    Ok(members)
}

/// The bytes of one member, read from its offset.
fn open_member(file: &Path, m: Member) -> Result<impl Read + Send, ImageError> {
    let io = |e: std::io::Error| ImageError::Io {
        path: file.display().to_string(),
        reason: e.to_string(),
    };
    let mut f = File::open(file).map_err(io)?;
    f.seek(SeekFrom::Start(m.offset)).map_err(io)?;
    Ok(BufReader::with_capacity(256 << 10, f).take(m.size))
}

/// The layer members of one archive.
struct ArchiveLayers {
    file: PathBuf,
    /// Layer digest → (member name, place).
    places: HashMap<String, (String, Member)>,
}

impl LayerOpener for ArchiveLayers {
    fn open(&mut self, layer: &LayerDesc) -> Result<Box<dyn Read + Send>, ImageError> {
        let (path, member) =
            self.places
                .get(&layer.digest)
                .ok_or_else(|| ImageError::NotFound {
                    image: self.file.display().to_string(),
                    reason: format!("no layer {}", layer.digest),
                })?;
        let mut magic = [0u8; 4];
        let mut head = open_member(&self.file, *member)?;
        let got = head
            .read(&mut magic)
            .map_err(|e| ImageError::from_io(e, &layer.digest))?;
        let compressed =
            got >= 2 && (magic[..2] == [0x1f, 0x8b] || magic == [0x28, 0xb5, 0x2f, 0xfd]);
        // A plain tar member is checked against its digest (the diff id);
        // a compressed one only when it is named by its blob digest, since
        // the diff id is the digest of the decompressed stream.
        let digest = (!compressed || blob_digest_of_path(path).is_some())
            .then(|| layer.digest.clone())
            .filter(|d| sha256_hex(d).is_some());
        Ok(Box::new(VerifyingReader::new(
            open_member(&self.file, *member)?,
            format!("layer {} ({}!{path})", layer.digest, self.file.display()),
            digest,
            Some(member.size),
        )))
    }
}
