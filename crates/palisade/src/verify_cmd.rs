//! `palisade verify`: runs gator test suites of Rego policies (templates,
//! constraints and cases with expected violations).

use std::io::Write;

use anyhow::Result;
use palisade_report::{verify, VerifyFormat};

use crate::cli::VerifyArgs;

/// Runs every suite (the tests and cases `--run` selects); returns 0 when
/// all pass, 1 when a case fails, 2 when a suite cannot be read or `--run`
/// selects nothing.
pub fn run(args: VerifyArgs) -> Result<i32> {
    let filter = match palisade_rego::Filter::new(args.run.as_deref().unwrap_or("")) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("palisade: {e}");
            return Ok(2);
        }
    };
    let mut out = std::io::stdout().lock();
    let mut status = 0;
    let mut selected = 0;
    for path in &args.paths {
        match palisade_rego::verify_filtered(path, args.engine.into(), &filter) {
            Ok(report) => {
                selected += report.units().len();
                let text = match args.format {
                    VerifyFormat::Json => verify::json(&report),
                    VerifyFormat::Junit => verify::junit(&report),
                    VerifyFormat::Text => verify::text(&report),
                };
                write!(out, "{text}")?;
                if !text.ends_with('\n') {
                    writeln!(out)?;
                }
                if !report.passed() && status == 0 {
                    status = 1;
                }
            }
            Err(e) => {
                eprintln!("palisade: {e}");
                status = 2;
            }
        }
    }
    out.flush()?;
    if selected == 0 && status == 0 {
        // A filter that selects nothing is a mistake, not a pass.
        eprintln!(
            "palisade: --run {:?} selects no test or case",
            args.run.as_deref().unwrap_or("")
        );
        return Ok(2);
    }
    Ok(status)
}
