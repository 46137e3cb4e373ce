//! Resolution against a real `docker-registry` with images pushed by skopeo.

mod common;

use std::time::Duration;

use common::Fixture;
use palisade_oci::{Client, ClientOptions, OciError, Platform};

fn client(fx: &Fixture, platform: &str) -> Client {
    Client::new(ClientOptions {
        insecure_registries: vec![fx.registry.host.clone()],
        platform: platform.parse::<Platform>().unwrap(),
        timeout: Duration::from_secs(10),
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

#[test]
fn registry_scenarios() {
    // One registry for all scenarios: starting it and pushing costs ~1 s.
    let fx = Fixture::new();
    tag_resolves_to_the_digest_skopeo_reports(&fx);
    index_resolves_to_index_and_platform_digest(&fx);
    platform_flag_selects_arm64_manifest(&fx);
    missing_platform_is_a_clear_error(&fx);
    unknown_tag_and_repo_are_not_found(&fx);
    digest_reference_is_verified_and_pinned(&fx);
    wrong_digest_reference_is_not_found(&fx);
    tag_lookups_are_cached_until_ttl(&fx);
}

fn tag_resolves_to_the_digest_skopeo_reports(fx: &Fixture) {
    let c = client(fx, "linux/amd64");
    let r = rt()
        .block_on(c.resolve(&format!("{}/test/app:v1", fx.registry.host)))
        .unwrap();
    assert_eq!(r.digest, fx.registry.skopeo_inspect_digest("test/app:v1"));
    assert_eq!(r.digest, fx.app.digest);
    assert_eq!(r.media_type, common::OCI_MANIFEST);
    assert_eq!(r.platform_digest, None);
    assert_eq!(
        r.pinned(),
        format!("{}/test/app:v1@{}", fx.registry.host, fx.app.digest)
    );
}

fn index_resolves_to_index_and_platform_digest(fx: &Fixture) {
    let c = client(fx, "linux/amd64");
    let r = rt()
        .block_on(c.resolve(&format!("{}/test/multi:v1", fx.registry.host)))
        .unwrap();
    assert_eq!(r.digest, fx.registry.skopeo_digest("test/multi:v1"));
    assert_eq!(r.digest, fx.multi.digest);
    assert_eq!(r.media_type, common::OCI_INDEX);
    assert_eq!(
        r.platform_digest.as_deref(),
        Some(fx.multi_amd64.digest.as_str())
    );
}

fn platform_flag_selects_arm64_manifest(fx: &Fixture) {
    let c = client(fx, "linux/arm64");
    let r = rt()
        .block_on(c.resolve(&format!("{}/test/multi:v1", fx.registry.host)))
        .unwrap();
    assert_eq!(r.digest, fx.multi.digest);
    assert_eq!(
        r.platform_digest.as_deref(),
        Some(fx.multi_arm64.digest.as_str())
    );
}

fn missing_platform_is_a_clear_error(fx: &Fixture) {
    let c = client(fx, "linux/s390x");
    let err = rt()
        .block_on(c.resolve(&format!("{}/test/multi:v1", fx.registry.host)))
        .unwrap_err();
    assert!(matches!(err, OciError::NoPlatform { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("linux/s390x") && msg.contains("linux/arm64"),
        "{msg}"
    );
}

fn unknown_tag_and_repo_are_not_found(fx: &Fixture) {
    let c = client(fx, "linux/amd64");
    for image in ["test/app:nope", "test/none:v1"] {
        let err = rt()
            .block_on(c.resolve(&format!("{}/{image}", fx.registry.host)))
            .unwrap_err();
        assert!(matches!(err, OciError::NotFound { .. }), "{image}: {err:?}");
        assert!(err.to_string().contains("not found"), "{err}");
    }
}

fn digest_reference_is_verified_and_pinned(fx: &Fixture) {
    let c = client(fx, "linux/amd64");
    let image = format!("{}/test/app@{}", fx.registry.host, fx.app.digest);
    let r = rt().block_on(c.resolve(&image)).unwrap();
    assert_eq!(r.digest, fx.app.digest);
    assert_eq!(r.pinned(), image);
}

fn wrong_digest_reference_is_not_found(fx: &Fixture) {
    let c = client(fx, "linux/amd64");
    let image = format!("{}/test/app@sha256:{}", fx.registry.host, "0".repeat(64));
    let err = rt().block_on(c.resolve(&image)).unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err:?}");
}

fn tag_lookups_are_cached_until_ttl(fx: &Fixture) {
    // Retag test/cache:v1 from the single image to the index; a cached client
    // keeps the old digest, one with a zero TTL sees the new one.
    let mut layout = common::Layout::new();
    let first = layout.image("linux", "amd64", "cache one");
    layout.tag("v1", &first, common::OCI_MANIFEST);
    fx.registry.push(&layout.dir, "v1", "test/cache:v1");
    let image = format!("{}/test/cache:v1", fx.registry.host);
    let cached = client(fx, "linux/amd64");
    let uncached = Client::new(ClientOptions {
        insecure_registries: vec![fx.registry.host.clone()],
        cache_ttl: Duration::ZERO,
        ..ClientOptions::default()
    })
    .unwrap();
    let rt = rt();
    assert_eq!(
        rt.block_on(cached.resolve(&image)).unwrap().digest,
        first.digest
    );
    assert_eq!(
        rt.block_on(uncached.resolve(&image)).unwrap().digest,
        first.digest
    );

    let mut layout = common::Layout::new();
    let second = layout.image("linux", "amd64", "cache two");
    layout.tag("v1", &second, common::OCI_MANIFEST);
    fx.registry.push(&layout.dir, "v1", "test/cache:v1");
    assert_eq!(
        rt.block_on(cached.resolve(&image)).unwrap().digest,
        first.digest
    );
    assert_eq!(
        rt.block_on(uncached.resolve(&image)).unwrap().digest,
        second.digest
    );
}

#[test]
fn unreachable_registry_is_reported_after_retries() {
    let host = format!("127.0.0.1:{}", common::closed_port());
    let c = Client::new(ClientOptions {
        insecure_registries: vec![host.clone()],
        timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    })
    .unwrap();
    let err = rt()
        .block_on(c.resolve(&format!("{host}/test/app:v1")))
        .unwrap_err();
    assert!(matches!(err, OciError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn invalid_reference_is_rejected_before_any_request() {
    let c = Client::new(ClientOptions::default()).unwrap();
    let err = rt().block_on(c.resolve("UPPER/Case:bad tag")).unwrap_err();
    assert!(matches!(err, OciError::InvalidReference { .. }), "{err:?}");
}
