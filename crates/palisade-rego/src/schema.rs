//! Validation of a constraint's `spec.parameters` against its template's
//! `openAPIV3Schema`, as the API server validates the generated CRD.
//!
//! Written by hand because the parameters must be checked on the
//! position-keeping [`Node`] tree (errors point at the offending line), and
//! the JSON Schema crates work on `serde_json` values and implement JSON
//! Schema drafts rather than the Kubernetes OpenAPI v3 dialect
//! (`nullable`, `x-kubernetes-int-or-string`). The subset: `type`,
//! `properties`, `additionalProperties`, `items`, `required`, `enum`,
//! `nullable`, `pattern`, `minimum`/`maximum`, `minLength`/`maxLength`,
//! `minItems`/`maxItems`, `x-kubernetes-int-or-string`. Unknown fields are
//! kept, as gator keeps them (the API server would prune them).

use palisade_core::node::{render_path, Seg};
use palisade_core::{Node, Pos, Value};
use serde_json::Value as Json;

/// One parameter that does not fit the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemaError {
    /// Where the offending value (or its key) is written.
    pub pos: Pos,
    /// What is wrong, naming the field path.
    pub message: String,
}

/// Validates `node` (written at `pos`, at field path `path`) against `schema`.
pub(crate) fn validate(
    schema: &Json,
    node: &Node,
    pos: Pos,
    path: &mut Vec<Seg>,
) -> Vec<SchemaError> {
    let mut out = Vec::new();
    check(schema, node, pos, path, &mut out);
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Float(_) => "number",
        Value::Str(_) => "string",
        Value::Seq(_) => "array",
        Value::Map(_) => "object",
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Checks `node` (at `pos`, reached by `path`) against `schema`, appending
/// what is wrong to `out`: its type, then `enum`, then the constraints of
/// its type, recursing into arrays and objects.
fn check(schema: &Json, node: &Node, pos: Pos, path: &mut Vec<Seg>, out: &mut Vec<SchemaError>) {
    let Some(s) = schema.as_object() else {
        return;
    };
    // The API server drops nulls of non-nullable fields rather than
    // rejecting them; either way the template never sees a wrong type.
    if matches!(node.value, Value::Null) {
        return;
    }
    // Errors of this value come before those of its items and fields.
    let flush = |errors: Vec<String>, path: &[Seg], out: &mut Vec<SchemaError>| {
        let field = render_path(path);
        out.extend(errors.into_iter().map(|msg| SchemaError {
            pos,
            message: format!("{field}: {msg}"),
        }));
    };
    if let Some(wrong) = wrong_type(s, &node.value) {
        return flush(vec![wrong], path, out);
    }
    flush(not_in_enum(s, node).into_iter().collect(), path, out);
    match &node.value {
        Value::Str(text) => flush(string_errors(s, text), path, out),
        Value::Int(_) | Value::Float(_) => flush(
            number_errors(s, as_number(&node.value).unwrap_or(0.0)),
            path,
            out,
        ),
        Value::Seq(items) => {
            flush(array_errors(s, items.len() as u64), path, out);
            if let Some(item_schema) = s.get("items") {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    check(item_schema, item, item.pos, path, out);
                    path.pop();
                }
            }
        }
        Value::Map(_) => check_object(s, node, pos, path, out),
        Value::Null | Value::Bool(_) => {}
    }
}

type Schema = serde_json::Map<String, Json>;

/// `type` (or `x-kubernetes-int-or-string`), when the value is not of it.
fn wrong_type(s: &Schema, value: &Value) -> Option<String> {
    let int_or_string = s
        .get("x-kubernetes-int-or-string")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let integral =
        matches!(value, Value::Int(_)) || matches!(value, Value::Float(f) if f.fract() == 0.0);
    if int_or_string {
        return (!(integral || matches!(value, Value::Str(_))))
            .then(|| format!("must be an integer or a string, not {}", type_name(value)));
    }
    let ty = s.get("type").and_then(Json::as_str)?;
    let ok = match ty {
        "object" => matches!(value, Value::Map(_)),
        "array" => matches!(value, Value::Seq(_)),
        "string" => matches!(value, Value::Str(_)),
        "boolean" => matches!(value, Value::Bool(_)),
        "integer" => integral,
        "number" => matches!(value, Value::Int(_) | Value::Float(_)),
        _ => true,
    };
    (!ok).then(|| format!("must be of type {ty}, not {}", type_name(value)))
}

/// `enum`, when the value is not one of it (numbers compared as numbers).
fn not_in_enum(s: &Schema, node: &Node) -> Option<String> {
    let allowed = s.get("enum").and_then(Json::as_array)?;
    let value = node.to_json();
    let found = allowed.iter().any(|a| match (a, &value) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => *a == value,
    });
    let list: Vec<String> = allowed.iter().map(Json::to_string).collect();
    (!found).then(|| {
        format!(
            "{value} is not one of the allowed values {}",
            list.join(", ")
        )
    })
}

/// `minLength`, `maxLength` and `pattern`.
fn string_errors(s: &Schema, text: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let len = text.chars().count() as u64;
    if let Some(min) = s.get("minLength").and_then(Json::as_u64) {
        if len < min {
            errors.push(format!("must be at least {min} characters long"));
        }
    }
    if let Some(max) = s.get("maxLength").and_then(Json::as_u64) {
        if len > max {
            errors.push(format!("must be at most {max} characters long"));
        }
    }
    if let Some(pattern) = s.get("pattern").and_then(Json::as_str) {
        match regex::Regex::new(pattern) {
            Ok(re) if !re.is_match(text) => {
                errors.push(format!("{text:?} does not match the pattern {pattern:?}"));
            }
            Ok(_) => {}
            Err(_) => errors.push(format!(
                "the schema's pattern {pattern:?} is not a valid regular expression"
            )),
        }
    }
    errors
}

/// `minimum` and `maximum`, with their `exclusive…` flags.
fn number_errors(s: &Schema, n: f64) -> Vec<String> {
    let exclusive = |key: &str| s.get(key).and_then(Json::as_bool).unwrap_or(false);
    let mut errors = Vec::new();
    if let Some(min) = s.get("minimum").and_then(Json::as_f64) {
        let ex = exclusive("exclusiveMinimum");
        if n < min || (ex && n == min) {
            let bound = if ex { "greater than" } else { "at least" };
            errors.push(format!("must be {bound} {min}"));
        }
    }
    if let Some(max) = s.get("maximum").and_then(Json::as_f64) {
        let ex = exclusive("exclusiveMaximum");
        if n > max || (ex && n == max) {
            let bound = if ex { "less than" } else { "at most" };
            errors.push(format!("must be {bound} {max}"));
        }
    }
    errors
}

/// `minItems` and `maxItems`.
fn array_errors(s: &Schema, len: u64) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(min) = s.get("minItems").and_then(Json::as_u64) {
        if len < min {
            errors.push(format!("must have at least {min} items"));
        }
    }
    if let Some(max) = s.get("maxItems").and_then(Json::as_u64) {
        if len > max {
            errors.push(format!("must have at most {max} items"));
        }
    }
    errors
}

/// `required`, `properties` and `additionalProperties`, recursing into
/// each field.
fn check_object(
    s: &Schema,
    node: &Node,
    pos: Pos,
    path: &mut Vec<Seg>,
    out: &mut Vec<SchemaError>,
) {
    let Value::Map(entries) = &node.value else {
        return;
    };
    let props = s.get("properties").and_then(Json::as_object);
    if let Some(required) = s.get("required").and_then(Json::as_array) {
        for r in required.iter().filter_map(Json::as_str) {
            if node.get(r).is_none() {
                let mut p = path.clone();
                p.push(Seg::Key(r.to_string().into()));
                out.push(SchemaError {
                    pos,
                    message: format!("{}: required field is missing", render_path(&p)),
                });
            }
        }
    }
    let additional = s.get("additionalProperties");
    for e in entries {
        path.push(Seg::Key(e.key.clone().into()));
        match props.and_then(|p| p.get(&e.key)) {
            Some(sub) => check(sub, &e.node, e.key_pos, path, out),
            None => match additional {
                Some(Json::Bool(false)) if props.is_some() => out.push(SchemaError {
                    pos: e.key_pos,
                    message: format!("{}: field is not allowed by the schema", render_path(path)),
                }),
                Some(sub @ Json::Object(_)) => check(sub, &e.node, e.key_pos, path, out),
                _ => {}
            },
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::loader::{load_str, Limits};

    fn node(text: &str) -> Node {
        load_str(text, &Limits::default()).documents.remove(0).root
    }

    fn errors(schema: Json, text: &str) -> Vec<SchemaError> {
        let n = node(text);
        let mut path = vec![Seg::key("spec"), Seg::key("parameters")];
        validate(&schema, &n, n.pos, &mut path)
    }

    #[test]
    fn wrong_item_type_points_at_the_item_line() {
        let schema = serde_json::json!({"type": "object", "properties": {"repos": {"type": "array", "items": {"type": "string"}}}});
        let e = errors(schema, "repos:\n- a\n- 3\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].pos.line, 3);
        assert_eq!(
            e[0].message,
            "spec.parameters.repos[1]: must be of type string, not integer"
        );
    }

    #[test]
    fn missing_required_and_enum_mismatch_are_reported() {
        let schema = serde_json::json!({"type": "object", "required": ["mode"],
            "properties": {"mode": {"type": "string", "enum": ["a", "b"]}, "level": {"type": "string", "enum": ["x"]}}});
        let e = errors(schema, "level: z\n");
        let msgs: Vec<&str> = e.iter().map(|e| e.message.as_str()).collect();
        assert!(
            msgs.contains(&"spec.parameters.mode: required field is missing"),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("spec.parameters.level: \"z\" is not one of")),
            "{msgs:?}"
        );
    }

    #[test]
    fn legacy_schema_without_type_checks_properties_and_keeps_unknown_fields() {
        let schema = serde_json::json!({"properties": {"labels": {"type": "array", "items": {"type": "string"}}}});
        assert!(errors(schema.clone(), "labels: [a, b]\nextra: 1\n").is_empty());
        assert_eq!(errors(schema, "labels: a\n").len(), 1);
    }

    #[test]
    fn int_or_string_numbers_and_bounds() {
        let schema = serde_json::json!({"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": true},
            "max": {"type": "integer", "minimum": 1, "maximum": 10},
            "ratio": {"type": "number"},
            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 3}}});
        assert!(errors(schema.clone(), "port: http\nmax: 10\nratio: 1\nname: abc\n").is_empty());
        let e = errors(schema, "port: true\nmax: 11\nratio: x\nname: ABCD\n");
        assert_eq!(e.len(), 5, "{e:?}");
    }

    #[test]
    fn additional_properties_schema_applies_to_map_values() {
        let schema = serde_json::json!({"type": "object", "properties": {"limits": {"type": "object", "additionalProperties": {"type": "integer"}}}});
        let e = errors(schema, "limits:\n  cpu: 1\n  mem: lots\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].pos.line, 3);
    }
}
