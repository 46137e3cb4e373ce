//! End-to-end tests of `palisade image` and `palisade db`: images built with
//! `umoci` from real files of this machine (its dpkg database, os-release,
//! dash, a static binary), planted credentials, an OSV fixture imported into
//! a real vulnerability database, and the same image read from an OCI
//! layout, a loopback `docker-registry` and a `docker save` archive.

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;
mod umoci;

use umoci::{tool, Bundle};

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// `palisade ARGS` run from `cwd` (no `.palisade.yaml` there), with results
/// cached under `cache` and no setting taken from the environment.
fn palisade(cwd: &Path, cache: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    for var in [
        "NO_COLOR",
        "PALISADE_CONFIG",
        "PALISADE_FAIL_ON",
        "PALISADE_VULN_DB",
        "PALISADE_OSV_URL",
        "PALISADE_INSECURE_REGISTRIES",
        "PALISADE_PLATFORM",
        "PALISADE_REGISTRY_CONFIG",
        "PALISADE_REGISTRY_CA",
        "PALISADE_REGISTRY_TIMEOUT",
    ] {
        c.env_remove(var);
    }
    c.current_dir(cwd)
        .env("PALISADE_CACHE_DIR", cache)
        .args(args)
        .output()
        .expect("palisade runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

/// `dpkg-query -W -f=FORMAT [PACKAGE]` on this machine.
fn dpkg_query(format: &str, package: Option<&str>) -> String {
    let mut c = Command::new("dpkg-query");
    c.arg("-W").arg(format!("-f={format}"));
    if let Some(p) = package {
        c.arg(p);
    }
    tool(&mut c)
}

/// `dpkg --compare-versions A OP B`.
fn dpkg_compare(a: &str, op: &str, b: &str) -> bool {
    Command::new("dpkg")
        .args(["--compare-versions", a, op, b])
        .status()
        .expect("dpkg runs")
        .success()
}

/// `n` characters of `alphabet`, different on every call: the credentials
/// planted in the images are made at run time, so that no token-shaped
/// literal sits in the source and none can match by accident.
fn random_chars(alphabet: &[u8], n: usize) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = format!(
        "{:?} {} {}",
        std::time::SystemTime::now(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut out = String::new();
    let mut block = Sha256::digest(seed.as_bytes()).to_vec();
    while out.len() < n {
        for b in &block {
            if out.len() < n {
                out.push(alphabet[usize::from(*b) % alphabet.len()] as char);
            }
        }
        block = Sha256::digest(&block).to_vec();
    }
    out
}

/// A credential the detector takes for real: `prefix` and `n` random
/// characters, with mixed case and digits when the alphabet has them, and
/// at least four distinct characters in the last 16 (fewer is a placeholder
/// to palisade, see `placeholder_token` in palisade-rules).
fn credential(prefix: &str, alphabet: &[u8], n: usize) -> String {
    loop {
        let body = random_chars(alphabet, n);
        let tail: BTreeSet<char> = body.chars().rev().take(16).collect();
        let wants = |f: fn(&u8) -> bool| !alphabet.iter().any(f) || body.bytes().any(|b| f(&b));
        if tail.len() >= 4
            && wants(u8::is_ascii_digit)
            && wants(u8::is_ascii_lowercase)
            && wants(u8::is_ascii_uppercase)
            && !body.contains("EXAMPLE")
        {
            return format!("{prefix}{body}");
        }
    }
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// An OCI layout built with umoci:
///
/// - layer 0: this machine's `var/lib/dpkg/status` and `etc/os-release`,
///   `usr/bin/dash` (and `bin/sh` linking to it), a static binary
///   `app/server`, an AWS access key id in `app/settings.conf`, an RSA key
///   in `root/.ssh/id_rsa`, a GitHub token in `opt/deploy.txt`, a setuid
///   copy of dash `usr/bin/suidtool`, a world-writable `app/data`;
/// - layer 1: the whiteout of `opt/deploy.txt`;
/// - config: `GITHUB_TOKEN` in Env, port 80/tcp exposed, no User.
struct TestImage {
    tmp: tempfile::TempDir,
    /// The layout directory (tag `t`).
    layout: PathBuf,
    /// The AWS access key id in `app/settings.conf`.
    aws_key: String,
    /// The GitHub token in the deleted `opt/deploy.txt`.
    deleted_token: String,
    /// The GitHub token in the config's Env.
    env_token: String,
    /// The base64 lines of the private key's PEM body.
    key_lines: Vec<String>,
}

impl TestImage {
    fn build() -> TestImage {
        let tmp = tempfile::tempdir().expect("temp dir");
        let bundle = Bundle::new(tmp.path());
        let root = bundle.rootfs();
        for dir in [
            "var/lib/dpkg",
            "etc",
            "bin",
            "usr/bin",
            "root/.ssh",
            "app",
            "opt",
        ] {
            std::fs::create_dir_all(root.join(dir)).expect("mkdir in rootfs");
        }
        let copy = |from: &str, to: &str| {
            std::fs::copy(from, root.join(to)).unwrap_or_else(|e| panic!("copy {from}: {e}"));
        };
        copy("/var/lib/dpkg/status", "var/lib/dpkg/status");
        copy("/etc/os-release", "etc/os-release");
        copy("/usr/bin/dash", "usr/bin/dash");
        std::os::unix::fs::symlink("../usr/bin/dash", root.join("bin/sh")).expect("symlink");
        static_binary(tmp.path(), &root.join("app/server"));

        let aws_key = credential("AKIA", BASE32, 16);
        std::fs::write(
            root.join("app/settings.conf"),
            format!("region = eu-west-1\naws_access_key_id = {aws_key}\n"),
        )
        .expect("write settings");
        let key = root.join("root/.ssh/id_rsa");
        tool(
            Command::new("openssl")
                .args([
                    "genpkey",
                    "-algorithm",
                    "RSA",
                    "-pkeyopt",
                    "rsa_keygen_bits:2048",
                ])
                .arg("-out")
                .arg(&key),
        );
        let key_lines: Vec<String> = std::fs::read_to_string(&key)
            .expect("read key")
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_string)
            .collect();
        let deleted_token = credential("ghp_", ALNUM, 36);
        std::fs::write(
            root.join("opt/deploy.txt"),
            format!("token = {deleted_token}\n"),
        )
        .expect("write deploy.txt");
        copy("/usr/bin/dash", "usr/bin/suidtool");
        chmod(&root.join("usr/bin/suidtool"), 0o4755);
        std::fs::write(root.join("app/data"), "state\n").expect("write data");
        chmod(&root.join("app/data"), 0o666);

        bundle.repack();
        std::fs::remove_file(root.join("opt/deploy.txt")).expect("rm deploy.txt");
        bundle.repack();
        let env_token = credential("ghp_", ALNUM, 36);
        bundle.config(&[
            "--config.env",
            &format!("GITHUB_TOKEN={env_token}"),
            "--config.exposedports",
            "80/tcp",
        ]);
        TestImage {
            tmp,
            layout: bundle.layout,
            aws_key,
            deleted_token,
            env_token,
            key_lines,
        }
    }

    /// A scratch directory of this image's test.
    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// `oci:LAYOUT:t`.
    fn source(&self) -> String {
        format!("oci:{}:t", self.layout.display())
    }

    /// The manifest tagged `t`, and its digest.
    fn manifest(&self) -> (String, Value) {
        let index: Value = serde_json::from_slice(
            &std::fs::read(self.layout.join("index.json")).expect("index.json"),
        )
        .expect("index.json is JSON");
        let digest = index["manifests"]
            .as_array()
            .expect("manifests")
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "t")
            .and_then(|m| m["digest"].as_str())
            .expect("tag t")
            .to_string();
        let blob = self
            .layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let manifest = serde_json::from_slice(&std::fs::read(blob).expect("manifest blob"))
            .expect("manifest is JSON");
        (digest, manifest)
    }

    /// `layer N (sha256:<12 hex>)`, as findings name a layer of the layout.
    fn layer_label(&self, n: usize) -> String {
        let (_, manifest) = self.manifest();
        let digest = manifest["layers"][n]["digest"].as_str().expect("layer");
        format!("layer {n} ({})", &digest[.."sha256:".len() + 12])
    }

    /// Every credential value planted, minus the few characters a redacted
    /// preview may show: none of these may appear in any output.
    fn hidden(&self) -> Vec<String> {
        let mut out: Vec<String> = [&self.aws_key, &self.deleted_token, &self.env_token]
            .iter()
            .map(|s| s[4..].to_string())
            .collect();
        // The last line of a PEM body can be a few characters of padding.
        out.extend(
            self.key_lines
                .iter()
                .filter(|l| l.len() >= 16)
                .map(|l| l[4..].to_string()),
        );
        out
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Compiles a tiny C program with `gcc -static` into `to`; without a static
/// libc, says so and copies `/usr/bin/true` (any ELF serves).
fn static_binary(scratch: &Path, to: &Path) {
    let src = scratch.join("server.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").expect("write C source");
    let built = Command::new("gcc")
        .arg("-static")
        .arg("-o")
        .arg(to)
        .arg(&src)
        .output();
    match built {
        Ok(o) if o.status.success() => {}
        other => {
            eprintln!("gcc -static failed ({other:?}); using /usr/bin/true instead");
            std::fs::copy("/usr/bin/true", to).expect("copy /usr/bin/true");
        }
    }
}

/// An OSV fixture for this machine's Debian 12 and the database it is
/// imported into: DSA-9001-1 affects the installed `dash` (fixed in
/// `fixed_above`), DSA-9002-1 was fixed in `dash` long before the installed
/// version, DSA-9003-1 affects the source package `glibc` (libc6 and the
/// other binary packages built from it).
struct Osv {
    db: PathBuf,
    dash_version: String,
    fixed_above: String,
    libc6_version: String,
}

impl Osv {
    fn import(dir: &Path, cache: &Path) -> Osv {
        let dash_version = dpkg_query("${Version}", Some("dash"));
        let fixed_above = format!("{dash_version}+palisade1");
        let fixed_below = "0.1-1";
        assert!(dpkg_compare(&fixed_above, "gt", &dash_version));
        assert!(dpkg_compare(fixed_below, "lt", &dash_version));
        let libc6_version = dpkg_query("${Version}", Some("libc6"));
        assert_eq!(dpkg_query("${source:Package}", Some("libc6")), "glibc");
        let records = dir.join("osv");
        std::fs::create_dir_all(&records).expect("mkdir osv");
        let record = |id: &str, package: &str, fixed: &str, cve: &str| {
            serde_json::json!({
                "id": id,
                "modified": "2024-05-01T00:00:00Z",
                "published": "2024-05-01T00:00:00Z",
                "upstream": [cve],
                "summary": format!("{package}: test advisory {id}"),
                "affected": [{
                    "package": {"ecosystem": "Debian:12", "name": package},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
                    "ecosystem_specific": {"urgency": "high"},
                }],
            })
        };
        for (id, package, fixed, cve) in [
            ("DSA-9001-1", "dash", fixed_above.as_str(), "CVE-2099-9001"),
            ("DSA-9002-1", "dash", fixed_below, "CVE-2099-9002"),
            (
                "DSA-9003-1",
                "glibc",
                &format!("{libc6_version}+palisade1"),
                "CVE-2099-9003",
            ),
        ] {
            std::fs::write(
                records.join(format!("{id}.json")),
                serde_json::to_vec_pretty(&record(id, package, fixed, cve)).expect("json"),
            )
            .expect("write OSV record");
        }
        let db = dir.join("vuln.db");
        let o = palisade(
            dir,
            cache,
            &[
                "db",
                "import",
                &records.display().to_string(),
                "--db",
                &db.display().to_string(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("3 records, 3 new"),
            "{}",
            text(&o)
        );
        Osv {
            db,
            dash_version,
            fixed_above,
            libc6_version,
        }
    }

    fn db_arg(&self) -> String {
        self.db.display().to_string()
    }
}

/// Packages the analyzer counts in this machine's dpkg status: stanzas whose
/// Status is `<want> ok installed` (it also counts `hold ok installed`,
/// which `grep -c 'install ok installed'` would miss), one per name and arch.
fn installed_package_count() -> usize {
    let rows = dpkg_query("${Status}\t${Package}\t${Architecture}\n", None);
    rows.lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let status: Vec<&str> = f.next()?.split_whitespace().collect();
            (status.len() == 3 && status[1] == "ok" && status[2] == "installed")
                .then(|| (f.next().map(str::to_string), f.next().map(str::to_string)))
        })
        .collect::<BTreeSet<_>>()
        .len()
}

/// `PRETTY_NAME` of this machine's os-release.
fn pretty_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .expect("os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .expect("PRETTY_NAME")
        .trim_matches('"')
        .to_string()
}

fn findings(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .collect()
}

fn find<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    findings(report)
        .into_iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn one<'a>(report: &'a Value, rule: &str) -> &'a Value {
    let found = find(report, rule);
    assert_eq!(found.len(), 1, "one {rule} finding expected: {found:#?}");
    found[0]
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string: {v}"))
}

/// `(rule, path)` of every finding, with the layer digest taken out of the
/// path (`layer 0 (sha256:…): p` → `layer 0: p`): a registry keeps the
/// layout's layer blobs, a docker-archive names layers by their diff_id.
fn rule_paths(report: &Value) -> BTreeSet<(String, String)> {
    findings(report)
        .iter()
        .map(|f| {
            let path = str_of(f, "path");
            let path = match (path.find(" (sha256:"), path.find("): ")) {
                (Some(a), Some(b)) if a < b => format!("{}{}", &path[..a], &path[b + 1..]),
                _ => path.to_string(),
            };
            (str_of(f, "rule").to_string(), path)
        })
        .collect()
}

fn assert_no_secret(image: &TestImage, what: &str, o: &Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for secret in image.hidden() {
        assert!(
            !all.contains(&secret),
            "{what}: a planted credential ({secret}) is in the output:\n{}",
            text(o)
        );
    }
}

#[test]
fn image_from_layout_reports_every_rule_with_layers_and_redacted_credentials() {
    let image = TestImage::build();
    let cache = image.dir().join("cache");
    let osv = Osv::import(image.dir(), &cache);
    let source = image.source();
    let db = osv.db_arg();
    let o = palisade(
        image.dir(),
        &cache,
        &["image", &source, "--format", "json", "--db", &db],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_no_secret(&image, "json", &o);
    let report = json(&o);
    assert_eq!(report["schema"], "palisade.json/v1");

    let rules: BTreeSet<&str> = findings(&report)
        .iter()
        .map(|f| str_of(f, "rule"))
        .collect();
    let expected: BTreeSet<&str> = [
        "image/runs-as-root",
        "image/config-secret",
        "image/privileged-port",
        "secrets/in-image",
        "secrets/in-image-deleted",
        "secrets/sensitive-file",
        "image/not-minimal",
        "image/setuid-file",
        "image/world-writable",
        "image/vulnerable",
    ]
    .into_iter()
    .collect();
    assert_eq!(rules, expected, "{report:#}");

    let (manifest_digest, _) = image.manifest();
    let layer0 = image.layer_label(0);
    for f in findings(&report) {
        assert_eq!(f["object"]["kind"], "Image");
        assert_eq!(
            str_of(&f["object"], "name"),
            format!("{source} ({manifest_digest})")
        );
        assert_eq!(str_of(f, "file"), source);
    }

    assert_eq!(
        str_of(one(&report, "image/runs-as-root"), "path"),
        "config.User"
    );
    let env = one(&report, "image/config-secret");
    assert_eq!(str_of(env, "path"), "config.Env");
    assert_eq!(env["severity"], "high");
    assert!(
        str_of(env, "message")
            .contains("environment variable GITHUB_TOKEN holds a credential (github-token, ghp_…)"),
        "{env:#}"
    );
    let port = one(&report, "image/privileged-port");
    assert_eq!(str_of(port, "path"), "config.ExposedPorts");
    assert!(str_of(port, "message").contains("80/tcp"), "{port:#}");

    let aws = one(&report, "secrets/in-image");
    assert_eq!(str_of(aws, "path"), format!("{layer0}: app/settings.conf"));
    assert_eq!(aws["severity"], "high");
    assert!(
        str_of(aws, "message")
            .contains("layer 0: app/settings.conf holds a credential (aws-access-key-id, AKIA…)"),
        "{aws:#}"
    );
    let deleted = one(&report, "secrets/in-image-deleted");
    assert_eq!(str_of(deleted, "path"), format!("{layer0}: opt/deploy.txt"));
    let message = str_of(deleted, "message");
    assert!(
        message.contains("(github-token, ghp_…)") && message.contains("a later layer deleted"),
        "{deleted:#}"
    );
    let key = one(&report, "secrets/sensitive-file");
    assert_eq!(str_of(key, "path"), format!("{layer0}: root/.ssh/id_rsa"));
    let message = str_of(key, "message");
    assert!(message.contains("is an SSH private key"), "{key:#}");
    assert!(
        message.contains(&format!("private-key {}…", &image.key_lines[0][..4])),
        "{key:#}"
    );

    let shell = one(&report, "image/not-minimal");
    assert!(
        str_of(shell, "message").contains("usr/bin/dash"),
        "{shell:#}"
    );
    assert_eq!(
        str_of(one(&report, "image/setuid-file"), "path"),
        format!("{layer0}: usr/bin/suidtool")
    );
    let writable = one(&report, "image/world-writable");
    assert_eq!(str_of(writable, "path"), format!("{layer0}: app/data"));
    assert!(
        str_of(writable, "message").contains("app/data (layer 0)"),
        "{writable:#}"
    );

    let vulnerable = find(&report, "image/vulnerable");
    let dash: Vec<&&Value> = vulnerable
        .iter()
        .filter(|f| str_of(f, "message").contains("DSA-9001-1"))
        .collect();
    assert_eq!(dash.len(), 1, "{vulnerable:#?}");
    assert_eq!(str_of(dash[0], "path"), format!("{layer0}: package dash"));
    assert_eq!(dash[0]["severity"], "high");
    assert!(
        str_of(dash[0], "message").starts_with(&format!(
            "dash {}: DSA-9001-1 (CVE-2099-9001), fixed in {}",
            osv.dash_version, osv.fixed_above
        )),
        "{:#}",
        dash[0]
    );
    assert!(
        !o.stdout.windows(10).any(|w| w == b"DSA-9002-1"),
        "the advisory fixed below the installed version must not match: {report:#}"
    );
    assert!(
        vulnerable
            .iter()
            .any(|f| str_of(f, "path") == format!("{layer0}: package libc6")
                && str_of(f, "message").starts_with(&format!(
                    "libc6 {} (source glibc): DSA-9003-1",
                    osv.libc6_version
                ))),
        "glibc's advisory reaches libc6 through its Source: {vulnerable:#?}"
    );
    assert!(
        vulnerable
            .iter()
            .all(|f| str_of(f, "message").contains("DSA-9001-1")
                || str_of(f, "message").contains("DSA-9003-1")),
        "{vulnerable:#?}"
    );

    let notes: Vec<&str> = report["summary"]["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        notes.first().copied(),
        Some(
            format!(
                "{source}: 2 layers, {} packages ({}), {} vulnerabilities",
                installed_package_count(),
                pretty_name(),
                vulnerable.len()
            )
            .as_str()
        ),
        "{notes:#?}"
    );

    for format in ["table", "sarif", "junit", "cyclonedx"] {
        let o = palisade(
            image.dir(),
            &cache,
            &[
                "image",
                &source,
                "--format",
                format,
                "--db",
                &db,
                "--no-cache",
            ],
        );
        assert_eq!(o.status.code(), Some(1), "{format}: {}", text(&o));
        assert!(!o.stdout.is_empty(), "{format}: {}", text(&o));
        assert_no_secret(&image, format, &o);
    }
}

#[test]
fn image_from_registry_and_docker_archive_matches_the_layout() {
    let image = TestImage::build();
    let cache = image.dir().join("cache");
    let osv = Osv::import(image.dir(), &cache);
    let db = osv.db_arg();
    let scan = |source: &str, extra: &[&str]| {
        let mut args = vec![
            "image",
            source,
            "--format",
            "json",
            "--db",
            &db,
            "--no-cache",
        ];
        args.extend_from_slice(extra);
        let o = palisade(image.dir(), &cache, &args);
        assert_eq!(o.status.code(), Some(1), "{source}: {}", text(&o));
        assert_no_secret(&image, source, &o);
        json(&o)
    };
    let from_layout = scan(&image.source(), &[]);
    let expected = rule_paths(&from_layout);
    assert!(expected.len() >= 10, "{expected:#?}");
    let packages_note = |report: &Value| {
        let note = report["summary"]["notes"][0]
            .as_str()
            .expect("note")
            .to_string();
        note[note.find(": ").expect("name: ...")..].to_string()
    };

    let registry = common::Registry::start();
    registry.push(&image.layout, "t", "palisade/image-test:t");
    let no_auth = common::DockerConfig::empty();
    let reference = format!("{}/palisade/image-test:t", registry.host);
    let from_registry = scan(
        &reference,
        &[
            "--insecure-registry",
            &registry.host,
            "--registry-config",
            &no_auth.path.display().to_string(),
        ],
    );
    assert_eq!(rule_paths(&from_registry), expected);
    assert_eq!(packages_note(&from_registry), packages_note(&from_layout));

    let archive = image.dir().join("image.tar");
    tool(Command::new("skopeo").args([
        "--insecure-policy",
        "copy",
        &format!("oci:{}:t", image.layout.display()),
        &format!("docker-archive:{}:palisade/image-test:t", archive.display()),
    ]));
    let from_archive = scan(&format!("docker-archive:{}", archive.display()), &[]);
    assert_eq!(rule_paths(&from_archive), expected);
    assert_eq!(packages_note(&from_archive), packages_note(&from_layout));
}

/// A Python virtualenv with `cyclonedx-python-lib[json-validation]` under
/// the target directory, made once and shared by later runs; returns its
/// python. Concurrent makers each build in a directory of their own and
/// the first rename wins.
fn cyclonedx_python() -> PathBuf {
    static ONCE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ONCE.get_or_init(|| {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let venv = base.join("cyclonedx-venv");
        let python = venv.join("bin/python");
        if venv.join("ready").is_file() {
            return python;
        }
        std::fs::create_dir_all(&base).expect("target tmp dir");
        // Built under a name of this process, then renamed into place: a
        // venv finds its packages relative to its python, so it survives
        // the rename, and a concurrent run never sees half an install.
        let staging = base.join(format!("cyclonedx-venv.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        tool(Command::new("python3").args(["-m", "venv"]).arg(&staging));
        tool(
            Command::new(staging.join("bin/python"))
                .args(["-m", "pip", "install", "--quiet"])
                .arg("cyclonedx-python-lib[json-validation]"),
        );
        std::fs::write(staging.join("ready"), "").expect("mark venv ready");
        if std::fs::rename(&staging, &venv).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        assert!(python.is_file(), "no python in {}", venv.display());
        python
    })
    .clone()
}

/// Validates a CycloneDX 1.5 JSON document with the official library's
/// strict validator; `None` when valid, else the error it reports.
fn validate_cyclonedx_1_5(document: &[u8]) -> Option<String> {
    let mut child = Command::new(cyclonedx_python())
        .args([
            "-c",
            "import sys\n\
             from cyclonedx.validation.json import JsonStrictValidator\n\
             from cyclonedx.schema import SchemaVersion\n\
             error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(sys.stdin.read())\n\
             print('VALID' if error is None else repr(error))\n",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(document)
        .expect("write to python");
    let out = child.wait_with_output().expect("python exits");
    assert!(
        out.status.success(),
        "the validator failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (answer != "VALID").then_some(answer)
}

/// A purl segment as the purl specification encodes it.
fn purl_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn cyclonedx_output_is_valid_1_5_with_dash_and_its_vulnerability() {
    let image = TestImage::build();
    let cache = image.dir().join("cache");
    let osv = Osv::import(image.dir(), &cache);
    let o = palisade(
        image.dir(),
        &cache,
        &[
            "image",
            &image.source(),
            "--format",
            "cyclonedx",
            "--db",
            &osv.db_arg(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(validate_cyclonedx_1_5(&o.stdout), None);
    // The validator must not be one that accepts anything.
    assert!(validate_cyclonedx_1_5(
        br#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": 3}"#
    )
    .is_some());

    let bom = json(&o);
    assert_eq!(bom["specVersion"], "1.5");
    let arch = dpkg_query("${Architecture}", Some("dash"));
    let purl = format!(
        "pkg:deb/debian/dash@{}?arch={}&distro=debian-12",
        purl_encode(&osv.dash_version),
        purl_encode(&arch)
    );
    let components = bom["components"].as_array().expect("components");
    let dash = components
        .iter()
        .find(|c| c["name"] == "dash")
        .expect("dash is a component");
    assert_eq!(dash["purl"], purl.as_str());
    assert_eq!(dash["version"], osv.dash_version.as_str());
    assert_eq!(
        components.iter().filter(|c| c["type"] == "library").count(),
        installed_package_count()
    );
    let vulnerabilities = bom["vulnerabilities"].as_array().expect("vulnerabilities");
    let v = vulnerabilities
        .iter()
        .find(|v| v["id"] == "DSA-9001-1")
        .expect("DSA-9001-1 is listed");
    assert_eq!(v["affects"][0]["ref"], dash["bom-ref"]);
    assert_eq!(v["ratings"][0]["severity"], "high");
    assert!(vulnerabilities.iter().all(|v| v["id"] != "DSA-9002-1"));
}

/// An umoci layout tagged `t` whose one layer holds `files(rootfs)`.
fn umoci_image(dir: &Path, files: impl FnOnce(&Path)) -> PathBuf {
    let bundle = Bundle::new(dir);
    files(&bundle.rootfs());
    bundle.repack();
    bundle.layout
}

#[test]
fn decompression_bomb_and_entry_limits_stop_the_scan_with_exit_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path().join("cache");
    // 64 MiB of zeros gzip to about 64 KiB.
    let layout = umoci_image(tmp.path(), |root| {
        let zeros = std::fs::File::create(root.join("zeros")).expect("create");
        zeros.set_len(64 << 20).expect("grow");
        for i in 0..50 {
            std::fs::write(root.join(format!("f{i}")), "x").expect("write");
        }
    });
    let stored: u64 = std::fs::read_dir(layout.join("blobs/sha256"))
        .expect("blobs")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .max()
        .unwrap_or(0);
    assert!(stored < 4 << 20, "the layer compresses ({stored} bytes)");
    let source = format!("oci:{}:t", layout.display());

    let o = palisade(
        tmp.path(),
        &cache,
        &[
            "image",
            &source,
            "--skip-vulnerabilities",
            "--max-bytes",
            "8388608",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("exceeds the limit of 8388608 uncompressed bytes"),
        "{}",
        text(&o)
    );
    assert!(stderr.contains("layer sha256:"), "{}", text(&o));
    assert!(o.stdout.is_empty(), "{}", text(&o));

    let o = palisade(
        tmp.path(),
        &cache,
        &[
            "image",
            &source,
            "--skip-vulnerabilities",
            "--max-entries",
            "10",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("exceeds the limit of 10 tar entries"),
        "{}",
        text(&o)
    );
    assert!(
        !cache.join("images").exists(),
        "a failed scan stores nothing"
    );
}

#[test]
fn files_over_max_file_bytes_are_named_in_a_note() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path().join("cache");
    let key = credential("AKIA", BASE32, 16);
    let layout = umoci_image(tmp.path(), |root| {
        std::fs::write(root.join("small.conf"), format!("k = {key}\n")).expect("write");
        std::fs::write(
            root.join("large.conf"),
            format!("{}\nk = {key}\n", "# padding\n".repeat(100)),
        )
        .expect("write");
    });
    let source = format!("oci:{}:t", layout.display());
    let o = palisade(
        tmp.path(),
        &cache,
        &[
            "image",
            &source,
            "--format",
            "json",
            "--skip-vulnerabilities",
            "--max-file-bytes",
            "200",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report = json(&o);
    let notes = report["summary"]["notes"].to_string();
    assert!(
        notes.contains("1 file(s) not known to be binary were larger than the content limit (max_file_bytes) and not scanned for credentials"),
        "{report:#}"
    );
    let paths: Vec<&str> = find(&report, "secrets/in-image")
        .iter()
        .map(|f| str_of(f, "path"))
        .collect();
    assert_eq!(paths.len(), 1, "{report:#}");
    assert!(paths[0].ends_with(": small.conf"), "{paths:?}");
}

#[test]
fn scan_result_is_cached_by_manifest_digest_unless_no_cache() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let layout = umoci_image(tmp.path(), |root| {
        std::fs::write(root.join("hello.txt"), "hello\n").expect("write");
    });
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index"))
            .expect("json");
    let digest = index["manifests"][0]["digest"].as_str().expect("digest");
    let entry = |cache: &Path| {
        cache.join("images").join(format!(
            "sha256-{}.json",
            digest.trim_start_matches("sha256:")
        ))
    };
    let source = format!("oci:{}:t", layout.display());

    let uncached = tmp.path().join("uncached");
    let o = palisade(
        tmp.path(),
        &uncached,
        &["image", &source, "--skip-vulnerabilities", "--no-cache"],
    );
    assert_eq!(o.status.code(), Some(1), "runs as root: {}", text(&o));
    assert!(!entry(&uncached).exists(), "--no-cache stores nothing");

    let cache = tmp.path().join("cache");
    let o = palisade(
        tmp.path(),
        &cache,
        &["image", &source, "--skip-vulnerabilities"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stored: Value = serde_json::from_slice(
        &std::fs::read(entry(&cache))
            .unwrap_or_else(|e| panic!("{}: {e}", entry(&cache).display())),
    )
    .expect("the cache entry is JSON");
    assert!(
        stored.to_string().contains("image/runs-as-root"),
        "{stored:#}"
    );
}

#[test]
fn db_commands_report_missing_malformed_and_unreachable_sources() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let cache = dir.join("cache");
    let missing = dir.join("missing.db");
    let o = palisade(
        dir,
        &cache,
        &["db", "status", "--db", &missing.display().to_string()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no database"),
        "{}",
        text(&o)
    );
    assert!(!missing.exists(), "status creates no database");

    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).expect("mkdir");
    std::fs::write(bad.join("broken.json"), "{\"id\": ").expect("write");
    let db = dir.join("vuln.db");
    let o = palisade(
        dir,
        &cache,
        &[
            "db",
            "import",
            &bad.display().to_string(),
            "--db",
            &db.display().to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(&bad.join("broken.json").display().to_string()),
        "{}",
        text(&o)
    );
    let o = palisade(
        dir,
        &cache,
        &["db", "status", "--db", &db.display().to_string()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).ends_with(": 0 advisories\n"),
        "a failed import is rolled back: {}",
        text(&o)
    );

    let mut update = Command::new(env!("CARGO_BIN_EXE_palisade"));
    let o = update
        .current_dir(dir)
        .env_remove("PALISADE_VULN_DB")
        .env("PALISADE_OSV_URL", "http://127.0.0.1:9")
        .env("PALISADE_CACHE_DIR", &cache)
        .args([
            "db",
            "update",
            "--ecosystem",
            "Debian",
            "--db",
            &db.display().to_string(),
        ])
        .output()
        .expect("palisade runs");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("http://127.0.0.1:9/Debian/all.zip"),
        "{}",
        text(&o)
    );
}

#[test]
fn platform_flag_picks_the_manifest_of_a_multi_arch_index() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut layout = common::Layout::new();
    let amd64 = layout.image("linux", "amd64", "amd64 content");
    let arm64 = layout.image("linux", "arm64", "arm64 content");
    let index = layout.index(&[("linux", "amd64", &amd64), ("linux", "arm64", &arm64)]);
    layout.tag("multi", &index, common::OCI_INDEX);
    let source = format!("oci:{}:multi", layout.dir.display());
    let cache = tmp.path().join("cache");
    let object = |platform: Option<&str>| {
        let mut args = vec![
            "image",
            &source,
            "--format",
            "json",
            "--skip-vulnerabilities",
        ];
        if let Some(p) = platform {
            args.extend(["--platform", p]);
        }
        let o = palisade(tmp.path(), &cache, &args);
        assert_eq!(o.status.code(), Some(1), "runs as root: {}", text(&o));
        let report = json(&o);
        str_of(&one(&report, "image/runs-as-root")["object"], "name").to_string()
    };
    assert_eq!(
        object(Some("linux/arm64")),
        format!("{source} ({})", arm64.digest)
    );
    assert_eq!(object(None), format!("{source} ({})", amd64.digest));
    assert!(cache
        .join("images")
        .join(format!(
            "sha256-{}.json",
            arm64.digest.trim_start_matches("sha256:")
        ))
        .is_file());

    let o = palisade(
        tmp.path(),
        &cache,
        &[
            "image",
            &source,
            "--platform",
            "linux/s390x",
            "--skip-vulnerabilities",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("linux/s390x"),
        "{}",
        text(&o)
    );
}

#[test]
fn rotated_credentials_sharing_a_preview_are_each_reported() {
    // Every GitHub token previews as `ghp_…`: a token a later layer
    // replaced with another one, and a build-step token other than the
    // ENV one, must not pass for copies of the credential that survives.
    let tmp = tempfile::tempdir().expect("temp dir");
    let cache = tmp.path().join("cache");
    let bundle = Bundle::new(tmp.path());
    let file = bundle.rootfs().join("opt/deploy.txt");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    let old = credential("ghp_", ALNUM, 36);
    let new = credential("ghp_", ALNUM, 36);
    std::fs::write(&file, format!("token = {old}\n")).expect("write");
    bundle.repack();
    std::fs::write(&file, format!("token = {new}\n")).expect("write");
    bundle.repack();
    let env = credential("ghp_", ALNUM, 36);
    let build = credential("ghp_", ALNUM, 36);
    bundle.config(&[
        "--config.env",
        &format!("GITHUB_TOKEN={env}"),
        "--history.created_by",
        &format!("ENV GITHUB_TOKEN={env}"),
    ]);
    bundle.config(&[
        "--config.user",
        "1000",
        "--history.created_by",
        &format!("RUN |1 TOKEN={build} /bin/sh -c make"),
    ]);

    let source = format!("oci:{}:t", bundle.layout.display());
    let o = palisade(
        tmp.path(),
        &cache,
        &[
            "image",
            &source,
            "--format",
            "json",
            "--skip-vulnerabilities",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    for secret in [&old, &new, &env, &build] {
        assert!(!all.contains(&secret[4..]), "{}", text(&o));
    }
    let report = json(&o);
    let got: BTreeSet<(String, String)> = rule_paths(&report);
    let expected: BTreeSet<(String, String)> = [
        ("image/config-secret", "config.Env"),
        ("image/config-secret", "history[3].created_by"),
        ("secrets/in-image-deleted", "layer 0: opt/deploy.txt"),
        ("secrets/in-image", "layer 1: opt/deploy.txt"),
    ]
    .iter()
    .map(|(r, p)| (r.to_string(), p.to_string()))
    .collect();
    assert_eq!(got, expected, "{report:#}");
}
