//! The evaluator directly, stage by stage: no server, no JSON on the wire.

use kube_core::admission::{AdmissionRequest, AdmissionReview};
use kube_core::DynamicObject;
use serde_json::{json, Value};

use super::*;

/// An AdmissionRequest as the API server sends it.
fn request(
    operation: &str,
    kind: (&str, &str, &str),
    namespace: &str,
    object: Value,
) -> AdmissionRequest<DynamicObject> {
    request_with(operation, kind, namespace, object, Value::Null, |_| {})
}

fn request_with(
    operation: &str,
    (group, version, kind): (&str, &str, &str),
    namespace: &str,
    object: Value,
    old: Value,
    tweak: impl FnOnce(&mut Value),
) -> AdmissionRequest<DynamicObject> {
    let mut review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u-1",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": "things"},
            "name": "",
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "alice", "groups": ["developers"]},
            "object": object,
            "oldObject": old,
            "dryRun": false
        }
    });
    tweak(&mut review["request"]);
    let review: AdmissionReview<DynamicObject> = serde_json::from_value(review).unwrap();
    review.try_into().unwrap()
}

const POD: (&str, &str, &str) = ("", "v1", "Pod");
const DEPLOYMENT: (&str, &str, &str) = ("apps", "v1", "Deployment");

fn privileged_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
            "securityContext": {"privileged": true}}]}})
}

fn deployment(privileged: bool, replicas: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                "securityContext": {"privileged": privileged}}]}}}})
}

fn evaluator(policy: Policy) -> Evaluator {
    Evaluator::new(policy)
}

#[test]
fn the_gate_says_why_there_is_nothing_to_check() {
    let r = |op, kind, obj| {
        Read::of(&request(op, kind, "shop", obj))
            .map(|_| ())
            .unwrap_err()
    };
    assert_eq!(r("DELETE", POD, privileged_pod()), Skip::NotChecked);
    assert_eq!(
        r(
            "CREATE",
            ("", "v1", "ConfigMap"),
            json!({"kind": "ConfigMap"})
        ),
        Skip::UnknownKind("v1 ConfigMap".into())
    );
    let status = request_with(
        "UPDATE",
        POD,
        "shop",
        privileged_pod(),
        privileged_pod(),
        |r| {
            r["subResource"] = json!("status");
        },
    );
    assert_eq!(Read::of(&status).map(|_| ()).unwrap_err(), Skip::NotChecked);
    let no_object = request_with("CREATE", POD, "shop", Value::Null, Value::Null, |_| {});
    assert_eq!(
        Read::of(&no_object).map(|_| ()).unwrap_err(),
        Skip::NoObject
    );
}

#[test]
fn identity_is_filled_from_the_request_once() {
    let req = request("CREATE", POD, "shop", privileged_pod());
    let r = Read::of(&req).unwrap();
    assert_eq!(
        r.name, "web-",
        "generateName when the request names nothing"
    );
    assert_eq!(r.json["metadata"]["namespace"], "shop");
    assert_eq!(r.object().id.namespace.as_deref(), Some("shop"));
    assert_eq!(r.images(), ["nginx:1.27"]);
}

#[test]
fn unknown_kinds_are_admitted_with_a_warning_or_denied_by_policy() {
    let req = request(
        "CREATE",
        ("example.com", "v1", "Widget"),
        "shop",
        json!({"kind": "Widget"}),
    );
    let d = evaluator(Policy::default()).validate(&req);
    assert_eq!((d.outcome, d.response.allowed), ("skip", true));
    assert!(d.response.warnings.unwrap()[0].contains("example.com/v1 Widget"));
    let mut policy = Policy::default();
    policy.admission.allow_unknown_kinds = false;
    let d = evaluator(policy).validate(&req);
    assert_eq!((d.outcome, d.response.allowed), ("deny", false));
    assert_eq!(d.response.result.code, 403);
}

#[test]
fn exemptions_by_user_group_namespace_and_runtime_class() {
    let req = request("CREATE", POD, "shop", privileged_pod());
    assert_eq!(evaluator(Policy::default()).validate(&req).outcome, "deny");
    let exempt = |f: fn(&mut Policy)| {
        let mut p = Policy::default();
        f(&mut p);
        evaluator(p).validate(&req).outcome
    };
    assert_eq!(
        exempt(|p| p.admission.exempt.usernames = vec!["alice".into()]),
        "exempt"
    );
    assert_eq!(
        exempt(|p| p.admission.exempt.groups = vec!["developers".into()]),
        "exempt"
    );
    assert_eq!(
        exempt(|p| p.admission.exempt.namespaces = vec!["sh*".into()]),
        "exempt"
    );
    assert_eq!(
        exempt(|p| p.admission.exempt.runtime_class_names = vec!["gvisor".into()]),
        "deny",
        "the pod names no runtime class"
    );
    let mut pod = privileged_pod();
    pod["spec"]["runtimeClassName"] = json!("gvisor");
    let mut p = Policy::default();
    p.admission.exempt.runtime_class_names = vec!["gvisor".into()];
    let d = evaluator(p).validate(&request("CREATE", POD, "shop", pod));
    assert_eq!(d.outcome, "exempt");
}

#[test]
fn an_update_that_keeps_the_template_is_allowed_even_if_it_violates() {
    let eval = evaluator(Policy::default());
    let scale = request_with(
        "UPDATE",
        DEPLOYMENT,
        "shop",
        deployment(true, 3),
        deployment(true, 1),
        |_| {},
    );
    let d = eval.validate(&scale);
    assert_eq!((d.outcome, d.response.allowed), ("allow", true));
    let change = request_with(
        "UPDATE",
        DEPLOYMENT,
        "shop",
        deployment(true, 1),
        deployment(false, 1),
        |_| {},
    );
    assert_eq!(eval.validate(&change).outcome, "deny");
}

#[test]
fn modes_decide_what_blocking_findings_do() {
    let req = request("CREATE", POD, "shop", privileged_pod());
    let with_mode = |mode: Mode| {
        let mut p = Policy::default();
        p.admission.default_mode = mode;
        evaluator(p).validate(&req)
    };
    let d = with_mode(Mode::Warn);
    assert_eq!((d.outcome, d.response.allowed), ("warn", true));
    let warnings = d.response.warnings.unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("[pss/privileged]")),
        "{warnings:?}"
    );
    let d = with_mode(Mode::Audit);
    assert_eq!((d.outcome, d.response.allowed), ("audit", true));
    let audit = &d.response.audit_annotations;
    assert!(audit["violations"].contains("pss/privileged"), "{audit:?}");
    assert_eq!(audit["mode"], "audit");
    assert!(d.rules.contains(&"pss/privileged"));
}

#[test]
fn a_dry_run_records_no_audit_annotations() {
    let req = request_with("CREATE", POD, "shop", privileged_pod(), Value::Null, |r| {
        r["dryRun"] = json!(true);
    });
    let mut p = Policy::default();
    p.admission.default_mode = Mode::Audit;
    let d = evaluator(p).validate(&req);
    assert_eq!(d.outcome, "audit");
    assert!(d.dry_run);
    assert!(d.response.audit_annotations.is_empty());
}

#[test]
fn pod_security_labels_set_the_enforced_level_and_add_warnings() {
    // A pod that passes baseline but not restricted.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
        "spec": {"automountServiceAccountToken": false,
            "containers": [{"name": "app", "image": "registry.example.com/app@sha256:6b3a8d5a3e9f4c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a3"}]}});
    let req = request("CREATE", POD, "legacy", pod);
    assert_eq!(evaluator(Policy::default()).validate(&req).outcome, "deny");
    let mut p = Policy::default();
    p.admission.namespace_labels.insert(
        "legacy".into(),
        [
            (
                "pod-security.kubernetes.io/enforce".to_string(),
                "baseline".to_string(),
            ),
            (
                "pod-security.kubernetes.io/warn".to_string(),
                "restricted".to_string(),
            ),
            (
                "pod-security.kubernetes.io/audit".to_string(),
                "restricted".to_string(),
            ),
        ]
        .into(),
    );
    let d = evaluator(p).validate(&req);
    assert!(
        d.response.allowed,
        "baseline enforced: {:?}",
        d.response.result
    );
    let warnings = d.response.warnings.unwrap_or_default();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("would violate PodSecurity \"restricted:latest\"")),
        "{warnings:?}"
    );
    assert!(
        d.response
            .audit_annotations
            .contains_key("pod-security-audit-restricted-latest"),
        "{:?}",
        d.response.audit_annotations
    );
}

#[test]
fn without_registry_checks_no_image_is_asked_about() {
    let req = request("CREATE", POD, "shop", privileged_pod());
    assert!(evaluator(Policy::default())
        .images_to_check(&req)
        .is_empty());
}

/// The Kubernetes docs' audit-annotation example: a ValidatingAdmissionPolicy's
/// `auditAnnotations` reach the response as `<policy>.<key>` (the API
/// server prefixes the webhook's name).
#[test]
fn a_validating_admission_policys_audit_annotations_are_in_the_response() {
    const POLICY: &str = "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: demo-policy.example.com\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: [CREATE, UPDATE]\n      resources: [deployments]\n  validations:\n  - expression: object.spec.replicas > 50\n    messageExpression: \"'Deployment spec.replicas set to ' + string(object.spec.replicas)\"\n  auditAnnotations:\n  - key: high-replica-count\n    valueExpression: \"object.spec.replicas > 50 ? 'Deployment spec.replicas set to ' + string(object.spec.replicas) : null\"\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: demo-binding.example.com}\nspec: {policyName: demo-policy.example.com, validationActions: [Audit]}\n";
    let dir = std::env::temp_dir().join(format!("palisade-vap-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("p.yaml");
    std::fs::write(&f, POLICY).unwrap();
    let set = palisade_rego::PolicySet::load(&[f]).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let ev = evaluator(Policy::default()).with_constraints(Some(Arc::new(set)));
    let key = "demo-policy.example.com.high-replica-count";
    let d = ev.validate(&request(
        "CREATE",
        ("apps", "v1", "Deployment"),
        "shop",
        deployment(false, 128),
    ));
    assert_eq!(
        d.response.audit_annotations.get(key).map(String::as_str),
        Some("Deployment spec.replicas set to 128"),
        "{:?}",
        d.response.audit_annotations
    );
    let d = ev.validate(&request(
        "CREATE",
        ("apps", "v1", "Deployment"),
        "shop",
        deployment(false, 3),
    ));
    assert!(!d.response.audit_annotations.contains_key(key));
}
