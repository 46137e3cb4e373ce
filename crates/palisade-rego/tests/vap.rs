//! ValidatingAdmissionPolicies and bindings, with cases from the
//! Kubernetes documentation's examples
//! (kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/):
//! each gives the policy, binding, params, object, and the expected result
//! and message.

use std::path::{Path, PathBuf};

use palisade_rego::{EnforcementAction, EvalErrorKind, Inventory, LoadError, PolicySet, Review};
use serde_json::{json, Value};

fn dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("vap")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn load(name: &str, text: &str) -> Result<PolicySet, Vec<LoadError>> {
    let d = dir(name);
    let f: &Path = &d.join("policy.yaml");
    std::fs::write(f, text).unwrap_or_else(|e| panic!("{e}"));
    PolicySet::load(&[f.to_path_buf()])
}

fn set(name: &str, text: &str) -> PolicySet {
    load(name, text).unwrap_or_else(|e| panic!("{e:#?}"))
}

fn deployment(ns: &str, replicas: i64, labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": ns, "labels": labels},
        "spec": {"replicas": replicas}})
}

/// (rule id, action, message) of every violation; panics on errors.
fn violations(set: &PolicySet, object: &Value) -> Vec<(String, EnforcementAction, String)> {
    let out = set.review_all(&Review::create(object), &Inventory::new());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    out.violations
        .into_iter()
        .map(|v| (v.rule_id(), v.action, v.message))
        .collect()
}

const BASIC: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "demo-policy.example.com"
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups:   ["apps"]
      apiVersions: ["v1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["deployments"]
  validations:
    - expression: "object.spec.replicas <= 5"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "demo-binding-test.example.com"
spec:
  policyName: "demo-policy.example.com"
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        environment: test
"#;

#[test]
fn basic_example_denies_with_the_api_servers_message() {
    let s = set("basic", BASIC);
    let ns = json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "default", "labels": {"environment": "test"}}});
    let mut review = Review::create(&deployment("default", 6, json!({})));
    review.namespace_object = Some(ns.clone());
    let out = s.review_all(&review, &Inventory::new());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(out.violations.len(), 1);
    let v = &out.violations[0];
    assert_eq!(v.rule_id(), "vap/demo-policy.example.com");
    assert_eq!(v.action, EnforcementAction::Deny);
    assert_eq!(
        v.message,
        "ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied request: failed expression: object.spec.replicas <= 5"
    );
    // Five replicas pass.
    let mut ok = Review::create(&deployment("default", 5, json!({})));
    ok.namespace_object = Some(ns);
    assert!(s.review_all(&ok, &Inventory::new()).violations.is_empty());
    // A namespace without the label is not selected.
    let mut other = Review::create(&deployment("default", 6, json!({})));
    other.namespace_object = Some(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "default", "labels": {"environment": "prod"}}}));
    assert!(s
        .review_all(&other, &Inventory::new())
        .violations
        .is_empty());
    // Another resource is not matched.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": {}});
    assert!(s
        .review_all(&Review::create(&pod), &Inventory::new())
        .violations
        .is_empty());
}

const PARAMS: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: "replicalimit-policy.example.com"
spec:
  failurePolicy: Fail
  paramKind:
    apiVersion: rules.example.com/v1
    kind: ReplicaLimit
  matchConstraints:
    resourceRules:
    - apiGroups:   ["apps"]
      apiVersions: ["v1"]
      operations:  ["CREATE", "UPDATE"]
      resources:   ["deployments"]
  validations:
    - expression: "object.spec.replicas <= params.maxReplicas"
      reason: Invalid
      messageExpression: "'object.spec.replicas must be no greater than ' + string(params.maxReplicas)"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: "replicalimit-binding-test.example.com"
spec:
  policyName: "replicalimit-policy.example.com"
  validationActions: [Deny]
  paramRef:
    name: "replica-limit-test.example.com"
    namespace: "default"
    parameterNotFoundAction: Deny
  matchResources:
    objectSelector:
      matchLabels:
        environment: test
---
apiVersion: rules.example.com/v1
kind: ReplicaLimit
metadata:
  name: "replica-limit-test.example.com"
  namespace: "default"
maxReplicas: 3
"#;

#[test]
fn params_example_uses_the_params_and_the_message_expression() {
    let s = set("params", PARAMS);
    let got = violations(
        &s,
        &deployment("default", 4, json!({"environment": "test"})),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0]
            .2
            .ends_with("denied request: object.spec.replicas must be no greater than 3"),
        "{}",
        got[0].2
    );
    assert!(violations(
        &s,
        &deployment("default", 3, json!({"environment": "test"}))
    )
    .is_empty());
    // The object selector does not select unlabelled objects.
    assert!(violations(&s, &deployment("default", 9, json!({}))).is_empty());
}

#[test]
fn missing_params_under_deny_is_an_error_and_under_allow_a_pass() {
    let text = PARAMS.replace(
        "name: \"replica-limit-test.example.com\"\n  namespace: \"default\"\nmaxReplicas",
        "name: \"other\"\n  namespace: \"default\"\nmaxReplicas",
    );
    let s = set("params-missing", &text);
    let out = s.review_all(
        &Review::create(&deployment("default", 1, json!({"environment": "test"}))),
        &Inventory::new(),
    );
    assert_eq!(out.errors.len(), 1, "{out:?}");
    assert_eq!(out.errors[0].kind, EvalErrorKind::Cel);
    assert!(
        out.errors[0].message.contains("no params found"),
        "{}",
        out.errors[0].message
    );
    let allow = text.replace(
        "parameterNotFoundAction: Deny",
        "parameterNotFoundAction: Allow",
    );
    let s = set("params-allow", &allow);
    assert!(violations(
        &s,
        &deployment("default", 9, json!({"environment": "test"}))
    )
    .is_empty());
}

fn policy(validations: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: p
spec:
{extra}  matchConstraints:
    resourceRules:
    - apiGroups: ["apps"]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["deployments"]
  validations:
{validations}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: b
spec:
  policyName: p
  validationActions: [Warn, Audit]
"#
    )
}

#[test]
fn message_expression_failure_falls_back_to_message() {
    let s = set(
        "fallback",
        &policy(
            "  - expression: \"object.spec.replicas < 2\"\n    message: too many\n    messageExpression: \"object.nope + 'x'\"\n",
            "",
        ),
    );
    let got = violations(&s, &deployment("a", 3, json!({})));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1, EnforcementAction::Warn);
    assert_eq!(
        got[0].2,
        "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': too many"
    );
}

#[test]
fn variables_and_match_conditions_are_evaluated_in_order() {
    let text = policy(
        "  - expression: \"variables.doubled <= 10\"\n",
        "  matchConditions:\n  - name: not-kube-system\n    expression: \"object.metadata.namespace != 'kube-system'\"\n  variables:\n  - name: replicas\n    expression: \"object.spec.replicas\"\n  - name: doubled\n    expression: \"variables.replicas * 2\"\n",
    );
    let s = set("variables", &text);
    assert_eq!(violations(&s, &deployment("a", 6, json!({}))).len(), 1);
    assert!(violations(&s, &deployment("a", 5, json!({}))).is_empty());
    assert!(violations(&s, &deployment("kube-system", 6, json!({}))).is_empty());
}

#[test]
fn runtime_error_and_cost_budget_are_errors_never_passes() {
    let s = set(
        "runtime",
        &policy("  - expression: \"object.spec.nope > 1\"\n", ""),
    );
    let out = s.review_all(
        &Review::create(&deployment("a", 1, json!({}))),
        &Inventory::new(),
    );
    assert!(out.violations.is_empty());
    assert_eq!(out.errors.len(), 1, "{out:?}");
    assert!(
        out.errors[0].message.contains("No such key: nope"),
        "{}",
        out.errors[0].message
    );
    let s = set(
        "budget",
        &policy(
            "  - expression: \"lists.range(2000).all(i, lists.range(2000).all(j, i != j || true))\"\n",
            "",
        ),
    );
    let out = s.review_all(
        &Review::create(&deployment("a", 1, json!({}))),
        &Inventory::new(),
    );
    assert_eq!(out.errors.len(), 1, "{out:?}");
    assert!(
        out.errors[0].message.contains("cost budget"),
        "{}",
        out.errors[0].message
    );
    // Under failurePolicy Ignore the API server admits; so does palisade.
    let s = set(
        "ignore",
        &policy(
            "  - expression: \"object.spec.nope > 1\"\n",
            "  failurePolicy: Ignore\n",
        ),
    );
    let out = s.review_all(
        &Review::create(&deployment("a", 1, json!({}))),
        &Inventory::new(),
    );
    assert!(out.errors.is_empty() && out.violations.is_empty());
}

#[test]
fn exclude_rules_wildcards_and_subresources_match_as_the_api_server() {
    let text = BASIC
        .replace(
            "      resources:   [\"deployments\"]",
            "      resources:   [\"*\"]\n    excludeResourceRules:\n    - apiGroups: [\"apps\"]\n      apiVersions: [\"*\"]\n      operations: [\"*\"]\n      resources: [\"statefulsets\"]",
        )
        .replace("  matchResources:\n    namespaceSelector:\n      matchLabels:\n        environment: test\n", "");
    let s = set("exclude", &text);
    assert_eq!(violations(&s, &deployment("a", 6, json!({}))).len(), 1);
    let mut sts = deployment("a", 6, json!({}));
    sts["kind"] = json!("StatefulSet");
    assert!(violations(&s, &sts).is_empty());
    // A rule for a subresource only does not match the resource itself.
    let sub = BASIC.replace("[\"deployments\"]", "[\"deployments/scale\"]");
    let s = set("subresource", &sub);
    let mut review = Review::create(&deployment("default", 6, json!({})));
    review.namespace_object =
        Some(json!({"metadata": {"name": "default", "labels": {"environment": "test"}}}));
    assert!(s
        .review_all(&review, &Inventory::new())
        .violations
        .is_empty());
}

#[test]
fn bad_input_is_reported_with_its_location() {
    let errors = load(
        "compile",
        &policy("  - expression: \"object.spec.replicas <=\"\n", ""),
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = errors[0].to_string();
    assert!(e.contains("policy.yaml:13:"), "{e}");
    assert!(
        e.contains("spec.validations[0].expression: compilation error"),
        "{e}"
    );
    let errors = load(
        "missing-policy",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: b\nspec:\n  policyName: nowhere\n  validationActions: [Deny]\n",
    )
    .unwrap_err();
    assert!(
        errors[0]
            .to_string()
            .contains("names policy \"nowhere\", which is not loaded"),
        "{errors:?}"
    );
}

/// The docs' type-checking example (typechecking.yaml): `object.replicas`
/// on Deployments is a field Deployments do not have, a warning at its
/// position; a policy matching two kinds is checked against each.
#[test]
fn fields_the_matched_kinds_do_not_have_are_warnings() {
    let policy = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: deploy-replica-policy.example.com\nspec:\n  matchConstraints:\n    resourceRules:\n    - apiGroups:   [apps]\n      apiVersions: [v1]\n      operations:  [CREATE, UPDATE]\n      resources:   [deployments, replicasets]\n  validations:\n  - expression: object.replicas > 1\n    message: must be replicated\n  - expression: object.spec.replicas > 1 && object.spec.template.spec.containers.all(c, has(c.securityContext))\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec: {policyName: deploy-replica-policy.example.com, validationActions: [Warn]}\n";
    let s = set("typecheck", policy);
    let w = s.warnings();
    let text: Vec<String> = w.iter().map(|e| e.message.clone()).collect();
    assert_eq!(
        text,
        [
            "warning: spec.validations[0].expression: undefined field 'replicas' (on Deployment)",
            "warning: spec.validations[0].expression: undefined field 'replicas' (on ReplicaSet)",
        ],
        "{w:?}"
    );
    // Line 13, the dot after `object` (the expression starts at column 17).
    assert_eq!((w[0].line, w[0].column), (13, 23));
}

/// `matchPolicy: Equivalent` (the default) matches a Deployment requested
/// through another API version that serves it; `Exact` does not.
#[test]
fn equivalent_match_policy_matches_other_versions_of_a_resource() {
    let policy = |match_policy: &str| {
        format!("apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: p}}\nspec:\n  matchConstraints:\n    {match_policy}\n    resourceRules:\n    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: [CREATE]\n      resources: [deployments]\n  validations:\n  - expression: 'false'\n    message: matched\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {{name: b}}\nspec: {{policyName: p, validationActions: [Deny]}}\n")
    };
    let old = json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "shop"}, "spec": {"replicas": 1}});
    let other = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "s", "namespace": "shop"}, "spec": {"replicas": 1}});
    let default = set("equivalent", &policy("matchPolicy: Equivalent"));
    assert_eq!(violations(&default, &old).len(), 1);
    assert!(violations(&default, &other).is_empty());
    let unset = set("equivalent-unset", &policy(""));
    assert_eq!(violations(&unset, &old).len(), 1);
    let exact = set("exact", &policy("matchPolicy: Exact"));
    assert!(violations(&exact, &old).is_empty());
    assert_eq!(
        violations(&exact, &deployment("shop", 1, json!({}))).len(),
        1
    );
}
