//! The parse-only floor: reads a file and pulls every event out of
//! `saphyr-parser` (the YAML crate palisade uses), building nothing.
//!
//! `bench/run.sh` times this against `palisade scan` on the same file, so the
//! cost of palisade's tree, object model and rules shows as a ratio over the
//! cheapest possible pass through the same parser.
//!
//! Usage: `cargo run --release -p palisade-bench --bin parse_only -- FILE`

use std::process::ExitCode;

use saphyr_parser::{Event, Parser};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse_only FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("parse_only: cannot read {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    // palisade refuses non-UTF-8 input too, so the floor does the same check.
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("parse_only: {} is not UTF-8: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let mut documents: u64 = 0;
    let mut events: u64 = 0;
    for item in Parser::new_from_str(text) {
        match item {
            Ok((event, _span)) => {
                events += 1;
                if matches!(event, Event::DocumentStart(_)) {
                    documents += 1;
                }
            }
            Err(e) => {
                eprintln!(
                    "parse_only: {}: YAML error after {events} events: {e}",
                    path.to_string_lossy()
                );
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "documents={documents} events={events} bytes={}",
        bytes.len()
    );
    ExitCode::SUCCESS
}
