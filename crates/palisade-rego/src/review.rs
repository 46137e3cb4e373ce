//! What a template sees as `input.review`: the AdmissionRequest shape that
//! Gatekeeper hands to Rego, built from a manifest object (reviewed as a
//! CREATE) or from an AdmissionReview document (with its own operation,
//! user and old object).
//!
//! <https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#request>

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::source::{group_of, version_of};

/// One object under review, shaped as Gatekeeper shapes `input.review`.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// `object`: the object after the operation (`null` when absent).
    pub object: Json,
    /// `oldObject`: the object before an UPDATE or DELETE.
    pub old_object: Option<Json>,
    /// `operation`: CREATE, UPDATE, DELETE, CONNECT (empty as gator reviews plain objects).
    pub operation: String,
    /// `userInfo`: who made the request (`{}` for a manifest).
    pub user_info: Json,
    /// `kind`: the object's group, version and kind.
    pub kind: (String, String, String),
    /// `name`.
    pub name: String,
    /// `namespace` (empty for cluster-scoped objects).
    pub namespace: String,
    /// `dryRun`.
    pub dry_run: bool,
    /// The object's Namespace, when the caller knows it (the webhook's
    /// namespace cache); otherwise it is looked up in the inventory.
    /// Used by `namespaceSelector` and given as `input.review._unstable.namespace`.
    pub namespace_object: Option<Json>,
    /// Every other AdmissionRequest field (`uid`, `resource`, `subResource`,
    /// `options`, ...), passed to `input.review` unchanged.
    pub extra: Map<String, Json>,
}

fn text(v: &Json, key: &str) -> String {
    v.get(key).and_then(Json::as_str).unwrap_or("").to_string()
}

impl Review {
    /// Reviews a manifest object as a CREATE, as `palisade scan` does.
    pub fn create(object: &Json) -> Review {
        Review::of_object(object, "CREATE")
    }

    /// Reviews a manifest object with the given operation (gator reviews
    /// plain objects with no operation: `""`).
    pub fn of_object(object: &Json, operation: &str) -> Review {
        let api_version = object
            .get("apiVersion")
            .and_then(Json::as_str)
            .unwrap_or("");
        let meta = object.get("metadata").cloned().unwrap_or(Json::Null);
        Review {
            object: object.clone(),
            old_object: None,
            operation: operation.to_string(),
            user_info: Json::Object(Map::new()),
            kind: (
                group_of(api_version).to_string(),
                version_of(api_version).to_string(),
                text(object, "kind"),
            ),
            name: text(&meta, "name"),
            namespace: text(&meta, "namespace"),
            dry_run: false,
            namespace_object: None,
            extra: Map::new(),
        }
    }

    /// Whether a document is an AdmissionReview (`admission.k8s.io`).
    pub fn is_admission_review(doc: &Json) -> bool {
        doc.get("kind").and_then(Json::as_str) == Some("AdmissionReview")
            && doc
                .get("apiVersion")
                .and_then(Json::as_str)
                .is_some_and(|v| group_of(v) == "admission.k8s.io")
    }

    /// Reads an AdmissionReview document; `None` when it is not one or has
    /// no usable request (see [`Review::parse_admission_review`] for why).
    pub fn from_admission_review(doc: &Json) -> Option<Review> {
        Review::parse_admission_review(doc).ok()
    }

    /// Reads an AdmissionReview document, saying what is wrong with it. As
    /// in Gatekeeper, a DELETE reviews its old object as `object`.
    pub fn parse_admission_review(doc: &Json) -> Result<Review, String> {
        if !Review::is_admission_review(doc) {
            return Err("not an admission.k8s.io AdmissionReview".into());
        }
        let req = doc
            .get("request")
            .and_then(Json::as_object)
            .ok_or("the AdmissionReview has no request")?;
        let present = |k: &str| req.get(k).filter(|v| !v.is_null()).cloned();
        let mut object = present("object");
        let old_object = present("oldObject");
        if object.is_none() && old_object.is_none() {
            return Err("the AdmissionRequest has neither object nor oldObject to review".into());
        }
        let operation = req
            .get("operation")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        if operation == "DELETE" && object.is_none() {
            object = old_object.clone();
        }
        let kind = req.get("kind").cloned().unwrap_or(Json::Null);
        let mut extra = req.clone();
        for k in [
            "object",
            "oldObject",
            "operation",
            "userInfo",
            "kind",
            "name",
            "namespace",
            "dryRun",
        ] {
            extra.remove(k);
        }
        Ok(Review {
            object: object.unwrap_or(Json::Null),
            old_object,
            operation,
            user_info: req
                .get("userInfo")
                .cloned()
                .unwrap_or_else(|| Json::Object(Map::new())),
            kind: (
                text(&kind, "group"),
                text(&kind, "version"),
                text(&kind, "kind"),
            ),
            name: req
                .get("name")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
            namespace: req
                .get("namespace")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string(),
            dry_run: req.get("dryRun").and_then(Json::as_bool).unwrap_or(false),
            namespace_object: None,
            extra,
        })
    }

    /// The namespace the object lives in: its own `metadata.namespace`, else the request's.
    pub fn object_namespace(&self) -> &str {
        let own = self
            .object
            .get("metadata")
            .and_then(|m| m.get("namespace"))
            .and_then(Json::as_str)
            .unwrap_or("");
        if own.is_empty() {
            &self.namespace
        } else {
            own
        }
    }

    /// `input.review` as a regorus value, with `_unstable.namespace` when known.
    pub(crate) fn to_value(&self, namespace: Option<&regorus::Value>) -> regorus::Value {
        let mut obj = regorus::value::Object::new();
        let mut put = |k: &str, v: regorus::Value| {
            obj.insert(regorus::Value::from(k), v);
        };
        put("uid", regorus::Value::from(""));
        for (k, v) in &self.extra {
            put(k, to_rego(v));
        }
        let mut kind = regorus::value::Object::new();
        kind.insert("group".into(), self.kind.0.as_str().into());
        kind.insert("version".into(), self.kind.1.as_str().into());
        kind.insert("kind".into(), self.kind.2.as_str().into());
        put("kind", kind.into());
        put("name", self.name.as_str().into());
        put("namespace", self.namespace.as_str().into());
        put("operation", self.operation.as_str().into());
        put("userInfo", to_rego(&self.user_info));
        if !self.object.is_null() {
            put("object", to_rego(&self.object));
        }
        if let Some(old) = &self.old_object {
            put("oldObject", to_rego(old));
        }
        if self.dry_run {
            put("dryRun", true.into());
        }
        if let Some(ns) = namespace {
            let mut unstable = regorus::value::Object::new();
            unstable.insert("namespace".into(), ns.clone());
            put("_unstable", unstable.into());
        }
        obj.into()
    }
}

/// Converts JSON to a regorus value without copying it first.
pub(crate) fn to_rego(v: &Json) -> regorus::Value {
    regorus::Value::deserialize(v).unwrap_or(regorus::Value::Undefined)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_object_is_reviewed_as_create_with_its_kind_and_namespace() {
        let obj = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}});
        let r = Review::create(&obj);
        assert_eq!(r.operation, "CREATE");
        assert_eq!(r.kind, ("apps".into(), "v1".into(), "Deployment".into()));
        assert_eq!((r.name.as_str(), r.namespace.as_str()), ("d", "n"));
        let v = r.to_value(None);
        assert_eq!(v["kind"]["group"], regorus::Value::from("apps"));
        assert_eq!(v["object"]["metadata"]["name"], regorus::Value::from("d"));
        assert_eq!(v["oldObject"], regorus::Value::Undefined);
    }

    #[test]
    fn admission_review_delete_reviews_the_old_object_and_keeps_extra_fields() {
        let doc = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "u1", "operation": "DELETE", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "name": "p", "namespace": "n", "userInfo": {"username": "alice"},
            "oldObject": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}, "dryRun": true}});
        let r = Review::parse_admission_review(&doc).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.operation, "DELETE");
        assert_eq!(r.object["metadata"]["name"], "p");
        assert!(r.dry_run);
        assert_eq!(r.object_namespace(), "n");
        let v = r.to_value(None);
        assert_eq!(v["uid"], regorus::Value::from("u1"));
        assert_eq!(v["userInfo"]["username"], regorus::Value::from("alice"));
        assert_eq!(v["dryRun"], regorus::Value::from(true));
    }

    #[test]
    fn admission_review_without_objects_is_refused() {
        let doc = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"operation": "CREATE"}});
        assert!(Review::parse_admission_review(&doc).is_err());
        assert!(Review::from_admission_review(&serde_json::json!({"kind": "Pod"})).is_none());
    }
}
