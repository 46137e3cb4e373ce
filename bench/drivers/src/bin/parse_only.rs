//! The parse-only floor: reads a file and pulls every event out of a YAML
//! parser, building nothing.
//!
//! `bench/run.sh` times this against `palisade scan` on the same file, so the
//! cost of palisade's tree, object model and rules shows as a ratio over the
//! cheapest possible pass through the same parser. `bench/yaml.sh` times
//! palisade's parser (saphyr-parser with the changes in `patches/`) against
//! libyaml's grammar in Rust (`libyaml-safer`) and against the unpatched
//! crates.io release (`bench/saphyr-upstream`, a project of its own: Cargo
//! holds one 0.3 release per build).
//!
//! Usage: `parse_only [--parser palisade|libyaml] FILE`

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut parser = "palisade".to_string();
    if args.first().is_some_and(|a| a == "--parser") && args.len() > 1 {
        parser = args.remove(1);
        args.remove(0);
    }
    let [path] = args.as_slice() else {
        eprintln!("usage: parse_only [--parser palisade|libyaml] FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("parse_only: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    // palisade refuses non-UTF-8 input too, so the floor does the same check.
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("parse_only: {path} is not UTF-8: {e}");
            return ExitCode::from(2);
        }
    };
    let counted = match parser.as_str() {
        "palisade" => palisade(text),
        "libyaml" => libyaml(text),
        other => {
            eprintln!("parse_only: unknown parser {other}");
            return ExitCode::from(2);
        }
    };
    match counted {
        Ok((documents, events)) => {
            println!(
                "documents={documents} events={events} bytes={}",
                bytes.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parse_only: {path}: YAML error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Documents and events, or the first error.
type Counted = Result<(u64, u64), String>;

fn palisade(text: &str) -> Counted {
    use saphyr_parser::{Event, Parser};
    let (mut documents, mut events) = (0, 0);
    for item in Parser::new_from_str(text) {
        let (event, _span) = item.map_err(|e| e.to_string())?;
        events += 1;
        documents += u64::from(matches!(event, Event::DocumentStart(_)));
    }
    Ok((documents, events))
}

fn libyaml(text: &str) -> Counted {
    use libyaml_safer::{EventData, Parser};
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let (mut documents, mut events) = (0, 0);
    loop {
        let event = parser.parse().map_err(|e| e.to_string())?;
        events += 1;
        match event.data {
            EventData::DocumentStart { .. } => documents += 1,
            EventData::StreamEnd => return Ok((documents, events)),
            _ => {}
        }
    }
}
