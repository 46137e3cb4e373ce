//! OSV records written in YAML (the PyPA advisory database's format: the
//! OSV schema, encoded in YAML instead of JSON).
//!
//! Every field the schema defines is a string, a list or a mapping, so
//! scalars are read as the text they are written as: `1.10` stays the
//! version `1.10` (a YAML 1.1 or core-schema loader would make it the
//! number 1.1), and unquoted timestamps stay the strings OSV means. Only
//! `null`, `~`, an empty plain scalar and `true`/`false` keep their YAML
//! meaning. Anchors and aliases are refused (OSV files have none, and an
//! alias is how a small YAML file becomes a huge value), and nesting is
//! capped at [`MAX_DEPTH`].

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

/// The deepest nesting of lists and mappings accepted.
pub const MAX_DEPTH: usize = 64;

enum Open {
    Seq(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// Converts the first document of `text` to JSON, scalars as strings (see
/// the module docs).
pub(crate) fn to_json(text: &str) -> Result<Value, String> {
    let mut stack: Vec<Open> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, span) = match parser.next_event() {
            None => return Err("no YAML document".into()),
            Some(Err(e)) => return Err(format!("invalid YAML: {e}")),
            Some(Ok(ev)) => ev,
        };
        let value = match event {
            Event::StreamEnd => return Err("no YAML document".into()),
            Event::Alias(_) => {
                return Err(format!(
                    "YAML alias at line {}: OSV records have none",
                    span.start.line()
                ))
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if stack.len() >= MAX_DEPTH => {
                return Err(format!("nested deeper than {MAX_DEPTH} levels"))
            }
            Event::SequenceStart(..) => {
                stack.push(Open::Seq(Vec::new()));
                continue;
            }
            Event::MappingStart(..) => {
                stack.push(Open::Map(Map::new(), None));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq(items)) => Value::Array(items),
                Some(Open::Map(m, _)) => Value::Object(m),
                None => return Err("unbalanced YAML events".into()),
            },
            Event::Scalar(text, style, _, _) => scalar(&text, style),
            _ => continue,
        };
        match stack.last_mut() {
            None => return Ok(value),
            Some(Open::Seq(items)) => items.push(value),
            Some(Open::Map(m, key)) => match key.take() {
                None => {
                    let k = match value {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err("a mapping key that is not a scalar".into()),
                    };
                    *key = Some(k);
                }
                Some(k) => {
                    m.insert(k, value);
                }
            },
        }
    }
}

fn scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_stay_text() {
        let v = to_json(
            "id: PYSEC-1\nmodified: 2023-11-07T20:24:23.946863Z\npublished: '2020-08-05T14:15:00Z'\n\
             affected:\n- versions:\n  - 1.10\n  - 0.1.0\n  - 2\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: \"0\"\n    - fixed: 1.0\nwithdrawn: null\ndetails: |\n  two\n  lines\n",
        )
        .unwrap();
        assert_eq!(v["modified"], "2023-11-07T20:24:23.946863Z");
        assert_eq!(v["published"], "2020-08-05T14:15:00Z");
        assert_eq!(v["affected"][0]["versions"][0], "1.10");
        assert_eq!(v["affected"][0]["versions"][2], "2");
        assert_eq!(v["affected"][0]["ranges"][0]["events"][1]["fixed"], "1.0");
        assert_eq!(v["withdrawn"], Value::Null);
        assert_eq!(v["details"], "two\nlines\n");
    }

    #[test]
    fn aliases_depth_and_garbage_are_errors() {
        assert!(to_json("a: &x [1]\nb: *x\n").unwrap_err().contains("alias"));
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(to_json(&deep).unwrap_err().contains("deeper"));
        assert!(to_json("a: [\n").is_err());
        assert!(to_json("").is_err());
    }
}
