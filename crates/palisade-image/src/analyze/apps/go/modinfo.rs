//! The module information text (`path`, `mod`, `dep`, `=>` and `build`
//! lines), its framing, and the varint-prefixed strings that carry it.

use super::{GoBinary, Module, MAX_MODULES, SENTINEL_LEN};

/// Go's `binary.Uvarint`: the value and the number of bytes read.
pub(super) fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
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
pub(super) fn varint_string<'a>(
    b: &'a [u8],
    max: usize,
    what: &str,
) -> Result<(&'a [u8], &'a [u8]), String> {
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
pub(super) fn unframe(m: &[u8]) -> &[u8] {
    let n = m.len();
    if n > 2 * SENTINEL_LEN && m.get(n - SENTINEL_LEN - 1) == Some(&b'\n') {
        m.get(SENTINEL_LEN..n - SENTINEL_LEN).unwrap_or_default()
    } else {
        &[]
    }
}

/// Which module a `=>` line replaces.
#[derive(Clone, Copy)]
pub(super) enum Last {
    Main,
    Dep(usize),
}

/// `runtime/debug.ParseBuildInfo`, with replacements applied.
pub(super) fn parse_modinfo(go_version: String, text: &str) -> Result<GoBinary, String> {
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

pub(super) fn module_line(cols: &str) -> Result<Module, String> {
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
pub(super) fn build_setting(kv: &str) -> Result<(String, String), String> {
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
pub(super) fn quoted_prefix_len(s: &str) -> Option<usize> {
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
pub(super) fn go_unquote(s: &str) -> Option<String> {
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

pub(super) fn hex_digits(chars: &mut std::str::Chars<'_>, n: usize) -> Option<u32> {
    let mut v: u32 = 0;
    for _ in 0..n {
        v = v.checked_mul(16)? + chars.next()?.to_digit(16)?;
    }
    Some(v)
}
