//! `palisade resolve` against a real `docker-registry` (see the harness in
//! palisade-oci's tests).

#[path = "../../palisade-oci/tests/common/mod.rs"]
mod common;

use std::process::Command;

#[test]
fn resolve_prints_pinned_references_and_reports_failures() {
    let fx = common::Fixture::new();
    let host = &fx.registry.host;
    let closed = format!("127.0.0.1:{}", common::closed_port());
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args([
            "resolve",
            "--insecure-registry",
            host,
            "--insecure-registry",
            &closed,
        ])
        .arg(format!("{host}/test/app:v1"))
        .arg(format!("{host}/test/app:missing"))
        .arg(format!("{closed}/test/app:v1"))
        .arg(format!("{host}/test/multi:v1"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{host}/test/app:v1@{}",
                fx.registry.skopeo_inspect_digest("test/app:v1")
            ),
            format!("{host}/test/multi:v1@{}", fx.multi.digest),
        ],
        "stderr: {stderr}"
    );
    assert!(stderr.contains("test/app:missing: not found"), "{stderr}");
    assert!(
        stderr.contains(&format!("{closed}/test/app:v1: registry unreachable")),
        "{stderr}"
    );
}

#[test]
fn resolve_json_reports_platform_digest() {
    let fx = common::Fixture::new();
    let host = &fx.registry.host;
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["resolve", "--format", "json", "--platform", "linux/arm64"])
        .args(["--insecure-registry", host])
        .arg(format!("{host}/test/multi:v1"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["digest"], fx.multi.digest.as_str());
    assert_eq!(v[0]["platformDigest"], fx.multi_arm64.digest.as_str());
    assert_eq!(v[0]["mediaType"], common::OCI_INDEX);
}

#[test]
fn resolve_rejects_a_bad_platform() {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["resolve", "--platform", "linux", "alpine"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--platform"));
}
