//! `palisade verify`: runs gator test suites of Rego policies (templates,
//! constraints and cases with expected violations).

use std::io::Write;

use anyhow::Result;
use palisade_report::{verify, VerifyFormat};

use crate::cli::VerifyArgs;

/// Runs every suite; returns 0 when all pass, 1 when a case fails, 2 when a
/// suite cannot be read.
pub fn run(args: VerifyArgs) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    let mut status = 0;
    for path in &args.paths {
        match palisade_rego::verify_with(path, args.engine.into()) {
            Ok(report) => {
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
    Ok(status)
}
