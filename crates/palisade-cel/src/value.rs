//! Values for the interpreter: JSON converted once into the form the
//! interpreter evaluates on ([`Data`]), whose lists and maps are shared,
//! so binding one to a variable or reading it costs a reference count.
//!
//! Integers stay `int` (the API server types every integer field of an
//! object as `int`); serde's own conversion would make non-negative ones
//! `uint`, and `object.spec.replicas + 1` would fail.

use std::collections::HashMap;
use std::sync::Arc;

use kube_cel::cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapEntries, CelMapKey, CelNull, CelString,
    CelUInt,
};
use kube_cel::cel::common::value::Val;
use kube_cel::cel::objects::{Key, Map};
use kube_cel::cel::Value;
use serde_json::Value as Json;

/// A value ready for the interpreter. Cloning shares lists and maps.
pub struct Data(pub(crate) Box<dyn Val>);

impl Clone for Data {
    fn clone(&self) -> Self {
        Data(self.0.clone_as_boxed())
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        self.0.equals(other.0.as_ref())
    }
}

impl Data {
    /// `null`.
    pub fn null() -> Data {
        Data(Box::new(CelNull))
    }

    /// A JSON value, converted once.
    pub fn from_json(v: &Json) -> Data {
        Data(val_of(v))
    }

    /// A map with string keys.
    pub fn map(entries: impl Iterator<Item = (String, Data)>) -> Data {
        let map: CelMapEntries = entries
            .map(|(k, v)| (CelMapKey::String(CelString::from(k)), v.0))
            .collect();
        Data(Box::new(CelMap::from(map)))
    }

    /// An interpreter value (converted once).
    pub fn from_value(v: Value) -> Data {
        Data(Box::<dyn Val>::try_from(v).unwrap_or_else(|_| Box::new(CelNull)))
    }

    /// The boolean, if it is one.
    pub fn as_bool(&self) -> Option<bool> {
        self.0.downcast_ref::<CelBool>().map(|b| *b.inner())
    }

    /// The string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.downcast_ref::<CelString>().map(|s| s.inner())
    }

    /// As the interpreter's [`Value`] (a copy).
    pub fn to_value(&self) -> Value {
        Value::try_from(self.0.as_ref()).unwrap_or(Value::Null)
    }
}

fn val_of(v: &Json) -> Box<dyn Val> {
    match v {
        Json::Null => Box::new(CelNull),
        Json::Bool(b) => Box::new(CelBool::from(*b)),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Json::String(s) => Box::new(CelString::from(s.clone())),
        Json::Array(a) => Box::new(CelList::from(a.iter().map(val_of).collect::<Vec<_>>())),
        Json::Object(o) => {
            let map: CelMapEntries = o
                .iter()
                .map(|(k, v)| (CelMapKey::String(CelString::from(k.clone())), val_of(v)))
                .collect();
            Box::new(CelMap::from(map))
        }
    }
}

/// A JSON value as the interpreter's [`Value`].
pub fn from_json(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(a) => Value::List(Arc::new(a.iter().map(from_json).collect())),
        Json::Object(o) => {
            let map: HashMap<Key, Value> = o
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), from_json(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

/// A CEL value as JSON (for messages and audit annotations); types JSON
/// has no form for are written as their debug text.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.to_string()),
        Value::List(l) => Json::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(
            m.map
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Key::String(s) => s.to_string(),
                        Key::Int(i) => i.to_string(),
                        Key::Uint(u) => u.to_string(),
                        Key::Bool(b) => b.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        other => Json::String(format!("{other:?}")),
    }
}
