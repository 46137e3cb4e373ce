//! OPA's behaviour on the constructs where regorus 0.14 differed from it
//! (patches/regorus), each in a ConstraintTemplate, and templates written
//! for these tests in the general and pod-security-policy styles (multi-body
//! rules, libs, inventory, parameters with defaults, UPDATE reviews with
//! oldObject, messages with sprintf).
//!
//! Every case runs twice: on regorus's VM (how palisade evaluates) and on
//! its interpreter (`PolicySet::use_interpreter`); both must give OPA's
//! answer. The same comparison runs over the fixture templates and the
//! examples at the end.

use std::path::PathBuf;

use palisade_rego::{EnginePreference, Inventory, PolicySet, Review};
use serde_json::{json, Value};

fn fixture(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

/// The set on the VM and the same set on the interpreter.
fn both(path: PathBuf) -> [PolicySet; 2] {
    // Rego even where a template also has CEL (the example has both).
    let vm = match PolicySet::load_with(&[path], EnginePreference::Rego) {
        Ok(set) => set,
        Err(errors) => panic!("{errors:#?}"),
    };
    assert!(vm.templates_on_vm() > 0, "no template runs on the VM");
    let mut interpreter = vm.clone();
    interpreter.use_interpreter();
    assert_eq!(interpreter.templates_on_vm(), 0);
    [vm, interpreter]
}

/// Each violation as `constraint name: message`, sorted; panics on an
/// evaluation error. Both engines must agree.
fn messages(sets: &[PolicySet; 2], review: &Review, inv: &Inventory) -> Vec<String> {
    let [a, b] = sets.each_ref().map(|set| {
        let mut out: Vec<String> = match set.review(review, inv) {
            Ok(vs) => vs
                .iter()
                .map(|v| format!("{}: {}", v.constraint_name, v.message))
                .collect(),
            Err(e) => panic!("{e}"),
        };
        out.sort();
        out
    });
    assert_eq!(a, b, "the VM and the interpreter disagree");
    a
}

fn pod(ns: &str, containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
        "spec": {"containers": containers}})
}

#[test]
fn multi_body_set_rules_contribute_every_body() {
    let sets = both(fixture("compat/multibody.yaml"));
    let p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox", "securityContext": {"privileged": true}}],
            "containers": [
                {"name": "app", "image": "nginx", "securityContext": {"allowPrivilegeEscalation": true}},
                {"name": "ok", "image": "nginx"}]}});
    assert_eq!(
        messages(&sets, &Review::create(&p), &Inventory::new()),
        [
            "no-escalation: container app allows privilege escalation",
            "no-escalation: container init is privileged",
        ]
    );
    let fine = pod("a", json!([{"name": "ok", "image": "nginx"}]));
    assert!(messages(&sets, &Review::create(&fine), &Inventory::new()).is_empty());
}

#[test]
fn else_on_a_multi_body_set_rule_is_still_refused() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compat-else");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("t.yaml");
    let text = std::fs::read_to_string(fixture("compat/multibody.yaml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replacen(
            "        } {\n          c := containers[_]",
            "        } else {\n          c := containers[_]",
            1,
        );
    std::fs::write(&f, text).unwrap_or_else(|e| panic!("{e}"));
    let errors = match PolicySet::load(&[f]) {
        Ok(_) => panic!("else on a set rule was accepted"),
        Err(e) => e,
    };
    assert!(
        errors[0]
            .message
            .contains("else cannot be used with set rules"),
        "{errors:?}"
    );
    // file:line:col of the `else` body.
    assert_eq!((errors[0].line, errors[0].column), (24, 11), "{errors:?}");
}

#[test]
fn a_line_starting_with_a_parenthesis_is_a_new_literal() {
    let sets = both(fixture("compat/replicas.yaml"));
    let deploy = |replicas: u32| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "a"},
            "spec": {"replicas": replicas}})
    };
    let inv = Inventory::new();
    assert!(messages(&sets, &Review::create(&deploy(3)), &inv).is_empty());
    // 4 replicas: over the default of 3 only.
    assert_eq!(
        messages(&sets, &Review::create(&deploy(4)), &inv),
        ["default-limit: 4 replicas, 1 more than the 3 allowed"]
    );
    assert_eq!(
        messages(&sets, &Review::create(&deploy(7)), &inv),
        [
            "at-most-five: 7 replicas, 2 more than the 5 allowed",
            "default-limit: 7 replicas, 4 more than the 3 allowed",
        ]
    );
}

#[test]
fn not_over_an_undefined_operand_is_undefined_as_in_opa() {
    let sets = both(fixture("compat/negation.yaml"));
    let inv = Inventory::new();
    let containers = json!([
        {"name": "web", "image": "nginx", "securityContext": {"runAsUser": 1000}},
        {"name": "db", "image": "postgres", "securityContext": {"runAsUser": 0}},
        {"name": "job", "image": "busybox"}]);
    // With the parameter: only images outside the list; and `not
    // runAsUser == 0` holds where runAsUser is set and not 0 (a container
    // without it has an undefined operand, so the body fails).
    assert_eq!(
        messages(
            &sets,
            &Review::create(&pod("listed", containers.clone())),
            &inv
        ),
        [
            "with-list: container db is not exempt",
            "with-list: container job is not exempt",
            "with-list: container web does not run as root",
        ]
    );
    // Without it, `input.parameters.exemptImages` is undefined: OPA gives no
    // violation (regorus read `not f(x, undefined)` as true: three).
    assert_eq!(
        messages(&sets, &Review::create(&pod("unlisted", containers)), &inv),
        ["without-list: container web does not run as root"]
    );
}

#[test]
fn sprintf_with_missing_or_extra_arguments_renders_as_go() {
    let sets = both(fixture("compat/sprintf.yaml"));
    let inv = Inventory::new();
    let cm = |labels: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "team", "labels": labels}})
    };
    assert_eq!(
        messages(&sets, &Review::create(&cm(json!({}))), &inv),
        ["owner: cfg in team has no owner label (set by %!v(MISSING))"]
    );
    assert_eq!(
        messages(&sets, &Review::create(&cm(json!({"owner": ""}))), &inv),
        ["owner: empty owner%!(EXTRA string=cfg, int=2)"]
    );
    assert!(messages(&sets, &Review::create(&cm(json!({"owner": "me"}))), &inv).is_empty());
}

#[test]
fn inventory_and_update_reviews_with_old_object() {
    let sets = both(fixture("compat/inventory-update.yaml"));
    let svc = |ty: &str, app: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"type": ty, "selector": {"app": app}}})
    };
    let mut inv = Inventory::new();
    for (ns, app) in [("shop", "web"), ("other", "api")] {
        let p = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{app}-1"), "namespace": ns, "labels": {"app": app, "tier": "x"}}});
        inv.add(&p).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(messages(&sets, &Review::create(&svc("ClusterIP", "web")), &inv).is_empty());
    // The only `api` pod is in another namespace.
    assert_eq!(
        messages(&sets, &Review::create(&svc("ClusterIP", "api")), &inv),
        ["services: service web selects no pod"]
    );
    let mut update = Review::of_object(&svc("LoadBalancer", "web"), "UPDATE");
    update.old_object = Some(svc("ClusterIP", "web"));
    assert_eq!(
        messages(&sets, &update, &inv),
        ["services: service type may not change from ClusterIP to LoadBalancer"]
    );
    // A CREATE has no oldObject: the second rule does not apply.
    assert!(messages(&sets, &Review::create(&svc("LoadBalancer", "web")), &inv).is_empty());
}

/// The VM and the interpreter agree on every fixture template and the
/// example, over objects that violate and objects that pass.
#[test]
fn vm_and_interpreter_agree_on_the_fixture_templates() {
    let sets = both(fixture("policies"));
    let inv = {
        let mut inv = Inventory::new();
        for i in 0..3 {
            let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": format!("i{i}"), "namespace": "default"},
                "spec": {"rules": [{"host": format!("h{i}.example.com")}]}});
            inv.add(&ing).unwrap_or_else(|e| panic!("{e}"));
        }
        inv
    };
    let objects = [
        pod(
            "default",
            json!([{"name": "a", "image": "nginx", "securityContext": {"privileged": true}}]),
        ),
        pod(
            "kube-system",
            json!([{"name": "a", "image": "registry.k8s.io/pause:3.9"}]),
        ),
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "h", "namespace": "default"},
            "spec": {"hostPID": true, "hostNetwork": true, "containers": [{"name": "c", "image": "ghcr.io/acme/c:1"}]}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default", "labels": {"app": "x"}},
            "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "docker.io/library/nginx:1"}]}}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "new", "namespace": "default"},
            "spec": {"rules": [{"host": "h1.example.com"}, {"host": "fresh.example.com"}]}}),
    ];
    let mut seen = 0;
    for o in &objects {
        seen += messages(&sets, &Review::create(o), &inv).len();
    }
    // Privileged, host namespace and unique Ingress host: one each.
    assert_eq!(seen, 3);
    let example = both(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/gatekeeper"));
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"}});
    messages(&example, &Review::create(&d), &Inventory::new());
}

/// The time limit stops a runaway template on the VM (its instruction
/// limit is lifted) as on the interpreter: an error, never a pass.
#[test]
fn the_time_limit_stops_a_runaway_template_on_both_engines() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compat-runaway");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("t.yaml");
    std::fs::write(
        &f,
        r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sslow
spec:
  crd:
    spec:
      names:
        kind: K8sSlow
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sslow

        violation[{"msg": "never"}] {
          x := numbers.range(1, 5000)[_]
          y := numbers.range(1, 5000)[_]
          x * y == -1
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sSlow
metadata:
  name: slow
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for mut set in both(f) {
        set.set_eval_timeout(std::time::Duration::from_millis(100));
        let start = std::time::Instant::now();
        match set.review(&Review::create(&pod("a", json!([]))), &Inventory::new()) {
            Err(e) => assert!(e.message.to_lowercase().contains("time"), "{}", e.message),
            Ok(v) => panic!("a runaway template passed: {v:?}"),
        }
        // Both engines stop (the VM's error is re-evaluated by the
        // interpreter for its position, which stops at its own limit).
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
    }
}
