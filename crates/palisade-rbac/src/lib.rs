//! palisade-rbac: turns RBAC objects and the workloads of a scan into an
//! access graph and answers questions about it. Pure: no I/O.
//!
//! - **Input**: Roles, ClusterRoles (with `aggregationRule`), RoleBindings,
//!   ClusterRoleBindings, ServiceAccounts and Namespaces from manifests or a
//!   cluster dump ([`Input::objects`], any other kind is ignored), and each
//!   workload's ServiceAccount ([`Input::pods`]). The API server's default
//!   ClusterRoles and ClusterRoleBindings are known when the input lacks them.
//! - **Effective permissions** ([`Analysis::can`]): what a subject holds,
//!   cluster-wide and per namespace, through its bindings and implicit
//!   groups, following RoleBinding → ClusterRole scoping, aggregation,
//!   wildcards, resourceNames, subresources and non-resource URLs as the
//!   RBAC authorizer does.
//! - **Risk rules** ([`catalog()`], [`Analysis::findings`]): the `rbac/*`
//!   rules, located at the offending subject or rule of the input.
//! - **Attack paths** ([`Analysis::paths`]): pod → ServiceAccount → binding
//!   → role → rule chains for pods whose mounted token holds a risky
//!   permission.
//! - **Queries and graph**: [`Analysis::who_can`], [`Analysis::access_graph`].
//!
//! Objects without `metadata.namespace` are taken to be in `default`, as
//! `kubectl apply` without `-n` places them; the same holds for pods.
//! Objects labelled `kubernetes.io/bootstrapping: rbac-defaults` (the
//! built-in policy as a cluster dump holds it) are analysed but never
//! reported.
//! <https://kubernetes.io/docs/reference/access-authn-authz/rbac/>

#![warn(missing_docs)]

mod analysis;
mod builtin;
mod caps;
pub mod catalog;
mod graph;
mod matching;
mod model;
mod query;
mod types;

use palisade_core::Object;

pub use analysis::{Analysis, Counts, Options};
pub use catalog::{catalog, CONFLICT};
pub use graph::{AccessGraph, GraphEdge, GraphNode, NodeKind};
pub use types::{
    AttackPath, EffectiveRule, Grant, PodSummary, RbacRef, RuleView, Scope, Subject, SubjectError,
};

/// A workload's pod as the scan saw it: the core engine's [`palisade_core::PodInfo`],
/// so that a scan's collected pods are the analysis input as they are.
pub type PodRef = palisade_core::PodInfo;

/// What to analyse: borrowed from a scan's outcome (a cluster's thousands
/// of bindings are not copied) or owned.
#[derive(Debug, Clone, Default)]
pub struct Input<'a> {
    /// Any objects: the RBAC kinds, ServiceAccounts and Namespaces (by
    /// apiVersion group) are read, the others ignored.
    pub objects: std::borrow::Cow<'a, [Object]>,
    /// Every workload's ServiceAccount and token.
    pub pods: std::borrow::Cow<'a, [PodRef]>,
}

/// Whether a scan should keep an object for the analysis: the RBAC kinds
/// (`rbac.authorization.k8s.io` Role, ClusterRole, RoleBinding,
/// ClusterRoleBinding) and core `v1` ServiceAccount and Namespace.
pub fn is_rbac_input(api_version: &str, kind: &str) -> bool {
    model::Kind::of(api_version, kind).is_some()
}

/// Analyses `input` with the default [`Options`].
pub fn analyze(input: &Input) -> Analysis {
    analyze_with(input, &Options::default())
}

/// Analyses `input`.
pub fn analyze_with(input: &Input, options: &Options) -> Analysis {
    analysis::run(input, options)
}

impl Analysis {
    /// The `rbac/*` findings, in input order (risky pods last), each located
    /// at the offending field: a binding's `subjects[i]`, a role's
    /// `rules[i].verbs` (or `.resources`), a pod's ServiceAccount.
    pub fn findings(&self) -> Vec<palisade_core::Finding> {
        self.findings.clone()
    }

    /// [`Analysis::findings`], moved out (a large cluster's findings are
    /// not held twice); the analysis has none left.
    pub fn take_findings(&mut self) -> Vec<palisade_core::Finding> {
        std::mem::take(&mut self.findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbac_kinds_are_kept_by_group_not_by_name() {
        assert!(is_rbac_input("rbac.authorization.k8s.io/v1", "ClusterRole"));
        assert!(is_rbac_input(
            "rbac.authorization.k8s.io/v1beta1",
            "RoleBinding"
        ));
        assert!(is_rbac_input("v1", "ServiceAccount"));
        assert!(is_rbac_input("v1", "Namespace"));
        assert!(!is_rbac_input("example.com/v1", "Role"));
        assert!(!is_rbac_input("v1", "Pod"));
    }
}
