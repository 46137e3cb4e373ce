//! `--format compact`: one line per finding, `file:line:col: severity
//! rule-id: message`, and one per input error, `file:line:col: error input:
//! message`, as compilers print diagnostics, for editors' error lists and
//! grep. Lines are written as findings arrive; nothing is held. There is no
//! summary line, so every line is a finding or an error.

use std::io::{self, Write};

use palisade_core::{Finding, ScanReport};

use crate::stream::ReportWriter;
use crate::table::{clean, location};

/// The compact writer.
pub(crate) struct Compact<'w> {
    out: Box<dyn Write + 'w>,
}

impl<'w> Compact<'w> {
    /// A writer of compact lines to `out`.
    pub(crate) fn new(out: Box<dyn Write + 'w>) -> Self {
        Compact { out }
    }
}

impl ReportWriter for Compact<'_> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        for f in findings {
            writeln!(
                self.out,
                "{}: {} {}: {}",
                location(&f.file, f.line, f.column),
                f.severity,
                clean(f.rule),
                clean(&f.message)
            )?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        for e in &rest.errors {
            writeln!(
                self.out,
                "{}: error input: {}",
                location(&e.file, e.line, e.column),
                clean(&e.message)
            )?;
        }
        self.out.flush()
    }
}
