//! YAML 1.1 scalar resolution as `sigs.k8s.io/yaml` (and so kubectl) does
//! it: `yes`/`no`/`on`/`off` are booleans, `0755` is octal, `0x1F` hex,
//! `1_000` an integer; quoted and tagged scalars are strings.

use std::borrow::Cow;

use saphyr_parser::{ScalarStyle, Tag};

use crate::node::Value;

/// Resolves a scalar event. The parser hands over owned text for most
/// scalars, so strings are moved, not copied: a scan makes millions of them.
pub(super) fn resolve_scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    let resolved = match tag {
        Some(tag) if tag.is_yaml_core_schema() || tag.handle == "!!" => match tag.suffix.as_str() {
            "str" | "binary" | "timestamp" => None,
            "null" => Some(Value::Null),
            "bool" => resolve_non_str(&text).filter(|v| matches!(v, Value::Bool(_))),
            "int" | "float" => {
                resolve_non_str(&text).filter(|v| matches!(v, Value::Int(_) | Value::Float(_)))
            }
            _ if style == ScalarStyle::Plain => resolve_non_str(&text),
            _ => None,
        },
        // Any other tag, the non-specific `!` among them, makes a string,
        // as go-yaml resolves only untagged and core-schema scalars.
        Some(_) => None,
        None if style == ScalarStyle::Plain => resolve_non_str(&text),
        _ => None,
    };
    resolved.unwrap_or_else(|| Value::Str(text.into_owned()))
}

/// Resolves a plain scalar with the YAML 1.1 rules of go-yaml v2, the
/// library behind `sigs.k8s.io/yaml` and so behind kubectl and the API server.
pub fn resolve_plain(text: &str) -> Value {
    resolve_non_str(text).unwrap_or_else(|| Value::Str(text.to_string()))
}

/// The null, boolean or number a plain scalar stands for; `None` for a string.
pub(super) fn resolve_non_str(text: &str) -> Option<Value> {
    let v = match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        ".nan" | ".NaN" | ".NAN" => Value::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::Float(f64::NEG_INFINITY),
        _ => {
            let first = text.as_bytes()[0];
            if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
                return None;
            }
            if let Some(i) = parse_int(text) {
                return Some(Value::Int(i));
            }
            if is_yaml_float(text) {
                return text.parse::<f64>().ok().map(Value::Float);
            }
            return None;
        }
    };
    Some(v)
}

/// Go's `strconv.ParseInt(s, 0, 64)` after removing `_`: decimal, `0x`, `0o`,
/// `0b`, and a leading `0` for octal.
fn parse_int(text: &str) -> Option<i64> {
    let cleaned: String;
    let s = if text.contains('_') {
        cleaned = text.replace('_', "");
        cleaned.as_str()
    } else {
        text
    };
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let (radix, body) = if let Some(r) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, r)
    } else if let Some(r) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, r)
    } else if let Some(r) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, r)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// go-yaml v2's float pattern: `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if int_digits == 0 && i == frac_start {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}
