//! PolicyReport output against the upstream CRDs' OpenAPI schemas
//! (`tests/data/*-v1alpha2.schema.json`, from kubernetes-sigs/
//! wg-policy-prototypes; each file's `$comment` names its path and
//! commit). The API server prunes fields a structural schema does not
//! declare, so an unknown field fails here: it would be lost.

use std::sync::Arc;

use palisade_core::{Finding, InputError, ObjectRef, ScanReport, Severity};
use palisade_report::policyreport::{PolicyReports, MAX_RESULTS};
use serde_json::Value;

fn schema(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Validates `v` against the subset of OpenAPI v3 that CRD schemas use
/// (type, format int32/int64, enum, required, properties,
/// additionalProperties, items); unknown properties are errors.
fn validate(v: &Value, s: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(t) = s.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => match s.get("format").and_then(Value::as_str) {
                Some("int32") => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
                _ => v.is_i64() || v.is_u64(),
            },
            "number" => v.is_number(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: {v} is not {t}"));
            return;
        }
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            errors.push(format!("{at}: {v} not in {options:?}"));
        }
    }
    if let Some(map) = v.as_object() {
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !map.contains_key(r.as_str().unwrap()) {
                errors.push(format!("{at}: {r} is required"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        let extra = s.get("additionalProperties");
        let open = s.get("type").and_then(Value::as_str) == Some("object")
            && props.is_none()
            && extra.is_none();
        for (k, child) in map {
            match (props.and_then(|p| p.get(k)), extra) {
                (Some(cs), _) => validate(child, cs, &format!("{at}.{k}"), errors),
                (None, Some(es)) if es.is_object() => {
                    validate(child, es, &format!("{at}.{k}"), errors)
                }
                (None, _) if open => {}
                (None, _) => errors.push(format!(
                    "{at}: unknown field {k} (the API server would prune it)"
                )),
            }
        }
    }
    if let (Some(items), Some(is)) = (v.as_array(), s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(item, is, &format!("{at}[{i}]"), errors);
        }
    }
}

fn finding(ns: Option<&str>, kind: &str, severity: Severity, i: usize) -> Finding {
    Finding {
        rule: "pss/privileged",
        severity,
        message: format!("container \"app\" is privileged ({i})"),
        object: Arc::new(ObjectRef {
            api_version: "apps/v1".into(),
            kind: kind.into(),
            namespace: ns.map(str::to_string),
            name: format!("web-{i}"),
        }),
        container: Some("app".into()),
        path: "spec.template.spec.containers[0].securityContext.privileged".into(),
        file: "/apis/apps/v1/namespaces/shop/deployments/web".into(),
        line: 0,
        column: 0,
        remediation: "",
    }
}

#[test]
fn reports_match_the_upstream_crd_schemas_and_are_capped() {
    let mut reports = PolicyReports::new();
    let mut all = Vec::new();
    for (i, sev) in Severity::ALL.iter().enumerate() {
        all.push(finding(Some("shop"), "Deployment", *sev, i));
        all.push(finding(None, "Node", *sev, i));
    }
    // Past the cap in one namespace.
    for i in 0..MAX_RESULTS + 25 {
        all.push(finding(Some("big"), "Deployment", Severity::High, i));
    }
    reports.add(&all);
    let rest = ScanReport {
        errors: vec![InputError {
            file: "/api/v1/configmaps".into(),
            line: 0,
            column: 0,
            message: "cannot list configmaps: 403 Forbidden".into(),
        }],
        ..ScanReport::default()
    };
    let out = reports.reports(&rest);
    assert_eq!(out.len(), 3);
    let namespaced = schema("policyreport-v1alpha2.schema.json");
    let cluster = schema("clusterpolicyreport-v1alpha2.schema.json");
    for r in &out {
        let s = if r["kind"] == "ClusterPolicyReport" {
            &cluster
        } else {
            &namespaced
        };
        let mut errors = Vec::new();
        validate(r, s, "", &mut errors);
        assert!(errors.is_empty(), "{}: {errors:#?}", r["kind"]);
    }
    let big = out
        .iter()
        .find(|r| r["metadata"]["namespace"] == "big")
        .unwrap();
    assert_eq!(big["results"].as_array().unwrap().len(), MAX_RESULTS);
    assert_eq!(big["summary"]["fail"], MAX_RESULTS + 25);
    assert_eq!(
        big["metadata"]["annotations"]["palisade.dev/unlisted-results"],
        "25"
    );
    let cluster_report = out
        .iter()
        .find(|r| r["kind"] == "ClusterPolicyReport")
        .unwrap();
    assert_eq!(cluster_report["summary"]["error"], 1);
    assert_eq!(cluster_report["summary"]["warn"], 1, "the info finding");
    // The validator itself catches what the API server would prune or refuse.
    let mut errors = Vec::new();
    let mut bad = big.clone();
    bad["results"][0]["severity"] = "critical".into();
    bad["results"][1]["extra"] = "x".into();
    validate(&bad, &namespaced, "", &mut errors);
    assert_eq!(errors.len(), 2, "{errors:#?}");
}
