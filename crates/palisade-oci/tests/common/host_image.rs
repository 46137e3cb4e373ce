//! Test images made from this machine's own files (a Debian 12 host): a
//! shell (dash as `/bin/sh`), the dpkg database and the os-release, built
//! with `umoci`, plus an OSV advisory for the installed dash. Shared by the
//! image-content tests of the CLI and of the webhook, next to the registry
//! harness in `mod.rs`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::json;

/// The advisory `write_advisory` writes.
pub const ADVISORY: &str = "DSA-9999-1";

/// Adds image `tag` to the layout: an empty `umoci new` image unpacked,
/// given `/bin/sh` (dash), the dpkg status and os-release of this machine
/// and the `files` (path relative to the root, content), repacked.
pub fn build_image(layout: &Path, tag: &str, files: &[(&str, &str)]) {
    let image = format!("{}:{tag}", layout.display());
    run(Command::new("umoci").args(["new", "--image", &image]));
    let bundle = layout.with_file_name(format!("bundle-{tag}"));
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image", &image])
        .arg(&bundle));
    let root = bundle.join("rootfs");
    for d in ["bin", "etc", "var/lib/dpkg", "app"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/usr/bin/dash", root.join("bin/sh")).unwrap();
    std::fs::copy("/var/lib/dpkg/status", root.join("var/lib/dpkg/status")).unwrap();
    std::fs::copy("/etc/os-release", root.join("etc/os-release")).unwrap();
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    run(Command::new("umoci")
        .args(["repack", "--image", &image])
        .arg(&bundle));
}

/// The installed version of dash; the fixture needs a Debian 12 host
/// (the images copy its dpkg status and os-release).
pub fn dash_version() -> String {
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    assert!(
        os.contains("ID=debian") && os.contains("VERSION_ID=\"12\""),
        "these tests build images from a Debian 12 host's files: {os}"
    );
    let out = run(Command::new("dpkg-query").args(["-W", "-f=${Version}", "dash"]));
    let v = String::from_utf8(out).unwrap();
    assert!(!v.is_empty(), "dash is not installed");
    v
}

/// A version dpkg orders after `installed` (`+` sorts after the end).
pub fn fixed_version(installed: &str) -> String {
    format!("{installed}+deb12u99")
}

/// Writes the OSV record of the advisory for the source package dash into `dir`.
pub fn write_advisory(dir: &Path, dash: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let record = json!({
        "id": ADVISORY, "modified": "2024-01-01T00:00:00Z", "published": "2024-01-01T00:00:00Z",
        "aliases": ["CVE-2099-0001"], "summary": "dash security update",
        "affected": [{
            "package": {"ecosystem": "Debian:12", "name": "dash"},
            "ranges": [{"type": "ECOSYSTEM", "events": [
                {"introduced": "0"}, {"fixed": fixed_version(dash)}]}],
            "ecosystem_specific": {"urgency": "high"}
        }]
    });
    std::fs::write(
        dir.join(format!("{ADVISORY}.json")),
        serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
}

/// Runs a helper tool to completion; its stderr is shown when it fails.
pub fn run(command: &mut Command) -> Vec<u8> {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e} (apt-get install -y umoci)"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
