//! `palisade serve` at the command line: argument and startup errors exit
//! with status 2 and say what is wrong. (The server itself is tested over
//! real TLS in crates/palisade-admission/tests/webhook.rs.)

use std::process::Command;

fn serve(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .arg("serve")
        .args(args)
        .env_remove("PALISADE_CONFIG")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_certificate_files_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("no-such.crt");
    let key = dir.path().join("no-such.key");
    let (code, err) = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such.crt"), "{err}");
}

#[test]
fn bad_listen_address_and_missing_flags_exit_2() {
    let (code, err) = serve(&["--listen", "nowhere", "--tls-cert", "a", "--tls-key", "b"]);
    assert_eq!(code, 2);
    assert!(err.contains("--listen"), "{err}");
    let (code, err) = serve(&[]);
    assert_eq!(code, 2);
    assert!(err.contains("--tls-cert"), "{err}");
}

#[test]
fn flags_can_come_from_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "PALISADE_LISTEN",
        "PALISADE_TLS_CERT",
        "PALISADE_TLS_KEY",
        "PALISADE_CONFIG",
        "PALISADE_CLIENT_CA",
    ] {
        assert!(help.contains(var), "{var} missing from --help");
    }
}

#[test]
fn connection_limit_flags_are_checked_naming_the_flag() {
    let base = [
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        "a",
        "--tls-key",
        "b",
    ];
    for (flag, value) in [
        ("--header-timeout", "0"),
        ("--header-timeout", "nan"),
        ("--max-connections", "0"),
        ("--max-inflight-bytes", "1024"),
    ] {
        let mut args = base.to_vec();
        args.extend([flag, value]);
        let (code, err) = serve(&args);
        assert_eq!(code, 2, "{flag} {value}: {err}");
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}
