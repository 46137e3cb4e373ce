//! `palisade verify-bundle` on real bundles from the Sigstore clients'
//! tests (../shared/corpora/sigstore): exit 0 verified, 1 not verified
//! (with the reason), 2 usage.

mod common;

use common::{repo, run};

fn corpus(rel: &str) -> String {
    repo()
        .join("../shared/corpora/sigstore")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

const STAGING_ROOT: &str =
    "sigstore-python/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstage.dev/trusted_root.json";

fn verify(identity: &str, artifact: &str) -> (i32, String) {
    let o = run(&[
        "verify-bundle",
        "--bundle",
        &corpus("sigstore-python/test/assets/bundle_v3.txt.sigstore"),
        "--certificate-identity",
        identity,
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "--trusted-root",
        &corpus(STAGING_ROOT),
        artifact,
    ]);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn a_keyless_bundle_verifies_and_each_failure_says_why() {
    let artifact = corpus("sigstore-python/test/assets/bundle_v3.txt");
    let (code, out) = verify("william@yossarian.net", &artifact);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("verified: signed by william@yossarian.net"),
        "{out}"
    );
    let (code, out) = verify("mallory@example.com", &artifact);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not verified: identity mismatch: got william@yossarian.net"),
        "{out}"
    );
    let other = corpus("sigstore-python/test/assets/bundle.txt");
    let (code, out) = verify("william@yossarian.net", &other);
    assert_eq!(code, 1, "{out}");
    // Usage: neither an identity nor a key.
    let o = run(&["verify-bundle", "--bundle", &artifact, &artifact]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_keyed_bundle_verifies_with_its_key_and_digest() {
    let keyed = |digest: &str| {
        run(&[
            "verify-bundle",
            "--bundle",
            &corpus("sigstore-go/examples/bundle-publish.json"),
            "--key",
            &corpus("sigstore-go/examples/publish_key.pub"),
            "--trusted-root",
            &corpus("sigstore-go/examples/trusted-root-public-good.json"),
            digest,
        ])
    };
    // The npm publish attestation of sigstore@1.3.0, by its digest.
    let o = keyed("sha512:76176ffa33808b54602c7c35de5c6e9a4deb96066dba6533f50ac234f4f1f4c6b3527515dc17c06fbe2860030f410eee69ea20079bd3a2c6f3dcf3b329b10751");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("verified: signed by the key"));
    let o = run(&[
        "verify-bundle",
        "--bundle",
        &corpus("sigstore-go/examples/bundle-publish.json"),
        "--key",
        &corpus("sigstore-go/examples/publish_key.pub"),
        "--trusted-root",
        &corpus("sigstore-go/examples/trusted-root-public-good.json"),
        "sha512:0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000dead",
    ]);
    // The wrong digest: not verified, saying the bundle is for something else.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// A SLSA provenance attestation (sigstore-js 2.0.0, signed keyless from
/// GitHub Actions): its predicate type and CEL conditions on the predicate.
#[test]
fn an_attestations_predicate_type_and_conditions_are_checked() {
    let attest = |extra: &[&str]| {
        let bundle = corpus(
            "sigstore-go/pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
        );
        let root = corpus("sigstore-go/pkg/testing/data/trusted-roots/public-good.json");
        let mut args = vec![
            "verify-bundle",
            "--bundle",
            &bundle,
            "--certificate-identity-regexp",
            "https://github.com/sigstore/sigstore-js/.*",
            "--certificate-oidc-issuer",
            "https://token.actions.githubusercontent.com",
            "--trusted-root",
            &root,
        ];
        args.extend_from_slice(extra);
        args.push("sha512:46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c");
        let o = run(&args);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let (code, out) = attest(&[
        "--predicate-type",
        "https://slsa.dev/provenance/v1",
        "--condition",
        "predicate.buildDefinition.externalParameters.workflow.repository == 'https://github.com/sigstore/sigstore-js'",
        "--condition",
        "predicate.runDetails.builder.id.startsWith('https://github.com/actions/runner/')",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = attest(&["--predicate-type", "https://slsa.dev/provenance/v0.2"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("predicate type mismatch: got \"https://slsa.dev/provenance/v1\""),
        "{out}"
    );
    let (code, out) = attest(&[
        "--condition",
        "predicate.buildDefinition.externalParameters.workflow.ref == 'refs/tags/v2.0.0'",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("attestation condition is false"), "{out}");
    let (code, out) = attest(&["--condition", "predicate.nothere.x == 1"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cannot be evaluated"), "{out}");
}
