//! SARIF 2.1.0 output, shaped for GitHub code scanning: every catalog rule in
//! `tool.driver.rules` with help and a `security-severity`, one result per
//! finding with a path relative to the working directory (`%SRCROOT%`) and a
//! line-independent fingerprint, input errors as tool notifications.
//!
//! Built with `serde-sarif`, whose structs are generated from the official
//! SARIF 2.1.0 JSON schema: a misspelt or misplaced property cannot compile,
//! which hand-written structs could not promise for about the same amount of
//! code here.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use palisade_core::{
    is_api_location, Finding, InputError, RuleMeta, ScanReport, Severity, Skipped,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

/// The schema URI GitHub's own examples and `sarif-tools` write.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Base id of relative artifact URIs: the directory palisade ran in, which
/// code scanning maps to the repository root.
const SRCROOT: &str = "%SRCROOT%";
/// `partialFingerprints` key; bump the suffix if the hashed fields change.
const FINGERPRINT_KEY: &str = "palisadeFindingHash/v1";

/// Characters escaped in a URI path segment (RFC 3986 `pchar` keeps the rest).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Writes the report as a SARIF 2.1.0 log, resolving paths against the
/// current working directory.
pub(crate) fn write(
    report: &ScanReport,
    catalog: &[&RuleMeta],
    out: &mut dyn Write,
) -> io::Result<()> {
    let base = Base::current();
    let log = build(report, catalog, &base);
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// The SARIF log for `report`.
fn build(report: &ScanReport, catalog: &[&RuleMeta], base: &Base) -> Sarif {
    let mut rules: Vec<ReportingDescriptor> = Vec::with_capacity(catalog.len());
    let mut index: HashMap<&str, usize> = HashMap::new();
    for meta in catalog {
        if !index.contains_key(meta.id) {
            index.insert(meta.id, rules.len());
            rules.push(descriptor(meta));
        }
    }
    // A finding of a rule missing from the catalog still gets a descriptor,
    // so every `ruleIndex` points at its rule.
    for f in &report.findings {
        if !index.contains_key(f.rule) {
            index.insert(f.rule, rules.len());
            rules.push(unknown_descriptor(f));
        }
    }

    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| result(f, index.get(f.rule).copied(), base))
        .collect();

    let mut notifications: Vec<Notification> = report
        .errors
        .iter()
        .map(|e| error_notification(e, base))
        .collect();
    notifications.extend(report.skipped.iter().map(|s| skipped_notification(s, base)));
    notifications.extend(report.summary.notes.iter().map(|n| {
        Notification::builder()
            .level(json!("note"))
            .message(text_message(n))
            .build()
    }));

    // Input errors are reported, not fatal: the scan itself ran to the end.
    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();

    let driver = ToolComponent::builder()
        .name("palisade")
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();

    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        // palisade counts columns in characters.
        .column_kind(json!("unicodeCodePoints"))
        .results(results)
        .build();

    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn descriptor(meta: &RuleMeta) -> ReportingDescriptor {
    let mut text = format!("{}\n\nRemediation: {}", meta.rationale, meta.remediation);
    let mut markdown = format!(
        "{}\n\n**Remediation:** {}",
        escape_html(meta.rationale),
        escape_html(meta.remediation)
    );
    if !meta.references.is_empty() {
        text.push_str("\n\nReferences:");
        markdown.push_str("\n\n**References:**\n");
        for r in meta.references {
            text.push_str(&format!("\n- {r}"));
            markdown.push_str(&format!("\n- <{r}>"));
        }
    }
    let mut tags = vec!["security".to_string(), "kubernetes".to_string()];
    if let Some((pack, _)) = meta.id.split_once('/') {
        tags.push(pack.to_string());
    }
    if let Some(level) = meta.level {
        tags.push(format!("pss-{level}"));
    }
    let builder = ReportingDescriptor::builder()
        .id(meta.id)
        .name(camel_case(meta.id))
        .short_description(message_string(meta.title))
        .full_description(message_string(meta.rationale))
        .help(
            MultiformatMessageString::builder()
                .text(text)
                .markdown(markdown)
                .build(),
        )
        .default_configuration(configuration(meta.severity))
        .properties(properties(meta.severity, tags));
    match meta.references.first() {
        Some(uri) => builder.help_uri(*uri).build(),
        None => builder.build(),
    }
}

fn unknown_descriptor(f: &Finding) -> ReportingDescriptor {
    ReportingDescriptor::builder()
        .id(f.rule)
        .name(camel_case(f.rule))
        .short_description(message_string(f.rule))
        .help(message_string(f.remediation))
        .default_configuration(configuration(f.severity))
        .properties(properties(
            f.severity,
            vec!["security".to_string(), "kubernetes".to_string()],
        ))
        .build()
}

fn message_string(text: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

fn configuration(severity: Severity) -> ReportingConfiguration {
    ReportingConfiguration::builder()
        .level(json!(level(severity).to_string()))
        .build()
}

fn properties(severity: Severity, tags: Vec<String>) -> PropertyBag {
    let mut extra = BTreeMap::new();
    extra.insert(
        "security-severity".to_string(),
        Value::from(security_severity(severity)),
    );
    PropertyBag::builder()
        .tags(tags)
        .additional_properties(extra)
        .build()
}

/// Code scanning shows critical/high as errors, medium as warnings.
fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

/// GitHub's `security-severity` score: ≥ 9.0 critical, 7.0–8.9 high,
/// 4.0–6.9 medium, 0.1–3.9 low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// Rule texts are plain text; in the markdown help a `<profile>` placeholder
/// must show as written, not vanish as an unknown HTML tag.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `pss/host-path-volumes` → `PssHostPathVolumes`.
fn camel_case(id: &str) -> String {
    id.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

fn result(f: &Finding, rule_index: Option<usize>, base: &Base) -> SarifResult {
    let uri = base.uri(&f.file);
    let ns = f.object.namespace.as_deref().unwrap_or("");
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        FINGERPRINT_KEY.to_string(),
        fingerprint(&[
            f.rule,
            &uri.uri,
            &f.object.kind,
            ns,
            &f.object.name,
            &f.path,
        ]),
    );
    let mut extra = BTreeMap::new();
    extra.insert("severity".to_string(), Value::from(f.severity.as_str()));
    extra.insert("path".to_string(), Value::from(f.path.as_str()));
    extra.insert("object".to_string(), Value::from(object_name(f)));

    let builder = SarifResult::builder()
        .rule_id(f.rule)
        .level(level(f.severity))
        .message(text_message(&format!("{}: {}", object_name(f), f.message)))
        .locations(vec![if is_api_location(&f.file) {
            api_location(f)
        } else {
            location(uri, f.line, f.column)
        }])
        .partial_fingerprints(fingerprints)
        .properties(PropertyBag::builder().additional_properties(extra).build());
    match rule_index.and_then(|i| i64::try_from(i).ok()) {
        Some(i) => builder.rule_index(i).build(),
        None => builder.build(),
    }
}

/// A finding in a cluster (no file, no line): a logical location naming
/// the object by its API path and the field.
fn api_location(f: &Finding) -> Location {
    let logical = LogicalLocation::builder()
        .kind("resource")
        .name(f.object.name.as_str())
        .fully_qualified_name(format!("{}#{}", f.file, f.path))
        .build();
    Location::builder().logical_locations(vec![logical]).build()
}

/// `Deployment prod/web`.
pub(crate) fn object_name(f: &Finding) -> String {
    match f.object.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{} {ns}/{}", f.object.kind, f.object.name),
        _ => format!("{} {}", f.object.kind, f.object.name),
    }
}

fn error_notification(e: &InputError, base: &Base) -> Notification {
    Notification::builder()
        .level(json!("error"))
        .message(text_message(&e.message))
        .locations(vec![location(base.uri(&e.file), e.line, e.column)])
        .build()
}

fn skipped_notification(s: &Skipped, base: &Base) -> Notification {
    Notification::builder()
        .level(json!("note"))
        .message(text_message(&format!("skipped: {}", s.reason)))
        .locations(vec![location(base.uri(&s.file), s.line, 0)])
        .build()
}

fn text_message(text: &str) -> Message {
    Message::builder().text(text).build()
}

/// A location; the region is left out when the line is unknown (SARIF lines
/// and columns start at 1).
fn location(uri: Uri, line: u32, column: u32) -> Location {
    let artifact = match uri.base {
        Some(b) => ArtifactLocation::builder()
            .uri(uri.uri)
            .uri_base_id(b)
            .build(),
        None => ArtifactLocation::builder().uri(uri.uri).build(),
    };
    let physical = PhysicalLocation::builder().artifact_location(artifact);
    let physical = match (line, column) {
        (0, _) => physical.build(),
        (l, 0) => physical
            .region(Region::builder().start_line(i64::from(l)).build())
            .build(),
        (l, c) => physical
            .region(
                Region::builder()
                    .start_line(i64::from(l))
                    .start_column(i64::from(c))
                    .build(),
            )
            .build(),
    };
    Location::builder().physical_location(physical).build()
}

/// 64-bit FNV-1a over the fields, separated by NUL, as 16 hex digits.
/// Written out because its output must never change between releases or
/// platforms (std's `DefaultHasher` promises neither), and the whole function
/// is shorter than a dependency's manifest entry.
pub(crate) fn fingerprint(fields: &[&str]) -> String {
    format!("{:016x}", fingerprint_hash(fields))
}

/// The number [`fingerprint`] writes in hex.
pub(crate) fn fingerprint_hash(fields: &[&str]) -> u64 {
    fnv1a(fields.join("\0").as_bytes())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// An artifact URI, relative to `%SRCROOT%` when `base` is set.
struct Uri {
    uri: String,
    base: Option<&'static str>,
}

/// The directory relative URIs are resolved against.
pub(crate) struct Base {
    /// The working directory as the process sees it, and canonicalised (they
    /// differ under a symlinked directory; an absolute input path may use
    /// either spelling).
    roots: Vec<PathBuf>,
}

impl Base {
    /// The working directory of the process.
    pub(crate) fn current() -> Base {
        let mut roots = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            if let Ok(canonical) = cwd.canonicalize() {
                if canonical != cwd {
                    roots.push(canonical);
                }
            }
            roots.insert(0, cwd);
        }
        Base { roots }
    }

    /// `deploy/web.yaml` (under `%SRCROOT%`) for a file under the working
    /// directory, written either way; `stdin` for `-`; a `file://` URI for
    /// an absolute path elsewhere.
    fn uri(&self, file: &str) -> Uri {
        if file == "-" {
            return Uri {
                uri: "stdin".to_string(),
                base: Some(SRCROOT),
            };
        }
        match self.place(file) {
            Place::Relative(rel) => Uri {
                uri: segments(&rel).join("/"),
                base: Some(SRCROOT),
            },
            Place::Absolute(absolute) => Uri {
                uri: file_uri(&absolute),
                base: None,
            },
        }
    }

    /// `file` as annotations name it: relative to the working directory
    /// with `/` separators when under it, else absolute; `-` (standard
    /// input) as it is.
    pub(crate) fn display(&self, file: &str) -> String {
        if file == "-" {
            return file.to_string();
        }
        match self.place(file) {
            Place::Relative(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            Place::Absolute(absolute) => absolute.to_string_lossy().into_owned(),
        }
    }

    /// Where `file` is, `.` and `..` resolved: relative to the working
    /// directory when under it (or when there is none), else absolute.
    fn place(&self, file: &str) -> Place {
        let path = Path::new(file);
        let absolute = match (path.is_absolute(), self.roots.first()) {
            (true, _) => normalize(path),
            (false, Some(cwd)) => normalize(&cwd.join(path)),
            // No working directory: keep the relative path as given.
            (false, None) => return Place::Relative(normalize(path)),
        };
        for root in &self.roots {
            if let Ok(rel) = absolute.strip_prefix(normalize(root)) {
                if !rel.as_os_str().is_empty() {
                    return Place::Relative(rel.to_path_buf());
                }
            }
        }
        Place::Absolute(absolute)
    }
}

/// A file's path against the working directory.
enum Place {
    /// Under the working directory, relative to it.
    Relative(PathBuf),
    /// Elsewhere.
    Absolute(PathBuf),
}

/// Removes `.` and resolves `..` lexically (the file may not exist any more).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Percent-encoded path segments, so separators are always `/` and a `\` or
/// space inside a file name stays part of it.
fn segments(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => {
                Some(utf8_percent_encode(&s.to_string_lossy(), SEGMENT).to_string())
            }
            Component::ParentDir => Some("..".to_string()),
            // Windows drive (`C:`): `\\?\` and UNC prefixes become their text.
            Component::Prefix(p) => Some(p.as_os_str().to_string_lossy().replace('\\', "/")),
            Component::RootDir | Component::CurDir => None,
        })
        .collect()
}

/// `file:///abs/path` (`file:///C:/abs/path` on Windows).
fn file_uri(absolute: &Path) -> String {
    format!("file:///{}", segments(absolute).join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(dir: &str) -> Base {
        Base {
            roots: vec![PathBuf::from(dir)],
        }
    }

    #[test]
    fn uri_is_relative_under_the_working_directory_however_written() {
        let b = base("/repo");
        assert_eq!(b.uri("/repo/deploy/web.yaml").uri, "deploy/web.yaml");
        assert_eq!(b.uri("./deploy/web.yaml").uri, "deploy/web.yaml");
        assert_eq!(b.uri("deploy/./x/../web.yaml").uri, "deploy/web.yaml");
        assert_eq!(b.uri("deploy/web.yaml").base, Some(SRCROOT));
    }

    #[test]
    fn uri_outside_the_working_directory_is_an_absolute_file_uri() {
        let b = base("/repo");
        let u = b.uri("/etc/k8s/pod.yaml");
        assert_eq!(u.uri, "file:///etc/k8s/pod.yaml");
        assert_eq!(u.base, None);
        assert_eq!(b.uri("../other/pod.yaml").uri, "file:///other/pod.yaml");
        // A sibling directory sharing a name prefix is not "under" the root.
        assert_eq!(
            b.uri("/repository/pod.yaml").uri,
            "file:///repository/pod.yaml"
        );
    }

    #[test]
    fn uri_escapes_spaces_and_backslashes_in_names() {
        let b = base("/repo");
        let u = b.uri("/repo/my dir/a\\b#1.yaml");
        assert_eq!(u.uri, "my%20dir/a%5Cb%231.yaml");
    }

    #[test]
    fn stdin_is_named_stdin() {
        assert_eq!(base("/repo").uri("-").uri, "stdin");
    }

    #[test]
    fn markdown_help_keeps_angle_brackets_visible() {
        assert_eq!(
            escape_html("localhost/<profile> & more"),
            "localhost/&lt;profile&gt; &amp; more"
        );
    }

    #[test]
    fn rule_names_are_camel_case() {
        assert_eq!(camel_case("pss/host-path-volumes"), "PssHostPathVolumes");
        assert_eq!(camel_case("pss/privileged"), "PssPrivileged");
    }

    #[test]
    fn fingerprint_is_fixed_fnv1a() {
        // FNV-1a 64 reference values.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fingerprint(&["a"]), "af63dc4c8601ec8c");
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
    }
}
