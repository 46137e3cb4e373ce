//! `network/pod-not-isolated` (opt-in): a workload whose pods no
//! NetworkPolicy of their own namespace selects, so they accept traffic
//! from every pod of the cluster and send it anywhere. Judged per
//! namespace within the scan: a policy selects pods of its own namespace
//! only, so an empty `podSelector` in another namespace covers nothing.

use std::sync::Arc;

use palisade_core::{Finding, Node, Object, PodInfo, RuleMeta, Severity};

use crate::analysis::{Analysis, Needs, Out, Run};

/// Catalog entry. Off by default: a chart or a directory without its
/// namespace's policies would report every workload.
pub static META: RuleMeta = RuleMeta {
    id: "network/pod-not-isolated",
    title: "Workload not selected by any NetworkPolicy of its namespace",
    severity: Severity::Low,
    level: None,
    rationale: "Pods that no NetworkPolicy selects accept connections from every pod of the cluster and may connect anywhere: one compromised pod reaches them all (lateral movement). Judged per namespace within the scan: a NetworkPolicy selects pods of its own namespace only. Off by default; enable it in the policy file (rules: {network/pod-not-isolated: {enabled: true}}) when the scan holds each namespace's policies.",
    remediation: "Add a default-deny NetworkPolicy to the namespace (podSelector: {}, policyTypes: [Ingress, Egress]) and allow the traffic each workload needs.",
    references: &[
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        "https://kubernetes.io/docs/concepts/security/security-checklist/#network-security",
    ],
};

/// The analysis.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkIsolation;

fn is_network_policy(api_version: &str, kind: &str) -> bool {
    kind == "NetworkPolicy" && api_version.starts_with("networking.k8s.io/")
}

impl Analysis for NetworkIsolation {
    fn needs(&self) -> Needs {
        Needs {
            select: None,
            objects: Some(is_network_policy),
            images: false,
        }
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let gate = run.engine.gate();
        if !gate.setting(META.id, false, META.severity).enabled {
            return Ok(());
        }
        let policies: Vec<&Object> = run
            .objects
            .iter()
            .filter(|o| is_network_policy(&o.id.api_version, &o.id.kind))
            .collect();
        for pod in run.pods {
            let ns = namespace(pod.namespace.as_str());
            let selected = policies.iter().any(|p| {
                namespace(p.id.namespace.as_deref().unwrap_or("")) == ns
                    && p.root
                        .get_path(&["spec", "podSelector"])
                        .is_some_and(|s| selects(s, &pod.labels))
            });
            if !selected {
                out.finding(finding(pod, ns));
            }
        }
        Ok(())
    }
}

/// An object without a namespace is created in `default`.
fn namespace(ns: &str) -> &str {
    if ns.is_empty() {
        "default"
    } else {
        ns
    }
}

fn finding(pod: &PodInfo, ns: &str) -> Finding {
    let path = palisade_core::WorkloadKind::of(&pod.object.api_version, &pod.object.kind)
        .map(|k| {
            let mut p: Vec<&str> = k.template_path().to_vec();
            p.extend(["metadata", "labels"]);
            p.join(".")
        })
        .unwrap_or_default();
    Finding {
        rule: META.id,
        severity: META.severity,
        message: format!(
            "{} {:?}: no NetworkPolicy of namespace {ns:?} in the input selects its pods, so they take connections from any pod and connect anywhere",
            pod.object.kind, pod.object.name
        ),
        object: Arc::clone(&pod.object),
        container: None,
        path,
        file: pod.file.clone(),
        line: pod.labels_pos.0,
        column: pod.labels_pos.1,
        remediation: META.remediation,
    }
}

/// Whether a label selector (`matchLabels`, `matchExpressions`) selects
/// `labels`; an empty selector selects every pod. A selector of the wrong
/// shape selects nothing (the API server would have refused it).
pub(crate) fn selects(selector: &Node, labels: &[(String, String)]) -> bool {
    let get = |k: &str| {
        labels
            .iter()
            .find(|(lk, _)| lk == k)
            .map(|(_, v)| v.as_str())
    };
    let text = |n: &Node| {
        n.as_str()
            .map(str::to_string)
            .or_else(|| Some(node_text(n)))
    };
    let match_labels = selector
        .get("matchLabels")
        .map(Node::entries)
        .unwrap_or_default();
    let labels_ok = match_labels
        .iter()
        .all(|e| text(&e.node).is_some_and(|v| get(&e.key) == Some(v.as_str())));
    let exprs = selector
        .get("matchExpressions")
        .map(Node::items)
        .unwrap_or_default();
    labels_ok
        && exprs.iter().all(|x| {
            let key = x.get("key").and_then(Node::as_str).unwrap_or("");
            let values: Vec<String> = x
                .get("values")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(text)
                .collect();
            let v = get(key);
            match x.get("operator").and_then(Node::as_str) {
                Some("In") => v.is_some_and(|v| values.iter().any(|x| x == v)),
                Some("NotIn") => v.is_none_or(|v| values.iter().all(|x| x != v)),
                Some("Exists") => v.is_some(),
                Some("DoesNotExist") => v.is_none(),
                _ => false,
            }
        })
}

/// A scalar as text (`true`, `3`), as label values are compared.
fn node_text(n: &Node) -> String {
    match &n.value {
        palisade_core::Value::Bool(b) => b.to_string(),
        palisade_core::Value::Int(i) => i.to_string(),
        palisade_core::Value::Float(f) => f.to_string(),
        palisade_core::Value::Str(s) => s.clone(),
        _ => String::new(),
    }
}
