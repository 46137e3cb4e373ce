//! `palisade etcd` against a real etcd (Debian's etcd-server) with TLS and
//! client-certificate auth, holding values in exactly the API server's
//! formats: the protobuf envelope, JSON, and each encryption provider's
//! layout (tests/common/etcd.rs).

mod common;

use base64::Engine as _;
use common::etcd::Server;
use palisade_etcd::decrypt::seal;
use palisade_etcd::envelope::encode_secret;
use palisade_etcd::stored::Provider;
use serde_json::Value;

const KEY_A: [u8; 32] = [7; 32];
const KEY_B: [u8; 32] = [9; 32];
const PASSWORD: &[u8] = b"hunter2-do-not-print";

fn b64(k: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(k)
}

/// An EncryptionConfiguration for secrets: `providers` as YAML list items.
fn config(dir: &std::path::Path, providers: &str) -> std::path::PathBuf {
    let path = dir.join("encryption.yaml");
    std::fs::write(
        &path,
        format!("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n{providers}"),
    )
    .unwrap();
    path
}

fn key(ns: &str, name: &str) -> String {
    format!("/registry/secrets/{ns}/{name}")
}

/// A Secret sealed by `provider` with `secret` under the key name `name`.
fn sealed(
    provider: Provider,
    key_name: &str,
    secret: &[u8],
    ns: &str,
    name: &str,
) -> (String, Vec<u8>) {
    let k = key(ns, name);
    let plain = encode_secret(ns, name, &[("password", PASSWORD)]);
    let mut v = format!("k8s:enc:{}:v1:{key_name}:", provider.as_str()).into_bytes();
    v.extend(seal(provider, secret, &plain, k.as_bytes()));
    (k, v)
}

fn plain(ns: &str, name: &str) -> (String, Vec<u8>) {
    (
        key(ns, name),
        encode_secret(ns, name, &[("password", PASSWORD)]),
    )
}

/// Runs `palisade etcd` with JSON output: (exit status, report, stderr).
fn etcd(server: &Server, extra: &[&str]) -> (i32, Value, String) {
    let mut args: Vec<String> = vec!["etcd".into()];
    args.extend(server.args());
    args.extend(["-f".into(), "json".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "a value was printed"
    );
    for k in [&KEY_A[..], &KEY_B[..]] {
        assert!(!stdout.contains(&b64(k)), "a key was printed");
    }
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), report, stderr)
}

/// The storage findings (rule, Secret name): those located in etcd, not
/// the rules that ran on the EncryptionConfiguration file itself.
fn rules(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| {
                    f["file"]
                        .as_str()
                        .is_some_and(|f| f.starts_with("/registry/"))
                })
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap().to_string(),
                        f["object"]["name"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn notes(report: &Value) -> String {
    report["summary"]["notes"].to_string()
}

#[test]
fn plaintext_secrets_are_critical_and_named_and_their_values_never_printed() {
    let server = Server::start();
    let json = br#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"legacy","namespace":"shop"},"data":{"password":"aHVudGVyMg=="}}"#;
    server.put_all(&[plain("shop", "db"), (key("shop", "legacy"), json.to_vec())]);
    let (code, report, stderr) = etcd(&server, &[]);
    assert_eq!(code, 1, "{stderr}");
    let mut got = rules(&report);
    got.sort();
    assert_eq!(
        got,
        [
            ("encryption/secret-plaintext".to_string(), "db".to_string()),
            (
                "encryption/secret-plaintext".to_string(),
                "legacy".to_string()
            )
        ]
    );
    let f = &report["findings"][0];
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["object"]["namespace"], "shop");
    assert_eq!(f["file"], "/registry/secrets/shop/db");
    assert!(
        notes(&report).contains("2 secrets: 1 plaintext (json), 1 plaintext (protobuf)"),
        "{}",
        notes(&report)
    );
}

#[test]
fn every_provider_is_decrypted_and_a_mix_after_turning_encryption_on_shows_what_is_left() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "  - aesgcm:\n      keys: [{{name: gcm, secret: {}}}]\n  - aescbc:\n      keys: [{{name: cbc, secret: {}}}]\n  - secretbox:\n      keys: [{{name: box, secret: {}}}]\n  - identity: {{}}\n",
            b64(&KEY_A),
            b64(&KEY_B),
            b64(&KEY_A)
        ),
    );
    server.put_all(&[
        sealed(Provider::Aesgcm, "gcm", &KEY_A, "shop", "a"),
        sealed(Provider::Aesgcm, "gcm", &KEY_A, "shop", "b"),
        sealed(Provider::Aescbc, "cbc", &KEY_B, "shop", "c"),
        sealed(Provider::Secretbox, "box", &KEY_A, "shop", "d"),
        plain("shop", "old"),
    ]);
    let (code, report, stderr) = etcd(&server, &["--encryption-config", cfg.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let mut got = rules(&report);
    got.sort();
    assert_eq!(
        got,
        [
            ("encryption/secret-plaintext".to_string(), "old".to_string()),
            ("encryption/stale-key".to_string(), "c".to_string()),
            ("encryption/stale-key".to_string(), "d".to_string()),
        ],
        "{report:#}"
    );
    let stale = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["object"]["name"] == "c")
        .unwrap();
    assert!(stale["message"]
        .as_str()
        .unwrap()
        .contains("aescbc key \"cbc\", not the write key (aesgcm key \"gcm\")"));
    assert!(stale["message"]
        .as_str()
        .unwrap()
        .contains("kubectl get secrets -A -o json | kubectl replace -f -"));
    let n = notes(&report);
    assert!(n.contains("2 aesgcm key \\\"gcm\\\""), "{n}");
    assert!(n.contains("1 secretbox key \\\"box\\\""), "{n}");
}

#[test]
fn an_openssl_encrypted_value_is_decrypted_with_its_configured_key() {
    // The aescbc payload made by `openssl enc`, not by palisade.
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let plain_path = dir.path().join("plain");
    std::fs::write(
        &plain_path,
        encode_secret("shop", "ossl", &[("password", PASSWORD)]),
    )
    .unwrap();
    let iv = "00112233445566778899aabbccddeeff";
    let hexkey: String = KEY_B.iter().map(|b| format!("{b:02x}")).collect();
    let out = std::process::Command::new("openssl")
        .args([
            "enc",
            "-aes-256-cbc",
            "-K",
            &hexkey,
            "-iv",
            iv,
            "-in",
            plain_path.to_str().unwrap(),
        ])
        .output()
        .expect("openssl runs");
    assert!(out.status.success());
    let mut value = b"k8s:enc:aescbc:v1:k1:".to_vec();
    value.extend((0..16).map(|i| u8::from_str_radix(&iv[2 * i..2 * i + 2], 16).unwrap()));
    value.extend(out.stdout);
    server.put_all(&[(key("shop", "ossl"), value)]);
    let cfg = config(
        dir.path(),
        &format!(
            "  - aescbc:\n      keys: [{{name: k1, secret: {}}}]\n",
            b64(&KEY_B)
        ),
    );
    let (_, report, stderr) = etcd(&server, &["--encryption-config", cfg.to_str().unwrap()]);
    assert!(rules(&report).is_empty(), "{report:#} {stderr}");
    assert!(
        notes(&report).contains("1 secrets: 1 aescbc key \\\"k1\\\""),
        "{}",
        notes(&report)
    );
}

#[test]
fn a_rotated_removed_or_wrong_key_and_a_corrupt_value_are_each_reported() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // new first (writes), old second (reads); "gone" was removed; "same"
    // now holds another secret than the one the value was sealed with.
    let cfg = config(
        dir.path(),
        &format!(
            "  - aesgcm:\n      keys:\n      - {{name: new, secret: {a}}}\n      - {{name: old, secret: {b}}}\n      - {{name: same, secret: {a}}}\n  - kms:\n      apiVersion: v2\n      name: vault\n      endpoint: unix:///run/kms.sock\n",
            a = b64(&KEY_A),
            b = b64(&KEY_B)
        ),
    );
    let (k, mut corrupt) = sealed(Provider::Aesgcm, "new", &KEY_A, "shop", "corrupt");
    *corrupt.last_mut().unwrap() ^= 0x55;
    server.put_all(&[
        sealed(Provider::Aesgcm, "new", &KEY_A, "shop", "fresh"),
        sealed(Provider::Aesgcm, "old", &KEY_B, "shop", "rotated"),
        sealed(Provider::Aesgcm, "gone", &KEY_B, "shop", "lost"),
        sealed(Provider::Aesgcm, "same", &KEY_B, "shop", "wrong"),
        (k, corrupt),
        (
            key("shop", "kms"),
            b"k8s:enc:kms:v2:vault:\x0a\x03abc".to_vec(),
        ),
        (
            key("shop", "kms-old"),
            b"k8s:enc:kms:v1:legacy:\x00\x01a".to_vec(),
        ),
    ]);
    let (code, report, stderr) = etcd(&server, &["--encryption-config", cfg.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    let mut got = rules(&report);
    got.sort();
    let want = [
        ("encryption/key-missing", "kms-old"),
        ("encryption/key-missing", "lost"),
        ("encryption/stale-key", "kms"),
        ("encryption/stale-key", "rotated"),
        ("encryption/undecryptable", "corrupt"),
        ("encryption/undecryptable", "wrong"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want, "{report:#}");
    let lost = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["object"]["name"] == "lost")
        .unwrap();
    assert!(
        lost["message"].as_str().unwrap().contains("data loss"),
        "{lost}"
    );
}

#[test]
fn ten_thousand_secrets_are_read_in_pages_of_one_snapshot() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "  - secretbox:\n      keys: [{{name: k, secret: {}}}]\n",
            b64(&KEY_A)
        ),
    );
    let mut values: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|i| {
            sealed(
                Provider::Secretbox,
                "k",
                &KEY_A,
                &format!("ns-{}", i % 100),
                &format!("s-{i}"),
            )
        })
        .collect();
    values[4321] = plain("ns-21", "s-4321");
    server.put_all(&values);
    let (code, report, stderr) = etcd(
        &server,
        &[
            "--encryption-config",
            cfg.to_str().unwrap(),
            "--page-size",
            "500",
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        rules(&report),
        [(
            "encryption/secret-plaintext".to_string(),
            "s-4321".to_string()
        )]
    );
    assert!(
        notes(&report)
            .contains("10000 secrets: 1 plaintext (protobuf), 9999 secretbox key \\\"k\\\""),
        "{}",
        notes(&report)
    );
    // The keys alone over the page size accepted (10,000 keys are some
    // 250 kB): pages go by limit instead, with the same result.
    let (_, report, stderr) = etcd(
        &server,
        &[
            "--encryption-config",
            cfg.to_str().unwrap(),
            "--page-size",
            "300",
            "--max-page-bytes",
            "65536",
        ],
    );
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{report:#} {stderr}"
    );
    assert_eq!(
        rules(&report),
        [(
            "encryption/secret-plaintext".to_string(),
            "s-4321".to_string()
        )]
    );
    assert!(
        notes(&report).contains("9999 secretbox"),
        "{}",
        notes(&report)
    );
}

#[test]
fn pages_over_the_size_limit_are_read_again_with_fewer_keys() {
    let server = Server::start();
    let big = vec![b'x'; 20_000];
    let values: Vec<(String, Vec<u8>)> = (0..40)
        .map(|i| {
            let name = format!("big-{i:02}");
            (
                key("shop", &name),
                encode_secret("shop", &name, &[("blob", &big)]),
            )
        })
        .collect();
    server.put_all(&values);
    // 40 values of 20 kB do not fit one page of 100 kB: halved until they do.
    let (code, report, stderr) = etcd(
        &server,
        &["--page-size", "40", "--max-page-bytes", "100000"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(rules(&report).len(), 40, "{report:#}");
    assert!(
        report["errors"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
}

#[test]
fn values_that_are_not_stored_secrets_are_errors_naming_their_key_and_the_rest_is_checked() {
    let server = Server::start();
    let mut configmap = b"k8s\x00".to_vec();
    // runtime.Unknown{typeMeta: {v1, ConfigMap}, raw: {metadata: {name: c}}}
    configmap.extend(b"\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x05\x0a\x03\x0a\x01c");
    server.put_all(&[
        (key("shop", "truncated"), b"k8s:enc:aesgcm:v1".to_vec()),
        (key("shop", "configmap"), configmap),
        (key("shop", "garbage"), b"\x00\x01\x02".to_vec()),
        plain("shop", "ok"),
    ]);
    let (code, report, stderr) = etcd(&server, &[]);
    assert_eq!(code, 2, "{stderr}");
    let errors: Vec<String> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["file"].as_str().unwrap(),
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors
        .iter()
        .any(|e| e.starts_with("/registry/secrets/shop/truncated: ")
            && e.contains("truncated encryption prefix")));
    assert!(errors
        .iter()
        .any(|e| e.starts_with("/registry/secrets/shop/configmap: ")
            && e.contains("holds a ConfigMap")));
    assert!(errors
        .iter()
        .any(|e| e.starts_with("/registry/secrets/shop/garbage: ")));
    assert_eq!(
        rules(&report),
        [("encryption/secret-plaintext".to_string(), "ok".to_string())]
    );
}

#[test]
fn an_etcd_that_is_down_or_refuses_the_client_certificate_is_an_error_saying_why() {
    let server = Server::start();
    // A client certificate from another CA.
    let other = tempfile::tempdir().unwrap();
    let (_, cert, key_file) = common::etcd::pki(other.path(), "intruder");
    let mut args: Vec<String> = vec!["etcd".into(), "-f".into(), "json".into()];
    args.extend([
        "--endpoints".into(),
        server.url.clone(),
        "--cacert".into(),
        server.ca.display().to_string(),
        "--cert".into(),
        cert.display().to_string(),
        "--key".into(),
        key_file.display().to_string(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::run(&argv);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = report["errors"][0]["message"].as_str().unwrap().to_string();
    assert!(message.contains("client certificate"), "{message}");

    // An endpoint that accepts connections and never answers (the
    // kernel completes the TCP handshake; nothing reads): the timeout ends it.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("https://{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let out = common::run(&[
        "etcd",
        "-f",
        "json",
        "--endpoints",
        &silent_url,
        "--timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cannot connect to etcd"),
        "{report:#}"
    );

    let url = server.url.clone();
    drop(server);
    let out = common::run(&["etcd", "-f", "json", "--endpoints", &url, "--timeout", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("cannot connect to etcd"), "{message}");
}

#[test]
fn scan_reports_a_readable_encryption_configuration_and_an_apiserver_reading_another_one() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        dir.path(),
        &format!(
            "  - secretbox:\n      keys: [{{name: k, secret: {}}}]\n",
            b64(&[3u8; 32])
        ),
    );
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::write(
        dir.path().join("kube-apiserver.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver, namespace: kube-system}\nspec:\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.33.0\n    command: [kube-apiserver, --encryption-provider-config=/etc/kubernetes/other/enc.yaml]\n",
    )
    .unwrap();
    let out = common::run(&["scan", dir.path().to_str().unwrap(), "-f", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let readable: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "encryption/config-readable")
        .collect();
    assert_eq!(readable.len(), 1, "{report:#}");
    assert!(readable[0]["message"]
        .as_str()
        .unwrap()
        .contains("mode 0644"));
    assert!(
        notes(&report)
            .contains("reads its EncryptionConfiguration from /etc/kubernetes/other/enc.yaml"),
        "{}",
        notes(&report)
    );
    // Owner-only: no finding.
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = common::run(&["scan", cfg.to_str().unwrap(), "-f", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !report["findings"]
            .to_string()
            .contains("encryption/config-readable"),
        "{report:#}"
    );
}

#[test]
fn an_encryption_configuration_that_does_not_parse_is_an_error_at_its_line_and_etcd_is_still_read()
{
    let server = Server::start();
    server.put_all(&[plain("shop", "db")]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("encryption.yaml");
    std::fs::write(
        &cfg,
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: [\n",
    )
    .unwrap();
    let (code, report, stderr) = etcd(&server, &["--encryption-config", cfg.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    let errors = report["errors"].as_array().unwrap();
    let ours = errors
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .contains("not a usable EncryptionConfiguration")
        })
        .expect("the configuration's error");
    assert_eq!(ours["file"], cfg.to_str().unwrap());
    assert!(ours["line"].as_u64().unwrap() >= 3, "{ours}");
    assert_eq!(
        rules(&report),
        [("encryption/secret-plaintext".to_string(), "db".to_string())]
    );
}
