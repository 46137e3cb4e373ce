//! The access graph of the findings: pods, subjects, bindings and roles,
//! with an edge for each link of a reported chain. Plain data; the DOT
//! writer is in palisade-report.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::{Analysis, Trace};
use crate::model::BindingDef;
use crate::types::Subject;

/// What a node of the access graph stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A pod (or workload) whose ServiceAccount token is mounted.
    Pod,
    /// A user, group or ServiceAccount.
    Subject,
    /// A RoleBinding or ClusterRoleBinding.
    Binding,
    /// A Role or ClusterRole.
    Role,
}

/// One node: its stable id, what it is, and its label (from the input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphNode {
    /// Unique id (`role:ClusterRole "x"`).
    pub id: String,
    /// What the node is.
    pub kind: NodeKind,
    /// Text to show.
    pub label: String,
}

/// One edge, labelled with the rule ids it carries (comma-separated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphEdge {
    /// Id of the source node.
    pub from: String,
    /// Id of the target node.
    pub to: String,
    /// Rule ids, or `runs as` / `member of`; may be empty.
    pub label: String,
    /// The link leads to privilege escalation.
    pub escalation: bool,
}

/// The access graph of the findings, nodes and edges in id order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccessGraph {
    /// Nodes, by id.
    pub nodes: Vec<GraphNode>,
    /// Edges, by (from, to).
    pub edges: Vec<GraphEdge>,
}

#[derive(Default)]
struct Graph {
    /// id → (kind, label)
    nodes: BTreeMap<String, (NodeKind, String)>,
    /// (from, to) → (label, escalation)
    edges: BTreeMap<(String, String), (String, bool)>,
}

impl Graph {
    fn node(&mut self, id: String, kind: NodeKind, label: String) -> String {
        self.nodes.entry(id.clone()).or_insert((kind, label));
        id
    }

    fn edge(&mut self, from: &str, to: &str, label: &str, escalation: bool) {
        let e = self
            .edges
            .entry((from.to_string(), to.to_string()))
            .or_insert_with(|| (String::new(), false));
        if !label.is_empty() && !e.0.split(", ").any(|l| l == label) {
            if !e.0.is_empty() {
                e.0.push_str(", ");
            }
            e.0.push_str(label);
        }
        e.1 |= escalation;
    }
}

impl Analysis {
    /// The access graph of the findings: subjects, bindings, roles and
    /// pods, edges labelled with the rule ids and marked where they lead to
    /// privilege escalation.
    pub fn access_graph(&self) -> AccessGraph {
        let mut g = Graph::default();
        for (f, t) in self.findings.iter().zip(&self.traces) {
            match *t {
                Trace::Role(ri) => {
                    if let Some(r) = self.role_ref_of(ri) {
                        g.node(
                            format!("role:{r}"),
                            NodeKind::Role,
                            format!("{r}\n{}", f.rule),
                        );
                    }
                }
                Trace::Binding(bi, si) => {
                    let Some(b) = self.binding(bi) else { continue };
                    let Some(s) = b.subjects.get(si as usize) else {
                        continue;
                    };
                    let subject = self.subject(s.key);
                    let escalation = matches!(
                        f.rule,
                        "rbac/cluster-admin-binding"
                            | "rbac/secrets-read-cluster"
                            | "rbac/secrets-read"
                            | "rbac/escalate-bind"
                            | "rbac/impersonate"
                            | "rbac/token-create"
                            | "rbac/workload-create"
                            | "rbac/nodes-proxy"
                    );
                    self.grant_edges(&mut g, &subject, b, f.rule, escalation);
                }
                Trace::Input => {}
                Trace::Pod(pi) => {
                    let Some((pod, idx)) = self.risky_pods.get(pi as usize) else {
                        continue;
                    };
                    let Some(risk) = self.sa_risks.get(*idx as usize) else {
                        continue;
                    };
                    let o = &pod.object;
                    let ns = o.namespace.as_deref().unwrap_or("default");
                    let pid = g.node(
                        format!("pod:{}/{}/{}", o.kind, ns, o.name),
                        NodeKind::Pod,
                        format!("{} {}/{}", o.kind, ns, o.name),
                    );
                    let sa = subject_node(&mut g, &risk.subject);
                    g.edge(&pid, &sa, "runs as", false);
                    for c in &risk.chains {
                        let Some(b) = self.binding(c.binding) else {
                            continue;
                        };
                        let Some(s) = b.subjects.get(c.subject as usize) else {
                            continue;
                        };
                        let via = self.subject(s.key);
                        if via != risk.subject {
                            let v = subject_node(&mut g, &via);
                            g.edge(&sa, &v, "member of", false);
                        }
                        let rule = c.cap.meta(b.cluster).id;
                        self.grant_edges(&mut g, &via, b, rule, c.cap.escalation());
                    }
                }
            }
        }
        AccessGraph {
            nodes: g
                .nodes
                .into_iter()
                .map(|(id, (kind, label))| GraphNode { id, kind, label })
                .collect(),
            edges: g
                .edges
                .into_iter()
                .map(|((from, to), (label, escalation))| GraphEdge {
                    from,
                    to,
                    label,
                    escalation,
                })
                .collect(),
        }
    }

    fn grant_edges(
        &self,
        g: &mut Graph,
        subject: &Subject,
        b: &BindingDef,
        rule: &str,
        escalation: bool,
    ) {
        let s = subject_node(g, subject);
        let binding = self.binding_ref(b);
        let bid = g.node(
            format!("binding:{binding}"),
            NodeKind::Binding,
            binding.to_string(),
        );
        let role = self.bound_role_ref(b);
        let rid = g.node(format!("role:{role}"), NodeKind::Role, role.to_string());
        g.edge(&s, &bid, "", false);
        g.edge(&bid, &rid, rule, escalation);
    }
}

fn subject_node(g: &mut Graph, s: &Subject) -> String {
    g.node(format!("subject:{s}"), NodeKind::Subject, s.describe())
}
