//! The RBAC model read from the input objects and the built-in policy:
//! roles with their rules, bindings with their subjects, ServiceAccounts and
//! Namespaces. Reading is lenient: a field of the wrong shape is left out,
//! never a reason to panic, as the API server would have refused the object.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use palisade_core::{ObjectRef, Pos};

use crate::caps::{Caps, RuleParts};

mod build;

/// An interned string.
pub(crate) type Sym = u32;

/// Interns names so that maps key on integers and each name is stored once.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    map: HashMap<Arc<str>, Sym>,
    strs: Vec<Arc<str>>,
}

impl Interner {
    /// The symbol of `s`, added when new.
    pub(crate) fn intern(&mut self, s: &str) -> Sym {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let a: Arc<str> = Arc::from(s);
        let i = self.strs.len() as Sym;
        self.strs.push(a.clone());
        self.map.insert(a, i);
        i
    }

    /// The symbol of `s`, when it was interned.
    pub(crate) fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }

    /// The text of a symbol.
    pub(crate) fn str(&self, i: Sym) -> &str {
        self.strs.get(i as usize).map_or("", |s| s)
    }
}

/// The namespace that objects without one are taken to be in, as
/// `kubectl apply` without `-n` places them.
pub(crate) const DEFAULT_NAMESPACE: &str = "default";

/// Where an object of the input came from.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    /// File.
    pub file: Arc<str>,
    /// Identity (shared with findings).
    pub id: Arc<ObjectRef>,
    /// Position in the input, to report findings in input order.
    pub ordinal: u32,
    /// Line where the object starts.
    pub line: u32,
    /// Labelled `kubernetes.io/bootstrapping: rbac-defaults` (a cluster
    /// dump's copy of the built-in policy): analysed, never reported.
    pub bootstrap: bool,
    /// Not annotated `rbac.authorization.kubernetes.io/autoupdate: "false"`:
    /// the API server reconciles a bootstrap role of this name.
    pub autoupdate: bool,
}

/// One rule of a role.
#[derive(Debug)]
pub(crate) struct RuleDef {
    /// The role that writes it.
    pub role: u32,
    /// Its index in that role's `rules`.
    pub index: u32,
    /// `verbs`.
    pub verbs: Box<[Box<str>]>,
    /// `apiGroups`.
    pub groups: Box<[Box<str>]>,
    /// `resources`.
    pub resources: Box<[Box<str>]>,
    /// `resourceNames`.
    pub names: Box<[Box<str>]>,
    /// `nonResourceURLs`.
    pub urls: Box<[Box<str>]>,
    /// Position of `verbs` (else of the rule).
    pub verbs_pos: Pos,
    /// Position of `resources` (else of the rule).
    pub resources_pos: Pos,
    /// Position of `nonResourceURLs` (else of the rule).
    pub urls_pos: Pos,
    /// What it grants through a ClusterRoleBinding.
    pub caps_cluster: Caps,
    /// What it grants through a RoleBinding.
    pub caps_ns: Caps,
}

impl RuleDef {
    /// The parts that decide what it grants.
    pub(crate) fn parts(&self) -> RuleParts<'_> {
        RuleParts {
            verbs: &self.verbs,
            groups: &self.groups,
            resources: &self.resources,
            names: &self.names,
            urls: &self.urls,
        }
    }

    /// What it grants in a scope.
    pub(crate) fn caps(&self, cluster: bool) -> Caps {
        if cluster {
            self.caps_cluster
        } else {
            self.caps_ns
        }
    }

    /// Whether it has a `*` verb, resource or URL (`rbac/wildcard`).
    pub(crate) fn wildcard(&self) -> Option<(&'static str, Pos)> {
        let star = |l: &[Box<str>]| l.iter().any(|v| &**v == "*");
        if star(&self.verbs) {
            Some(("verbs", self.verbs_pos))
        } else if star(&self.resources) {
            Some(("resources", self.resources_pos))
        } else if star(&self.urls) {
            Some(("nonResourceURLs", self.urls_pos))
        } else {
            None
        }
    }
}

/// A label selector of an `aggregationRule`.
#[derive(Debug, Default)]
pub(crate) struct Selector {
    labels: Vec<(String, String)>,
    exprs: Vec<(String, Op, Vec<String>)>,
    /// An unknown operator makes the controller give up on the role.
    valid: bool,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    /// Whether a role with `labels` is selected (an empty selector selects all).
    pub(crate) fn matches(&self, labels: &[(Box<str>, Box<str>)]) -> bool {
        let get = |k: &str| labels.iter().find(|(lk, _)| &**lk == k).map(|(_, v)| &**v);
        self.valid
            && self.labels.iter().all(|(k, v)| get(k) == Some(v.as_str()))
            && self.exprs.iter().all(|(k, op, values)| {
                let v = get(k);
                match op {
                    Op::In => v.is_some_and(|v| values.iter().any(|x| x == v)),
                    Op::NotIn => v.is_none_or(|v| values.iter().all(|x| x != v)),
                    Op::Exists => v.is_some(),
                    Op::DoesNotExist => v.is_none(),
                }
            })
    }
}

/// A Role or ClusterRole.
#[derive(Debug)]
pub(crate) struct RoleDef {
    /// ClusterRole (else Role).
    pub cluster: bool,
    /// Namespace of a Role.
    pub namespace: Option<Sym>,
    /// Name.
    pub name: Sym,
    /// Labels (ClusterRoles only: aggregation reads them).
    pub labels: Vec<(Box<str>, Box<str>)>,
    /// `aggregationRule.clusterRoleSelectors` (ClusterRoles only).
    pub aggregation: Option<Vec<Selector>>,
    /// Its own rules: a range of [`Model::rules`].
    pub own: std::ops::Range<u32>,
    /// Rules it grants besides its own: those of the other definitions of
    /// the same role in the input, and the built-in rules of a bootstrap
    /// role the API server reconciles.
    pub extra: Vec<u32>,
    /// A bootstrap role the input redefines: the API server adds the
    /// built-in rules back at start-up (unless `autoupdate` is `"false"`).
    pub reconciled: bool,
    /// A built-in role that an input role of the same name stands for (its
    /// rules are in that role's `extra`): never bound, never reported.
    pub shadow: bool,
    /// With aggregation: own rules and those of the roles it selects.
    pub effective: Option<Vec<u32>>,
    /// Where it was written; `None` for the built-in policy.
    pub source: Option<Source>,
    /// What it grants through a ClusterRoleBinding.
    pub caps_cluster: Caps,
    /// What it grants through a RoleBinding.
    pub caps_ns: Caps,
}

impl RoleDef {
    /// Indices of the rules it grants.
    pub(crate) fn rule_ids(&self) -> Vec<u32> {
        match &self.effective {
            Some(e) => e.clone(),
            None => self.base_rules().collect(),
        }
    }

    /// Its own rules, then the extra ones.
    pub(crate) fn base_rules(&self) -> impl Iterator<Item = u32> + '_ {
        self.own.clone().chain(self.extra.iter().copied())
    }

    /// Calls `f` with each rule index it grants, until `f` returns true.
    pub(crate) fn find_rule(&self, mut f: impl FnMut(u32) -> bool) -> Option<u32> {
        match &self.effective {
            Some(e) => e.iter().copied().find(|&r| f(r)),
            None => self.base_rules().find(|&r| f(r)),
        }
    }

    /// What it grants in a scope.
    pub(crate) fn caps(&self, cluster: bool) -> Caps {
        if cluster {
            self.caps_cluster
        } else {
            self.caps_ns
        }
    }
}

/// Who a binding names, keyed for look-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum SubjectKey {
    /// `kind: User`.
    User(Sym),
    /// `kind: Group`.
    Group(Sym),
    /// `kind: ServiceAccount`: namespace, name.
    ServiceAccount(Sym, Sym),
}

/// A subject as written in a binding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SubjectDef {
    /// Who.
    pub key: SubjectKey,
    /// Index in `subjects`.
    pub index: u32,
    /// Position of the list item.
    pub pos: Pos,
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug)]
pub(crate) struct BindingDef {
    /// ClusterRoleBinding (else RoleBinding).
    pub cluster: bool,
    /// Namespace of a RoleBinding.
    pub namespace: Option<Sym>,
    /// Name.
    pub name: Sym,
    /// `roleRef.kind` is ClusterRole (else Role).
    pub role_cluster: bool,
    /// `roleRef.name`.
    pub role_name: Sym,
    /// The role it refers to, when it exists.
    pub role: Option<u32>,
    /// Subjects that could be read.
    pub subjects: Vec<SubjectDef>,
    /// Where it was written; `None` for the built-in policy.
    pub source: Option<Source>,
}

/// Everything read from the input and the built-in policy.
#[derive(Debug, Default)]
pub(crate) struct Model {
    /// Names.
    pub strings: Interner,
    /// All roles (input first, then the built-in ones the input lacks).
    pub roles: Vec<RoleDef>,
    /// All rules of all roles.
    pub rules: Vec<RuleDef>,
    /// All bindings.
    pub bindings: Vec<BindingDef>,
    /// `(namespace, name)` of ServiceAccounts in the input.
    pub service_accounts: HashSet<(Sym, Sym)>,
    /// Namespaces holding at least one ServiceAccount of the input.
    pub namespaces_with_sas: HashSet<Sym>,
    /// Namespaces declared by the input.
    pub namespaces: HashSet<Sym>,
    /// Objects the input defines more than once with different content:
    /// every definition of each, in input order.
    pub conflicts: Vec<Vec<Source>>,
}

/// The API group of an `apiVersion`.
fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// Which RBAC-relevant kind an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// `rbac.authorization.k8s.io/Role`.
    Role,
    /// `rbac.authorization.k8s.io/ClusterRole`.
    ClusterRole,
    /// `rbac.authorization.k8s.io/RoleBinding`.
    RoleBinding,
    /// `rbac.authorization.k8s.io/ClusterRoleBinding`.
    ClusterRoleBinding,
    /// `v1/ServiceAccount`.
    ServiceAccount,
    /// `v1/Namespace`.
    Namespace,
}

impl Kind {
    /// The kind of an `apiVersion`/`kind` pair, when it is one this crate reads.
    pub(crate) fn of(api_version: &str, kind: &str) -> Option<Kind> {
        match (group_of(api_version), kind) {
            ("rbac.authorization.k8s.io", "Role") => Some(Kind::Role),
            ("rbac.authorization.k8s.io", "ClusterRole") => Some(Kind::ClusterRole),
            ("rbac.authorization.k8s.io", "RoleBinding") => Some(Kind::RoleBinding),
            ("rbac.authorization.k8s.io", "ClusterRoleBinding") => Some(Kind::ClusterRoleBinding),
            ("", "ServiceAccount") => Some(Kind::ServiceAccount),
            ("", "Namespace") => Some(Kind::Namespace),
            _ => None,
        }
    }
}
