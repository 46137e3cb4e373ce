//! The analysis: indexes bindings by subject and namespace, evaluates the
//! `rbac/*` rules on every binding and role of the input, and joins pods to
//! the permissions of their ServiceAccounts.
//!
//! Cost: each rule's capabilities are worked out once when it is read, each
//! role's once after aggregation, so judging a binding is a look-up of its
//! role, and a ServiceAccount's permissions are gathered once however many
//! pods run as it. Everything is linear in the number of objects and pods.

use std::collections::{HashMap, HashSet};

use palisade_core::node::render_path;
use palisade_core::{Finding, RuleMeta, Seg, WorkloadKind};

use crate::caps::{Cap, Caps};
use crate::catalog;
use crate::model::{
    BindingDef, Model, RoleDef, Source, SubjectDef, SubjectKey, Sym, DEFAULT_NAMESPACE,
};
use crate::types::{RbacRef, RuleView, Scope, Subject, SA_USER_PREFIX};
use crate::{Input, PodRef};

/// Settings of the analysis.
#[derive(Debug, Clone)]
pub struct Options {
    /// Groups allowed to hold cluster-admin (`rbac/cluster-admin-binding`
    /// does not report them).
    pub break_glass_groups: Vec<String>,
}

mod findings;
mod roles;

impl Default for Options {
    fn default() -> Self {
        Options {
            break_glass_groups: vec!["system:masters".to_string()],
        }
    }
}

/// How a ServiceAccount reaches one risky capability.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chain {
    /// The capability.
    pub cap: Cap,
    /// The binding.
    pub binding: u32,
    /// Position of the subject in the binding's subjects.
    pub subject: u32,
    /// The rule (index in [`Model::rules`]).
    pub rule: u32,
}

/// The risky capabilities of one ServiceAccount.
#[derive(Debug)]
pub(crate) struct SaRisk {
    /// The ServiceAccount.
    pub subject: Subject,
    /// Every binding and capability, most severe first, cluster-wide first.
    pub chains: Vec<Chain>,
}

/// What a finding is about, for the graph.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Trace {
    /// A role's rule.
    Role(u32),
    /// A binding's subject (binding, position in its subjects).
    Binding(u32, u32),
    /// A risky pod (index in [`Analysis::risky_pods`]).
    Pod(u32),
    /// An object of the input, not part of the access graph.
    Input,
}

/// The result of [`crate::analyze`]: findings, and the index that answers queries.
#[derive(Debug)]
pub struct Analysis {
    pub(crate) m: Model,
    pub(crate) by_subject: HashMap<SubjectKey, Vec<(u32, u32)>>,
    pub(crate) cluster_bindings: Vec<u32>,
    pub(crate) ns_bindings: HashMap<Sym, Vec<u32>>,
    pub(crate) risky_pods: Vec<(PodRef, u32)>,
    pub(crate) sa_risks: Vec<SaRisk>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) traces: Vec<Trace>,
}

/// Sizes of what was analysed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// Roles and ClusterRoles (built-in ones included).
    pub roles: usize,
    /// Rules of all roles.
    pub rules: usize,
    /// RoleBindings and ClusterRoleBindings (built-in ones included).
    pub bindings: usize,
    /// Pods whose ServiceAccount token grants a risky permission.
    pub risky_pods: usize,
    /// Findings.
    pub findings: usize,
}

/// Runs the analysis.
pub(crate) fn run(input: &Input, opts: &Options) -> Analysis {
    let m = Model::build(&input.objects);
    let mut by_subject: HashMap<SubjectKey, Vec<(u32, u32)>> = HashMap::new();
    let mut cluster_bindings = Vec::new();
    let mut ns_bindings: HashMap<Sym, Vec<u32>> = HashMap::new();
    for (bi, b) in m.bindings.iter().enumerate() {
        for (si, s) in b.subjects.iter().enumerate() {
            by_subject
                .entry(s.key)
                .or_default()
                .push((bi as u32, si as u32));
        }
        match b.namespace {
            Some(ns) if !b.cluster => ns_bindings.entry(ns).or_default().push(bi as u32),
            _ => cluster_bindings.push(bi as u32),
        }
    }
    let mut a = Analysis {
        m,
        by_subject,
        cluster_bindings,
        ns_bindings,
        risky_pods: Vec::new(),
        sa_risks: Vec::new(),
        findings: Vec::new(),
        traces: Vec::new(),
    };
    a.join_pods(&input.pods);
    let mut out = Vec::new();
    a.role_findings(&mut out);
    a.unbound_role_findings(&mut out);
    a.conflict_findings(&mut out);
    a.binding_findings(opts, &mut out);
    a.pod_findings(&mut out);
    out.sort_by_key(|(key, _, _)| *key);
    for (_, f, t) in out {
        a.findings.push(f);
        a.traces.push(t);
    }
    a
}

/// Sort key of a finding: input order, then position.
type Key = (u8, u32, u32, u32);
type Out = Vec<(Key, Finding, Trace)>;

fn located(
    meta: &'static RuleMeta,
    src: &Source,
    path: &[Seg],
    line: u32,
    col: u32,
    message: String,
) -> Finding {
    Finding {
        rule: meta.id,
        severity: meta.severity,
        message,
        object: src.id.clone(),
        container: None,
        path: render_path(path),
        file: src.file.clone(),
        line,
        column: col,
        remediation: meta.remediation,
    }
}

impl Analysis {
    /// The name of a symbol.
    pub(crate) fn s(&self, sym: Sym) -> &str {
        self.m.strings.str(sym)
    }

    /// A subject key as a [`Subject`].
    pub(crate) fn subject(&self, key: SubjectKey) -> Subject {
        match key {
            SubjectKey::User(n) => Subject::User {
                name: self.s(n).to_string(),
            },
            SubjectKey::Group(n) => Subject::Group {
                name: self.s(n).to_string(),
            },
            SubjectKey::ServiceAccount(ns, n) => Subject::ServiceAccount {
                namespace: self.s(ns).to_string(),
                name: self.s(n).to_string(),
            },
        }
    }

    /// The keys bindings may name `subject` by: itself, its user name and
    /// the groups the API server puts it in.
    pub(crate) fn keys_for(&self, subject: &Subject) -> Vec<SubjectKey> {
        let get = |s: &str| self.m.strings.get(s);
        let mut keys = Vec::new();
        let group = |keys: &mut Vec<SubjectKey>, g: &str| {
            if let Some(g) = get(g) {
                keys.push(SubjectKey::Group(g));
            }
        };
        match subject {
            Subject::User { name } => {
                if let Some(u) = get(name) {
                    keys.push(SubjectKey::User(u));
                }
                if name == "system:anonymous" {
                    group(&mut keys, "system:unauthenticated");
                } else {
                    group(&mut keys, "system:authenticated");
                }
            }
            Subject::Group { name } => group(&mut keys, name),
            Subject::ServiceAccount { namespace, name } => {
                if let (Some(ns), Some(n)) = (get(namespace), get(name)) {
                    keys.push(SubjectKey::ServiceAccount(ns, n));
                }
                if let Some(u) = get(&format!("{SA_USER_PREFIX}{namespace}:{name}")) {
                    keys.push(SubjectKey::User(u));
                }
                group(&mut keys, "system:serviceaccounts");
                group(&mut keys, &format!("system:serviceaccounts:{namespace}"));
                group(&mut keys, "system:authenticated");
            }
        }
        keys
    }

    /// The bindings that name any of `keys`: (binding, subject position).
    pub(crate) fn holdings(&self, keys: &[SubjectKey]) -> impl Iterator<Item = (u32, u32)> + '_ {
        let lists: Vec<&Vec<(u32, u32)>> =
            keys.iter().filter_map(|k| self.by_subject.get(k)).collect();
        lists.into_iter().flatten().copied()
    }

    pub(crate) fn binding(&self, bi: u32) -> Option<&BindingDef> {
        self.m.bindings.get(bi as usize)
    }

    pub(crate) fn role(&self, ri: u32) -> Option<&RoleDef> {
        self.m.roles.get(ri as usize)
    }

    fn obj_ref(
        &self,
        kind: &'static str,
        namespace: Option<Sym>,
        name: Sym,
        source: Option<&Source>,
    ) -> RbacRef {
        RbacRef {
            kind,
            namespace: namespace.map(|n| self.s(n).to_string()),
            name: self.s(name).to_string(),
            builtin: source.is_none_or(|s| s.bootstrap),
            file: source.map(|s| s.file.clone()),
            line: source.map_or(0, |s| s.line),
            exists: true,
        }
    }

    /// A binding as an [`RbacRef`].
    pub(crate) fn binding_ref(&self, b: &BindingDef) -> RbacRef {
        let kind = if b.cluster {
            "ClusterRoleBinding"
        } else {
            "RoleBinding"
        };
        self.obj_ref(kind, b.namespace, b.name, b.source.as_ref())
    }

    /// A role as an [`RbacRef`].
    pub(crate) fn role_ref_of(&self, ri: u32) -> Option<RbacRef> {
        let r = self.role(ri)?;
        let kind = if r.cluster { "ClusterRole" } else { "Role" };
        Some(self.obj_ref(kind, r.namespace, r.name, r.source.as_ref()))
    }

    /// The role a binding refers to, existing or not.
    pub(crate) fn bound_role_ref(&self, b: &BindingDef) -> RbacRef {
        if let Some(r) = b.role.and_then(|ri| self.role_ref_of(ri)) {
            return r;
        }
        RbacRef {
            kind: if b.role_cluster {
                "ClusterRole"
            } else {
                "Role"
            },
            namespace: if b.role_cluster {
                None
            } else {
                b.namespace.map(|n| self.s(n).to_string())
            },
            name: self.s(b.role_name).to_string(),
            builtin: false,
            file: None,
            line: 0,
            exists: false,
        }
    }

    /// A rule as bound through `role`; `namespaced` drops what a RoleBinding
    /// cannot grant (cluster-scoped resources, non-resource URLs), and gives
    /// `None` when nothing is left.
    pub(crate) fn rule_view(&self, rule: u32, role: u32, namespaced: bool) -> Option<RuleView> {
        let r = self.m.rules.get(rule as usize)?;
        let list = |l: &[Box<str>]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (resources, urls) = if namespaced {
            let res: Vec<String> = r
                .resources
                .iter()
                .filter(|x| crate::matching::entry_namespaced(x, &r.verbs))
                .map(|s| s.to_string())
                .collect();
            if res.is_empty() || r.groups.is_empty() || r.verbs.is_empty() {
                return None;
            }
            (res, Vec::new())
        } else {
            (list(&r.resources), list(&r.urls))
        };
        Some(RuleView {
            index: r.index as usize,
            aggregated_from: if r.role == role {
                None
            } else {
                self.role_ref_of(r.role)
            },
            verbs: list(&r.verbs),
            api_groups: list(&r.groups),
            resources,
            resource_names: list(&r.names),
            non_resource_urls: urls,
        })
    }

    /// The scope a binding grants in.
    pub(crate) fn scope(&self, b: &BindingDef) -> Scope {
        match b.namespace {
            Some(ns) if !b.cluster => Scope::Namespace(self.s(ns).to_string()),
            _ => Scope::Cluster,
        }
    }

    /// Sizes of what was analysed.
    pub fn counts(&self) -> Counts {
        Counts {
            roles: self.m.roles.len(),
            rules: self.m.rules.len(),
            bindings: self.m.bindings.len(),
            risky_pods: self.risky_pods.len(),
            findings: self.findings.len(),
        }
    }
}
