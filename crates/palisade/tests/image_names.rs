//! `palisade image` on a layer whose file names, link targets and
//! credential paths hold terminal control sequences: no control byte of a
//! name reaches the terminal, in table or JSON output, on stdout or stderr.
//! The image is built with `umoci` from a root filesystem written here.

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use umoci::Bundle;

mod umoci;

/// Sets the terminal title, beeps and clears the screen when printed.
const EVIL: &str = "evil\x1b]0;pwned\x07\x1b[2J.txt";
const EVIL_SHOWN: &str = "evil\\x1b]0;pwned\\x07\\x1b[2J.txt";
/// A directory with a carriage return and a C1 control (CSI).
const APP: &str = "app\r\u{9b}31m";
const APP_SHOWN: &str = "app\\x0d\\u{9b}31m";

/// An OCI layout tagged `t` at `dir/layout` whose one layer holds what
/// `files` writes into its root filesystem.
fn umoci_image(dir: &Path, files: impl FnOnce(&Path)) -> String {
    let bundle = Bundle::new(dir);
    files(&bundle.rootfs());
    bundle.repack();
    format!("oci:{}", bundle.image)
}

fn hostile_rootfs(root: &Path) {
    let write = |path: &Path, content: &str, mode: u32| {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    // World-writable and setuid: both rules name the file.
    write(&root.join("srv").join(EVIL), "x", 0o4777);
    // A sensitive file (by name) holding a credential, under a hostile directory.
    let key: String = (0..16)
        .map(|i| (b'A' + (i * 7 % 26) as u8) as char)
        .collect();
    let secret: String = (0..40)
        .map(|i| (b'a' + (i * 11 % 26) as u8) as char)
        .collect();
    write(
        &root.join(APP).join(".env"),
        &format!("AWS_ACCESS_KEY_ID=AKIA{key}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
        0o644,
    );
    // A shell reached through a symlink whose target holds controls: the
    // not-minimal finding names the file it resolves to.
    write(&root.join("opt").join(EVIL).join("sh"), "#!", 0o755);
    std::fs::create_dir_all(root.join("bin")).expect("mkdir bin");
    symlink(format!("/opt/{EVIL}/sh"), root.join("bin/sh")).expect("symlink");
}

fn palisade(cwd: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_palisade"));
    for var in [
        "NO_COLOR",
        "PALISADE_CONFIG",
        "PALISADE_FAIL_ON",
        "PALISADE_VULN_DB",
    ] {
        c.env_remove(var);
    }
    c.current_dir(cwd)
        .env("PALISADE_CACHE_DIR", cwd.join("cache"))
        .args(args)
        .output()
        .expect("palisade runs")
}

/// The control characters of `bytes` other than the newline.
fn controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect()
}

fn assert_clean(o: &Output, what: &str) {
    let shown = || {
        format!(
            "{what}: status {:?}\n--- stdout\n{}\n--- stderr\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).escape_debug(),
            String::from_utf8_lossy(&o.stderr).escape_debug()
        )
    };
    assert_eq!(controls(&o.stdout), [], "{}", shown());
    assert_eq!(controls(&o.stderr), [], "{}", shown());
    assert_eq!(o.status.code(), Some(1), "high findings: {}", shown());
}

#[test]
fn control_characters_of_layer_names_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let source = umoci_image(tmp.path(), hostile_rootfs);
    let args = [
        "image",
        source.as_str(),
        "--skip-vulnerabilities",
        "--no-cache",
    ];

    let table = palisade(tmp.path(), &[&args[..], &["--format", "table"]].concat());
    assert_clean(&table, "table");
    let stdout = String::from_utf8_lossy(&table.stdout);
    assert!(stdout.contains(EVIL_SHOWN), "{}", stdout.escape_debug());
    assert!(stdout.contains(APP_SHOWN), "{}", stdout.escape_debug());

    let json = palisade(tmp.path(), &[&args[..], &["--format", "json"]].concat());
    assert_clean(&json, "json");
    let report: Value = serde_json::from_slice(&json.stdout).expect("JSON report");
    let texts: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            [field("rule"), field("path"), field("message")].join(" | ")
        })
        .collect();
    // Parsed back, the strings still hold the escapes, not the controls.
    assert!(
        texts.iter().all(|t| !t.chars().any(char::is_control)),
        "{texts:?}"
    );
    for (rule, shown) in [
        ("image/world-writable", EVIL_SHOWN),
        ("image/setuid-file", EVIL_SHOWN),
        ("secrets/sensitive-file", APP_SHOWN),
        ("image/not-minimal", EVIL_SHOWN),
    ] {
        assert!(
            texts.iter().any(|t| t.contains(rule) && t.contains(shown)),
            "{rule} naming {shown}: {texts:?}"
        );
    }
}
