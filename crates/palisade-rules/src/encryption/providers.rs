//! Which provider encrypts writes, and how strong it is. The docs rate
//! the providers: identity none, aescbc weak, aesgcm must be rotated every
//! 200,000 writes, secretbox strong, kms v2 the choice for managed keys
//! (kms v1 deprecated since 1.28).
//! <https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#providers>

use palisade_core::{Context, Node, Rule, RuleMeta, Seg, Severity, Target, Violation};

use super::{config, CIS_URL, ENCRYPT_URL, KMS_URL, PROVIDERS_URL};

/// Catalog entry of [`IdentityFirst`].
pub static IDENTITY_FIRST: RuleMeta = RuleMeta {
    id: "encryption/identity-first",
    title: "Secrets are written unencrypted (identity is the first provider)",
    severity: Severity::High,
    level: None,
    rationale: "The first provider of the entry that covers Secrets encrypts every write; identity writes them as they are. The encrypting providers after it are used only to read what was written before, so every new or updated Secret lands in etcd in clear text. That is the right order only while turning encryption off on purpose. CIS 1.2.28 (appropriate providers).",
    remediation: "Put the encrypting provider (kms v2 or secretbox) first and identity last (to read Secrets written before encryption was turned on), restart the API servers and rewrite the Secrets: kubectl get secrets -A -o json | kubectl replace -f -.",
    references: &[ENCRYPT_URL, "CIS Kubernetes Benchmark v1.9 1.2.28", CIS_URL],
};

/// `encryption/identity-first`.
pub struct IdentityFirst;

impl Rule for IdentityFirst {
    fn meta(&self) -> &RuleMeta {
        &IDENTITY_FIRST
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        let Some((entry, at)) = c.secrets_entry() else {
            return;
        };
        let Some(p) = entry.write_provider().filter(|p| p.kind == "identity") else {
            return;
        };
        let selector = entry
            .resources
            .iter()
            .find(|(i, _)| *i == at)
            .map_or("", |(_, r)| *r);
        out.push(Violation {
            message: format!(
                "{} is the first provider of the entry that covers Secrets ({selector:?}): Secrets are written to etcd unencrypted",
                p.label()
            ),
            container: None,
            path: p.path(&[]),
        });
    }
}

/// Catalog entry of [`Aescbc`].
pub static AESCBC: RuleMeta = RuleMeta {
    id: "encryption/aescbc",
    title: "aescbc encrypts writes",
    severity: Severity::Medium,
    level: None,
    rationale: "The Kubernetes docs rate aescbc Weak and do not recommend it: CBC with PKCS#7 padding and no authentication is open to padding-oracle attacks, and an attacker who can write to etcd can alter values undetected (the stored value is not bound to its key). Its key also sits in the EncryptionConfiguration on every control-plane host. kube-bench's 1.2.28 audit still accepts it (aescbc, kms, secretbox); the docs' own table does not.",
    remediation: "Make kms v2 (keys in an external KMS) or secretbox the first provider, keep aescbc second until every object is rewritten (kubectl get secrets -A -o json | kubectl replace -f -), then remove it.",
    references: &[PROVIDERS_URL, "CIS Kubernetes Benchmark v1.9 1.2.28", CIS_URL],
};

/// `encryption/aescbc`.
pub struct Aescbc;

impl Rule for Aescbc {
    fn meta(&self) -> &RuleMeta {
        &AESCBC
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        for e in &c.entries {
            let Some(p) = e.write_provider().filter(|p| p.kind == "aescbc") else {
                continue;
            };
            out.push(Violation {
                message: format!(
                    "{} encrypts writes of resources[{}] with AES-CBC, which the docs rate weak (padding oracle, no integrity); use kms v2 or secretbox",
                    p.label(),
                    e.index
                ),
                container: None,
                path: p.path(&[]),
            });
        }
    }
}

/// Catalog entry of [`KmsV1`].
pub static KMS_V1: RuleMeta = RuleMeta {
    id: "encryption/kms-v1",
    title: "KMS provider uses the deprecated v1 API",
    severity: Severity::Medium,
    level: None,
    rationale: "A kms provider without apiVersion, or with apiVersion: v1, uses KMS v1, deprecated since Kubernetes 1.28 and disabled by default since 1.29 (the API server refuses it unless --feature-gates=KMSv1=true): an upgrade can leave the API server unable to start or to read what it stored. KMS v2, stable since 1.29, also performs better (one KMS call per key rotation rather than per write) and reports key rotation.",
    remediation: "Migrate to apiVersion: v2 with a KMS v2 plugin: add the v2 provider first (a different name), keep the v1 provider second, restart, rewrite the objects (kubectl get secrets -A -o json | kubectl replace -f -), then remove v1.",
    references: &[KMS_URL, PROVIDERS_URL, "CIS Kubernetes Benchmark v1.9 1.2.28", CIS_URL],
};

/// `encryption/kms-v1`.
pub struct KmsV1;

impl Rule for KmsV1 {
    fn meta(&self) -> &RuleMeta {
        &KMS_V1
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        for p in c.providers().filter(|p| p.kind == "kms") {
            let version = p.node.get("apiVersion").and_then(Node::as_str);
            let (path, how) = match version {
                Some("v1") => (p.path(&[Seg::key("apiVersion")]), "apiVersion: v1"),
                None => (p.path(&[]), "no apiVersion, which means v1,"),
                Some(_) => continue,
            };
            let name = p.node.get("name").and_then(Node::as_str).unwrap_or("");
            out.push(Violation {
                message: format!(
                    "kms provider {name:?} ({}) has {how} deprecated since 1.28 and off by default since 1.29; use apiVersion: v2",
                    p.label()
                ),
                container: None,
                path,
            });
        }
    }
}

/// Catalog entry of [`AesgcmRotation`].
pub static AESGCM_ROTATION: RuleMeta = RuleMeta {
    id: "encryption/aesgcm-rotation",
    title: "aesgcm encrypts writes: its key must be rotated every 200,000 writes",
    severity: Severity::Low,
    level: None,
    rationale: "aesgcm uses a random 96-bit nonce per write, so one key must not encrypt more than about 200,000 writes before nonces risk repeating, which would break both confidentiality and integrity; the docs do not recommend it except with an automated key rotation. Nothing in the file shows such a rotation, so this is a reminder to have one (or to suppress the finding where there is).",
    remediation: "Use kms v2 (which derives a fresh key per write from its seed) or secretbox; if aesgcm stays, rotate its key automatically well before 200,000 writes (new key first, old key second, rewrite, remove the old key).",
    references: &[PROVIDERS_URL, "CIS Kubernetes Benchmark v1.9 1.2.28", CIS_URL],
};

/// `encryption/aesgcm-rotation`.
pub struct AesgcmRotation;

impl Rule for AesgcmRotation {
    fn meta(&self) -> &RuleMeta {
        &AESGCM_ROTATION
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        for e in &c.entries {
            let Some(p) = e.write_provider().filter(|p| p.kind == "aesgcm") else {
                continue;
            };
            let key = p
                .keys()
                .next()
                .and_then(|(_, k)| k.get("name"))
                .and_then(Node::as_str)
                .unwrap_or("");
            out.push(Violation {
                message: format!(
                    "{} encrypts writes of resources[{}] with key {key:?}: rotate it before 200,000 writes (the docs recommend aesgcm only with automated rotation)",
                    p.label(),
                    e.index
                ),
                container: None,
                path: p.path(&[]),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::encryption::testutil::{config, key32, scan};

    fn secretbox() -> String {
        format!(
            "  - secretbox:\n      keys: [{{name: box, secret: {}}}]\n",
            key32(1)
        )
    }

    #[test]
    fn identity_first_for_secrets_fails_and_last_passes() {
        const ID: &str = "encryption/identity-first";
        let first = config(&format!(
            "- resources: [secrets]\n  providers:\n  - identity: {{}}\n{}",
            secretbox()
        ));
        let f = scan(&first, ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "resources[0].providers[0].identity");
        assert_eq!(f[0].line, 6);
        let last = config(&format!(
            "- resources: [secrets]\n  providers:\n{}  - identity: {{}}\n",
            secretbox()
        ));
        assert!(scan(&last, ID).is_empty());
        // Secrets taken by an exact entry: the wildcard's identity does not apply to them.
        let other = config(&format!("- resources: [secrets]\n  providers:\n{}- resources: ['*.*']\n  providers:\n  - identity: {{}}\n", secretbox()));
        assert!(scan(&other, ID).is_empty());
        let wildcard = config("- resources: ['*.']\n  providers:\n  - identity: {}\n");
        assert!(scan(&wildcard, ID)[0].message.contains("(\"*.\")"));
    }

    #[test]
    fn aescbc_writing_fails_and_aescbc_kept_for_reads_passes() {
        const ID: &str = "encryption/aescbc";
        let cbc = format!(
            "  - aescbc:\n      keys: [{{name: old, secret: {}}}]\n",
            key32(9)
        );
        let f = scan(
            &config(&format!(
                "- resources: [secrets]\n  providers:\n{cbc}{}",
                secretbox()
            )),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "resources[0].providers[0].aescbc");
        assert!(scan(
            &config(&format!(
                "- resources: [secrets]\n  providers:\n{}{cbc}",
                secretbox()
            )),
            ID
        )
        .is_empty());
    }

    #[test]
    fn kms_without_api_version_or_v1_fails_and_v2_passes() {
        const ID: &str = "encryption/kms-v1";
        let kms = |v: &str| {
            config(&format!("- resources: [secrets]\n  providers:\n  - kms:\n      name: vault\n{v}      endpoint: unix:///run/kms.sock\n"))
        };
        let f = scan(&kms(""), ID);
        assert_eq!(f[0].path, "resources[0].providers[0].kms");
        assert!(
            f[0].message.contains("no apiVersion, which means v1"),
            "{}",
            f[0].message
        );
        let f = scan(&kms("      apiVersion: v1\n"), ID);
        assert_eq!(f[0].path, "resources[0].providers[0].kms.apiVersion");
        assert_eq!(f[0].line, 8);
        assert!(scan(&kms("      apiVersion: v2\n"), ID).is_empty());
    }

    #[test]
    fn aesgcm_writing_fails_as_a_rotation_reminder_and_secretbox_passes() {
        const ID: &str = "encryption/aesgcm-rotation";
        let gcm = format!(
            "  - aesgcm:\n      keys: [{{name: gcm-2026, secret: {}}}]\n",
            key32(3)
        );
        let f = scan(
            &config(&format!("- resources: [secrets]\n  providers:\n{gcm}")),
            ID,
        );
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("\"gcm-2026\""), "{}", f[0].message);
        assert_eq!(f[0].severity, palisade_core::Severity::Low);
        assert!(scan(
            &config(&format!(
                "- resources: [secrets]\n  providers:\n{}{gcm}",
                secretbox()
            )),
            ID
        )
        .is_empty());
    }
}
