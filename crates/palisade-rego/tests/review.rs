//! Reviewing objects against the fixture templates and constraints: match
//! blocks, parameters, libs, inventory, UPDATE reviews, enforcement actions
//! and evaluation errors.

use std::path::PathBuf;

use palisade_rego::{EnforcementAction, EvalErrorKind, Inventory, PolicySet, Review};
use serde_json::{json, Value};

fn fixtures(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
}

fn policies() -> PolicySet {
    match PolicySet::load(&[fixtures("policies")]) {
        Ok(set) => set,
        Err(errors) => panic!("{errors:#?}"),
    }
}

fn pod(ns: &str, containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns}, "spec": {"containers": containers}})
}

fn ids(set: &PolicySet, review: &Review, inv: &Inventory) -> Vec<String> {
    match set.review(review, inv) {
        Ok(vs) => vs.iter().map(|v| v.rule_id()).collect(),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn fixture_policies_load_with_every_constraint() {
    let set = policies();
    assert_eq!(set.constraints().len(), 7);
    let mut kinds = set.template_kinds();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "K8sAllowedRepos",
            "K8sImmutableLabels",
            "K8sPSPHostNamespace",
            "K8sPSPPrivilegedContainer",
            "K8sRequiredLabels",
            "K8sUniqueIngressHost"
        ]
    );
    assert!(!set.is_empty());
}

#[test]
fn privileged_container_is_denied_with_its_details() {
    let set = policies();
    let p = pod(
        "default",
        json!([{"name": "app", "image": "nginx", "securityContext": {"privileged": true}}]),
    );
    let vs = set
        .review(&Review::create(&p), &Inventory::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(
        vs[0].rule_id(),
        "rego/K8sPSPPrivilegedContainer/no-privileged"
    );
    assert_eq!(vs[0].message, "privileged container app is not allowed");
    assert_eq!(vs[0].details, json!({"container": "app"}));
    assert_eq!(vs[0].action, EnforcementAction::Deny);
}

#[test]
fn privileged_init_container_is_denied_and_unprivileged_pod_passes() {
    let set = policies();
    let p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
        "spec": {"initContainers": [{"name": "init", "image": "busybox", "securityContext": {"privileged": true}}],
                 "containers": [{"name": "app", "image": "nginx"}]}});
    assert_eq!(
        ids(&set, &Review::create(&p), &Inventory::new()),
        ["rego/K8sPSPPrivilegedContainer/no-privileged"]
    );
    let ok = pod(
        "default",
        json!([{"name": "app", "image": "nginx", "securityContext": {"privileged": false}}]),
    );
    assert!(ids(&set, &Review::create(&ok), &Inventory::new()).is_empty());
}

#[test]
fn host_namespace_pod_is_denied_once_whichever_namespace_it_shares() {
    let set = policies();
    let mut p = pod("default", json!([{"name": "app", "image": "nginx"}]));
    p["spec"]["hostPID"] = json!(true);
    p["spec"]["hostIPC"] = json!(true);
    let vs = set
        .review(&Review::create(&p), &Inventory::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(
        vs[0].rule_id(),
        "rego/K8sPSPHostNamespace/no-host-namespaces"
    );
    assert_eq!(
        vs[0].message,
        "sharing the host namespace is not allowed: p"
    );
}

#[test]
fn excluded_namespace_glob_skips_the_constraint() {
    let set = policies();
    let p = pod(
        "kube-system",
        json!([{"name": "app", "image": "nginx", "securityContext": {"privileged": true}}]),
    );
    assert!(ids(&set, &Review::create(&p), &Inventory::new()).is_empty());
}

#[test]
fn exempt_image_from_the_lib_is_not_reported() {
    let set = policies();
    let p = pod(
        "default",
        json!([{"name": "pause", "image": "registry.k8s.io/pause:3.9", "securityContext": {"privileged": true}}]),
    );
    assert!(ids(&set, &Review::create(&p), &Inventory::new()).is_empty());
}

#[test]
fn allowed_repos_parameters_apply_only_in_matching_namespaces() {
    let set = policies();
    let containers = json!([{"name": "app", "image": "docker.io/nginx"}, {"name": "ok", "image": "registry.example.com/app:1"}]);
    let vs = set
        .review(
            &Review::create(&pod("prod-eu", containers.clone())),
            &Inventory::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(vs[0].rule_id(), "rego/K8sAllowedRepos/prod-repos");
    assert!(
        vs[0]
            .message
            .contains("container app uses image docker.io/nginx"),
        "{}",
        vs[0].message
    );
    assert!(ids(
        &set,
        &Review::create(&pod("dev", containers)),
        &Inventory::new()
    )
    .is_empty());
}

fn deployment(labels: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop", "labels": labels},
           "spec": {"template": {"spec": {"containers": []}}}})
}

#[test]
fn label_selector_and_warn_action_for_required_labels() {
    let set = policies();
    let vs = set
        .review(
            &Review::create(&deployment(json!({"tier": "web"}))),
            &Inventory::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(
        vs[0].rule_id(),
        "rego/K8sRequiredLabels/deployments-have-owner"
    );
    assert_eq!(vs[0].action, EnforcementAction::Warn);
    assert_eq!(vs[0].message, "missing required labels: owner");
    assert_eq!(vs[0].details, json!({"missing_labels": ["owner"]}));
    // Not selected: tier is not web or api.
    assert!(ids(
        &set,
        &Review::create(&deployment(json!({"tier": "batch"}))),
        &Inventory::new()
    )
    .is_empty());
    // The allowedRegex check.
    let vs = set
        .review(
            &Review::create(&deployment(json!({"tier": "api", "owner": "Bob"}))),
            &Inventory::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(vs[0].message, "label owner=Bob does not match ^[a-z]+$");
}

#[test]
fn name_glob_and_dryrun_with_custom_message() {
    let set = policies();
    let ns =
        |name: &str| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    let vs = set
        .review(&Review::create(&ns("team-a")), &Inventory::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(vs[0].action, EnforcementAction::Dryrun);
    assert_eq!(vs[0].message, "every team namespace needs a team label");
    assert!(ids(&set, &Review::create(&ns("default")), &Inventory::new()).is_empty());
}

fn ingress(ns: &str, name: &str, host: &str) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": ns},
           "spec": {"rules": [{"host": host}]}})
}

#[test]
fn referential_template_reads_other_objects_from_the_inventory() {
    let set = policies();
    let mine = ingress("shop", "web", "shop.example.com");
    let mut inv = Inventory::new();
    for o in [&mine, &ingress("blog", "blog", "blog.example.com")] {
        inv.add(o).unwrap_or_else(|e| panic!("{e}"));
    }
    // Only itself uses the host: reviewed as a CREATE it is not in the inventory yet.
    assert!(ids(&set, &Review::create(&mine), &inv).is_empty());
    inv.add(&ingress("other", "dup", "shop.example.com"))
        .unwrap_or_else(|e| panic!("{e}"));
    let vs = set
        .review(&Review::create(&mine), &inv)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(
        vs[0].message,
        "ingress host shop.example.com is already used by ingress other/dup"
    );
}

#[test]
fn create_review_does_not_see_itself_in_the_inventory() {
    // A template without the usual self-exclusion would flag the object
    // against itself if the CREATE review saw it in data.inventory.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("self-inventory");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("t.yaml"),
        r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sseen}
spec:
  crd: {spec: {names: {kind: K8sSeen}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package seen
      violation[{"msg": "seen"}] {
        data.inventory.namespace[input.review.object.metadata.namespace]["v1"]["ConfigMap"][input.review.object.metadata.name]
      }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sSeen
metadata: {name: seen}
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let set = PolicySet::load(&[dir]).unwrap_or_else(|e| panic!("{e:?}"));
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}});
    let mut inv = Inventory::new();
    inv.add(&cm).unwrap_or_else(|e| panic!("{e}"));
    assert!(ids(&set, &Review::create(&cm), &inv).is_empty());
    // An UPDATE reviews an object that exists: it is in the inventory.
    assert_eq!(
        ids(&set, &Review::of_object(&cm, "UPDATE"), &inv),
        ["rego/K8sSeen/seen"]
    );
}

fn update_review(old_owner: &str, new_owner: Option<&str>) -> Value {
    let labels = |o: Option<&str>| match o {
        Some(o) => json!({"tier": "batch", "owner": o}),
        None => json!({"tier": "batch"}),
    };
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "7d1c", "operation": "UPDATE",
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "name": "web", "namespace": "shop",
        "userInfo": {"username": "alice", "groups": ["devs"]},
        "object": deployment(labels(new_owner)),
        "oldObject": deployment(labels(Some(old_owner)))}})
}

#[test]
fn update_review_sees_old_object_and_user() {
    let set = policies();
    let review = Review::from_admission_review(&update_review("team-a", Some("team-b")))
        .unwrap_or_else(|| panic!("not a review"));
    assert_eq!(review.operation, "UPDATE");
    let vs = set
        .review(&review, &Inventory::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(
        vs[0].message,
        "label owner may not change (team-a -> team-b, by alice)"
    );
    let removed = Review::from_admission_review(&update_review("team-a", None))
        .unwrap_or_else(|| panic!("not a review"));
    let vs = set
        .review(&removed, &Inventory::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        vs[0].message,
        "label owner may not change (team-a -> <removed>, by alice)"
    );
    let same = Review::from_admission_review(&update_review("team-a", Some("team-a")))
        .unwrap_or_else(|| panic!("not a review"));
    assert!(ids(&set, &same, &Inventory::new()).is_empty());
    // The same object as a CREATE is not an update.
    assert!(ids(
        &set,
        &Review::create(&deployment(json!({"owner": "x"}))),
        &Inventory::new()
    )
    .is_empty());
}

fn write_policy(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("policy.yaml");
    std::fs::write(&f, text).unwrap_or_else(|e| panic!("{e}"));
    f
}

#[test]
fn rego_runtime_error_is_an_error_naming_the_template_line() {
    let f = write_policy(
        "runtime-error",
        r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sbroken
spec:
  crd:
    spec:
      names:
        kind: K8sBroken
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package broken

        violation[{"msg": msg}] {
          name := input.review.object.metadata.name
          msg := sprintf("%v is %v", [name, to_number(name)])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sBroken
metadata:
  name: broken
"#,
    );
    let set = PolicySet::load(std::slice::from_ref(&f)).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(set.templates_on_vm(), 1);
    let err = match set.review(&Review::create(&pod("a", json!([]))), &Inventory::new()) {
        Err(e) => e,
        Ok(v) => panic!("no error: {v:?}"),
    };
    assert_eq!(err.kind, EvalErrorKind::Rego);
    assert_eq!(err.rule_id(), "rego/K8sBroken/broken");
    let expected = format!("{}:17:", f.display());
    assert!(err.message.starts_with(&expected), "{}", err.message);
    assert!(
        err.message.contains("could not parse string as number"),
        "{}",
        err.message
    );
}

const NS_SELECTOR_POLICY: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sdenyall
spec:
  crd:
    spec:
      names:
        kind: K8sDenyAll
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package denyall

        ns_name = n {
          n := input.review._unstable.namespace.metadata.name
        }

        ns_name = "none" {
          not input.review._unstable.namespace
        }

        violation[{"msg": sprintf("denied in %v", [ns_name])}] {
          true
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDenyAll
metadata:
  name: restricted-namespaces
spec:
  match:
    namespaceSelector:
      matchLabels:
        restricted: "true"
"#;

#[test]
fn namespace_selector_reads_the_namespace_from_the_inventory() {
    let set = PolicySet::load(&[write_policy("ns-selector", NS_SELECTOR_POLICY)])
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut inv = Inventory::new();
    for (name, restricted) in [("locked", "true"), ("open", "false")] {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"restricted": restricted}}});
        inv.add(&ns).unwrap_or_else(|e| panic!("{e}"));
    }
    let vs = set
        .review(&Review::create(&pod("locked", json!([]))), &inv)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(vs[0].message, "denied in locked");
    assert!(ids(&set, &Review::create(&pod("open", json!([]))), &inv).is_empty());
    // Cluster-scoped objects other than Namespaces are matched, as in Gatekeeper.
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}});
    let vs = set
        .review(&Review::create(&role), &inv)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(vs.len(), 1);
    assert_eq!(vs[0].message, "denied in none");
}

#[test]
fn namespace_selector_without_the_namespace_is_an_error_not_a_pass() {
    let set = PolicySet::load(&[write_policy("ns-selector-missing", NS_SELECTOR_POLICY)])
        .unwrap_or_else(|e| panic!("{e:?}"));
    let outcome = set.review_all(
        &Review::create(&pod("unknown", json!([]))),
        &Inventory::new(),
    );
    assert!(outcome.violations.is_empty());
    assert_eq!(outcome.errors.len(), 1);
    assert_eq!(outcome.errors[0].kind, EvalErrorKind::Match);
    assert!(
        outcome.errors[0].message.contains("\"unknown\""),
        "{}",
        outcome.errors[0].message
    );
    // The webhook may hand the Namespace in with the review.
    let mut review = Review::create(&pod("unknown", json!([])));
    review.namespace_object = Some(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "unknown", "labels": {"restricted": "true"}}}),
    );
    assert_eq!(
        ids(&set, &review, &Inventory::new()),
        ["rego/K8sDenyAll/restricted-namespaces"]
    );
}

#[test]
fn reviews_from_many_threads_agree() {
    let set = std::sync::Arc::new(policies());
    let inv = std::sync::Arc::new(Inventory::new());
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (set, inv) = (set.clone(), inv.clone());
            std::thread::spawn(move || {
                let mut count = 0;
                for j in 0..100 {
                    let privileged = (i + j) % 2 == 0;
                    let p = pod("default", json!([{"name": "c", "image": "nginx", "securityContext": {"privileged": privileged}}]));
                    let vs = set.review(&Review::create(&p), &inv).unwrap_or_else(|e| panic!("{e}"));
                    assert_eq!(vs.len(), usize::from(privileged));
                    count += vs.len();
                }
                count
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    assert_eq!(total, 400);
}
