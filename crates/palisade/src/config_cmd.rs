//! `palisade config init|check`: write a commented default policy, or
//! validate one.

use std::io::Write;

use anyhow::{bail, Context as _, Result};
use palisade_core::policy_file::DEFAULT_POLICY_YAML;

use crate::cli::ConfigCommand;

/// Runs a `config` subcommand; returns the exit status.
pub fn run(cmd: ConfigCommand) -> Result<i32> {
    match cmd {
        ConfigCommand::Init { output: None } => {
            let mut out = std::io::stdout().lock();
            match out.write_all(DEFAULT_POLICY_YAML.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
                _ => {}
            }
            Ok(0)
        }
        ConfigCommand::Init { output: Some(path) } => {
            if path.exists() {
                bail!("--output: {} exists; not overwriting it", path.display());
            }
            std::fs::write(&path, DEFAULT_POLICY_YAML)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
            Ok(0)
        }
        ConfigCommand::Check { file } => {
            let p = crate::config::load_policy(Some(&file))?;
            let missing: Vec<String> = p
                .constraint_paths
                .iter()
                .zip(p.constraint_paths_resolved())
                .filter(|(_, resolved)| !resolved.exists())
                .map(|(written, resolved)| format!("{written:?} ({})", resolved.display()))
                .collect();
            if !missing.is_empty() {
                bail!(
                    "{}: spec.constraints names paths that do not exist: {}",
                    file.display(),
                    missing.join(", ")
                );
            }
            println!(
                "{}: valid policy (level {}, version {}, {} rule settings, {} exemptions, {} trusted registries)",
                file.display(),
                p.level,
                p.version,
                p.rules.len(),
                p.exemptions.len(),
                p.images.trusted_registries.len()
            );
            Ok(0)
        }
    }
}
