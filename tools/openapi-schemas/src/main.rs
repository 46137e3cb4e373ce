//! Prints the compact field schemas of the kinds the CEL type checker knows.

use k8s_openapi::api::{apps::v1 as apps, batch::v1 as batch, core::v1 as core};
use schemars::SchemaGenerator;
use serde_json::{json, Map, Value};

/// Keeps what the type checker reads.
fn compact(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, val) in m {
                match k.as_str() {
                    "type" | "$ref" => {
                        out.insert(k.clone(), val.clone());
                    }
                    "items" | "additionalProperties" => {
                        out.insert(k.clone(), compact(val));
                    }
                    "properties" => {
                        let props: Map<String, Value> = val
                            .as_object()
                            .map(|p| p.iter().map(|(n, s)| (n.clone(), compact(s))).collect())
                            .unwrap_or_default();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    "allOf" | "anyOf" | "oneOf" => {
                        // A single-element allOf wraps a $ref.
                        if let Some(first) = val.as_array().and_then(|a| a.first()) {
                            for (k2, v2) in compact(first).as_object().cloned().unwrap_or_default() {
                                out.insert(k2, v2);
                            }
                        }
                    }
                    _ => {}
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn main() {
    let mut generator = SchemaGenerator::default();
    let mut kinds = Map::new();
    macro_rules! kind {
        ($name:expr, $t:ty) => {
            let s = generator.subschema_for::<$t>();
            kinds.insert($name.to_string(), compact(&serde_json::to_value(&s).unwrap()));
        };
    }
    kind!("Pod", core::Pod);
    kind!("PodTemplate", core::PodTemplate);
    kind!("ReplicationController", core::ReplicationController);
    kind!("Namespace", core::Namespace);
    kind!("ConfigMap", core::ConfigMap);
    kind!("Service", core::Service);
    kind!("Deployment", apps::Deployment);
    kind!("ReplicaSet", apps::ReplicaSet);
    kind!("StatefulSet", apps::StatefulSet);
    kind!("DaemonSet", apps::DaemonSet);
    kind!("Job", batch::Job);
    kind!("CronJob", batch::CronJob);
    let defs: Map<String, Value> = generator
        .definitions()
        .iter()
        .map(|(k, v)| (k.clone(), compact(v)))
        .collect();
    let out = json!({
        "source": "Kubernetes v1.37 OpenAPI definitions, from the k8s-openapi 0.29 crate (feature v1_37), compacted by tools/openapi-schemas",
        "kinds": kinds,
        "definitions": defs,
    });
    println!("{}", serde_json::to_string(&out).unwrap());
}
