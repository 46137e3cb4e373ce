//! Test helpers: build an [`Input`] from YAML text the way `palisade scan`
//! does (the core engine collecting RBAC objects and pods), and render
//! answers compactly for exact comparisons.
#![allow(dead_code)]

use palisade_core::{Context, Engine, Finding, Limits};
use palisade_rbac::{analyze, is_rbac_input, Analysis, EffectiveRule, Grant, Input};

/// Removes the common indentation and a leading newline, so fixtures can be
/// written indented in the test; line 1 is the first line after `r#"`.
pub fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Scans YAML as the CLI will: the engine keeps RBAC objects and pods.
pub fn input(yaml: &str) -> Input<'static> {
    let text = dedent(yaml);
    let engine = Engine::new(Vec::new(), Context::default(), Limits::default())
        .with_collection(is_rbac_input);
    let report = engine.scan_bytes("rbac.yaml", text.as_bytes());
    assert!(
        report.errors.is_empty(),
        "fixture does not load: {:?}",
        report.errors
    );
    Input {
        objects: report.kept.into(),
        pods: report.pods.into(),
    }
}

/// Analyses YAML.
pub fn run(yaml: &str) -> Analysis {
    analyze(&input(yaml))
}

/// Findings of one rule.
pub fn of_rule(a: &Analysis, rule: &str) -> Vec<Finding> {
    a.findings()
        .into_iter()
        .filter(|f| f.rule == rule)
        .collect()
}

/// `rule path line:column` of every finding.
pub fn located(a: &Analysis) -> Vec<String> {
    a.findings()
        .iter()
        .map(|f| format!("{} {} {}:{}", f.rule, f.path, f.line, f.column))
        .collect()
}

/// `scope | rule summary | binding → role` of every effective rule, except
/// those of the built-in bindings every authenticated subject has.
pub fn effective(a: &Analysis, subject: &str) -> Vec<String> {
    a.can(subject)
        .iter()
        .filter(|r| !r.binding.builtin)
        .map(eff)
        .collect()
}

/// One effective rule, compactly.
pub fn eff(r: &EffectiveRule) -> String {
    let from = r
        .rule
        .aggregated_from
        .as_ref()
        .map(|f| format!(" from {}", f.name))
        .unwrap_or_default();
    format!(
        "{} | {}{from} | {} {} → {}",
        r.scope,
        r.rule.summary(),
        r.binding.kind,
        r.binding.name,
        r.role.name
    )
}

/// `subject scope binding` of every grant, except those of built-in bindings.
pub fn grants(g: &[Grant]) -> Vec<String> {
    g.iter()
        .filter(|g| !g.binding.builtin)
        .map(|g| {
            let names = if g.rule.resource_names.is_empty() {
                String::new()
            } else {
                format!(" named {}", g.rule.resource_names.join(","))
            };
            format!(
                "{} {} {}/{}{names}",
                g.subject, g.scope, g.binding.kind, g.binding.name
            )
        })
        .collect()
}
