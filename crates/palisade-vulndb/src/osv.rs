//! The parts of the [OSV schema](https://ossf.github.io/osv-schema/) the
//! database keeps, and how a severity level is read from them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One OSV record (one JSON file).
#[derive(Debug, Deserialize)]
pub(crate) struct Record {
    pub id: String,
    pub modified: String,
    pub published: Option<String>,
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Debian and Ubuntu name the CVE a record is about here, not in `aliases`.
    #[serde(default)]
    pub upstream: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    pub database_specific: Option<Value>,
}

/// `severity[]`: a scored rating (`CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...).
#[derive(Debug, Deserialize)]
pub(crate) struct SeverityScore {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// `affected[]`: one package of one ecosystem.
#[derive(Debug, Deserialize)]
pub(crate) struct Affected {
    pub package: Option<PackageRef>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub severity: Vec<SeverityScore>,
    pub ecosystem_specific: Option<Value>,
    pub database_specific: Option<Value>,
}

/// `affected[].package`.
#[derive(Debug, Deserialize)]
pub(crate) struct PackageRef {
    pub ecosystem: String,
    pub name: String,
}

/// `affected[].ranges[]`.
#[derive(Debug, Deserialize)]
pub(crate) struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One range event; serde's external tagging is exactly OSV's
/// `{"introduced": "1.0"}` form, and the stored ranges reuse it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// A vulnerability's severity level, mapped from whatever rating the source
/// gives (see [`rate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No usable rating.
    Unknown,
    /// Low (Debian `unimportant`/`low`, Ubuntu `negligible`/`low`, CVSS < 4).
    Low,
    /// Medium (`medium`, `moderate`, CVSS 4.0–6.9).
    Medium,
    /// High (`high`, `important`, CVSS 7.0–8.9).
    High,
    /// Critical (`critical`, CVSS ≥ 9.0).
    Critical,
}

impl Severity {
    /// Lower-case name, as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a stored name back; anything else is `Unknown`.
    pub fn from_name(s: &str) -> Severity {
        match s {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => Severity::Unknown,
        }
    }

    /// Maps a distribution's textual rating. Debian's security tracker marks
    /// guesses with trailing `*` (`low**`): the stars are dropped.
    pub fn from_text(s: &str) -> Severity {
        match s.trim().trim_end_matches('*').to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" | "negligible" | "unimportant" => Severity::Low,
            _ => Severity::Unknown,
        }
    }

    /// Maps a CVSS vector (v2, v3.x, v4) through its base score, with the
    /// CVSS specification's qualitative bands.
    pub fn from_cvss(vector: &str) -> Severity {
        match vector.parse::<cvss::Cvss>().map(|c| c.severity()) {
            Ok(cvss::Severity::Critical) => Severity::Critical,
            Ok(cvss::Severity::High) => Severity::High,
            Ok(cvss::Severity::Medium) => Severity::Medium,
            Ok(cvss::Severity::Low) => Severity::Low,
            _ => Severity::Unknown,
        }
    }
}

/// A level and the rating it came from (`urgency: low`, a CVSS vector, ...).
pub(crate) type Rated = (Severity, Option<String>);

fn text_field(v: Option<&Value>, key: &str) -> Option<String> {
    v?.get(key)?.as_str().map(str::to_string)
}

fn from_scores(scores: &[SeverityScore]) -> Option<Rated> {
    // A distribution's own text rating says more about its build of the
    // package than a CVSS vector about the upstream code.
    if let Some(s) = scores.iter().find(|s| !s.kind.starts_with("CVSS")) {
        let level = Severity::from_text(&s.score);
        if level != Severity::Unknown {
            return Some((level, Some(s.score.clone())));
        }
    }
    scores
        .iter()
        .filter(|s| s.kind.starts_with("CVSS"))
        .map(|s| (Severity::from_cvss(&s.score), Some(s.score.clone())))
        .filter(|(l, _)| *l != Severity::Unknown)
        .max_by_key(|(l, _)| *l)
}

/// The rating of one `affected[]` entry, when it has its own: Debian's
/// `ecosystem_specific.urgency`, a `severity` text in
/// `ecosystem_specific`/`database_specific`, or scores in `severity[]`.
pub(crate) fn rate_affected(a: &Affected) -> Option<Rated> {
    for (field, key) in [
        (a.ecosystem_specific.as_ref(), "urgency"),
        (a.ecosystem_specific.as_ref(), "severity"),
        (a.database_specific.as_ref(), "severity"),
    ] {
        if let Some(text) = text_field(field, key) {
            let level = Severity::from_text(&text);
            if level != Severity::Unknown {
                return Some((level, Some(format!("{key}: {text}"))));
            }
        }
    }
    from_scores(&a.severity)
}

/// The rating of the record as a whole: `severity[]`, then
/// `database_specific.severity` (GitHub's `MODERATE` style), then the highest
/// rating among its `affected[]` entries.
pub(crate) fn rate(r: &Record) -> Rated {
    from_scores(&r.severity)
        .or_else(|| {
            let text = text_field(r.database_specific.as_ref(), "severity")?;
            let level = Severity::from_text(&text);
            (level != Severity::Unknown).then(|| (level, Some(format!("severity: {text}"))))
        })
        .or_else(|| {
            r.affected
                .iter()
                .filter_map(rate_affected)
                .max_by_key(|(l, _)| *l)
        })
        .unwrap_or((Severity::Unknown, None))
}
