//! The keys of an EncryptionConfiguration (`apiserver.config.k8s.io/v1`),
//! as the API server reads them: per resource entry, the providers in
//! order (the first one writes; every one is tried on read, by prefix);
//! per aescbc/aesgcm/secretbox provider, its keys in order (the first one
//! writes). <https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/>
//!
//! The keys' secrets are held in memory only, zeroed when dropped, and
//! never appear in a message: errors name the key and its position.

use std::path::Path;

use base64::Engine as _;
use palisade_core::loader::{load_bytes, Limits};
use palisade_core::{Node, Pos};
use zeroize::Zeroizing;

use crate::stored::Provider;

/// One key of a local-key provider.
pub struct Key {
    /// Its name (the prefix's `<key>`).
    pub name: String,
    /// The decoded secret.
    pub secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({:?}, {} bytes)", self.name, self.secret.len())
    }
}

/// One provider of a resource entry.
#[derive(Debug)]
pub enum ProviderConfig {
    /// `identity`: stored as is.
    Identity,
    /// `aescbc`, `aesgcm` or `secretbox`, with its keys in order.
    Local(Provider, Vec<Key>),
    /// `kms`, by name and API version (1 or 2).
    Kms {
        /// `name`.
        name: String,
        /// `apiVersion` (v1 when unset, as upstream defaults it).
        version: u8,
    },
}

impl ProviderConfig {
    /// `aescbc key1`, `identity`, `kms v2 vault`.
    pub fn describe(&self) -> String {
        match self {
            ProviderConfig::Identity => "identity".into(),
            ProviderConfig::Local(p, keys) => match keys.first() {
                Some(k) => format!("{} key {:?}", p.as_str(), k.name),
                None => p.as_str().into(),
            },
            ProviderConfig::Kms { name, version } => format!("kms v{version} {name:?}"),
        }
    }
}

/// One `resources[]` entry.
#[derive(Debug)]
pub struct Entry {
    /// `resources`: `secrets`, `configmaps`, `*.apps`, `*.*`.
    pub resources: Vec<String>,
    /// `providers`, in order.
    pub providers: Vec<ProviderConfig>,
}

/// The configuration's keys.
#[derive(Debug, Default)]
pub struct Keyring {
    /// The file it was read from.
    pub file: String,
    /// `resources`, in order.
    pub entries: Vec<Entry>,
}

/// A problem in the configuration, at its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

impl Keyring {
    /// Reads the configuration at `path`. Problems that keep one provider
    /// from being used are returned next to the keyring (the rest is used).
    pub fn read(path: &Path) -> Result<(Keyring, Vec<ConfigError>), ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| ConfigError {
            pos: Pos::default(),
            message: format!("cannot read it: {e}"),
        })?;
        let (mut ring, errors) = Keyring::parse(&bytes)?;
        ring.file = path.display().to_string();
        Ok((ring, errors))
    }

    /// Parses a configuration (YAML or JSON).
    pub fn parse(bytes: &[u8]) -> Result<(Keyring, Vec<ConfigError>), ConfigError> {
        let loaded = load_bytes(bytes, &Limits::default());
        if let Some(d) = loaded.errors.first() {
            return Err(ConfigError {
                pos: d.pos,
                message: d.message.clone(),
            });
        }
        let mut docs = loaded.documents.into_iter();
        let root = docs.next().map(|d| d.root).ok_or(ConfigError {
            pos: Pos::default(),
            message: "the file holds no document".into(),
        })?;
        let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
        if kind != "EncryptionConfiguration" {
            return Err(ConfigError {
                pos: root.pos,
                message: format!("kind is {kind:?}, not EncryptionConfiguration"),
            });
        }
        let mut errors = Vec::new();
        let mut entries = Vec::new();
        for entry in root.get("resources").map(Node::items).unwrap_or_default() {
            let resources = entry
                .get("resources")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_string)
                .collect();
            let mut providers = Vec::new();
            for p in entry.get("providers").map(Node::items).unwrap_or_default() {
                match provider(p, &mut errors) {
                    Some(c) => providers.push(c),
                    None => continue,
                }
            }
            entries.push(Entry {
                resources,
                providers,
            });
        }
        Ok((
            Keyring {
                file: String::new(),
                entries,
            },
            errors,
        ))
    }

    /// The entry that governs `resource` (`secrets`, or `deployments.apps`):
    /// the first whose `resources` names it or a wildcard that covers it.
    pub fn entry_for(&self, resource: &str, group: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.resources.iter().any(|r| {
                let name = if group.is_empty() {
                    resource.to_string()
                } else {
                    format!("{resource}.{group}")
                };
                r == &name || r == "*.*" || (r.strip_prefix("*.").is_some_and(|g| g == group))
            })
        })
    }

    /// Core-group resources named explicitly (other than `secrets`): they
    /// are read from etcd too.
    pub fn named_core_resources(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .entries
            .iter()
            .flat_map(|e| e.resources.iter())
            .filter(|r| !r.contains('.') && !r.contains('*') && *r != "secrets")
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// One `providers[]` item: a map with one key naming the provider.
fn provider(p: &Node, errors: &mut Vec<ConfigError>) -> Option<ProviderConfig> {
    let entry = p.entries().first()?;
    let body = &entry.node;
    let at = entry.key_pos;
    match entry.key.as_str() {
        "identity" => Some(ProviderConfig::Identity),
        "kms" => {
            let name = body
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string();
            let version = match body.get("apiVersion").and_then(Node::as_str) {
                None | Some("v1") => 1,
                Some("v2") => 2,
                Some(other) => {
                    errors.push(ConfigError {
                        pos: at,
                        message: format!("kms {name:?}: unknown apiVersion {other:?}"),
                    });
                    return None;
                }
            };
            Some(ProviderConfig::Kms { name, version })
        }
        name => {
            let Some(provider) = Provider::from_name(name) else {
                errors.push(ConfigError {
                    pos: at,
                    message: format!("unknown provider {name:?} (identity, aescbc, aesgcm, secretbox or kms): not used"),
                });
                return None;
            };
            let mut keys = Vec::new();
            for k in body.get("keys").map(Node::items).unwrap_or_default() {
                let key_name = k
                    .get("name")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string();
                let secret = k.get("secret").and_then(Node::as_str).unwrap_or("");
                match base64::engine::general_purpose::STANDARD.decode(secret.trim()) {
                    Ok(bytes) if valid_length(provider, bytes.len()) => keys.push(Key {
                        name: key_name,
                        secret: Zeroizing::new(bytes),
                    }),
                    Ok(bytes) => errors.push(ConfigError {
                        pos: k.pos,
                        message: format!(
                            "{} key {key_name:?}: {} bytes once decoded, {}: not used",
                            provider.as_str(),
                            bytes.len(),
                            if provider == Provider::Secretbox {
                                "secretbox needs 32"
                            } else {
                                "AES needs 16, 24 or 32"
                            }
                        ),
                    }),
                    Err(_) => errors.push(ConfigError {
                        pos: k.pos,
                        message: format!(
                            "{} key {key_name:?}: the secret is not valid base64: not used",
                            provider.as_str()
                        ),
                    }),
                }
            }
            Some(ProviderConfig::Local(provider, keys))
        }
    }
}

fn valid_length(p: Provider, len: usize) -> bool {
    match p {
        Provider::Secretbox => len == 32,
        Provider::Aescbc | Provider::Aesgcm => matches!(len, 16 | 24 | 32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n- resources: [secrets, configmaps]\n  providers:\n  - aesgcm:\n      keys:\n      - {name: new, secret: MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=}\n      - {name: short, secret: c2hvcnQ=}\n      - {name: bad, secret: '!!'}\n  - rot13: {}\n  - identity: {}\n- resources: ['*.apps']\n  providers:\n  - kms: {name: vault, apiVersion: v2}\n";

    #[test]
    fn providers_and_keys_are_read_in_order_and_bad_keys_are_left_out_without_their_value() {
        let (ring, errors) = Keyring::parse(CONFIG.as_bytes()).unwrap();
        assert_eq!(ring.entries.len(), 2);
        let secrets = ring.entry_for("secrets", "").unwrap();
        assert_eq!(secrets.providers.len(), 2, "{:?}", secrets.providers);
        assert_eq!(secrets.providers[0].describe(), "aesgcm key \"new\"");
        assert_eq!(
            ring.entry_for("deployments", "apps").unwrap().providers[0].describe(),
            "kms v2 \"vault\""
        );
        assert!(ring
            .entry_for("roles", "rbac.authorization.k8s.io")
            .is_none());
        assert_eq!(ring.named_core_resources(), ["configmaps"]);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("\"short\": 5 bytes"), "{messages:?}");
        assert!(messages[1].contains("\"bad\": the secret is not valid base64"));
        assert!(messages[2].contains("unknown provider \"rot13\""));
        assert_eq!(errors[2].pos.line, 11);
        for m in messages {
            assert!(
                !m.contains("c2hvcnQ") && !m.contains("short\"") || m.contains("key \"short\"")
            );
        }
    }

    #[test]
    fn a_file_that_is_not_an_encryption_configuration_is_an_error_with_its_position() {
        let e = Keyring::parse(b"kind: Pod\n").unwrap_err();
        assert!(e.message.contains("not EncryptionConfiguration"), "{e:?}");
        assert_eq!(e.pos.line, 1);
        let e = Keyring::parse(b"kind: EncryptionConfiguration\nresources: [\n").unwrap_err();
        assert!(e.pos.line >= 2, "{e:?}");
    }
}
