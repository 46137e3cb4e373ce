//! Keyed cosign verification and blob fetching against a real
//! `docker-registry`, with signature artifacts written as cosign writes them
//! and pushed by skopeo.

mod common;
#[path = "common/sign.rs"]
mod sign;

use std::time::Duration;

use common::{Layout, Registry, OCI_MANIFEST};
use palisade_oci::{Client, ClientOptions, OciError, PublicKey, SignatureCheck};
use sha2::{Digest as _, Sha256};
use sign::{payload, push_signature, sig_tag, SigLayer, TestKey};

fn client(host: &str, cache_ttl: Duration) -> Client {
    Client::new(ClientOptions {
        insecure_registries: vec![host.to_string()],
        timeout: Duration::from_secs(10),
        cache_ttl,
        negative_ttl: cache_ttl,
        ..ClientOptions::default()
    })
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn key(k: &TestKey) -> PublicKey {
    PublicKey::from_pem(&k.public_pem()).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A registry with `test/app:v1` pushed, and two P-256 keys.
struct Scene {
    registry: Registry,
    /// Digest of `test/app:v1`.
    digest: String,
    k1: TestKey,
    k2: TestKey,
}

impl Scene {
    fn new() -> Self {
        let registry = Registry::start();
        let mut layout = Layout::new();
        let app = layout.image("linux", "amd64", "signed app");
        layout.tag("v1", &app, OCI_MANIFEST);
        registry.push(&layout.dir, "v1", "test/app:v1");
        Self {
            registry,
            digest: app.digest,
            k1: TestKey::p256(),
            k2: TestKey::p256(),
        }
    }

    /// `HOST/repo`, as cosign names it in the payload and as callers pass it.
    fn repo(&self, repo: &str) -> String {
        format!("{}/{repo}", self.registry.host)
    }

    fn client(&self) -> Client {
        client(&self.registry.host, Duration::from_secs(300))
    }

    fn verify(&self, reference: &str, digest: &str, keys: &[PublicKey]) -> SignatureCheck {
        rt().block_on(self.client().verify_cosign(reference, digest, keys))
            .unwrap()
    }
}

#[test]
fn cosign_scenarios() {
    // One registry for all scenarios: starting it costs about a second.
    let s = Scene::new();
    valid_p256_signature_is_verified(&s);
    second_of_two_keys_is_reported_by_index(&s);
    signature_by_another_key_is_invalid(&s);
    tampered_payload_is_invalid(&s);
    signature_for_another_digest_is_invalid(&s);
    signature_naming_another_repository_is_invalid(&s);
    unsigned_digest_and_unknown_repository_are_missing(&s);
    ed25519_p384_and_rsa_signatures_are_verified(&s);
    later_valid_layer_is_found_after_invalid_ones(&s);
    hostile_layers_are_rejected_with_reasons(&s);
    index_under_signature_tag_is_an_error(&s);
    fetch_blob_round_trips_and_refuses(&s);
    fetch_manifest_returns_bytes_digest_and_media_type(&s);
}

fn valid_p256_signature_is_verified(s: &Scene) {
    let sig = push_signature(
        &s.registry,
        "test/app",
        &s.digest,
        &[SigLayer::signed(
            &s.k1,
            payload(&s.repo("test/app"), &s.digest),
        )],
    );
    assert_eq!(
        sig,
        s.registry
            .skopeo_digest(&format!("test/app:{}", sig_tag(&s.digest)))
    );
    // The tag or digest part of the reference does not matter.
    for reference in [
        s.repo("test/app"),
        s.repo("test/app:v1"),
        format!("{}@{}", s.repo("test/app"), s.digest),
    ] {
        assert_eq!(
            s.verify(&reference, &s.digest, &[key(&s.k1)]),
            SignatureCheck::Verified {
                key: 0,
                signature_digest: sig.clone()
            },
            "{reference}"
        );
    }
}

fn second_of_two_keys_is_reported_by_index(s: &Scene) {
    let check = s.verify(&s.repo("test/app"), &s.digest, &[key(&s.k2), key(&s.k1)]);
    assert!(
        matches!(check, SignatureCheck::Verified { key: 1, .. }),
        "{check:?}"
    );
}

fn signature_by_another_key_is_invalid(s: &Scene) {
    assert_eq!(
        s.verify(&s.repo("test/app"), &s.digest, &[key(&s.k2)]),
        SignatureCheck::Invalid {
            reasons: vec!["layer 0: signature does not verify with the trusted key".into()]
        }
    );
}

fn tampered_payload_is_invalid(s: &Scene) {
    // The stored payload still names the right digest and repository, and
    // the layer digest matches it: only the signature gives it away.
    let signed = payload(&s.repo("test/tampered"), &s.digest);
    let mut changed = signed.clone();
    changed.push(b' ');
    push_signature(
        &s.registry,
        "test/tampered",
        &s.digest,
        &[SigLayer::tampered(&s.k1, &signed, changed)],
    );
    assert_eq!(
        s.verify(&s.repo("test/tampered"), &s.digest, &[key(&s.k1)]),
        SignatureCheck::Invalid {
            reasons: vec!["layer 0: signature does not verify with the trusted key".into()]
        }
    );
}

fn signature_for_another_digest_is_invalid(s: &Scene) {
    let other = format!("sha256:{}", "ab".repeat(32));
    push_signature(
        &s.registry,
        "test/moved",
        &s.digest,
        &[SigLayer::signed(
            &s.k1,
            payload(&s.repo("test/moved"), &other),
        )],
    );
    assert_eq!(
        s.verify(&s.repo("test/moved"), &s.digest, &[key(&s.k1)]),
        SignatureCheck::Invalid {
            reasons: vec![format!("layer 0: payload names {other} not {}", s.digest)]
        }
    );
}

fn signature_naming_another_repository_is_invalid(s: &Scene) {
    // A valid signature of the same digest, copied from another repository.
    let elsewhere = s.repo("test/elsewhere");
    push_signature(
        &s.registry,
        "test/copied",
        &s.digest,
        &[SigLayer::signed(&s.k1, payload(&elsewhere, &s.digest))],
    );
    assert_eq!(
        s.verify(&s.repo("test/copied"), &s.digest, &[key(&s.k1)]),
        SignatureCheck::Invalid {
            reasons: vec![format!(
                "layer 0: payload names repository {elsewhere}, not {}",
                s.repo("test/copied")
            )]
        }
    );
}

fn unsigned_digest_and_unknown_repository_are_missing(s: &Scene) {
    let unsigned = format!("sha256:{}", "cd".repeat(32));
    assert_eq!(
        s.verify(&s.repo("test/app"), &unsigned, &[key(&s.k1)]),
        SignatureCheck::Missing
    );
    assert_eq!(
        s.verify(&s.repo("test/nothing-here"), &s.digest, &[key(&s.k1)]),
        SignatureCheck::Missing
    );
}

fn ed25519_p384_and_rsa_signatures_are_verified(s: &Scene) {
    for (repo, signer, kind) in [
        ("test/ed25519", TestKey::ed25519(), "Ed25519 key sha256:"),
        ("test/p384", TestKey::p384(), "ECDSA P-384 key sha256:"),
        (
            "test/rsa-pkcs1",
            TestKey::rsa(false),
            "RSA-2048 key sha256:",
        ),
        ("test/rsa-pss", TestKey::rsa(true), "RSA-2048 key sha256:"),
    ] {
        let sig = push_signature(
            &s.registry,
            repo,
            &s.digest,
            &[SigLayer::signed(&signer, payload(&s.repo(repo), &s.digest))],
        );
        let public = key(&signer);
        assert!(public.describe().starts_with(kind), "{}", public.describe());
        assert_eq!(
            s.verify(&s.repo(repo), &s.digest, &[key(&s.k1), public]),
            SignatureCheck::Verified {
                key: 1,
                signature_digest: sig
            },
            "{repo}"
        );
    }
}

fn later_valid_layer_is_found_after_invalid_ones(s: &Scene) {
    // Two signatures of one image (as after a key rotation): the first is
    // by a key not given, the second verifies.
    let p = payload(&s.repo("test/rotated"), &s.digest);
    push_signature(
        &s.registry,
        "test/rotated",
        &s.digest,
        &[
            SigLayer::signed(&s.k2, p.clone()),
            SigLayer::signed(&s.k1, p),
        ],
    );
    assert!(matches!(
        s.verify(&s.repo("test/rotated"), &s.digest, &[key(&s.k1)]),
        SignatureCheck::Verified { key: 0, .. }
    ));
}

fn hostile_layers_are_rejected_with_reasons(s: &Scene) {
    let good = payload(&s.repo("test/hostile"), &s.digest);
    let mut bad_base64 = SigLayer::signed(&s.k1, good.clone());
    bad_base64.annotation = Some("!!! not base64 !!!".into());
    let mut unannotated = SigLayer::signed(&s.k1, good.clone());
    unannotated.annotation = None;
    let mut other_type = SigLayer::signed(&s.k1, good.clone());
    other_type.media_type = "application/vnd.oci.image.layer.v1.tar+gzip".into();
    let huge = vec![b' '; 2 << 20];
    let huge_len = huge.len();
    push_signature(
        &s.registry,
        "test/hostile",
        &s.digest,
        &[
            bad_base64,
            unannotated,
            other_type,
            // Signed by the right key but not a payload: the signature is
            // valid, the content is not trusted for being signed.
            SigLayer::signed(&s.k1, b"not json".to_vec()),
            SigLayer::signed(&s.k1, huge),
        ],
    );
    let SignatureCheck::Invalid { reasons } =
        s.verify(&s.repo("test/hostile"), &s.digest, &[key(&s.k1)])
    else {
        panic!("hostile layers must be Invalid");
    };
    assert_eq!(reasons.len(), 5, "{reasons:#?}");
    assert!(
        reasons[0].starts_with("layer 0: signature annotation is not base64"),
        "{}",
        reasons[0]
    );
    assert_eq!(
        reasons[1],
        "layer 1: no dev.cosignproject.cosign/signature annotation"
    );
    assert_eq!(
        reasons[2],
        "layer 2: media type application/vnd.oci.image.layer.v1.tar+gzip is not a cosign signature payload"
    );
    assert!(
        reasons[3].starts_with("layer 3: payload is not a cosign simple signing document"),
        "{}",
        reasons[3]
    );
    assert_eq!(
        reasons[4],
        format!("layer 4: payload of {huge_len} bytes is over the limit of 1048576 bytes")
    );
}

fn index_under_signature_tag_is_an_error(s: &Scene) {
    let mut layout = Layout::new();
    let image = layout.image("linux", "amd64", "not a signature");
    let index = layout.index(&[("linux", "amd64", &image)]);
    layout.tag("idx", &index, common::OCI_INDEX);
    s.registry.push(
        &layout.dir,
        "idx",
        &format!("test/indexsig:{}", sig_tag(&s.digest)),
    );
    let err = rt()
        .block_on(
            s.client()
                .verify_cosign(&s.repo("test/indexsig"), &s.digest, &[key(&s.k1)]),
        )
        .unwrap_err();
    assert!(matches!(err, OciError::Registry { .. }), "{err}");
    assert!(err.to_string().contains("image index"), "{err}");
}

fn fetch_blob_round_trips_and_refuses(s: &Scene) {
    let c = s.client();
    let rt = rt();
    let bytes = payload(&s.repo("test/app"), &s.digest);
    let digest = sha256(&bytes);
    // Any reference of the repository will do; its tag is ignored.
    let app = s.repo("test/app:v1");
    assert_eq!(
        rt.block_on(c.fetch_blob(&app, &digest, 1 << 20)).unwrap(),
        bytes
    );
    assert_eq!(
        rt.block_on(c.fetch_blob(&app, &digest, bytes.len() as u64))
            .unwrap(),
        bytes
    );

    let err = rt
        .block_on(c.fetch_blob(&app, &digest, bytes.len() as u64 - 1))
        .unwrap_err();
    assert!(
        matches!(err, OciError::TooLarge { limit, .. } if limit == bytes.len() as u64 - 1),
        "{err}"
    );

    let absent = format!("sha256:{}", "ef".repeat(32));
    let err = rt
        .block_on(c.fetch_blob(&app, &absent, 1 << 20))
        .unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");

    let err = rt
        .block_on(c.fetch_blob(&app, "sha256:../../etc", 1 << 20))
        .unwrap_err();
    assert!(matches!(err, OciError::InvalidReference { .. }), "{err}");
}

fn fetch_manifest_returns_bytes_digest_and_media_type(s: &Scene) {
    let c = s.client();
    let (bytes, digest, media_type) = rt()
        .block_on(c.fetch_manifest(&s.repo("test/app:v1")))
        .unwrap();
    assert_eq!(bytes, s.registry.skopeo_raw("test/app:v1"));
    assert_eq!(digest, s.digest);
    assert_eq!(media_type, OCI_MANIFEST);
    let by_digest = format!("{}@{}", s.repo("test/app"), s.digest);
    let (again, _, _) = rt().block_on(c.fetch_manifest(&by_digest)).unwrap();
    assert_eq!(again, bytes);
    let err = rt()
        .block_on(c.fetch_manifest(&s.repo("test/app:nope")))
        .unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");
}

#[test]
fn unreachable_registry_is_an_error() {
    let host = format!("127.0.0.1:{}", common::closed_port());
    let c = client(&host, Duration::from_secs(300));
    let digest = format!("sha256:{}", "12".repeat(32));
    let err = rt()
        .block_on(c.verify_cosign(
            &format!("{host}/test/app"),
            &digest,
            &[key(&TestKey::p256())],
        ))
        .unwrap_err();
    assert!(matches!(err, OciError::Unreachable { .. }), "{err}");
}

#[test]
fn positive_verdicts_are_kept_and_negative_ones_expire() {
    let s = Scene::new();
    let signed = s.digest.clone();
    let unsigned = format!("sha256:{}", "34".repeat(32));
    let sig = push_signature(
        &s.registry,
        "test/app",
        &signed,
        &[SigLayer::signed(
            &s.k1,
            payload(&s.repo("test/app"), &signed),
        )],
    );
    // A zero TTL: only results cached without expiry survive. A signature
    // may be pushed later, so "none found" and "none valid" expire.
    let c = client(&s.registry.host, Duration::ZERO);
    let rt = rt();
    let verified = SignatureCheck::Verified {
        key: 0,
        signature_digest: sig,
    };
    let invalid = SignatureCheck::Invalid {
        reasons: vec!["layer 0: signature does not verify with the trusted key".into()],
    };
    let app = s.repo("test/app");
    let check = |digest: &str, k: &TestKey| rt.block_on(c.verify_cosign(&app, digest, &[key(k)]));
    assert_eq!(check(&signed, &s.k1).unwrap(), verified);
    assert_eq!(check(&signed, &s.k2).unwrap(), invalid);
    assert_eq!(check(&unsigned, &s.k1).unwrap(), SignatureCheck::Missing);

    let Scene {
        registry, k1, k2, ..
    } = s;
    drop(registry);
    assert_eq!(check(&signed, &k1).unwrap(), verified);
    let err = check(&signed, &k2).unwrap_err();
    assert!(matches!(err, OciError::Unreachable { .. }), "{err}");
    let err = check(&unsigned, &k1).unwrap_err();
    assert!(matches!(err, OciError::Unreachable { .. }), "{err}");
}

#[test]
fn pem_errors_are_clear() {
    let err = PublicKey::from_pem("garbage").unwrap_err();
    assert!(err.contains("no PEM block"), "{err}");
    let err = PublicKey::from_pem(&TestKey::p256().private_pem()).unwrap_err();
    assert!(
        err.contains("private key") && err.contains("public key"),
        "{err}"
    );
    let err = PublicKey::from_pem(&TestKey::ed25519().private_pem()).unwrap_err();
    assert!(err.contains("private key"), "{err}");
    let two = format!(
        "{}{}",
        TestKey::p256().public_pem(),
        TestKey::p256().public_pem()
    );
    let err = PublicKey::from_pem(&two).unwrap_err();
    assert!(err.contains("2 PUBLIC KEY blocks"), "{err}");
}

#[test]
fn keys_describe_kind_and_fingerprint() {
    let k = TestKey::p256();
    let public = key(&k);
    let described = public.describe();
    assert!(
        described.starts_with("ECDSA P-256 key sha256:"),
        "{described}"
    );
    assert!(described.ends_with('…'), "{described}");
    // Same key, same description; another key, another one.
    assert_eq!(key(&k).describe(), described);
    assert_ne!(key(&TestKey::p256()).describe(), described);
    assert!(key(&TestKey::ed25519())
        .describe()
        .starts_with("Ed25519 key sha256:"));
    let debug = format!("{public:?}");
    assert!(debug.contains("EcdsaP256"), "{debug}");
}
