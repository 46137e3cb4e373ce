//! Command-line arguments as typed (the raw parse). [`crate::config`] turns
//! them into a validated configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Kubernetes workload security: Pod Security Standards for manifests.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests (files, directories, or - for stdin).
    Scan(ScanArgs),
    /// List the rule catalog, or show one rule.
    Rules(RulesArgs),
    /// Write or validate a policy file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `palisade config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented default policy (to stdout, or to FILE).
    Init {
        /// Where to write it (refuses to overwrite an existing file).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Validate a policy file; errors give file:line:col and exit status 2.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

/// `palisade scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan (directories recursively: .yaml, .yml,
    /// .json); `-` reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Policy file (default: .palisade.yaml in the working directory, if present).
    #[arg(long, short = 'c', value_name = "FILE", env = "PALISADE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Pod Security Standards level: privileged, baseline or restricted
    /// [default: the policy file's, else restricted].
    #[arg(long, env = "PALISADE_LEVEL")]
    pub level: Option<String>,

    /// Pod Security Standards version: v1.0 .. v1.37, or latest
    /// [default: the policy file's, else latest].
    #[arg(long = "pss-version", env = "PALISADE_PSS_VERSION")]
    pub pss_version: Option<String>,

    /// Output format: table, json, sarif or junit.
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with status 1 when a finding is at or above this severity:
    /// info, low, medium, high or critical.
    #[arg(long = "fail-on", default_value = "low", env = "PALISADE_FAIL_ON")]
    pub fail_on: String,

    /// Print only the summary line and errors (table format).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Worker threads (default: one per core; 1 checks everything in order on one thread).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// `palisade rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id (`pss/privileged`) to show in full.
    pub id: Option<String>,

    /// Output format: table or json.
    #[arg(long, short = 'f', default_value = "table")]
    pub format: String,
}
