//! Java packages in Java archives (`.jar`, `.war`, `.ear`, `.par`: zip
//! files, <https://docs.oracle.com/en/java/javase/17/docs/specs/jar/jar.html>).
//!
//! What identifies a package, in order:
//!
//! 1. Every `META-INF/maven/<groupId>/<artifactId>/pom.properties`
//!    (written by Maven's archiver,
//!    <https://maven.apache.org/shared/maven-archiver/>): Java properties
//!    `groupId`, `artifactId`, `version`. A shaded ("uber") jar has one per
//!    library folded into it, and each is a package.
//! 2. When there is none, the main section of `META-INF/MANIFEST.MF`
//!    (`Name: value` lines of at most 72 bytes, longer values continued on
//!    lines that start with one space), read with this heuristic:
//!    - version: `Implementation-Version`, else `Bundle-Version` (OSGi);
//!      no version, no package;
//!    - artifact: the archive's file name without its extension and
//!      without a `-<version>` suffix (the manifest's version when the name
//!      ends with it, else from the first `-` followed by a digit):
//!      `commons-lang3-3.12.0.jar` → `commons-lang3`;
//!    - group: `Implementation-Vendor-Id` (Maven's archiver writes the
//!      groupId there), else the `Bundle-SymbolicName` without its
//!      attributes and without its last dotted component, or without the
//!      artifact when it ends with `.<artifact>`
//!      (`org.apache.commons.lang3` → `org.apache.commons`,
//!      `com.fasterxml.jackson.core.jackson-databind` →
//!      `com.fasterxml.jackson.core`); empty when neither is there.
//!
//! Archives nested in `WEB-INF/lib/`, `BOOT-INF/lib/` (Spring Boot) and
//! `lib/` (EAR libraries) are read one level deep, their packages marked
//! with the entry name in [`JavaPackage::inner`]. Every read is bounded by
//! the bytes actually decompressed ([`JarLimits`]), never by the sizes the
//! zip headers claim, so a compression bomb costs at most the limit.

use std::io::{Cursor, Read};

use crate::printable::escape_controls;

/// Bounds on what reading one archive may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JarLimits {
    /// Largest `pom.properties` or `MANIFEST.MF` read (decompressed).
    pub max_entry_bytes: u64,
    /// Largest nested archive read (decompressed).
    pub max_nested_bytes: u64,
    /// Most decompressed bytes read from the archive and its nested
    /// archives in all.
    pub max_total_bytes: u64,
    /// Most entries an archive (outer or nested) may have to be read.
    pub max_entries: usize,
}

impl Default for JarLimits {
    /// 1 MiB per entry, 64 MiB per nested archive, 256 MiB in all,
    /// 100 000 entries.
    fn default() -> Self {
        JarLimits {
            max_entry_bytes: 1 << 20,
            max_nested_bytes: 64 << 20,
            max_total_bytes: 256 << 20,
            max_entries: 100_000,
        }
    }
}

/// A Java package found in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JavaPackage {
    /// Maven groupId (`org.apache.commons`); empty when a manifest gave
    /// none.
    pub group: String,
    /// Maven artifactId (`commons-lang3`).
    pub artifact: String,
    /// Version (`3.12.0`).
    pub version: String,
    /// The nested archive's entry name (`BOOT-INF/lib/x.jar`) when the
    /// package was found in one; `None` for the archive itself.
    pub inner: Option<String>,
}

/// Whether `path` names a Java archive: `.jar`, `.war`, `.ear` or `.par`,
/// in any case.
pub fn is_archive_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    let Some((stem, ext)) = file.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty()
        && ["jar", "war", "ear", "par"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e))
}

/// The packages of the archive `bytes`, whose path or file name is `name`
/// (used for the manifest heuristic and in warnings), and warnings about
/// what could not be read: not a zip, too many entries, an entry over its
/// limit or corrupt, the total budget spent. Each warning names `name` and
/// the entry. Never panics; memory is bounded by `limits`.
pub fn read_archive(
    bytes: &[u8],
    name: &str,
    limits: &JarLimits,
) -> (Vec<JavaPackage>, Vec<String>) {
    let mut ctx = Ctx {
        budget: limits.max_total_bytes,
        packages: Vec::new(),
        warnings: Vec::new(),
        limits,
        name: escape_controls(&short(name)).into_owned(),
    };
    let file_name = name.rsplit('/').next().unwrap_or(name);
    ctx.read(bytes, file_name, None);
    let mut seen = std::collections::HashSet::new();
    ctx.packages.retain(|p| seen.insert(p.clone()));
    (ctx.packages, ctx.warnings)
}

struct Ctx<'l> {
    budget: u64,
    packages: Vec<JavaPackage>,
    warnings: Vec<String>,
    limits: &'l JarLimits,
    /// The outer archive's name, escaped for messages.
    name: String,
}

/// At most 200 characters of `s`, for messages.
fn short(s: &str) -> String {
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s.to_string(),
    }
}

fn printable(s: &str) -> String {
    escape_controls(&short(s)).into_owned()
}

/// What an entry is to the reader.
enum Wanted {
    Pom,
    Manifest,
    Nested,
}

fn wanted(entry: &str, nested_allowed: bool) -> Option<Wanted> {
    if is_pom_properties(entry) {
        return Some(Wanted::Pom);
    }
    if entry.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
        return Some(Wanted::Manifest);
    }
    if nested_allowed && is_nested_archive(entry) {
        return Some(Wanted::Nested);
    }
    None
}

fn is_pom_properties(entry: &str) -> bool {
    let parts: Vec<&str> = entry.split('/').collect();
    matches!(parts.as_slice(), ["META-INF", "maven", g, a, "pom.properties"] if !g.is_empty() && !a.is_empty())
}

fn is_nested_archive(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    (lower.ends_with(".jar") || lower.ends_with(".war"))
        && ["web-inf/lib/", "boot-inf/lib/", "lib/"]
            .iter()
            .any(|p| lower.len() > p.len() + 4 && lower.starts_with(p))
}

impl Ctx<'_> {
    fn warn(&mut self, inner: Option<&str>, entry: Option<&str>, msg: &str) {
        let mut w = self.name.clone();
        for part in [inner, entry].into_iter().flatten() {
            w.push_str(": ");
            w.push_str(&printable(part));
        }
        w.push_str(": ");
        w.push_str(msg);
        self.warnings.push(w);
    }

    /// Reads one archive: the outer one (`inner` None) or a nested one.
    fn read(&mut self, bytes: &[u8], file_name: &str, inner: Option<&str>) {
        let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => {
                self.warn(inner, None, &format!("not a readable zip archive ({e})"));
                return;
            }
        };
        if zip.len() > self.limits.max_entries {
            let msg = format!(
                "{} entries, more than the limit of {}; not read",
                zip.len(),
                self.limits.max_entries
            );
            self.warn(inner, None, &msg);
            return;
        }
        let mut poms = Vec::new();
        let mut manifest = None;
        let mut nested = Vec::new();
        for i in 0..zip.len() {
            let Some(Ok(entry)) = zip.name_for_index(i) else {
                continue;
            };
            match wanted(&entry, inner.is_none()) {
                Some(Wanted::Pom) => poms.push((i, entry.into_owned())),
                Some(Wanted::Manifest) => manifest = manifest.or(Some((i, entry.into_owned()))),
                Some(Wanted::Nested) => nested.push((i, entry.into_owned())),
                None => {}
            }
        }
        let mut found = false;
        for (i, entry) in &poms {
            let Some(data) =
                self.read_entry(&mut zip, *i, self.limits.max_entry_bytes, inner, entry)
            else {
                continue;
            };
            match from_pom_properties(&data, entry) {
                Some((group, artifact, version)) => {
                    found = true;
                    self.packages.push(JavaPackage {
                        group,
                        artifact,
                        version,
                        inner: inner.map(str::to_string),
                    });
                }
                None => self.warn(inner, Some(entry), "no version in pom.properties"),
            }
        }
        if !found {
            if let Some((i, entry)) = manifest {
                if let Some(data) =
                    self.read_entry(&mut zip, i, self.limits.max_entry_bytes, inner, &entry)
                {
                    if let Some((group, artifact, version)) = from_manifest(&data, file_name) {
                        self.packages.push(JavaPackage {
                            group,
                            artifact,
                            version,
                            inner: inner.map(str::to_string),
                        });
                    }
                }
            }
        }
        for (i, entry) in nested {
            if self.budget == 0 {
                self.warn(
                    inner,
                    Some(&entry),
                    "the read budget for this archive is spent; not read",
                );
                continue;
            }
            let Some(data) =
                self.read_entry(&mut zip, i, self.limits.max_nested_bytes, inner, &entry)
            else {
                continue;
            };
            let nested_name = entry.rsplit('/').next().unwrap_or(&entry).to_string();
            self.read(&data, &nested_name, Some(&entry));
        }
    }

    /// The decompressed bytes of entry `i`, at most `limit` of them (and
    /// no more than the remaining budget); `None`, with a warning, when the
    /// entry is larger or unreadable.
    fn read_entry<R: Read + std::io::Seek>(
        &mut self,
        zip: &mut zip::ZipArchive<R>,
        i: usize,
        limit: u64,
        inner: Option<&str>,
        entry: &str,
    ) -> Option<Vec<u8>> {
        let cap = limit.min(self.budget);
        let result = zip.by_index(i).map_err(|e| e.to_string()).and_then(|f| {
            let mut buf = Vec::new();
            f.take(cap.saturating_add(1))
                .read_to_end(&mut buf)
                .map(|_| buf)
                .map_err(|e| e.to_string())
        });
        match result {
            Ok(buf) => {
                let n = buf.len() as u64;
                self.budget = self.budget.saturating_sub(n.min(cap));
                if n > cap {
                    let msg = if cap < limit {
                        format!(
                            "the archive's read budget of {} bytes is spent; not read",
                            self.limits.max_total_bytes
                        )
                    } else {
                        format!("larger than the limit of {limit} bytes; not read")
                    };
                    self.warn(inner, Some(entry), &msg);
                    return None;
                }
                Some(buf)
            }
            Err(e) => {
                self.warn(inner, Some(entry), &format!("unreadable ({})", short(&e)));
                None
            }
        }
    }
}

/// Java `.properties` key/value pairs (ISO 8859-1 in principle; read as
/// lossy UTF-8), with comments, `=`/`:`/whitespace separators, line
/// continuations and the common escapes.
fn properties(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut logical = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let line = line.trim_start();
        if logical.is_empty() && (line.is_empty() || line.starts_with(['#', '!'])) {
            continue;
        }
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 && lines.peek().is_some() {
            logical.push_str(line.get(..line.len() - 1).unwrap_or_default());
            continue;
        }
        logical.push_str(line);
        out.push(split_property(&std::mem::take(&mut logical)));
    }
    out
}

fn split_property(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(e) = chars.next() {
                    key.push(unescape(e));
                }
            }
            '=' | ':' => break,
            c if c.is_whitespace() => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('=' | ':')) {
                    chars.next();
                }
                break;
            }
            c => key.push(c),
        }
    }
    while chars.peek().is_some_and(|c| c.is_whitespace()) {
        chars.next();
    }
    let mut value = String::new();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        value.push(ch);
                    }
                }
                Some(e) => value.push(unescape(e)),
                None => {}
            }
        } else {
            value.push(c);
        }
    }
    (key, value.trim_end().to_string())
}

fn unescape(e: char) -> char {
    match e {
        't' => '\t',
        'n' => '\n',
        'r' => '\r',
        'f' => '\u{c}',
        c => c,
    }
}

/// (group, artifact, version) of a `pom.properties`, the group and
/// artifact falling back to the entry's directory names.
fn from_pom_properties(bytes: &[u8], entry: &str) -> Option<(String, String, String)> {
    let props = properties(bytes);
    let get = |k: &str| {
        props
            .iter()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut parts = entry.split('/').skip(2);
    let (dir_group, dir_artifact) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let version = get("version")?;
    Some((
        get("groupId").unwrap_or_else(|| dir_group.to_string()),
        get("artifactId").unwrap_or_else(|| dir_artifact.to_string()),
        version,
    ))
}

/// The main section of a manifest: `(name, value)` with continuation lines
/// joined.
fn manifest_main(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some((_, v)) = out.last_mut() {
                v.push_str(cont);
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim_start().to_string()));
        }
    }
    out
}

/// (group, artifact, version) from a manifest, by the heuristic in the
/// module documentation.
fn from_manifest(bytes: &[u8], file_name: &str) -> Option<(String, String, String)> {
    let fields = manifest_main(bytes);
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, v)| key.eq_ignore_ascii_case(k) && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
    };
    let version = get("Implementation-Version").or_else(|| get("Bundle-Version"))?;
    let stem = file_name
        .rsplit_once('.')
        .filter(|(_, ext)| is_archive_path(&format!("x.{ext}")))
        .map_or(file_name, |(stem, _)| stem);
    let artifact = match stem.strip_suffix(&format!("-{version}")) {
        Some(a) if !a.is_empty() => a,
        _ => strip_version_suffix(stem),
    };
    let group = get("Implementation-Vendor-Id")
        .filter(|g| !g.contains(char::is_whitespace))
        .or_else(|| {
            let bsn = get("Bundle-SymbolicName")?;
            let bsn = bsn.split(';').next().unwrap_or_default().trim();
            let prefix = match bsn.strip_suffix(artifact).and_then(|p| p.strip_suffix('.')) {
                Some(p) => p,
                None => bsn.rsplit_once('.')?.0,
            };
            (!prefix.is_empty()).then(|| prefix.to_string())
        })
        .unwrap_or_default();
    Some((group, artifact.to_string(), version))
}

/// `stem` up to its first `-` that is followed by a digit.
fn strip_version_suffix(stem: &str) -> &str {
    for (i, w) in stem.as_bytes().windows(2).enumerate() {
        if let [b'-', d] = w {
            if d.is_ascii_digit() && i > 0 {
                return stem.get(..i).unwrap_or(stem);
            }
        }
    }
    stem
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use zip::write::SimpleFileOptions;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            z.start_file(*name, opts).expect("start");
            z.write_all(data).expect("write");
        }
        z.finish().expect("finish").into_inner()
    }

    fn gav(p: &JavaPackage) -> (&str, &str, &str, Option<&str>) {
        (
            p.group.as_str(),
            p.artifact.as_str(),
            p.version.as_str(),
            p.inner.as_deref(),
        )
    }

    const LANG3: &str = "/usr/share/java/commons-lang3.jar";

    /// Upstream version of libcommons-lang3-java (`3.12.0` of `3.12.0-2`).
    fn lang3_version() -> Option<String> {
        let out = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "libcommons-lang3-java"])
            .output()
            .ok()?;
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let v = v.split_once(':').map_or(v.as_str(), |(_, v)| v);
        let upstream = v.rsplit_once('-').map_or(v, |(u, _)| u);
        (!upstream.is_empty()).then(|| upstream.to_string())
    }

    #[test]
    fn archive_paths() {
        for p in ["a.jar", "x/b.WAR", "c.Ear", "d.par", "app/lib/e-1.0.jar"] {
            assert!(is_archive_path(p), "{p}");
        }
        for p in [".jar", "a.jarx", "a.zip", "jar", "x/.war", ""] {
            assert!(!is_archive_path(p), "{p}");
        }
    }

    #[test]
    fn real_commons_lang3_jar() {
        let (Ok(bytes), Some(version)) = (std::fs::read(LANG3), lang3_version()) else {
            eprintln!("{LANG3} or dpkg-query not here: skipped");
            return;
        };
        let (pkgs, warnings) = read_archive(&bytes, LANG3, &JarLimits::default());
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<_> = pkgs.iter().map(gav).collect();
        assert_eq!(
            got,
            [(
                "org.apache.commons",
                "commons-lang3",
                version.as_str(),
                None
            )]
        );
    }

    #[test]
    fn real_manifest_heuristic_without_pom_properties() {
        let Ok(bytes) = std::fs::read(LANG3) else {
            eprintln!("{LANG3} not here: skipped");
            return;
        };
        let mut z = zip::ZipArchive::new(Cursor::new(&bytes)).expect("zip");
        let mut manifest = Vec::new();
        z.by_name("META-INF/MANIFEST.MF")
            .expect("manifest")
            .read_to_end(&mut manifest)
            .expect("read");
        let version = from_manifest(&manifest, "x.jar").expect("a version").2;
        let jar = zip_of(&[
            ("META-INF/MANIFEST.MF", &manifest),
            ("org/A.class", b"\xca\xfe"),
        ]);
        let name = format!("opt/app/commons-lang3-{version}.jar");
        let (pkgs, warnings) = read_archive(&jar, &name, &JarLimits::default());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            pkgs.iter().map(gav).collect::<Vec<_>>(),
            [(
                "org.apache.commons",
                "commons-lang3",
                version.as_str(),
                None
            )]
        );
    }

    #[test]
    fn war_with_the_real_jar_nested_and_shaded_poms() {
        let Ok(lang3) = std::fs::read(LANG3) else {
            eprintln!("{LANG3} not here: skipped");
            return;
        };
        let version = lang3_version().unwrap_or_else(|| "3.12.0".into());
        let shaded = zip_of(&[
            ("META-INF/maven/com.example/uber/pom.properties", b"#Generated by Maven\n#Tue Jan 01\nversion=2.0\ngroupId=com.example\nartifactId=uber\n"),
            ("META-INF/maven/com.google.guava/guava/pom.properties", b"version=31.1-jre\r\ngroupId=com.google.guava\r\nartifactId=guava\r\n"),
            // Group and artifact from the directory names.
            ("META-INF/maven/org.slf4j/slf4j-api/pom.properties", b"version = 1.7.36\n"),
        ]);
        let war = zip_of(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\r\nImplementation-Version: 9.9\r\n\r\n",
            ),
            (
                "META-INF/maven/com.example/shop/pom.properties",
                b"groupId=com.example\nartifactId=shop\nversion=1.4.2\n",
            ),
            ("WEB-INF/lib/commons-lang3.jar", &lang3),
            ("WEB-INF/lib/uber-2.0.jar", &shaded),
            ("WEB-INF/classes/x.jar", &shaded), // not a library folder
            ("index.html", b"<html/>"),
        ]);
        let (pkgs, warnings) = read_archive(&war, "srv/shop.war", &JarLimits::default());
        assert!(warnings.is_empty(), "{warnings:?}");
        let got: Vec<_> = pkgs.iter().map(gav).collect();
        assert_eq!(
            got,
            [
                ("com.example", "shop", "1.4.2", None),
                (
                    "org.apache.commons",
                    "commons-lang3",
                    version.as_str(),
                    Some("WEB-INF/lib/commons-lang3.jar")
                ),
                (
                    "com.example",
                    "uber",
                    "2.0",
                    Some("WEB-INF/lib/uber-2.0.jar")
                ),
                (
                    "com.google.guava",
                    "guava",
                    "31.1-jre",
                    Some("WEB-INF/lib/uber-2.0.jar")
                ),
                (
                    "org.slf4j",
                    "slf4j-api",
                    "1.7.36",
                    Some("WEB-INF/lib/uber-2.0.jar")
                ),
            ]
        );
        // Nested archives are read one level deep only.
        let outer = zip_of(&[("BOOT-INF/lib/shop.war", &war)]);
        let (pkgs, warnings) = read_archive(&outer, "app.jar", &JarLimits::default());
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            pkgs.iter().map(gav).collect::<Vec<_>>(),
            [(
                "com.example",
                "shop",
                "1.4.2",
                Some("BOOT-INF/lib/shop.war")
            )]
        );
    }

    /// Raw deflate data of `mib` MiB of zeros: one MiB compressed and
    /// sync-flushed (byte-aligned, self-contained), repeated, then a final
    /// empty block. Cheap to make even without optimisations.
    fn zeros_deflated(mib: usize) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&vec![0u8; 1 << 20]).expect("deflate");
        e.flush().expect("sync flush");
        let one = e.get_ref().clone();
        let mut out = one.repeat(mib);
        out.extend([0x03, 0x00]);
        out
    }

    /// A zip with one deflated entry `name` of `mib` MiB of zeros (its CRC
    /// is never reached: reads stop at the limits).
    fn bomb(name: &str, mib: usize) -> Vec<u8> {
        let deflated = zeros_deflated(mib);
        let crc = 0u32;
        let size = (mib as u64) << 20;
        let mut out = Vec::new();
        let name_b = name.as_bytes();
        let local = |out: &mut Vec<u8>| {
            out.extend(0x0403_4b50u32.to_le_bytes());
            out.extend(20u16.to_le_bytes()); // version needed
            out.extend(0u16.to_le_bytes()); // flags
            out.extend(8u16.to_le_bytes()); // deflate
            out.extend(0u32.to_le_bytes()); // time, date
            out.extend(crc.to_le_bytes());
            out.extend((deflated.len() as u32).to_le_bytes());
            out.extend((size as u32).to_le_bytes());
            out.extend((name_b.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(name_b);
        };
        local(&mut out);
        out.extend(&deflated);
        let cd_start = out.len() as u32;
        out.extend(0x0201_4b50u32.to_le_bytes());
        out.extend(20u16.to_le_bytes()); // made by
        out.extend(20u16.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(8u16.to_le_bytes());
        out.extend(0u32.to_le_bytes());
        out.extend(crc.to_le_bytes());
        out.extend((deflated.len() as u32).to_le_bytes());
        out.extend((size as u32).to_le_bytes());
        out.extend((name_b.len() as u16).to_le_bytes());
        out.extend([0u8; 12]); // extra, comment, disk, internal attrs, external attrs (4)
        out.extend(0u32.to_le_bytes()); // local header offset
        out.extend(name_b);
        let cd_len = out.len() as u32 - cd_start;
        out.extend(0x0605_4b50u32.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend(1u16.to_le_bytes());
        out.extend(1u16.to_le_bytes());
        out.extend(cd_len.to_le_bytes());
        out.extend(cd_start.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    #[test]
    fn zip_bombs_are_cut_at_the_limits() {
        // A 100 MiB nested "jar" of zeros: over the nested limit.
        let b = bomb("WEB-INF/lib/bomb.jar", 100);
        assert!(b.len() < 1 << 20, "{}", b.len());
        let (pkgs, warnings) = read_archive(&b, "bomb.war", &JarLimits::default());
        assert!(pkgs.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains(
                "bomb.war: WEB-INF/lib/bomb.jar: larger than the limit of 67108864 bytes"
            ),
            "{warnings:?}"
        );
        // A pom.properties of 100 MiB: over the entry limit.
        let b = bomb("META-INF/maven/g/a/pom.properties", 100);
        let (pkgs, warnings) = read_archive(&b, "x.jar", &JarLimits::default());
        assert!(pkgs.is_empty());
        assert!(
            warnings[0].contains("pom.properties: larger than the limit of 1048576"),
            "{warnings:?}"
        );
        // The same bomb with headers claiming a small size is cut the same way.
        let mut lying = bomb("META-INF/maven/g/a/pom.properties", 100);
        let cd = lying.len() - 22 - 46 - "META-INF/maven/g/a/pom.properties".len();
        lying[22..26].copy_from_slice(&10u32.to_le_bytes());
        lying[cd + 24..cd + 28].copy_from_slice(&10u32.to_le_bytes());
        let (pkgs, warnings) = read_archive(&lying, "x.jar", &JarLimits::default());
        assert!(pkgs.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // A total budget smaller than the nested archives.
        let small = zip_of(&[("META-INF/maven/g/a/pom.properties", b"version=1\n")]);
        let war = zip_of(&[("WEB-INF/lib/a.jar", &small), ("WEB-INF/lib/b.jar", &small)]);
        let limits = JarLimits {
            // The first nested jar and its 10-byte pom.properties fit.
            max_total_bytes: small.len() as u64 + 15,
            ..JarLimits::default()
        };
        let (pkgs, warnings) = read_archive(&war, "w.war", &limits);
        assert_eq!(pkgs.len(), 1, "{pkgs:?}");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("w.war: WEB-INF/lib/b.jar:") && warnings[0].contains("budget"),
            "{warnings:?}"
        );
    }

    #[test]
    fn too_many_entries() {
        let files: Vec<(String, Vec<u8>)> = (0..20).map(|i| (format!("f{i}"), vec![])).collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let z = zip_of(&refs);
        let limits = JarLimits {
            max_entries: 10,
            ..JarLimits::default()
        };
        let (pkgs, warnings) = read_archive(&z, "many.jar", &limits);
        assert!(pkgs.is_empty());
        assert!(
            warnings[0].contains("20 entries, more than the limit of 10"),
            "{warnings:?}"
        );
    }

    #[test]
    fn truncated_and_garbage_archives_warn() {
        let Ok(bytes) = std::fs::read(LANG3) else {
            eprintln!("{LANG3} not here: skipped");
            return;
        };
        for cut in [
            0,
            1,
            4,
            22,
            100,
            bytes.len() / 2,
            bytes.len() - 23,
            bytes.len() - 1,
        ] {
            let (pkgs, warnings) = read_archive(&bytes[..cut], "cut.jar", &JarLimits::default());
            assert!(pkgs.is_empty(), "{cut}");
            assert!(
                !warnings.is_empty() && warnings[0].starts_with("cut.jar: "),
                "{cut}: {warnings:?}"
            );
        }
        // Corrupted compressed data of the one entry read.
        let z = zip_of(&[(
            "META-INF/maven/g/a/pom.properties",
            b"groupId=g\nartifactId=a\nversion=1.0\nversion.extra=padding padding padding\n",
        )]);
        let mut bad = z.clone();
        for b in bad.iter_mut().skip(30 + 33).take(20) {
            *b ^= 0x5a;
        }
        let (_, warnings) = read_archive(&bad, "bad.jar", &JarLimits::default());
        assert!(
            warnings.iter().any(|w| w.contains("unreadable")),
            "{warnings:?}"
        );
        // Every byte flipped in turn never panics.
        for i in 0..z.len() {
            let mut c = z.clone();
            c[i] ^= 0xff;
            let _ = read_archive(&c, "flip.jar", &JarLimits::default());
        }
        // Control characters in names are escaped in warnings.
        let (_, warnings) = read_archive(b"junk", "evil\x1b[2J.jar", &JarLimits::default());
        assert!(
            warnings[0].starts_with("evil\\x1b[2J.jar: "),
            "{warnings:?}"
        );
    }

    #[test]
    fn properties_and_manifest_syntax() {
        let p = properties(b"# c\n! c\n  key1 = value one  \nkey2:v2\nkey3 v3\nlong = a\\\n    b\\\n  c\nesc\\=key = x\\u0041\\ty\nempty=\n");
        assert_eq!(
            p,
            [
                ("key1".into(), "value one".into()),
                ("key2".into(), "v2".into()),
                ("key3".into(), "v3".into()),
                ("long".into(), "abc".into()),
                ("esc=key".into(), "xA\ty".into()),
                ("empty".into(), String::new()),
            ]
        );
        let m = manifest_main(b"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.example.very.long.na\r\n me.here;singleton:=true\r\nImplementation-Version: 2.1\r\n\r\nName: org/x/\r\nImplementation-Version: 0.0\r\n");
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[1],
            (
                "Bundle-SymbolicName".into(),
                "org.example.very.long.name.here;singleton:=true".into()
            )
        );
        assert_eq!(m[2].1, "2.1");
        // Heuristic cases.
        let man = |s: &str| from_manifest(s.as_bytes(), "jackson-databind-2.15.2.jar");
        assert_eq!(
            man("Bundle-SymbolicName: com.fasterxml.jackson.core.jackson-databind\nBundle-Version: 2.15.2\n"),
            Some(("com.fasterxml.jackson.core".into(), "jackson-databind".into(), "2.15.2".into()))
        );
        assert_eq!(
            man("Implementation-Vendor-Id: com.fasterxml.jackson.core\nBundle-SymbolicName: x.y\nImplementation-Version: 2.15.2\n"),
            Some(("com.fasterxml.jackson.core".into(), "jackson-databind".into(), "2.15.2".into()))
        );
        assert_eq!(man("Implementation-Title: x\n"), None);
        assert_eq!(
            from_manifest(
                b"Implementation-Version: 2.17.1\n",
                "log4j-1.2-api-2.17.1.jar"
            ),
            Some((String::new(), "log4j-1.2-api".into(), "2.17.1".into()))
        );
        assert_eq!(
            from_manifest(b"Implementation-Version: 5\n", "foo-bar-1.0-SNAPSHOT.jar"),
            Some((String::new(), "foo-bar".into(), "5".into()))
        );
        assert_eq!(strip_version_suffix("-1"), "-1");
        assert_eq!(strip_version_suffix("plain"), "plain");
    }
}
