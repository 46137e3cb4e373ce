//! Argo Workflows: a Workflow (and a WorkflowTemplate, a
//! ClusterWorkflowTemplate, a CronWorkflow's `workflowSpec`) holds one pod
//! per template that runs a container (`container`, `script`,
//! `containerSet`). Each such template is checked as a pod of its own: its
//! containers (init containers and sidecars included) in a pod spec built
//! for the checks, with the pod-level fields the template sets, else those
//! of the workflow spec. Every path found there is mapped back to where it
//! is written (`spec.templates[2].container.securityContext.privileged`).

use crate::node::{Entry, Node, Seg, Value};

use super::{CustomWorkload, Object, PodPart, PodView, WorkloadKind, POD_LISTS};

/// The kinds holding templates, and where their templates are.
const KINDS: [(&str, &[&str]); 4] = [
    ("Workflow", &["spec"]),
    ("WorkflowTemplate", &["spec"]),
    ("ClusterWorkflowTemplate", &["spec"]),
    ("CronWorkflow", &["spec", "workflowSpec"]),
];

/// Pod-spec fields a template may set, and the workflow spec gives otherwise.
const POD_FIELDS: [&str; 12] = [
    "securityContext",
    "serviceAccountName",
    "automountServiceAccountToken",
    "volumes",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "nodeSelector",
    "tolerations",
    "affinity",
    "runtimeClassName",
    "priorityClassName",
];

static ARGO_POD: CustomWorkload = CustomWorkload {
    group: "argoproj.io",
    kind: "Workflow",
    spec: &["spec"],
    lists: POD_LISTS,
};

/// One template's pod: the pod spec built for the checks and where its
/// parts are written.
#[derive(Debug)]
pub struct TemplatePod {
    spec: Node,
    meta: Option<Node>,
    map: ViewMap,
}

impl TemplatePod {
    /// The view the checks see.
    pub fn view(&self) -> PodView<'_> {
        PodView {
            meta: self.meta.as_ref(),
            spec: &self.spec,
            kind: WorkloadKind::Custom(&ARGO_POD),
            map: Some(&self.map),
        }
    }
}

/// Where the parts of a template's pod are written.
#[derive(Debug)]
pub struct ViewMap {
    /// The template (`spec.templates[2]`).
    template: Vec<Seg>,
    /// The workflow spec (`spec`, or `spec.workflowSpec`).
    workflow: Vec<Seg>,
    /// Pod-spec fields the template takes from the workflow spec.
    inherited: Vec<&'static str>,
    /// Each container of the built pod spec: its list, index and real path.
    containers: Vec<(&'static str, usize, Vec<Seg>)>,
}

impl ViewMap {
    /// The path, from the object root, of `rel` in the built pod.
    pub(super) fn real(&self, part: PodPart, rel: &[Seg]) -> Vec<Seg> {
        let (base, rest): (&[Seg], &[Seg]) = match (part, rel) {
            (PodPart::Meta, _) => {
                let mut p = self.template.clone();
                p.push(Seg::key("metadata"));
                p.extend_from_slice(rel);
                return p;
            }
            (PodPart::Spec, [Seg::Key(list), Seg::Index(i), rest @ ..]) => {
                match self
                    .containers
                    .iter()
                    .find(|(l, j, _)| **l == **list && j == i)
                {
                    Some((_, _, path)) => (path, rest),
                    None => (&self.template, rel),
                }
            }
            (PodPart::Spec, [Seg::Key(k), ..]) if self.inherited.iter().any(|f| *f == &**k) => {
                (&self.workflow, rel)
            }
            _ => (&self.template, rel),
        };
        let mut p = base.to_vec();
        p.extend_from_slice(rest);
        p
    }
}

/// Whether `api_version`/`kind` is one of the Argo kinds holding templates.
pub(super) fn is_workflow_kind(api_version: &str, kind: &str) -> bool {
    api_version.rsplit_once('/').map(|(g, _)| g) == Some("argoproj.io")
        && KINDS.iter().any(|(k, _)| *k == kind)
}

impl Object {
    /// The pods of an Argo workflow's templates; `None` for other kinds.
    pub fn template_pods(&self) -> Option<Vec<TemplatePod>> {
        let group = self.id.api_version.rsplit_once('/').map(|(g, _)| g)?;
        if group != "argoproj.io" {
            return None;
        }
        let (_, spec_path) = KINDS.iter().find(|(k, _)| *k == self.id.kind)?;
        let workflow = self.root.get_path(spec_path)?;
        let workflow_path: Vec<Seg> = spec_path.iter().map(|k| Seg::key(k)).collect();
        let templates = workflow
            .get("templates")
            .map(Node::items)
            .unwrap_or_default();
        Some(
            templates
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let mut path = workflow_path.clone();
                    path.extend([Seg::key("templates"), Seg::Index(i)]);
                    template_pod(t, workflow, path, &workflow_path)
                })
                .collect(),
        )
    }
}

/// The pod of one template, if it runs a container.
fn template_pod(
    t: &Node,
    workflow: &Node,
    template: Vec<Seg>,
    workflow_path: &[Seg],
) -> Option<TemplatePod> {
    let mut containers: Vec<Node> = Vec::new();
    let mut map = ViewMap {
        template: template.clone(),
        workflow: workflow_path.to_vec(),
        inherited: Vec::new(),
        containers: Vec::new(),
    };
    let mut add = |list: &'static str, node: &Node, real: Vec<Seg>, out: &mut Vec<Node>| {
        map.containers.push((list, out.len(), real));
        out.push(node.clone());
    };
    let at = |keys: &[Seg]| {
        let mut p = template.clone();
        p.extend_from_slice(keys);
        p
    };
    for key in ["container", "script"] {
        if let Some(c) = t.get(key).filter(|c| c.is_map()) {
            add("containers", c, at(&[Seg::key(key)]), &mut containers);
        }
    }
    let set = t
        .get_path(&["containerSet", "containers"])
        .map(Node::items)
        .unwrap_or_default();
    for (j, c) in set.iter().enumerate() {
        let real = at(&[
            Seg::key("containerSet"),
            Seg::key("containers"),
            Seg::Index(j),
        ]);
        add("containers", c, real, &mut containers);
    }
    if containers.is_empty() {
        return None;
    }
    for (j, c) in t
        .get("sidecars")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        add(
            "containers",
            c,
            at(&[Seg::key("sidecars"), Seg::Index(j)]),
            &mut containers,
        );
    }
    let mut init: Vec<Node> = Vec::new();
    for (j, c) in t
        .get("initContainers")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        add(
            "initContainers",
            c,
            at(&[Seg::key("initContainers"), Seg::Index(j)]),
            &mut init,
        );
    }
    let mut entries: Vec<Entry> = Vec::new();
    for field in POD_FIELDS {
        let (entry, inherited) = match t.entry(field) {
            Some(e) => (Some(e), false),
            None => (workflow.entry(field), true),
        };
        if let Some(e) = entry {
            if inherited {
                map.inherited.push(field);
            }
            entries.push(e.clone());
        }
    }
    let list = |key: &str, items: Vec<Node>| Entry {
        key: key.to_string(),
        key_pos: t.pos,
        node: Node::new(t.pos, Value::Seq(items)),
    };
    entries.push(list("containers", containers));
    if !init.is_empty() {
        entries.push(list("initContainers", init));
    }
    Some(TemplatePod {
        spec: Node::new(t.pos, Value::Map(entries)),
        meta: t.get("metadata").cloned(),
        map,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::object::{objects_of, Content};

    #[test]
    fn each_container_template_is_a_pod_mapped_to_its_paths() {
        let yaml = "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n  hostNetwork: true\n  templates:\n  - name: main\n    steps: []\n  - name: build\n    container: {name: main, image: golang}\n    sidecars: [{name: cache, image: redis}]\n";
        let doc = crate::loader::load_str(yaml, &crate::Limits::default())
            .documents
            .remove(0);
        let Content::Objects(objs) = objects_of(&Arc::from("w.yaml"), doc.root) else {
            panic!("an object");
        };
        let pods = objs[0].template_pods().unwrap();
        assert_eq!(pods.len(), 1);
        let view = pods[0].view();
        let names: Vec<_> = view
            .containers()
            .map(|c| c.name().unwrap().to_string())
            .collect();
        assert_eq!(names, ["main", "cache"]);
        let render = |part, rel: &[Seg]| crate::node::render_path(&view.path(part, rel));
        let c1 = [Seg::key("containers"), Seg::Index(1), Seg::key("image")];
        assert_eq!(
            render(PodPart::Spec, &c1),
            "spec.templates[1].sidecars[0].image"
        );
        let host = [Seg::key("hostNetwork")];
        assert_eq!(render(PodPart::Spec, &host), "spec.hostNetwork");
        let sc = [Seg::key("securityContext")];
        assert_eq!(
            render(PodPart::Spec, &sc),
            "spec.templates[1].securityContext"
        );
    }
}
