//! Report writers that receive findings as the scan produces them. The
//! scan hands each finished piece of input's findings to
//! [`ReportWriter::findings`] and the rest (errors, skipped documents, the
//! summary) to [`ReportWriter::finish`]. JSON, the quiet table, compact,
//! GitHub annotations and GitLab Code Quality write as they go, so a run's memory follows its largest piece of input, not its
//! number of findings; the other formats need the whole run (the table
//! aligns its columns across all findings, SARIF lists the rules of
//! unknown findings first, JUnit counts failures in its first element) and
//! hold the findings until the end.

use std::collections::BTreeMap;
use std::io::{self, Write};

use palisade_core::{Finding, RuleMeta, ScanReport, Severity};

use crate::compact::Compact;
use crate::github::Annotations;
use crate::gitlab::CodeQuality;
use crate::{json, render, severity_counts, table, Format, RenderOptions};

/// Where a scan's findings go as they are produced.
pub trait ReportWriter {
    /// Findings of one finished piece of input, in input order.
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()>;
    /// The end of the run: `rest` holds the errors, skipped documents and
    /// summary (its `findings` are ignored: they were all passed already).
    fn finish(self: Box<Self>, rest: &ScanReport) -> io::Result<()>;
}

/// A writer of `format` to `out`. `catalog` is every rule palisade knows
/// (SARIF lists them as `rules[]`).
pub fn writer<'w>(
    format: Format,
    catalog: Vec<&'static RuleMeta>,
    opts: RenderOptions,
    out: Box<dyn Write + 'w>,
) -> Box<dyn ReportWriter + 'w> {
    match format {
        Format::Json => Box::new(json::Streaming::new(out)),
        Format::Compact => Box::new(Compact::new(out)),
        Format::Github => Box::new(Annotations::new(out)),
        Format::Gitlab => Box::new(CodeQuality::new(out)),
        Format::Policyreport => Box::new(crate::policyreport::Writer::new(out)),
        Format::Html => Box::new(crate::html::Writer::new(
            out,
            catalog,
            crate::html::Extras::default(),
        )),
        Format::Table if opts.quiet => Box::new(QuietTable {
            counts: severity_counts(&[]),
            opts,
            out,
        }),
        Format::Table | Format::Sarif | Format::Junit => Box::new(Held {
            findings: Vec::new(),
            catalog,
            format,
            opts,
            out,
        }),
    }
}

impl<W: Write> ReportWriter for json::Streaming<W> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        json::Streaming::findings(self, findings)
    }

    fn finish(self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        json::Streaming::finish(*self, rest)
    }
}

/// The table with `--quiet`: findings are only counted.
struct QuietTable<'w> {
    counts: BTreeMap<Severity, usize>,
    opts: RenderOptions,
    out: Box<dyn Write + 'w>,
}

impl ReportWriter for QuietTable<'_> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        for f in findings {
            *self.counts.entry(f.severity).or_default() += 1;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        table::write_counted(rest, &self.counts, &self.opts, &mut self.out)?;
        self.out.flush()
    }
}

/// Formats that need the whole run: findings are held, then rendered.
struct Held<'w> {
    findings: Vec<Finding>,
    catalog: Vec<&'static RuleMeta>,
    format: Format,
    opts: RenderOptions,
    out: Box<dyn Write + 'w>,
}

impl ReportWriter for Held<'_> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        self.findings.extend_from_slice(findings);
        Ok(())
    }

    fn finish(mut self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        let report = ScanReport {
            findings: std::mem::take(&mut self.findings),
            errors: rest.errors.clone(),
            skipped: rest.skipped.clone(),
            summary: rest.summary.clone(),
            ..ScanReport::default()
        };
        render(
            &report,
            &self.catalog,
            self.format,
            &self.opts,
            &mut self.out,
        )?;
        self.out.flush()
    }
}
