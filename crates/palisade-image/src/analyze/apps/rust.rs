//! Rust crates: the dependency list `cargo auditable` embeds in binaries,
//! and `Cargo.lock` files.
//!
//! - cargo-auditable
//!   (<https://github.com/rust-secure-code/cargo-auditable>, format in its
//!   `PARSING.md`,
//!   <https://github.com/rust-secure-code/cargo-auditable/blob/master/PARSING.md>,
//!   and JSON schema `cargo-auditable.schema.json`): the ELF section
//!   `.dep-v0` holds zlib-compressed JSON,
//!   `{"packages":[{"name","version","source","kind","dependencies":[index…],"root":bool}]}`.
//!   `source` is `"crates.io"`, `"registry"`, `"git"`, `"local"` or
//!   `{"Other": "…"}`. The data is decompressed with a bound of
//!   [`MAX_AUDITABLE_JSON`] bytes (the limit `PARSING.md` recommends),
//!   counted on the bytes actually produced, so a compression bomb costs at
//!   most that much memory.
//! - `Cargo.lock` (TOML; lockfile versions 1 to 4,
//!   <https://doc.rust-lang.org/cargo/reference/resolver.html>,
//!   <https://doc.rust-lang.org/cargo/guide/cargo-toml-vs-cargo-lock.html>):
//!   `[[package]]` tables with `name`, `version` and, for crates fetched
//!   from somewhere, `source` (`registry+https://…`, `sparse+https://…`,
//!   `git+https://…#rev`). Version 1 files carry their checksums in a
//!   `[metadata]` table and may name the root package in a `[root]` table;
//!   from version 3 on a top-level `version = N` says which format it is.

use std::io::Read as _;

use object::{Object, ObjectSection};
use serde::Deserialize;

/// One crate of a Rust application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    /// Crate name (`serde`).
    pub name: String,
    /// Version as recorded (`1.0.197`).
    pub version: String,
    /// Where it came from: `"crates.io"`, `"registry"`, `"git"`, `"local"`
    /// in cargo-auditable data; `"registry+https://…"`, `"sparse+https://…"`,
    /// `"git+https://…"` in a `Cargo.lock`, where crates of the workspace
    /// and path dependencies have none.
    pub source: Option<String>,
    /// The application's own package: `"root": true` in cargo-auditable
    /// data; in a `Cargo.lock`, the `[root]` package of version 1 files and
    /// every package without a `source` (workspace members and path
    /// dependencies, which are the application's own code).
    pub root: bool,
}

/// Largest decompressed cargo-auditable JSON accepted.
pub const MAX_AUDITABLE_JSON: u64 = 8 << 20;

const SECTION: &str = ".dep-v0";

#[derive(Deserialize)]
struct Auditable {
    packages: Vec<AuditablePackage>,
}

#[derive(Deserialize)]
struct AuditablePackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<serde_json::Value>,
    #[serde(default)]
    root: bool,
}

/// The crates of a binary built with `cargo auditable`.
///
/// `Ok(None)` when `bytes` are not an ELF file or have no `.dep-v0`
/// section. `Err` when the ELF file is unreadable, or the section does not
/// decompress, decompresses to more than [`MAX_AUDITABLE_JSON`] bytes, or
/// is not the expected JSON.
pub fn read_auditable(bytes: &[u8]) -> Result<Option<Vec<Crate>>, String> {
    if !bytes.starts_with(b"\x7fELF") {
        return Ok(None);
    }
    let file = object::File::parse(bytes).map_err(|e| format!("unreadable ELF file: {e}"))?;
    if let Some(e) = super::go::truncation(&file, bytes.len()) {
        return Err(e);
    }
    let Some(section) = file.section_by_name(SECTION) else {
        return Ok(None);
    };
    let compressed = section
        .data()
        .map_err(|e| format!("the {SECTION} section is unreadable: {e}"))?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_AUDITABLE_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("the {SECTION} section is not valid zlib data: {e}"))?;
    if json.len() as u64 > MAX_AUDITABLE_JSON {
        return Err(format!(
            "the {SECTION} section decompresses to more than {MAX_AUDITABLE_JSON} bytes"
        ));
    }
    let data: Auditable = serde_json::from_slice(&json).map_err(|e| {
        format!(
            "the {SECTION} section is not cargo-auditable JSON: {}",
            briefly(&e.to_string())
        )
    })?;
    Ok(Some(
        data.packages
            .into_iter()
            .map(|p| Crate {
                name: p.name,
                version: p.version,
                source: p.source.and_then(|s| match s {
                    serde_json::Value::String(s) => Some(s),
                    serde_json::Value::Object(mut o) => match o.remove("Other") {
                        Some(serde_json::Value::String(s)) => Some(s),
                        _ => None,
                    },
                    _ => None,
                }),
                root: p.root,
            })
            .collect(),
    ))
}

/// A parser's message cut to 160 characters, control characters escaped
/// (type errors quote the offending value).
fn briefly(msg: &str) -> String {
    let cut = match msg.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", msg.get(..i).unwrap_or_default()),
        None => msg.to_string(),
    };
    crate::printable::escape_controls(&cut).into_owned()
}

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    package: Vec<LockPackage>,
    #[serde(default)]
    root: Option<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
}

/// The packages of a `Cargo.lock`, in file order (the version 1 `[root]`
/// package first). `Err` when the text is not TOML, a package lacks its
/// name or version, or the file declares a lockfile version other than 1
/// to 4.
pub fn parse_cargo_lock(text: &str) -> Result<Vec<Crate>, String> {
    let lock: Lockfile = toml::from_str(text).map_err(|e| {
        format!(
            "Cargo.lock is not a valid lockfile: {}",
            briefly(e.message())
        )
    })?;
    if let Some(v) = lock.version {
        if !(1..=4).contains(&v) {
            return Err(format!(
                "Cargo.lock version {v} is not supported (versions 1 to 4 are)"
            ));
        }
    }
    let root = lock.root.into_iter().map(|p| Crate {
        name: p.name,
        version: p.version,
        source: p.source,
        root: true,
    });
    let packages = lock.package.into_iter().map(|p| Crate {
        root: p.source.is_none(),
        name: p.name,
        version: p.version,
        source: p.source,
    });
    Ok(root.chain(packages).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).expect("compress");
        e.finish().expect("compress")
    }

    /// An ELF object with the given sections, written by `object`.
    fn elf_with(sections: &[(&str, &[u8])], big: bool) -> Vec<u8> {
        use object::write::Object as W;
        use object::{Architecture, BinaryFormat, Endianness, SectionKind};
        let (arch, endian) = if big {
            (Architecture::PowerPc64, Endianness::Big)
        } else {
            (Architecture::X86_64, Endianness::Little)
        };
        let mut obj = W::new(BinaryFormat::Elf, arch, endian);
        for (name, data) in sections {
            let id = obj.add_section(
                Vec::new(),
                name.as_bytes().to_vec(),
                SectionKind::ReadOnlyData,
            );
            obj.set_section_data(id, data.to_vec(), 1);
        }
        obj.write().expect("write ELF")
    }

    const JSON: &str = r#"{"packages":[
        {"name":"adler","version":"1.0.2","source":"crates.io","kind":"build"},
        {"name":"myapp","version":"0.3.0","source":"local","dependencies":[0,2],"root":true},
        {"name":"forked","version":"0.1.0","source":"git"},
        {"name":"internal","version":"2.0.0","source":"registry"},
        {"name":"odd","version":"1.0.0","source":{"Other":"svn"}}
    ],"format":1}"#;

    #[test]
    fn auditable_section_is_read() {
        for big in [false, true] {
            let bytes = elf_with(
                &[(".text", &[0xc3]), (SECTION, &zlib(JSON.as_bytes()))],
                big,
            );
            let crates = read_auditable(&bytes).expect("ok").expect("section found");
            let got: Vec<(&str, &str, Option<&str>, bool)> = crates
                .iter()
                .map(|c| {
                    (
                        c.name.as_str(),
                        c.version.as_str(),
                        c.source.as_deref(),
                        c.root,
                    )
                })
                .collect();
            assert_eq!(
                got,
                [
                    ("adler", "1.0.2", Some("crates.io"), false),
                    ("myapp", "0.3.0", Some("local"), true),
                    ("forked", "0.1.0", Some("git"), false),
                    ("internal", "2.0.0", Some("registry"), false),
                    ("odd", "1.0.0", Some("svn"), false),
                ]
            );
        }
    }

    #[test]
    fn no_section_or_not_elf_is_none() {
        assert_eq!(
            read_auditable(&elf_with(&[(".text", &[0xc3])], false)),
            Ok(None)
        );
        assert_eq!(read_auditable(b"MZ\x90\x00"), Ok(None));
        assert_eq!(read_auditable(&[]), Ok(None));
        if let Ok(b) = std::fs::read("/bin/ls") {
            assert_eq!(read_auditable(&b), Ok(None));
        }
    }

    #[test]
    fn compression_bomb_is_refused_within_the_limit() {
        // A zlib stream of 64 MiB of spaces: one MiB deflated and
        // sync-flushed, repeated (its checksum is never reached).
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![b' '; 1 << 20]).expect("compress");
        e.flush().expect("sync flush");
        let mut bomb = vec![0x78, 0xda];
        bomb.extend(e.get_ref().repeat(64));
        bomb.extend([0x03, 0x00, 0, 0, 0, 0]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let err = read_auditable(&elf_with(&[(SECTION, &bomb)], false)).expect_err("bomb");
        assert!(err.contains("more than 8388608 bytes"), "{err}");
        // Exactly at the limit is accepted.
        let mut json = br#"{"packages":[]}"#.to_vec();
        json.resize(MAX_AUDITABLE_JSON as usize, b' ');
        let ok = read_auditable(&elf_with(&[(SECTION, &zlib(&json))], false));
        assert_eq!(ok, Ok(Some(Vec::new())));
    }

    #[test]
    fn corrupt_sections_are_errors() {
        let not_zlib = elf_with(&[(SECTION, b"not zlib at all")], false);
        assert!(read_auditable(&not_zlib)
            .expect_err("zlib")
            .contains("zlib"));
        let not_json = elf_with(&[(SECTION, &zlib(b"\xff\xfe garbage"))], false);
        assert!(read_auditable(&not_json)
            .expect_err("json")
            .contains("JSON"));
        let wrong_shape = elf_with(&[(SECTION, &zlib(br#"{"packages":[{"name":1}]}"#))], false);
        assert!(read_auditable(&wrong_shape).is_err());
        // Truncated compressed data.
        let z = zlib(JSON.as_bytes());
        let cut = elf_with(&[(SECTION, &z[..z.len() / 2])], false);
        assert!(read_auditable(&cut).is_err());
        // A truncated ELF file: every prefix is an error or None, never a panic.
        let whole = elf_with(&[(SECTION, &z)], false);
        for n in 0..whole.len() {
            assert!(
                !matches!(read_auditable(&whole[..n]), Ok(Some(_))),
                "prefix {n}"
            );
        }
    }

    #[test]
    fn cargo_lock_v3_and_v4() {
        let lock = r#"
# This file is automatically @generated by Cargo.
# It is not intended for manual editing.
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "serde",
 "tokio-util",
]

[[package]]
name = "serde"
version = "1.0.197"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "3fb1c873e1b9b056a4dc4c0c198b24c3ffa059243875552b2bd0933b1aee4ce2"

[[package]]
name = "tokio-util"
version = "0.7.10"
source = "git+https://github.com/tokio-rs/tokio?branch=master#0123456789abcdef"

[[package]]
name = "vendored"
version = "3.0.0"
source = "sparse+https://index.example.com/"
"#;
        for v in ["4", "3"] {
            let text = lock.replace("version = 4", &format!("version = {v}"));
            let got = parse_cargo_lock(&text).expect("parses");
            let got: Vec<(&str, &str, Option<&str>, bool)> = got
                .iter()
                .map(|c| {
                    (
                        c.name.as_str(),
                        c.version.as_str(),
                        c.source.as_deref(),
                        c.root,
                    )
                })
                .collect();
            assert_eq!(
                got,
                [
                    ("app", "0.1.0", None, true),
                    (
                        "serde",
                        "1.0.197",
                        Some("registry+https://github.com/rust-lang/crates.io-index"),
                        false
                    ),
                    (
                        "tokio-util",
                        "0.7.10",
                        Some(
                            "git+https://github.com/tokio-rs/tokio?branch=master#0123456789abcdef"
                        ),
                        false
                    ),
                    (
                        "vendored",
                        "3.0.0",
                        Some("sparse+https://index.example.com/"),
                        false
                    ),
                ]
            );
        }
    }

    #[test]
    fn cargo_lock_v1_with_metadata_and_root_and_v2() {
        let v1 = r#"
[root]
name = "legacy"
version = "0.0.1"
dependencies = [
 "libc 0.2.20 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "libc"
version = "0.2.20"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.20 (registry+https://github.com/rust-lang/crates.io-index)" = "684f330624d8c3784fb9558ca46c4ce488073a8d22450415c5eb4f4cfb0d11b5"
"#;
        let got = parse_cargo_lock(v1).expect("v1");
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].name.as_str(), got[0].root), ("legacy", true));
        assert_eq!(
            (got[1].name.as_str(), got[1].version.as_str(), got[1].root),
            ("libc", "0.2.20", false)
        );
        // Version 2: no version marker, checksums inline.
        let v2 = "[[package]]\nname = \"memchr\"\nversion = \"2.4.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"308cc39be01b73d0d18f82a0e7b2a3df85245f84af96fdddc5d202d27e47b86a\"\n";
        assert_eq!(parse_cargo_lock(v2).expect("v2").len(), 1);
        assert_eq!(parse_cargo_lock("").expect("empty"), Vec::new());
    }

    #[test]
    fn long_values_in_errors_are_cut() {
        let long = "x".repeat(10_000);
        let json = format!(r#"{{"packages":[{{"name":"a","version":"1","root":"{long}"}}]}}"#);
        let err = read_auditable(&elf_with(&[(SECTION, &zlib(json.as_bytes()))], false))
            .expect_err("bad type");
        assert!(err.len() < 400, "{err}");
        let lock = format!("root = \"{long}\"\n");
        let err = parse_cargo_lock(&lock).expect_err("bad type");
        assert!(err.len() < 400, "{err}");
        assert!(err.contains("xxx"), "the value is quoted, cut: {err}");
    }

    #[test]
    fn cargo_lock_errors() {
        let err = parse_cargo_lock("version = 9\n").expect_err("future version");
        assert!(err.contains("version 9"), "{err}");
        assert!(parse_cargo_lock("[[package]]\nname = \"x\"\n").is_err());
        assert!(parse_cargo_lock("this is = = not toml").is_err());
        assert!(parse_cargo_lock("package = 3").is_err());
        // Deep nesting is refused by the parser, not a stack overflow.
        let deep = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_cargo_lock(&deep).is_err());
    }
}
