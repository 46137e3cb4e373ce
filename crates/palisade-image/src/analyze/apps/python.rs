//! Installed Python distributions, from their core metadata files
//! (<https://packaging.python.org/en/latest/specifications/core-metadata/>):
//! RFC 822 style `Field: value` headers, of which `Name` and `Version` are
//! read; the headers end at the first blank line, after which a
//! description may follow.
//!
//! Where they are (<https://packaging.python.org/en/latest/specifications/recording-installed-packages/>):
//!
//! - `…/site-packages/<name>-<version>.dist-info/METADATA` (pip, wheels);
//! - `…/site-packages/<name>[-<version>…].egg-info/PKG-INFO` (setuptools);
//! - `…/site-packages/<name>-<version>[-pyX.Y].egg-info` as a *file* (the
//!   `PKG-INFO` itself, written by old distutils installs).
//!
//! Debian's interpreters use `dist-packages` in place of `site-packages`;
//! both are recognised, and only directly inside such a directory.
//! Names are normalised as PEP 503 says
//! (<https://packaging.python.org/en/latest/specifications/name-normalization/>),
//! the form vulnerability databases use.

/// A distribution name in its normalised form: lowercase, with every run
/// of `-`, `_` and `.` written as one `-` (`Foo.Bar__baz` → `foo-bar-baz`).
pub fn normalise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            in_run = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// The normalised name and the version of a core metadata file
/// (`METADATA`, `PKG-INFO`). Invalid UTF-8 is read lossily, CRLF line ends
/// are accepted and only the header block (up to the first blank line) is
/// read. `None` when `Name` or `Version` is missing or empty.
pub fn parse_metadata(bytes: &[u8]) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut name: Option<&str> = None;
    let mut version: Option<&str> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((field, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let field = field.trim();
        if field.eq_ignore_ascii_case("name") {
            name.get_or_insert(value);
        } else if field.eq_ignore_ascii_case("version") {
            version.get_or_insert(value);
        }
        if name.is_some() && version.is_some() {
            break;
        }
    }
    let name = normalise_name(name?);
    let version = version?;
    (!name.is_empty() && !version.is_empty()).then(|| (name, version.to_string()))
}

fn is_site_dir(name: &str) -> bool {
    name == "site-packages" || name == "dist-packages"
}

/// Last component of `path` and what precedes it (`None` when there is
/// no `/`).
fn split_last(path: &str) -> Option<(&str, &str)> {
    path.rsplit_once('/')
}

fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The distribution's metadata directory for a metadata file path:
/// `…/site-packages/foo-1.0.dist-info` for
/// `…/site-packages/foo-1.0.dist-info/METADATA`, `…/dist-packages/foo.egg-info`
/// for `…/dist-packages/foo.egg-info/PKG-INFO`, and the path itself for a
/// bare `…/site-packages/foo-1.0.egg-info` (a metadata *file*: the caller
/// checks the entry is a regular file). `None` for every other path,
/// and for these outside a `site-packages` or `dist-packages` directory.
pub fn dist_dir(path: &str) -> Option<&str> {
    let (dir, file) = split_last(path)?;
    let dir_name = last_component(dir);
    let in_site = || split_last(dir).is_some_and(|(parent, _)| is_site_dir(last_component(parent)));
    let named = |suffix: &str| dir_name.len() > suffix.len() && dir_name.ends_with(suffix);
    if ((file == "METADATA" && named(".dist-info")) || (file == "PKG-INFO" && named(".egg-info")))
        && in_site()
    {
        return Some(dir);
    }
    if file.len() > ".egg-info".len() && file.ends_with(".egg-info") && is_site_dir(dir_name) {
        return Some(path);
    }
    None
}

/// Whether `path` is a distribution's metadata file (see [`dist_dir`]).
pub fn is_metadata_path(path: &str) -> bool {
    dist_dir(path).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_are_normalised() {
        assert_eq!(normalise_name("PyYAML"), "pyyaml");
        assert_eq!(normalise_name("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(normalise_name("zope.interface"), "zope-interface");
        assert_eq!(normalise_name("a-_.-b"), "a-b");
        assert_eq!(normalise_name("  Django "), "django");
    }

    #[test]
    fn metadata_headers_only_crlf_and_invalid_utf8() {
        let m = b"Metadata-Version: 2.1\r\nName: Foo_Bar\r\nVersion: 1.2.3\r\nSummary: x\r\n";
        assert_eq!(parse_metadata(m), Some(("foo-bar".into(), "1.2.3".into())));
        let m = b"Metadata-Version: 2.1\nName: caf\xe9\xff\nVersion: 0.1\n";
        assert_eq!(
            parse_metadata(m),
            Some(("caf\u{fffd}\u{fffd}".into(), "0.1".into()))
        );
        // The body after the first blank line is not headers.
        let m = b"Metadata-Version: 2.1\nName: real\n\nVersion: 9.9\n";
        assert_eq!(parse_metadata(m), None);
        let m = b"Name: real\nVersion: 1.0\n\nName: fake\nVersion: 9.9\n";
        assert_eq!(parse_metadata(m), Some(("real".into(), "1.0".into())));
        // Continuation lines are not fields; the first field wins.
        let m = b"Name: a\nDescription: x\n Version: 5\nVersion: 2\nVersion: 3\n";
        assert_eq!(parse_metadata(m), Some(("a".into(), "2".into())));
        assert_eq!(
            parse_metadata(b"name: lower\nversion: 1\n"),
            Some(("lower".into(), "1".into()))
        );
        assert_eq!(
            parse_metadata(b"\xef\xbb\xbfName: bom\nVersion: 1\n"),
            Some(("bom".into(), "1".into()))
        );
        // Missing or empty fields.
        assert_eq!(parse_metadata(b"Name: only\n"), None);
        assert_eq!(parse_metadata(b"Version: 1.0\n"), None);
        assert_eq!(parse_metadata(b"Name: \nVersion: 1.0\n"), None);
        assert_eq!(parse_metadata(b"Name: x\nVersion:\n"), None);
        assert_eq!(parse_metadata(b""), None);
        assert_eq!(parse_metadata(&[0xff; 64]), None);
    }

    #[test]
    fn metadata_paths() {
        let sp = "usr/lib/python3.11/site-packages";
        let dp = "usr/lib/python3/dist-packages";
        for (path, want) in [
            (
                format!("{sp}/foo-1.0.dist-info/METADATA"),
                Some(format!("{sp}/foo-1.0.dist-info")),
            ),
            (
                format!("/{dp}/foo.egg-info/PKG-INFO"),
                Some(format!("/{dp}/foo.egg-info")),
            ),
            (
                format!("{dp}/cupshelpers-1.0-py3.10.egg-info"),
                Some(format!("{dp}/cupshelpers-1.0-py3.10.egg-info")),
            ),
            (format!("{sp}/foo-1.0.dist-info/RECORD"), None),
            (format!("{sp}/foo-1.0.dist-info/PKG-INFO"), None),
            (format!("{sp}/foo.egg-info/METADATA"), None),
            (format!("{sp}/.dist-info/METADATA"), None),
            (format!("{sp}/.egg-info"), None),
            (format!("{sp}/pkg/foo-1.0.dist-info/METADATA"), None),
            (format!("{sp}/pkg/foo-1.0.egg-info"), None),
            ("opt/app/foo-1.0.dist-info/METADATA".into(), None),
            (
                "site-packages/foo-1.0.dist-info/METADATA".into(),
                Some("site-packages/foo-1.0.dist-info".into()),
            ),
            ("foo-1.0.dist-info/METADATA".into(), None),
            ("METADATA".into(), None),
            (String::new(), None),
        ] {
            assert_eq!(dist_dir(&path).map(str::to_string), want, "{path}");
            assert_eq!(is_metadata_path(&path), want.is_some(), "{path}");
        }
    }

    #[test]
    fn this_machines_pyyaml() {
        let p = "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA";
        let Ok(bytes) = std::fs::read(p) else {
            eprintln!("{p} not installed: skipped");
            return;
        };
        assert_eq!(
            parse_metadata(&bytes),
            Some(("pyyaml".into(), "6.0".into()))
        );
        assert!(is_metadata_path(p.trim_start_matches('/')));
    }

    /// Every distribution of /usr/lib/python3/dist-packages, against what
    /// the system interpreter's importlib.metadata says.
    #[test]
    fn this_machines_dist_packages_match_importlib_metadata() {
        let root = Path::new("/usr/lib/python3/dist-packages");
        let Ok(dir) = std::fs::read_dir(root) else {
            eprintln!("no {} here: skipped", root.display());
            return;
        };
        let mut got = Vec::new();
        let mut egg_file = 0;
        let mut egg_dir = 0;
        for e in dir.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let candidates = [p.join("METADATA"), p.join("PKG-INFO"), p.clone()];
            for c in candidates {
                let s = c.to_string_lossy().into_owned();
                if !c.is_file() || !is_metadata_path(&s) {
                    continue;
                }
                let Some(d) = dist_dir(&s) else { continue };
                assert!(d.ends_with(&name), "{d} for {s}");
                if c == p {
                    egg_file += 1;
                } else if name.ends_with(".egg-info") {
                    egg_dir += 1;
                }
                let bytes = std::fs::read(&c).expect("read metadata");
                got.push(parse_metadata(&bytes).unwrap_or_else(|| panic!("{s} unparsed")));
            }
        }
        eprintln!(
            "{} distributions: {egg_file} egg-info files, {egg_dir} egg-info dirs",
            got.len()
        );
        assert!(egg_dir > 0, "an .egg-info directory was expected here");
        got.sort();
        let py = Path::new("/usr/bin/python3");
        if !py.is_file() {
            eprintln!("no /usr/bin/python3: comparison skipped");
            return;
        }
        let out = std::process::Command::new(py)
            .args([
                "-c",
                "import importlib.metadata as m\nfor d in m.distributions(path=['/usr/lib/python3/dist-packages']):\n    print(d.metadata['Name'] + '\\t' + d.version)",
            ])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut want: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(n, v)| (normalise_name(n), v.to_string()))
            .collect();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn pip_installed_six() {
        let ok = std::process::Command::new("python3")
            .args(["-m", "pip", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("pip is not available: skipped");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let target = tmp.path().join("lib/python3/site-packages");
        let out = std::process::Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--target",
            ])
            .arg(&target)
            .arg("six==1.16.0")
            .output()
            .expect("pip runs");
        if !out.status.success() {
            eprintln!(
                "pip install failed (no index?): skipped: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        let meta = target.join("six-1.16.0.dist-info/METADATA");
        let path = meta.to_string_lossy().into_owned();
        assert!(is_metadata_path(&path), "{path}");
        assert_eq!(
            dist_dir(&path),
            Some(
                target
                    .join("six-1.16.0.dist-info")
                    .to_string_lossy()
                    .as_ref()
            )
        );
        let bytes = std::fs::read(&meta).expect("METADATA");
        assert_eq!(
            parse_metadata(&bytes),
            Some(("six".into(), "1.16.0".into()))
        );
    }
}
