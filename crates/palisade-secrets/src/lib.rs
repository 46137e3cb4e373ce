//! The credential detector behind the `secrets` rules, usable on any text:
//! manifest fields (the `secrets` rule pack) and image layer files
//! (`palisade image`).
//!
//! One Aho-Corasick automaton holds the keywords of every detector; a
//! detector's regular expression runs only in windows around its keywords'
//! occurrences (the line, widened by a per-detector reach). One `RegexSet`
//! over all patterns falls to about 1 MB/s, keyword-gated regexes keep
//! hundreds of MB/s (see `docs/dependencies.md`). Candidates then pass
//! through filters (templates, placeholders, file paths, the policy's
//! allow-list) and generic values are split by Shannon entropy.
//!
//! Findings carry a redacted preview only: at most the first four
//! characters (fewer for short values) followed by `…`.
//!
//! Layout: [`builtins`] holds the detectors' table, `detector` compiles
//! and runs it, `values` judges candidate values (entropy, templates,
//! placeholders) and decodes base64.

mod builtins;
mod detector;
mod policy;
mod values;

use std::sync::{Arc, OnceLock, RwLock};

pub use detector::Detector;
pub use policy::{ExtraPattern, SecretsPolicy};
pub use values::{as_text, decode_base64, entropy, literal_value, preview};

/// One credential found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Detector name (`github-token`, `generic-secret`, or an extra pattern's name).
    pub detector: String,
    /// Redacted preview: at most the first four characters of the value, then `…`.
    pub preview: String,
    /// A specific detector matched or the value has high entropy; `false`
    /// for a low-entropy generic value (a weak password is still a password).
    pub high: bool,
    /// Byte offset in the scanned text where the match starts.
    pub offset: usize,
}

/// `text` with every credential-shaped substring replaced by its redacted
/// preview (see [`Detector::redact`]): the one redaction every message and
/// output of palisade passes through, so an image reference such as
/// `registry.example.com/app:ghp_…` or `https://u:S3…@reg/a:1` never shows
/// its credential. Cheap when there is nothing to redact: one keyword pass.
pub fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR
        .get_or_init(|| Detector::new(&SecretsPolicy::default()))
        .redact(text)
}

/// Name of the detector for values under secret-like keys.
pub const GENERIC: &str = "generic-secret";

/// The detector for a policy: compiled once per distinct `secrets` policy
/// and shared. Rules are built before any policy is
/// known, so they look their detector up here on each `check`; the cache
/// compares policies by value (a cheap comparison of a number and two
/// usually empty lists) and keeps the few most recent.
pub fn detector_for(policy: &SecretsPolicy) -> Arc<Detector> {
    static CACHE: OnceLock<RwLock<Vec<Arc<Detector>>>> = OnceLock::new();
    const KEEP: usize = 8;
    let cache = CACHE.get_or_init(|| RwLock::new(Vec::new()));
    {
        let entries = cache.read().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = entries.iter().find(|d| d.policy == *policy) {
            return d.clone();
        }
    }
    let d = Arc::new(Detector::new(policy));
    let mut entries = cache.write().unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = entries.iter().find(|x| x.policy == *policy) {
        return existing.clone();
    }
    if entries.len() >= KEEP {
        entries.remove(0);
    }
    entries.push(d.clone());
    d
}

#[cfg(test)]
mod tests;
