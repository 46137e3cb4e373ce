//! `palisade verify`: runs gator Suite files (`test.gatekeeper.sh/v1alpha1`,
//! kind `Suite`) with gator's semantics — paths relative to the suite file,
//! one object per case file, AdmissionReview objects reviewed with their
//! own request, `data.inventory` from the case's inventory files, and
//! assertions counting the violations whose message matches a regex.
//!
//! <https://open-policy-agent.github.io/gatekeeper/website/docs/gator#the-gator-verify-subcommand>
//!
//! A directory argument reads the suites directly in it; `DIR/...` reads
//! its subdirectories too, as gator does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use palisade_core::{walk, Node, Object};
use serde::Serialize;

use crate::constraint::{self, Refusal};
use crate::error::LoadError;
use crate::inventory::Inventory;
use crate::policy_set::PolicySet;
use crate::review::Review;
use crate::source::{display, object_pos, read_file};
use crate::template::{self, EnginePreference, Template};

/// The API group of gator suites.
const SUITE_GROUP: &str = "test.gatekeeper.sh";

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// `name`.
    pub name: String,
    /// Whether it was skipped (`skip: true`).
    pub skipped: bool,
    /// Why it failed; `None` when it passed or was skipped.
    pub error: Option<String>,
    /// The messages of the violations the object produced.
    pub violations: Vec<String>,
    /// How long it took.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

/// The result of one test (a template, a constraint and its cases).
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// `name`.
    pub name: String,
    /// Whether it was skipped.
    pub skipped: bool,
    /// Why the test itself failed (template or constraint not loadable,
    /// `invalid: true` not met); the cases did not run then.
    pub error: Option<String>,
    /// The cases, in suite order.
    pub cases: Vec<CaseResult>,
    /// How long it took.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

/// The result of one Suite file.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteResult {
    /// The suite file.
    pub path: String,
    /// Whether it was skipped.
    pub skipped: bool,
    /// Why the suite could not be read.
    pub error: Option<String>,
    /// The tests, in suite order.
    pub tests: Vec<TestResult>,
    /// How long it took.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// Passed, failed and skipped counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Cases (or tests without cases) that passed.
    pub passed: usize,
    /// Cases, tests or suites that failed.
    pub failed: usize,
    /// Skipped suites, tests and cases.
    pub skipped: usize,
}

/// Everything `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// One result per Suite file, in path order.
    pub suites: Vec<SuiteResult>,
}

/// One reported unit: a suite that failed or was skipped, a test without
/// cases, or a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit<'a> {
    /// The suite file.
    pub suite: &'a str,
    /// The test's name; empty for a suite.
    pub test: &'a str,
    /// The case's name; empty for a suite or a test.
    pub case: &'a str,
    /// Whether it was skipped.
    pub skipped: bool,
    /// Why it failed.
    pub error: Option<&'a str>,
    /// How long it took.
    pub duration: Duration,
}

impl VerifyReport {
    /// Whether nothing failed.
    pub fn passed(&self) -> bool {
        self.counts().failed == 0
    }

    /// Every reported unit, flattened: suites that failed or were skipped,
    /// tests without cases, and cases.
    pub fn units(&self) -> Vec<Unit<'_>> {
        let mut out = Vec::new();
        for s in &self.suites {
            if s.skipped || s.error.is_some() {
                out.push(Unit {
                    suite: s.path.as_str(),
                    test: "",
                    case: "",
                    skipped: s.skipped,
                    error: s.error.as_deref(),
                    duration: s.duration,
                });
                continue;
            }
            for t in &s.tests {
                if t.skipped || t.error.is_some() || t.cases.is_empty() {
                    out.push(Unit {
                        suite: s.path.as_str(),
                        test: t.name.as_str(),
                        case: "",
                        skipped: t.skipped,
                        error: t.error.as_deref(),
                        duration: t.duration,
                    });
                    continue;
                }
                for c in &t.cases {
                    out.push(Unit {
                        suite: s.path.as_str(),
                        test: t.name.as_str(),
                        case: c.name.as_str(),
                        skipped: c.skipped,
                        error: c.error.as_deref(),
                        duration: c.duration,
                    });
                }
            }
        }
        out
    }

    /// Counts of passed, failed and skipped units.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for u in self.units() {
            match (u.skipped, u.error) {
                (true, _) => c.skipped += 1,
                (false, Some(_)) => c.failed += 1,
                (false, None) => c.passed += 1,
            }
        }
        c
    }
}

/// Finds the suite files selected by `path`: the file itself, the YAML
/// files of a directory, or (with a trailing `/...`) of a directory tree.
fn suite_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let text = path.to_string_lossy();
    let (dir, recursive) = match text.strip_suffix("/...") {
        Some(d) => (PathBuf::from(if d.is_empty() { "." } else { d }), true),
        None if text == "..." => (PathBuf::from("."), true),
        None => (path.to_path_buf(), false),
    };
    let name = display(path);
    if !dir.exists() {
        return Err(LoadError::file(&name, "no such file or directory"));
    }
    if !dir.is_dir() {
        if recursive {
            return Err(LoadError::file(&name, "`/...` needs a directory"));
        }
        return Ok(vec![dir]);
    }
    let depth = if recursive {
        walk::Depth::Recursive
    } else {
        walk::Depth::Flat
    };
    let mut files = Vec::new();
    for entry in walk::files(&dir, walk::YAML_EXTENSIONS, depth) {
        match entry {
            walk::Entry::File(f) => files.push(f),
            walk::Entry::Broken(_, e) => {
                return Err(LoadError::file(
                    &name,
                    format!("cannot read directory: {e}"),
                ))
            }
        }
    }
    Ok(files)
}

/// Which tests and cases run, as gator's `--run REGEX` selects them:
/// `TEST//CASE` runs the cases whose name matches `CASE` in the tests whose
/// name matches `TEST` (either side may be empty: `TEST//` every case of
/// the matching tests, `//CASE` the matching cases of every test); a
/// regex without `//` runs the cases whose own name or whose test's name
/// matches it. Regexes match anywhere in the name unless anchored. The
/// default runs everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    test: Option<regex::Regex>,
    case: Option<regex::Regex>,
    /// One regex for either name (no `//`).
    either: Option<regex::Regex>,
}

impl Filter {
    /// Parses a `--run` value; an error names the regex that does not compile.
    pub fn new(run: &str) -> Result<Filter, String> {
        let compile = |r: &str| -> Result<Option<regex::Regex>, String> {
            if r.is_empty() {
                return Ok(None);
            }
            regex::Regex::new(r)
                .map(Some)
                .map_err(|e| format!("--run {r:?} is not a valid regular expression: {e}"))
        };
        Ok(match run.split_once("//") {
            Some((t, c)) => Filter {
                test: compile(t)?,
                case: compile(c)?,
                either: None,
            },
            None => Filter {
                either: compile(run)?,
                ..Filter::default()
            },
        })
    }

    /// Whether the filter selects everything.
    pub fn is_all(&self) -> bool {
        self.test.is_none() && self.case.is_none() && self.either.is_none()
    }

    /// Whether a test runs, given its name and its cases' names.
    pub fn matches_test(&self, test: &str, cases: &[String]) -> bool {
        if let Some(r) = &self.either {
            return r.is_match(test) || cases.iter().any(|c| r.is_match(c));
        }
        match (&self.test, &self.case) {
            (Some(t), _) => t.is_match(test),
            (None, Some(c)) => cases.iter().any(|n| c.is_match(n)),
            (None, None) => true,
        }
    }

    /// Whether a case of a selected test runs.
    pub fn matches_case(&self, test: &str, case: &str) -> bool {
        if let Some(r) = &self.either {
            return r.is_match(test) || r.is_match(case);
        }
        self.case.as_ref().is_none_or(|c| c.is_match(case))
    }
}

/// Runs every gator Suite selected by `path` (a suite file, a directory,
/// or `DIR/...` for a directory tree). Fails only when `path` cannot be
/// read or selects no suite; everything else is in the report.
pub fn verify(path: &Path) -> Result<VerifyReport, LoadError> {
    verify_with(path, EnginePreference::Auto)
}

/// [`verify`], running templates that have both Rego and CEL code on the
/// engine `engine` selects.
pub fn verify_with(path: &Path, engine: EnginePreference) -> Result<VerifyReport, LoadError> {
    verify_filtered(path, engine, &Filter::default())
}

/// [`verify_with`], running only the tests and cases `filter` selects (the
/// others are left out of the report, as gator leaves them out; a suite
/// with no selected test is left out too).
pub fn verify_filtered(
    path: &Path,
    engine: EnginePreference,
    filter: &Filter,
) -> Result<VerifyReport, LoadError> {
    let files = suite_files(path)?;
    let mut report = VerifyReport::default();
    let explicit_file = files.len() == 1 && files[0] == path;
    for f in files {
        let name = display(&f);
        let (objects, errors) = read_file(&f);
        let suites: Vec<&Object> = objects.iter().filter(|o| is_suite(o)).collect();
        // A file that does not parse may be a suite: it fails, as in gator,
        // rather than being passed over.
        if let Some(e) = errors.first() {
            report.suites.push(SuiteResult {
                path: name,
                skipped: false,
                error: Some(e.to_string()),
                tests: Vec::new(),
                duration: Duration::ZERO,
            });
            continue;
        }
        if suites.is_empty() {
            if explicit_file {
                return Err(LoadError::file(
                    &name,
                    format!("not a gator Suite (kind Suite, apiVersion {SUITE_GROUP}/v1alpha1)"),
                ));
            }
            continue;
        }
        for suite in suites {
            let result = run_suite(&f, suite, engine, filter);
            if filter.is_all() || !result.tests.is_empty() {
                report.suites.push(result);
            }
        }
    }
    if report.suites.is_empty() && filter.is_all() {
        return Err(LoadError::file(&display(path), "no gator Suite found"));
    }
    Ok(report)
}

fn is_suite(o: &Object) -> bool {
    o.id.kind == "Suite" && crate::source::group_of(&o.id.api_version) == SUITE_GROUP
}

/// A scalar as text (a name written `no` is the YAML 1.1 boolean false).
fn scalar(node: Option<&Node>) -> String {
    match node.map(|n| &n.value) {
        Some(palisade_core::Value::Str(s)) => s.clone(),
        Some(palisade_core::Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        Some(palisade_core::Value::Int(i)) => i.to_string(),
        Some(palisade_core::Value::Float(f)) => f.to_string(),
        _ => String::new(),
    }
}

fn flag(node: &Node, key: &str) -> bool {
    node.get(key).and_then(Node::as_bool).unwrap_or(false)
}

fn run_suite(
    file: &Path,
    suite: &Object,
    engine: EnginePreference,
    filter: &Filter,
) -> SuiteResult {
    let start = Instant::now();
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut result = SuiteResult {
        path: display(file),
        skipped: flag(&suite.root, "skip"),
        error: None,
        tests: Vec::new(),
        duration: Duration::ZERO,
    };
    if !result.skipped {
        for t in suite.root.get("tests").map(Node::items).unwrap_or_default() {
            let cases: Vec<String> = t
                .get("cases")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .map(|c| scalar(c.get("name")))
                .collect();
            if filter.matches_test(&scalar(t.get("name")), &cases) {
                result.tests.push(run_test(dir, t, engine, filter));
            }
        }
    }
    result.duration = start.elapsed();
    result
}

/// Resolves a path written in a suite: relative to the suite's directory;
/// absolute paths are refused, as gator refuses them.
fn resolve(dir: &Path, node: Option<&Node>, what: &str) -> Result<PathBuf, String> {
    let Some(p) = node.and_then(Node::as_str).filter(|p| !p.is_empty()) else {
        return Err(format!("missing {what}"));
    };
    let p = Path::new(p);
    if p.is_absolute() {
        return Err(format!(
            "{what} {}: absolute paths are not allowed; write it relative to the suite",
            p.display()
        ));
    }
    Ok(dir.join(p))
}

/// Reads the objects of a file named in a suite (an error when there are none).
fn read_objects(path: &Path) -> Result<Vec<Object>, String> {
    let (objects, errors) = read_file(path);
    if let Some(e) = errors.first() {
        return Err(e.to_string());
    }
    if objects.is_empty() {
        return Err(format!("{}: defines no Kubernetes object", display(path)));
    }
    Ok(objects)
}

/// Reads the single object of a file named in a suite.
fn read_one(path: &Path) -> Result<Object, String> {
    let mut objects = read_objects(path)?;
    match objects.len() {
        1 => Ok(objects.remove(0)),
        n => Err(format!(
            "{}: defines {n} objects, want exactly one",
            display(path)
        )),
    }
}

fn errors_text(errors: Vec<LoadError>) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_test(dir: &Path, test: &Node, engine: EnginePreference, filter: &Filter) -> TestResult {
    let start = Instant::now();
    let mut result = TestResult {
        name: scalar(test.get("name")),
        skipped: flag(test, "skip"),
        error: None,
        cases: Vec::new(),
        duration: Duration::ZERO,
    };
    if result.skipped {
        return result;
    }
    match build_test(dir, test, engine) {
        Err(e) => result.error = Some(e),
        Ok(None) => {}
        Ok(Some(set)) => {
            for case in test.get("cases").map(Node::items).unwrap_or_default() {
                if filter.matches_case(&result.name, &scalar(case.get("name"))) {
                    result.cases.push(run_case(dir, &set, case));
                }
            }
        }
    }
    result.duration = start.elapsed();
    result
}

/// Loads a test's template and constraint. `Ok(None)` for an `invalid: true`
/// test whose constraint was refused by its schema, as expected.
fn build_test(
    dir: &Path,
    test: &Node,
    engine: EnginePreference,
) -> Result<Option<PolicySet>, String> {
    let template_path = resolve(dir, test.get("template"), "template")?;
    let tobj = read_one(&template_path)?;
    if !template::is_template(&tobj) {
        return Err(format!(
            "{}: is a {} {}, not a ConstraintTemplate",
            display(&template_path),
            tobj.id.api_version,
            tobj.id.kind
        ));
    }
    let template = Template::compile(&tobj, engine).map_err(errors_text)?;
    let constraint_path = resolve(dir, test.get("constraint"), "constraint")?;
    let cobj = read_one(&constraint_path)?;
    let invalid = flag(test, "invalid");
    let by_kind = [(template.kind.clone(), 0usize)].into_iter().collect();
    let templates = vec![template];
    let parsed = if constraint::is_constraint(&cobj) {
        constraint::parse(&cobj, &templates, &by_kind)
    } else {
        Err(Refusal::Other(vec![LoadError::new(
            &cobj.file,
            object_pos(&cobj),
            format!(
                "a {} {} is not a constraint ({}/v1beta1)",
                cobj.id.api_version,
                cobj.id.kind,
                constraint::CONSTRAINT_GROUP
            ),
        )]))
    };
    match (parsed, invalid) {
        (Err(Refusal::Schema(_)), true) => Ok(None),
        (Err(Refusal::Other(e)), true) => Err(format!(
            "the constraint should fail its schema, but failed otherwise: {}",
            errors_text(e)
        )),
        (Ok(_), true) => Err("the constraint is valid, but the test expects it to fail its template's schema (invalid: true)".into()),
        (Err(r), false) => Err(errors_text(r.into_errors())),
        (Ok(c), false) => Ok(Some(PolicySet::from_parts(templates, vec![c]))),
    }
}

fn run_case(dir: &Path, set: &PolicySet, case: &Node) -> CaseResult {
    let start = Instant::now();
    let mut result = CaseResult {
        name: scalar(case.get("name")),
        skipped: flag(case, "skip"),
        error: None,
        violations: Vec::new(),
        duration: Duration::ZERO,
    };
    if !result.skipped {
        if let Err(e) = check_case(dir, set, case, &mut result.violations) {
            result.error = Some(e);
        }
    }
    result.duration = start.elapsed();
    result
}

fn check_case(
    dir: &Path,
    set: &PolicySet,
    case: &Node,
    messages: &mut Vec<String>,
) -> Result<(), String> {
    let object_path = resolve(dir, case.get("object"), "object")?;
    let assertions = case.get("assertions").map(Node::items).unwrap_or_default();
    if assertions.is_empty() {
        return Err("assertions must be non-empty".into());
    }
    let object = read_one(&object_path)?.root.to_json();
    let mut inventory = Inventory::new();
    for p in case.get("inventory").map(Node::items).unwrap_or_default() {
        let path = resolve(dir, Some(p), "inventory")?;
        for obj in read_objects(&path)? {
            inventory
                .add(&obj.root.to_json())
                .map_err(|e| format!("{}:{}: {e}", obj.file, object_pos(&obj).line))?;
        }
    }
    let review = if Review::is_admission_review(&object) {
        Review::parse_admission_review(&object)
            .map_err(|e| format!("{}: {e}", display(&object_path)))?
    } else {
        Review::of_object(&object, "")
    };
    let outcome = set.review_all(&review, &inventory);
    if let Some(e) = outcome.errors.first() {
        return Err(e.to_string());
    }
    messages.extend(outcome.violations.iter().map(|v| v.message.clone()));
    for a in assertions {
        check_assertion(a, messages)?;
    }
    Ok(())
}

/// Checks one assertion: how many violations match its `message` regex
/// (all of them without one), against `violations` (yes, no or a count;
/// yes when absent).
fn check_assertion(a: &Node, messages: &[String]) -> Result<(), String> {
    let pattern = a.get("message").and_then(Node::as_str);
    let re = match pattern {
        Some(p) => Some(regex::Regex::new(p).map_err(|e| {
            format!("assertion message {p:?} is not a valid regular expression: {e}")
        })?),
        None => None,
    };
    let matching = messages
        .iter()
        .filter(|m| re.as_ref().is_none_or(|r| r.is_match(m)))
        .count();
    let containing = pattern
        .map(|p| format!(" containing {p:?}"))
        .unwrap_or_default();
    let got = |want: &str| {
        format!("got {matching} violations{containing} but want {want}: got messages {messages:?}")
    };
    let invalid = || {
        "assertion.violations, if set, must be a nonnegative integer, \"yes\", or \"no\""
            .to_string()
    };
    match a.get("violations") {
        None => (matching > 0)
            .then_some(())
            .ok_or_else(|| got("at least 1")),
        // gator reads suites as YAML 1.2, where `yes` and `no` are strings;
        // palisade's loader reads YAML 1.1 as kubectl does, where they are
        // booleans: both spellings mean the same here.
        Some(n) => match (n.as_i64(), n.as_str(), n.as_bool()) {
            (Some(want), _, _) if want >= 0 => (matching as i64 == want)
                .then_some(())
                .ok_or_else(|| got(&format!("exactly {want}"))),
            (_, Some("yes"), _) | (_, _, Some(true)) => (matching > 0)
                .then_some(())
                .ok_or_else(|| got("at least 1")),
            (_, Some("no"), _) | (_, _, Some(false)) => {
                (matching == 0).then_some(()).ok_or_else(|| got("none"))
            }
            _ => Err(invalid()),
        },
    }
}

/// Runs a suite given as text (for tests of the report formats).
#[cfg(test)]
fn suite_from_text(dir: &Path, text: &str) -> SuiteResult {
    let (objects, _) = crate::source::read_bytes("suite.yaml", text.as_bytes());
    run_suite(
        &dir.join("suite.yaml"),
        &objects[0],
        EnginePreference::Auto,
        &Filter::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Node {
        palisade_core::loader::load_str(text, &palisade_core::Limits::default())
            .documents
            .remove(0)
            .root
    }

    #[test]
    fn assertions_count_matching_messages() {
        let msgs = vec![
            "missing label owner".to_string(),
            "missing label team".to_string(),
        ];
        assert!(check_assertion(&node("violations: yes\n"), &msgs).is_ok());
        assert!(check_assertion(&node("violations: 2\n"), &msgs).is_ok());
        assert!(check_assertion(&node("violations: 1\nmessage: owner\n"), &msgs).is_ok());
        assert!(check_assertion(&node("violations: no\nmessage: ^nothing$\n"), &msgs).is_ok());
        assert!(check_assertion(&node("message: team\n"), &msgs).is_ok());
        let e = check_assertion(&node("violations: 1\n"), &msgs)
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("got 2 violations but want exactly 1"), "{e}");
        assert!(check_assertion(&node("violations: no\n"), &msgs).is_err());
        assert!(check_assertion(&node("violations: -1\n"), &msgs).is_err());
        assert!(check_assertion(&node("violations: maybe\n"), &msgs).is_err());
        assert!(check_assertion(&node("message: \"(\"\n"), &msgs).is_err());
        assert!(check_assertion(&node("violations: yes\n"), &[]).is_err());
    }

    #[test]
    fn missing_template_path_fails_the_test_not_the_run() {
        let r = suite_from_text(Path::new("/nonexistent"), "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests:\n- name: t\n  constraint: c.yaml\n  cases: []\n");
        assert_eq!(r.tests.len(), 1);
        assert_eq!(r.tests[0].error.as_deref(), Some("missing template"));
    }
}
