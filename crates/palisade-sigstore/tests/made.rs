//! Bundles made in the test: a test CA standing in for Fulcio (its leaf
//! certificates carry Fulcio's issuer extension, OID 1.3.6.1.4.1.57264.1.8)
//! and a test log key standing in for Rekor (a signed entry timestamp
//! over the hashedrekord entry), listed in a test `trusted_root.json`.
//! Cases: valid, wrong identity, wrong issuer, signed outside the
//! certificate's validity, missing proof, tampered bundle, another artifact.

#[path = "common/fulcio.rs"]
mod fulcio;

use fulcio::{World, ISSUER, SIGNED_AT, SUBJECT};
use palisade_sigstore::{verify_blob, ClaimsPolicy, Failure, Signed, Signer, Subject};

fn signer(issuer: &str, subject: &str) -> Signer {
    Signer::Keyless {
        issuer: issuer.into(),
        subject: Subject::Exact(subject.into()),
        claims: Default::default(),
    }
}

fn reason(r: Result<palisade_sigstore::Verified, Failure>) -> String {
    match r {
        Err(Failure::NotVerified(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn bundles_from_a_test_fulcio_and_log_verify_and_fail_for_the_right_reason() {
    let w = World::new();
    let root = w.root();
    let artifact = b"release 1.0";
    let (leaf, key) = w.leaf(SUBJECT, ISSUER);
    let good = w.bundle(artifact, &leaf, &key, SIGNED_AT, true);
    let v = verify_blob(
        Signed::Blob(artifact),
        &good,
        &signer(ISSUER, SUBJECT),
        &root,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.identity.as_deref(), Some(SUBJECT));
    assert_eq!(v.issuer.as_deref(), Some(ISSUER));
    assert!(v.tlog);

    let r = reason(verify_blob(
        Signed::Blob(artifact),
        &good,
        &signer(ISSUER, "other@example.test"),
        &root,
    ));
    assert_eq!(r, format!("identity mismatch: got {SUBJECT}"));
    let r = reason(verify_blob(
        Signed::Blob(artifact),
        &good,
        &signer("https://other.test", SUBJECT),
        &root,
    ));
    assert_eq!(r, format!("issuer mismatch: got {ISSUER}"));
    // Logged a day after the certificate expired.
    let late = w.bundle(artifact, &leaf, &key, SIGNED_AT + 2 * 86_400, true);
    let r = reason(verify_blob(
        Signed::Blob(artifact),
        &late,
        &signer(ISSUER, SUBJECT),
        &root,
    ));
    assert!(
        r.starts_with("signed outside the certificate's validity"),
        "{r}"
    );
    // No signed entry timestamp and no inclusion proof.
    let bare = w.bundle(artifact, &leaf, &key, SIGNED_AT, false);
    let r = reason(verify_blob(
        Signed::Blob(artifact),
        &bare,
        &signer(ISSUER, SUBJECT),
        &root,
    ));
    assert!(r.starts_with("no transparency proof"), "{r}");
    // The signature swapped for another one.
    let other = w.bundle(b"something else", &leaf, &key, SIGNED_AT, true);
    let other_sig: serde_json::Value = serde_json::from_str(&other).unwrap();
    let mut tampered: serde_json::Value = serde_json::from_str(&good).unwrap();
    tampered["messageSignature"]["signature"] = other_sig["messageSignature"]["signature"].clone();
    let r = reason(verify_blob(
        Signed::Blob(artifact),
        &tampered.to_string(),
        &signer(ISSUER, SUBJECT),
        &root,
    ));
    assert!(
        r.starts_with("signature does not verify") || r.contains("log entry does not match"),
        "{r}"
    );
    // Another artifact.
    let r = reason(verify_blob(
        Signed::Blob(b"release 2.0"),
        &good,
        &signer(ISSUER, SUBJECT),
        &root,
    ));
    assert!(
        r.contains("not for this artifact") || r.contains("signature"),
        "{r}"
    );
    // A certificate from a CA the root does not list.
    let stranger = World::new();
    let (sleaf, skey) = stranger.leaf(SUBJECT, ISSUER);
    let foreign = w.bundle(artifact, &sleaf, &skey, SIGNED_AT, true);
    let r = reason(verify_blob(
        Signed::Blob(artifact),
        &foreign,
        &signer(ISSUER, SUBJECT),
        &root,
    ));
    assert!(
        r.starts_with("certificate not issued by a trusted Fulcio"),
        "{r}"
    );
}

#[test]
fn github_workflow_claims_are_read_from_the_certificate_and_required() {
    let w = World::new();
    let root = w.root();
    let artifact = b"release 1.0";
    // The first extensions (raw strings) for trigger, workflow, repository
    // and ref; the later source-repository one (UTF8String) wins over .1.5.
    let (leaf, key) = w.leaf_with(
        SUBJECT,
        ISSUER,
        &[
            (2, "push"),
            (4, "release"),
            (5, "acme/old-name"),
            (6, "refs/heads/main"),
            (12, "https://github.com/acme/app"),
        ],
    );
    let bundle = w.bundle(artifact, &leaf, &key, SIGNED_AT, true);
    let with = |claims: ClaimsPolicy| Signer::Keyless {
        issuer: ISSUER.into(),
        subject: Subject::Exact(SUBJECT.into()),
        claims,
    };
    let v = verify_blob(
        Signed::Blob(artifact),
        &bundle,
        &with(ClaimsPolicy::default()),
        &root,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.claims.repository.as_deref(), Some("acme/app"));
    assert_eq!(v.claims.git_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(v.claims.workflow.as_deref(), Some("release"));
    assert_eq!(v.claims.trigger.as_deref(), Some("push"));
    let all = ClaimsPolicy {
        repository: Some("acme/app".into()),
        git_ref: Some("refs/heads/main".into()),
        workflow: Some("release".into()),
        trigger: Some("push".into()),
    };
    assert!(verify_blob(Signed::Blob(artifact), &bundle, &with(all.clone()), &root).is_ok());
    let wrong_ref = ClaimsPolicy {
        git_ref: Some("refs/tags/v1".into()),
        ..all
    };
    let r = reason(verify_blob(
        Signed::Blob(artifact),
        &bundle,
        &with(wrong_ref),
        &root,
    ));
    assert_eq!(
        r,
        "identity mismatch: workflow ref is \"refs/heads/main\", not \"refs/tags/v1\""
    );
}

#[test]
fn dsse_attestations_verify_for_their_subject_only() {
    let w = World::new();
    let root = w.root();
    let digest = format!("sha256:{}", "ab".repeat(32));
    let st = fulcio::statement(
        &digest,
        "https://slsa.dev/provenance/v1",
        serde_json::json!({"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}}),
    );
    let (leaf, key) = w.leaf(SUBJECT, ISSUER);
    let bundle = w.dsse_bundle(&st, &leaf, &key, SIGNED_AT);
    let s = signer(ISSUER, SUBJECT);
    verify_blob(Signed::Digest(&digest), &bundle, &s, &root).unwrap_or_else(|e| panic!("{e}"));
    let other = format!("sha256:{}", "cd".repeat(32));
    let r = reason(verify_blob(Signed::Digest(&other), &bundle, &s, &root));
    assert!(r.contains("not for this artifact"), "{r}");
}
