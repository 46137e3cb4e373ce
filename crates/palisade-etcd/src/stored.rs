//! The storage form of a value, from its first bytes, as the API server's
//! transformers write it (k8s.io/apiserver `storage/value`,
//! `server/options/encryptionconfig`).

/// How a value is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored<'a> {
    /// Protobuf in the storage envelope (`k8s\0`).
    Protobuf,
    /// JSON (`{`).
    Json,
    /// `k8s:enc:<provider>:v1:<key>:` and the provider's payload.
    Sealed {
        /// `aescbc`, `aesgcm` or `secretbox`.
        provider: Provider,
        /// The key's name in the configuration.
        key: &'a str,
        /// What follows the prefix.
        payload: &'a [u8],
    },
    /// `k8s:enc:kms:v1:<name>:` or `k8s:enc:kms:v2:<name>:` (the KMS
    /// plugin holds the key: not decrypted here).
    Kms {
        /// 1 or 2.
        version: u8,
        /// The kms provider's name.
        name: &'a str,
    },
    /// Not a form the API server writes.
    Unrecognised(&'static str),
}

/// A local-key encryption provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// AES-CBC with PKCS#7 padding, 16-byte IV first.
    Aescbc,
    /// AES-GCM, 12-byte nonce first, the etcd key as authenticated data.
    Aesgcm,
    /// NaCl secretbox, 24-byte nonce first.
    Secretbox,
}

impl Provider {
    /// The name in the configuration and in the prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aescbc => "aescbc",
            Provider::Aesgcm => "aesgcm",
            Provider::Secretbox => "secretbox",
        }
    }

    /// The provider named `name`.
    pub fn from_name(name: &str) -> Option<Provider> {
        match name {
            "aescbc" => Some(Provider::Aescbc),
            "aesgcm" => Some(Provider::Aesgcm),
            "secretbox" => Some(Provider::Secretbox),
            _ => None,
        }
    }
}

/// The prefix of every encrypted value.
pub const ENCRYPTED_PREFIX: &[u8] = b"k8s:enc:";

/// The protobuf storage envelope's magic.
pub const PROTOBUF_MAGIC: &[u8] = b"k8s\x00";

/// The storage form of `value`.
pub fn classify(value: &[u8]) -> Stored<'_> {
    if let Some(rest) = value.strip_prefix(ENCRYPTED_PREFIX) {
        return sealed(rest);
    }
    if value.starts_with(PROTOBUF_MAGIC) {
        return Stored::Protobuf;
    }
    // The JSON serializer writes no leading space; a few tools do.
    match value.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Stored::Json,
        Some(_) if value.starts_with(b"k8s") => {
            Stored::Unrecognised("a k8s envelope of an unknown encoding")
        }
        Some(_) => {
            Stored::Unrecognised("neither the protobuf envelope, JSON, nor an encryption prefix")
        }
        None => Stored::Unrecognised("empty value"),
    }
}

/// `<provider>:v<n>:<key>:<payload>` after `k8s:enc:`.
fn sealed(rest: &[u8]) -> Stored<'_> {
    let mut parts = rest.splitn(4, |b| *b == b':');
    let (Some(provider), Some(version), Some(key), Some(payload)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Stored::Unrecognised(
            "truncated encryption prefix (k8s:enc:<provider>:<version>:<key>:)",
        );
    };
    let Ok(key) = std::str::from_utf8(key) else {
        return Stored::Unrecognised("the key name in the encryption prefix is not UTF-8");
    };
    if key.is_empty() {
        return Stored::Unrecognised("the encryption prefix names no key");
    }
    match (provider, version) {
        (b"kms", b"v1") => Stored::Kms {
            version: 1,
            name: key,
        },
        (b"kms", b"v2") => Stored::Kms {
            version: 2,
            name: key,
        },
        (b"kms", _) => Stored::Unrecognised("an unknown kms version in the encryption prefix"),
        (p, b"v1") => match std::str::from_utf8(p).ok().and_then(Provider::from_name) {
            Some(provider) => Stored::Sealed {
                provider,
                key,
                payload,
            },
            None => Stored::Unrecognised("an unknown provider in the encryption prefix"),
        },
        _ => Stored::Unrecognised("an unknown provider version in the encryption prefix"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_the_api_server_writes_is_recognised() {
        assert_eq!(classify(b"k8s\x00\x0a\x0c"), Stored::Protobuf);
        assert_eq!(classify(b"{\"kind\":\"Secret\"}"), Stored::Json);
        assert_eq!(
            classify(b"k8s:enc:aescbc:v1:key1:\x01\x02"),
            Stored::Sealed {
                provider: Provider::Aescbc,
                key: "key1",
                payload: b"\x01\x02"
            }
        );
        assert_eq!(
            classify(b"k8s:enc:secretbox:v1:k:"),
            Stored::Sealed {
                provider: Provider::Secretbox,
                key: "k",
                payload: b""
            }
        );
        assert_eq!(
            classify(b"k8s:enc:kms:v2:vault:\x0a"),
            Stored::Kms {
                version: 2,
                name: "vault"
            }
        );
        assert_eq!(
            classify(b"k8s:enc:kms:v1:old:"),
            Stored::Kms {
                version: 1,
                name: "old"
            }
        );
    }

    #[test]
    fn truncated_or_unknown_prefixes_are_said_so() {
        for (value, says) in [
            (&b"k8s:enc:aescbc:v1"[..], "truncated"),
            (b"k8s:enc:aescbc", "truncated"),
            (b"k8s:enc:rot13:v1:k:x", "unknown provider"),
            (b"k8s:enc:aescbc:v9:k:x", "unknown provider version"),
            (b"k8s:enc:kms:v3:k:x", "unknown kms version"),
            (b"k8s:enc:aesgcm:v1::x", "names no key"),
            (b"k8s\x01abc", "unknown encoding"),
            (b"hello", "neither"),
            (b"", "empty"),
        ] {
            match classify(value) {
                Stored::Unrecognised(why) => assert!(why.contains(says), "{value:?}: {why}"),
                other => panic!("{value:?}: {other:?}"),
            }
        }
    }
}
