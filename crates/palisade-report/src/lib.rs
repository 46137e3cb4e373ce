//! palisade-report: every writer palisade has. A [`ScanReport`] as a human
//! table, as versioned JSON (`palisade.json/v1`, see `docs/json-output.md`),
//! as SARIF 2.1.0 for code scanning or as JUnit XML for CI test reports
//! (streamed through [`ReportWriter`]), as compact one-line diagnostics,
//! as GitHub Actions annotations or as a GitLab Code Quality report; an image's packages as a CycloneDX
//! SBOM ([`cyclonedx`]); `verify` results ([`verify`]); `rbac` answers and
//! the access graph ([`rbac`]). Each command's `--format` is a typed enum
//! here, and all XML goes through one escaper. Reporters only write; they
//! never scan or exit.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use palisade_core::{Finding, RuleMeta, ScanReport, Severity};

mod compact;
pub mod cyclonedx;
mod formats;
mod github;
mod gitlab;
pub mod html;
mod json;
mod junit;
mod output;
pub mod policyreport;
pub mod rbac;
mod sarif;
mod stream;
mod table;
pub mod verify;
mod xml;

pub use formats::{
    ImageFormat, RbacFormat, RbacPathsFormat, ResolveFormat, RulesFormat, VerifyFormat,
};
pub use output::{is_broken_pipe, Output};
pub use stream::{writer, ReportWriter};

/// `palisade scan --format`: the scan report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text grouped by file and object.
    #[default]
    Table,
    /// Versioned JSON (`palisade.json/v1`).
    Json,
    /// SARIF 2.1.0, as GitHub code scanning accepts it.
    Sarif,
    /// JUnit XML, as CI test reporters (GitLab, Jenkins, GitHub actions) read it.
    Junit,
    /// One `file:line:col: severity rule: message` line per finding, for
    /// editors and grep.
    Compact,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// A GitLab Code Quality report (JSON).
    Gitlab,
    /// PolicyReports (`wgpolicyk8s.io/v1alpha2`): one per namespace and a
    /// ClusterPolicyReport, as a `v1/List` for `kubectl apply -f -`.
    Policyreport,
    /// One self-contained HTML page: summaries, filters, rule help.
    Html,
}

impl Format {
    /// Every format, in the order help text lists them.
    pub const ALL: [Format; 9] = [
        Format::Table,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Compact,
        Format::Github,
        Format::Gitlab,
        Format::Policyreport,
        Format::Html,
    ];

    /// The lower-case name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Compact => "compact",
            Format::Github => "github",
            Format::Gitlab => "gitlab",
            Format::Policyreport => "policyreport",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown format {s:?}: expected {}", names()))
    }
}

/// Every format name as a sentence, `table, json, ... or gitlab`, built
/// from [`Format::ALL`] so the error message cannot miss a new format.
fn names() -> String {
    let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// How the table is written; the other formats ignore these options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// Colour severities and headings with ANSI escapes. When false, no escape
    /// byte is written at all.
    pub color: bool,
    /// Write only input errors and the summary line.
    pub quiet: bool,
    /// The line width the table is laid out for ([`Output::table_width`]);
    /// messages wrap within it.
    pub width: u16,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            quiet: false,
            width: DEFAULT_WIDTH,
        }
    }
}

/// The table's width when neither `COLUMNS` nor a terminal gives one.
pub const DEFAULT_WIDTH: u16 = 100;

/// Writes `report` to `out` in `format`. `catalog` is every rule the engine
/// knows; SARIF lists them all as `rules[]` so results can point at their help.
pub fn render(
    report: &ScanReport,
    catalog: &[&RuleMeta],
    format: Format,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Table => table::write(report, opts, out),
        Format::Json => json::write(report, out),
        Format::Sarif => sarif::write(report, catalog, out),
        Format::Junit => junit::write(report, out),
        // The formats written as findings arrive: through their writer.
        Format::Compact | Format::Github | Format::Gitlab | Format::Policyreport | Format::Html => {
            let mut w = writer(format, Vec::new(), *opts, Box::new(out));
            w.findings(&report.findings)?;
            w.finish(report)
        }
    }
}

/// Findings per severity, every severity present (zeros included). Counted
/// from the list rather than taken from `report.summary`, so the counts always
/// match the findings written next to them (a caller may filter the list).
fn severity_counts(findings: &[Finding]) -> BTreeMap<Severity, usize> {
    let mut counts: BTreeMap<Severity, usize> = Severity::ALL.iter().map(|s| (*s, 0)).collect();
    for f in findings {
        *counts.entry(f.severity).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_parses_its_names_and_rejects_others() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>(), Ok(f));
        }
        let err = "xml".parse::<Format>().unwrap_err();
        assert!(
            err.contains("\"xml\"")
                && err.contains(
                    "table, json, sarif, junit, compact, github, gitlab, policyreport or html"
                ),
            "{err}"
        );
        assert!("JSON".parse::<Format>().is_err());
    }
}
