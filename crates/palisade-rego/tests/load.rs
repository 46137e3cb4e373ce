//! Loading templates and constraints: every problem is reported with its
//! file, line and column, and nothing is silently dropped.

use std::path::{Path, PathBuf};

use palisade_rego::{LoadError, PolicySet};

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("load")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn write(d: &Path, file: &str, text: &str) -> PathBuf {
    let f = d.join(file);
    std::fs::write(&f, text).unwrap_or_else(|e| panic!("{e}"));
    f
}

fn load_err(paths: &[PathBuf]) -> Vec<LoadError> {
    match PolicySet::load(paths) {
        Ok(set) => panic!("loaded: {:?}", set.constraints()),
        Err(e) => e,
    }
}

fn template(kind: &str, rego: &str) -> String {
    let mut t = format!(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: {}\nspec:\n  crd:\n    spec:\n      names:\n        kind: {kind}\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n",
        kind.to_lowercase()
    );
    for line in rego.lines() {
        t.push_str("        ");
        t.push_str(line);
        t.push('\n');
    }
    t
}

#[test]
fn rego_syntax_error_points_at_the_file_line() {
    let d = dir("syntax");
    // Line 13 is `package bad`; the unclosed brace is on line 15.
    let f = write(
        &d,
        "t.yaml",
        &template(
            "K8sBad",
            "package bad\n\nviolation[{\"msg\": msg}] {\n  msg := \"x\"\n",
        ),
    );
    let errs = load_err(std::slice::from_ref(&f));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].file, f.display().to_string());
    assert!(errs[0].line >= 15, "{errs:?}");
    assert!(
        errs[0].message.contains("K8sBad") || errs[0].message.contains("k8sbad"),
        "{errs:?}"
    );
    assert!(errs[0].message.contains("does not compile"), "{errs:?}");
}

#[test]
fn unknown_function_is_reported_at_its_call() {
    let d = dir("unknown-fn");
    let f = write(
        &d,
        "t.yaml",
        &template(
            "K8sTypo",
            "package typo\n\nviolation[{\"msg\": msg}] {\n  msg := spritnf(\"%v\", [1])\n}\n",
        ),
    );
    let errs = load_err(&[f]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!((errs[0].line, errs[0].column), (16, 18), "{errs:?}");
    assert!(
        errs[0].message.contains("unknown function spritnf"),
        "{errs:?}"
    );
}

#[test]
fn template_without_violation_rule_is_refused() {
    let d = dir("no-violation");
    let f = write(
        &d,
        "t.yaml",
        &template(
            "K8sNothing",
            "package nothing\n\ndeny[msg] {\n  msg := \"x\"\n}\n",
        ),
    );
    let errs = load_err(&[f]);
    assert!(
        errs[0].message.contains("defines no violation rule"),
        "{errs:?}"
    );
    assert_eq!(errs[0].line, 13);
}

#[test]
fn constraint_without_template_names_its_kind_and_line() {
    let d = dir("no-template");
    let f = write(
        &d,
        "c.yaml",
        "# a constraint\n---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sMissing\nmetadata:\n  name: m\n",
    );
    let errs = load_err(std::slice::from_ref(&f));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].line, 4);
    assert!(
        errs[0]
            .message
            .contains("no ConstraintTemplate defines kind K8sMissing"),
        "{errs:?}"
    );
    assert_eq!(
        errs[0].to_string(),
        format!("{}:4:1: {}", f.display(), errs[0].message)
    );
}

#[test]
fn parameter_failing_the_schema_points_at_the_parameter() {
    let d = dir("bad-params");
    let fixtures =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies/allowedrepos.yaml");
    let c = write(
        &d,
        "c.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata:\n  name: r\nspec:\n  parameters:\n    repos:\n      - ok/\n      - 42\n",
    );
    let errs = load_err(&[fixtures, c.clone()]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].file, c.display().to_string());
    assert_eq!((errs[0].line, errs[0].column), (9, 9));
    assert_eq!(
        errs[0].message,
        "constraint K8sAllowedRepos/r: spec.parameters.repos[1]: must be of type string, not integer"
    );
}

#[test]
fn missing_required_parameter_is_refused() {
    let d = dir("required-param");
    let fixtures =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies/allowedrepos.yaml");
    let c = write(
        &d,
        "c.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sAllowedRepos\nmetadata:\n  name: r\nspec:\n  parameters:\n    repo: [x]\n",
    );
    let errs = load_err(&[fixtures, c]);
    assert!(
        errs[0]
            .message
            .ends_with("spec.parameters.repos: required field is missing"),
        "{errs:?}"
    );
    assert_eq!(errs[0].line, 6);
}

#[test]
fn every_error_of_every_file_is_returned_in_file_order() {
    let d = dir("many");
    write(
        &d,
        "a.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sA\nmetadata: {name: a}\n",
    );
    write(
        &d,
        "b.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sB\nmetadata: {name: b}\n---\nkey: [unclosed\n",
    );
    let errs = load_err(std::slice::from_ref(&d));
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(errs[0].file.ends_with("a.yaml"));
    assert!(errs[1].file.ends_with("b.yaml") && errs[2].file.ends_with("b.yaml"));
}

#[test]
fn lib_outside_package_lib_is_refused() {
    let d = dir("lib-package");
    let mut t = template(
        "K8sLib",
        "package withlib\n\nviolation[{\"msg\": \"x\"}] {\n  false\n}\n",
    );
    t.push_str("      libs:\n        - |\n          package helpers\n          f(x) = x\n");
    let errs = load_err(&[write(&d, "t.yaml", &t)]);
    assert!(
        errs[0].message.contains("libs[0] has package helpers"),
        "{errs:?}"
    );
}

#[test]
fn template_name_must_be_the_lower_case_kind() {
    let d = dir("name");
    let t = template(
        "K8sRight",
        "package right\nviolation[{\"msg\": \"x\"}] { false }\n",
    )
    .replace("name: k8sright", "name: wrong");
    let errs = load_err(&[write(&d, "t.yaml", &t)]);
    assert_eq!(errs[0].line, 4);
    assert!(
        errs[0].message.contains("lower-case kind \"k8sright\""),
        "{errs:?}"
    );
}

#[test]
fn duplicate_constraint_and_bad_enforcement_action_are_errors() {
    let d = dir("dup");
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policies/uniqueingresshost.yaml");
    let c = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sUniqueIngressHost\nmetadata:\n  name: u\n";
    write(
        &d,
        "c.yaml",
        &format!(
            "{c}---\n{c}---\n{}spec:\n  enforcementAction: audit\n",
            c.replace("name: u", "name: v")
        ),
    );
    let errs = load_err(&[fixtures, d]);
    let msgs: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(errs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("defined twice"), "{msgs:?}");
    assert!(
        msgs[1].contains("enforcementAction \"audit\" is not deny, dryrun or warn"),
        "{msgs:?}"
    );
    assert_eq!(errs[1].line, 16);
}

#[test]
fn malformed_match_block_is_refused() {
    let d = dir("bad-match");
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policies/uniqueingresshost.yaml");
    let c = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sUniqueIngressHost\nmetadata:\n  name: u\nspec:\n  match:\n    labelSelector:\n      matchExpressions:\n        - key: a\n          operator: Equals\n";
    let errs = load_err(&[fixtures, write(&d, "c.yaml", c)]);
    assert_eq!(errs[0].line, 9);
    assert!(errs[0].message.contains("operator \"Equals\""), "{errs:?}");
}

#[test]
fn json_template_and_other_objects_load() {
    let d = dir("json");
    let t = serde_json::json!({
        "apiVersion": "templates.gatekeeper.sh/v1beta1", "kind": "ConstraintTemplate",
        "metadata": {"name": "k8sjson"},
        "spec": {"crd": {"spec": {"names": {"kind": "K8sJson"}}},
                 "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": "package j\nviolation[{\"msg\": \"j\"}] { input.review.object.kind == \"Pod\" }\n"}]}});
    write(&d, "t.json", &t.to_string());
    write(
        &d,
        "c.yaml",
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sJson\nmetadata: {name: j}\n---\napiVersion: mutations.gatekeeper.sh/v1\nkind: Assign\nmetadata: {name: m}\n---\nnot: a kubernetes object\n",
    );
    let set = PolicySet::load(&[d]).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(set.constraints().len(), 1);
    assert_eq!(set.constraints()[0].rule_id(), "rego/K8sJson/j");
    assert_eq!(set.ignored().len(), 1);
    assert_eq!(set.ignored()[0].kind, "Assign");
}

#[test]
fn missing_path_is_an_error() {
    let errs = load_err(&[PathBuf::from("/nonexistent/policy.yaml")]);
    assert!(errs[0].message.starts_with("cannot read"), "{errs:?}");
}

#[test]
fn from_objects_builds_the_same_set_as_load() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policies/privileged.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let kind_line = text.lines().count() as u32 + 3;
    let text = format!("{text}---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sPSPPrivilegedContainer\nmetadata:\n  name: p\n");
    let loaded = palisade_core::loader::load_str(&text, &palisade_core::Limits::default());
    let file: std::sync::Arc<str> = "inline.yaml".into();
    let mut objects = Vec::new();
    for doc in loaded.documents {
        if let palisade_core::object::Content::Objects(o) =
            palisade_core::object::objects_of(&file, doc.root)
        {
            objects.extend(o);
        }
    }
    let set = PolicySet::from_objects(&objects).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(set.constraints()[0].file, "inline.yaml");
    assert_eq!(set.constraints()[0].line, kind_line);
}
