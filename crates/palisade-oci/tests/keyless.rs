//! Keyless signatures and attestations against a real `docker-registry`:
//! signatures made by a test CA standing in for Fulcio (leaf certificates
//! with Fulcio's extension OIDs) and a test log key standing in for Rekor,
//! listed in a test `trusted_root.json`, pushed by skopeo as cosign writes
//! them (`.sig` and `.att` layers with certificate, chain and Rekor bundle
//! annotations) and as OCI referrers (Sigstore bundles with a `subject`).
//! Debian's `docker-registry` has no referrers API, so the referrers are
//! found through the tag-schema fallback (`sha256-<hex>` index), which is
//! the "registry without referrers support" case.

mod common;
#[path = "../../palisade-sigstore/tests/common/fulcio.rs"]
mod fulcio;
#[path = "common/keyless_sign.rs"]
mod keyless_sign;
#[path = "common/sign.rs"]
mod sign;

use std::sync::Arc;
use std::time::Duration;

use common::{Layout, Registry, OCI_MANIFEST};
use fulcio::{statement, World, ISSUER, SIGNED_AT, SUBJECT};
use keyless_sign::{att_layer, push, push_referrers, sig_layer, Layer, SLSA};
use palisade_oci::{Client, ClientOptions, Identity, KeylessPolicy, SignatureCheck};
use palisade_sigstore::{AttestationCheck, ClaimsPolicy, Subject};
use rcgen::KeyPair;
use sign::payload;

struct Scene {
    registry: Registry,
    w: World,
    root: Arc<palisade_sigstore::TrustedRoot>,
    leaf: Vec<u8>,
    key: KeyPair,
}

impl Scene {
    /// Pushes a fresh image to `repo:v1` and returns its digest.
    fn image(&self, repo: &str) -> String {
        let mut layout = Layout::new();
        let app = layout.image("linux", "amd64", repo);
        layout.tag("v1", &app, OCI_MANIFEST);
        self.registry.push(&layout.dir, "v1", &format!("{repo}:v1"));
        app.digest
    }

    fn repo(&self, repo: &str) -> String {
        format!("{}/{repo}", self.registry.host)
    }

    fn client(&self) -> Client {
        Client::new(ClientOptions {
            insecure_registries: vec![self.registry.host.clone()],
            timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        })
        .unwrap()
    }

    fn policy(
        &self,
        issuer: &str,
        subject: &str,
        attestations: Vec<AttestationCheck>,
    ) -> KeylessPolicy {
        KeylessPolicy {
            identities: vec![Identity {
                issuer: issuer.into(),
                subject: Subject::Exact(subject.into()),
                claims: ClaimsPolicy::default(),
            }],
            require_signature: true,
            attestations,
            root: self.root.clone(),
            id: format!("{issuer}|{subject}"),
        }
    }

    fn check(&self, repo: &str, digest: &str, policy: &KeylessPolicy) -> SignatureCheck {
        rt().block_on(
            self.client()
                .verify_keyless(&self.repo(repo), digest, policy),
        )
        .unwrap()
    }

    /// Pushes a `.sig` with one layer for `repo`'s image `digest`.
    fn sign(&self, repo: &str, digest: &str, layer: Layer) {
        push(
            &self.registry,
            repo,
            &format!("{}.sig", digest.replacen(':', "-", 1)),
            &[layer],
        );
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn reasons(check: SignatureCheck) -> String {
    match check {
        SignatureCheck::Invalid { reasons } => reasons.join("; "),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn slsa(conditions: &[&str]) -> AttestationCheck {
    AttestationCheck {
        predicate_type: Some(SLSA.into()),
        conditions: conditions.iter().map(|c| c.to_string()).collect(),
    }
}

#[test]
fn keyless_scenarios() {
    let w = World::new();
    let root = Arc::new(w.root());
    let (leaf, key) = w.leaf(SUBJECT, ISSUER);
    let s = Scene {
        registry: Registry::start(),
        w,
        root,
        leaf,
        key,
    };
    classic_signatures(&s);
    classic_attestations(&s);
    referrers_through_the_tag_fallback(&s);
    hostile_referrers_are_bounded_and_rejected_with_reasons(&s);
    concurrent_requests_share_one_verification(&s);
}

fn classic_signatures(s: &Scene) {
    let good = s.policy(ISSUER, SUBJECT, vec![]);
    // Valid.
    let d = s.image("test/valid");
    let p = payload(&s.repo("test/valid"), &d);
    s.sign(
        "test/valid",
        &d,
        sig_layer(&s.w, &s.leaf, &s.key, p.clone(), &p, SIGNED_AT, true),
    );
    assert!(
        matches!(
            s.check("test/valid", &d, &good),
            SignatureCheck::Verified { key: 0, .. }
        ),
        "a valid keyless signature verifies"
    );
    // Wrong identity, wrong issuer.
    let r = reasons(s.check(
        "test/valid",
        &d,
        &s.policy(ISSUER, "other@example.test", vec![]),
    ));
    assert!(
        r.contains(&format!("identity mismatch: got {SUBJECT}")),
        "{r}"
    );
    let r = reasons(s.check(
        "test/valid",
        &d,
        &s.policy("https://other.test", SUBJECT, vec![]),
    ));
    assert!(r.contains(&format!("issuer mismatch: got {ISSUER}")), "{r}");
    // Logged two days after the certificate expired.
    let d = s.image("test/late");
    let p = payload(&s.repo("test/late"), &d);
    s.sign(
        "test/late",
        &d,
        sig_layer(
            &s.w,
            &s.leaf,
            &s.key,
            p.clone(),
            &p,
            SIGNED_AT + 2 * 86_400,
            true,
        ),
    );
    let r = reasons(s.check("test/late", &d, &good));
    assert!(
        r.contains("signed outside the certificate's validity"),
        "{r}"
    );
    // No Rekor bundle annotation.
    let d = s.image("test/unlogged");
    let p = payload(&s.repo("test/unlogged"), &d);
    s.sign(
        "test/unlogged",
        &d,
        sig_layer(&s.w, &s.leaf, &s.key, p.clone(), &p, SIGNED_AT, false),
    );
    let r = reasons(s.check("test/unlogged", &d, &good));
    assert!(r.contains("no transparency proof"), "{r}");
    // The payload changed after signing.
    let d = s.image("test/tampered");
    let p = payload(&s.repo("test/tampered"), &d);
    let mut changed = p.clone();
    changed.extend_from_slice(b" ");
    s.sign(
        "test/tampered",
        &d,
        sig_layer(&s.w, &s.leaf, &s.key, changed, &p, SIGNED_AT, true),
    );
    let r = reasons(s.check("test/tampered", &d, &good));
    assert!(r.contains("signature layer:"), "{r}");
    assert!(
        !r.contains("payload names"),
        "rejected before the payload is read: {r}"
    );
    // A valid signature of another digest, stored under this one's tag.
    let d = s.image("test/other");
    let other = format!("sha256:{}", "0".repeat(64));
    let p = payload(&s.repo("test/other"), &other);
    s.sign(
        "test/other",
        &d,
        sig_layer(&s.w, &s.leaf, &s.key, p.clone(), &p, SIGNED_AT, true),
    );
    let r = reasons(s.check("test/other", &d, &good));
    assert!(r.contains(&format!("payload names {other} not {d}")), "{r}");
    // A certificate from a CA the root does not list.
    let stranger = World::new();
    let (sleaf, skey) = stranger.leaf(SUBJECT, ISSUER);
    let d = s.image("test/foreign");
    let p = payload(&s.repo("test/foreign"), &d);
    s.sign(
        "test/foreign",
        &d,
        sig_layer(&s.w, &sleaf, &skey, p.clone(), &p, SIGNED_AT, true),
    );
    let r = reasons(s.check("test/foreign", &d, &good));
    assert!(
        r.contains("certificate not issued by a trusted Fulcio"),
        "{r}"
    );
    // Nothing pushed at all.
    let d = s.image("test/unsigned");
    assert_eq!(s.check("test/unsigned", &d, &good), SignatureCheck::Missing);
}

fn classic_attestations(s: &Scene) {
    let d = s.image("test/attested");
    let p = payload(&s.repo("test/attested"), &d);
    s.sign(
        "test/attested",
        &d,
        sig_layer(&s.w, &s.leaf, &s.key, p.clone(), &p, SIGNED_AT, true),
    );
    let provenance = serde_json::json!({"buildDefinition": {
        "buildType": "https://actions.github.io/buildtypes/workflow/v1",
        "externalParameters": {"workflow": {"repository": "https://github.com/acme/app", "ref": "refs/heads/main"}}},
        "runDetails": {"builder": {"id": "https://github.com/actions/runner"}}});
    let att_tag = format!("{}.att", d.replacen(':', "-", 1));
    push(
        &s.registry,
        "test/attested",
        &att_tag,
        &[att_layer(
            &s.w,
            &s.leaf,
            &s.key,
            &statement(&d, SLSA, provenance.clone()),
        )],
    );
    let holds = "predicate.runDetails.builder.id == 'https://github.com/actions/runner' && predicate.buildDefinition.externalParameters.workflow.ref == 'refs/heads/main'";
    let check = s.check(
        "test/attested",
        &d,
        &s.policy(ISSUER, SUBJECT, vec![slsa(&[holds])]),
    );
    assert!(
        matches!(check, SignatureCheck::Verified { .. }),
        "{check:?}"
    );
    let fails = "predicate.buildDefinition.externalParameters.workflow.ref == 'refs/tags/v1'";
    let r = reasons(s.check(
        "test/attested",
        &d,
        &s.policy(ISSUER, SUBJECT, vec![slsa(&[fails])]),
    ));
    assert!(
        r.contains(&format!("attestation condition is false: {fails}")),
        "{r}"
    );
    let r = reasons(s.check(
        "test/attested",
        &d,
        &s.policy(
            ISSUER,
            SUBJECT,
            vec![AttestationCheck {
                predicate_type: Some("https://cyclonedx.org/bom".into()),
                conditions: vec![],
            }],
        ),
    ));
    assert!(
        r.contains("no verified attestation of type https://cyclonedx.org/bom"),
        "{r}"
    );
    // An attestation about another image, stored under this one's tag.
    let d2 = s.image("test/wrong-subject");
    let p = payload(&s.repo("test/wrong-subject"), &d2);
    s.sign(
        "test/wrong-subject",
        &d2,
        sig_layer(&s.w, &s.leaf, &s.key, p.clone(), &p, SIGNED_AT, true),
    );
    push(
        &s.registry,
        "test/wrong-subject",
        &format!("{}.att", d2.replacen(':', "-", 1)),
        &[att_layer(
            &s.w,
            &s.leaf,
            &s.key,
            &statement(&d, SLSA, provenance),
        )],
    );
    let r = reasons(s.check(
        "test/wrong-subject",
        &d2,
        &s.policy(ISSUER, SUBJECT, vec![slsa(&[])]),
    ));
    assert!(r.contains("not for this artifact"), "{r}");
}

fn referrers_through_the_tag_fallback(s: &Scene) {
    let d = s.image("test/bundled");
    // cosign v3's form: the signature and the provenance as Sigstore
    // bundles, each the one layer of a manifest whose subject is the image.
    let signature = s.w.dsse_bundle(
        &statement(
            &d,
            palisade_oci::keyless::COSIGN_SIGN_PREDICATE,
            serde_json::json!({}),
        ),
        &s.leaf,
        &s.key,
        SIGNED_AT,
    );
    let provenance = s.w.dsse_bundle(
        &statement(&d, SLSA, serde_json::json!({"runDetails": {"builder": {"id": "https://github.com/actions/runner"}}})),
        &s.leaf,
        &s.key,
        SIGNED_AT,
    );
    let check = s.check("test/bundled", &d, &s.policy(ISSUER, SUBJECT, vec![]));
    assert_eq!(check, SignatureCheck::Missing, "nothing pushed yet");
    push_referrers(&s.registry, "test/bundled", &d, &[signature, provenance]);
    let check = s.check(
        "test/bundled",
        &d,
        &s.policy(
            ISSUER,
            SUBJECT,
            vec![slsa(&[
                "predicate.runDetails.builder.id.startsWith('https://github.com/')",
            ])],
        ),
    );
    match check {
        SignatureCheck::Verified {
            signature_digest, ..
        } => {
            assert!(
                signature_digest.starts_with("referrer sha256:"),
                "{signature_digest}"
            )
        }
        other => panic!("{other:?}"),
    }
    let r = reasons(s.check(
        "test/bundled",
        &d,
        &s.policy(ISSUER, "other@example.test", vec![]),
    ));
    assert!(r.contains("identity mismatch"), "{r}");
}

fn concurrent_requests_share_one_verification(s: &Scene) {
    let d = s.image("test/herd");
    let p = payload(&s.repo("test/herd"), &d);
    s.sign(
        "test/herd",
        &d,
        sig_layer(&s.w, &s.leaf, &s.key, p.clone(), &p, SIGNED_AT, true),
    );
    let client = Arc::new(s.client());
    let policy = Arc::new(s.policy(ISSUER, SUBJECT, vec![]));
    let reference = s.repo("test/herd");
    let rt = rt();
    let checks = rt.block_on(async {
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let (c, p, r, d) = (client.clone(), policy.clone(), reference.clone(), d.clone());
                tokio::spawn(async move { c.verify_keyless(&r, &d, &p).await.unwrap() })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert!(checks
        .iter()
        .all(|c| matches!(c, SignatureCheck::Verified { .. })));
    assert_eq!(
        client.verifications_run(),
        1,
        "100 requests, one verification"
    );
}

fn hostile_referrers_are_bounded_and_rejected_with_reasons(s: &Scene) {
    let d = s.image("test/hostile");
    // A bundle of an unknown version, a truncated one, and 40 more: only
    // the first 32 artifacts are looked at, each rejected with its reason.
    let mut bundles = vec![
        r#"{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=9.9","verificationMaterial":{},"messageSignature":{}}"#.to_string(),
        r#"{"mediaType":"application/vnd.dev.sigstore.bun"#.to_string(),
    ];
    bundles.extend((0..40).map(|i| format!("{{\"n\":{i}")));
    push_referrers(&s.registry, "test/hostile", &d, &bundles);
    let r = reasons(s.check("test/hostile", &d, &s.policy(ISSUER, SUBJECT, vec![])));
    assert!(r.contains("not a Sigstore bundle"), "{r}");
    assert!(
        r.contains("entries from 32 on not checked (at most 32 artifacts per image)"),
        "{r}"
    );
    assert_eq!(r.matches("not a Sigstore bundle").count(), 32, "{r}");
}
