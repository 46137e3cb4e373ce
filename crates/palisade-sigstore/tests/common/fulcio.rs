//! A test Fulcio and a test Rekor for bundles made in the tests: a CA
//! whose leaf certificates carry Fulcio's extensions (the issuer, OID
//! 1.3.6.1.4.1.57264.1.8, and GitHub workflow claims), and a log key that
//! signs entry timestamps, both listed in a test `trusted_root.json`.
//! Included with `#[path]` by this crate's tests and by the registry tests
//! of palisade-oci, which push what it makes as cosign would.
#![allow(dead_code)]

use base64::Engine as _;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
    SigningKey,
};
use sha2::{Digest, Sha256};

pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// DER of a UTF8String.
fn utf8_der(s: &str) -> Vec<u8> {
    let mut v = vec![0x0c, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

pub struct World {
    pub ca_key: KeyPair,
    ca_params: CertificateParams,
    ca_der: Vec<u8>,
    log_key: KeyPair,
}

pub const ISSUER: &str = "https://issuer.test";
pub const SUBJECT: &str = "builder@example.test";
/// 2025-06-01T12:00:00Z, inside the leaf's validity (the whole of 2025-06-01).
pub const SIGNED_AT: i64 = 1_748_779_200;

impl World {
    pub fn new() -> World {
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

    pub fn log_id(&self) -> Vec<u8> {
        Sha256::digest(self.log_key.subject_public_key_info()).to_vec()
    }

    /// The test `trusted_root.json`: this CA as the only Fulcio, this log
    /// key as the only Rekor, no CT logs, no timestamp authorities.
    pub fn root_json(&self) -> String {
        serde_json::json!({
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
        })
        .to_string()
    }

    pub fn root(&self) -> palisade_sigstore::TrustedRoot {
        palisade_sigstore::trusted_root(&self.root_json()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The CA certificate as PEM (cosign's chain annotation).
    pub fn ca_pem(&self) -> String {
        cert_pem(&self.ca_der)
    }

    /// A leaf for `subject` from `issuer`, valid on 2025-06-01, and its key.
    pub fn leaf(&self, subject: &str, issuer: &str) -> (Vec<u8>, KeyPair) {
        self.leaf_with(subject, issuer, &[])
    }

    /// A leaf with GitHub workflow claims: `(n, value)` for the Fulcio
    /// extension 1.3.6.1.4.1.57264.1.n (raw for n < 8, UTF8String after).
    pub fn leaf_with(
        &self,
        subject: &str,
        issuer: &str,
        claims: &[(u64, &str)],
    ) -> (Vec<u8>, KeyPair) {
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
        for (n, value) in claims {
            let content = if *n < 8 {
                value.as_bytes().to_vec()
            } else {
                utf8_der(value)
            };
            p.custom_extensions.push(CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 57264, 1, *n],
                content,
            ));
        }
        let ca = Issuer::from_params(&self.ca_params, &self.ca_key);
        let der = p.signed_by(&key, &ca).unwrap().der().to_vec();
        (der, key)
    }

    /// A log entry for `body` integrated at `at`: the base64 body and the
    /// signed entry timestamp (the log's signature over the entry's
    /// canonical JSON, keys in order).
    pub fn log(&self, body: &serde_json::Value, at: i64) -> (String, String) {
        let body_b64 = b64(body.to_string().as_bytes());
        let set_payload = format!(
            "{{\"body\":\"{body_b64}\",\"integratedTime\":{at},\"logID\":\"{}\",\"logIndex\":7}}",
            hex(&self.log_id())
        );
        let set = self.log_key.sign(set_payload.as_bytes()).unwrap();
        (body_b64, b64(&set))
    }

    /// cosign's `dev.sigstore.cosign/bundle` annotation for a log entry.
    pub fn rekor_annotation(&self, body_b64: &str, set: &str, at: i64) -> String {
        serde_json::json!({"SignedEntryTimestamp": set, "Payload": {"body": body_b64,
            "integratedTime": at, "logIndex": 7, "logID": hex(&self.log_id())}})
        .to_string()
    }

    /// A hashedrekord body for a signature over `artifact` by `leaf`.
    pub fn hashedrekord(&self, artifact: &[u8], sig: &[u8], leaf: &[u8]) -> serde_json::Value {
        serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"data": {"hash": {"algorithm": "sha256", "value": hex(&Sha256::digest(artifact))}},
                "signature": {"content": b64(sig), "publicKey": {"content": b64(cert_pem(leaf).as_bytes())}}}})
    }

    /// A DSSE envelope over `statement` (an in-toto statement) signed by
    /// `key`, and the dsse v0.0.1 log body for it.
    pub fn dsse(
        &self,
        statement: &[u8],
        leaf: &[u8],
        key: &KeyPair,
    ) -> (serde_json::Value, serde_json::Value) {
        const TYPE: &str = "application/vnd.in-toto+json";
        let mut pae = format!("DSSEv1 {} {TYPE} {} ", TYPE.len(), statement.len()).into_bytes();
        pae.extend_from_slice(statement);
        let sig = key.sign(&pae).unwrap();
        let envelope = serde_json::json!({"payloadType": TYPE, "payload": b64(statement),
            "signatures": [{"keyid": "", "sig": b64(&sig)}]});
        let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(envelope.to_string().as_bytes()))},
            "payloadHash": {"algorithm": "sha256", "value": hex(&Sha256::digest(statement))},
            "signatures": [{"signature": b64(&sig), "verifier": b64(cert_pem(leaf).as_bytes())}]}});
        (envelope, body)
    }

    /// A v0.1 bundle holding a DSSE envelope, its leaf and log entry.
    pub fn dsse_bundle(&self, statement: &[u8], leaf: &[u8], key: &KeyPair, at: i64) -> String {
        let (envelope, body) = self.dsse(statement, leaf, key);
        let (body_b64, set) = self.log(&body, at);
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.1",
            "verificationMaterial": {"x509CertificateChain": {"certificates": [{"rawBytes": b64(leaf)}]},
                "tlogEntries": [{"logIndex": "7", "logId": {"keyId": b64(&self.log_id())},
                    "kindVersion": {"kind": "dsse", "version": "0.0.1"},
                    "integratedTime": at.to_string(), "canonicalizedBody": body_b64,
                    "inclusionPromise": {"signedEntryTimestamp": set}}]},
            "dsseEnvelope": envelope
        })
        .to_string()
    }

    /// A v0.1 bundle over `artifact`: the signature, the leaf, and a log
    /// entry with its signed entry timestamp (unless `promise` is false).
    pub fn bundle(
        &self,
        artifact: &[u8],
        leaf: &[u8],
        key: &KeyPair,
        at: i64,
        promise: bool,
    ) -> String {
        let sig = key.sign(artifact).unwrap();
        let digest = Sha256::digest(artifact);
        let body = self.hashedrekord(artifact, &sig, leaf);
        let (body_b64, set) = self.log(&body, at);
        let mut entry = serde_json::json!({"logIndex": "7", "logId": {"keyId": b64(&self.log_id())},
            "kindVersion": {"kind": "hashedrekord", "version": "0.0.1"},
            "integratedTime": at.to_string(), "canonicalizedBody": body_b64});
        if promise {
            entry["inclusionPromise"] = serde_json::json!({"signedEntryTimestamp": set});
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

/// A certificate as PEM.
pub fn cert_pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        b64(der)
    )
}

/// An in-toto v1 statement about `digest` (`sha256:<hex>`).
pub fn statement(digest: &str, predicate_type: &str, predicate: serde_json::Value) -> Vec<u8> {
    let hex = digest.trim_start_matches("sha256:");
    serde_json::to_vec(
        &serde_json::json!({"_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "image", "digest": {"sha256": hex}}],
        "predicateType": predicate_type, "predicate": predicate}),
    )
    .unwrap()
}
