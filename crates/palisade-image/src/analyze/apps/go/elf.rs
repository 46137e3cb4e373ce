//! The build information blob of a whole ELF file: where it is (the
//! `.go.buildinfo` section or the writable segment), and its two strings
//! in the inline or the pointer format.

use object::{Object, ObjectSection, ObjectSegment};

use super::modinfo::{parse_modinfo, unframe, varint_string};
use super::{is_elf, GoBinary, ALIGN, HEADER_LEN, MAGIC, MAX_BUILDINFO_BYTES, MAX_VERSION_BYTES};

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
pub(super) struct Region<'a> {
    address: u64,
    data: &'a [u8],
    from_section: bool,
}

pub(super) fn buildinfo_region<'a>(file: &object::File<'a>) -> Result<Option<Region<'a>>, String> {
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
pub(super) fn find_magic(address: u64, data: &[u8]) -> Option<usize> {
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
pub(super) fn decode_blob<'a>(
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

/// Pointer size and byte order of the old (pre Go 1.18) header.
pub(super) struct Pointers {
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
pub(super) fn read_go_string<'a>(
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
pub(super) fn read_at<'a>(file: &object::File<'a>, address: u64, size: u64) -> Option<&'a [u8]> {
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
