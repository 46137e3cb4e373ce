//! Go modules compiled into ELF executables, from the build information the
//! Go linker embeds in every binary built in module mode (what
//! `go version -m FILE` prints).
//!
//! The format is defined by the Go toolchain itself:
//! `src/debug/buildinfo/buildinfo.go` finds and decodes the blob
//! (<https://github.com/golang/go/blob/master/src/debug/buildinfo/buildinfo.go>)
//! and `src/runtime/debug/mod.go` parses its text
//! (<https://github.com/golang/go/blob/master/src/runtime/debug/mod.go>,
//! documented at <https://pkg.go.dev/runtime/debug#BuildInfo>).
//!
//! The blob sits in the `.go.buildinfo` section or, when the section
//! headers are gone, near the start of the first writable, non-executable
//! `PT_LOAD` segment, at a 16-byte aligned address:
//!
//! ```text
//! 14 bytes  "\xff Go buildinf:"
//!  1 byte   pointer size (4 or 8)
//!  1 byte   flags: bit 0 big-endian, bit 1 inline strings (Go 1.18 and later)
//! 16 bytes  two pointers (old format) or zero (inline format)
//! ```
//!
//! In the inline format two strings follow the 32-byte header, each a
//! unsigned varint length and that many bytes: the Go version
//! (`runtime.buildVersion`) and the module information
//! (`runtime.modinfo`). In the older format the two pointers are the
//! virtual addresses of Go string headers (`{data pointer, length}`,
//! pointer-sized, in the header's byte order), resolved here through the
//! file's segments. The module information is framed by two 16-byte
//! sentinels and is tab-separated text, one record a line:
//!
//! ```text
//! path    example.com/cmd/tool
//! mod     example.com/cmd  v1.2.3  h1:...
//! dep     golang.org/x/text  v0.7.0  h1:...
//! =>      golang.org/x/text  v0.8.0  h1:...   (replaces the line above)
//! build   -trimpath=true                      (key=value, Go-quoted when needed)
//! ```
//!
//! Stripped (`-ldflags=-s -w`) and `-trimpath` binaries keep all of this:
//! neither flag touches the build information. The `object` crate reads the
//! ELF structure (32 and 64 bit, both byte orders); everything else is
//! decoded here with explicit bounds.

use object::{Object, ObjectSection, ObjectSegment};

/// One Go module: `mod` and `dep` lines of the build information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Module path (`golang.org/x/text`).
    pub path: String,
    /// Module version (`v0.7.0`, `v0.0.0-20230101000000-abcdef123456`,
    /// `(devel)` for a main module built from a working tree; empty for a
    /// replacement by a local directory).
    pub version: String,
    /// Checksum of the module's content as in `go.sum` (`h1:...`), when
    /// recorded.
    pub sum: Option<String>,
}

/// What a Go binary says about how it was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoBinary {
    /// Toolchain version (`go1.19.8`).
    pub go_version: String,
    /// Package path of the main package (`path` line), when recorded.
    pub path: Option<String>,
    /// The main module (`mod` line), when built in module mode.
    pub main: Option<Module>,
    /// The dependency modules (`dep` lines), in the binary's order. A
    /// replacement (`=>` line) is applied: the replacing module's path,
    /// version and sum stand in place of the required one's, since that is
    /// the code compiled in.
    pub deps: Vec<Module>,
    /// Build settings (`build` lines) as `(key, value)`, unquoted
    /// (`("-trimpath", "true")`, `("GOOS", "linux")`, `("vcs.revision", …)`).
    pub settings: Vec<(String, String)>,
}

/// Longest module information text accepted (a binary with thousands of
/// dependencies has a few hundred KiB).
pub const MAX_BUILDINFO_BYTES: usize = 16 << 20;

/// Most `dep` lines accepted, and most `build` lines.
pub const MAX_MODULES: usize = 100_000;

/// Longest Go version string accepted (`go1.22.1 X:boringcrypto` and
/// `devel go1.23-abcdef Tue Jan 1 …` are well under it).
const MAX_VERSION_BYTES: usize = 1024;

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const ALIGN: u64 = 16;
const SENTINEL_LEN: usize = 16;

/// Whether `bytes` start with the ELF magic (`\x7fELF`).
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// The build information of a Go ELF executable.
///
/// `Ok(None)` when `bytes` are not an ELF file or are an ELF file without
/// Go build information (C programs, shared libraries, Go binaries from
/// before Go 1.13, which carry none). `Err` when the ELF structure itself
/// is unreadable (a truncated file) or when the build information is
/// present but malformed, truncated or over [`MAX_BUILDINFO_BYTES`] /
/// [`MAX_MODULES`].
pub fn read_go_binary(bytes: &[u8]) -> Result<Option<GoBinary>, String> {
    if !is_elf(bytes) {
        return Ok(None);
    }
    let file = object::File::parse(bytes).map_err(|e| format!("unreadable ELF file: {e}"))?;
    if let Some(e) = truncation(&file, bytes.len()) {
        return Err(e);
    }
    let Some(region) = buildinfo_region(&file)? else {
        return Ok(None);
    };
    let Some(start) = find_magic(region.address, region.data) else {
        if region.from_section {
            return Err("the .go.buildinfo section holds no build information header".into());
        }
        return Ok(None);
    };
    let blob = region.data.get(start..).unwrap_or_default();
    let (version, modinfo) = decode_blob(&file, blob)?;
    let go_version = String::from_utf8_lossy(version).into_owned();
    if go_version.trim().is_empty() {
        return Err("the Go build information has an empty Go version".into());
    }
    let text = String::from_utf8_lossy(unframe(modinfo));
    parse_modinfo(go_version, &text).map(Some)
}

/// Why an ELF file that parsed is incomplete: a loadable segment or a
/// section whose file range ends past the `len` bytes there are (a
/// truncated file, whose remaining parts cannot be trusted either).
pub(crate) fn truncation(file: &object::File<'_>, len: usize) -> Option<String> {
    let len = len as u64;
    let past = |(offset, size): (u64, u64)| offset.checked_add(size).is_none_or(|end| end > len);
    if file.segments().any(|s| past(s.file_range())) {
        return Some(format!(
            "truncated ELF file: a segment extends past its {len} bytes"
        ));
    }
    if file.sections().any(|s| s.file_range().is_some_and(past)) {
        return Some(format!(
            "truncated ELF file: a section extends past its {len} bytes"
        ));
    }
    None
}

/// Where the build information header is searched: the `.go.buildinfo`
/// section, else the first writable, non-executable loadable segment
/// (what `debug/buildinfo`'s `DataStart` picks).
struct Region<'a> {
    address: u64,
    data: &'a [u8],
    from_section: bool,
}

fn buildinfo_region<'a>(file: &object::File<'a>) -> Result<Option<Region<'a>>, String> {
    if let Some(section) = file.section_by_name(".go.buildinfo") {
        let data = section
            .data()
            .map_err(|e| format!("the .go.buildinfo section is unreadable: {e}"))?;
        return Ok(Some(Region {
            address: section.address(),
            data,
            from_section: true,
        }));
    }
    for segment in file.segments() {
        let perms = segment.permissions();
        if perms.writable() && !perms.executable() {
            let data = segment
                .data()
                .map_err(|e| format!("the first writable segment is unreadable: {e}"))?;
            return Ok(Some(Region {
                address: segment.address(),
                data,
                from_section: false,
            }));
        }
    }
    Ok(None)
}

/// Offset in `data` (mapped at `address`) of the first magic at a 16-byte
/// aligned virtual address.
fn find_magic(address: u64, data: &[u8]) -> Option<usize> {
    let first = usize::try_from((ALIGN - address % ALIGN) % ALIGN).ok()?;
    let mut at = first;
    while let Some(window) = data.get(at..at.saturating_add(MAGIC.len())) {
        if window == MAGIC {
            return Some(at);
        }
        at = at.saturating_add(ALIGN as usize);
    }
    None
}

/// The Go version and module information bytes of the blob that starts
/// with the magic.
fn decode_blob<'a>(
    file: &object::File<'a>,
    blob: &'a [u8],
) -> Result<(&'a [u8], &'a [u8]), String> {
    let header = blob
        .get(..HEADER_LEN)
        .ok_or("the Go build information header is truncated")?;
    let (ptr_size, flags) = match header.get(14..16) {
        Some(&[p, f]) => (p, f),
        _ => return Err("the Go build information header is truncated".into()),
    };
    if flags & 2 != 0 {
        let rest = blob.get(HEADER_LEN..).unwrap_or_default();
        let (version, rest) = varint_string(rest, MAX_VERSION_BYTES, "Go version")?;
        let (modinfo, _) = varint_string(rest, MAX_BUILDINFO_BYTES, "module information")?;
        return Ok((version, modinfo));
    }
    let ptr = Pointers {
        size: match ptr_size {
            4 => 4,
            8 => 8,
            n => {
                return Err(format!(
                    "the Go build information header has pointer size {n}"
                ))
            }
        },
        big_endian: flags & 1 != 0,
    };
    let version_at = ptr.read(header.get(16..)).ok_or("truncated header")?;
    let modinfo_at = ptr
        .read(header.get(16 + ptr.size..))
        .ok_or("truncated header")?;
    let version = read_go_string(file, &ptr, version_at, MAX_VERSION_BYTES, "Go version")?;
    let modinfo = if modinfo_at == 0 {
        &[][..]
    } else {
        read_go_string(
            file,
            &ptr,
            modinfo_at,
            MAX_BUILDINFO_BYTES,
            "module information",
        )?
    };
    Ok((version, modinfo))
}

/// The build information of a Go executable read as a stream of pieces,
/// for executables too large to hold whole. The blob is found by its magic
/// at a 16-byte aligned file offset (a segment's file offset and address
/// agree modulo its alignment, so the aligned address is an aligned
/// offset), a header that is not a valid one is passed over, and only the
/// blob is kept: the inline format (Go 1.18 and later) holds its strings,
/// so nothing else of the file is needed. The older format points into the
/// file, which a stream cannot go back to: it is reported as not read.
#[derive(Debug, Default)]
pub struct GoStream {
    /// Bytes from a 16-byte aligned offset on, not yet searched.
    window: Vec<u8>,
    /// The blob from its magic on, once found.
    blob: Option<Vec<u8>>,
    /// The blob's length, once its two lengths are read.
    needed: Option<usize>,
    /// The first four bytes, to tell an ELF file.
    head: Vec<u8>,
    error: Option<String>,
}

impl GoStream {
    /// The next piece of the file.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.error.is_some() || self.complete() {
            return;
        }
        if self.head.len() < 4 {
            let n = bytes.len().min(4 - self.head.len());
            self.head.extend_from_slice(&bytes[..n]);
        }
        if self.head.len() == 4 && !is_elf(&self.head) {
            return;
        }
        if self.blob.is_some() {
            self.extend_blob(bytes);
            return;
        }
        self.window.extend_from_slice(bytes);
        let mut at = 0;
        while let Some(header) = self.window.get(at..at + HEADER_LEN) {
            if header.starts_with(MAGIC) && valid_header(header) {
                if header[15] & 2 == 0 {
                    self.error = Some(
                        "the build information is in the format of Go before 1.18, which is not read in executables over the content limit"
                            .into(),
                    );
                    self.window = Vec::new();
                    return;
                }
                let tail = self.window.split_off(at);
                self.window = Vec::new();
                self.blob = Some(Vec::new());
                self.extend_blob(&tail);
                return;
            }
            at += ALIGN as usize;
        }
        self.window.drain(..at);
    }

    fn complete(&self) -> bool {
        matches!((&self.blob, self.needed), (Some(b), Some(n)) if b.len() >= n)
    }

    /// Adds to the blob what it still lacks of `bytes`.
    fn extend_blob(&mut self, mut bytes: &[u8]) {
        let Some(mut blob) = self.blob.take() else {
            return;
        };
        loop {
            let want = self
                .needed
                .unwrap_or(HEADER_LEN + 2 * 10 + MAX_VERSION_BYTES);
            let n = bytes.len().min(want.saturating_sub(blob.len()));
            blob.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.needed.is_some() {
                break;
            }
            match inline_len(&blob) {
                Ok(Some(len)) => {
                    blob.truncate(len);
                    self.needed = Some(len);
                }
                Ok(None) if blob.len() < want => break,
                Ok(None) => {
                    self.error = Some("the Go build information is malformed".into());
                    break;
                }
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        self.blob = Some(blob);
    }

    /// The build information, once the whole file was pushed.
    pub fn finish(self) -> Result<Option<GoBinary>, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let Some(blob) = self.blob else {
            return Ok(None);
        };
        let rest = blob.get(HEADER_LEN..).unwrap_or_default();
        let (version, rest) = varint_string(rest, MAX_VERSION_BYTES, "Go version")?;
        let (modinfo, _) = varint_string(rest, MAX_BUILDINFO_BYTES, "module information")?;
        let go_version = String::from_utf8_lossy(version).into_owned();
        if go_version.trim().is_empty() {
            return Err("the Go build information has an empty Go version".into());
        }
        let text = String::from_utf8_lossy(unframe(modinfo));
        parse_modinfo(go_version, &text).map(Some)
    }
}

/// Whether a 32-byte header after the magic is one the Go linker writes:
/// pointer size 4 or 8, only the two known flags, and (inline format) zero
/// where the old format has its pointers.
fn valid_header(h: &[u8]) -> bool {
    matches!(h.get(14), Some(4 | 8))
        && h.get(15).is_some_and(|f| f & !3 == 0)
        && (h[15] & 2 == 0 || h[16..HEADER_LEN].iter().all(|&b| b == 0))
}

/// The length of an inline blob (header, then two varint-prefixed
/// strings), once enough of it is there to tell; an error when a length
/// is over its limit.
fn inline_len(blob: &[u8]) -> Result<Option<usize>, String> {
    let rest = blob.get(HEADER_LEN..).unwrap_or_default();
    let Some((vlen, n1)) = uvarint(rest) else {
        return Ok(None);
    };
    if vlen > MAX_VERSION_BYTES as u64 {
        return Err(format!(
            "the Go version claims {vlen} bytes, more than the limit of {MAX_VERSION_BYTES}"
        ));
    }
    let Some(after) = rest.get(n1 + vlen as usize..) else {
        return Ok(None);
    };
    let Some((mlen, n2)) = uvarint(after) else {
        return Ok(None);
    };
    if mlen > MAX_BUILDINFO_BYTES as u64 {
        return Err(format!(
            "the module information claims {mlen} bytes, more than the limit of {MAX_BUILDINFO_BYTES}"
        ));
    }
    Ok(Some(HEADER_LEN + n1 + vlen as usize + n2 + mlen as usize))
}

/// Pointer size and byte order of the old (pre Go 1.18) header.
struct Pointers {
    size: usize,
    big_endian: bool,
}

impl Pointers {
    /// The pointer at the start of `b`.
    fn read(&self, b: Option<&[u8]>) -> Option<u64> {
        let b = b?.get(..self.size)?;
        let mut v: u64 = 0;
        if self.big_endian {
            for &x in b {
                v = (v << 8) | u64::from(x);
            }
        } else {
            for &x in b.iter().rev() {
                v = (v << 8) | u64::from(x);
            }
        }
        Some(v)
    }
}

/// The bytes of the Go string whose header (`{data, len}`) is at virtual
/// address `at`.
fn read_go_string<'a>(
    file: &object::File<'a>,
    ptr: &Pointers,
    at: u64,
    max: usize,
    what: &str,
) -> Result<&'a [u8], String> {
    let header = read_at(file, at, 2 * ptr.size as u64)
        .ok_or_else(|| format!("the {what} string header is at an address outside the file"))?;
    let data_at = ptr.read(Some(header)).unwrap_or_default();
    let len = ptr.read(header.get(ptr.size..)).unwrap_or_default();
    if len > max as u64 {
        return Err(format!(
            "the {what} claims {len} bytes, more than the limit of {max}"
        ));
    }
    if len == 0 {
        return Ok(&[]);
    }
    read_at(file, data_at, len)
        .ok_or_else(|| format!("the {what} ({len} bytes) is at an address outside the file"))
}

/// `size` bytes of file data at virtual address `address`, from the one
/// segment (or else section) that holds all of them.
fn read_at<'a>(file: &object::File<'a>, address: u64, size: u64) -> Option<&'a [u8]> {
    for segment in file.segments() {
        if let Ok(Some(d)) = segment.data_range(address, size) {
            return Some(d);
        }
    }
    for section in file.sections() {
        if let Ok(Some(d)) = section.data_range(address, size) {
            return Some(d);
        }
    }
    None
}

/// Go's `binary.Uvarint`: the value and the number of bytes read.
fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        let shift = 7 * i as u32;
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None;
            }
            return Some((value | (u64::from(byte) << shift), i + 1));
        }
        value |= u64::from(byte & 0x7f) << shift;
    }
    None
}

/// A varint-length-prefixed string at the start of `b`, and what follows.
fn varint_string<'a>(b: &'a [u8], max: usize, what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (len, n) = uvarint(b).ok_or_else(|| format!("the {what} length is not a valid varint"))?;
    if len > max as u64 {
        return Err(format!(
            "the {what} claims {len} bytes, more than the limit of {max}"
        ));
    }
    let rest = b.get(n..).unwrap_or_default();
    let len = len as usize;
    match (rest.get(..len), rest.get(len..)) {
        (Some(s), Some(after)) => Ok((s, after)),
        _ => Err(format!(
            "the {what} claims {len} bytes but only {} follow",
            rest.len()
        )),
    }
}

/// The module information without its sentinels, as `debug/buildinfo`
/// strips them (empty when the framing is absent).
fn unframe(m: &[u8]) -> &[u8] {
    let n = m.len();
    if n > 2 * SENTINEL_LEN && m.get(n - SENTINEL_LEN - 1) == Some(&b'\n') {
        m.get(SENTINEL_LEN..n - SENTINEL_LEN).unwrap_or_default()
    } else {
        &[]
    }
}

/// Which module a `=>` line replaces.
#[derive(Clone, Copy)]
enum Last {
    Main,
    Dep(usize),
}

/// `runtime/debug.ParseBuildInfo`, with replacements applied.
fn parse_modinfo(go_version: String, text: &str) -> Result<GoBinary, String> {
    let mut bin = GoBinary {
        go_version,
        path: None,
        main: None,
        deps: Vec::new(),
        settings: Vec::new(),
    };
    let mut last: Option<Last> = None;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        // Like Go, a final line without its newline is not read.
        let Some(line) = line.strip_suffix('\n') else {
            break;
        };
        let n = i + 1;
        let err = |m: String| format!("Go build information, line {n}: {m}");
        if let Some(p) = line.strip_prefix("path\t") {
            bin.path = Some(p.to_string());
        } else if let Some(m) = line.strip_prefix("mod\t") {
            bin.main = Some(module_line(m).map_err(err)?);
            last = Some(Last::Main);
        } else if let Some(d) = line.strip_prefix("dep\t") {
            if bin.deps.len() >= MAX_MODULES {
                return Err(err(format!("more than {MAX_MODULES} dependency modules")));
            }
            bin.deps.push(module_line(d).map_err(err)?);
            last = Some(Last::Dep(bin.deps.len() - 1));
        } else if let Some(r) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = r.split('\t').collect();
            let &[path, version, sum] = cols.as_slice() else {
                return Err(err(format!(
                    "expected 3 columns for a replacement, got {}",
                    cols.len()
                )));
            };
            let target = match last.take() {
                Some(Last::Main) => bin.main.as_mut(),
                Some(Last::Dep(i)) => bin.deps.get_mut(i),
                None => None,
            }
            .ok_or_else(|| err("replacement with no module on the previous line".into()))?;
            *target = Module {
                path: path.to_string(),
                version: version.to_string(),
                sum: (!sum.is_empty()).then(|| sum.to_string()),
            };
        } else if let Some(kv) = line.strip_prefix("build\t") {
            if bin.settings.len() >= MAX_MODULES {
                return Err(err(format!("more than {MAX_MODULES} build settings")));
            }
            bin.settings.push(build_setting(kv).map_err(err)?);
        }
    }
    Ok(bin)
}

fn module_line(cols: &str) -> Result<Module, String> {
    let cols: Vec<&str> = cols.split('\t').collect();
    match *cols.as_slice() {
        [path, version] => Ok(Module {
            path: path.to_string(),
            version: version.to_string(),
            sum: None,
        }),
        [path, version, sum] => Ok(Module {
            path: path.to_string(),
            version: version.to_string(),
            sum: (!sum.is_empty()).then(|| sum.to_string()),
        }),
        _ => Err(format!("expected 2 or 3 columns, got {}", cols.len())),
    }
}

/// One `build` line's `key=value`, either side possibly Go-quoted.
fn build_setting(kv: &str) -> Result<(String, String), String> {
    let (key, raw_value) = match kv.as_bytes().first() {
        None => return Err("build line missing '='".into()),
        Some(b'=') => return Err("build line with missing key".into()),
        Some(b'"' | b'`') => {
            let len = quoted_prefix_len(kv).ok_or("invalid quoted key in build line")?;
            let (raw_key, rest) = kv
                .get(..len)
                .zip(kv.get(len..))
                .ok_or("invalid quoted key in build line")?;
            let rest = rest
                .strip_prefix('=')
                .ok_or("build line missing '=' after quoted key")?;
            let key = go_unquote(raw_key).ok_or("invalid quoted key in build line")?;
            (key, rest)
        }
        Some(_) => {
            let (k, v) = kv
                .split_once('=')
                .ok_or("build line missing '=' after key")?;
            (k.to_string(), v)
        }
    };
    let value = if raw_value.starts_with(['"', '`']) {
        go_unquote(raw_value).ok_or("invalid quoted value in build line")?
    } else {
        raw_value.to_string()
    };
    Ok((key, value))
}

/// Length of the Go-quoted string at the start of `s` (`strconv.QuotedPrefix`).
fn quoted_prefix_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    match b.first()? {
        b'`' => b.iter().skip(1).position(|&c| c == b'`').map(|i| i + 2),
        b'"' => {
            let mut i = 1;
            while let Some(&c) = b.get(i) {
                match c {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    b'\n' => return None,
                    _ => i += 1,
                }
            }
            None
        }
        _ => None,
    }
}

/// Go's `strconv.Unquote` for `"…"` and `` `…` `` strings; `None` when
/// malformed. Bytes written as `\x` or octal escapes that do not form UTF-8
/// are replaced with U+FFFD.
fn go_unquote(s: &str) -> Option<String> {
    if let Some(raw) = s.strip_prefix('`') {
        let inner = raw.strip_suffix('`')?;
        if inner.contains('`') {
            return None;
        }
        return Some(inner.replace('\r', ""));
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => {
                let e = chars.next()?;
                let simple = match e {
                    'a' => Some(0x07),
                    'b' => Some(0x08),
                    'f' => Some(0x0c),
                    'n' => Some(b'\n'),
                    'r' => Some(b'\r'),
                    't' => Some(b'\t'),
                    'v' => Some(0x0b),
                    '\\' => Some(b'\\'),
                    '"' => Some(b'"'),
                    _ => None,
                };
                if let Some(byte) = simple {
                    out.push(byte);
                    continue;
                }
                match e {
                    'x' => out.push(u8::try_from(hex_digits(&mut chars, 2)?).ok()?),
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let ch = char::from_u32(hex_digits(&mut chars, n)?)?;
                        let mut buf = [0u8; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    }
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            v = v * 8 + chars.next()?.to_digit(8)?;
                        }
                        out.push(u8::try_from(v).ok()?);
                    }
                    _ => return None,
                }
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn hex_digits(chars: &mut std::str::Chars<'_>, n: usize) -> Option<u32> {
    let mut v: u32 = 0;
    for _ in 0..n {
        v = v.checked_mul(16)? + chars.next()?.to_digit(16)?;
    }
    Some(v)
}

/// The Go program the tests build (shared with the end-to-end tests).
#[cfg(test)]
#[path = "../../../tests/go_fixture/mod.rs"]
pub(crate) mod go_fixture;

#[cfg(test)]
mod tests {
    use super::*;
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

    // --- synthetic ELF files --------------------------------------------

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
        0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18,
        0xe6,
    ];
    const INFO_END: [u8; 16] = [
        0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8,
        0xf2,
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
}
