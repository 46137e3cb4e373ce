//! `palisade image --format cyclonedx`: the image's operating system and
//! packages, with the vulnerabilities found in them, as a CycloneDX 1.5 JSON
//! bill of materials. Packages are named by package URL (purl) as the purl
//! specification writes each type
//! (<https://github.com/package-url/purl-spec/blob/master/PURL-TYPES.rst>):
//! deb, apk and rpm for OS packages; golang, pypi, npm, maven, cargo,
//! composer and gem for what the application brings, with the file each
//! was found in as the property `palisade:file`.
//!
//! The writer takes its own plain description of the image ([`Bom`],
//! [`BomOs`], [`BomPackage`]), so that writing a report does not pull in
//! the image scanner.

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// A vulnerability of one package (index into the package list).
#[derive(Debug, Clone, PartialEq)]
pub struct BomVulnerability {
    /// Index of the affected package.
    pub package: usize,
    /// Advisory id (`DSA-5678-1`, `CVE-2024-1234`, `ALPINE-CVE-…`).
    pub id: String,
    /// Other ids of the same vulnerability (CVE).
    pub aliases: Vec<String>,
    /// `critical`, `high`, `medium`, `low`, `info` or `unknown`.
    pub severity: String,
    /// Version that fixes it, if any.
    pub fixed: Option<String>,
    /// One-line description.
    pub summary: String,
}

/// The package database a package was read from (its purl type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageKind {
    /// dpkg.
    Deb,
    /// apk.
    Apk,
    /// rpm.
    Rpm,
    /// A Go module (`pkg:golang/<module path>@<version>`).
    Golang,
    /// A Python distribution (`pkg:pypi/<normalised name>@<version>`).
    Pypi,
    /// An npm package (`pkg:npm/%40scope/name@<version>`).
    Npm,
    /// A Maven artifact (`pkg:maven/<groupId>/<artifactId>@<version>`; the
    /// name is `groupId:artifactId`).
    Maven,
    /// A Rust crate (`pkg:cargo/<name>@<version>`).
    Cargo,
    /// A Composer package (`pkg:composer/<vendor>/<name>@<version>`).
    Composer,
    /// A Ruby gem (`pkg:gem/<name>@<version>`).
    Gem,
}

/// The operating system of the image.
#[derive(Debug, Clone, Default)]
pub struct BomOs {
    /// `ID` (`debian`, `alpine`, `rhel`), empty when unknown or scratch.
    pub id: String,
    /// `VERSION_ID`.
    pub version_id: String,
    /// `PRETTY_NAME`.
    pub pretty_name: String,
}

/// One installed package.
#[derive(Debug, Clone)]
pub struct BomPackage {
    /// Its database.
    pub kind: PackageKind,
    /// Binary package name.
    pub name: String,
    /// Installed version as the database writes it (epoch included).
    pub version: String,
    /// Source package name, when known.
    pub source_name: Option<String>,
    /// Architecture.
    pub arch: Option<String>,
    /// Layer that wrote the database it was read from.
    pub layer: usize,
    /// The file an application package was found in (`None` for OS
    /// packages).
    pub path: Option<String>,
}

/// What the bill of materials describes.
pub struct Bom<'a> {
    /// The image reference as given.
    pub reference: &'a str,
    /// Its manifest digest.
    pub digest: &'a str,
    /// The OS found in it (an empty `id` for scratch or unknown).
    pub os: &'a BomOs,
    /// Installed packages.
    pub packages: &'a [BomPackage],
    /// Vulnerabilities found in them.
    pub vulnerabilities: &'a [BomVulnerability],
    /// palisade's version.
    pub tool_version: &'a str,
    /// Seconds since the Unix epoch, for `metadata.timestamp`.
    pub now: u64,
}

/// The CycloneDX 1.5 document.
pub fn cyclonedx(bom: &Bom<'_>) -> Value {
    // bom-refs must be unique: a package listed twice (two databases) gets a suffix.
    let mut seen = std::collections::HashSet::new();
    let purls: Vec<String> = bom
        .packages
        .iter()
        .map(|p| {
            let base = purl(p, bom.os);
            let mut r = base.clone();
            let mut n = 1;
            while !seen.insert(r.clone()) {
                n += 1;
                r = format!("{base}#{n}");
            }
            r
        })
        .collect();
    let mut components: Vec<Value> = Vec::new();
    if !bom.os.id.is_empty() {
        components.push(json!({
            "type": "operating-system",
            "bom-ref": format!("os:{}@{}", bom.os.id, bom.os.version_id),
            "name": bom.os.id,
            "version": bom.os.version_id,
            "description": bom.os.pretty_name,
        }));
    }
    for (p, purl) in bom.packages.iter().zip(&purls) {
        let mut c = json!({
            "type": "library",
            "bom-ref": purl,
            "name": p.name,
            "version": p.version,
            "purl": purl.split('#').next().unwrap_or(purl),
        });
        let mut properties = vec![json!({"name": "palisade:layer", "value": p.layer.to_string()})];
        if let Some(src) = &p.source_name {
            properties.push(json!({"name": "palisade:source-package", "value": src}));
        }
        if let Some(file) = &p.path {
            properties.push(json!({"name": "palisade:file", "value": file}));
        }
        c["properties"] = Value::Array(properties);
        components.push(c);
    }
    let vulnerabilities: Vec<Value> = bom
        .vulnerabilities
        .iter()
        .filter_map(|v| {
            let purl = purls.get(v.package)?;
            let mut out = json!({
                "bom-ref": format!("{}#{purl}", v.id),
                "id": v.id,
                "source": {"name": "OSV", "url": format!("https://osv.dev/vulnerability/{}", v.id)},
                "ratings": [{"severity": cdx_severity(&v.severity), "method": "other"}],
                "description": v.summary,
                "affects": [{"ref": purl}],
            });
            if !v.aliases.is_empty() {
                out["references"] = Value::Array(
                    v.aliases
                        .iter()
                        .map(|a| json!({"id": a, "source": {"name": "OSV"}}))
                        .collect(),
                );
            }
            if let Some(fixed) = &v.fixed {
                out["recommendation"] = json!(format!("upgrade to {fixed} or later"));
            }
            Some(out)
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial(bom.digest),
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(bom.now),
            "tools": {"components": [{
                "type": "application",
                "name": "palisade",
                "version": bom.tool_version,
            }]},
            "component": {
                "type": "container",
                "bom-ref": bom.digest,
                "name": bom.reference,
                "version": bom.digest,
            },
        },
        "components": components,
        "vulnerabilities": vulnerabilities,
    })
}

/// The package URL of an application package: the name's `/`-separated
/// parts are the namespace and name (a Go module path, `@scope/name`,
/// `vendor/name`), Maven's `groupId:artifactId` likewise.
fn app_purl(kind: &str, name: &str, version: &str) -> String {
    let name = if kind == "maven" {
        name.replacen(':', "/", 1)
    } else {
        name.to_string()
    };
    let path: Vec<String> = name.split('/').map(encode).collect();
    format!("pkg:{kind}/{}@{}", path.join("/"), encode(version))
}

/// The package URL of `p`: `pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12`,
/// `pkg:golang/golang.org/x/text@v0.14.0`, `pkg:npm/%40babel/core@7.24.0`.
pub fn purl(p: &BomPackage, os: &BomOs) -> String {
    let app = match p.kind {
        PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm => None,
        PackageKind::Golang => Some("golang"),
        PackageKind::Pypi => Some("pypi"),
        PackageKind::Npm => Some("npm"),
        PackageKind::Maven => Some("maven"),
        PackageKind::Cargo => Some("cargo"),
        PackageKind::Composer => Some("composer"),
        PackageKind::Gem => Some("gem"),
    };
    if let Some(kind) = app {
        return app_purl(kind, &p.name, &p.version);
    }
    let (kind, namespace) = match p.kind {
        PackageKind::Deb => ("deb", if os.id.is_empty() { "debian" } else { &os.id }),
        PackageKind::Apk => ("apk", "alpine"),
        _ => ("rpm", if os.id.is_empty() { "redhat" } else { &os.id }),
    };
    // An rpm epoch is a qualifier in purl, not part of the version.
    let (epoch, version) = match (p.kind, p.version.split_once(':')) {
        (PackageKind::Rpm, Some((e, v))) if e.bytes().all(|b| b.is_ascii_digit()) => (Some(e), v),
        _ => (None, p.version.as_str()),
    };
    let mut qualifiers: Vec<String> = Vec::new();
    if let Some(arch) = &p.arch {
        qualifiers.push(format!("arch={}", encode(arch)));
    }
    if !os.id.is_empty() && !os.version_id.is_empty() {
        qualifiers.push(format!(
            "distro={}",
            encode(&format!("{}-{}", os.id, os.version_id))
        ));
    }
    if let Some(e) = epoch {
        qualifiers.push(format!("epoch={e}"));
    }
    let mut out = format!(
        "pkg:{kind}/{}/{}@{}",
        encode(namespace),
        encode(&p.name),
        encode(version)
    );
    if !qualifiers.is_empty() {
        out.push('?');
        out.push_str(&qualifiers.join("&"));
    }
    out
}

/// Percent-encoding of a purl segment: unreserved characters stay.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn cdx_severity(s: &str) -> &'static str {
    match s {
        "critical" => "critical",
        "high" => "high",
        "medium" => "medium",
        "low" => "low",
        "info" | "negligible" => "info",
        _ => "unknown",
    }
}

/// A stable serial number for the image: a version-4-shaped UUID made from
/// the digest, so that the same image gives the same serial.
fn serial(digest: &str) -> String {
    let h = Sha256::digest(digest.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `2026-12-01T02:30:00Z`.
fn rfc3339(secs: u64) -> String {
    let date = palisade_core::policy::Date::from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{date}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(id: &str, version: &str) -> BomOs {
        BomOs {
            id: id.into(),
            version_id: version.into(),
            pretty_name: String::new(),
        }
    }

    fn pkg(kind: PackageKind, name: &str, version: &str, arch: &str) -> BomPackage {
        BomPackage {
            kind,
            name: name.into(),
            version: version.into(),
            source_name: None,
            arch: Some(arch.into()),
            layer: 0,
            path: None,
        }
    }

    fn app(kind: PackageKind, name: &str, version: &str) -> BomPackage {
        BomPackage {
            arch: None,
            path: Some("app/bin/server".into()),
            ..pkg(kind, name, version, "")
        }
    }

    #[test]
    fn application_purls_follow_each_type() {
        // The purl-spec's own examples (PURL-TYPES.rst), one per type.
        let none = os("", "");
        let cases = [
            (
                PackageKind::Golang,
                "github.com/gorilla/context",
                "v1.1.2",
                "pkg:golang/github.com/gorilla/context@v1.1.2",
            ),
            (
                PackageKind::Pypi,
                "django-allauth",
                "12.23",
                "pkg:pypi/django-allauth@12.23",
            ),
            (
                PackageKind::Npm,
                "@angular/animation",
                "12.3.1",
                "pkg:npm/%40angular/animation@12.3.1",
            ),
            (
                PackageKind::Npm,
                "foobar",
                "12.3.1",
                "pkg:npm/foobar@12.3.1",
            ),
            (
                PackageKind::Maven,
                "org.apache.xmlgraphics:batik-anim",
                "1.9.1",
                "pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1",
            ),
            (PackageKind::Cargo, "rand", "0.7.2", "pkg:cargo/rand@0.7.2"),
            (
                PackageKind::Composer,
                "laravel/laravel",
                "5.5.0",
                "pkg:composer/laravel/laravel@5.5.0",
            ),
            (
                PackageKind::Gem,
                "ruby-advisory-db-check",
                "0.12.4",
                "pkg:gem/ruby-advisory-db-check@0.12.4",
            ),
        ];
        for (kind, name, version, want) in cases {
            assert_eq!(purl(&app(kind, name, version), &none), want);
        }
        let packages = [app(PackageKind::Golang, "golang.org/x/text", "v0.3.7")];
        let doc = cyclonedx(&Bom {
            reference: "app:1",
            digest: "sha256:abc",
            os: &none,
            packages: &packages,
            vulnerabilities: &[],
            tool_version: "0.1.0",
            now: 0,
        });
        let props = doc["components"][0]["properties"].as_array().unwrap();
        assert!(
            props.contains(&json!({"name": "palisade:file", "value": "app/bin/server"})),
            "{props:?}"
        );
    }

    #[test]
    fn purls_follow_the_purl_spec_examples() {
        let debian = os("debian", "12");
        assert_eq!(
            purl(
                &pkg(PackageKind::Deb, "libc6", "2.36-9+deb12u4", "amd64"),
                &debian
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            purl(
                &pkg(PackageKind::Deb, "perl", "1:5.36.0-7", "amd64"),
                &debian
            ),
            "pkg:deb/debian/perl@1%3A5.36.0-7?arch=amd64&distro=debian-12"
        );
        let alpine = os("alpine", "3.20.3");
        assert_eq!(
            purl(
                &pkg(PackageKind::Apk, "musl", "1.2.5-r0", "x86_64"),
                &alpine
            ),
            "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
        );
        let rhel = os("rhel", "9.4");
        assert_eq!(
            purl(
                &pkg(PackageKind::Rpm, "openssl", "1:3.0.7-27.el9", "x86_64"),
                &rhel
            ),
            "pkg:rpm/rhel/openssl@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1"
        );
    }

    #[test]
    fn document_names_packages_and_vulnerabilities() {
        let debian = os("debian", "12");
        let packages = [pkg(PackageKind::Deb, "libc6", "2.36-9", "amd64")];
        let vulns = [BomVulnerability {
            package: 0,
            id: "DSA-1-1".into(),
            aliases: vec!["CVE-2024-0001".into()],
            severity: "high".into(),
            fixed: Some("2.36-9+deb12u1".into()),
            summary: "glibc".into(),
        }];
        let doc = cyclonedx(&Bom {
            reference: "app:1",
            digest: "sha256:abc",
            os: &debian,
            packages: &packages,
            vulnerabilities: &vulns,
            tool_version: "0.1.0",
            now: 1_796_092_416,
        });
        assert_eq!(doc["specVersion"], "1.5");
        assert_eq!(doc["metadata"]["timestamp"], "2026-12-01T02:33:36Z");
        assert_eq!(doc["components"][0]["type"], "operating-system");
        let purl = "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12";
        assert_eq!(doc["components"][1]["purl"], purl);
        assert_eq!(doc["vulnerabilities"][0]["affects"][0]["ref"], purl);
        assert_eq!(doc["vulnerabilities"][0]["ratings"][0]["severity"], "high");
        let serial = doc["serialNumber"].as_str().unwrap();
        assert_eq!(serial.len(), "urn:uuid:".len() + 36);
        assert_eq!(&serial[23..24], "4", "version 4 shape: {serial}");
    }
}
