//! The `encryption` rule pack: EncryptionConfiguration files, the file
//! kube-apiserver's `--encryption-provider-config` names
//! (`apiserver.config.k8s.io/v1`, and the pre-1.13 `apiVersion: v1`; kind
//! `EncryptionConfiguration` or the old `EncryptionConfig`).
//! <https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/>
//!
//! How the API server reads one: `resources` is a list of entries, each
//! naming resources (`secrets`, `secrets.` for the core group, `*.` for
//! every core resource, `*.apps`, `*.*` for everything) and an ordered list
//! of providers. A resource takes the providers of every entry that names
//! it exactly, else of the first `*.<group>` entry, else of the first
//! `*.*` entry; the first of them encrypts every write, and all of them
//! are tried, by the prefix of the stored value, on reads. A resource
//! named after a wildcard that already covers it is an error: the API
//! server refuses the file ("resource is masked by earlier rule").
//!
//! Key secrets are compared and measured in memory only: no message, path
//! or other output of these rules holds a key's value or any part of it.

use palisade_core::{Node, Object, Rule, RuleMeta, Seg, Target};

mod coverage;
mod keys;
mod providers;

/// The Kubernetes task page on encrypting data at rest.
pub const ENCRYPT_URL: &str = "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/";

/// The docs' table of providers, with their strength.
pub const PROVIDERS_URL: &str =
    "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#providers";

/// The KMS provider (v2) page.
pub const KMS_URL: &str = "https://kubernetes.io/docs/tasks/administer-cluster/kms-provider/";

/// The CIS Kubernetes Benchmark.
pub const CIS_URL: &str = "https://www.cisecurity.org/benchmark/kubernetes";

/// The rules of this pack, in `palisade rules` order: the one list the
/// engine runs and the catalog shows.
pub static RULES: &[&dyn Rule] = &[
    &coverage::SecretsNotCovered,
    &coverage::MaskedResource,
    &providers::IdentityFirst,
    &providers::Aescbc,
    &providers::KmsV1,
    &providers::AesgcmRotation,
    &keys::InvalidKey,
    &keys::DuplicateKeyName,
    &keys::ReusedKey,
];

/// Catalog entries of this pack, from [`RULES`].
pub fn catalog() -> impl Iterator<Item = &'static RuleMeta> {
    RULES.iter().map(|r| <dyn Rule>::meta(*r))
}

/// The providers a configuration may name, as written.
const KINDS: [&str; 5] = ["aescbc", "aesgcm", "secretbox", "kms", "identity"];

/// An EncryptionConfiguration as the API server reads it.
pub(crate) struct Config<'a> {
    /// The `resources` entries, in order.
    pub entries: Vec<Entry<'a>>,
}

/// One `resources[]` entry.
pub(crate) struct Entry<'a> {
    /// Its index in `resources`.
    pub index: usize,
    /// The resources it names, with their index.
    pub resources: Vec<(usize, &'a str)>,
    /// Its providers, in order.
    pub providers: Vec<Provider<'a>>,
}

/// One provider of an entry.
pub(crate) struct Provider<'a> {
    /// Its entry's index in `resources`.
    pub entry: usize,
    /// Its index in the entry's `providers`.
    pub index: usize,
    /// `aescbc`, `aesgcm`, `secretbox`, `kms` or `identity`.
    pub kind: &'static str,
    /// The provider's own mapping (`{keys: [...]}`, `{}`).
    pub node: &'a Node,
}

impl<'a> Provider<'a> {
    /// The path of `rest` below this provider (`resources[0].providers[1].aescbc.keys`).
    pub fn path(&self, rest: &[Seg]) -> Vec<Seg> {
        let mut p = vec![
            Seg::key("resources"),
            Seg::Index(self.entry),
            Seg::key("providers"),
            Seg::Index(self.index),
            Seg::key(self.kind),
        ];
        p.extend_from_slice(rest);
        p
    }

    /// How messages name it: `resources[0].providers[1].aescbc`.
    pub fn label(&self) -> String {
        palisade_core::node::render_path(&self.path(&[]))
    }

    /// Its `keys` entries, with their index.
    pub fn keys(&self) -> impl Iterator<Item = (usize, &'a Node)> + 'a {
        self.node
            .get("keys")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
    }
}

impl<'a> Entry<'a> {
    /// The provider that encrypts writes: the first.
    pub fn write_provider(&self) -> Option<&Provider<'a>> {
        self.providers.first()
    }
}

/// The EncryptionConfiguration of a target, when it is one.
pub(crate) fn config<'a>(target: &Target<'a>) -> Option<Config<'a>> {
    let obj: &'a Object = target.object;
    let versioned = matches!(
        obj.id.api_version.as_str(),
        "apiserver.config.k8s.io/v1" | "v1"
    );
    let kind = matches!(
        obj.id.kind.as_str(),
        "EncryptionConfiguration" | "EncryptionConfig"
    );
    if !versioned || !kind {
        return None;
    }
    let entries = obj
        .root
        .get("resources")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, e)| Entry {
            index,
            resources: e
                .get("resources")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, r)| Some((i, r.as_str()?)))
                .collect(),
            providers: e
                .get("providers")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    // The first provider named (upstream rejects an item naming two).
                    let (kind, node) = p.entries().iter().find_map(|en| {
                        let kind = KINDS.into_iter().find(|k| *k == en.key)?;
                        p.get(kind).map(|n| (kind, n))
                    })?;
                    Some(Provider {
                        entry: index,
                        index: i,
                        kind,
                        node,
                    })
                })
                .collect(),
        })
        .collect();
    Some(Config { entries })
}

/// A resource as `schema.ParseGroupResource` reads it: (resource, group).
pub(crate) fn group_resource(r: &str) -> (&str, &str) {
    r.split_once('.').unwrap_or((r, ""))
}

impl<'a> Config<'a> {
    /// The entry whose providers Secrets take, and the index of the
    /// resource that selects it: an exact `secrets` first, then `*.`,
    /// then `*.*`, as the API server looks them up.
    pub fn secrets_entry(&self) -> Option<(&Entry<'a>, usize)> {
        for wanted in [("secrets", ""), ("*", ""), ("*", "*")] {
            for e in &self.entries {
                if let Some((i, _)) = e
                    .resources
                    .iter()
                    .find(|(_, r)| group_resource(r) == wanted)
                {
                    return Some((e, *i));
                }
            }
        }
        None
    }

    /// Every provider of every entry.
    pub fn providers(&self) -> impl Iterator<Item = &Provider<'a>> {
        self.entries.iter().flat_map(|e| e.providers.iter())
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    pub use crate::testutil::{findings, scan};

    /// An EncryptionConfiguration whose `resources` list is `entries`
    /// (YAML list items, from line 4).
    pub fn config(entries: &str) -> String {
        format!("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n{entries}")
    }

    /// A 32-byte key, base64: `AAEC...` (bytes `n`, `n+1`, ...).
    pub fn key32(n: u8) -> String {
        use base64::Engine as _;
        let bytes: Vec<u8> = (0..32).map(|i| n.wrapping_add(i)).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{config, findings, key32};

    #[test]
    fn no_finding_of_any_rule_holds_key_material() {
        let strong = key32(1);
        let short = "c2hvcnQta2V5LTEyMzQ="; // 14 bytes
        let not_base64 = "Zq9!xW7%pL2@vN5&kR8";
        let y = config(&format!(
            "- resources: [secrets]\n  providers:\n  - aescbc:\n      keys:\n      - {{name: a, secret: {strong}}}\n      - {{name: a, secret: {short}}}\n  - secretbox:\n      keys:\n      - {{name: b, secret: \"{not_base64}\"}}\n      - {{name: c, secret: {strong}}}\n- resources: [configmaps]\n  providers:\n  - aesgcm:\n      keys:\n      - {{name: d, secret: {strong}}}\n"
        ));
        let all = findings(&y);
        let ours: Vec<_> = all
            .iter()
            .filter(|f| f.rule.starts_with("encryption/"))
            .collect();
        let rules: Vec<&str> = ours.iter().map(|f| f.rule).collect();
        for r in [
            "encryption/aescbc",
            "encryption/invalid-key",
            "encryption/duplicate-key-name",
            "encryption/reused-key",
        ] {
            assert!(rules.contains(&r), "{r} not in {rules:?}");
        }
        for secret in [strong.as_str(), short, not_base64] {
            // Not the value, nor any 6 characters of it.
            let windows: Vec<&str> = (0..secret.len().saturating_sub(5))
                .map(|i| &secret[i..i + 6])
                .collect();
            for f in &all {
                for w in &windows {
                    assert!(
                        !f.message.contains(w),
                        "{} quotes key material: {}",
                        f.rule,
                        f.message
                    );
                }
                assert!(!f.path.contains(secret));
            }
        }
    }
}
