//! The official YAML test suite (`corpora/yaml-test-suite` in the shared
//! data beside this repository, read in place): every valid case with a JSON
//! form loads to that JSON, every error case is an error, except for the
//! cases listed below where kubectl's reader (go-yaml, a port of libyaml,
//! with YAML 1.1 scalars) reads the input differently; each listed case is
//! asserted to behave as kubectl does, so the lists cannot go stale.

use std::path::PathBuf;

use palisade_core::loader::{load_str, Limits};
use serde_json::Value;

/// Error cases palisade accepts because, as libyaml (and so kubectl) does,
/// it checks no indentation inside flow collections or on quoted scalars'
/// continuation lines (`args: [` ... `]` at the key's column).
const KUBECTL_ACCEPTS: [(&str, &str); 3] = [
    (
        "9C9N",
        "flow sequence entries at the key's column; libyaml reads it",
    ),
    (
        "QB6E",
        "double-quoted scalar continued at the key's column; libyaml reads it",
    ),
    (
        "VJP3/00",
        "flow mapping content at the key's column; libyaml refuses this one for another \
         reason (a flow key whose `:` is on a later line), valid YAML 1.2 when indented (VJP3/01)",
    ),
];

/// Valid cases whose value differs under the YAML 1.1 scalar resolution
/// kubectl uses, with the value palisade (like kubectl) gives.
const YAML_1_1_VALUES: [(&str, &str); 1] = [(
    // Spec example 2.24: the plain key `y` is the boolean true in YAML 1.1.
    "C4HZ", "\"true\"",
)];

/// Valid cases with JSON whose documents palisade refuses on purpose, with
/// the reason: none of them is a Kubernetes manifest kubectl would apply.
const REFUSED: [(&str, &str); 0] = [];

fn suite() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/yaml-test-suite");
    dir.join("INDEX.jsonl").is_file().then_some(dir)
}

/// The JSON texts of an `in.json` file, in order (they are concatenated).
fn json_docs(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.expect("in.json is JSON"))
        .collect()
}

/// Numbers compared by value (`1.0` == `1`), objects without key order.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn listed<'a>(list: &'a [(&str, &str)], id: &str) -> Option<&'a str> {
    list.iter().find(|(i, _)| *i == id).map(|(_, v)| *v)
}

#[test]
fn yaml_test_suite() {
    let Some(root) = suite() else {
        panic!("the YAML test suite is not beside the repository (shared/corpora/yaml-test-suite)");
    };
    let index = std::fs::read_to_string(root.join("INDEX.jsonl")).unwrap();
    let limits = Limits::default();
    let (mut valid_pass, mut error_pass, mut differ) = (0, 0, 0);
    let mut failures = Vec::new();
    for line in index.lines() {
        let case: Value = serde_json::from_str(line).unwrap();
        let id = case["id"].as_str().unwrap();
        let dir = root.join(case["dir"].as_str().unwrap());
        let yaml = std::fs::read_to_string(dir.join("in.yaml")).unwrap();
        let loaded = load_str(&yaml, &limits);
        if case["error"].as_bool().unwrap() {
            match (listed(&KUBECTL_ACCEPTS, id), loaded.errors.is_empty()) {
                (None, false) => error_pass += 1,
                (Some(_), true) => differ += 1,
                (None, true) => failures.push(format!("{id}: error case accepted")),
                (Some(why), false) => failures.push(format!(
                    "{id}: kubectl accepts it ({why}); palisade refused it"
                )),
            }
            continue;
        }
        if !case["has_json"].as_bool().unwrap() {
            continue;
        }
        if let Some(d) = loaded.errors.first() {
            if listed(&REFUSED, id).is_none() {
                failures.push(format!(
                    "{id}: refused at {}:{}: {}",
                    d.pos.line, d.pos.col, d.message
                ));
            }
            continue;
        }
        // palisade leaves out empty documents (null), as kubectl does.
        let expected: Vec<Value> =
            json_docs(&std::fs::read_to_string(dir.join("in.json")).unwrap())
                .into_iter()
                .filter(|v| !v.is_null())
                .collect();
        let got: Vec<Value> = loaded.documents.iter().map(|d| d.root.to_json()).collect();
        let matches =
            got.len() == expected.len() && got.iter().zip(&expected).all(|(a, b)| same(a, b));
        match listed(&YAML_1_1_VALUES, id) {
            None if matches => valid_pass += 1,
            None => failures.push(format!("{id}: loaded {got:?}, expected {expected:?}")),
            Some(key) => {
                let has_key = got.iter().any(|d| d.to_string().contains(key));
                if !matches && has_key {
                    differ += 1;
                } else {
                    failures.push(format!(
                        "{id}: the YAML 1.1 value {key} was expected, got {got:?}"
                    ));
                }
            }
        }
    }
    println!(
        "YAML test suite: {valid_pass} valid cases load to their JSON, {error_pass} error cases refused, \
         {differ} cases read as kubectl reads them (listed), {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        valid_pass + error_pass > 300,
        "too few cases ran: {valid_pass} + {error_pass}"
    );
}
