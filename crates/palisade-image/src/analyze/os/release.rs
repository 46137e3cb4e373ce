//! Which distribution an image is: `/etc/os-release` (or
//! `/usr/lib/os-release`) and marker files (Alpine's apk database,
//! distroless' dpkg `status.d`, scratch).
//! <https://www.freedesktop.org/software/systemd/man/latest/os-release.html>

use std::collections::HashMap;

use super::*;

/// `KEY=value` pairs of an os-release file, with shell-style quotes removed.
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let value = if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            let mut s = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        s.push(n);
                    }
                } else {
                    s.push(c);
                }
            }
            s
        } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            inner.to_string()
        } else {
            v.to_string()
        };
        out.insert(k.trim().to_string(), value);
    }
    out
}

/// The OS from the final os-release text, the marker files
/// (`etc/alpine-release`, `etc/debian_version`, `etc/redhat-release`), the
/// package databases present and whether a shell is.
pub(super) fn detect(
    os_release: Option<&str>,
    [alpine, debian, redhat]: [Option<String>; 3],
    dbs: &PackageDbs,
    has_shell: bool,
) -> OsInfo {
    let distroless = dbs.dpkg_status_d && !dbs.dpkg_status && !has_shell;
    let mut os = OsInfo {
        base: Base::Other,
        id: String::new(),
        version_id: String::new(),
        pretty_name: String::new(),
    };
    if let Some(text) = os_release {
        let kv = parse_os_release(text);
        let get = |k: &str| kv.get(k).cloned().unwrap_or_default();
        os.id = get("ID").to_ascii_lowercase();
        os.version_id = get("VERSION_ID");
        os.pretty_name = get("PRETTY_NAME");
        let like = get("ID_LIKE").to_ascii_lowercase();
        os.base = base_of(&os.id, &like);
    } else if let Some(v) = alpine {
        os.base = Base::Alpine;
        os.id = "alpine".into();
        os.version_id = v.trim().to_string();
        os.pretty_name = format!("Alpine Linux {}", os.version_id);
    } else if let Some(v) = debian {
        os.base = Base::Debian;
        os.id = "debian".into();
        let v = v.trim();
        // `bookworm/sid` on testing: no release number.
        if v.starts_with(|c: char| c.is_ascii_digit()) {
            os.version_id = v.split('.').next().unwrap_or(v).to_string();
        }
        os.pretty_name = format!("Debian GNU/Linux {v}");
    } else if let Some(v) = redhat {
        os.base = Base::RhelFamily;
        let line = v.lines().next().unwrap_or_default().trim().to_string();
        let lower = line.to_ascii_lowercase();
        os.id = ["centos", "rocky", "alma", "fedora", "oracle"]
            .iter()
            .find(|d| lower.contains(*d))
            .map_or("rhel", |d| match *d {
                "alma" => "almalinux",
                "oracle" => "ol",
                d => d,
            })
            .to_string();
        os.version_id = line
            .split_whitespace()
            .skip_while(|w| *w != "release")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        os.pretty_name = line;
    } else if distroless {
        os.id = "debian".into();
    } else if !dbs.any {
        os.base = Base::Scratch;
        return os;
    }
    if distroless && matches!(os.base, Base::Debian | Base::Other) {
        os.base = Base::Distroless;
    }
    os
}

pub(super) fn base_of(id: &str, id_like: &str) -> Base {
    let rhel = |s: &str| {
        matches!(
            s,
            "rhel" | "centos" | "rocky" | "almalinux" | "fedora" | "amzn" | "ol" | "redhat"
        )
    };
    match id {
        "alpine" => Base::Alpine,
        "debian" => Base::Debian,
        "ubuntu" => Base::Ubuntu,
        s if rhel(s) => Base::RhelFamily,
        _ if id_like.split_whitespace().any(rhel) => Base::RhelFamily,
        _ => Base::Other,
    }
}
