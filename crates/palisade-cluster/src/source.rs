//! The cluster as a scan source: discovery, then each resource's LIST page
//! by page on a thread of its own, into the scan through a channel of two
//! pages (the producer waits while the scan checks).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use palisade_core::object::{holds_pods, objects_of, Content};
use palisade_core::{Limits, Node, Object};
use palisade_scan::{Batch, Source, Stream, Unit};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::list::{ListOptions, Lister};
use crate::owners::SharedOwners;
use crate::resources::{self, Resource, Secrets};
use crate::Cluster;

/// Progress: a resource's name and the objects listed of it so far.
pub type Progress = Box<dyn Fn(&str, usize) + Send + Sync>;

/// What an audit reads, and how.
pub struct ClusterSource {
    lister: Lister,
    runtime: tokio::runtime::Handle,
    namespace: Option<String>,
    secrets: Secrets,
    owners: SharedOwners,
    progress: Option<Progress>,
}

/// What the producer sends.
enum Msg {
    /// Objects the index pass needs (Namespaces, ServiceAccounts).
    Index(Batch),
    /// The index is complete.
    IndexDone,
    /// Everything else.
    Rest(Batch),
}

impl ClusterSource {
    /// A source reading `cluster` on `runtime` (where its client lives),
    /// filling `owners` as it goes.
    pub fn new(
        cluster: &Cluster,
        runtime: tokio::runtime::Handle,
        opts: ListOptions,
        owners: SharedOwners,
    ) -> Self {
        ClusterSource {
            lister: Lister::new(cluster.client.clone(), opts),
            runtime,
            namespace: None,
            secrets: Secrets::No,
            owners,
            progress: None,
        }
    }

    /// Reads one namespace only (cluster-scoped resources are still read).
    pub fn namespace(mut self, namespace: Option<String>) -> Self {
        self.namespace = namespace;
        self
    }

    /// Whether and how Secrets are read.
    pub fn secrets(mut self, secrets: Secrets) -> Self {
        self.secrets = secrets;
        self
    }

    /// Reports progress to `f`.
    pub fn progress(mut self, f: Progress) -> Self {
        self.progress = Some(f);
        self
    }
}

impl Source for ClusterSource {
    fn units(self: Box<Self>, _limits: &Limits) -> Vec<Unit> {
        let (tx, mut rx) = mpsc::channel::<Msg>(2);
        let runtime = self.runtime.clone();
        std::thread::spawn(move || runtime.block_on(produce(*self, tx)));
        let mut index = Vec::new();
        let mut units = Vec::new();
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                Msg::Index(Batch::Objects(objects)) => index.extend(objects),
                Msg::Index(Batch::Error { name, message }) => {
                    units.push(Unit::Unreadable { name, message })
                }
                Msg::Index(Batch::Note(n)) => {
                    units.push(Unit::Stream(Stream::new(std::iter::once(Batch::Note(n)))))
                }
                Msg::IndexDone => break,
                Msg::Rest(b) => units.push(Unit::Stream(Stream::new(std::iter::once(b)))),
            }
        }
        units.insert(0, Unit::Objects(index.into()));
        units.push(Unit::Stream(Stream::new(std::iter::from_fn(
            move || loop {
                match rx.blocking_recv()? {
                    Msg::Rest(b) | Msg::Index(b) => return Some(b),
                    Msg::IndexDone => continue,
                }
            },
        ))));
        units
    }
}

/// Lists everything, in order, sending pages as they come.
async fn produce(src: ClusterSource, tx: mpsc::Sender<Msg>) {
    let (plan, problems) = plan(&src.lister, src.secrets).await;
    for message in problems {
        let _ = tx
            .send(Msg::Index(Batch::Error {
                name: "/apis".into(),
                message,
            }))
            .await;
    }
    let mut index_done = false;
    for resource in &plan {
        if !resource.index && !index_done {
            index_done = true;
            if tx.send(Msg::IndexDone).await.is_err() {
                return;
            }
        }
        let wrap = |b: Batch| {
            if resource.index {
                Msg::Index(b)
            } else {
                Msg::Rest(b)
            }
        };
        let ns = src.namespace.as_deref();
        let mut list = src.lister.list(resource, ns);
        loop {
            match list.next_page().await {
                Ok(Some(page)) => {
                    for note in page.notes {
                        if tx.send(wrap(Batch::Note(note))).await.is_err() {
                            return;
                        }
                    }
                    let objects = convert(resource, page.items, ns, &src.owners);
                    if let Some(p) = &src.progress {
                        p(&resource.display(), list.read());
                    }
                    if !objects.is_empty() && tx.send(wrap(Batch::Objects(objects))).await.is_err()
                    {
                        return;
                    }
                }
                Ok(None) => break,
                Err(f) => {
                    let b = Batch::Error {
                        name: list.path().to_string(),
                        message: f.message,
                    };
                    if tx.send(wrap(b)).await.is_err() {
                        return;
                    }
                    break;
                }
            }
        }
    }
    if !index_done {
        let _ = tx.send(Msg::IndexDone).await;
    }
}

/// The resources to read: the built-in ones the server serves, in their
/// order, then those found by discovery (Gatekeeper constraints, custom
/// workloads). When discovery fails, the built-in ones are read anyway and
/// the failure is an error.
async fn plan(lister: &Lister, secrets: Secrets) -> (Vec<Resource>, Vec<String>) {
    let builtin = resources::builtin(secrets);
    let mut problems = Vec::new();
    let served = match discover(lister).await {
        Ok(s) => s,
        Err(e) => {
            problems.push(format!(
                "API discovery failed ({e}); every built-in resource is listed as if served"
            ));
            return (builtin, problems);
        }
    };
    let mut plan: Vec<Resource> = Vec::new();
    for mut r in builtin {
        if let Some(versions) = served.groups.get(&r.group) {
            let found = versions
                .iter()
                .find(|(v, res)| *v == r.version && res.iter().any(|x| x.plural == r.plural));
            let found = found.or_else(|| {
                versions
                    .iter()
                    .find(|(_, res)| res.iter().any(|x| x.plural == r.plural))
            });
            if let Some((v, _)) = found {
                r.version = v.clone();
                plan.push(r);
            }
        }
    }
    // Custom workloads (an Argo Rollout owns ReplicaSets) go with the
    // controllers, before what they own; Gatekeeper constraints at the end.
    let owned_at = plan
        .iter()
        .position(|r| r.plural == "replicasets" && r.group == "apps")
        .unwrap_or(plan.len());
    let mut workloads = Vec::new();
    for group in resources::discovered_groups() {
        let Some(versions) = served.groups.get(group) else {
            continue;
        };
        let Some((version, res)) = versions.first() else {
            continue;
        };
        let api_version = format!("{group}/{version}");
        for x in res {
            let wanted = group == "constraints.gatekeeper.sh" || holds_pods(&api_version, &x.kind);
            if wanted
                && !plan
                    .iter()
                    .any(|p| p.group == group && p.plural == x.plural)
            {
                let into = if group == "constraints.gatekeeper.sh" {
                    &mut plan
                } else {
                    &mut workloads
                };
                into.push(Resource {
                    group: group.to_string(),
                    version: version.clone(),
                    plural: x.plural.clone(),
                    kind: x.kind.clone(),
                    namespaced: x.namespaced,
                    why: if group == "constraints.gatekeeper.sh" {
                        "Gatekeeper constraints"
                    } else {
                        "workloads"
                    },
                    metadata_only: false,
                    index: false,
                });
            }
        }
    }
    plan.splice(owned_at..owned_at, workloads);
    (plan, problems)
}

/// A resource as discovery lists it.
#[derive(Debug, Clone)]
struct Served {
    plural: String,
    kind: String,
    namespaced: bool,
}

/// Group → (version, resources), the preferred version first.
#[derive(Debug, Default)]
struct Discovery {
    groups: HashMap<String, Vec<(String, Vec<Served>)>>,
}

async fn discover(lister: &Lister) -> Result<Discovery, String> {
    let mut out = Discovery::default();
    let core = lister.get_json("/api/v1").await.map_err(|f| f.message)?;
    out.groups
        .insert(String::new(), vec![("v1".into(), served_of(&core))]);
    let groups = lister.get_json("/apis").await.map_err(|f| f.message)?;
    let mut wanted: HashSet<String> = resources::builtin(Secrets::No)
        .into_iter()
        .map(|r| r.group)
        .collect();
    wanted.extend(resources::discovered_groups().into_iter().map(String::from));
    for g in groups
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = g.get("name").and_then(Value::as_str) else {
            continue;
        };
        if !wanted.contains(name) {
            continue;
        }
        let preferred = g
            .pointer("/preferredVersion/version")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut versions: Vec<&str> = g
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("version").and_then(Value::as_str))
            .collect();
        versions.sort_by_key(|v| *v != preferred);
        let mut list = Vec::new();
        for v in versions {
            match lister.get_json(&format!("/apis/{name}/{v}")).await {
                Ok(r) => list.push((v.to_string(), served_of(&r))),
                Err(f) => return Err(f.message),
            }
        }
        out.groups.insert(name.to_string(), list);
    }
    Ok(out)
}

/// The listable top-level resources of an APIResourceList.
fn served_of(list: &Value) -> Vec<Served> {
    list.get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            r.get("verbs")
                .and_then(Value::as_array)
                .is_some_and(|v| v.iter().any(|v| v == "list"))
        })
        .filter_map(|r| {
            let plural = r.get("name").and_then(Value::as_str)?;
            if plural.contains('/') {
                return None;
            }
            Some(Served {
                plural: plural.to_string(),
                kind: r.get("kind").and_then(Value::as_str)?.to_string(),
                namespaced: r.get("namespaced").and_then(Value::as_bool).unwrap_or(true),
            })
        })
        .collect()
}

/// A page's items as objects located at their API paths, with their
/// controllers recorded.
fn convert(
    resource: &Resource,
    items: Vec<Value>,
    namespace: Option<&str>,
    owners: &SharedOwners,
) -> Vec<Object> {
    let mut out = Vec::with_capacity(items.len());
    let pods = holds_pods(&resource.api_version(), &resource.kind);
    let mut recorded = Vec::new();
    for item in items {
        let meta = item.get("metadata");
        let name = meta
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        // `--namespace`: the Namespaces list is cluster-wide; keep its one.
        if let (Some(ns), false) = (namespace, resource.namespaced) {
            if resource.plural == "namespaces" && name != ns {
                continue;
            }
        }
        let ns = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Value::as_str);
        let file: Arc<str> = resource.object_path(ns, name).into();
        let controller = meta
            .and_then(|m| m.get("ownerReferences"))
            .and_then(Value::as_array)
            .and_then(|refs| {
                refs.iter()
                    .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
            })
            .and_then(|r| {
                Some((
                    r.get("apiVersion")?.as_str()?.to_string(),
                    r.get("kind")?.as_str()?.to_string(),
                    r.get("name")?.as_str()?.to_string(),
                ))
            });
        let running = if pods {
            running_pods(&resource.kind, &item)
        } else {
            None
        };
        let root = Node::from_json(&item);
        drop(item);
        if let Content::Objects(objects) = objects_of(&file, root) {
            for o in objects {
                if pods {
                    recorded.push((o.id.clone(), o.file.clone(), controller.clone(), running));
                }
                out.push(o);
            }
        }
    }
    if !recorded.is_empty() {
        let mut owners = owners.lock().unwrap_or_else(|e| e.into_inner());
        for (id, file, controller, running) in &recorded {
            owners.record(
                id,
                file,
                *running,
                controller
                    .as_ref()
                    .map(|(a, k, n)| (a.as_str(), k.as_str(), n.as_str())),
            );
        }
    }
    out
}

/// The pods a controller runs, as its status reports them.
fn running_pods(kind: &str, item: &Value) -> Option<u32> {
    let status = item.get("status")?;
    let n = match kind {
        "DaemonSet" => status.get("currentNumberScheduled")?.as_u64()?,
        "Job" => status.get("active")?.as_u64()?,
        "CronJob" => status.get("active")?.as_array()?.len() as u64,
        "Pod" => return None,
        _ => status.get("replicas")?.as_u64()?,
    };
    u32::try_from(n).ok()
}

/// The cluster's admission policies as it holds them: Gatekeeper's
/// ConstraintTemplates and Constraints, ValidatingAdmissionPolicies with
/// their bindings, and the objects of each policy's `paramKind` (among
/// the resources palisade lists). Read before the audit starts (they are
/// few) so that they can be compiled and reviewed against every object
/// listed. A resource that cannot be read here is skipped: the audit
/// lists it again and reports the error.
pub async fn gatekeeper_policies(lister: &Lister) -> Vec<Object> {
    let (plan, _) = plan(lister, Secrets::No).await;
    let owners = SharedOwners::default();
    let is_vap = |r: &Resource| {
        r.group == "admissionregistration.k8s.io"
            && (r.plural == "validatingadmissionpolicies"
                || r.plural == "validatingadmissionpolicybindings")
    };
    let selected: Vec<&Resource> = plan
        .iter()
        .filter(|r| {
            r.group == "constraints.gatekeeper.sh"
                || (r.group == "templates.gatekeeper.sh" && r.plural == "constrainttemplates")
                || is_vap(r)
        })
        .collect();
    let mut out = Vec::new();
    for resource in selected {
        list_all(lister, resource, &owners, &mut out).await;
    }
    // The params: every resource of a paramKind that is in the plan.
    let kinds: Vec<(String, String)> = out
        .iter()
        .filter(|o| o.id.kind == "ValidatingAdmissionPolicy")
        .filter_map(|o| {
            let k = o.root.get_path(&["spec", "paramKind"])?;
            Some((
                k.get("apiVersion")?.as_str()?.to_string(),
                k.get("kind")?.as_str()?.to_string(),
            ))
        })
        .collect();
    for resource in plan.iter().filter(|r| {
        kinds
            .iter()
            .any(|(v, k)| *k == r.kind && *v == r.api_version())
    }) {
        list_all(lister, resource, &owners, &mut out).await;
    }
    out
}

async fn list_all(
    lister: &Lister,
    resource: &Resource,
    owners: &SharedOwners,
    out: &mut Vec<Object>,
) {
    let mut list = lister.list(resource, None);
    while let Ok(Some(page)) = list.next_page().await {
        out.extend(convert(resource, page.items, None, owners));
    }
}
