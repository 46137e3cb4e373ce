//! Renders hand-built reports as JUnit XML and reads them back with a strict
//! XML parser (`roxmltree`), checking what CI test reporters rely on: a
//! well-formed document, consistent counts, one suite per file, one failing
//! test case per finding, one erroring test case per input error, hostile
//! text escaped, and a passing test case when there is nothing to report.

use std::sync::Arc;

use palisade_core::{Finding, InputError, ObjectRef, ScanReport, Severity, Skipped};
use palisade_report::{render, Format, RenderOptions};
use roxmltree::{Document, Node};

const PRIVILEGED_PATH: &str = "spec.template.spec.containers[0].securityContext.privileged";
const PRIVILEGED_FIX: &str = "Remove securityContext.privileged or set it to false.";

fn object(kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".to_string(),
        kind: kind.to_string(),
        namespace: namespace.map(str::to_string),
        name: name.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    rule: &'static str,
    severity: Severity,
    file: &str,
    object: ObjectRef,
    container: Option<&str>,
    message: &str,
    path: &str,
    line: u32,
    column: u32,
    remediation: &'static str,
) -> Finding {
    Finding {
        rule,
        severity,
        message: message.to_string(),
        object: std::sync::Arc::new(object),
        container: container.map(str::to_string),
        path: path.to_string(),
        file: Arc::from(file),
        line,
        column,
        remediation,
    }
}

fn input_error(file: &str, line: u32, column: u32, message: &str) -> InputError {
    InputError {
        file: Arc::from(file),
        line,
        column,
        message: message.to_string(),
    }
}

/// `deploy/web.yaml`: three findings (a Deployment and a namespace-less Pod);
/// `deploy/db.yaml`: one finding with no field path; `deploy/broken.yaml`:
/// an input error; `deploy/gone.yaml`: unreadable; `deploy/notes.yaml`:
/// only a skipped document.
fn report() -> ScanReport {
    let deploy = object("Deployment", Some("prod"), "web");
    ScanReport {
        findings: vec![
            finding(
                "pss/privileged",
                Severity::Critical,
                "deploy/web.yaml",
                deploy.clone(),
                Some("app"),
                "container \"app\" is privileged",
                PRIVILEGED_PATH,
                21,
                13,
                PRIVILEGED_FIX,
            ),
            finding(
                "sa/automount-token",
                Severity::Low,
                "deploy/db.yaml",
                object("StatefulSet", Some("data"), "db"),
                None,
                "the service account token is mounted",
                "",
                1,
                1,
                "Set automountServiceAccountToken: false.",
            ),
            finding(
                "pss/host-namespaces",
                Severity::High,
                "deploy/web.yaml",
                object("Pod", None, "debug"),
                None,
                "hostNetwork is true",
                "spec.hostNetwork",
                40,
                3,
                "Remove hostNetwork, hostPID and hostIPC.",
            ),
            finding(
                "img/latest-tag",
                Severity::Info,
                "deploy/web.yaml",
                deploy,
                Some("sidecar"),
                "image \"nginx:latest\" uses a moving tag",
                "spec.template.spec.containers[1].image",
                26,
                16,
                "Pin the image by digest.",
            ),
        ],
        errors: vec![
            input_error(
                "deploy/broken.yaml",
                3,
                5,
                "mapping values are not allowed in this context",
            ),
            input_error("deploy/gone.yaml", 0, 0, "cannot read: permission denied"),
        ],
        skipped: vec![Skipped {
            file: Arc::from("deploy/notes.yaml"),
            line: 1,
            reason: "not a Kubernetes object: no apiVersion or kind".to_string(),
        }],
        summary: Default::default(),
        ..Default::default()
    }
}

fn junit(report: &ScanReport) -> String {
    let mut out = Vec::new();
    render(
        report,
        &[],
        Format::Junit,
        &RenderOptions::default(),
        &mut out,
    )
    .expect("render");
    String::from_utf8(out).expect("utf-8 output")
}

/// Parses `xml`, failing the test with the document if it is not well-formed.
fn parse(xml: &str) -> Document<'_> {
    Document::parse(xml).unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{xml}"))
}

fn children<'a, 'i>(node: Node<'a, 'i>, tag: &str) -> Vec<Node<'a, 'i>> {
    node.children()
        .filter(|n| n.has_tag_name(tag))
        .collect::<Vec<_>>()
}

fn attr<'a>(node: Node<'a, '_>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> has no {name}", node.tag_name().name()))
}

fn counts<'a>(node: Node<'a, '_>) -> (&'a str, &'a str, &'a str) {
    (
        attr(node, "tests"),
        attr(node, "failures"),
        attr(node, "errors"),
    )
}

fn testcases<'a, 'i>(doc: &'a Document<'i>) -> Vec<Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect()
}

fn case_named<'a, 'i>(doc: &'a Document<'i>, classname: &str, name: &str) -> Node<'a, 'i> {
    testcases(doc)
        .into_iter()
        .find(|n| n.attribute("classname") == Some(classname) && n.attribute("name") == Some(name))
        .unwrap_or_else(|| panic!("no testcase {classname} / {name}"))
}

#[test]
fn junit_is_selected_by_its_name() {
    assert_eq!("junit".parse::<Format>(), Ok(Format::Junit));
    assert_eq!(Format::Junit.as_str(), "junit");
    assert!(Format::ALL.contains(&Format::Junit));
    let err = "xml".parse::<Format>().unwrap_err();
    for f in Format::ALL {
        assert!(err.contains(f.as_str()), "{err}");
    }
}

#[test]
fn junit_is_well_formed_xml_with_totals_on_the_root() {
    let xml = junit(&report());
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        "{xml}"
    );
    assert!(xml.ends_with("</testsuites>\n"), "{xml}");
    let doc = parse(&xml);
    let root = doc.root_element();
    assert!(root.has_tag_name("testsuites"));
    assert_eq!(attr(root, "name"), "palisade");
    assert_eq!(counts(root), ("6", "4", "2"));
    assert_eq!(testcases(&doc).len(), 6);
}

#[test]
fn junit_has_one_suite_per_file_with_findings_or_errors() {
    let xml = junit(&report());
    let doc = parse(&xml);
    let suites = children(doc.root_element(), "testsuite");
    let names: Vec<&str> = suites.iter().map(|s| attr(*s, "name")).collect();
    // Files in order of first appearance; the file with only a skipped
    // document has nothing to report.
    assert_eq!(
        names,
        [
            "deploy/web.yaml",
            "deploy/db.yaml",
            "deploy/broken.yaml",
            "deploy/gone.yaml"
        ]
    );
    let suite_counts: Vec<_> = suites.iter().map(|s| counts(*s)).collect();
    assert_eq!(
        suite_counts,
        [
            ("3", "3", "0"),
            ("1", "1", "0"),
            ("1", "0", "1"),
            ("1", "0", "1")
        ]
    );
    for s in &suites {
        let cases = children(*s, "testcase");
        assert_eq!(attr(*s, "tests"), cases.len().to_string());
        for c in cases {
            assert_eq!(attr(c, "file"), attr(*s, "name"));
        }
    }
}

#[test]
fn junit_finding_is_a_failing_testcase_locating_the_field() {
    let xml = junit(&report());
    let doc = parse(&xml);
    let case = case_named(
        &doc,
        "Deployment/prod/web",
        &format!("pss/privileged: {PRIVILEGED_PATH}"),
    );
    assert_eq!(attr(case, "file"), "deploy/web.yaml");
    assert_eq!(attr(case, "line"), "21");
    let failures = children(case, "failure");
    assert_eq!(failures.len(), 1);
    assert!(children(case, "error").is_empty());
    let failure = failures[0];
    assert_eq!(attr(failure, "type"), "critical");
    assert_eq!(attr(failure, "message"), "container \"app\" is privileged");
    let text = failure.text().expect("failure text");
    for part in [
        "critical",
        "pss/privileged",
        "deploy/web.yaml:21:13",
        "container: app",
        "container \"app\" is privileged",
        PRIVILEGED_PATH,
        PRIVILEGED_FIX,
    ] {
        assert!(text.contains(part), "{part:?} missing from {text:?}");
    }
}

#[test]
fn junit_classname_leaves_out_a_missing_namespace() {
    let xml = junit(&report());
    let doc = parse(&xml);
    let case = case_named(&doc, "Pod/debug", "pss/host-namespaces: spec.hostNetwork");
    assert_eq!(attr(case, "line"), "40");
    assert_eq!(attr(children(case, "failure")[0], "type"), "high");
}

#[test]
fn junit_testcase_is_named_by_rule_alone_without_a_path() {
    let xml = junit(&report());
    let doc = parse(&xml);
    let case = case_named(&doc, "StatefulSet/data/db", "sa/automount-token");
    assert_eq!(attr(children(case, "failure")[0], "type"), "low");
}

#[test]
fn junit_input_error_is_an_erroring_testcase() {
    let xml = junit(&report());
    let doc = parse(&xml);
    let errors: Vec<_> = testcases(&doc)
        .into_iter()
        .filter(|c| attr(*c, "name") == "input error")
        .collect();
    assert_eq!(errors.len(), 2);

    let broken = errors[0];
    assert_eq!(attr(broken, "file"), "deploy/broken.yaml");
    assert_eq!(attr(broken, "line"), "3");
    assert!(children(broken, "failure").is_empty());
    let error = children(broken, "error");
    assert_eq!(error.len(), 1);
    assert_eq!(
        attr(error[0], "message"),
        "mapping values are not allowed in this context"
    );
    let text = error[0].text().expect("error text");
    assert!(text.contains("deploy/broken.yaml:3:5"), "{text:?}");

    // An unreadable file has no line to point at.
    let gone = errors[1];
    assert_eq!(attr(gone, "file"), "deploy/gone.yaml");
    assert_eq!(gone.attribute("line"), None);
    assert_eq!(children(gone, "error").len(), 1);
}

#[test]
fn junit_escapes_hostile_text_and_drops_characters_xml_forbids() {
    const HOSTILE: &str = "<script>&\"'\u{1}";
    // The parser used here really rejects what the reporter must not write.
    assert!(Document::parse("<a>\u{1}</a>").is_err());

    let mut report = ScanReport::default();
    report.findings.push(finding(
        "pss/privileged",
        Severity::Critical,
        &format!("deploy/{HOSTILE}.yaml"),
        object("Deployment", Some("prod"), &format!("web{HOSTILE}")),
        Some(&format!("app{HOSTILE}\u{1b}[31m")),
        &format!("line one\nline two {HOSTILE}\r"),
        &format!("spec.containers[0].env[{HOSTILE}]"),
        2,
        3,
        PRIVILEGED_FIX,
    ));
    report.errors.push(input_error(
        &format!("{HOSTILE}.yaml"),
        1,
        1,
        &format!("bad {HOSTILE}\u{0}"),
    ));
    let xml = junit(&report);
    assert!(!xml.contains('\u{1}') && !xml.contains('\u{0}') && !xml.contains('\u{1b}'));
    assert!(!xml.contains("<script>"), "{xml}");
    // Every markup character is written as an entity, even where the parser
    // would accept it raw (an apostrophe inside a double-quoted attribute).
    assert!(xml.contains("&lt;script&gt;&amp;&quot;&apos;"), "{xml}");
    assert!(!xml.contains('\''), "{xml}");
    let doc = parse(&xml);

    let safe = "<script>&\"'";
    let case = case_named(
        &doc,
        &format!("Deployment/prod/web{safe}"),
        &format!("pss/privileged: spec.containers[0].env[{safe}]"),
    );
    assert_eq!(attr(case, "file"), format!("deploy/{safe}.yaml"));
    let failure = children(case, "failure")[0];
    // Line breaks in an attribute survive the parser's normalisation.
    assert_eq!(
        attr(failure, "message"),
        format!("line one\nline two {safe}\r")
    );
    let text = failure.text().expect("failure text");
    assert!(
        text.contains(&format!("container: app{safe}[31m")),
        "{text:?}"
    );
    assert!(text.contains(&format!("line two {safe}\r")), "{text:?}");

    let suites = children(doc.root_element(), "testsuite");
    assert_eq!(attr(suites[0], "name"), format!("deploy/{safe}.yaml"));
    assert_eq!(attr(suites[1], "name"), format!("{safe}.yaml"));
    let error = children(case_named(&doc, "palisade", "input error"), "error")[0];
    assert_eq!(attr(error, "message"), format!("bad {safe}"));
}

#[test]
fn junit_empty_report_has_one_passing_testcase() {
    // Skipped documents are not tests: still nothing to report.
    let report = ScanReport {
        skipped: report().skipped,
        ..Default::default()
    };
    let xml = junit(&report);
    let doc = parse(&xml);
    let root = doc.root_element();
    assert_eq!(counts(root), ("1", "0", "0"));
    let suites = children(root, "testsuite");
    assert_eq!(suites.len(), 1);
    assert_eq!(counts(suites[0]), ("1", "0", "0"));
    let cases = testcases(&doc);
    assert_eq!(cases.len(), 1);
    assert_eq!(attr(cases[0], "name"), "palisade scan");
    assert_eq!(attr(cases[0], "classname"), "palisade");
    assert!(
        cases[0].children().all(|n| !n.is_element()),
        "passing case has a child: {xml}"
    );
}

#[test]
fn junit_report_with_only_errors_has_no_passing_testcase() {
    let mut report = ScanReport::default();
    report
        .errors
        .push(input_error("bad.yaml", 1, 1, "did not find expected key"));
    let xml = junit(&report);
    let doc = parse(&xml);
    assert_eq!(counts(doc.root_element()), ("1", "0", "1"));
    let cases = testcases(&doc);
    assert_eq!(cases.len(), 1);
    assert_eq!(attr(cases[0], "name"), "input error");
    assert_eq!(children(cases[0], "error").len(), 1);
}
