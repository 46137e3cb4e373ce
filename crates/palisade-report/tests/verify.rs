//! `palisade verify`'s reports (text, JSON, JUnit) on the gator suites of
//! palisade-rego's fixtures.

use std::path::PathBuf;

use palisade_rego::verify::{verify, VerifyReport};
use palisade_report::verify::{json, junit, text};

fn failing() -> VerifyReport {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../palisade-rego/tests/fixtures/suites-failing/suite.yaml");
    verify(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn text_report_marks_failures_and_ends_with_the_counts() {
    let report = failing();
    let text = text(&report);
    assert!(text.contains("FAIL  expects-none"), "{text}");
    assert!(
        text.trim_end().ends_with("1 passed, 4 failed, 1 skipped"),
        "{text}"
    );
}

#[test]
fn json_report_has_cases_and_summary() {
    let report = failing();
    let v: serde_json::Value =
        serde_json::from_str(&json(&report)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["passed"], false);
    assert_eq!(v["summary"]["failed"], 4);
    assert_eq!(
        v["suites"][0]["tests"][0]["cases"][0]["name"],
        "expects-none"
    );
    assert_eq!(
        v["suites"][0]["tests"][0]["cases"][0]["violations"][0],
        "privileged container app is not allowed"
    );
}

#[test]
fn junit_report_counts_failures_per_suite() {
    let report = failing();
    let x = junit(&report);
    assert!(x.starts_with("<?xml"));
    assert!(
        x.contains("<testsuites name=\"palisade verify\" tests=\"6\" failures=\"4\" skipped=\"1\""),
        "{x}"
    );
    assert!(
        x.contains("name=\"wrong-expectations/expects-none\""),
        "{x}"
    );
    assert!(
        x.contains("<failure message=\"got 1 violations but want none"),
        "{x}"
    );
    assert!(
        x.contains("name=\"wrong-expectations/skipped\" time=\"0.000\"><skipped/>"),
        "{x}"
    );
}

#[test]
fn junit_report_is_well_formed_xml() {
    let x = junit(&failing());
    let doc = roxmltree::Document::parse(&x).unwrap_or_else(|e| panic!("{e}: {x}"));
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
}
