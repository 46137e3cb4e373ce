//! Tests of the Go build information reader: Debian's and built binaries
//! against `go version -m`, synthetic ELF files of every class and format,
//! streams, and malformed input; `synthetic` builds ELF files of every
//! class, byte order and format by hand.

use super::elf::*;
use super::*;
use object::{Object, ObjectSection, ObjectSegment};
use std::path::Path;
use std::process::Command;

/// `go version -m FILE`, parsed: (go version, path, main, deps with
/// replacements applied, build lines as printed).
struct GoTool {
    go_version: String,
    path: Option<String>,
    main: Option<Module>,
    deps: Vec<Module>,
    build_lines: Vec<String>,
}

fn go_version_m(file: &Path) -> GoTool {
    let out = Command::new("go")
        .arg("version")
        .arg("-m")
        .arg(file)
        .output()
        .expect("go version -m runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = text.lines();
    let first = lines.next().expect("a first line");
    let (_, go_version) = first.rsplit_once(": ").expect("FILE: goVERSION");
    let mut t = GoTool {
        go_version: go_version.to_string(),
        path: None,
        main: None,
        deps: Vec::new(),
        build_lines: Vec::new(),
    };
    let module = |cols: &[&str]| Module {
        path: cols[0].to_string(),
        version: cols[1].to_string(),
        sum: cols.get(2).filter(|s| !s.is_empty()).map(|s| s.to_string()),
    };
    for line in lines {
        let Some(line) = line.strip_prefix('\t') else {
            continue;
        };
        let cols: Vec<&str> = line.split('\t').collect();
        match cols[0] {
            "path" => t.path = Some(cols[1].to_string()),
            "mod" => t.main = Some(module(&cols[1..])),
            "dep" => t.deps.push(module(&cols[1..])),
            "=>" => *t.deps.last_mut().expect("a dep before =>") = module(&cols[1..]),
            "build" => t.build_lines.push(line.to_string()),
            _ => {}
        }
    }
    t
}

/// A setting as `BuildInfo.String` prints it (`strconv.Quote` when needed).
fn build_line(key: &str, value: &str) -> String {
    fn quote(s: &str) -> String {
        let mut q = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                '\t' => q.push_str("\\t"),
                '\r' => q.push_str("\\r"),
                c if c.is_control() => q.push_str(&format!("\\x{:02x}", c as u32)),
                c => q.push(c),
            }
        }
        q.push('"');
        q
    }
    let needs = |s: &str, extra: &str| {
        s.chars()
            .any(|c| " \t\r\n\"`".contains(c) || extra.contains(c))
    };
    let k = if key.is_empty() || needs(key, "=") {
        quote(key)
    } else {
        key.to_string()
    };
    let v = if needs(value, "") {
        quote(value)
    } else {
        value.to_string()
    };
    format!("build\t{k}={v}")
}

fn assert_matches_go_tool(file: &Path) -> GoBinary {
    let bytes = std::fs::read(file).expect("read binary");
    assert!(is_elf(&bytes));
    let got = read_go_binary(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .unwrap_or_else(|| panic!("{}: no build info found", file.display()));
    let want = go_version_m(file);
    assert_eq!(got.go_version, want.go_version, "{}", file.display());
    assert_eq!(got.path, want.path, "{}", file.display());
    assert_eq!(got.main, want.main, "{}", file.display());
    assert_eq!(got.deps, want.deps, "{}", file.display());
    let lines: Vec<String> = got.settings.iter().map(|(k, v)| build_line(k, v)).collect();
    assert_eq!(lines, want.build_lines, "{}", file.display());
    got
}

#[test]
fn debian_go_binaries_match_go_version_m() {
    let mut seen = 0;
    for f in [
        "/usr/bin/skopeo",
        "/usr/bin/docker-registry",
        "/usr/bin/umoci",
    ] {
        let p = Path::new(f);
        if !p.is_file() {
            eprintln!("{f} not installed: skipped");
            continue;
        }
        let got = assert_matches_go_tool(p);
        assert!(got.go_version.starts_with("go1."), "{}", got.go_version);
        assert!(got.path.is_some(), "{f}");
        assert!(!got.settings.is_empty(), "{f}");
        seen += 1;
    }
    eprintln!("{seen} Debian Go binaries checked");
}

/// The build information of `bytes` pushed in pieces of `piece` bytes.
fn streamed(bytes: &[u8], piece: usize) -> Result<Option<GoBinary>, String> {
    let mut s = GoStream::default();
    for chunk in bytes.chunks(piece) {
        s.push(chunk);
    }
    s.finish()
}

#[test]
fn streamed_debian_go_binaries_read_as_whole_ones() {
    // Pieces of every size class: a prime (the magic and the blob's
    // lengths split across pieces) and the walker's 1 MiB.
    let mut seen = 0;
    for f in ["/usr/bin/skopeo", "/usr/bin/umoci"] {
        let Ok(bytes) = std::fs::read(f) else {
            eprintln!("{f} not installed: skipped");
            continue;
        };
        let whole = read_go_binary(&bytes).expect("whole").expect("Go");
        for piece in [7, 4093, 1 << 20] {
            assert_eq!(
                streamed(&bytes, piece).expect("streamed").as_ref(),
                Some(&whole),
                "{f} in pieces of {piece}"
            );
        }
        seen += 1;
    }
    eprintln!("{seen} Debian Go binaries streamed");
}

#[test]
fn module_build_with_replacements_plain_and_stripped() {
    let dir = tempfile::tempdir().expect("tempdir");
    for stripped in [false, true] {
        let bin = go_fixture::build(dir.path(), stripped);
        let got = assert_matches_go_tool(&bin);
        assert_eq!(got.path.as_deref(), Some("example.com/fixture"));
        let main = got.main.as_ref().expect("main module");
        assert_eq!(
            (main.path.as_str(), main.version.as_str()),
            ("example.com/fixture", "(devel)")
        );
        assert_eq!(main.sum, None);
        let deps: Vec<(&str, &str)> = got
            .deps
            .iter()
            .map(|m| (m.path.as_str(), m.version.as_str()))
            .collect();
        assert_eq!(
            deps,
            [
                ("example.com/textfork", "v1.2.3"),
                ("golang.org/x/text", "v0.7.0")
            ]
        );
        assert!(got
            .deps
            .iter()
            .all(|m| m.sum.as_deref().is_some_and(|s| s.starts_with("h1:"))));
        let trimpath = got.settings.iter().any(|(k, _)| k == "-trimpath");
        assert_eq!(trimpath, stripped, "{:?}", got.settings);
        if stripped {
            // No symbol table, and the section headers are still there.
            let bytes = std::fs::read(&bin).expect("read");
            let file = object::File::parse(&*bytes).expect("parse");
            assert!(file.section_by_name(".symtab").is_none());
        }
    }
}

#[test]
fn sections_stripped_binary_is_read_from_the_writable_segment() {
    // Without section headers the blob is found in the first RW segment.
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = go_fixture::build(dir.path(), true);
    let mut bytes = std::fs::read(&bin).expect("read");
    let want = read_go_binary(&bytes).expect("ok").expect("go");
    // Zero e_shoff and e_shnum (64-bit little-endian header).
    bytes[0x28..0x30].fill(0);
    bytes[0x3c..0x3e].fill(0);
    bytes[0x3e..0x40].fill(0);
    let file = object::File::parse(&*bytes).expect("parse");
    assert!(file.section_by_name(".go.buildinfo").is_none());
    assert_eq!(read_go_binary(&bytes), Ok(Some(want)));
}

#[test]
fn truncated_and_corrupted_real_binary_never_panics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = go_fixture::build(dir.path(), true);
    let bytes = std::fs::read(&path).expect("read");
    let file = object::File::parse(&*bytes).expect("parse");
    let (bi_off, bi_len) = file
        .section_by_name(".go.buildinfo")
        .and_then(|s| s.file_range())
        .expect("buildinfo section");
    // Where the last segment or section ends (page padding may follow).
    let end = file
        .segments()
        .map(|s| s.file_range())
        .chain(file.sections().filter_map(|s| s.file_range()))
        .map(|(o, s)| o + s)
        .max()
        .expect("segments") as usize;
    drop(file);
    let (bi_off, bi_len) = (bi_off as usize, bi_len as usize);
    // Every prefix length around a few cut points.
    let mut cuts: Vec<usize> = (0..=200).collect();
    for centre in [bi_off, bi_off + bi_len, end / 2, end - 100] {
        cuts.extend(centre.saturating_sub(100)..centre + 100);
    }
    for cut in cuts {
        if let Ok(Some(b)) = read_go_binary(&bytes[..cut]) {
            panic!("a {cut}-byte prefix read as a complete binary: {b:?}");
        }
    }
    let err = read_go_binary(&bytes[..end - 1]).expect_err("one byte short");
    assert!(err.contains("truncated"), "{err}");
    assert!(read_go_binary(&bytes).expect("whole").is_some());
    // Every byte of the build information overwritten, one at a time.
    let mut copy = bytes.clone();
    for i in bi_off..bi_off + bi_len {
        for v in [0x00, 0xff, 0x7f] {
            let old = copy[i];
            copy[i] = v;
            let _ = read_go_binary(&copy);
            copy[i] = old;
        }
    }
    // The real header made to claim a 1 GiB version string.
    let mut copy = bytes.clone();
    copy[bi_off + HEADER_LEN..bi_off + HEADER_LEN + 5]
        .copy_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x04]);
    let err = read_go_binary(&copy).expect_err("1 GiB");
    assert!(err.contains("limit"), "{err}");
}

mod synthetic;
