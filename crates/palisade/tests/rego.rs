//! Gatekeeper policies from the command line: `scan --policy` reports
//! constraint violations as `rego/<Kind>/<name>` findings at the object,
//! broken templates stop the scan with their file and line, and `verify`
//! runs gator suites.

mod common;

use common::{repo, run};
use serde_json::Value;

#[test]
fn scan_with_policy_reports_constraint_violations_at_the_object() {
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--policy",
        "examples/gatekeeper/template-requiredlabels.yaml",
        "--policy",
        "examples/gatekeeper/constraint-team-label.yaml",
        "examples/gatekeeper/cases/",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rego: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("rego/"))
        .collect();
    assert_eq!(rego.len(), 1, "{rego:?}");
    let f = rego[0];
    assert_eq!(f["rule"], "rego/K8sRequiredLabels/workloads-need-team");
    assert_eq!(f["object"]["name"], "orphan");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["line"], 1);
    assert!(f["file"].as_str().unwrap().ends_with("unlabelled.yaml"));
    assert!(f["message"].as_str().unwrap().contains("team label"));
}

#[test]
fn constraints_from_the_policy_file_are_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let gk = repo().join("examples/gatekeeper");
    std::fs::copy(
        gk.join("template-requiredlabels.yaml"),
        dir.path().join("t.yaml"),
    )
    .unwrap();
    std::fs::copy(
        gk.join("constraint-team-label.yaml"),
        dir.path().join("c.yaml"),
    )
    .unwrap();
    let policy = dir.path().join("palisade.yaml");
    std::fs::write(
        &policy,
        "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  constraints: [t.yaml, c.yaml]\n",
    )
    .unwrap();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--config",
        policy.to_str().unwrap(),
        "examples/gatekeeper/cases/unlabelled.yaml",
    ]);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(json
        .to_string()
        .contains("rego/K8sRequiredLabels/workloads-need-team"));
}

#[test]
fn a_template_that_does_not_compile_stops_the_scan_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sbroken\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sBroken\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: |\n      package k8sbroken\n      violation[{\"msg\": msg}] {\n        msg := \n      }\n",
    )
    .unwrap();
    let o = run(&[
        "scan",
        "--policy",
        bad.to_str().unwrap(),
        "examples/hardened/",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.yaml:"), "{err}");
}

#[test]
fn verify_runs_gator_suites_and_fails_on_a_failing_case() {
    let o = run(&["verify", "examples/gatekeeper/suite.yaml"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("2 passed, 0 failed"), "{out}");
    let o = run(&[
        "verify",
        "--format",
        "junit",
        "crates/palisade-rego/tests/fixtures/suites-failing/suite.yaml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let xml = String::from_utf8_lossy(&o.stdout);
    assert!(
        xml.contains("<testsuites") && xml.contains("<failure"),
        "{xml}"
    );
    let o = run(&["verify", "no/such/suite.yaml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn verify_run_selects_cases_and_selecting_none_is_an_error() {
    let o = run(&[
        "verify",
        "--run",
        "//^unlabelled$",
        "examples/gatekeeper/suite.yaml",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
    assert!(
        out.contains("unlabelled") && !out.contains(" labelled ("),
        "{out}"
    );
    // A failing suite passes when --run leaves its failing cases out.
    let failing = "crates/palisade-rego/tests/fixtures/suites-failing/suite.yaml";
    let all = run(&["verify", failing]);
    assert_eq!(all.status.code(), Some(1));
    let o = run(&["verify", "--run", "wrong-expectations//^passes$", failing]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("1 passed, 0 failed, 0 skipped"), "{out}");
    // The failing case names what it expected and what it got.
    let o = run(&["verify", "--run", "//expects-none", failing]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAIL  expects-none"), "{out}");
    assert!(out.contains("got 1 violations but want none"), "{out}");
    for (run_arg, code) in [("no-such-test", 2), ("(", 2)] {
        let o = run(&["verify", "-r", run_arg, failing]);
        assert_eq!(o.status.code(), Some(code), "--run {run_arg}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("--run"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn scan_with_a_validating_admission_policy_reports_its_denials() {
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--policy",
        "examples/vap/replicas-policy.yaml",
        "examples/vap/cases/",
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let vap: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"].as_str().unwrap().starts_with("vap/"))
        .collect();
    assert_eq!(vap.len(), 1, "{vap:?}");
    assert_eq!(vap[0]["rule"], "vap/replicalimit-policy.example.com");
    assert_eq!(vap[0]["object"]["name"], "large");
    assert_eq!(vap[0]["severity"], "high");
    assert_eq!(
        vap[0]["message"],
        "ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding 'replicalimit-binding.example.com' denied request: object.spec.replicas must be no greater than 3"
    );
}

/// `export vap` writes a policy that `scan --policy` evaluates: what the
/// exported policy denies is what the built-in rules report.
#[test]
fn an_exported_policy_denies_what_the_built_in_rules_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pss.yaml");
    let o = run(&[
        "export",
        "vap",
        "--level",
        "baseline",
        "--exclude-namespace",
        "kube-system",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let pod = dir.path().join("pod.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  hostPID: true\n  containers:\n  - name: c\n    image: nginx:1.27\n",
    )
    .unwrap();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--level",
        "baseline",
        "--policy",
        out.to_str().unwrap(),
        pod.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"pss/hostNamespaces"), "{rules:?}");
    let vap = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "vap/palisade-pss-baseline-latest-pods")
        .unwrap_or_else(|| panic!("{rules:?}"));
    assert_eq!(
        vap["message"],
        "ValidatingAdmissionPolicy 'palisade-pss-baseline-latest-pods' with binding 'palisade-pss-baseline-latest-pods' denied request: host namespaces: hostPID=true"
    );
    // Bad flags are usage errors.
    let o = run(&["export", "vap", "--action", "Deny", "--action", "Warn"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["export", "vap", "--level", "strict"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The example template carries Rego and CEL: `verify` passes through
/// either engine, and `scan --engine` picks the one that runs.
#[test]
fn verify_and_scan_run_either_engine_of_a_template_with_both() {
    for engine in ["rego", "cel", "auto"] {
        let o = run(&[
            "verify",
            "--engine",
            engine,
            "examples/gatekeeper/suite.yaml",
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{engine}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // A template whose engines word their message differently.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.yaml"),
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: k8sboth}\nspec:\n  crd: {spec: {names: {kind: K8sBoth}}}\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    code:\n    - engine: K8sNativeValidation\n      source:\n        validations: [{expression: 'false', message: from cel}]\n    - engine: Rego\n      source:\n        rego: |\n          package k8sboth\n          violation[{\"msg\": \"from rego\"}] { true }\n---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sBoth\nmetadata: {name: both}\nspec: {}\n",
    )
    .unwrap();
    let message = |engine: &str| -> String {
        let o = run(&[
            "scan",
            "--format",
            "json",
            "--engine",
            engine,
            "--policy",
            dir.path().join("t.yaml").to_str().unwrap(),
            "examples/gatekeeper/cases/unlabelled.yaml",
        ]);
        let json: Value = serde_json::from_slice(&o.stdout).unwrap();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "rego/K8sBoth/both")
            .map(|f| f["message"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(message("rego"), "from rego");
    assert_eq!(message("cel"), "from cel");
    assert_eq!(message("auto"), "from cel");
}

/// ValidatingAdmissionPolicies among the scanned files run without
/// --policy, and the scanned objects are the params of a --policy one.
#[test]
fn policies_and_params_among_the_scanned_files_are_used() {
    let o = run(&["scan", "--format", "json", "examples/vap/"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let vap: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "vap/replicalimit-policy.example.com")
        .collect();
    assert_eq!(vap.len(), 1, "{json:#}");
    assert_eq!(vap[0]["object"]["name"], "large");

    // The policy from --policy, its params (a ConfigMap) among the scanned files.
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: max-replicas}\nspec:\n  paramKind: {apiVersion: v1, kind: ConfigMap}\n  matchConstraints:\n    resourceRules: [{apiGroups: [apps], apiVersions: [v1], operations: [CREATE], resources: [deployments]}]\n  validations:\n  - expression: object.spec.replicas <= int(params.data.max)\n    messageExpression: \"'at most ' + params.data.max + ' replicas'\"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: max-replicas}\nspec:\n  policyName: max-replicas\n  validationActions: [Warn]\n  paramRef: {name: limits, parameterNotFoundAction: Deny}\n",
    )
    .unwrap();
    let inputs = dir.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    std::fs::write(
        inputs.join("all.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits, namespace: shop}\ndata: {max: \"2\"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 5\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: web, image: nginx:1.27}]\n",
    )
    .unwrap();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--policy",
        policy.to_str().unwrap(),
        inputs.to_str().unwrap(),
    ]);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    let found: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "vap/max-replicas")
        .collect();
    assert_eq!(found.len(), 1, "{json:#}");
    assert_eq!(found[0]["severity"], "medium");
    assert_eq!(
        found[0]["message"],
        "Validation failed for ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas': at most 2 replicas"
    );
}

/// `authorizer` answers from the scanned RBAC objects: a policy denies
/// Pods whose ServiceAccount may read Secrets.
#[test]
fn the_authorizer_answers_from_the_scanned_rbac_objects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("all.yaml"),
        r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: no-secret-readers}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  variables:
  - name: sa
    expression: "has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : 'default'"
  validations:
  - expression: "!authorizer.serviceAccount(object.metadata.namespace, variables.sa).group('').resource('secrets').namespace(object.metadata.namespace).check('get').allowed()"
    messageExpression: "'ServiceAccount ' + variables.sa + ' can read Secrets: ' + authorizer.serviceAccount(object.metadata.namespace, variables.sa).group('').resource('secrets').namespace(object.metadata.namespace).check('get').reason()"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: no-secret-readers}
spec: {policyName: no-secret-readers, validationActions: [Deny]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secret-reader, namespace: shop}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-reads, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secret-reader}
subjects: [{kind: ServiceAccount, name: reader, namespace: shop}]
---
apiVersion: v1
kind: Pod
metadata: {name: nosy, namespace: shop}
spec:
  serviceAccountName: reader
  containers: [{name: c, image: nginx:1.27}]
---
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: shop}
spec:
  serviceAccountName: web
  containers: [{name: c, image: nginx:1.27}]
"#,
    )
    .unwrap();
    let o = run(&["scan", "--format", "json", dir.path().to_str().unwrap()]);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(json["errors"].as_array().unwrap().is_empty(), "{json:#}");
    let found: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "vap/no-secret-readers")
        .collect();
    assert_eq!(found.len(), 1, "{json:#}");
    assert_eq!(found[0]["object"]["name"], "nosy");
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message
            .contains("ServiceAccount reader can read Secrets: RoleBinding \"shop/reader-reads\""),
        "{message}"
    );
}
