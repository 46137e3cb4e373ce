//! A real image, built with `umoci` from files of this machine, read from
//! its OCI layout, from a loopback registry it is pushed to with skopeo,
//! and from a `docker-archive` skopeo writes: the same filesystem and
//! layers every way.

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use palisade_image::error::ImageError;
use palisade_image::layers::{walk, WalkResult};
use palisade_image::model::{Entry, EntryKind, FinalFs, Limits, Visitor};
use palisade_image::source::{Image, OpenOptions, Source};
use palisade_oci::{ClientOptions, Platform};

const PLANTED: &[u8] = b"AWS_SECRET_ACCESS_KEY=planted-for-the-test\n";

/// Records entries with content, and whiteouts.
#[derive(Default)]
struct Recorder {
    entries: Vec<(usize, String, Option<Vec<u8>>)>,
    removed: Vec<(usize, String, bool)>,
    finished: bool,
}

impl Visitor for Recorder {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        entry.path.starts_with("app/")
    }
    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        self.entries.push((
            entry.layer,
            entry.path.to_string(),
            content.map(<[u8]>::to_vec),
        ));
    }
    fn removed(&mut self, layer: usize, path: &str, opaque: bool) {
        self.removed.push((layer, path.to_string(), opaque));
    }
    fn finish(&mut self, _fs: &FinalFs) {
        self.finished = true;
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (apt-get install umoci skopeo)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An OCI layout at `dir` with image `t`: layer 0 adds `/bin/sh` (dash),
/// the dpkg status file and a planted secret; layer 1 deletes the secret
/// and adds a config file; then the config gets a user and an env entry.
fn build_image(work: &Path) -> PathBuf {
    let layout = work.join("layout");
    let umoci = |args: &[&str]| {
        run(Command::new("umoci").args(args));
    };
    umoci(&["init", "--layout", layout.to_str().unwrap()]);
    let image = format!("{}:t", layout.display());
    umoci(&["new", "--image", &image]);
    let bundle = work.join("bundle1");
    umoci(&["unpack", "--image", &image, bundle.to_str().unwrap()]);
    let rootfs = bundle.join("rootfs");
    for dir in ["bin", "var/lib/dpkg", "app"] {
        std::fs::create_dir_all(rootfs.join(dir)).unwrap();
    }
    std::fs::copy("/usr/bin/dash", rootfs.join("bin/sh")).unwrap();
    std::fs::copy("/var/lib/dpkg/status", rootfs.join("var/lib/dpkg/status")).unwrap();
    std::fs::write(rootfs.join("app/.env"), PLANTED).unwrap();
    umoci(&["repack", "--image", &image, bundle.to_str().unwrap()]);
    let bundle = work.join("bundle2");
    umoci(&["unpack", "--image", &image, bundle.to_str().unwrap()]);
    let rootfs = bundle.join("rootfs");
    std::fs::remove_file(rootfs.join("app/.env")).unwrap();
    std::fs::write(rootfs.join("app/config"), b"listen: 8080\n").unwrap();
    umoci(&["repack", "--image", &image, bundle.to_str().unwrap()]);
    umoci(&[
        "config",
        "--image",
        &image,
        "--config.user",
        "app",
        "--config.env",
        "MODE=test",
    ]);
    layout
}

fn open(source: &str, options: &OpenOptions) -> Result<Image, ImageError> {
    Source::parse(source)?.open(options)
}

fn walk_all(image: &mut Image) -> (WalkResult, Recorder) {
    let mut rec = Recorder::default();
    let result = walk(image, &Limits::default(), &mut [&mut rec], None).unwrap();
    assert!(rec.finished);
    (result, rec)
}

/// The digest index.json names `tag` by.
fn tagged_digest(layout: &Path, tag: &str) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

fn assert_same_fs(a: &FinalFs, b: &FinalFs, what: &str) {
    assert_eq!(
        a.paths(),
        b.paths(),
        "{what}: paths of the layout and the other"
    );
    a.for_each(|path, node| assert_eq!(Some(node), b.get(path), "{what}: {path}"));
}

#[test]
fn one_image_read_from_layout_registry_and_docker_archive() {
    let work = tempfile::tempdir().unwrap();
    let layout = build_image(work.path());
    let options = OpenOptions::default();

    // OCI layout.
    let mut from_layout = open(&format!("oci:{}:t", layout.display()), &options).unwrap();
    assert_eq!(from_layout.manifest_digest, tagged_digest(&layout, "t"));
    assert_eq!(from_layout.config.user, "app");
    assert!(from_layout.config.env.contains(&"MODE=test".to_string()));
    assert_eq!(from_layout.config.os, "linux");
    assert_eq!(from_layout.layers.len(), 2);
    let (result, rec) = walk_all(&mut from_layout);
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    let fs = &result.fs;
    let dash_size = std::fs::metadata("/usr/bin/dash").unwrap().len();
    let sh = fs.get("bin/sh").expect("bin/sh in the final fs");
    assert_eq!(
        (sh.kind.clone(), sh.size, sh.layer),
        (EntryKind::File, dash_size, 0)
    );
    assert_eq!(sh.mode & 0o111, 0o111, "dash stays executable");
    assert!(fs.get("var/lib/dpkg/status").is_some());
    assert!(fs.get("app/.env").is_none(), "deleted by layer 1");
    assert!(fs.survives(1, "app/config"));
    // The secret was seen with its content in layer 0, then whited out.
    assert!(rec
        .entries
        .iter()
        .any(|(l, p, c)| *l == 0 && p == "app/.env" && c.as_deref() == Some(PLANTED)));
    assert_eq!(rec.removed, vec![(1, "app/.env".to_string(), false)]);
    for info in &result.layers {
        assert_eq!(info.compression, "gzip");
        assert!(info.uncompressed_size > info.compressed_size);
    }
    assert!(result.layers[0].file_bytes >= dash_size);
    let layer_digests: Vec<String> = from_layout
        .layers
        .iter()
        .map(|l| l.digest.clone())
        .collect();

    // The same image pushed to a registry.
    let registry = common::Registry::start();
    registry.push(&layout, "t", "palisade/img:t");
    let options_reg = OpenOptions {
        registry: ClientOptions {
            insecure_registries: vec![registry.host.clone()],
            ..ClientOptions::default()
        },
        ..OpenOptions::default()
    };
    let reference = format!("{}/palisade/img:t", registry.host);
    let mut from_registry = open(&reference, &options_reg).unwrap();
    assert_eq!(from_registry.manifest_digest, from_layout.manifest_digest);
    assert_eq!(from_registry.config_digest, from_layout.config_digest);
    assert_eq!(from_registry.config, from_layout.config);
    let (reg_result, reg_rec) = walk_all(&mut from_registry);
    let reg_digests: Vec<&str> = reg_result
        .layers
        .iter()
        .map(|l| l.digest.as_str())
        .collect();
    assert_eq!(reg_digests, layer_digests);
    assert_eq!(reg_result.layers, result.layers);
    assert_same_fs(fs, &reg_result.fs, "registry");
    assert_eq!(reg_rec.removed, rec.removed);

    // A registry layer that is not there is an error naming it.
    let missing = format!("{}/palisade/none:t", registry.host);
    let err = open(&missing, &options_reg).unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");

    // The same image as a docker-archive (skopeo decompresses the layers).
    let archive = work.path().join("image.tar");
    run(Command::new("skopeo")
        .arg("copy")
        .arg(format!("oci:{}:t", layout.display()))
        .arg(format!(
            "docker-archive:{}:palisade/img:t",
            archive.display()
        )));
    let mut from_archive =
        open(&format!("docker-archive:{}", archive.display()), &options).unwrap();
    assert_eq!(from_archive.config.user, "app");
    assert_eq!(from_archive.layers.len(), 2);
    let (arch_result, arch_rec) = walk_all(&mut from_archive);
    assert!(
        arch_result.warnings.is_empty(),
        "{:?}",
        arch_result.warnings
    );
    assert_same_fs(fs, &arch_result.fs, "docker-archive");
    assert_eq!(arch_rec.removed, rec.removed);
    for (a, l) in arch_result.layers.iter().zip(&result.layers) {
        assert_eq!(a.compression, "none");
        assert_eq!(a.uncompressed_size, l.uncompressed_size);
        assert_eq!(a.entries, l.entries);
    }

    // The older `docker save` shape: manifest.json names `<id>/layer.tar`,
    // here links to the layer stored once, and members start with `./`.
    let unpacked = work.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run(Command::new("tar")
        .arg("-C")
        .arg(&unpacked)
        .arg("-xf")
        .arg(&archive));
    let manifest_path = unpacked.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    for layer in manifest[0]["Layers"].as_array_mut().unwrap() {
        let stored = layer.as_str().unwrap().to_string();
        let link = std::fs::read_dir(&unpacked)
            .unwrap()
            .map(|d| d.unwrap().path().join("layer.tar"))
            .find(|p| std::fs::read_link(p).is_ok_and(|t| t.to_string_lossy().ends_with(&stored)))
            .expect("a <id>/layer.tar link per layer");
        let id = link
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        *layer = serde_json::Value::String(format!("{id}/layer.tar"));
    }
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let relinked = work.path().join("relinked.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&unpacked)
        .arg("-cf")
        .arg(&relinked)
        .arg("."));
    let mut from_links = open(&format!("docker-archive:{}", relinked.display()), &options).unwrap();
    let (links_result, _) = walk_all(&mut from_links);
    assert_same_fs(fs, &links_result.fs, "docker-archive with layer.tar links");
    assert_eq!(
        from_links
            .layers
            .iter()
            .map(|l| &l.digest)
            .collect::<Vec<_>>(),
        from_archive
            .layers
            .iter()
            .map(|l| &l.digest)
            .collect::<Vec<_>>()
    );
}

#[test]
fn layout_index_is_chosen_by_platform() {
    let work = tempfile::tempdir().unwrap();
    let layout = build_image(work.path());
    let amd64 = tagged_digest(&layout, "t");
    let blobs = layout.join("blobs/sha256");
    let blob_of =
        |digest: &str| std::fs::read(blobs.join(digest.trim_start_matches("sha256:"))).unwrap();
    let write_blob = |bytes: &[u8]| -> (String, usize) {
        let digest = palisade_image_test_digest(bytes);
        std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), bytes).unwrap();
        (digest, bytes.len())
    };
    // An arm64 "image": the same config, no layers.
    let manifest: serde_json::Value = serde_json::from_slice(&blob_of(&amd64)).unwrap();
    let arm64_manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": manifest["config"],
        "layers": [],
    });
    let (arm64, arm64_size) = write_blob(&serde_json::to_vec(&arm64_manifest).unwrap());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm64, "size": arm64_size,
             "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64,
             "size": blob_of(&amd64).len(), "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    });
    let (index_digest, index_size) = write_blob(&serde_json::to_vec(&index).unwrap());
    let mut top: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    top["manifests"].as_array_mut().unwrap().push(serde_json::json!({
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": index_digest, "size": index_size,
        "annotations": {"org.opencontainers.image.ref.name": "multi"},
    }));
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();

    let source = format!("oci:{}:multi", layout.display());
    let image = open(&source, &OpenOptions::default()).unwrap();
    assert_eq!(image.manifest_digest, amd64);
    assert_eq!(image.layers.len(), 2);
    let arm = OpenOptions {
        platform: "linux/arm64".parse::<Platform>().unwrap(),
        ..OpenOptions::default()
    };
    let image = open(&source, &arm).unwrap();
    assert_eq!(image.manifest_digest, arm64);
    assert!(image.layers.is_empty());
    let s390x = OpenOptions {
        platform: "linux/s390x".parse::<Platform>().unwrap(),
        ..OpenOptions::default()
    };
    let err = open(&source, &s390x).unwrap_err().to_string();
    assert!(
        err.contains("no manifest for platform linux/s390x (index has: linux/arm64, linux/amd64)"),
        "{err}"
    );
    let err = open(
        &format!("oci:{}:nope", layout.display()),
        &OpenOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no manifest tagged \"nope\" (the layout has: t, multi)"),
        "{err}"
    );
}

#[test]
fn tampered_layout_blob_fails_its_digest_check() {
    let work = tempfile::tempdir().unwrap();
    let layout = build_image(work.path());
    let mut image = open(
        &format!("oci:{}:t", layout.display()),
        &OpenOptions::default(),
    )
    .unwrap();
    // Append a byte to the top layer: the size check catches it.
    let top = image.layers[1].digest.clone();
    let path = layout
        .join("blobs/sha256")
        .join(top.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, &bytes).unwrap();
    let err = walk(&mut image, &Limits::default(), &mut [], None).unwrap_err();
    assert!(matches!(err, ImageError::SizeMismatch { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("layer {top}: size mismatch")),
        "{err}"
    );

    // Same length, one byte changed at the end (gzip trailer): the digest check catches it.
    bytes.pop();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let mut image = open(
        &format!("oci:{}:t", layout.display()),
        &OpenOptions::default(),
    )
    .unwrap();
    let err = walk(&mut image, &Limits::default(), &mut [], None).unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::DigestMismatch { .. } | ImageError::Layer { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&top), "{err}");
}

/// `sha256:<hex>` of `bytes`.
fn palisade_image_test_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
