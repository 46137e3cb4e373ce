//! `docs/rules.md` is generated from `palisade rules --format json`, so the
//! rule reference cannot drift from the catalog. This test fails when the
//! file differs from what the catalog gives; run it with
//! `PALISADE_UPDATE_DOCS=1` to rewrite the file.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const UPDATE_VAR: &str = "PALISADE_UPDATE_DOCS";

fn catalog() -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["rules", "--format", "json"])
        .output()
        .expect("run palisade rules");
    assert!(out.status.success(), "palisade rules --format json failed");
    serde_json::from_slice(&out.stdout).expect("the catalog is a JSON array")
}

fn text<'a>(rule: &'a Value, key: &str) -> &'a str {
    rule[key]
        .as_str()
        .unwrap_or_else(|| panic!("rule {} has no string {key:?}", rule["id"]))
}

/// The pack of a rule: the part of its id before the `/`.
fn pack(rule: &Value) -> &str {
    let id = text(rule, "id");
    id.split_once('/').map_or(id, |(pack, _)| pack)
}

/// Table cells and headings must not break on a `|` in a title.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn render(rules: &[Value]) -> String {
    let mut packs: Vec<&str> = Vec::new();
    for r in rules {
        if !packs.contains(&pack(r)) {
            packs.push(pack(r));
        }
    }
    let mut md = String::from(
        "# Rules\n\n\
         <!-- Generated from `palisade rules --format json` by\n\
         crates/palisade/tests/rules_doc.rs; do not edit. Regenerate with\n\
         PALISADE_UPDATE_DOCS=1 cargo test -p palisade --test rules_doc -->\n\n\
         Every rule palisade reports, by pack. `palisade rules ID` prints the\n\
         same text in the terminal. Severities are defaults: the policy file\n\
         changes them per rule ([policy.md](policy.md)).\n\n",
    );
    let _ = writeln!(md, "{} rules in {} packs.\n", rules.len(), packs.len());
    for p in &packs {
        let members: Vec<&Value> = rules.iter().filter(|r| pack(r) == *p).collect();
        let _ = writeln!(md, "## `{p}`\n");
        md.push_str("| rule | severity | level | title |\n| --- | --- | --- | --- |\n");
        for r in &members {
            let level = r["level"].as_str().unwrap_or("—");
            let _ = writeln!(
                md,
                "| [`{id}`](#{anchor}) | {sev} | {level} | {title} |",
                id = text(r, "id"),
                anchor = anchor(text(r, "id")),
                sev = text(r, "severity"),
                title = cell(text(r, "title")),
            );
        }
        md.push('\n');
        for r in &members {
            let _ = writeln!(md, "### {}\n", text(r, "id"));
            let _ = writeln!(md, "{}\n", text(r, "title"));
            let _ = writeln!(md, "**Why.** {}\n", text(r, "rationale"));
            let _ = writeln!(md, "**Fix.** {}\n", text(r, "remediation"));
            let refs = r["references"].as_array().map_or(&[][..], Vec::as_slice);
            if !refs.is_empty() {
                md.push_str("**References.**\n\n");
                for link in refs {
                    // A URL is a link; a benchmark control is plain text.
                    let link = link.as_str().unwrap_or_default();
                    if link.starts_with("http") {
                        let _ = writeln!(md, "- <{link}>");
                    } else {
                        let _ = writeln!(md, "- {link}");
                    }
                }
                md.push('\n');
            }
        }
    }
    md.truncate(md.trim_end().len());
    md.push('\n');
    md
}

/// The anchor GitHub gives a `### id` heading: lower case, `/` and other
/// punctuation dropped, except `-` and `_`.
fn anchor(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .flat_map(char::to_lowercase)
        .collect()
}

#[test]
fn docs_rules_md_is_the_catalog() {
    let rules = catalog();
    assert!(rules.len() > 40, "the catalog lists every pack's rules");
    let expected = render(&rules);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    if std::env::var_os(UPDATE_VAR).is_some() {
        std::fs::write(&path, &expected).expect("write docs/rules.md");
        return;
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == expected,
        "docs/rules.md differs from `palisade rules --format json`; \
         regenerate it with {UPDATE_VAR}=1 cargo test -p palisade --test rules_doc"
    );
}

#[test]
fn every_rule_id_appears_in_docs_rules_md() {
    // Independent of the renderer: each id of the catalog has its heading.
    if std::env::var_os(UPDATE_VAR).is_some() {
        return; // the other test is rewriting the file
    }
    let written = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md"),
    )
    .expect("docs/rules.md exists");
    for r in catalog() {
        let heading = format!("\n### {}\n", text(&r, "id"));
        assert!(written.contains(&heading), "no section for {}", r["id"]);
    }
}
