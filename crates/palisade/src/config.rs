//! The validated configuration of a scan: what the rest of the program
//! trusts. Invalid values fail here, with a message naming the flag.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use palisade_core::policy_file::{read_policy_file, PolicyFileError, DEFAULT_FILE};
use palisade_core::{Context, Policy, PssLevel, PssVersion, Severity};
use palisade_report::Format;

use crate::cli::ScanArgs;

/// Where input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A file or a directory.
    Path(PathBuf),
}

/// A validated `scan` invocation.
#[derive(Debug)]
pub struct ScanConfig {
    /// Inputs in command-line order.
    pub inputs: Vec<Input>,
    /// The policy.
    pub ctx: Context,
    /// Output format.
    pub format: Format,
    /// Output file (standard output when `None`).
    pub output: Option<PathBuf>,
    /// Exit-status threshold.
    pub fail_on: Severity,
    /// Summary only.
    pub quiet: bool,
    /// Worker threads (`None`: one per core).
    pub threads: Option<usize>,
    /// Gatekeeper templates and constraints (policy file's, then `--policy`).
    pub constraints: Vec<PathBuf>,
    /// Extra `data.inventory` objects (`--inventory`).
    pub inventory: Vec<PathBuf>,
    /// The checks that ask the registry (`None`: nothing to ask, or `--offline`).
    pub supply: Option<palisade_supply::Supply>,
    /// `--offline`.
    pub offline: bool,
    /// `--kustomize`.
    pub kustomize: bool,
    /// `--engine`.
    pub engine: palisade_rego::EnginePreference,
}

impl ScanConfig {
    /// Validates raw arguments.
    pub fn from_args(args: ScanArgs) -> Result<Self> {
        if args.paths.is_empty() {
            bail!("no input: give files or directories to scan, or - to read standard input");
        }
        let mut policy = load_policy(args.check.config.as_deref())?;
        // Constraint paths in the policy file are relative to it.
        let mut constraints = policy.constraint_paths_resolved();
        constraints.extend(args.check.policy.iter().cloned());
        // Flags override the policy file.
        if let Some(l) = &args.check.level {
            policy.level = l.parse::<PssLevel>().map_err(|e| anyhow!("--level: {e}"))?;
        }
        if let Some(v) = &args.check.pss_version {
            policy.version = v
                .parse::<PssVersion>()
                .map_err(|e| anyhow!("--pss-version: {e}"))?;
        }
        let format: Format = args.check.format;
        let fail_on: Severity = args
            .check
            .fail_on
            .parse()
            .map_err(|e| anyhow!("--fail-on: {e}"))?;
        if args.check.threads == Some(0) {
            bail!("--threads: must be at least 1");
        }
        let stdin_count = args.paths.iter().filter(|p| p.as_os_str() == "-").count();
        if stdin_count > 1 {
            bail!("-: standard input can be read only once");
        }
        let inputs = args
            .paths
            .into_iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::Path(p)
                }
            })
            .collect();
        let supply = if args.offline {
            None
        } else {
            // --images gates on image content with the policy's settings,
            // or the defaults when it has none.
            let content = match (&policy.images.content, args.images) {
                (Some(c), _) => Some(c.clone()),
                (None, true) => Some(palisade_core::ContentPolicy::default()),
                (None, false) => None,
            };
            let content = content
                .filter(|_| args.images)
                .map(|c| (c, palisade_supply::Mode::Inline));
            palisade_supply::Supply::for_policy(
                &policy,
                args.registry.client_options()?,
                args.resolve,
                content,
            )
            .map_err(|e| anyhow!("{}: {e}", policy.file.as_deref().unwrap_or("policy")))?
            .map(|s| {
                if args.resolve {
                    s.reporting_resolved()
                } else {
                    s
                }
            })
        };
        Ok(ScanConfig {
            inputs,
            supply,
            offline: args.offline,
            kustomize: args.kustomize,
            engine: args.check.engine.into(),
            ctx: Context::from_policy(policy),
            format,
            output: args.check.output,
            fail_on,
            quiet: args.check.quiet,
            threads: args.check.threads,
            constraints,
            inventory: args.inventory,
        })
    }
}

/// Reads the policy: `--config FILE`, else `.palisade.yaml` in the working
/// directory when present, else the built-in defaults.
pub fn load_policy(explicit: Option<&std::path::Path>) -> Result<Policy> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = PathBuf::from(DEFAULT_FILE);
            if !p.is_file() {
                return Ok(Policy::default());
            }
            p
        }
    };
    read_policy_file(&path).map_err(|e| match e {
        PolicyFileError::Read(e) => anyhow!("--config: cannot read {}: {e}", path.display()),
        PolicyFileError::Invalid(lines) => anyhow!("invalid policy file:\n{}", lines.join("\n")),
    })
}
