//! `data.inventory`: the objects a referential template may look at,
//! keyed as Gatekeeper syncs them — cluster-scoped objects under
//! `cluster[apiVersion][kind][name]`, namespaced ones under
//! `namespace[namespace][apiVersion][kind][name]`.
//!
//! <https://open-policy-agent.github.io/gatekeeper/website/docs/sync>
//!
//! The inventory is built once (from the other objects of a scan, or
//! `--inventory` files) and shared, unchanged, by every evaluation: regorus
//! values are reference-counted, so handing it to a template costs a pointer.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value as Json;

use crate::error::LoadError;
use crate::matcher::{labels_of, Labels};
use crate::review::to_rego;
use crate::source::{object_pos, read_paths};

/// A Namespace known to the inventory.
#[derive(Debug, Clone)]
pub(crate) struct KnownNamespace {
    /// Its labels, for `namespaceSelector`.
    pub labels: Labels,
    /// The object, for `input.review._unstable.namespace`.
    pub value: regorus::Value,
}

/// Objects available to referential templates as `data.inventory`.
#[derive(Debug, Clone)]
pub struct Inventory {
    cluster: regorus::Value,
    namespace: regorus::Value,
    namespaces: HashMap<String, KnownNamespace>,
    len: usize,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory::new()
    }
}

/// The key path of an object in the inventory.
type Key<'a> = (Option<&'a str>, &'a str, &'a str, &'a str);

fn key_of(object: &Json) -> Result<Key<'_>, String> {
    fn s(v: Option<&Json>) -> &str {
        v.and_then(Json::as_str).unwrap_or("")
    }
    let api_version = s(object.get("apiVersion"));
    let kind = s(object.get("kind"));
    let meta = object.get("metadata");
    let name = s(meta.and_then(|m| m.get("name")));
    let ns = s(meta.and_then(|m| m.get("namespace")));
    if api_version.is_empty() || kind.is_empty() {
        return Err("an inventory object needs apiVersion and kind".into());
    }
    if name.is_empty() {
        return Err(format!("an inventory {kind} needs metadata.name"));
    }
    Ok(((!ns.is_empty()).then_some(ns), api_version, kind, name))
}

/// The object at `key` below `v`, created empty when missing.
fn slot<'a>(v: &'a mut regorus::Value, key: &str) -> &'a mut regorus::Value {
    if !matches!(v, regorus::Value::Object(_)) {
        *v = regorus::Value::new_object();
    }
    match v {
        regorus::Value::Object(o) => regorus::Rc::make_mut(o)
            .get_or_insert_with(regorus::Value::from(key), regorus::Value::new_object),
        // Replaced by an object just above.
        other => other,
    }
}

/// Removes the entry at `path` below `v`, copying only the maps on the way.
fn remove_path(v: &mut regorus::Value, path: &[&str]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let regorus::Value::Object(o) = v else {
        return false;
    };
    let key = regorus::Value::from(*first);
    if o.get(&key).is_none() {
        return false;
    }
    let map = regorus::Rc::make_mut(o);
    if rest.is_empty() {
        map.remove(&key).is_some()
    } else {
        map.get_mut(&key)
            .is_some_and(|child| remove_path(child, rest))
    }
}

fn contains_path(v: &regorus::Value, path: &[&str]) -> bool {
    let mut cur = v;
    for k in path {
        match cur {
            regorus::Value::Object(o) => match o.get(&regorus::Value::from(*k)) {
                Some(next) => cur = next,
                None => return false,
            },
            _ => return false,
        }
    }
    true
}

/// Whether `object` is a core v1 Namespace (which the inventory keeps for
/// `namespaceSelector` as well as for `data.inventory`).
pub fn is_namespace(object: &Json) -> bool {
    object.get("kind").and_then(Json::as_str) == Some("Namespace")
        && object.get("apiVersion").and_then(Json::as_str) == Some("v1")
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Inventory {
            cluster: regorus::Value::new_object(),
            namespace: regorus::Value::new_object(),
            namespaces: HashMap::new(),
            len: 0,
        }
    }

    /// Adds an object (a later object with the same key replaces an earlier
    /// one). Fails when it has no apiVersion, kind or name.
    pub fn add(&mut self, object: &Json) -> Result<(), String> {
        let (ns, api_version, kind, name) = key_of(object)?;
        let value = to_rego(object);
        if kind == "Namespace" && crate::source::group_of(api_version).is_empty() && ns.is_none() {
            self.namespaces.insert(
                name.to_string(),
                KnownNamespace {
                    labels: labels_of(object),
                    value: value.clone(),
                },
            );
        }
        let leaf = match ns {
            None => slot(slot(slot(&mut self.cluster, api_version), kind), name),
            Some(ns) => slot(
                slot(slot(slot(&mut self.namespace, ns), api_version), kind),
                name,
            ),
        };
        if matches!(leaf, regorus::Value::Object(o) if o.is_empty()) {
            self.len += 1;
        }
        *leaf = value;
        Ok(())
    }

    /// Reads objects from files or directories (as [`crate::PolicySet::load`]
    /// reads them) into a new inventory.
    pub fn load(paths: &[PathBuf]) -> Result<Inventory, Vec<LoadError>> {
        let (objects, mut errors) = read_paths(paths);
        let mut inv = Inventory::new();
        for obj in &objects {
            if let Err(e) = inv.add(&obj.root.to_json()) {
                errors.push(LoadError::new(&obj.file, object_pos(obj), e));
            }
        }
        if errors.is_empty() {
            Ok(inv)
        } else {
            Err(errors)
        }
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The Namespace named `name`, when the inventory holds it.
    pub(crate) fn namespace(&self, name: &str) -> Option<&KnownNamespace> {
        self.namespaces.get(name)
    }

    /// The value of `data.inventory`.
    pub(crate) fn value(&self) -> regorus::Value {
        let mut o = regorus::value::Object::new();
        o.insert("cluster".into(), self.cluster.clone());
        o.insert("namespace".into(), self.namespace.clone());
        o.into()
    }

    /// The value of `data.inventory` without `object` (when it holds it),
    /// for reviewing `object` as a CREATE: it does not exist yet.
    pub(crate) fn value_without(&self, object: &Json) -> regorus::Value {
        let Ok((ns, api_version, kind, name)) = key_of(object) else {
            return self.value();
        };
        let (mut cluster, mut namespace) = (self.cluster.clone(), self.namespace.clone());
        match ns {
            None => {
                let path = [api_version, kind, name];
                if contains_path(&cluster, &path) {
                    remove_path(&mut cluster, &path);
                }
            }
            Some(ns) => {
                let path = [ns, api_version, kind, name];
                if contains_path(&namespace, &path) {
                    remove_path(&mut namespace, &path);
                }
            }
        }
        let mut o = regorus::value::Object::new();
        o.insert("cluster".into(), cluster);
        o.insert("namespace".into(), namespace);
        o.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_keyed_as_gatekeeper_syncs_them() {
        let mut inv = Inventory::new();
        let ing = serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i", "namespace": "n"}});
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "labels": {"team": "a"}}});
        assert!(inv.add(&ing).is_ok());
        assert!(inv.add(&ns).is_ok());
        assert!(inv.add(&ns).is_ok());
        assert_eq!(inv.len(), 2);
        let v = inv.value();
        assert_eq!(
            v["namespace"]["n"]["networking.k8s.io/v1"]["Ingress"]["i"]["metadata"]["name"],
            regorus::Value::from("i")
        );
        assert_eq!(
            v["cluster"]["v1"]["Namespace"]["n"]["metadata"]["name"],
            regorus::Value::from("n")
        );
        assert_eq!(
            inv.namespace("n").map(|k| k.labels.get("team").cloned()),
            Some(Some("a".into()))
        );
    }

    #[test]
    fn value_without_drops_only_the_reviewed_object() {
        let mut inv = Inventory::new();
        for name in ["a", "b"] {
            let o = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "n"}});
            assert!(inv.add(&o).is_ok());
        }
        let a = serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "n"}});
        let v = inv.value_without(&a);
        assert_eq!(
            v["namespace"]["n"]["v1"]["Service"]["a"],
            regorus::Value::Undefined
        );
        assert_ne!(
            v["namespace"]["n"]["v1"]["Service"]["b"],
            regorus::Value::Undefined
        );
        // The shared inventory is unchanged.
        assert_ne!(
            inv.value()["namespace"]["n"]["v1"]["Service"]["a"],
            regorus::Value::Undefined
        );
    }

    #[test]
    fn objects_without_name_are_refused() {
        let mut inv = Inventory::new();
        assert!(inv
            .add(&serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}}))
            .is_err());
        assert!(inv.add(&serde_json::json!({"kind": "Pod"})).is_err());
    }
}
