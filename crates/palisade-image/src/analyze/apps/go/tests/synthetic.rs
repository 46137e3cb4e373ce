//! Hand-built ELF files: both build info formats, 32 and 64 bit, both byte
//! orders, decoys, claimed lengths over the limits, malformed module
//! information, and streams of them.

use super::super::elf::*;
use super::super::modinfo::*;
use super::super::*;
use super::streamed;

/// A minimal ELF executable with the given `PT_LOAD` segments
/// (`p_flags`, virtual address, file contents) and no section headers.
fn elf(is64: bool, big: bool, segments: &[(u32, u64, &[u8])]) -> Vec<u8> {
    let put = |out: &mut Vec<u8>, v: u64, n: usize| {
        let b = v.to_le_bytes();
        if big {
            out.extend(b[..n].iter().rev());
        } else {
            out.extend(&b[..n]);
        }
    };
    let w = if is64 { 8 } else { 4 };
    let (ehsize, phentsize) = if is64 { (64, 56) } else { (52, 32) };
    let mut data_off = ehsize + phentsize * segments.len();
    let mut out = vec![
        0x7f,
        b'E',
        b'L',
        b'F',
        if is64 { 2 } else { 1 },
        if big { 2 } else { 1 },
        1,
    ];
    out.resize(16, 0);
    put(&mut out, 2, 2); // ET_EXEC
    put(&mut out, if is64 { 62 } else { 3 }, 2);
    put(&mut out, 1, 4);
    put(&mut out, 0, w); // entry
    put(&mut out, ehsize as u64, w); // phoff
    put(&mut out, 0, w); // shoff
    put(&mut out, 0, 4); // flags
    put(&mut out, ehsize as u64, 2);
    put(&mut out, phentsize as u64, 2);
    put(&mut out, segments.len() as u64, 2);
    put(&mut out, if is64 { 64 } else { 40 }, 2);
    put(&mut out, 0, 2);
    put(&mut out, 0, 2);
    let mut offsets = Vec::new();
    for (flags, vaddr, data) in segments {
        data_off = data_off.next_multiple_of(16) + (*vaddr as usize % 16);
        offsets.push(data_off);
        put(&mut out, 1, 4); // PT_LOAD
        if is64 {
            put(&mut out, u64::from(*flags), 4);
        }
        put(&mut out, data_off as u64, w);
        put(&mut out, *vaddr, w);
        put(&mut out, *vaddr, w);
        put(&mut out, data.len() as u64, w);
        put(&mut out, data.len() as u64, w);
        if !is64 {
            put(&mut out, u64::from(*flags), 4);
        }
        put(&mut out, 16, w);
        data_off += data.len();
    }
    for ((_, _, data), off) in segments.iter().zip(offsets) {
        out.resize(off, 0);
        out.extend_from_slice(data);
    }
    out
}

/// `cmd/go/internal/modload.infoStart` and `infoEnd`.
const INFO_START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const INFO_END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

const PF_RW: u32 = 6;
const PF_R: u32 = 4;
const PF_RX: u32 = 5;

fn framed(text: &str) -> Vec<u8> {
    let mut m = INFO_START.to_vec();
    m.extend_from_slice(text.as_bytes());
    m.extend_from_slice(&INFO_END);
    m
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn inline_blob(version: &str, modinfo: &[u8]) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.extend([8, 2]);
    b.resize(HEADER_LEN, 0);
    varint(version.len() as u64, &mut b);
    b.extend_from_slice(version.as_bytes());
    varint(modinfo.len() as u64, &mut b);
    b.extend_from_slice(modinfo);
    b
}

const TEXT: &str = "path\texample.com/cmd/x\nmod\texample.com/x\tv1.0.0\th1:main=\ndep\tgithub.com/a/b\tv1.2.3\th1:ab=\ndep\tgithub.com/c/d\tv0.1.0\n=>\t../local/d\t\t\nbuild\t-ldflags=\"-X main.v=1 -s\"\nbuild\tCGO_ENABLED=0\nbuild\t\"we ird\"=`raw \\ value`\n";

fn check_text(got: &GoBinary) {
    assert_eq!(got.go_version, "go1.16.15");
    assert_eq!(got.path.as_deref(), Some("example.com/cmd/x"));
    assert_eq!(
        got.main,
        Some(Module {
            path: "example.com/x".into(),
            version: "v1.0.0".into(),
            sum: Some("h1:main=".into())
        })
    );
    assert_eq!(
        got.deps,
        [
            Module {
                path: "github.com/a/b".into(),
                version: "v1.2.3".into(),
                sum: Some("h1:ab=".into())
            },
            Module {
                path: "../local/d".into(),
                version: String::new(),
                sum: None
            },
        ]
    );
    assert_eq!(
        got.settings,
        [
            ("-ldflags".to_string(), "-X main.v=1 -s".to_string()),
            ("CGO_ENABLED".into(), "0".into()),
            ("we ird".into(), "raw \\ value".into()),
        ]
    );
}

/// Old-format blob at `base` (16-aligned) pointing at two string headers
/// and their data in a read-only segment at `ro_base`.
fn pointer_elf(
    is64: bool,
    big: bool,
    version: &str,
    modinfo: &[u8],
    claim: Option<u64>,
) -> Vec<u8> {
    let ps = if is64 { 8 } else { 4 };
    let put = |out: &mut Vec<u8>, v: u64| {
        let b = v.to_le_bytes();
        if big {
            out.extend(b[..ps].iter().rev());
        } else {
            out.extend(&b[..ps]);
        }
    };
    let rw_base: u64 = 0x0010_1008; // not 16-aligned: the blob starts 8 bytes in
    let ro_base: u64 = 0x0020_0000;
    // Read-only segment: two string headers, then the strings.
    let hdrs = 2 * 2 * ps as u64;
    let vers_data = ro_base + hdrs;
    let mod_data = vers_data + version.len() as u64;
    let mut ro = Vec::new();
    put(&mut ro, vers_data);
    put(&mut ro, version.len() as u64);
    put(&mut ro, mod_data);
    put(&mut ro, claim.unwrap_or(modinfo.len() as u64));
    ro.extend_from_slice(version.as_bytes());
    ro.extend_from_slice(modinfo);
    let mut rw = vec![0u8; 8];
    rw.extend_from_slice(MAGIC);
    rw.extend([ps as u8, u8::from(big)]);
    put(&mut rw, ro_base);
    put(&mut rw, ro_base + 2 * ps as u64);
    rw.resize(8 + HEADER_LEN + 64, 0);
    elf(
        is64,
        big,
        &[
            (PF_RX, 0x1000, &[0xc3; 16]),
            (PF_RW, rw_base, &rw),
            (PF_R, ro_base, &ro),
        ],
    )
}

#[test]
fn old_pointer_format_all_classes_and_byte_orders() {
    for is64 in [false, true] {
        for big in [false, true] {
            let bytes = pointer_elf(is64, big, "go1.16.15", &framed(TEXT), None);
            let got = read_go_binary(&bytes)
                .unwrap_or_else(|e| panic!("64={is64} big={big}: {e}"))
                .expect("found");
            check_text(&got);
        }
    }
}

#[test]
fn inline_format_found_in_segment_by_virtual_address_alignment() {
    for (is64, big) in [(true, false), (false, true)] {
        // Segment at ...8: a decoy magic at offset 0 (vaddr ≡ 8 mod 16)
        // is skipped, the real one at offset 8 is read.
        let mut rw = MAGIC.to_vec();
        rw.resize(8, 0);
        rw.extend(inline_blob("go1.16.15", &framed(TEXT)));
        let bytes = elf(is64, big, &[(PF_RW, 0x4008, &rw)]);
        let got = read_go_binary(&bytes).expect("ok").expect("found");
        check_text(&got);
    }
}

#[test]
fn elf_without_build_info_and_non_elf_are_none() {
    assert_eq!(read_go_binary(b"#!/bin/sh\necho hi\n"), Ok(None));
    assert_eq!(read_go_binary(&[]), Ok(None));
    assert!(!is_elf(b"\x7fEL"));
    let bytes = elf(
        true,
        false,
        &[(PF_RX, 0x1000, &[0x90; 64]), (PF_RW, 0x2000, &[0; 64])],
    );
    assert_eq!(read_go_binary(&bytes), Ok(None));
    for f in ["/bin/ls", "/usr/bin/env"] {
        if let Ok(b) = std::fs::read(f) {
            assert_eq!(read_go_binary(&b), Ok(None), "{f}");
        }
    }
}

#[test]
fn module_info_without_framing_or_module_mode() {
    // Built outside module mode: an empty module string.
    let bytes = elf(true, false, &[(PF_RW, 0x2000, &inline_blob("go1.20", b""))]);
    let got = read_go_binary(&bytes).expect("ok").expect("found");
    assert_eq!(got.go_version, "go1.20");
    assert_eq!((got.path, got.main, got.deps.len()), (None, None, 0));
    // Text that lacks the sentinels is ignored, as Go does.
    let bytes = elf(
        true,
        false,
        &[(PF_RW, 0x2000, &inline_blob("go1.20", TEXT.as_bytes()))],
    );
    let got = read_go_binary(&bytes).expect("ok").expect("found");
    assert!(got.deps.is_empty() && got.path.is_none());
}

#[test]
fn malformed_module_lines_are_errors() {
    for (text, what) in [
        ("dep\tonly-path\n", "2 or 3 columns"),
        ("dep\ta\tb\tc\td\n", "2 or 3 columns"),
        ("=>\ta\tb\tc\n", "no module"),
        ("dep\ta\tv1\n=>\ta\tv2\n", "3 columns"),
        ("build\t=x\n", "missing key"),
        ("build\tnoequals\n", "missing '='"),
        ("build\tk=\"unterminated\n", "invalid quoted value"),
        ("build\t\"k\"x\n", "after quoted key"),
    ] {
        let bytes = elf(
            true,
            false,
            &[(PF_RW, 0x2000, &inline_blob("go1.21.0", &framed(text)))],
        );
        let err = read_go_binary(&bytes).expect_err(text);
        assert!(err.contains(what), "{text:?}: {err}");
        assert!(err.contains("line 1") || err.contains("line 2"), "{err}");
    }
}

#[test]
fn go_unquote_escapes() {
    assert_eq!(go_unquote(r#""a\tb\\c\"d""#).as_deref(), Some("a\tb\\c\"d"));
    assert_eq!(
        go_unquote(r#""\x41\101\u00e9\U0001F600""#).as_deref(),
        Some("AAé😀")
    );
    assert_eq!(go_unquote("`a\\nb`").as_deref(), Some("a\\nb"));
    assert_eq!(go_unquote(r#""\xff""#).as_deref(), Some("\u{fffd}"));
    for bad in [
        "\"",
        "`",
        "\"a",
        r#""\q""#,
        r#""\x4""#,
        r#""\400""#,
        r#""\ud800""#,
        "x",
        "",
        r#""a"b""#,
    ] {
        assert_eq!(go_unquote(bad), None, "{bad:?}");
    }
    assert_eq!(quoted_prefix_len(r#""a\"b"=c"#), Some(6));
    assert_eq!(quoted_prefix_len("`ab`=c"), Some(4));
    assert_eq!(quoted_prefix_len("\"abc"), None);
    assert_eq!(quoted_prefix_len("\"\\"), None);
}

#[test]
fn limits_on_claimed_lengths_and_module_count() {
    // Inline: a version claiming 1 GiB.
    let mut blob = MAGIC.to_vec();
    blob.extend([8, 2]);
    blob.resize(HEADER_LEN, 0);
    varint(1 << 30, &mut blob);
    blob.extend(b"go1.20");
    let bytes = elf(true, false, &[(PF_RW, 0x2000, &blob)]);
    let err = read_go_binary(&bytes).expect_err("1 GiB version");
    assert!(err.contains("limit"), "{err}");
    // Inline: module information claiming 1 GiB.
    let mut blob = inline_blob("go1.20", b"");
    blob.pop();
    varint(1 << 30, &mut blob);
    let bytes = elf(true, false, &[(PF_RW, 0x2000, &blob)]);
    let err = read_go_binary(&bytes).expect_err("1 GiB modinfo");
    assert!(err.contains("1073741824") && err.contains("limit"), "{err}");
    // Inline: a length longer than the data.
    let mut blob = inline_blob("go1.20", b"");
    blob.pop();
    varint(5000, &mut blob);
    blob.extend([b'x'; 10]);
    let bytes = elf(true, false, &[(PF_RW, 0x2000, &blob)]);
    assert!(read_go_binary(&bytes)
        .expect_err("short")
        .contains("only 10 follow"));
    // Pointer format: a string header claiming 1 GiB.
    for is64 in [false, true] {
        let bytes = pointer_elf(is64, false, "go1.16", &framed(TEXT), Some(1 << 30));
        let err = read_go_binary(&bytes).expect_err("1 GiB pointer string");
        assert!(err.contains("limit"), "{err}");
        // And one pointing past the file's data.
        let bytes = pointer_elf(is64, true, "go1.16", &framed(TEXT), Some(1 << 20));
        let err = read_go_binary(&bytes).expect_err("outside");
        assert!(err.contains("outside"), "{err}");
    }
    // More dep lines than MAX_MODULES.
    let text = "dep\ta\tv1\n".repeat(MAX_MODULES + 1);
    let bytes = elf(
        true,
        false,
        &[(PF_RW, 0x2000, &inline_blob("go1.20", &framed(&text)))],
    );
    let err = read_go_binary(&bytes).expect_err("too many");
    assert!(err.contains("more than 100000"), "{err}");
    let ok = "dep\ta\tv1\n".repeat(MAX_MODULES);
    let bytes = elf(
        true,
        false,
        &[(PF_RW, 0x2000, &inline_blob("go1.20", &framed(&ok)))],
    );
    assert_eq!(
        read_go_binary(&bytes).expect("ok").expect("go").deps.len(),
        MAX_MODULES
    );
}

#[test]
fn garbage_after_magic_never_panics() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..2000 {
        let len = (next() % 96) as usize;
        let mut blob = MAGIC.to_vec();
        blob.extend((0..len).map(|_| next() as u8));
        if round % 2 == 0 && blob.len() > 15 {
            blob[15] |= 2; // inline format with random varints
        }
        if round % 3 == 0 && blob.len() > 14 {
            blob[14] = if round % 2 == 0 { 8 } else { 4 };
        }
        let is64 = round % 5 != 0;
        let big = round % 7 == 0;
        let bytes = elf(
            is64,
            big,
            &[(PF_R, 0x30_0000, &[0xab; 64]), (PF_RW, 0x2000, &blob)],
        );
        let _ = read_go_binary(&bytes);
    }
}

#[test]
fn streams_skip_decoys_and_report_what_they_cannot_read() {
    // A magic at an unaligned offset and an aligned one with a bad
    // header are passed over; the real blob after them is read.
    let mut bytes = b"\x7fELF".to_vec();
    bytes.resize(20, 0);
    bytes.extend_from_slice(MAGIC);
    bytes.resize(64, 0);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[9, 2]);
    bytes.resize(128, 0);
    bytes.extend(inline_blob("go1.16.15", &framed(TEXT)));
    bytes.extend(vec![0u8; 1000]);
    let got = streamed(&bytes, 13).expect("ok").expect("found");
    check_text(&got);
    // Not ELF, or ELF without a blob: nothing.
    assert_eq!(streamed(&b"#!/bin/sh\n".repeat(100), 5), Ok(None));
    assert_eq!(streamed(&bytes[..100], 5), Ok(None));
    // Cut inside the module information: an error, no panic.
    let cut = &bytes[..128 + 60];
    let e = streamed(cut, 16).unwrap_err();
    assert!(e.contains("only"), "{e}");
    // The old format points into the file: reported, not guessed at.
    let mut old = b"\x7fELF".to_vec();
    old.resize(32, 0);
    old.extend_from_slice(MAGIC);
    old.extend_from_slice(&[8, 0]);
    old.extend_from_slice(&[1u8; 16]);
    let e = streamed(&old, 1 << 20).unwrap_err();
    assert!(e.contains("before 1.18"), "{e}");
    // A length over the limit is refused as soon as it is read.
    let mut huge = b"\x7fELF".to_vec();
    huge.resize(16, 0);
    huge.extend_from_slice(MAGIC);
    huge.extend_from_slice(&[8, 2]);
    huge.resize(48, 0);
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let e = streamed(&huge, 3).unwrap_err();
    assert!(e.contains("more than the limit"), "{e}");
}
