//! `palisade rules`: the rule catalog.

use std::io::{self, Write};

use anyhow::{bail, Result};
use palisade_core::RuleMeta;

use palisade_report::RulesFormat;

use crate::cli::RulesArgs;

/// Prints the catalog or one rule; returns the exit status.
pub fn run(args: RulesArgs) -> Result<i32> {
    let json = args.format == RulesFormat::Json;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let written = match &args.id {
        Some(id) => {
            let Some(meta) = palisade_scan::find(id) else {
                bail!("unknown rule {id:?}; `palisade rules` lists them");
            };
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(meta)?)
            } else {
                write_rule(&mut out, meta)
            }
        }
        None => {
            let catalog = palisade_scan::catalog();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&catalog)?)
            } else {
                write_catalog(&mut out, &catalog)
            }
        }
    };
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(0),
    }
}

fn write_catalog(out: &mut impl Write, catalog: &[&RuleMeta]) -> io::Result<()> {
    let w = catalog.iter().map(|m| m.id.len()).max().unwrap_or(10);
    writeln!(
        out,
        "{:<w$}  {:<14}  {:<10}  {:<8}  TITLE",
        "ID", "PACK", "LEVEL", "SEVERITY"
    )?;
    for m in catalog {
        let level = m.level.map_or("-", |l| l.as_str());
        let pack = palisade_rules::pack_of(m.id);
        let severity = m.severity.as_str();
        writeln!(
            out,
            "{:<w$}  {pack:<14}  {level:<10}  {severity:<8}  {}",
            m.id, m.title
        )?;
    }
    Ok(())
}

fn write_rule(out: &mut impl Write, m: &RuleMeta) -> io::Result<()> {
    writeln!(out, "{}: {}", m.id, m.title)?;
    writeln!(out, "pack:        {}", palisade_rules::pack_of(m.id))?;
    writeln!(out, "level:       {}", m.level.map_or("-", |l| l.as_str()))?;
    writeln!(out, "severity:    {}", m.severity)?;
    writeln!(out, "\nwhy:\n  {}", m.rationale)?;
    writeln!(out, "\nfix:\n  {}", m.remediation)?;
    writeln!(out, "\nreferences:")?;
    for r in m.references {
        writeln!(out, "  {r}")?;
    }
    Ok(())
}
