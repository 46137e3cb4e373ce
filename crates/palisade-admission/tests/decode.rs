//! No body makes the webhook panic: arbitrary bytes and arbitrary JSON
//! through the request decoders and the evaluator.

use palisade_admission::review::Evaluator;
use palisade_admission::server::{decode_admission, decode_image_review};
use palisade_core::Policy;
use proptest::prelude::*;
use serde_json::{json, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-zA-Z0-9:/@._-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("privileged"),
            Just("containers"),
            Just("securityContext"),
            Just("image"),
            Just("spec"),
            Just("template"),
            Just("env"),
            Just("ALL"),
            Just("password")
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("spec".to_string()),
                    Just("containers".to_string()),
                    Just("initContainers".to_string()),
                    Just("ephemeralContainers".to_string()),
                    Just("securityContext".to_string()),
                    Just("image".to_string()),
                    Just("name".to_string()),
                    Just("template".to_string()),
                    Just("metadata".to_string()),
                    Just("env".to_string()),
                    Just("value".to_string()),
                    Just("volumes".to_string()),
                    "[a-z]{1,8}"
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn review(kind: &str, group: &str, object: Value, old: Value, op: &str) -> Value {
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u", "kind": {"group": group, "version": "v1", "kind": kind},
            "resource": {"group": group, "version": "v1", "resource": "x"},
            "namespace": "ns", "operation": op, "userInfo": {"username": "u"},
            "object": object, "oldObject": old, "dryRun": false}})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_admission(&bytes);
        let _ = decode_image_review(&bytes);
    }

    #[test]
    fn arbitrary_objects_are_decided_without_panic(
        obj in arb_json(),
        old in arb_json(),
        kind in prop_oneof![Just(("Pod", "")), Just(("Deployment", "apps")), Just(("CronJob", "batch")), Just(("Thing", "x.io"))],
        op in prop_oneof![Just("CREATE"), Just("UPDATE"), Just("DELETE")],
    ) {
        let eval = Evaluator::new(Policy::default());
        let mut obj = obj;
        if let Some(m) = obj.as_object_mut() {
            m.insert("metadata".into(), json!({"name": "n"}));
        }
        let body = serde_json::to_vec(&review(kind.0, kind.1, obj, old, op)).unwrap();
        if let Ok(req) = decode_admission(&body) {
            let d = eval.validate(&req);
            prop_assert_eq!(d.response.uid.as_str(), "u");
            let _ = eval.mutate(&req);
        }
    }
}

#[test]
fn truncated_real_review_is_an_error_at_every_length() {
    let body = serde_json::to_vec(&review(
        "Pod",
        "",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "nginx"}]}}),
        Value::Null,
        "CREATE",
    ))
    .unwrap();
    assert!(decode_admission(&body).is_ok());
    for n in 0..body.len() {
        assert!(
            decode_admission(&body[..n]).is_err(),
            "prefix of {n} bytes accepted"
        );
    }
}
