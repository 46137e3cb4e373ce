//! Kubernetes objects found in documents, and the pod-spec view of every
//! workload kind: rules are written once against [`PodView`] and report
//! paths as they are in the object's own kind.

use std::sync::Arc;

use serde::Serialize;

use crate::finding::ImageUse;
use crate::node::{render_path, Node, Pos, Seg};

mod templates;

pub use templates::{TemplatePod, ViewMap};

/// The identity of an object, as reported with every finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ObjectRef {
    /// `apiVersion`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name` (or `generateName`), empty when neither is set.
    pub name: String,
}

/// A Kubernetes object: a document, or one item of a `*List`.
#[derive(Debug, Clone)]
pub struct Object {
    /// The file (or `-` for stdin) it came from.
    pub file: Arc<str>,
    /// Who it is (shared with every finding about it).
    pub id: Arc<ObjectRef>,
    /// Where the object sits in its document (`items[3]` for a List item).
    pub prefix: Vec<Seg>,
    /// The object's root node.
    pub root: Node,
}

/// Where the pod template lives in a workload kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    /// A custom resource whose pod spec (or container list) is at a known
    /// path: Argo Rollouts, Knative Services, OpenKruise workloads, KEDA
    /// ScaledJobs, Tekton Tasks, and the policy file's `workloads`.
    Custom(&'static CustomWorkload),
    /// `v1/Pod`: `metadata`, `spec`.
    Pod,
    /// `v1/PodTemplate`: `template.metadata`, `template.spec`.
    PodTemplate,
    /// ReplicationController, ReplicaSet, Deployment, StatefulSet, DaemonSet, Job:
    /// `spec.template.metadata`, `spec.template.spec`.
    Template,
    /// `batch/CronJob`: `spec.jobTemplate.spec.template.{metadata,spec}`.
    CronJob,
}

/// A custom resource that holds a pod spec, checked with the same rules
/// and reported at the paths it is written at.
#[derive(Debug, PartialEq, Eq)]
pub struct CustomWorkload {
    /// API group (`argoproj.io`).
    pub group: &'static str,
    /// Kind (`Rollout`).
    pub kind: &'static str,
    /// Path from the object root to the pod spec; it ends in `spec`, and
    /// the node before it holds the pod's `metadata` (`[]` for the root).
    pub spec: &'static [&'static str],
    /// The lists of containers in that spec.
    pub lists: &'static [&'static str],
}

const POD_LISTS: &[&str] = &CONTAINER_LISTS;

/// The custom resources known to hold pod templates. The policy file's
/// `workloads` entries add others ([`register_workloads`]).
pub static CUSTOM_WORKLOADS: &[CustomWorkload] = &[
    CustomWorkload {
        group: "argoproj.io",
        kind: "Rollout",
        spec: &["spec", "template", "spec"],
        lists: POD_LISTS,
    },
    CustomWorkload {
        group: "serving.knative.dev",
        kind: "Service",
        spec: &["spec", "template", "spec"],
        lists: POD_LISTS,
    },
    CustomWorkload {
        group: "serving.knative.dev",
        kind: "Configuration",
        spec: &["spec", "template", "spec"],
        lists: POD_LISTS,
    },
    CustomWorkload {
        group: "apps.kruise.io",
        kind: "CloneSet",
        spec: &["spec", "template", "spec"],
        lists: POD_LISTS,
    },
    CustomWorkload {
        group: "apps.kruise.io",
        kind: "StatefulSet",
        spec: &["spec", "template", "spec"],
        lists: POD_LISTS,
    },
    CustomWorkload {
        group: "apps.kruise.io",
        kind: "DaemonSet",
        spec: &["spec", "template", "spec"],
        lists: POD_LISTS,
    },
    CustomWorkload {
        group: "keda.sh",
        kind: "ScaledJob",
        spec: &["spec", "jobTemplate", "spec", "template", "spec"],
        lists: POD_LISTS,
    },
    CustomWorkload {
        group: "tekton.dev",
        kind: "Task",
        spec: &["spec"],
        lists: &["steps", "sidecars"],
    },
    CustomWorkload {
        group: "tekton.dev",
        kind: "ClusterTask",
        spec: &["spec"],
        lists: &["steps", "sidecars"],
    },
];

/// Workloads added by policy files, for the rest of the process: a policy
/// is read at start-up (and on reload, which adds to these), so leaking
/// its few entries is cheaper than threading them through every view.
static REGISTERED: std::sync::RwLock<Vec<&'static CustomWorkload>> =
    std::sync::RwLock::new(Vec::new());

/// Adds custom workloads (the policy file's `workloads`); an entry already
/// known is not added twice.
pub fn register_workloads(defs: &[crate::policy::WorkloadDef]) {
    let mut reg = REGISTERED.write().unwrap_or_else(|e| e.into_inner());
    for d in defs {
        let group = d.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let spec: Vec<&str> = d.pod_spec_path.split('.').collect();
        let known = CUSTOM_WORKLOADS
            .iter()
            .chain(reg.iter().copied())
            .any(|w| w.group == group && w.kind == d.kind && w.spec == spec.as_slice());
        if known {
            continue;
        }
        let leak = |s: &str| -> &'static str { Box::leak(s.to_string().into_boxed_str()) };
        let spec: Vec<&'static str> = spec.into_iter().map(leak).collect();
        reg.push(Box::leak(Box::new(CustomWorkload {
            group: leak(group),
            kind: leak(&d.kind),
            spec: Box::leak(spec.into_boxed_slice()),
            lists: POD_LISTS,
        })));
    }
}

fn custom_workload(group: &str, kind: &str) -> Option<&'static CustomWorkload> {
    if let Some(w) = CUSTOM_WORKLOADS
        .iter()
        .find(|w| w.group == group && w.kind == kind)
    {
        return Some(w);
    }
    let reg = REGISTERED.read().unwrap_or_else(|e| e.into_inner());
    reg.iter()
        .copied()
        .find(|w| w.group == group && w.kind == kind)
}

/// Whether objects of `api_version`/`kind` hold pods that palisade checks:
/// a workload kind (built-in, custom or from the policy's `workloads`) or
/// an Argo kind with templates.
pub fn holds_pods(api_version: &str, kind: &str) -> bool {
    WorkloadKind::of(api_version, kind).is_some() || templates::is_workflow_kind(api_version, kind)
}

impl WorkloadKind {
    /// The workload kind of an `apiVersion`/`kind` pair, if it is one. The
    /// API group must match, so a custom resource named `Deployment` in
    /// another group is not mistaken for one.
    pub fn of(api_version: &str, kind: &str) -> Option<WorkloadKind> {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        match (group, kind) {
            ("", "Pod") => Some(WorkloadKind::Pod),
            ("", "PodTemplate") => Some(WorkloadKind::PodTemplate),
            ("", "ReplicationController") => Some(WorkloadKind::Template),
            ("apps" | "extensions", "ReplicaSet" | "Deployment" | "DaemonSet") => {
                Some(WorkloadKind::Template)
            }
            ("apps", "StatefulSet") => Some(WorkloadKind::Template),
            ("batch", "Job") => Some(WorkloadKind::Template),
            ("batch", "CronJob") => Some(WorkloadKind::CronJob),
            _ => custom_workload(group, kind).map(WorkloadKind::Custom),
        }
    }

    /// The lists of containers in the pod spec.
    pub fn container_lists(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Custom(w) => w.lists,
            _ => &CONTAINER_LISTS,
        }
    }

    /// Path from the object root to the pod template (the node holding
    /// `metadata` and `spec`); empty for a Pod.
    pub fn template_path(self) -> &'static [&'static str] {
        match self {
            WorkloadKind::Pod => &[],
            WorkloadKind::PodTemplate => &["template"],
            WorkloadKind::Template => &["spec", "template"],
            WorkloadKind::CronJob => &["spec", "jobTemplate", "spec", "template"],
            WorkloadKind::Custom(w) => &w.spec[..w.spec.len().saturating_sub(1)],
        }
    }
}

/// The pod-spec view of a workload: the pod's metadata and spec, and the
/// paths where they live in the object.
#[derive(Debug, Clone, Copy)]
pub struct PodView<'a> {
    /// The pod template's `metadata` (annotations), if any.
    pub meta: Option<&'a Node>,
    /// The pod `spec`.
    pub spec: &'a Node,
    /// Which kind of workload this view comes from.
    pub kind: WorkloadKind,
    /// Where the parts of a pod spec built for the checks are written (an
    /// Argo workflow template's pod); `None` when the spec is the object's own.
    pub map: Option<&'a ViewMap>,
}

/// The pod spec's three container lists, in the order the kubelet starts
/// them (and Pod Security Admission checks them): every walk over a pod's
/// containers goes through this list or [`PodView::containers`].
pub const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// One container of a pod, with the list and index where it is written.
#[derive(Debug, Clone, Copy)]
pub struct ContainerRef<'a> {
    /// `initContainers`, `containers` or `ephemeralContainers`.
    pub list: &'static str,
    /// Its index in that list.
    pub index: usize,
    /// The container.
    pub node: &'a Node,
}

impl<'a> ContainerRef<'a> {
    /// The container's `name`, if it is a string.
    pub fn name(&self) -> Option<&'a str> {
        self.node.get("name").and_then(Node::as_str)
    }

    /// The container's `image`, if it is a string.
    pub fn image(&self) -> Option<&'a str> {
        self.node.get("image").and_then(Node::as_str)
    }
}

/// Which part of the pod a path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPart {
    /// The pod's `metadata`.
    Meta,
    /// The pod's `spec`.
    Spec,
}

impl<'a> PodView<'a> {
    /// Every container of the pod (init, app, ephemeral), in that order.
    pub fn containers(&self) -> impl Iterator<Item = ContainerRef<'a>> + 'a {
        let spec = self.spec;
        self.kind.container_lists().iter().flat_map(move |&list| {
            spec.get(list)
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(move |(index, node)| ContainerRef { list, index, node })
        })
    }

    /// The image of the container named `name`.
    pub fn image_of(&self, name: &str) -> Option<&'a str> {
        self.containers()
            .find(|c| c.name() == Some(name))
            .and_then(|c| c.image())
    }

    /// The ServiceAccount the pod runs as, and the pod-spec key that names
    /// it (`None` when neither key is set and the API server defaults it to
    /// `default`).
    pub fn service_account(&self) -> (&'a str, Option<&'static str>) {
        for key in ["serviceAccountName", "serviceAccount"] {
            if let Some(name) = self
                .spec
                .get(key)
                .and_then(Node::as_str)
                .filter(|n| !n.is_empty())
            {
                return (name, Some(key));
            }
        }
        ("default", None)
    }

    /// The full path, from the object root, of a field of the pod.
    pub fn path(&self, part: PodPart, rel: &[Seg]) -> Vec<Seg> {
        if let Some(map) = self.map {
            return map.real(part, rel);
        }
        let mut p: Vec<Seg> = self
            .kind
            .template_path()
            .iter()
            .map(|k| Seg::key(k))
            .collect();
        p.push(Seg::key(match part {
            PodPart::Meta => "metadata",
            PodPart::Spec => "spec",
        }));
        p.extend_from_slice(rel);
        p
    }
}

/// Why an object has no pod view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewError {
    /// Not a workload kind.
    NotWorkload,
    /// A workload whose pod spec is missing or not a mapping.
    MissingSpec {
        /// Where the spec was expected.
        path: String,
    },
}

impl Object {
    /// The pod-spec view, when this object is a workload.
    pub fn pod_view(&self) -> Result<PodView<'_>, ViewError> {
        let kind =
            WorkloadKind::of(&self.id.api_version, &self.id.kind).ok_or(ViewError::NotWorkload)?;
        let template = self
            .root
            .get_path(kind.template_path())
            .filter(|n| n.is_map());
        let spec = template.and_then(|t| t.get("spec")).filter(|n| n.is_map());
        match (template, spec) {
            (Some(t), Some(spec)) => Ok(PodView {
                meta: t.get("metadata").filter(|m| m.is_map()),
                spec,
                kind,
                map: None,
            }),
            _ => {
                let mut p = kind.template_path().to_vec();
                p.push("spec");
                Err(ViewError::MissingSpec { path: p.join(".") })
            }
        }
    }

    /// The images of every container (init, app, ephemeral) of the pod,
    /// where they are written; entries without a string image are left to
    /// the static rules, which report them.
    pub fn image_uses(&self, view: &PodView<'_>) -> Vec<ImageUse> {
        let mut out = Vec::new();
        for c in view.containers() {
            let Some(image) = c.image() else {
                continue;
            };
            let path = view.path(
                PodPart::Spec,
                &[Seg::key(c.list), Seg::Index(c.index), Seg::key("image")],
            );
            let pos = self.locate(&path);
            let mut pointer = String::new();
            for seg in &path {
                pointer.push('/');
                match seg {
                    Seg::Key(k) => pointer.push_str(&k.replace('~', "~0").replace('/', "~1")),
                    Seg::Index(i) => pointer.push_str(&i.to_string()),
                }
            }
            let name = c.name().unwrap_or_default();
            out.push(ImageUse {
                container: name.to_string(),
                image: image.to_string(),
                running: self.running_image(c.list, name).map(str::to_string),
                path: render_path(&path),
                pointer,
                line: pos.line,
                column: pos.col,
            });
        }
        out
    }

    /// What a Pod's container actually runs, as its status reports it
    /// (`status.containerStatuses[].imageID`, without a runtime's scheme
    /// such as `docker-pullable://`), when that names a digest. `list` is
    /// the container list (`containers`, `initContainers`,
    /// `ephemeralContainers`).
    /// <https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus>
    pub fn running_image(&self, list: &str, container: &str) -> Option<&str> {
        let statuses = match list {
            "initContainers" => "initContainerStatuses",
            "ephemeralContainers" => "ephemeralContainerStatuses",
            _ => "containerStatuses",
        };
        let s = self
            .root
            .get("status")?
            .get(statuses)?
            .items()
            .iter()
            .find(|s| s.get("name").and_then(Node::as_str) == Some(container))?;
        let id = s.get("imageID").and_then(Node::as_str)?;
        let id = id
            .strip_prefix("docker-pullable://")
            .or_else(|| id.strip_prefix("docker://"))
            .unwrap_or(id);
        id.contains("@sha256:").then_some(id)
    }

    /// The position of the field at `path` (relative to the object root).
    pub fn locate(&self, path: &[Seg]) -> Pos {
        self.root.locate(path)
    }

    /// The path as written from the document root (`items[2].spec...` for List items).
    pub fn full_path(&self, path: &[Seg]) -> Vec<Seg> {
        let mut p = self.prefix.clone();
        p.extend_from_slice(path);
        p
    }
}

/// What a document holds.
#[derive(Debug)]
pub enum Content {
    /// Kubernetes objects (one, or the items of a `*List`).
    Objects(Vec<Object>),
    /// No `apiVersion`/`kind`: not a Kubernetes object (a values file, a
    /// kustomization), listed as skipped.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// Finds the objects of a document: the document itself, or the items of
/// any `*List` kind with `items`, flattened recursively as kubectl's list
/// visitor does (a `List` inside a `List` is read item by item). Nesting
/// is bounded by the loader's depth limit.
pub fn objects_of(file: &Arc<str>, root: Node) -> Content {
    let Some(id) = object_ref(&root) else {
        let reason = if root.is_map() {
            "no apiVersion/kind: not a Kubernetes object".to_string()
        } else {
            "top-level value is not a mapping: not a Kubernetes object".to_string()
        };
        return Content::Skipped { reason };
    };
    if is_list(&id, &root) {
        let mut objects = Vec::new();
        list_items(file, &root, &[], &mut objects);
        return Content::Objects(objects);
    }
    Content::Objects(vec![Object {
        file: file.clone(),
        id: Arc::new(id),
        prefix: Vec::new(),
        root,
    }])
}

/// Whether `root` is a list to read item by item.
fn is_list(id: &ObjectRef, root: &Node) -> bool {
    id.kind.ends_with("List") && root.get("items").is_some()
}

/// Appends the items of the list `list` (at `prefix` in its document) to
/// `out`, descending into items that are lists themselves.
fn list_items(file: &Arc<str>, list: &Node, prefix: &[Seg], out: &mut Vec<Object>) {
    let Some(items) = list.get("items") else {
        return;
    };
    for (i, item) in items.items().iter().enumerate() {
        let Some(id) = object_ref(item) else {
            continue;
        };
        let mut at = prefix.to_vec();
        at.extend([Seg::key("items"), Seg::Index(i)]);
        if is_list(&id, item) {
            list_items(file, item, &at, out);
        } else {
            out.push(Object {
                file: file.clone(),
                id: Arc::new(id),
                prefix: at,
                root: item.clone(),
            });
        }
    }
}

/// The identity of a document's root object, when it has `apiVersion` and `kind`.
pub fn object_ref(root: &Node) -> Option<ObjectRef> {
    let api_version = root.get("apiVersion")?.as_str()?.to_string();
    let kind = root.get("kind")?.as_str()?.to_string();
    let meta = root.get("metadata");
    let text = |k: &str| meta.and_then(|m| m.get(k)).and_then(Node::as_str);
    Some(ObjectRef {
        api_version,
        kind,
        namespace: text("namespace").map(str::to_string),
        name: text("name")
            .or_else(|| text("generateName"))
            .unwrap_or_default()
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader::{load_str, Limits};

    fn first(text: &str) -> Node {
        load_str(text, &Limits::default()).documents.remove(0).root
    }

    #[test]
    fn list_items_become_objects_with_their_prefix() {
        let root = first("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n  spec: {}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n");
        let file: Arc<str> = "f.yaml".into();
        let Content::Objects(objs) = objects_of(&file, root) else {
            panic!("not objects")
        };
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1].id.kind, "Service");
        assert_eq!(objs[1].prefix, vec![Seg::key("items"), Seg::Index(1)]);
    }

    #[test]
    fn cronjob_view_points_under_job_template() {
        let root = first("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: []\n");
        let file: Arc<str> = "f.yaml".into();
        let Content::Objects(objs) = objects_of(&file, root) else {
            panic!()
        };
        let v = objs[0].pod_view().unwrap();
        let p = crate::node::render_path(&v.path(PodPart::Spec, &[Seg::key("containers")]));
        assert_eq!(p, "spec.jobTemplate.spec.template.spec.containers");
    }

    #[test]
    fn custom_resource_named_deployment_is_not_a_workload() {
        assert_eq!(WorkloadKind::of("example.com/v1", "Deployment"), None);
        assert_eq!(
            WorkloadKind::of("apps/v1", "Deployment"),
            Some(WorkloadKind::Template)
        );
    }

    #[test]
    fn values_file_is_skipped() {
        let file: Arc<str> = "values.yaml".into();
        assert!(matches!(
            objects_of(&file, first("replicas: 3\n")),
            Content::Skipped { .. }
        ));
    }
}
