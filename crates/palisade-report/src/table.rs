//! The human report: findings grouped by file and object, then input errors,
//! skipped documents and a one-line summary. Laid out in fixed columns for
//! the terminal's width ([`RenderOptions::width`]) with `comfy-table`; messages and field paths are
//! wrapped here first, at spaces, dots and brackets, because comfy-table cuts
//! a word that does not fit at any character.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use comfy_table::presets::NOTHING;
use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};
use palisade_core::{Finding, ObjectRef, ScanReport, Severity};

use crate::{severity_counts, RenderOptions};

/// The narrowest line the report is laid out for; a smaller width is taken
/// as this.
const MIN_WIDTH: usize = 40;
/// Indentation of finding rows under their object heading.
const INDENT: &str = "    ";
/// Blank columns after each of the first four columns.
const GAP: usize = 2;
/// Widest rule column; a longer id wraps inside the column.
const MAX_RULE: usize = 32;
/// Widest container column; a longer name wraps inside the column.
const MAX_CONTAINER: usize = 16;
/// Narrowest message column.
const MIN_MESSAGE: usize = 24;
/// Skipped documents are listed one by one up to this many.
const SKIPPED_ALL: usize = 10;
/// Beyond `SKIPPED_ALL`, only this many are listed, then a count.
const SKIPPED_SHOWN: usize = 5;

/// Writes the table report.
pub(crate) fn write(
    report: &ScanReport,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_counted(report, &severity_counts(&report.findings), opts, out)
}

/// Writes the table report whose summary line counts `counts` findings (a
/// quiet report's findings are counted as they stream by, not held).
pub(crate) fn write_counted(
    report: &ScanReport,
    counts: &BTreeMap<Severity, usize>,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let st = Style { color: opts.color };
    if !opts.quiet && !report.findings.is_empty() {
        let line = usize::from(opts.width).max(MIN_WIDTH);
        write_findings(&report.findings, st, line, out)?;
        writeln!(out)?;
    }
    if !report.errors.is_empty() {
        for e in &report.errors {
            writeln!(
                out,
                "{}: {} {}",
                location(&e.file, e.line, e.column),
                st.paint("error:", "1;31"),
                clean(&e.message)
            )?;
        }
        if !opts.quiet {
            writeln!(out)?;
        }
    }
    if !opts.quiet && !report.skipped.is_empty() {
        let shown = if report.skipped.len() > SKIPPED_ALL {
            SKIPPED_SHOWN
        } else {
            report.skipped.len()
        };
        for s in &report.skipped[..shown] {
            writeln!(
                out,
                "{}: {} {}",
                location(&s.file, s.line, 0),
                st.paint("skipped:", "2"),
                clean(&s.reason)
            )?;
        }
        let rest = report.skipped.len() - shown;
        if rest > 0 {
            writeln!(
                out,
                "... and {rest} more skipped documents (the JSON output lists them all)"
            )?;
        }
        writeln!(out)?;
    }
    for note in &report.summary.notes {
        writeln!(out, "{} {}", st.paint("note:", "2"), clean(note))?;
    }
    writeln!(out, "{}", summary_line_of(report, counts))
}

/// `12 objects (9 workloads, 3 other), 7 findings (critical 1, high 3, medium 3), 1 error, 2 skipped`.
///
/// Finding, error and skipped counts come from the lists, so the line agrees
/// with what is printed above it.
/// The finding counts are given: a quiet table holds no findings, only
/// their counts.
pub(crate) fn summary_line_of(report: &ScanReport, counts: &BTreeMap<Severity, usize>) -> String {
    let s = &report.summary;
    let mut line = plural(s.objects, "object", "objects");
    if s.objects > 0 {
        // Not `objects - workloads`: a workload without a pod spec is neither
        // (it is reported as an error).
        let other: usize = s.other_kinds.values().sum();
        line.push_str(&format!(
            " ({}, {other} other)",
            plural(s.workloads, "workload", "workloads")
        ));
    }
    line.push_str(", ");
    let total: usize = counts.values().sum();
    if total == 0 {
        line.push_str("no findings");
    } else {
        let by_severity: Vec<String> = counts
            .iter()
            .rev()
            .filter(|(_, n)| **n > 0)
            .map(|(sev, n)| format!("{sev} {n}"))
            .collect();
        line.push_str(&format!(
            "{} ({})",
            plural(total, "finding", "findings"),
            by_severity.join(", ")
        ));
    }
    line.push_str(&format!(
        ", {}, {} skipped",
        plural(report.errors.len(), "error", "errors"),
        report.skipped.len()
    ));
    line
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Findings of one object, in one file.
struct ObjectGroup<'a> {
    object: &'a ObjectRef,
    findings: Vec<&'a Finding>,
}

/// Groups by file, then by object, each in order of first appearance;
/// findings of one object are sorted by position, most severe first on a tie.
/// Findings without a position (an image's, a live object's) are sorted by
/// their path, so that an image's vulnerabilities are grouped by package
/// (`layer 2 (…): app/bin/server: Go package golang.org/x/net`).
fn group(findings: &[Finding]) -> Vec<(&str, Vec<ObjectGroup<'_>>)> {
    let mut files: Vec<(&str, Vec<ObjectGroup<'_>>)> = Vec::new();
    let mut file_index: HashMap<&str, usize> = HashMap::new();
    // ObjectRef is not `Hash`; key on its fields.
    type ObjectKey<'k> = (&'k str, &'k str, &'k str, Option<&'k str>, &'k str);
    let mut object_index: HashMap<ObjectKey<'_>, usize> = HashMap::new();
    for f in findings {
        let fi = *file_index.entry(&*f.file).or_insert_with(|| {
            files.push((&*f.file, Vec::new()));
            files.len() - 1
        });
        let objects = &mut files[fi].1;
        let o = &f.object;
        let key = (
            &*f.file,
            o.api_version.as_str(),
            o.kind.as_str(),
            o.namespace.as_deref(),
            o.name.as_str(),
        );
        let oi = *object_index.entry(key).or_insert_with(|| {
            objects.push(ObjectGroup {
                object: &f.object,
                findings: Vec::new(),
            });
            objects.len() - 1
        });
        objects[oi].findings.push(f);
    }
    for (_, objects) in &mut files {
        for o in objects {
            o.findings.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        }
    }
    files
}

/// Where a finding sorts among its object's: by position, then (without a
/// position) by path, most severe first.
fn sort_key(f: &Finding) -> (u32, u32, &str, std::cmp::Reverse<Severity>) {
    let path = if f.line == 0 { f.path.as_str() } else { "" };
    (f.line, f.column, path, std::cmp::Reverse(f.severity))
}

/// The widths of the first four columns, the same in every row, and of the
/// whole line.
struct Columns {
    fixed: [usize; 4],
    line: usize,
}

fn write_findings(
    findings: &[Finding],
    st: Style,
    line: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Same column widths for every object, so rows line up across the report.
    let rule_w = findings
        .iter()
        .map(|f| f.rule.chars().count())
        .max()
        .unwrap_or(0);
    let loc_w = findings
        .iter()
        .map(|f| line_col(f).len())
        .max()
        .unwrap_or(0);
    let container_w = findings
        .iter()
        .map(|f| {
            f.container
                .as_deref()
                .map_or(1, |c| clean(c).chars().count())
        })
        .max()
        .unwrap_or(1);
    let columns = Columns {
        fixed: [
            "critical".len(),
            rule_w.min(MAX_RULE),
            loc_w,
            container_w.min(MAX_CONTAINER),
        ],
        line,
    };

    for (i, (file, objects)) in group(findings).into_iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", st.paint(&clean(file), "1;4"))?;
        for o in objects {
            writeln!(out, "  {}", st.paint(&object_name(o.object), "1"))?;
            for f in o.findings {
                write_finding(f, &columns, st, out)?;
            }
        }
    }
    Ok(())
}

/// One row: severity, rule, `line:col`, container and message (wrapped in
/// its column), then the field path on its own line under the rule, where
/// it has most of the width.
fn write_finding(f: &Finding, columns: &Columns, st: Style, out: &mut dyn Write) -> io::Result<()> {
    let widths = &columns.fixed;
    let message_w = message_width(columns);
    let table_w = columns.line.saturating_sub(INDENT.len());
    let mut table = Table::new();
    table
        .load_preset(NOTHING)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(u16::try_from(table_w).unwrap_or(u16::MAX));
    if st.color {
        table.enforce_styling();
    }
    let mut severity = Cell::new(f.severity.as_str());
    if st.color {
        let (color, bold) = severity_color(f.severity);
        severity = severity.fg(color);
        if bold {
            severity = severity.add_attribute(Attribute::Bold);
        }
    }
    table.add_row(vec![
        severity,
        Cell::new(f.rule),
        Cell::new(line_col(f)),
        Cell::new(f.container.as_deref().map_or(Cow::Borrowed("-"), clean)),
        Cell::new(wrap(&clean(&f.message), message_w).join("\n")),
    ]);
    for (i, column) in table.column_iter_mut().enumerate() {
        match widths.get(i) {
            Some(w) => {
                column.set_padding((0, GAP as u16));
                // An absolute width counts the padding too.
                let w = u16::try_from(w + GAP).unwrap_or(u16::MAX);
                column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
            }
            None => {
                column.set_padding((0, 0));
                let w = u16::try_from(message_w).unwrap_or(u16::MAX);
                column.set_constraint(ColumnConstraint::Absolute(Width::Fixed(w)));
            }
        }
    }
    for line in table.lines() {
        writeln!(out, "{INDENT}{}", line.trim_end())?;
    }
    let margin = widths[0] + GAP;
    let path_width = table_w.saturating_sub(margin);
    for line in wrap(&clean(&f.path), path_width) {
        writeln!(out, "{INDENT}{:margin$}{}", "", st.paint(&line, "2"))?;
    }
    Ok(())
}

/// What is left of the line for the message: at least `MIN_MESSAGE`, even
/// if that makes the row wider than the line.
fn message_width(columns: &Columns) -> usize {
    let used: usize = INDENT.len() + columns.fixed.iter().map(|w| w + GAP).sum::<usize>();
    columns.line.saturating_sub(used).max(MIN_MESSAGE)
}

/// Wraps `text` to lines of at most `width` characters: at spaces first,
/// then inside long words before a `.` or `[` or after a `/`, `=` or `,`
/// (so field paths and `key=value` break where a reader expects), and only
/// as a last resort in the middle of a word.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut len = 0;
    for (w, word) in text.split(' ').enumerate() {
        for (p, piece) in pieces(word).into_iter().enumerate() {
            let space = usize::from(w > 0 && p == 0 && len > 0);
            let piece_len = piece.chars().count();
            if len > 0 && len + space + piece_len > width {
                lines.push(std::mem::take(&mut line));
                len = 0;
            } else if space == 1 {
                line.push(' ');
                len += 1;
            }
            for c in piece.chars() {
                if len == width {
                    lines.push(std::mem::take(&mut line));
                    len = 0;
                }
                line.push(c);
                len += 1;
            }
        }
    }
    if len > 0 {
        lines.push(line);
    }
    lines
}

/// Splits a word where a line may break inside it.
fn pieces(word: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in word.char_indices() {
        let cut = match c {
            '.' | '[' => i,
            '/' | '=' | ',' => i + c.len_utf8(),
            _ => continue,
        };
        if cut > start {
            out.push(&word[start..cut]);
            start = cut;
        }
    }
    if start < word.len() {
        out.push(&word[start..]);
    }
    out
}

fn severity_color(s: Severity) -> (Color, bool) {
    match s {
        Severity::Critical => (Color::Magenta, true),
        Severity::High => (Color::Red, true),
        Severity::Medium => (Color::Yellow, false),
        Severity::Low => (Color::Blue, false),
        Severity::Info => (Color::DarkGrey, false),
    }
}

/// `Deployment prod/web`, `ClusterRole admin`.
fn object_name(o: &ObjectRef) -> String {
    let name = if o.name.is_empty() {
        "(unnamed)"
    } else {
        &o.name
    };
    match o.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => clean(&format!("{} {ns}/{name}", o.kind)).into_owned(),
        _ => clean(&format!("{} {name}", o.kind)).into_owned(),
    }
}

/// `line:column` of a finding; empty for findings without a line (image
/// findings, located by layer and path instead).
fn line_col(f: &Finding) -> String {
    if f.line == 0 {
        String::new()
    } else {
        format!("{}:{}", f.line, f.column)
    }
}

/// `file:line:col`, leaving out the parts that are unknown (0).
pub(crate) fn location(file: &str, line: u32, column: u32) -> String {
    let file = clean(file);
    match (line, column) {
        (0, _) => file.into_owned(),
        (l, 0) => format!("{file}:{l}"),
        (l, c) => format!("{file}:{l}:{c}"),
    }
}

/// Escapes control characters in text that came from the input (names,
/// messages quoting values, file names), so a manifest cannot move the cursor
/// or recolour the terminal, and colour-off output never holds an escape byte.
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// Applies SGR attributes to headings when colour is on.
#[derive(Clone, Copy)]
struct Style {
    color: bool,
}

impl Style {
    fn paint<'a>(self, text: &'a str, sgr: &str) -> Cow<'a, str> {
        if self.color {
            Cow::Owned(format!("\x1b[{sgr}m{text}\x1b[0m"))
        } else {
            Cow::Borrowed(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_wrap_before_dots_and_brackets() {
        let path = "spec.template.spec.containers[0].securityContext.privileged";
        assert_eq!(wrap(path, 80), vec![path]);
        assert_eq!(
            wrap(path, 35),
            vec![
                "spec.template.spec.containers[0]",
                ".securityContext.privileged"
            ]
        );
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 10), Vec::<String>::new());
    }

    #[test]
    fn messages_wrap_at_spaces_then_inside_long_words() {
        assert_eq!(
            wrap(
                "container \"a\" must set securityContext.runAsNonRoot=true",
                20
            ),
            vec![
                "container \"a\" must",
                "set securityContext",
                ".runAsNonRoot=true"
            ]
        );
        assert_eq!(wrap("a b", 3), vec!["a b"]);
        assert_eq!(wrap("a b", 2), vec!["a", "b"]);
        for line in wrap(
            "annotation container.apparmor.security.beta.kubernetes.io/backup=\"unconfined\"",
            30,
        ) {
            assert!(line.chars().count() <= 30, "{line:?}");
        }
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(clean("a\u{1b}[2Jb\r"), "a\\u{1b}[2Jb\\r");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }
}
