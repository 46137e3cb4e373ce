//! The `palisade` binary: argument parsing and wiring only. The engine lives
//! in `palisade-core`, rules in `palisade-rules`, output in `palisade-report`.
//!
//! Exit status: 0 no finding at or above `--fail-on`; 1 findings; 2 usage
//! or input errors.

mod cli;
mod config;
mod config_cmd;
mod image_cmd;
mod rbac_cmd;
mod resolve_cmd;
mod rules_cmd;
mod sbom;
mod scan;
mod serve_cmd;
mod verify_cmd;

use clap::Parser;

// A scan builds and drops millions of small strings and vectors (one per
// YAML key and value); mimalloc's thread-local free lists make that about a
// fifth cheaper than the system allocator (bench/run.sh measures it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let result = match cli.command {
        cli::Command::Scan(args) => config::ScanConfig::from_args(args).and_then(scan::run),
        cli::Command::Rules(args) => rules_cmd::run(args),
        cli::Command::Config(cmd) => config_cmd::run(cmd),
        cli::Command::Serve(args) => serve_cmd::run(args),
        cli::Command::Rbac(cmd) => rbac_cmd::run(cmd),
        cli::Command::Verify(args) => verify_cmd::run(args),
        cli::Command::Resolve(args) => resolve_cmd::run(args),
        cli::Command::Image(args) => image_cmd::run(args),
        cli::Command::Db(cmd) => image_cmd::run_db(cmd),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("palisade: {e:#}");
            std::process::exit(2);
        }
    }
}
