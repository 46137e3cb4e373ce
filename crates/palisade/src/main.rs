//! The `palisade` binary: argument parsing and wiring only. The engine lives
//! in `palisade-core`, rules in `palisade-rules`, output in `palisade-report`.
//!
//! Exit status: 0 no finding at or above `--fail-on`; 1 findings; 2 usage
//! or input errors.

mod audit_cmd;
mod cli;
mod config;
mod config_cmd;
mod etcd_cmd;
mod export_cmd;
mod image_cmd;
mod kustomize;
mod progress;
mod rbac_cmd;
mod resolve_cmd;
mod rules_cmd;
mod scan;
mod serve_cmd;
mod verify_bundle_cmd;
mod verify_cmd;

use clap::Parser;

// A scan builds and drops millions of small strings and vectors (one per
// YAML key and value); mimalloc's thread-local free lists make that about a
// fifth cheaper than the system allocator (bench/run.sh measures it).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    no_huge_pages();
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
        cli::Command::Audit(args) => audit_cmd::run(args),
        cli::Command::Etcd(args) => etcd_cmd::run(args),
        cli::Command::Rules(args) => rules_cmd::run(args),
        cli::Command::Config(cmd) => config_cmd::run(cmd),
        cli::Command::Serve(args) => serve_cmd::run(args),
        cli::Command::Rbac(cmd) => rbac_cmd::run(cmd),
        cli::Command::Verify(args) => verify_cmd::run(args),
        cli::Command::Resolve(args) => resolve_cmd::run(args),
        cli::Command::Image(args) => image_cmd::run(args),
        cli::Command::Db(cmd) => image_cmd::run_db(cmd),
        cli::Command::Export(cmd) => export_cmd::run(cmd),
        cli::Command::VerifyBundle(args) => verify_bundle_cmd::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        // A reader that stopped early (`| head`) is not an error to report.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(palisade_report::is_broken_pipe)
            }) =>
        {
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("palisade: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Asks Linux not to back this process with transparent huge pages. The
/// allocator asks for them, and then every first touch of memory zeroes a
/// whole 2 MiB page (with compaction stalls when memory is fragmented): a
/// scan holding a million findings spent a sixth of its time there, and a
/// layer walk, which allocates and frees buffers of a few hundred KiB in
/// turn, 14% of a zstd scan and 20 MiB more peak memory.
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes
    // no memory the program can see; failure (an old kernel) is harmless.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
