//! The keys of the aescbc, aesgcm and secretbox providers: valid, named
//! once, and not shared. Secrets are decoded as the API server decodes
//! them (Go's `base64.StdEncoding`, which skips line breaks and requires
//! padding) and compared in memory; messages name keys, never their value.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine as _};
use palisade_core::{Context, Node, Rule, RuleMeta, Seg, Severity, Target, Violation};

use super::{config, Config, Provider, ENCRYPT_URL};

/// Go's `base64.StdEncoding`: the standard alphabet, padding required,
/// non-zero trailing bits accepted (Go's non-strict mode).
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A key secret decoded as the API server does, or `None` (the error
/// itself is dropped: it would quote the offending character).
fn decode(secret: &str) -> Option<Vec<u8>> {
    let text: String = secret
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .collect();
    GO_STD.decode(text).ok()
}

/// The key lengths a provider accepts, in bytes.
fn lengths(kind: &str) -> Option<&'static [usize]> {
    match kind {
        "aescbc" | "aesgcm" => Some(&[16, 24, 32]),
        "secretbox" => Some(&[32]),
        _ => None,
    }
}

/// A key of a keyed provider.
struct Key<'c, 'a> {
    provider: &'c Provider<'a>,
    index: usize,
    name: Option<&'a str>,
    secret: Option<&'a Node>,
}

impl Key<'_, '_> {
    fn path(&self, field: &'static str) -> Vec<Seg> {
        self.provider
            .path(&[Seg::key("keys"), Seg::Index(self.index), Seg::key(field)])
    }

    /// `key "k1" of resources[0].providers[0].aescbc`.
    fn label(&self) -> String {
        match self.name {
            Some(n) => format!("key {n:?} of {}", self.provider.label()),
            None => format!("key {} of {}", self.index, self.provider.label()),
        }
    }
}

/// The keys of one provider, in order.
fn provider_keys<'c, 'a>(p: &'c Provider<'a>) -> impl Iterator<Item = Key<'c, 'a>> {
    p.keys().map(move |(index, k)| Key {
        provider: p,
        index,
        name: k
            .get("name")
            .and_then(Node::as_str)
            .filter(|n| !n.is_empty()),
        secret: k.get("secret"),
    })
}

/// Every key of every keyed provider, in order.
fn keys<'c, 'a>(c: &'c Config<'a>) -> Vec<Key<'c, 'a>> {
    c.providers()
        .filter(|p| lengths(p.kind).is_some())
        .flat_map(provider_keys)
        .collect()
}

/// Catalog entry of [`InvalidKey`].
pub static INVALID_KEY: RuleMeta = RuleMeta {
    id: "encryption/invalid-key",
    title: "Encryption key is missing, not base64 or of the wrong length",
    severity: Severity::Medium,
    level: None,
    rationale: "The API server decodes each key's secret with Go's standard base64 (padded, + and /, line breaks skipped) and needs 16, 24 or 32 bytes for aescbc and aesgcm (AES-128/192/256) and exactly 32 for secretbox; a key needs a name, and a provider at least one key. A key that fails makes the API server refuse the whole configuration: it does not start, or keeps its old configuration on reload. A short key from a passphrase or a URL-safe encoding is the usual cause. Messages give the decoded length, never the key.",
    remediation: "Generate the key from random bytes of the right length and encode it with standard base64: head -c 32 /dev/urandom | base64.",
    references: &[ENCRYPT_URL, "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#encrypting-your-data"],
};

/// `encryption/invalid-key`.
pub struct InvalidKey;

impl Rule for InvalidKey {
    fn meta(&self) -> &RuleMeta {
        &INVALID_KEY
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        let push = |out: &mut Vec<Violation>, path, message: String| {
            out.push(Violation {
                message: format!("{message}: the API server refuses this configuration"),
                container: None,
                path,
            });
        };
        for p in c.providers() {
            let Some(want) = lengths(p.kind) else {
                continue;
            };
            if p.keys().next().is_none() {
                push(out, p.path(&[]), format!("{} has no keys", p.label()));
            }
            for k in provider_keys(p) {
                if k.name.is_none() {
                    push(out, k.path("name"), format!("{} has no name", k.label()));
                }
                let Some(secret) = k.secret.and_then(Node::as_str).filter(|s| !s.is_empty()) else {
                    push(
                        out,
                        k.path("secret"),
                        format!("{} has no secret", k.label()),
                    );
                    continue;
                };
                match decode(secret) {
                    None => push(
                        out,
                        k.path("secret"),
                        format!("the secret of {} is not valid standard base64", k.label()),
                    ),
                    Some(bytes) if !want.contains(&bytes.len()) => {
                        let sizes = match want {
                            [n] => format!("exactly {n}"),
                            _ => "16, 24 or 32".to_string(),
                        };
                        push(
                            out,
                            k.path("secret"),
                            format!(
                                "the secret of {} decodes to {} bytes; {} keys are {sizes} bytes",
                                k.label(),
                                bytes.len(),
                                p.kind
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

/// Catalog entry of [`DuplicateKeyName`].
pub static DUPLICATE_KEY_NAME: RuleMeta = RuleMeta {
    id: "encryption/duplicate-key-name",
    title: "Two keys of one provider have the same name",
    severity: Severity::Medium,
    level: None,
    rationale: "A stored value names the key it was encrypted with (k8s:enc:aescbc:v1:<name>:), and on reads the API server uses the first key of that name and gives up if it fails: with two keys of one name, whatever the second one encrypted can no longer be read. This happens when a rotation reuses the old key's name for the new secret.",
    remediation: "Give every key of a provider its own name (key-2026-01, key-2026-07); to rotate, add the new key under a new name first, rewrite the objects, then remove the old one.",
    references: &["https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#rotating-a-decryption-key", ENCRYPT_URL],
};

/// `encryption/duplicate-key-name`.
pub struct DuplicateKeyName;

impl Rule for DuplicateKeyName {
    fn meta(&self) -> &RuleMeta {
        &DUPLICATE_KEY_NAME
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        let all = keys(&c);
        for (n, k) in all.iter().enumerate() {
            let Some(name) = k.name else { continue };
            let same_provider = |o: &&Key<'_, '_>| {
                o.provider.entry == k.provider.entry && o.provider.index == k.provider.index
            };
            if all[..n]
                .iter()
                .filter(same_provider)
                .any(|o| o.name == Some(name))
            {
                out.push(Violation {
                    message: format!(
                        "{} repeats an earlier key's name: values written with one of them cannot be read",
                        k.label()
                    ),
                    container: None,
                    path: k.path("name"),
                });
            }
        }
    }
}

/// Catalog entry of [`ReusedKey`].
pub static REUSED_KEY: RuleMeta = RuleMeta {
    id: "encryption/reused-key",
    title: "The same key secret is used by two providers",
    severity: Severity::Medium,
    level: None,
    rationale: "One secret used by two providers (aescbc and aesgcm, or the providers of two resource entries) ties them together: using one AES key in two modes weakens both, and a key leaked or retired for one resource is still in use for the other, so rotating one entry does not rotate the data it was meant to protect. The key secrets are compared in memory; the finding names the keys, not the value.",
    remediation: "Generate a separate key for each provider and entry (head -c 32 /dev/urandom | base64), add it first under a new name, rewrite the objects, then remove the shared one.",
    references: &[ENCRYPT_URL, "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#rotating-a-decryption-key"],
};

/// `encryption/reused-key`.
pub struct ReusedKey;

impl Rule for ReusedKey {
    fn meta(&self) -> &RuleMeta {
        &REUSED_KEY
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let Some(c) = config(target) else { return };
        let all = keys(&c);
        let decoded: Vec<Option<Vec<u8>>> = all
            .iter()
            .map(|k| {
                k.secret
                    .and_then(Node::as_str)
                    .and_then(decode)
                    .filter(|b| !b.is_empty())
            })
            .collect();
        for (n, k) in all.iter().enumerate() {
            let Some(mine) = &decoded[n] else { continue };
            // Another provider's key with the same bytes. Keys of one
            // provider sharing a secret are a rotation in progress at worst.
            let earlier = all[..n].iter().zip(&decoded[..n]).find(|(o, b)| {
                (o.provider.entry, o.provider.index) != (k.provider.entry, k.provider.index)
                    && b.as_ref() == Some(mine)
            });
            if let Some((o, _)) = earlier {
                out.push(Violation {
                    message: format!(
                        "{} has the same secret as {}: each provider needs its own key",
                        k.label(),
                        o.label()
                    ),
                    container: None,
                    path: k.path("secret"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::encryption::testutil::{config, key32, scan};

    use super::decode;

    fn provider(kind: &str, keys: &[(&str, &str)]) -> String {
        let list: String = keys
            .iter()
            .map(|(n, s)| format!("      - name: {n}\n        secret: \"{s}\"\n"))
            .collect();
        format!("  - {kind}:\n      keys:\n{list}")
    }

    #[test]
    fn decoding_is_gos_std_encoding() {
        assert_eq!(decode("AAEC").as_deref(), Some(&[0u8, 1, 2][..]));
        assert_eq!(decode("AAE=").as_deref(), Some(&[0u8, 1][..]));
        assert_eq!(decode("AA\nEC\r\n").as_deref(), Some(&[0u8, 1, 2][..]));
        // Unpadded, URL-safe, or with spaces: Go refuses them.
        for bad in ["AAE", "AA-_", "AA EC", "AAE=="] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        // Non-zero trailing bits are accepted, as Go's non-strict decoder does.
        assert!(decode("AAF=").is_some());
    }

    #[test]
    fn short_keys_url_safe_keys_and_missing_secrets_fail_and_32_bytes_pass() {
        const ID: &str = "encryption/invalid-key";
        let ok = key32(1);
        let y = config(&format!(
            "- resources: [secrets]\n  providers:\n{}{}",
            provider("secretbox", &[("a", &ok), ("b", "c2hvcnQta2V5LTEyMzQ=")]),
            provider(
                "aescbc",
                &[
                    ("c", "AAECAwQFBgcICQoLDA0ODw=="),
                    ("d", "_-_-_-_-_-_-_-_-_-_-_w==")
                ]
            ),
        ));
        let f = scan(&y, ID);
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "resources[0].providers[0].secretbox.keys[1].secret",
                "resources[0].providers[1].aescbc.keys[1].secret"
            ]
        );
        assert!(
            f[0].message
                .contains("decodes to 14 bytes; secretbox keys are exactly 32 bytes"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.contains("is not valid standard base64"),
            "{}",
            f[1].message
        );
        let y = config("- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: k\n  - aescbc:\n      keys: []\n");
        let f = scan(&y, ID);
        assert!(
            f[0].message
                .contains("key \"k\" of resources[0].providers[0].aesgcm has no secret"),
            "{}",
            f[0].message
        );
        assert_eq!(f.len(), 2);
        assert!(f[1].message.contains("has no keys"), "{}", f[1].message);
    }

    #[test]
    fn a_key_name_repeated_within_a_provider_fails_and_across_providers_passes() {
        const ID: &str = "encryption/duplicate-key-name";
        let y = config(&format!(
            "- resources: [secrets]\n  providers:\n{}{}",
            provider("aesgcm", &[("k1", &key32(1)), ("k1", &key32(2))]),
            provider("secretbox", &[("k1", &key32(3))]),
        ));
        let f = scan(&y, ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "resources[0].providers[0].aesgcm.keys[1].name");
        let y = config(&format!(
            "- resources: [secrets]\n  providers:\n{}",
            provider("aesgcm", &[("k1", &key32(1)), ("k2", &key32(2))])
        ));
        assert!(scan(&y, ID).is_empty());
    }

    #[test]
    fn a_secret_shared_by_two_providers_fails_naming_both_keys() {
        const ID: &str = "encryption/reused-key";
        let shared = key32(7);
        let y = config(&format!(
            "- resources: [secrets]\n  providers:\n{}- resources: [configmaps]\n  providers:\n{}",
            provider("secretbox", &[("box", &shared)]),
            provider("aesgcm", &[("gcm", &shared)]),
        ));
        let f = scan(&y, ID);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].path, "resources[1].providers[0].aesgcm.keys[0].secret");
        assert_eq!(
            f[0].message,
            "key \"gcm\" of resources[1].providers[0].aesgcm has the same secret as key \"box\" of resources[0].providers[0].secretbox: each provider needs its own key"
        );
        // Different secrets, and one provider listing a secret twice, pass.
        let y = config(&format!(
            "- resources: [secrets]\n  providers:\n{}{}",
            provider("secretbox", &[("new", &key32(1)), ("same", &key32(1))]),
            provider("aesgcm", &[("gcm", &key32(2))]),
        ));
        assert!(scan(&y, ID).is_empty());
    }
}
