//! Gatekeeper's `K8sNativeValidation` (CEL) templates: Gatekeeper's
//! variables (`variables.params`, `variables.anyObject`), its precedence
//! over Rego, failure policies, the budget, and load errors with their
//! locations.

use std::path::{Path, PathBuf};

use palisade_rego::{EnforcementAction, EnginePreference, EvalErrorKind, Inventory, LoadError};
use palisade_rego::{PolicySet, Review};
use serde_json::{json, Value};

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("native")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn write(d: &Path, text: &str) -> PathBuf {
    let f = d.join("policy.yaml");
    std::fs::write(&f, text).unwrap_or_else(|e| panic!("{e}"));
    f
}

/// A template whose CEL source is `source` (indented under `source:`), an
/// optional Rego body, and one constraint with `parameters`.
fn policy(source: &str, rego: Option<&str>, parameters: &str) -> String {
    let mut t = String::from(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8stest\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sTest\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    code:\n    - engine: K8sNativeValidation\n      source:\n",
    );
    for line in source.lines() {
        t.push_str("        ");
        t.push_str(line);
        t.push('\n');
    }
    if let Some(rego) = rego {
        t.push_str("    - engine: Rego\n      source:\n        rego: |\n");
        for line in rego.lines() {
            t.push_str("          ");
            t.push_str(line);
            t.push('\n');
        }
    }
    t.push_str(&format!(
        "---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sTest\nmetadata:\n  name: c\nspec:\n  parameters: {parameters}\n"
    ));
    t
}

fn load(name: &str, text: &str, engine: EnginePreference) -> Result<PolicySet, Vec<LoadError>> {
    PolicySet::load_with(&[write(&dir(name), text)], engine)
}

fn pod(labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop", "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "nginx"}]}})
}

fn messages(set: &PolicySet, review: &Review) -> Vec<String> {
    match set.review(review, &Inventory::new()) {
        Ok(vs) => vs.into_iter().map(|v| v.message).collect(),
        Err(e) => panic!("{e}"),
    }
}

const REQUIRED_LABEL: &str = r#"variables:
- name: labels
  expression: 'has(variables.anyObject.metadata.labels) ? variables.anyObject.metadata.labels : {}'
validations:
- expression: 'variables.params.required.all(k, k in variables.labels)'
  messageExpression: '"missing: " + variables.params.required.filter(k, !(k in variables.labels)).join(", ")'
"#;

#[test]
fn params_are_the_constraints_parameters_and_messages_come_from_cel() {
    let set = load(
        "params",
        &policy(REQUIRED_LABEL, None, "{required: [team, tier]}"),
        EnginePreference::Auto,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(set.constraints()[0].engine, "K8sNativeValidation");
    let review = Review::create(&pod(json!({"team": "a"})));
    assert_eq!(messages(&set, &review), ["missing: tier"]);
    let ok = Review::create(&pod(json!({"team": "a", "tier": "web"})));
    assert!(messages(&set, &ok).is_empty());
    let v = &set.review(&review, &Inventory::new()).unwrap_or_default()[0];
    assert_eq!(v.rule_id(), "rego/K8sTest/c");
    assert_eq!(v.action, EnforcementAction::Deny);
}

#[test]
fn any_object_is_the_old_object_on_delete_and_object_is_null() {
    let src = "validations:\n- expression: 'object == null && variables.anyObject.metadata.name == \"p\"'\n  message: on delete\n";
    let set = load("delete", &policy(src, None, "{}"), EnginePreference::Auto)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let ar = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "1", "operation": "DELETE", "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "shop", "name": "p", "oldObject": pod(json!({}))}});
    let review = Review::parse_admission_review(&ar).unwrap_or_else(|e| panic!("{e}"));
    // The expression holds on DELETE: no violation.
    assert!(messages(&set, &review).is_empty());
    // On CREATE object is set, so it fails with the message.
    assert_eq!(
        messages(&set, &Review::create(&pod(json!({})))),
        ["on delete"]
    );
}

#[test]
fn cel_wins_over_rego_unless_rego_is_forced() {
    let rego = "package k8stest\nviolation[{\"msg\": \"from rego\"}] { true }\n";
    let src = "validations:\n- expression: 'false'\n  message: from cel\n";
    let text = policy(src, Some(rego), "{}");
    let review = Review::create(&pod(json!({})));
    for (engine, want) in [
        (EnginePreference::Auto, "from cel"),
        (EnginePreference::Cel, "from cel"),
        (EnginePreference::Rego, "from rego"),
    ] {
        let set = load("precedence", &text, engine).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(messages(&set, &review), [want], "{engine:?}");
    }
}

#[test]
fn a_runtime_error_is_an_error_under_fail_and_dropped_under_ignore() {
    let src = "validations:\n- expression: 'object.spec.nothere == 1'\n";
    let set = load("fail", &policy(src, None, "{}"), EnginePreference::Auto)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let review = Review::create(&pod(json!({})));
    match set.review(&review, &Inventory::new()) {
        Err(e) => {
            assert_eq!(e.kind, EvalErrorKind::Cel);
            assert!(e.message.contains("object.spec.nothere"), "{e}");
        }
        Ok(v) => panic!("a runtime error passed: {v:?}"),
    }
    let ignore = format!("failurePolicy: Ignore\n{src}");
    let set = load(
        "ignore",
        &policy(&ignore, None, "{}"),
        EnginePreference::Auto,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(messages(&set, &review).is_empty());
}

#[test]
fn a_runaway_expression_spends_the_budget_and_is_an_error() {
    // 2,000 x 2,000 = 4,000,000 steps: over Gatekeeper's 1,000,000.
    let src = "validations:\n- expression: 'lists.range(2000).all(i, lists.range(2000).all(j, i + j >= 0))'\n";
    let set = load("budget", &policy(src, None, "{}"), EnginePreference::Auto)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let review = Review::create(&pod(json!({})));
    match set.review(&review, &Inventory::new()) {
        Err(e) => assert!(e.message.contains("cost budget"), "{e}"),
        Ok(v) => panic!("a spent budget passed: {v:?}"),
    }
}

#[test]
fn match_conditions_skip_the_template() {
    let src = "matchCondition:\n- name: only-labelled\n  expression: 'has(object.metadata.labels) && \"team\" in object.metadata.labels'\nvalidations:\n- expression: 'false'\n  message: checked\n";
    let set = load(
        "conditions",
        &policy(src, None, "{}"),
        EnginePreference::Auto,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(messages(&set, &Review::create(&pod(json!({})))).is_empty());
    assert_eq!(
        messages(&set, &Review::create(&pod(json!({"team": "a"})))),
        ["checked"]
    );
}

#[test]
fn bad_templates_are_refused_with_their_location() {
    let cases = [
        (
            "validations:\n- expression: 'params.x == 1'\n",
            "undeclared reference to 'params'",
        ),
        (
            "variables:\n- name: params\n  expression: '1'\nvalidations:\n- expression: 'true'\n",
            "reserved by Gatekeeper",
        ),
        (
            "matchConditions:\n- name: a\n  expression: 'true'\nvalidations:\n- expression: 'true'\n",
            "matchCondition (singular)",
        ),
        (
            "failurePolicy: Sometimes\nvalidations:\n- expression: 'true'\n",
            "must be Fail or Ignore",
        ),
        ("variables: []\n", "validates nothing"),
    ];
    for (src, want) in cases {
        let errs = load("bad", &policy(src, None, "{}"), EnginePreference::Auto)
            .err()
            .unwrap_or_else(|| panic!("{src} loaded"));
        assert!(
            errs.iter().any(|e| e.message.contains(want) && e.line > 0),
            "{src}: {errs:?}"
        );
    }
    // A syntax error: at its line, and the column inside the expression.
    let src = "validations:\n- expression: 'object.spec.(('\n";
    let errs = load("syntax", &policy(src, None, "{}"), EnginePreference::Auto)
        .err()
        .unwrap_or_else(|| panic!("loaded"));
    assert_eq!(errs[0].line, 16, "{errs:?}");
    assert!(errs[0].message.contains("compilation error"), "{errs:?}");
}
