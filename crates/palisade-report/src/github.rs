//! `--format github`: GitHub Actions workflow commands, which the runner
//! turns into annotations on the files of a pull request. Critical and high
//! findings are `::error`, medium ones `::warning`, low and info ones
//! `::notice`; input errors are `::error` and notes `::notice`. The summary
//! line follows as plain log text.
//!
//! Written by hand: a command is one line with a few escaped properties
//! (<https://docs.github.com/en/actions/reference/workflow-commands-for-github-actions>),
//! less code than any crate's setup.

use std::collections::BTreeMap;
use std::io::{self, Write};

use palisade_core::{Finding, ScanReport, Severity};

use crate::sarif::{object_name, Base};
use crate::severity_counts;
use crate::stream::ReportWriter;
use crate::table::{clean, summary_line_of};

/// The annotation writer.
pub(crate) struct Annotations<'w> {
    base: Base,
    counts: BTreeMap<Severity, usize>,
    out: Box<dyn Write + 'w>,
}

impl<'w> Annotations<'w> {
    /// A writer of workflow commands to `out`, with paths relative to the
    /// working directory (the workspace, in a workflow).
    pub(crate) fn new(out: Box<dyn Write + 'w>) -> Self {
        Annotations {
            base: Base::current(),
            counts: severity_counts(&[]),
            out,
        }
    }
}

impl ReportWriter for Annotations<'_> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        for f in findings {
            *self.counts.entry(f.severity).or_default() += 1;
            let mut text = format!("{}: {}", clean(&object_name(f)), clean(&f.message));
            if !f.remediation.is_empty() {
                text.push_str("\nFix: ");
                text.push_str(&clean(f.remediation));
            }
            let place = Place {
                file: &self.base.display(&f.file),
                line: f.line,
                column: f.column,
            };
            let title = format!("{} ({})", f.rule, f.severity);
            command(
                &mut self.out,
                command_name(f.severity),
                place,
                &title,
                &text,
            )?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        for e in &rest.errors {
            let place = Place {
                file: &self.base.display(&e.file),
                line: e.line,
                column: e.column,
            };
            let text = clean(&e.message);
            command(&mut self.out, "error", place, "palisade input error", &text)?;
        }
        for note in &rest.summary.notes {
            let place = Place {
                file: "-",
                line: 0,
                column: 0,
            };
            command(&mut self.out, "notice", place, "palisade", &clean(note))?;
        }
        writeln!(self.out, "{}", summary_line_of(rest, &self.counts))?;
        self.out.flush()
    }
}

/// The workflow command of a finding's severity.
pub(crate) fn command_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "notice",
    }
}

/// Where an annotation points; `-` and zeros leave the property out.
#[derive(Clone, Copy)]
struct Place<'a> {
    file: &'a str,
    line: u32,
    column: u32,
}

/// `::error file=F,line=L,col=C,title=T::message`.
fn command(
    out: &mut dyn Write,
    name: &str,
    place: Place<'_>,
    title: &str,
    message: &str,
) -> io::Result<()> {
    let mut properties = Vec::new();
    if place.file != "-" {
        properties.push(format!("file={}", escape_property(place.file)));
        if place.line > 0 {
            properties.push(format!("line={}", place.line));
            if place.column > 0 {
                properties.push(format!("col={}", place.column));
            }
        }
    }
    properties.push(format!("title={}", escape_property(title)));
    writeln!(
        out,
        "::{name} {}::{}",
        properties.join(","),
        escape_data(message)
    )
}

/// A command's message: `%`, carriage return and newline as `%25`, `%0D`
/// and `%0A`, so a message is one line and cannot start a command of its own.
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as a message, and `:` and `,` too, which end the
/// properties.
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_runner() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_data("a: b, c"), "a: b, c");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn severities_map_to_three_commands() {
        assert_eq!(command_name(Severity::Critical), "error");
        assert_eq!(command_name(Severity::High), "error");
        assert_eq!(command_name(Severity::Medium), "warning");
        assert_eq!(command_name(Severity::Low), "notice");
        assert_eq!(command_name(Severity::Info), "notice");
    }
}
