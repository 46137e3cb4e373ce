//! One stored value judged against the configuration: its storage form,
//! and with a keyring whether that is the current write key, an older one,
//! one the configuration lacks, or one that does not open it.

use crate::decrypt;
use crate::envelope::identify;
use crate::keyring::{Keyring, ProviderConfig};
use crate::stored::{classify, Stored};

/// What a value is, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stored as is (`protobuf` or `json`).
    Plaintext(&'static str),
    /// Encrypted; without a configuration nothing more is known.
    Encrypted(String),
    /// Encrypted with the current write provider and key (and, for local
    /// keys, proven to open).
    Current(String),
    /// Readable, but with an older key or provider than the write one.
    Stale {
        /// How it is stored (`aescbc key "old"`).
        form: String,
        /// What the API server writes with now.
        write: String,
    },
    /// Encrypted with a key or provider the configuration does not have.
    Missing(String),
    /// The configured key does not open it.
    Undecryptable {
        /// How it is stored.
        form: String,
        /// Why it did not open.
        why: String,
    },
    /// Not a value the API server writes, or not the kind expected.
    Unrecognised(String),
}

impl Verdict {
    /// The storage form, for the summary (`aesgcm key "k1"`, `plaintext (protobuf)`).
    pub fn form(&self) -> String {
        match self {
            Verdict::Plaintext(f) => format!("plaintext ({f})"),
            Verdict::Encrypted(f) | Verdict::Current(f) | Verdict::Missing(f) => f.clone(),
            Verdict::Stale { form, .. } | Verdict::Undecryptable { form, .. } => form.clone(),
            Verdict::Unrecognised(_) => "unrecognised".into(),
        }
    }
}

/// Judges `value`, stored at `etcd_key` for `resource` (a core-group
/// resource: `secrets`), whose objects are of `kind`.
pub fn judge(
    resource: &str,
    kind: &str,
    etcd_key: &[u8],
    value: &[u8],
    ring: Option<&Keyring>,
) -> Verdict {
    let stored = classify(value);
    let entry = ring.map(|r| r.entry_for(resource, ""));
    match stored {
        Stored::Unrecognised(why) => Verdict::Unrecognised(why.to_string()),
        Stored::Protobuf | Stored::Json => {
            let form = if stored == Stored::Protobuf {
                "protobuf"
            } else {
                "json"
            };
            match identify(value) {
                Ok(id) if id.kind == kind => Verdict::Plaintext(form),
                Ok(id) => Verdict::Unrecognised(format!("holds a {}, not a {kind}", id.kind)),
                Err(why) => Verdict::Unrecognised(why),
            }
        }
        Stored::Kms { version, name } => {
            let form = format!("kms v{version} {name:?}");
            let Some(entry) = entry else {
                return Verdict::Encrypted(form);
            };
            let providers = entry.map(|e| e.providers.as_slice()).unwrap_or_default();
            let found = providers.iter().position(
                |p| matches!(p, ProviderConfig::Kms { name: n, version: v } if n == name && *v == version),
            );
            match found {
                Some(0) => Verdict::Current(form),
                Some(_) => Verdict::Stale {
                    form,
                    write: providers[0].describe(),
                },
                None => Verdict::Missing(form),
            }
        }
        Stored::Sealed {
            provider,
            key,
            payload,
        } => {
            let form = format!("{} key {key:?}", provider.as_str());
            let Some(entry) = entry else {
                return Verdict::Encrypted(form);
            };
            let providers = entry.map(|e| e.providers.as_slice()).unwrap_or_default();
            let found = providers.iter().enumerate().find_map(|(i, p)| match p {
                ProviderConfig::Local(q, keys) if *q == provider => keys
                    .iter()
                    .position(|k| k.name == key)
                    .map(|j| (i, j, &keys[j])),
                _ => None,
            });
            let Some((i, j, k)) = found else {
                return Verdict::Missing(form);
            };
            let plain = match decrypt::open(provider, &k.secret, payload, etcd_key) {
                Ok(p) => p,
                Err(e) => {
                    return Verdict::Undecryptable {
                        form,
                        why: e.to_string(),
                    }
                }
            };
            match identify(&plain) {
                Ok(id) if id.kind == kind => {}
                Ok(id) => {
                    return Verdict::Undecryptable {
                        form,
                        why: format!("it decrypts to a {}, not a {kind}", id.kind),
                    }
                }
                Err(_) => {
                    return Verdict::Undecryptable {
                        form,
                        why: format!(
                        "{} opens it, but not into a stored object (wrong key or corrupt value)",
                        provider.as_str()
                    ),
                    }
                }
            }
            drop(plain);
            if i == 0 && j == 0 {
                Verdict::Current(form)
            } else {
                Verdict::Stale {
                    form,
                    write: providers[0].describe(),
                }
            }
        }
    }
}
