//! `palisade export vap`: palisade's Pod Security Standards checks and
//! image-reference rules as a ValidatingAdmissionPolicy and its binding,
//! for the API server to enforce in-process.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use palisade_core::{PssLevel, PssVersion};
use palisade_rules::vap_export::{export_yaml, VapExport};

/// `palisade export`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Write a ValidatingAdmissionPolicy and its binding that enforce the
    /// Pod Security Standards (and image rules) in the API server.
    Vap(VapArgs),
}

/// `palisade export vap`.
#[derive(Debug, Args)]
pub struct VapArgs {
    /// Pod Security Standards level (privileged, baseline, restricted;
    /// default: the policy file's, else restricted).
    #[arg(long)]
    pub level: Option<String>,
    /// Policy version (`v1.30`, `latest`; default: the policy file's).
    #[arg(long = "pss-version", alias = "version")]
    pub version: Option<String>,
    /// The binding's validation actions (repeatable): Deny, Warn, Audit.
    #[arg(long = "action", default_value = "Deny")]
    pub actions: Vec<String>,
    /// Leave out a namespace (repeatable; by kubernetes.io/metadata.name).
    #[arg(long = "exclude-namespace", value_name = "NS")]
    pub exclude_namespaces: Vec<String>,
    /// Do not export image/latest-tag.
    #[arg(long)]
    pub no_latest_tag: bool,
    /// Require every image pinned by digest (default: the policy file's images.requireDigest).
    #[arg(long)]
    pub require_digest: bool,
    /// Allow images only from this registry or prefix (repeatable; added
    /// to the policy file's images.trustedRegistries).
    #[arg(long = "trusted-registry", value_name = "REGISTRY")]
    pub trusted_registries: Vec<String>,
    /// Policy file (default .palisade.yaml if present).
    #[arg(long, short = 'c', value_name = "FILE", env = "PALISADE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `palisade export`.
pub fn run(cmd: ExportCommand) -> Result<i32> {
    let ExportCommand::Vap(args) = cmd;
    let policy = crate::config::load_policy(args.config.as_deref())?;
    let level = match &args.level {
        Some(l) => l.parse::<PssLevel>().map_err(|e| anyhow!("--level: {e}"))?,
        None if policy.file.is_some() => policy.level,
        None => PssLevel::Restricted,
    };
    let version = match &args.version {
        Some(v) => v
            .parse::<PssVersion>()
            .map_err(|e| anyhow!("--pss-version: {e}"))?,
        None => policy.version,
    };
    for a in &args.actions {
        if !matches!(a.as_str(), "Deny" | "Warn" | "Audit") {
            bail!("--action: {a:?} is not Deny, Warn or Audit");
        }
    }
    if args.actions.iter().any(|a| a == "Deny") && args.actions.iter().any(|a| a == "Warn") {
        bail!("--action: Deny and Warn cannot be used together (the API server refuses it)");
    }
    let mut opts = VapExport::new(level, version);
    opts.actions = args.actions.clone();
    opts.exclude_namespaces = args.exclude_namespaces.clone();
    opts.latest_tag = !args.no_latest_tag;
    opts.require_digest = args.require_digest || policy.images.require_digest;
    opts.trusted_registries = policy.images.trusted_registries.clone();
    opts.trusted_registries
        .extend(args.trusted_registries.iter().cloned());
    for r in &opts.trusted_registries {
        let ok = r
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "./:-_*?@".contains(c));
        if !ok || r.is_empty() {
            bail!(
                "trusted registry {r:?}: only letters, digits and . / : - _ * ? @ can be written"
            );
        }
    }
    let text = export_yaml(&opts);
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(0)
}
