//! The first stages of a review, run once per request: the gate (is there
//! a workload object to check at all?) and its identity. What comes out is
//! a [`Read`]: the object as a core [`Object`] (the tree every rule, the
//! image collection and the Pod Security labels read) next to its JSON (for
//! Gatekeeper and JSONPatch paths), both made once.

use std::sync::Arc;

use kube_core::admission::{AdmissionRequest, Operation};
use kube_core::DynamicObject;
use palisade_core::object::object_ref;
use palisade_core::{Node, Object, PodView, WorkloadKind};

use super::ADMISSION_FILE;

/// Why a request has no object to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not a CREATE or UPDATE, or a subresource that sets no pod spec
    /// (`status`, `binding`, `eviction`, ...).
    NotChecked,
    /// A kind palisade does not check (`apiVersion kind`).
    UnknownKind(String),
    /// A CREATE or UPDATE of a workload without an object.
    NoObject,
    /// The object could not be turned into JSON.
    Unreadable(String),
}

/// The object of one request, read once.
#[derive(Debug, Clone)]
pub struct Read {
    /// The workload kind.
    pub workload: WorkloadKind,
    /// The request's namespace (`""` for cluster-scoped requests).
    pub namespace: String,
    /// The object's name: the request's, else the object's `name` or
    /// `generateName` (CREATE requests often carry none).
    pub name: String,
    /// The object as JSON, with `apiVersion`, `kind` and the request's
    /// namespace and name filled in where the object leaves them out.
    pub json: serde_json::Value,
    /// The same object as a core object (the one element): what the scan
    /// checks, shared by every stage.
    pub objects: Arc<[Object]>,
    /// The old object of an UPDATE, as JSON.
    pub old: Option<serde_json::Value>,
}

impl Read {
    /// The gate and identity stages: the request's workload object, or why
    /// there is nothing to check.
    pub fn of(req: &AdmissionRequest<DynamicObject>) -> Result<Read, Skip> {
        if !matches!(req.operation, Operation::Create | Operation::Update)
            || !matches!(
                req.sub_resource.as_deref(),
                None | Some("ephemeralcontainers")
            )
        {
            return Err(Skip::NotChecked);
        }
        let api_version = api_version(req);
        let Some(workload) = WorkloadKind::of(&api_version, &req.kind.kind) else {
            return Err(Skip::UnknownKind(format!(
                "{api_version} {}",
                req.kind.kind
            )));
        };
        let object = req.object.as_ref().ok_or(Skip::NoObject)?;
        let mut json = serde_json::to_value(object).map_err(|e| Skip::Unreadable(e.to_string()))?;
        let namespace = req.namespace.clone().unwrap_or_default();
        fill_identity(
            &mut json,
            &api_version,
            &req.kind.kind,
            &namespace,
            &req.name,
        );
        let name = if req.name.is_empty() {
            let meta = json.get("metadata");
            meta.and_then(|m| m.get("name").or_else(|| m.get("generateName")))
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string()
        } else {
            req.name.clone()
        };
        let root = Node::from_json(&json);
        let objects: Arc<[Object]> = Arc::new([Object {
            file: ADMISSION_FILE.into(),
            id: Arc::new(object_ref(&root).unwrap_or_default()),
            prefix: Vec::new(),
            root,
        }]);
        let old = req
            .old_object
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok());
        Ok(Read {
            workload,
            namespace,
            name,
            json,
            objects,
            old,
        })
    }

    /// The object.
    pub fn object(&self) -> &Object {
        &self.objects[0]
    }

    /// The object, as the one-element list a scan source takes.
    pub fn objects(&self) -> &Arc<[Object]> {
        &self.objects
    }

    /// The pod-spec view of the object, when it has a pod template.
    pub fn pod(&self) -> Option<PodView<'_>> {
        self.object().pod_view().ok()
    }

    /// The images of every container (init, regular, ephemeral) as written.
    pub fn images(&self) -> Vec<&str> {
        self.pod()
            .map(|view| view.containers().filter_map(|c| c.image()).collect())
            .unwrap_or_default()
    }

    /// The pod's `runtimeClassName`.
    pub fn runtime_class(&self) -> Option<&str> {
        self.pod()?.spec.get("runtimeClassName")?.as_str()
    }

    /// Whether this is an UPDATE that leaves the pod template (spec and
    /// metadata annotations, which older versions used for seccomp and
    /// AppArmor) as it was. Like Pod Security Admission, such an update
    /// (labels, replicas, status) is allowed even if the old spec violates.
    pub fn template_unchanged(&self, operation: &Operation) -> bool {
        *operation == Operation::Update
            && self
                .old
                .as_ref()
                .is_some_and(|old| template_unchanged(&self.json, old, self.workload))
    }
}

/// The `apiVersion` of the request's kind (`v1`, `apps/v1`).
pub fn api_version(req: &AdmissionRequest<DynamicObject>) -> String {
    if req.kind.group.is_empty() {
        req.kind.version.clone()
    } else {
        format!("{}/{}", req.kind.group, req.kind.version)
    }
}

/// Sets `apiVersion`, `kind`, `metadata.namespace` and `metadata.name` from
/// the request where the object leaves them out (a Pod created through a
/// namespaced URL need not name its namespace), so exemptions match.
fn fill_identity(
    json: &mut serde_json::Value,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) {
    let Some(obj) = json.as_object_mut() else {
        return;
    };
    obj.entry("apiVersion")
        .or_insert_with(|| api_version.into());
    obj.entry("kind").or_insert_with(|| kind.into());
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| serde_json::Value::Object(Default::default()));
    if let Some(meta) = meta.as_object_mut() {
        if !namespace.is_empty() {
            meta.entry("namespace").or_insert_with(|| namespace.into());
        }
        if !name.is_empty() && !meta.contains_key("name") {
            meta.insert("name".into(), name.into());
        }
    }
}

/// The pod template of a workload object as JSON: (spec, annotations).
fn template_part(
    json: &serde_json::Value,
    kind: WorkloadKind,
) -> (Option<&serde_json::Value>, Option<&serde_json::Value>) {
    let Some(template) = kind.template_path().iter().try_fold(json, |v, k| v.get(k)) else {
        return (None, None);
    };
    (
        template.get("spec"),
        template.get("metadata").and_then(|m| m.get("annotations")),
    )
}

fn template_unchanged(
    new: &serde_json::Value,
    old: &serde_json::Value,
    kind: WorkloadKind,
) -> bool {
    let (a, b) = (template_part(new, kind), template_part(old, kind));
    a.0.is_some() && a == b
}

/// The pod spec of a workload object as JSON, if present.
pub fn pod_spec(json: &serde_json::Value, kind: WorkloadKind) -> Option<&serde_json::Value> {
    template_part(json, kind).0
}
