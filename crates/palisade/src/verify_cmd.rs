//! `palisade verify`: runs gator test suites of Rego policies (templates,
//! constraints and cases with expected violations).

use std::io::Write;

use anyhow::{bail, Result};

use crate::cli::VerifyArgs;

/// Runs every suite; returns 0 when all pass, 1 when a case fails, 2 when a
/// suite cannot be read.
pub fn run(args: VerifyArgs) -> Result<i32> {
    if !["text", "json", "junit"].contains(&args.format.as_str()) {
        bail!(
            "--format: {:?} is not one of text, json, junit",
            args.format
        );
    }
    let mut out = std::io::stdout().lock();
    let mut status = 0;
    for path in &args.paths {
        match palisade_rego::verify(path) {
            Ok(report) => {
                let text = match args.format.as_str() {
                    "json" => report.to_json(),
                    "junit" => report.to_junit(),
                    _ => report.to_text(),
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
