//! The access graph of the findings in Graphviz DOT: pods, subjects,
//! bindings and roles, with an edge for each link of a reported chain.
//! Labels come from the input, so every string is escaped.
//! <https://graphviz.org/doc/info/lang.html>

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::analysis::{Analysis, Trace};
use crate::model::BindingDef;
use crate::types::Subject;

/// Escapes text for a double-quoted DOT string.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Graph {
    /// id → (shape, label)
    nodes: BTreeMap<String, (&'static str, String)>,
    /// (from, to) → (label, escalation)
    edges: BTreeMap<(String, String), (String, bool)>,
}

impl Graph {
    fn node(&mut self, id: String, shape: &'static str, label: String) -> String {
        self.nodes.entry(id.clone()).or_insert((shape, label));
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
    /// The access graph of the findings in Graphviz DOT: subjects, bindings,
    /// roles and pods, edges labelled with the rule ids; red edges lead to
    /// privilege escalation.
    pub fn dot(&self) -> String {
        let mut g = Graph::default();
        for (f, t) in self.findings.iter().zip(&self.traces) {
            match *t {
                Trace::Role(ri) => {
                    if let Some(r) = self.role_ref_of(ri) {
                        g.node(format!("role:{r}"), "box", format!("{r}\n{}", f.rule));
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
                        "component",
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
        let mut out = String::from("digraph rbac {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
        for (id, (shape, label)) in &g.nodes {
            let _ = writeln!(
                out,
                "  \"{}\" [shape={shape}, label=\"{}\"];",
                escape(id),
                escape(label)
            );
        }
        for ((from, to), (label, escalation)) in &g.edges {
            let color = if *escalation {
                ", color=red, fontcolor=red"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [label=\"{}\"{color}];",
                escape(from),
                escape(to),
                escape(label)
            );
        }
        out.push_str("}\n");
        out
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
        let bid = g.node(format!("binding:{binding}"), "diamond", binding.to_string());
        let role = self.bound_role_ref(b);
        let rid = g.node(format!("role:{role}"), "box", role.to_string());
        g.edge(&s, &bid, "", false);
        g.edge(&bid, &rid, rule, escalation);
    }
}

fn subject_node(g: &mut Graph, s: &Subject) -> String {
    g.node(format!("subject:{s}"), "ellipse", s.describe())
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn quotes_backslashes_and_newlines_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd\re\u{7}"), "a\\\"b\\\\c\\nde ");
    }
}
