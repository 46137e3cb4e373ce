//! The layer walker on tar streams built here with the `tar` crate (plain,
//! gzip and zstd): whiteouts, links, hostile paths, limits, sniffing.

use std::cell::RefCell;
use std::io::Write;

use palisade_image::error::ImageError;
use palisade_image::layers::{walk, Progress, WalkResult};
use palisade_image::model::{Entry, EntryKind, FinalFs, ImageConfig, Limits, Visitor};
use palisade_image::source::Image;

/// Builds one layer's tar stream.
struct Layer {
    builder: tar::Builder<Vec<u8>>,
}

impl Layer {
    fn new() -> Self {
        Layer {
            builder: tar::Builder::new(Vec::new()),
        }
    }

    fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h
    }

    /// Writes the name bytes as given: `tar::Builder` refuses `..` and
    /// absolute paths, which is exactly what hostile layers contain.
    fn raw(mut self, mut h: tar::Header, path: &str, data: &[u8]) -> Self {
        let name = &mut h.as_gnu_mut().unwrap().name;
        name.fill(0);
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        self.builder.append(&h, data).unwrap();
        self
    }

    fn file(self, path: &str, content: &[u8]) -> Self {
        let h = Self::header(tar::EntryType::Regular, content.len() as u64, 0o644);
        self.raw(h, path, content)
    }

    fn long_file(mut self, path: &str, content: &[u8]) -> Self {
        let mut h = Self::header(tar::EntryType::Regular, content.len() as u64, 0o644);
        self.builder.append_data(&mut h, path, content).unwrap();
        self
    }

    fn dir(self, path: &str) -> Self {
        let h = Self::header(tar::EntryType::Directory, 0, 0o755);
        self.raw(h, path, &[])
    }

    fn link(self, kind: tar::EntryType, path: &str, target: &str) -> Self {
        let mut h = Self::header(kind, 0, 0o777);
        let link = &mut h.as_gnu_mut().unwrap().linkname;
        link[..target.len()].copy_from_slice(target.as_bytes());
        self.raw(h, path, &[])
    }

    fn symlink(self, path: &str, target: &str) -> Self {
        self.link(tar::EntryType::Symlink, path, target)
    }

    fn hardlink(self, path: &str, target: &str) -> Self {
        self.link(tar::EntryType::Link, path, target)
    }

    fn tar(self) -> Vec<u8> {
        self.builder.into_inner().unwrap()
    }

    fn gzip(self) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&self.tar()).unwrap();
        gz.finish().unwrap()
    }

    fn zstd(self) -> Vec<u8> {
        zstd::encode_all(&self.tar()[..], 3).unwrap()
    }
}

/// (layer, path, kind, size, content) of one entry.
type Seen = (usize, String, EntryKind, u64, Option<Vec<u8>>);

/// What a visitor saw.
#[derive(Default)]
struct Recorder {
    /// (layer, path, kind, size, content) of every entry.
    entries: Vec<Seen>,
    /// (layer, path, opaque) of every whiteout.
    removed: Vec<(usize, String, bool)>,
    /// The final filesystem handed to `finish`.
    finished: Option<FinalFs>,
}

impl Visitor for Recorder {
    fn wants(&mut self, _entry: &Entry<'_>) -> bool {
        true
    }
    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        self.entries.push((
            entry.layer,
            entry.path.to_string(),
            entry.kind.clone(),
            entry.size,
            content.map(<[u8]>::to_vec),
        ));
    }
    fn removed(&mut self, layer: usize, path: &str, opaque: bool) {
        self.removed.push((layer, path.to_string(), opaque));
    }
    fn finish(&mut self, fs: &FinalFs) {
        self.finished = Some(fs.clone());
    }
}

fn run(blobs: Vec<Vec<u8>>, limits: &Limits) -> (Result<WalkResult, ImageError>, Recorder, Image) {
    run_with_config(blobs, limits, ImageConfig::default())
}

fn run_with_config(
    blobs: Vec<Vec<u8>>,
    limits: &Limits,
    config: ImageConfig,
) -> (Result<WalkResult, ImageError>, Recorder, Image) {
    let mut image = Image::from_blobs("test", config, blobs);
    let mut rec = Recorder::default();
    let result = walk(&mut image, limits, &mut [&mut rec], None);
    (result, rec, image)
}

fn paths(fs: &FinalFs) -> Vec<String> {
    let mut v: Vec<String> = fs.paths();
    v.sort();
    v
}

#[test]
fn whiteouts_and_opaque_dirs_shape_the_final_fs() {
    let base = Layer::new()
        .dir("etc/")
        .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
        .file("etc/secret", b"token")
        .dir("opt/app/")
        .file("opt/app/a", b"a")
        .file("opt/app/b", b"b")
        .dir("var/")
        .file("var/cache", b"c")
        .gzip();
    let top = Layer::new()
        .file("etc/.wh.secret", b"")
        .dir("opt/app/")
        .file("opt/app/.wh..wh..opq", b"")
        .file("opt/app/c", b"c")
        .file(".wh.var", b"")
        // A whiteout hides earlier layers only, whatever the order in the layer.
        .file("tmp/new", b"n")
        .file("tmp/.wh.new", b"")
        .gzip();
    let (result, rec, _) = run(vec![base, top], &Limits::default());
    let result = result.unwrap();
    assert_eq!(
        paths(&result.fs),
        vec!["etc", "etc/passwd", "opt/app", "opt/app/c", "tmp/new"]
    );
    assert_eq!(
        rec.removed,
        vec![
            (1, "etc/secret".to_string(), false),
            (1, "opt/app".to_string(), true),
            (1, "var".to_string(), false),
            (1, "tmp/new".to_string(), false),
        ]
    );
    // Deleted files were still seen, with their content, in their layer.
    assert!(rec.entries.iter().any(|(l, p, _, _, c)| *l == 0
        && p == "etc/secret"
        && c.as_deref() == Some(&b"token"[..])));
    // Whiteout markers are not entries.
    assert!(!rec.entries.iter().any(|(_, p, ..)| p.contains(".wh.")));
    assert!(result.fs.survives(0, "etc/passwd"));
    assert!(
        !result.fs.survives(0, "opt/app"),
        "layer 1 rewrote the directory"
    );
    assert_eq!(rec.finished.as_ref().map(paths), Some(paths(&result.fs)));
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
}

#[test]
fn hard_links_to_earlier_paths_are_kept_and_others_refused() {
    let layer = Layer::new()
        .file("bin/busybox", b"\x7fELF")
        .hardlink("bin/sh", "bin/busybox")
        .hardlink("bin/ghost", "bin/nowhere")
        .hardlink("bin/self", "bin/self")
        .dir("bin/d/")
        .hardlink("bin/todir", "bin/d")
        .hardlink("bin/up", "../../etc/shadow")
        .tar();
    let (result, rec, image) = run(vec![layer], &Limits::default());
    let result = result.unwrap();
    let digest = &image.layers[0].digest;
    assert_eq!(
        result.fs.get("bin/sh").map(|n| n.kind.clone()),
        Some(EntryKind::Hardlink("bin/busybox".into()))
    );
    // A hard link's content is not repeated.
    assert!(rec
        .entries
        .iter()
        .any(|(_, p, _, _, c)| p == "bin/sh" && c.is_none()));
    for path in ["bin/ghost", "bin/self", "bin/todir", "bin/up"] {
        assert!(result.fs.get(path).is_none(), "{path} should be refused");
    }
    let w = &result.warnings;
    assert_eq!(w.len(), 4, "{w:?}");
    assert_eq!(
        w[0],
        format!(
            "layer {digest}: bin/ghost: refused: hard link to a path not seen before (bin/nowhere)"
        )
    );
    assert!(
        w[1].contains("bin/self: refused: hard link to itself"),
        "{w:?}"
    );
    assert!(
        w[2].contains("bin/todir: refused: hard link to a directory"),
        "{w:?}"
    );
    assert!(
        w[3].contains("bin/up: refused: hard link target \"../../etc/shadow\": a `..` climbs above the image root"),
        "{w:?}"
    );
}

#[test]
fn symlinks_are_recorded_as_written_and_never_followed() {
    let base = Layer::new()
        .symlink("lib", "/usr/lib")
        .symlink("escape", "../../../../etc/shadow")
        .gzip();
    let top = Layer::new().file("escape", b"replaced").gzip();
    let (result, rec, _) = run(vec![base, top], &Limits::default());
    let result = result.unwrap();
    assert_eq!(
        result.fs.get("lib").map(|n| n.kind.clone()),
        Some(EntryKind::Symlink("/usr/lib".into()))
    );
    // Writing over a symlink replaces it; the walk never resolves the target.
    assert_eq!(
        result.fs.get("escape").map(|n| n.kind.clone()),
        Some(EntryKind::File)
    );
    assert!(result.fs.get("etc/shadow").is_none());
    assert!(rec.entries.iter().any(|(_, p, k, _, c)| p == "escape"
        && *k == EntryKind::Symlink("../../../../etc/shadow".into())
        && c.is_none()));
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
}

#[test]
fn escaping_paths_are_refused_and_absolute_ones_rooted() {
    let layer = Layer::new()
        .file("../../etc/passwd", b"evil")
        .file("/../etc/shadow", b"evil")
        .file("/abs/file", b"ok")
        .file("./usr/lib/../bin/tool", b"ok")
        .gzip();
    let (result, _, image) = run(vec![layer], &Limits::default());
    let result = result.unwrap();
    let digest = &image.layers[0].digest;
    assert_eq!(paths(&result.fs), vec!["abs/file", "usr/bin/tool"]);
    assert_eq!(
        result.warnings,
        vec![
            format!(
                "layer {digest}: ../../etc/passwd: refused: a `..` climbs above the image root"
            ),
            format!("layer {digest}: /../etc/shadow: refused: a `..` climbs above the image root"),
        ]
    );
}

#[test]
fn paths_over_the_limit_are_refused() {
    let long = format!("deep/{}", "x".repeat(300));
    let layer = Layer::new()
        .long_file(&long, b"x")
        .file("short", b"s")
        .tar();
    let limits = Limits {
        max_path_bytes: 100,
        ..Limits::default()
    };
    let (result, _, _) = run(vec![layer], &limits);
    let result = result.unwrap();
    assert_eq!(paths(&result.fs), vec!["short"]);
    assert_eq!(result.warnings.len(), 1);
    assert!(
        result.warnings[0].contains("refused: path of 305 bytes, longer than the limit of 100"),
        "{:?}",
        result.warnings
    );
}

/// A gzip stream of a tar holding one 2 GiB file of zeros, as 256
/// concatenated gzip members of the same compressed 8 MiB of zeros: about
/// 2 MiB in all, built without ever holding the zeros.
fn gzip_bomb() -> Vec<u8> {
    const CHUNK: usize = 8 << 20;
    const CHUNKS: usize = 256;
    let mut header = tar::Header::new_gnu();
    header.set_path("bomb").unwrap();
    header.set_size((CHUNK * CHUNKS) as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let member = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    };
    let zeros = member(&vec![0u8; CHUNK]);
    let mut out = member(header.as_bytes());
    for _ in 0..CHUNKS {
        out.extend_from_slice(&zeros);
    }
    out
}

#[test]
fn gzip_bomb_stops_at_the_uncompressed_limit() {
    let bomb = gzip_bomb();
    assert!(bomb.len() < 4 << 20, "bomb is {} bytes", bomb.len());
    let limits = Limits {
        max_total_bytes: 64 << 20,
        ..Limits::default()
    };
    let (result, _, image) = run(vec![bomb], &limits);
    let err = result.unwrap_err();
    assert!(matches!(err, ImageError::TooManyBytes { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "layer {} exceeds the limit of 67108864 uncompressed bytes (a decompression bomb?)",
            image.layers[0].digest
        )
    );
}

#[test]
fn huge_long_name_header_is_refused_before_it_is_buffered() {
    // A GNU long-name entry announcing 16 MiB of "name": the tar crate would
    // read it all into memory; the walker stops it at its metadata budget.
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    h.set_size(16 << 20);
    h.set_mode(0o644);
    h.set_cksum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(h.as_bytes()).unwrap();
    let zeros = vec![b'a'; 1 << 20];
    for _ in 0..16 {
        gz.write_all(&zeros).unwrap();
    }
    let layer = gz.finish().unwrap();
    let (result, _, _) = run(vec![layer], &Limits::default());
    let err = result.unwrap_err();
    assert!(matches!(err, ImageError::MetadataTooLarge { .. }), "{err}");
    assert!(
        err.to_string().contains("after the start of the layer"),
        "{err}"
    );
}

#[test]
fn entry_limit_is_enforced_across_layers() {
    let a = Layer::new()
        .file("a", b"")
        .file("b", b"")
        .file("c", b"")
        .tar();
    let b = Layer::new()
        .file("d", b"")
        .file("e", b"")
        .file("f", b"")
        .tar();
    let limits = Limits {
        max_entries: 5,
        ..Limits::default()
    };
    let (result, _, image) = run(vec![a, b], &limits);
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "layer {} exceeds the limit of 5 tar entries",
            image.layers[1].digest
        )
    );
}

#[test]
fn layer_limit_is_enforced_before_reading() {
    let layers = (0..3)
        .map(|i| Layer::new().file(&format!("f{i}"), b"").tar())
        .collect();
    let limits = Limits {
        max_layers: 2,
        ..Limits::default()
    };
    let (result, _, _) = run(layers, &limits);
    assert_eq!(
        result.unwrap_err().to_string(),
        "test: 3 layers, more than the limit of 2"
    );
}

#[test]
fn content_over_the_limit_is_counted_but_not_handed_over() {
    let big = vec![b'x'; 5000];
    let layer = Layer::new()
        .file("big", &big)
        .file("small", b"hello")
        .zstd();
    let limits = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let (result, rec, _) = run(vec![layer], &limits);
    let result = result.unwrap();
    let seen: Vec<(&str, u64, Option<&[u8]>)> = rec
        .entries
        .iter()
        .map(|(_, p, _, s, c)| (p.as_str(), *s, c.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![("big", 5000, None), ("small", 5, Some(&b"hello"[..]))]
    );
    assert_eq!(result.layers[0].file_bytes, 5005);
    assert_eq!(result.fs.get("big").map(|n| n.size), Some(5000));
}

/// Wants only `db`, with a content limit of its own.
struct BigReader {
    limit: u64,
    got: Option<usize>,
}

impl Visitor for BigReader {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        entry.path == "db"
    }
    fn content_limit(&self, _entry: &Entry<'_>) -> Option<u64> {
        Some(self.limit)
    }
    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        if entry.path == "db" {
            self.got = content.map(<[u8]>::len);
        }
    }
    fn finish(&mut self, _fs: &FinalFs) {}
}

#[test]
fn a_visitor_content_limit_raises_the_limit_for_it_only() {
    let layer = Layer::new().file("db", &vec![7u8; 5000]).gzip();
    let limits = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let mut image = Image::from_blobs("test", ImageConfig::default(), vec![layer.clone()]);
    let mut big = BigReader {
        limit: 10_000,
        got: None,
    };
    let mut rec = Recorder::default();
    walk(&mut image, &limits, &mut [&mut big, &mut rec], None).unwrap();
    assert_eq!(big.got, Some(5000));
    assert_eq!(
        rec.entries[0].4, None,
        "the scan's limit still holds for others"
    );
    // A visitor limit below the scan's does not lower it.
    let mut image = Image::from_blobs("test", ImageConfig::default(), vec![layer]);
    let mut small = BigReader {
        limit: 10,
        got: None,
    };
    let limits = Limits {
        max_file_bytes: 8000,
        ..Limits::default()
    };
    walk(&mut image, &limits, &mut [&mut small], None).unwrap();
    assert_eq!(small.got, Some(5000));
}

/// Wants `big` streamed: records the pieces' offsets and bytes.
#[derive(Default)]
struct Streamer {
    offsets: Vec<u64>,
    bytes: Vec<u8>,
    content: Option<Option<usize>>,
}

impl Visitor for Streamer {
    fn wants(&mut self, entry: &Entry<'_>) -> bool {
        entry.path == "big"
    }
    fn stream_limit(&self, _entry: &Entry<'_>) -> Option<u64> {
        Some(3 << 20)
    }
    fn piece(&mut self, _entry: &Entry<'_>, offset: u64, bytes: &[u8]) {
        assert_eq!(offset, self.bytes.len() as u64, "pieces in order");
        self.offsets.push(offset);
        self.bytes.extend_from_slice(bytes);
    }
    fn entry(&mut self, entry: &Entry<'_>, content: Option<&[u8]>) {
        if entry.path == "big" {
            self.content = Some(content.map(<[u8]>::len));
        }
    }
    fn finish(&mut self, _fs: &FinalFs) {}
}

#[test]
fn files_over_the_content_limit_are_streamed_to_visitors_that_ask() {
    let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
    let layer = Layer::new().file("big", &data).file("after", b"x").gzip();
    let mut image = Image::from_blobs("test", ImageConfig::default(), vec![layer]);
    let mut s = Streamer::default();
    let mut rec = Recorder::default();
    walk(
        &mut image,
        &Limits::default(),
        &mut [&mut s, &mut rec],
        None,
    )
    .unwrap();
    // Every byte, in pieces of at most 1 MiB, then the entry without content.
    assert!(s.bytes == data, "streamed bytes differ");
    assert!(s.offsets.len() >= 3, "{:?}", s.offsets);
    assert_eq!(s.content, Some(None));
    // The walk goes on with the next entry.
    assert!(rec.entries.iter().any(|e| e.1 == "after"));
    // Over the stream limit: no pieces.
    let big: Vec<u8> = vec![1u8; (3 << 20) + 1];
    let layer = Layer::new().file("big", &big).gzip();
    let mut image = Image::from_blobs("test", ImageConfig::default(), vec![layer]);
    let mut s = Streamer::default();
    walk(&mut image, &Limits::default(), &mut [&mut s], None).unwrap();
    assert!(s.offsets.is_empty());
    assert_eq!(s.content, Some(None));
}

#[test]
fn compression_is_sniffed_and_layer_sizes_counted() {
    let make = || {
        Layer::new()
            .dir("d/")
            .file("d/f", b"data")
            .file("g", b"more data")
    };
    let plain = make().tar();
    let plain_len = plain.len() as u64;
    let gz = make().gzip();
    let zst = make().zstd();
    let stored: Vec<u64> = [&plain, &gz, &zst].iter().map(|b| b.len() as u64).collect();
    let config = ImageConfig {
        history: vec![
            ("ADD rootfs.tar /".into(), false),
            ("ENV A=b".into(), true),
            ("COPY gz /".into(), false),
            ("RUN zstd".into(), false),
        ],
        ..ImageConfig::default()
    };
    let progress_seen = RefCell::new(Vec::new());
    let record = |p: &Progress<'_>| {
        progress_seen
            .borrow_mut()
            .push((p.layer, p.layers, p.compressed_read, p.done));
    };
    let mut image = Image::from_blobs("test", config, vec![plain, gz, zst]);
    let mut rec = Recorder::default();
    let result = walk(
        &mut image,
        &Limits::default(),
        &mut [&mut rec],
        Some(&record),
    )
    .unwrap();
    let compressions: Vec<&str> = result
        .layers
        .iter()
        .map(|l| l.compression.as_str())
        .collect();
    assert_eq!(compressions, vec!["none", "gzip", "zstd"]);
    for (i, info) in result.layers.iter().enumerate() {
        assert_eq!(info.digest, image.layers[i].digest);
        assert_eq!(info.compressed_size, stored[i]);
        assert_eq!(info.uncompressed_size, plain_len);
        assert_eq!(info.entries, 3);
        assert_eq!(info.file_bytes, 13);
    }
    let created: Vec<Option<&str>> = result
        .layers
        .iter()
        .map(|l| l.created_by.as_deref())
        .collect();
    assert_eq!(
        created,
        vec![
            Some("ADD rootfs.tar /"),
            Some("COPY gz /"),
            Some("RUN zstd")
        ]
    );
    let seen = progress_seen.into_inner();
    assert_eq!(
        seen,
        vec![
            (0, 3, 0, false),
            (0, 3, stored[0], true),
            (1, 3, 0, false),
            (1, 3, stored[1], true),
            (2, 3, 0, false),
            (2, 3, stored[2], true),
        ]
    );
}

#[test]
fn truncated_layer_is_an_error_naming_the_layer() {
    let mut layer = Layer::new().file("f", &[b'y'; 4096]).gzip();
    layer.truncate(layer.len() / 2);
    let (result, _, image) = run(vec![layer], &Limits::default());
    let err = result.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("layer {}", image.layers[0].digest)),
        "{err}"
    );
}

#[test]
fn long_paths_keep_their_shared_parents_once_and_unique_ones_stop_at_the_name_limit() {
    let parent = format!("{}/{}", "p".repeat(1500), "q".repeat(1500));
    let mut shared = Layer::new();
    for i in 0..300 {
        shared = shared.long_file(&format!("{parent}/f{i:03}"), b"");
    }
    let limits = Limits {
        max_path_names: 10_000,
        ..Limits::default()
    };
    let (result, _, _) = run(vec![shared.gzip()], &limits);
    let result = result.unwrap();
    assert_eq!(result.fs.len(), 300);
    assert_eq!(result.fs.name_bytes(), 3000 + 300 * 4);
    assert!(result.fs.survives(0, &format!("{parent}/f299")));

    let mut unique = Layer::new();
    for i in 0..5 {
        unique = unique.long_file(&format!("{i}{}", "u".repeat(3000)), b"");
    }
    let (result, _, image) = run(vec![unique.gzip()], &limits);
    let err = result.unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("layer {}: 3", image.layers[0].digest)),
        "{err}"
    );
    assert!(
        err.ends_with("would keep more than 10000 bytes of path names (a hostile layer?)"),
        "{err}"
    );
}

#[test]
fn symlink_targets_over_the_path_limit_are_refused() {
    let layer = Layer::new()
        .symlink("ok", "/usr/bin/env")
        .symlink("far", &"t".repeat(90))
        .gzip();
    let limits = Limits {
        max_path_bytes: 64,
        ..Limits::default()
    };
    let (result, _, _) = run(vec![layer], &limits);
    let result = result.unwrap();
    assert_eq!(result.fs.paths(), ["ok"]);
    assert_eq!(result.warnings.len(), 1, "{:?}", result.warnings);
    assert!(
        result.warnings[0]
            .ends_with("far: refused: symlink target of 90 bytes, longer than the limit of 64"),
        "{:?}",
        result.warnings
    );
}

#[test]
fn control_characters_of_names_are_escaped_in_warnings_and_errors() {
    let layer = Layer::new()
        .hardlink("a\x1b[2Jb", "gone\x07")
        .file("ok", b"")
        .gzip();
    let (result, _, _) = run(vec![layer], &Limits::default());
    let warnings = result.unwrap().warnings;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .contains("a\\x1b[2Jb: refused: hard link to a path not seen before (gone\\x07)"),
        "{warnings:?}"
    );

    let layer = Layer::new()
        .long_file(&format!("x\u{9b}{}", "n".repeat(200)), b"")
        .gzip();
    let limits = Limits {
        max_path_names: 100,
        ..Limits::default()
    };
    let (result, _, _) = run(vec![layer], &limits);
    let err = result.unwrap_err().to_string();
    assert!(err.contains(": x\\u{9b}nnn"), "{err}");
    assert!(!err.chars().any(char::is_control), "{err:?}");
}
