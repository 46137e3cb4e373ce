//! `verify` on gator suites: gator's path, case and assertion semantics.
//! The text, JSON and JUnit reports are tested in palisade-report.

use std::path::{Path, PathBuf};

use palisade_rego::verify::{verify, VerifyReport};

fn fixtures(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

fn run(path: &Path) -> VerifyReport {
    verify(path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn fixture_suite_passes_every_case() {
    let report = run(&fixtures("suites/suite.yaml"));
    assert!(report.passed(), "{report:?}");
    let c = report.counts();
    assert_eq!((c.passed, c.failed, c.skipped), (9, 0, 1), "{report:?}");
    let tests: Vec<&str> = report.suites[0]
        .tests
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(tests[0], "privileged-containers");
    assert_eq!(
        report.suites[0].tests[0].cases[0].violations,
        ["privileged container app is not allowed"]
    );
}

#[test]
fn directory_reads_its_own_suites_and_dots_recurse() {
    let flat = run(&fixtures("suites"));
    assert_eq!(flat.suites.len(), 1);
    let deep = run(&PathBuf::from(format!(
        "{}/...",
        fixtures("suites").display()
    )));
    assert_eq!(deep.suites.len(), 2);
    assert!(deep.suites[0].path.ends_with("nested/suite.yaml"));
    assert!(deep.passed(), "{deep:?}");
}

#[test]
fn failing_assertions_and_invalid_suites_fail_with_reasons() {
    let report = run(&fixtures("suites-failing/suite.yaml"));
    assert!(!report.passed());
    let t = &report.suites[0].tests[0];
    let err = |i: usize| t.cases[i].error.clone().unwrap_or_default();
    assert!(
        err(0).starts_with("got 1 violations but want none"),
        "{}",
        err(0)
    );
    assert_eq!(t.cases[1].error, None);
    assert_eq!(err(2), "assertions must be non-empty");
    assert!(t.cases[3].skipped);
    let invalid = report.suites[0].tests[1].error.clone().unwrap_or_default();
    assert!(
        invalid.contains("expects it to fail its template's schema"),
        "{invalid}"
    );
    let abs = report.suites[0].tests[2].error.clone().unwrap_or_default();
    assert!(abs.contains("absolute paths are not allowed"), "{abs}");
    let c = report.counts();
    assert_eq!((c.passed, c.failed, c.skipped), (1, 4, 1));
}

#[test]
fn template_that_does_not_compile_fails_its_test_with_the_line() {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-broken");
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("t.yaml"),
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: k8sx}\nspec:\n  crd: {spec: {names: {kind: K8sX}}}\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: |\n      package x\n      violation[{\"msg\": m}] { m := 1 + }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("c.yaml"),
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sX\nmetadata: {name: x}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("suite.yaml"),
        "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests:\n- name: broken\n  template: t.yaml\n  constraint: c.yaml\n  cases:\n  - name: c\n    object: c.yaml\n    assertions: [{violations: no}]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let report = run(&d.join("suite.yaml"));
    let err = report.suites[0].tests[0].error.clone().unwrap_or_default();
    assert!(err.contains("t.yaml:10:"), "{err}");
    assert!(!report.passed());
}

#[test]
fn a_file_that_is_not_a_suite_and_a_missing_path_are_errors() {
    assert!(verify(&fixtures("policies/privileged.yaml")).is_err());
    assert!(verify(&fixtures("no-such-dir")).is_err());
    assert!(verify(&fixtures("policies")).is_err());
}

#[test]
fn unparsable_yaml_in_a_suite_directory_fails_the_run() {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-unparsable");
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("suite.yaml"),
        "apiVersion: test.gatekeeper.sh/v1alpha1\nkind: Suite\ntests: [\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let report = run(&d);
    assert!(!report.passed());
    assert_eq!(report.suites.len(), 1);
    let err = report.suites[0].error.clone().unwrap_or_default();
    assert!(err.contains("suite.yaml:"), "{err}");
}

fn run_with(path: &Path, engine: palisade_rego::EnginePreference) -> VerifyReport {
    palisade_rego::verify_with(path, engine).unwrap_or_else(|e| panic!("{e}"))
}

fn first_violation(report: &VerifyReport) -> &str {
    &report.suites[0].tests[0].cases[0].violations[0]
}

#[test]
fn a_template_with_both_engines_passes_its_suite_through_each() {
    use palisade_rego::EnginePreference::{Auto, Cel, Rego};
    let suite = fixtures("gatekeeper-cel/privileged-containers/suite.yaml");
    for engine in [Auto, Cel, Rego] {
        let report = run_with(&suite, engine);
        assert!(report.passed(), "{engine:?}: {report:?}");
        let c = report.counts();
        assert_eq!((c.passed, c.failed), (6, 0), "{engine:?}: {report:?}");
    }
    // Gatekeeper's precedence: the CEL code runs unless Rego is forced;
    // the messages tell the engines apart.
    let cel = "Privileged container is not allowed: nginx, securityContext.privileged: true";
    assert_eq!(first_violation(&run_with(&suite, Auto)), cel);
    assert_eq!(first_violation(&run_with(&suite, Cel)), cel);
    let rego = run_with(&suite, Rego);
    assert_eq!(
        first_violation(&rego),
        "Privileged container is not allowed: nginx, securityContext: {\"privileged\": true}"
    );
}

#[test]
fn the_example_suite_passes_through_rego_and_cel() {
    use palisade_rego::EnginePreference::{Cel, Rego};
    let suite =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/gatekeeper/suite.yaml");
    for engine in [Rego, Cel] {
        let report = run_with(&suite, engine);
        assert!(report.passed(), "{engine:?}: {report:?}");
        assert_eq!(report.counts().passed, 2, "{engine:?}");
    }
}

/// (test, case) names a filtered run of the fixture suite reports.
fn selected(run: &str) -> Vec<(String, String)> {
    let filter = palisade_rego::Filter::new(run).unwrap();
    let report = palisade_rego::verify_filtered(
        &fixtures("suites/suite.yaml"),
        palisade_rego::EnginePreference::Auto,
        &filter,
    )
    .unwrap();
    let mut out = Vec::new();
    for s in &report.suites {
        for t in &s.tests {
            if t.cases.is_empty() {
                out.push((t.name.clone(), String::new()));
            }
            for c in &t.cases {
                out.push((t.name.clone(), c.name.clone()));
            }
        }
    }
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn run_selects_tests_and_cases_as_gator_does() {
    // TEST//CASE: the cases matching CASE in the tests matching TEST; a
    // matching test without cases (`invalid: true`) still runs, as in gator.
    assert_eq!(
        selected("repos//bad"),
        pairs(&[
            ("allowed-repos", "two-bad-images"),
            ("allowed-repos-must-be-a-list", "")
        ])
    );
    // TEST//: every case of the matching tests (anchored: not the
    // -must-be-a-list test).
    assert_eq!(
        selected("^allowed-repos$//"),
        pairs(&[("allowed-repos", "two-bad-images")])
    );
    // //CASE: the matching cases of every test.
    assert_eq!(
        selected("//^no-|^unprivileged$"),
        pairs(&[
            ("privileged-containers", "unprivileged"),
            ("unique-ingress-host", "no-inventory"),
        ])
    );
    // One regex: a case runs when its name or its test's name matches.
    assert_eq!(
        selected("owner"),
        pairs(&[
            ("immutable-owner", "update-changes-owner"),
            ("immutable-owner", "delete-is-not-an-update"),
        ])
    );
    assert_eq!(
        selected("exempt"),
        pairs(&[("privileged-containers", "exempt-image")])
    );
    // Nothing selected: an empty report, not an error of the library.
    assert!(selected("no-such-name").is_empty());
    assert!(palisade_rego::Filter::new("(").is_err());
    assert!(palisade_rego::Filter::new("").unwrap().is_all());
}
