//! The analysis: indexes bindings by subject and namespace, evaluates the
//! `rbac/*` rules on every binding and role of the input, and joins pods to
//! the permissions of their ServiceAccounts.
//!
//! Cost: each rule's capabilities are worked out once when it is read, each
//! role's once after aggregation, so judging a binding is a look-up of its
//! role, and a ServiceAccount's permissions are gathered once however many
//! pods run as it. Everything is linear in the number of objects and pods.

use std::collections::HashMap;

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

    /// `rbac/wildcard`, on the rules of the input's roles.
    fn role_findings(&self, out: &mut Out) {
        let mut bound_by: HashMap<u32, Vec<u32>> = HashMap::new();
        for (bi, b) in self.m.bindings.iter().enumerate() {
            if let Some(r) = b.role {
                bound_by.entry(r).or_default().push(bi as u32);
            }
        }
        for (ri, role) in self.m.roles.iter().enumerate() {
            let Some(src) = role.source.as_ref().filter(|s| !s.bootstrap) else {
                continue;
            };
            let Some(me) = self.role_ref_of(ri as u32) else {
                continue;
            };
            for r in role.own.clone() {
                let Some(rule) = self.m.rules.get(r as usize) else {
                    continue;
                };
                let Some((field, pos)) = rule.wildcard() else {
                    continue;
                };
                let summary = self
                    .rule_view(r, ri as u32, false)
                    .map(|v| v.summary())
                    .unwrap_or_default();
                let bound = match bound_by.get(&(ri as u32)) {
                    None => "not bound in the input".to_string(),
                    Some(bs) => {
                        let mut names: Vec<String> = bs
                            .iter()
                            .take(3)
                            .filter_map(|&bi| self.binding(bi))
                            .map(|b| self.binding_ref(b).to_string())
                            .collect();
                        if bs.len() > 3 {
                            names.push(format!("{} more", bs.len() - 3));
                        }
                        format!("bound by {}", names.join(", "))
                    }
                };
                let message = format!(
                    "{me} rules[{}] has \"*\" in {field} ({summary}); {bound}",
                    rule.index
                );
                let path = [
                    Seg::key("rules"),
                    Seg::Index(rule.index as usize),
                    Seg::key(field),
                ];
                let f = located(&catalog::WILDCARD, src, &path, pos.line, pos.col, message);
                out.push((
                    (0, src.ordinal, pos.line, pos.col),
                    f,
                    Trace::Role(ri as u32),
                ));
            }
        }
    }

    /// Every rule judged on a binding's subjects.
    fn binding_findings(&self, opts: &Options, out: &mut Out) {
        for (bi, b) in self.m.bindings.iter().enumerate() {
            let Some(src) = b.source.as_ref().filter(|s| !s.bootstrap) else {
                continue;
            };
            for (si, s) in b.subjects.iter().enumerate() {
                let mut push = |meta: &'static RuleMeta, message: String| {
                    let path = [Seg::key("subjects"), Seg::Index(s.index as usize)];
                    let f = located(meta, src, &path, s.pos.line, s.pos.col, message);
                    let key = (0, src.ordinal, s.pos.line, s.pos.col);
                    out.push((key, f, Trace::Binding(bi as u32, si as u32)));
                };
                self.judge_subject(opts, b, s, &mut push);
            }
        }
    }

    fn judge_subject(
        &self,
        opts: &Options,
        b: &BindingDef,
        s: &SubjectDef,
        push: &mut impl FnMut(&'static RuleMeta, String),
    ) {
        let who = self.subject(s.key).describe();
        let binding = self.binding_ref(b);
        match s.key {
            SubjectKey::User(u) => {
                let name = self.s(u);
                if !name.starts_with("system:") {
                    push(
                        &catalog::USER_SUBJECT,
                        format!("{binding} names {who} directly; bind a group instead"),
                    );
                }
            }
            SubjectKey::ServiceAccount(ns, name) => {
                if let Some(why) = self.dangling(ns, name) {
                    push(
                        &catalog::DANGLING,
                        format!("{binding} names {who}, but {why}: whoever creates it gets the permissions"),
                    );
                }
            }
            SubjectKey::Group(_) => {}
        }
        let Some(ri) = b.role else { return };
        let Some(role) = self.role(ri) else { return };
        let cluster = b.cluster;
        let caps: Caps = role.caps(cluster);
        let role_ref = self.bound_role_ref(b);
        let scope = self.scope(b);
        let rule_text = |cap: Option<Cap>| -> String {
            let pick = role.find_rule(|r| {
                self.m.rules.get(r as usize).is_some_and(|rule| {
                    let c = rule.caps(cluster);
                    match cap {
                        Some(cap) => c.has(cap),
                        None => c.non_discovery(),
                    }
                })
            });
            pick.and_then(|r| self.rule_view(r, ri, !cluster))
                .map_or_else(String::new, |v| format!(" {v}"))
        };
        let break_glass = matches!(s.key, SubjectKey::Group(g)
            if opts.break_glass_groups.iter().any(|x| x == self.s(g)));
        if caps.has(Cap::ClusterAdmin) {
            // Every other capability is implied: reported once, as cluster-admin.
            if !break_glass {
                let what = match &scope {
                    Scope::Cluster => "holds cluster-admin".to_string(),
                    Scope::Namespace(ns) => format!("has full control of namespace {ns:?}"),
                };
                push(
                    &catalog::CLUSTER_ADMIN,
                    format!(
                        "{who} {what}: {binding} → {role_ref}{}",
                        rule_text(Some(Cap::ClusterAdmin))
                    ),
                );
            }
        } else {
            for cap in caps.iter() {
                let scope_text = match (&scope, cap) {
                    (
                        Scope::Cluster,
                        Cap::SecretsRead | Cap::WorkloadCreate | Cap::PodExec | Cap::TokenCreate,
                    ) => "in every namespace".to_string(),
                    _ => scope.to_string(),
                };
                push(
                    cap.meta(cluster),
                    format!(
                        "{who} can {} {scope_text}: {binding} → {role_ref}{}",
                        cap.phrase(),
                        rule_text(Some(cap))
                    ),
                );
            }
        }
        let anonymous = match s.key {
            SubjectKey::User(u) => self.s(u) == "system:anonymous",
            SubjectKey::Group(g) => self.s(g) == "system:unauthenticated",
            SubjectKey::ServiceAccount(..) => false,
        };
        if anonymous && caps.non_discovery() {
            push(
                &catalog::ANONYMOUS,
                format!(
                    "{who} (every request without credentials) is granted more than discovery {scope}: {binding} → {role_ref}{}",
                    rule_text(None)
                ),
            );
        }
        let default_sa = match s.key {
            SubjectKey::ServiceAccount(_, n) => self.s(n) == "default",
            SubjectKey::Group(g) => {
                let g = self.s(g);
                g == "system:serviceaccounts" || g.starts_with("system:serviceaccounts:")
            }
            SubjectKey::User(_) => false,
        };
        if default_sa && caps.any() {
            let whose = match s.key {
                SubjectKey::ServiceAccount(ns, _) => format!(
                    "every pod of namespace {:?} that names no ServiceAccount holds them",
                    self.s(ns)
                ),
                _ => "it includes every default ServiceAccount".to_string(),
            };
            push(
                &catalog::DEFAULT_SA,
                format!("{who} is granted permissions {scope} by {binding} → {role_ref}; {whose}"),
            );
        }
    }

    /// Why a ServiceAccount subject does not exist, when the input shows it.
    fn dangling(&self, ns: Sym, name: Sym) -> Option<String> {
        let ns_name = self.s(ns);
        if !self.m.namespaces.is_empty()
            && !self.m.namespaces.contains(&ns)
            && !crate::builtin::NAMESPACES.contains(&ns_name)
        {
            return Some(format!(
                "namespace {ns_name:?} is not among the input's Namespaces"
            ));
        }
        if self.m.namespaces_with_sas.contains(&ns)
            && !self.m.service_accounts.contains(&(ns, name))
            && self.s(name) != "default"
        {
            return Some(format!(
                "no such ServiceAccount is in the input, which has others in namespace {ns_name:?}"
            ));
        }
        None
    }

    /// The risky capabilities a ServiceAccount holds, through any binding.
    fn sa_risk(&self, subject: Subject) -> SaRisk {
        let keys = self.keys_for(&subject);
        let mut chains = Vec::new();
        for (bi, si) in self.holdings(&keys) {
            let Some(b) = self.binding(bi) else { continue };
            let Some(ri) = b.role else { continue };
            let Some(role) = self.role(ri) else { continue };
            let caps = role.caps(b.cluster);
            let caps: Vec<Cap> = if caps.has(Cap::ClusterAdmin) {
                vec![Cap::ClusterAdmin]
            } else {
                caps.iter().collect()
            };
            for cap in caps {
                let rule = role.find_rule(|r| {
                    self.m
                        .rules
                        .get(r as usize)
                        .is_some_and(|rule| rule.caps(b.cluster).has(cap))
                });
                if let Some(rule) = rule {
                    chains.push(Chain {
                        cap,
                        binding: bi,
                        subject: si,
                        rule,
                    });
                }
            }
        }
        let rank = |c: &Chain| {
            let cluster = self.binding(c.binding).is_some_and(|b| b.cluster);
            (
                Cap::ALL.iter().position(|x| *x == c.cap),
                !cluster,
                c.binding,
            )
        };
        chains.sort_by_key(rank);
        SaRisk { subject, chains }
    }

    /// Finds the pods whose mounted token holds a risky capability.
    fn join_pods(&mut self, pods: &[PodRef]) {
        let mut seen: HashMap<(&str, &str), u32> = HashMap::new();
        let mut risky = Vec::new();
        for pod in pods {
            if !pod.token_mounted {
                continue;
            }
            let ns = if pod.namespace.is_empty() {
                DEFAULT_NAMESPACE
            } else {
                pod.namespace.as_str()
            };
            let sa = if pod.service_account.is_empty() {
                "default"
            } else {
                pod.service_account.as_str()
            };
            let idx = match seen.get(&(ns, sa)) {
                Some(&i) => i,
                None => {
                    let risk = self.sa_risk(Subject::ServiceAccount {
                        namespace: ns.to_string(),
                        name: sa.to_string(),
                    });
                    let i = self.sa_risks.len() as u32;
                    self.sa_risks.push(risk);
                    seen.insert((ns, sa), i);
                    i
                }
            };
            if self
                .sa_risks
                .get(idx as usize)
                .is_some_and(|r| !r.chains.is_empty())
            {
                risky.push((pod.clone(), idx));
            }
        }
        self.risky_pods = risky;
    }

    /// Describes a chain: `ClusterRoleBinding "x" → ClusterRole "y" rules[0] (...)`.
    pub(crate) fn chain_text(&self, c: &Chain) -> String {
        let Some(b) = self.binding(c.binding) else {
            return String::new();
        };
        let via = b
            .subjects
            .get(c.subject as usize)
            .map(|s| self.subject(s.key));
        let rule = b
            .role
            .and_then(|ri| self.rule_view(c.rule, ri, !b.cluster))
            .map_or_else(String::new, |v| format!(" {v}"));
        let via = match via {
            Some(v @ Subject::Group { .. }) => format!("{} → ", v.describe()),
            _ => String::new(),
        };
        format!(
            "{via}{} → {}{rule}",
            self.binding_ref(b),
            self.bound_role_ref(b)
        )
    }

    /// `rbac/risky-pod`, one per pod.
    fn pod_findings(&self, out: &mut Out) {
        // The message depends on the ServiceAccount only: built once each.
        let mut texts: HashMap<u32, (String, bool)> = HashMap::new();
        for (pi, (pod, idx)) in self.risky_pods.iter().enumerate() {
            let Some(risk) = self.sa_risks.get(*idx as usize) else {
                continue;
            };
            let (text, _) = texts.entry(*idx).or_insert_with(|| self.risk_text(risk));
            let o = &pod.object;
            let ns = o.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
            let message = format!("{} \"{}/{}\" runs as {text}", o.kind, ns, o.name);
            let mut path: Vec<Seg> = WorkloadKind::of(&o.api_version, &o.kind)
                .map(|k| k.template_path().iter().map(|k| Seg::key(k)).collect())
                .unwrap_or_default();
            path.push(Seg::key("spec"));
            if pod.service_account != "default" && !pod.service_account.is_empty() {
                path.push(Seg::key("serviceAccountName"));
            }
            let meta = &catalog::RISKY_POD;
            let f = Finding {
                rule: meta.id,
                severity: meta.severity,
                message,
                object: pod.object.clone(),
                container: None,
                path: render_path(&path),
                file: pod.file.clone(),
                line: pod.line,
                column: pod.column,
                remediation: meta.remediation,
            };
            out.push((
                (1, pi as u32, pod.line, pod.column),
                f,
                Trace::Pod(pi as u32),
            ));
        }
    }

    fn risk_text(&self, risk: &SaRisk) -> (String, bool) {
        let escalation = risk.chains.iter().any(|c| c.cap.escalation());
        let mut caps: Vec<(Cap, bool)> = Vec::new();
        for c in &risk.chains {
            let cluster = self.binding(c.binding).is_some_and(|b| b.cluster);
            if !caps.iter().any(|(x, _)| *x == c.cap) {
                caps.push((c.cap, cluster));
            }
        }
        let Some(first) = risk.chains.first() else {
            return (String::new(), false);
        };
        let scope = |c: &Chain| {
            self.binding(c.binding)
                .map(|b| self.scope(b).to_string())
                .unwrap_or_default()
        };
        let mut text = format!(
            "{} with its token mounted, which can {} {} ({})",
            risk.subject.describe(),
            first.cap.phrase(),
            scope(first),
            self.chain_text(first)
        );
        if escalation {
            text.push_str(": a privilege-escalation path");
        }
        let others: Vec<String> = caps
            .iter()
            .skip(1)
            .map(|(cap, cluster)| {
                let rule = cap.meta(*cluster).id;
                format!("{} ({rule})", cap.phrase())
            })
            .collect();
        if !others.is_empty() {
            text.push_str(&format!("; it can also {}", others.join(", ")));
        }
        (text, escalation)
    }
}
