//! The `secrets` section of the policy file, which configures the detector
//! (read by `palisade_core::policy_file`, which re-exports these types).

/// `secrets`.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretsPolicy {
    /// Shannon entropy (bits per character) at or above which a generic
    /// secret is reported as high rather than medium.
    pub entropy_threshold: f64,
    /// Extra detectors.
    pub extra_patterns: Vec<ExtraPattern>,
    /// Regular expressions; a candidate value matching one is not reported.
    pub allow: Vec<String>,
}

impl Default for SecretsPolicy {
    fn default() -> Self {
        SecretsPolicy {
            entropy_threshold: 3.5,
            extra_patterns: Vec::new(),
            allow: Vec::new(),
        }
    }
}

/// `secrets.extraPatterns[]`: a detector of the organisation's own tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraPattern {
    /// Name shown in findings.
    pub name: String,
    /// Regular expression matching the secret.
    pub regex: String,
    /// Literal keywords, one of which must occur for the regex to run (prefilter).
    pub keywords: Vec<String>,
}
