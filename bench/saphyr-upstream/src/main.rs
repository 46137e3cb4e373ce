//! `parse_upstream FILE`: every event of the unpatched saphyr-parser, as
//! `parse_only` does for palisade's patched copy.

use std::process::ExitCode;

use saphyr_parser::{Event, Parser};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_upstream FILE");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("parse_upstream: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut documents, mut events) = (0u64, 0u64);
    for item in Parser::new_from_str(&text) {
        match item {
            Ok((event, _)) => {
                events += 1;
                documents += u64::from(matches!(event, Event::DocumentStart(_)));
            }
            Err(e) => {
                eprintln!("parse_upstream: {path}: YAML error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    println!("documents={documents} events={events} bytes={}", text.len());
    ExitCode::SUCCESS
}
