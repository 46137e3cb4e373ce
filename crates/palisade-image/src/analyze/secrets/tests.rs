//! Unit tests of `secrets`.

use super::*;
use crate::analyze::testutil::{drive, file};
use palisade_core::policy::SecretsPolicy;
use palisade_secrets::detector_for;

const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const GH: &str = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
const RSA: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq3XWGnb0bEqZ1xR4\n-----END RSA PRIVATE KEY-----\n";

fn scanner() -> SecretScanner {
    SecretScanner::new(detector_for(&SecretsPolicy::default()))
}

fn run(writes: &[crate::analyze::testutil::W<'_>], deleted: &[(usize, &str)]) -> Vec<ImageFinding> {
    let mut s = scanner();
    drive(&mut s, writes, deleted);
    s.findings()
}

fn assert_redacted(f: &[ImageFinding], secrets: &[&str]) {
    for x in f {
        for s in secrets {
            assert!(!x.message.contains(s), "leaked {s}: {}", x.message);
            assert!(!x.path.contains(s));
        }
        // Never more of a value than the detector's preview (4 chars + …).
        assert!(!x.message.contains("AKIAI"), "{}", x.message);
        assert!(!x.message.contains("MIIEp"), "{}", x.message);
    }
}

#[test]
fn aws_key_in_text_file_is_high_with_layer_path_and_preview() {
    let f = run(
        &[file(
            1,
            "app/config.ini",
            format!("[aws]\naws_access_key_id = {AWS_KEY}\n"),
        )],
        &[],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].rule, "secrets/in-image");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].layer, Some(1));
    assert_eq!(f[0].path, "app/config.ini");
    assert!(f[0].message.contains("aws-access-key-id"));
    assert!(f[0].message.contains("AKIA…"), "{}", f[0].message);
    assert_redacted(&f, &[AWS_KEY]);
}

#[test]
fn weak_generic_password_is_medium() {
    let f = run(
        &[file(0, "app/settings.properties", "db.password=hunter22\n")],
        &[],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::Medium);
    assert_redacted(&f, &["hunter22"]);
}

#[test]
fn ssh_private_key_by_name_is_a_sensitive_file() {
    let f = run(
        &[
            file(2, "root/.ssh/id_rsa", RSA),
            file(2, "root/.ssh/id_rsa.pub", "ssh-rsa AAAAB3Nza"),
        ],
        &[],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].rule, "secrets/sensitive-file");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].path, "root/.ssh/id_rsa");
    assert!(f[0].message.contains("SSH private key"));
    assert!(f[0].message.contains("private-key"), "{}", f[0].message);
    assert!(!f[0].message.contains("deleted"));
    assert_redacted(&f, &[RSA]);
}

#[test]
fn secret_deleted_in_later_layer_is_in_image_deleted() {
    let f = run(
        &[
            file(0, "etc/hostname", "x"),
            file(1, "build/token.txt", format!("token: {GH}\n")),
            file(1, "root/.ssh/id_ed25519", RSA),
            file(2, "app/bin", "ok"),
        ],
        &[(2, "build"), (2, "root/.ssh/id_ed25519")],
    );
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].rule, "secrets/in-image-deleted");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].layer, Some(1));
    assert_eq!(f[0].path, "build/token.txt");
    assert!(f[0].message.contains("still in layer 1"));
    assert_eq!(f[1].rule, "secrets/sensitive-file");
    assert!(f[1].message.contains("deleted"), "{}", f[1].message);
    assert_redacted(&f, &[GH]);
}

#[test]
fn rewritten_copy_of_same_secret_is_reported_once_where_it_survives() {
    let body = format!("GITHUB_TOKEN={GH}\n");
    let f = run(
        &[file(0, "app/run.sh", &body), file(1, "app/run.sh", &body)],
        &[],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].rule, "secrets/in-image");
    assert_eq!(f[0].layer, Some(1));
}

#[test]
fn repeated_matches_in_one_file_are_one_finding() {
    let body = format!("a={GH}\nb={GH}\nc={GH}\n");
    let f = run(&[file(0, "app/tokens.txt", body)], &[]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("3 matches"), "{}", f[0].message);
}

#[test]
fn generic_values_in_package_files_and_code_are_not_credentials() {
    let generic = "db_password = Zq8vN2xR7mKp4Lw9";
    let f = run(
        &[
            file(
                0,
                "var/lib/dpkg/info/app.list",
                "/etc/app.conf\n/usr/lib/app/x.conf\n",
            ),
            file(0, "etc/app.conf", generic),
            file(0, "usr/lib/app/x.conf", format!("token={GH}")),
            file(0, "opt/src/settings.py", generic),
            file(0, "opt/src/README.md", generic),
            file(0, "opt/src/key.py", format!("token = '{GH}'")),
            file(0, "opt/app.conf", generic),
        ],
        &[],
    );
    let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
    // Vendor formats count everywhere; generic values only in files no
    // package ships and that are not code.
    assert_eq!(
        paths,
        ["usr/lib/app/x.conf", "opt/src/key.py", "opt/app.conf"],
        "{f:?}"
    );
}

#[test]
fn binary_files_are_skipped() {
    let mut bin = b"\x7fELF\x02\x01\x01\0\0\0".to_vec();
    bin.extend_from_slice(format!("token={GH}").as_bytes());
    let f = run(
        &[
            file(0, "usr/bin/tool", &bin),
            file(0, "usr/lib/libx.so.1", format!("token={GH}")),
        ],
        &[],
    );
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn docs_certs_and_runtime_test_suites_are_skipped() {
    let f = run(
        &[
            file(
                0,
                "usr/share/doc/app/README",
                format!("export AWS_ACCESS_KEY_ID={AWS_KEY}"),
            ),
            file(0, "usr/lib/python3.11/test/keycert.pem", RSA),
            file(0, "usr/local/lib/python3.12/test/certdata/key.pem", RSA),
            file(
                0,
                "usr/local/go/src/crypto/tls/testdata/example-key.pem",
                RSA,
            ),
            file(0, "usr/local/go/src/crypto/tls/handshake_test.go", RSA),
            file(
                0,
                "etc/ssl/certs/ca.pem",
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            ),
        ],
        &[],
    );
    assert!(f.is_empty(), "{f:?}");
    // The same key outside those places is reported.
    let f = run(&[file(0, "opt/app/tls.key", RSA)], &[]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, "secrets/sensitive-file");
    assert!(f[0].message.contains("a private key"));
}

#[test]
fn credential_files_by_name() {
    let cases: &[(&str, String, Option<&str>)] = &[
            ("app/.env", "DEBUG=1\n".into(), Some(".env")),
            ("app/.env.example", "DB_PASSWORD=\n".into(), None),
            ("root/.aws/credentials", "[default]\nregion=x\n".into(), Some("AWS credentials")),
            (
                "root/.docker/config.json",
                r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpwYXNz"}}}"#.into(),
                Some("Docker config"),
            ),
            ("root/.docker/config.json", r#"{"auths":{},"credsStore":"desktop"}"#.into(), None),
            (
                "home/app/.npmrc",
                "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n".into(),
                Some(".npmrc"),
            ),
            ("home/app/.npmrc", "registry=https://registry.npmjs.org/\n".into(), None),
            ("root/.git-credentials", "https://u:p@github.com\n".into(), Some("git credential")),
            ("root/.netrc", "machine h login u password Zx8vB2nM4qW6\n".into(), Some(".netrc")),
            ("root/.pypirc", "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n".into(), Some(".pypirc")),
            (
                "root/.kube/config",
                "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: abc.def\n".into(),
                Some("kubeconfig"),
            ),
            (
                "srv/cluster.yaml",
                "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: a\n  user:\n    client-key-data: LS0tLS1\n".into(),
                Some("kubeconfig"),
            ),
            (
                "srv/deploy.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: users\n".into(),
                None,
            ),
            ("srv/plain.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(), None),
        ];
    for (path, body, want) in cases {
        let f: Vec<ImageFinding> = run(&[file(0, path, body)], &[])
            .into_iter()
            .filter(|f| f.rule == "secrets/sensitive-file")
            .collect();
        match want {
            Some(w) => {
                assert_eq!(f.len(), 1, "{path}: {f:?}");
                assert!(f[0].message.contains(w), "{path}: {}", f[0].message);
            }
            None => assert!(f.is_empty(), "{path}: {f:?}"),
        }
    }
}

#[test]
fn netrc_password_preview_is_redacted() {
    let f = run(
        &[file(
            0,
            "root/.netrc",
            "machine h login u password Zx8vB2nM4qW6\n",
        )],
        &[],
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("netrc-password"), "{}", f[0].message);
    assert_redacted(&f, &["Zx8vB2nM4qW6"]);
}

#[test]
fn files_over_the_content_limit_are_counted_in_notes() {
    let mut s = scanner();
    let e = Entry {
        layer: 0,
        path: "app/huge.json",
        kind: EntryKind::File,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 5 << 20,
    };
    assert!(s.wants(&e));
    s.entry(&e, None);
    s.finish(&FinalFs::default());
    assert_eq!(s.notes().len(), 1);
}

#[test]
fn skip_rules_keep_ordinary_paths() {
    assert!(skip_path("usr/lib/python3.11/test/badcert.pem"));
    assert!(!skip_path(
        "usr/lib/python3.11/site-packages/app/settings.py"
    ));
    assert!(!skip_path("usr/lib/python3.11/testing.py"));
    assert!(skip_path("usr/lib/go-1.22/src/crypto/x509/testdata/a.pem"));
    assert!(!skip_path("usr/local/go/src/crypto/tls/common.go"));
    assert!(!skip_path("app/testdata/key.pem"));
    assert!(binary_name("usr/lib/x86_64-linux-gnu/libc.so.6"));
    assert!(!binary_name("etc/passwd"));
}
