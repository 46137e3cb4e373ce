//! How objects are stored in etcd (`encryption/*` findings of
//! `palisade etcd`): the catalog entries. The values are read and judged
//! in palisade-etcd, which reports through an analysis of this pipeline,
//! so the policy (severity overrides, exemptions) applies to them as to
//! every other finding.

use palisade_core::{RuleMeta, Severity};

const ENCRYPT_URL: &str = "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/";
const CIS_URL: &str = "https://www.cisecurity.org/benchmark/kubernetes";

/// `encryption/secret-plaintext`.
pub static SECRET_PLAINTEXT: RuleMeta = RuleMeta {
    id: "encryption/secret-plaintext",
    title: "Secret stored unencrypted in etcd",
    severity: Severity::Critical,
    level: None,
    rationale: "Without an encryption provider the API server writes a Secret to etcd as its protobuf (or JSON) encoding: its values are only base64 in the manifest and plain bytes on disk. Anyone with the etcd data directory, a snapshot, a backup or an etcd client certificate reads every credential of the cluster. Proven from the value's own bytes (the k8s\\0 envelope or JSON), not from the configuration.",
    remediation: "Configure --encryption-provider-config on every API server with a strong provider first (kms v2, or secretbox/aesgcm with a key kept off the etcd hosts), restart them, then rewrite every Secret so it is stored encrypted: kubectl get secrets -A -o json | kubectl replace -f -. Rotate credentials that were stored in the clear if etcd backups may have leaked.",
    references: &[ENCRYPT_URL, "CIS Kubernetes Benchmark v1.9 1.2.27", CIS_URL],
};

/// `encryption/stored-plaintext`.
pub static STORED_PLAINTEXT: RuleMeta = RuleMeta {
    id: "encryption/stored-plaintext",
    title: "Resource the configuration encrypts is stored unencrypted",
    severity: Severity::High,
    level: None,
    rationale: "The EncryptionConfiguration names this resource with an encrypting write provider, yet the object is stored as plain protobuf or JSON: it was written before encryption was turned on (or by an API server without the configuration) and stays readable from etcd until it is rewritten.",
    remediation: "Rewrite the resource's objects so the API server stores them with the current write provider: kubectl get <resource> -A -o json | kubectl replace -f -.",
    references: &[ENCRYPT_URL],
};

/// `encryption/key-missing`.
pub static KEY_MISSING: RuleMeta = RuleMeta {
    id: "encryption/key-missing",
    title: "Encrypted with a key the configuration no longer has",
    severity: Severity::High,
    level: None,
    rationale: "The value names its provider and key (k8s:enc:<provider>:v1:<key>:). An API server started with this EncryptionConfiguration has no such key: it cannot read the object back, so the next restart loses it (reads fail, the object cannot be updated or deleted through the API). Usually a key was removed before every object was rewritten with its successor.",
    remediation: "Put the key back in the configuration (second, after the current write key) and restart the API servers, rewrite the objects (kubectl get secrets -A -o json | kubectl replace -f -), and only then remove the old key.",
    references: &[ENCRYPT_URL, "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#rotating-a-decryption-key"],
};

/// `encryption/stale-key`.
pub static STALE_KEY: RuleMeta = RuleMeta {
    id: "encryption/stale-key",
    title: "Encrypted with a key that is not the current write key",
    severity: Severity::Medium,
    level: None,
    rationale: "The object is readable, but with an older key or provider than the one the API server writes with: a rotation was started and its rewrite step was not done (or not finished). The old key must stay in the configuration, on every control-plane host, until no object uses it.",
    remediation: "Rewrite the objects so they are stored with the first key of the first provider: kubectl get secrets -A -o json | kubectl replace -f -; then the old key can be removed.",
    references: &[ENCRYPT_URL, "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#rotating-a-decryption-key"],
};

/// `encryption/undecryptable`.
pub static UNDECRYPTABLE: RuleMeta = RuleMeta {
    id: "encryption/undecryptable",
    title: "Encrypted value the configured key cannot decrypt",
    severity: Severity::High,
    level: None,
    rationale: "The value names a key that the configuration has, but decrypting it with that key fails (authentication fails, the padding is wrong, or the plaintext is not a stored object): the key was replaced under the same name, or the value is corrupt. The API server cannot read this object.",
    remediation: "Find the key the object was written with (a backup of the EncryptionConfiguration) and add it under a new name, or restore the object from a backup; never reuse a key name for a different secret.",
    references: &[ENCRYPT_URL],
};

/// The storage findings' catalog entries.
pub static CATALOG: [&RuleMeta; 5] = [
    &SECRET_PLAINTEXT,
    &STORED_PLAINTEXT,
    &KEY_MISSING,
    &STALE_KEY,
    &UNDECRYPTABLE,
];
