//! Arbitrary RBAC-shaped objects (right fields, any values, wrong shapes
//! included) and pods never make the analysis or its queries panic.

use std::sync::Arc;

use palisade_core::object::{objects_of, Content};
use palisade_core::{Node, ObjectRef, PodInfo};
use palisade_rbac::{analyze, Input};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Names that matter to RBAC, plus odd ones.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        Just(String::new()),
        Just("pods".to_string()),
        Just("pods/exec".to_string()),
        Just("*/scale".to_string()),
        Just("secrets".to_string()),
        Just("nodes/proxy".to_string()),
        Just("clusterroles".to_string()),
        Just("get".to_string()),
        Just("create".to_string()),
        Just("bind".to_string()),
        Just("impersonate".to_string()),
        Just("cluster-admin".to_string()),
        Just("admin".to_string()),
        Just("view".to_string()),
        Just("default".to_string()),
        Just("system:masters".to_string()),
        Just("system:unauthenticated".to_string()),
        Just("system:serviceaccounts:ns".to_string()),
        Just("system:serviceaccount:ns:sa".to_string()),
        Just("rbac.authorization.k8s.io/aggregate-to-view".to_string()),
        Just("/api/*".to_string()),
        "[a-z:/\"\\\\\n*.-]{0,12}",
    ]
}

/// Any value: usually a word, sometimes a list, map, number, bool or null.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        6 => word().prop_map(Value::String),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(|i| json!(i)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(word(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn list() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec(word().prop_map(Value::String), 0..4).prop_map(Value::Array),
        1 => value(),
    ]
}

fn rule() -> impl Strategy<Value = Value> {
    (list(), list(), list(), list(), list()).prop_map(|(v, g, r, n, u)| {
        json!({"verbs": v, "apiGroups": g, "resources": r, "resourceNames": n, "nonResourceURLs": u})
    })
}

fn subject() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just("User"),
            Just("Group"),
            Just("ServiceAccount"),
            Just("Robot")
        ],
        word(),
        prop::option::of(word()),
    )
        .prop_map(|(k, name, ns)| json!({"kind": k, "name": name, "namespace": ns}))
}

fn object() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![
        Just(("rbac.authorization.k8s.io/v1", "Role")),
        Just(("rbac.authorization.k8s.io/v1", "ClusterRole")),
        Just(("rbac.authorization.k8s.io/v1", "RoleBinding")),
        Just(("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")),
        Just(("v1", "ServiceAccount")),
        Just(("v1", "Namespace")),
    ];
    (
        kind,
        word(),
        prop::option::of(word()),
        prop_oneof![
            prop::collection::vec(rule(), 0..4).prop_map(Value::Array),
            value()
        ],
        prop_oneof![
            prop::collection::vec(subject(), 0..4).prop_map(Value::Array),
            value()
        ],
        (word(), word(), value(), value()),
    )
        .prop_map(
            |((api, kind), name, ns, rules, subjects, (rk, rn, labels, selectors))| {
                json!({
                    "apiVersion": api,
                    "kind": kind,
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "rules": rules,
                    "aggregationRule": {"clusterRoleSelectors": selectors},
                    "roleRef": {"kind": rk, "name": rn, "apiGroup": "rbac.authorization.k8s.io"},
                    "subjects": subjects,
                })
            },
        )
}

fn pod() -> impl Strategy<Value = PodInfo> {
    (word(), word(), any::<bool>()).prop_map(|(ns, sa, token)| PodInfo {
        object: Arc::new(ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some(ns.clone()),
            name: "p".into(),
        }),
        file: Arc::from("f.yaml"),
        line: 1,
        column: 1,
        namespace: ns,
        service_account: sa,
        token_mounted: token,
        images: Vec::new(),
        labels: Vec::new(),
        labels_pos: (1, 1),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_rbac_objects_never_panic(
        docs in prop::collection::vec(object(), 0..12),
        pods in prop::collection::vec(pod(), 0..6),
        queries in prop::collection::vec((word(), word(), prop::option::of(word())), 1..4),
    ) {
        let file: Arc<str> = Arc::from("fuzz.yaml");
        let mut objects = Vec::new();
        for d in &docs {
            if let Content::Objects(objs) = objects_of(&file, Node::from_json(d)) {
                objects.extend(objs);
            }
        }
        let a = analyze(&Input { objects: objects.into(), pods: pods.into() });
        for f in a.findings() {
            prop_assert!(f.rule.starts_with("rbac/") || f.rule == "input/conflicting-definition");
        }
        for (verb, resource, ns) in &queries {
            let _ = a.who_can(verb, resource, ns.as_deref());
            let _ = a.can(resource);
            let _ = a.can(&format!("ServiceAccount:{verb}:{resource}"));
        }
        for s in a.subjects() {
            let _ = a.effective_rules(&s);
        }
        let _ = a.paths();
        let _ = a.pod_paths().iter().map(ToString::to_string).count();
        let g = a.access_graph();
        for e in &g.edges {
            let known = |id: &str| g.nodes.iter().any(|n| n.id == id);
            prop_assert!(known(&e.from) && known(&e.to), "{:?}", e);
        }
    }
}
