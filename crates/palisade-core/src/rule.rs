//! The rule trait, rule metadata for the catalog, and the evaluation context
//! (the policy every rule is judged against).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::finding::Severity;
use crate::node::Seg;
use std::sync::Arc;

use crate::object::{Object, PodView};
use crate::policy::{Policy, ScanIndex};

/// What the catalog knows about a rule.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RuleMeta {
    /// Stable id (`pss/privileged`).
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// The Pod Security Standards level that enforces it, when it is a PSS rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<PssLevel>,
    /// Why it matters.
    pub rationale: &'static str,
    /// How to fix a violation.
    pub remediation: &'static str,
    /// Links to the standard or documentation it enforces.
    pub references: &'static [&'static str],
}

/// A violation found by a rule, before it is located in the source.
#[derive(Debug, Clone)]
pub struct Violation {
    /// What is wrong, naming the container and field.
    pub message: String,
    /// The container concerned, if any.
    pub container: Option<String>,
    /// Path of the offending field from the object root.
    pub path: Vec<Seg>,
}

/// A rule: metadata plus a pure function over one object. Rules never do I/O.
pub trait Rule: Send + Sync {
    /// Catalog entry.
    fn meta(&self) -> &RuleMeta;
    /// Appends this rule's violations for `target` under `ctx` to `out`.
    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>);
}

/// A rule kept in a `static` list (each pack's `RULES`) runs as itself.
impl<R: Rule + ?Sized> Rule for &'static R {
    fn meta(&self) -> &RuleMeta {
        (**self).meta()
    }

    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>) {
        (**self).check(target, ctx, out)
    }
}

/// What a rule looks at: the object, its pod-spec view when it is a
/// workload, and what the rest of the scan holds.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The object.
    pub object: &'a Object,
    /// The pod-spec view, for workload kinds.
    pub pod: Option<PodView<'a>>,
    /// Objects seen across the whole scan (ServiceAccounts, ...).
    pub index: &'a ScanIndex,
}

/// Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PssLevel {
    /// No restriction.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Current pod hardening best practice.
    Restricted,
}

impl PssLevel {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Privileged => "privileged",
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PssLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "privileged" => Ok(PssLevel::Privileged),
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            _ => Err(format!(
                "unknown level {s:?}: expected privileged, baseline or restricted"
            )),
        }
    }
}

/// A Pod Security Standards policy version: `v1.N`, or `latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PssVersion {
    /// `v1.<minor>`.
    V1(u16),
    /// The newest version: every check at its newest definition.
    Latest,
}

impl PssVersion {
    /// Whether a check introduced or changed at `v1.<minor>` applies at this version.
    pub fn at_least(self, minor: u16) -> bool {
        match self {
            PssVersion::Latest => true,
            PssVersion::V1(m) => m >= minor,
        }
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PssVersion::V1(m) => write!(f, "v1.{m}"),
            PssVersion::Latest => f.write_str("latest"),
        }
    }
}

impl FromStr for PssVersion {
    type Err = String;
    /// Accepts `latest` and `v1.N` as Pod Security Admission labels do; a
    /// version newer than any policy change evaluates like `latest`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "latest" {
            return Ok(PssVersion::Latest);
        }
        let minor = s
            .strip_prefix("v1.")
            .filter(|m| !m.is_empty() && (m == &"0" || !m.starts_with('0')))
            .and_then(|m| m.parse::<u16>().ok());
        match minor {
            Some(m) => Ok(PssVersion::V1(m)),
            None => Err(format!(
                "invalid version {s:?}: expected latest or v1.N (v1.0 .. v1.37)"
            )),
        }
    }
}

/// The policy a scan is judged against.
#[derive(Debug, Clone)]
pub struct Context {
    /// Pod Security Standards level.
    pub level: PssLevel,
    /// Pod Security Standards version.
    pub version: PssVersion,
    /// The whole policy (images, secrets, exemptions, ...).
    pub policy: Arc<Policy>,
}

impl Context {
    /// The default policy at a PSS level and version.
    pub fn new(level: PssLevel, version: PssVersion) -> Self {
        Context::from_policy(Policy {
            level,
            version,
            ..Policy::default()
        })
    }

    /// A context from a policy file.
    pub fn from_policy(policy: Policy) -> Self {
        Context {
            level: policy.level,
            version: policy.version,
            policy: Arc::new(policy),
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::from_policy(Policy::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_like_psa_labels() {
        assert_eq!("v1.25".parse(), Ok(PssVersion::V1(25)));
        assert_eq!("v1.0".parse(), Ok(PssVersion::V1(0)));
        assert_eq!("latest".parse(), Ok(PssVersion::Latest));
        assert!("1.25".parse::<PssVersion>().is_err());
        assert!("v1.025".parse::<PssVersion>().is_err());
        assert!("v2.0".parse::<PssVersion>().is_err());
        assert!(PssVersion::V1(25).at_least(25));
        assert!(!PssVersion::V1(24).at_least(25));
    }
}
