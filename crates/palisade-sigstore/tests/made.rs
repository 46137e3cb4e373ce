//! Bundles made in the test: a test CA standing in for Fulcio (its leaf
//! certificates carry Fulcio's issuer extension, OID 1.3.6.1.4.1.57264.1.8)
//! and a test log key standing in for Rekor (a signed entry timestamp
//! over the hashedrekord entry), listed in a test `trusted_root.json`.
//! Cases: valid, wrong identity, wrong issuer, signed outside the
//! certificate's validity, missing proof, tampered bundle, another artifact.

use base64::Engine as _;
use palisade_sigstore::{trusted_root, verify_blob, Failure, Signed, Signer, Subject};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
    SigningKey,
};
use sha2::{Digest, Sha256};

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// DER of a UTF8String.
fn utf8_der(s: &str) -> Vec<u8> {
    let mut v = vec![0x0c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

struct World {
    ca_key: KeyPair,
    ca_params: CertificateParams,
    ca_der: Vec<u8>,
    log_key: KeyPair,
}

const ISSUER: &str = "https://issuer.test";
const SUBJECT: &str = "builder@example.test";
/// 2025-06-01T12:00:00Z, inside the leaf's validity (the whole of 2025-06-01).
const SIGNED_AT: i64 = 1_748_779_200;

impl World {
    fn new() -> World {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "test fulcio");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca_params.not_before = date_time_ymd(2024, 1, 1);
        ca_params.not_after = date_time_ymd(2030, 1, 1);
        let ca_der = ca_params.self_signed(&ca_key).unwrap().der().to_vec();
        World {
            ca_key,
            ca_params,
            ca_der,
            log_key: KeyPair::generate().unwrap(),
        }
    }

    fn log_id(&self) -> Vec<u8> {
        Sha256::digest(self.log_key.subject_public_key_info()).to_vec()
    }

    fn root(&self) -> palisade_sigstore::TrustedRoot {
        let root = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{"baseUrl": "https://log.test", "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(&self.log_key.subject_public_key_info()),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": "2024-01-01T00:00:00Z"}},
                "logId": {"keyId": b64(&self.log_id())}}],
            "certificateAuthorities": [{"subject": {"organization": "test", "commonName": "test fulcio"},
                "uri": "https://fulcio.test",
                "certChain": {"certificates": [{"rawBytes": b64(&self.ca_der)}]},
                "validFor": {"start": "2024-01-01T00:00:00Z"}}],
            "ctlogs": [],
            "timestampAuthorities": []
        });
        trusted_root(&root.to_string()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A leaf for `subject` from `issuer`, valid on 2025-06-01, and its key.
    fn leaf(&self, subject: &str, issuer: &str) -> (Vec<u8>, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.subject_alt_names = vec![SanType::Rfc822Name(subject.try_into().unwrap())];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        p.not_before = date_time_ymd(2025, 6, 1);
        p.not_after = date_time_ymd(2025, 6, 2);
        p.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 57264, 1, 8],
            utf8_der(issuer),
        )];
        let ca = Issuer::from_params(&self.ca_params, &self.ca_key);
        let der = p.signed_by(&key, &ca).unwrap().der().to_vec();
        (der, key)
    }

    /// A v0.1 bundle over `artifact`: the signature, the leaf, and a log
    /// entry with its signed entry timestamp (unless `promise` is false).
    fn bundle(
        &self,
        artifact: &[u8],
        leaf: &[u8],
        key: &KeyPair,
        at: i64,
        promise: bool,
    ) -> String {
        let sig = key.sign(artifact).unwrap();
        let digest = Sha256::digest(artifact);
        let cert_pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64(leaf)
        );
        let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"data": {"hash": {"algorithm": "sha256", "value": hex(&digest)}},
                "signature": {"content": b64(&sig), "publicKey": {"content": b64(cert_pem.as_bytes())}}}});
        let body_b64 = b64(body.to_string().as_bytes());
        // The signed entry timestamp: the log's signature over the entry's
        // canonical JSON (keys in order).
        let set_payload = format!(
            "{{\"body\":\"{body_b64}\",\"integratedTime\":{at},\"logID\":\"{}\",\"logIndex\":7}}",
            hex(&self.log_id())
        );
        let set = self.log_key.sign(set_payload.as_bytes()).unwrap();
        let mut entry = serde_json::json!({"logIndex": "7", "logId": {"keyId": b64(&self.log_id())},
            "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
            "integratedTime": at.to_string(), "canonicalizedBody": body_b64});
        if promise {
            entry["inclusionPromise"] = serde_json::json!({"signedEntryTimestamp": b64(&set)});
        }
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
            "verificationMaterial": {"x509CertificateChain": {"certificates": [{"rawBytes": b64(leaf)}]},
                "tlogEntries": [entry]},
            "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": b64(&digest)},
                "signature": b64(&sig)}
        })
        .to_string()
    }
}

fn signer(issuer: &str, subject: &str) -> Signer {
    Signer::Keyless {
        issuer: issuer.into(),
        subject: Subject::Exact(subject.into()),
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
