//! Unit tests of `cosign`.

use super::*;

const DIGEST: &str = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";

fn payload(reference: &str, digest: &str, kind: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": kind,
        },
        "optional": {"creator": "test"},
    }))
    .unwrap()
}

#[test]
fn payload_naming_digest_and_repository_passes() {
    let p = payload("ghcr.io/org/app", DIGEST, SIGNATURE_TYPE);
    assert_eq!(check_payload(&p, DIGEST, "ghcr.io/org/app"), Ok(()));
}

#[test]
fn payload_naming_another_digest_fails_with_both_digests() {
    let other = format!("sha256:{}", "0".repeat(64));
    let p = payload("ghcr.io/org/app", &other, SIGNATURE_TYPE);
    let err = check_payload(&p, DIGEST, "ghcr.io/org/app").unwrap_err();
    assert_eq!(err, format!("payload names {other} not {DIGEST}"));
}

#[test]
fn payload_naming_another_repository_fails() {
    let p = payload("ghcr.io/org/other", DIGEST, SIGNATURE_TYPE);
    let err = check_payload(&p, DIGEST, "ghcr.io/org/app").unwrap_err();
    assert_eq!(
        err,
        "payload names repository ghcr.io/org/other, not ghcr.io/org/app"
    );
}

#[test]
fn payload_of_another_type_fails() {
    let p = payload("ghcr.io/org/app", DIGEST, "atomic container signature");
    let err = check_payload(&p, DIGEST, "ghcr.io/org/app").unwrap_err();
    assert!(err.contains("atomic container signature"), "{err}");
}

#[test]
fn malformed_payloads_fail_without_panicking() {
    for bad in [
            &b""[..],
            b"not json",
            b"{}",
            b"[1,2]",
            br#"{"critical":{"identity":{},"image":{},"type":"x"}}"#,
            br#"{"critical":{"identity":{"docker-reference":7},"image":{"docker-manifest-digest":"x"},"type":"x"}}"#,
        ] {
            let err = check_payload(bad, DIGEST, "ghcr.io/org/app").unwrap_err();
            assert!(err.starts_with("payload is not"), "{err}");
        }
}

#[test]
fn docker_hub_names_are_normalised_alike() {
    for name in [
        "nginx",
        "docker.io/nginx",
        "docker.io/library/nginx",
        "index.docker.io/library/nginx",
        "index.docker.io/nginx",
        "docker.io/library/nginx:1.27",
    ] {
        assert_eq!(
            normalise_repository(name).as_deref(),
            Some("docker.io/library/nginx"),
            "{name}"
        );
    }
    assert_eq!(
        normalise_repository("index.docker.io/bitnami/redis").as_deref(),
        Some("docker.io/bitnami/redis")
    );
}

#[test]
fn other_registries_keep_host_and_path() {
    assert_eq!(
        normalise_repository("127.0.0.1:5000/test/app").as_deref(),
        Some("127.0.0.1:5000/test/app")
    );
    assert_eq!(
        normalise_repository(&format!("ghcr.io/a/b:tag@{DIGEST}")).as_deref(),
        Some("ghcr.io/a/b")
    );
    assert_eq!(normalise_repository("Not A Reference"), None);
    assert_eq!(normalise_repository(""), None);
}

#[test]
fn payload_identity_is_compared_normalised() {
    let p = payload("index.docker.io/library/nginx", DIGEST, SIGNATURE_TYPE);
    assert_eq!(check_payload(&p, DIGEST, "docker.io/library/nginx"), Ok(()));
}

#[test]
fn signature_tag_is_cosigns_triangulation() {
    assert_eq!(
        signature_tag(DIGEST).as_deref(),
        Some("sha256-4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945.sig")
    );
    assert_eq!(signature_tag("sha256:abc"), None);
    assert_eq!(signature_tag("sha512:00"), None);
    assert_eq!(signature_tag(&format!("sha256:{}", "/".repeat(64))), None);
}

#[test]
fn pem_errors_say_what_is_wrong() {
    let err = PublicKey::from_pem("garbage").unwrap_err();
    assert!(err.contains("no PEM block"), "{err}");
    let err = PublicKey::from_pem(
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
        )
        .unwrap_err();
    assert!(err.contains("private key"), "{err}");
    let err = PublicKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        .unwrap_err();
    assert!(err.contains("keyless"), "{err}");
    let err = PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        .unwrap_err();
    assert!(err.contains("unsupported or malformed"), "{err}");
}
