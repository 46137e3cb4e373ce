//! The findings of an analysis: rules that grant too much, bindings and
//! the subjects they reach, dangling subjects, and pods whose mounted
//! token holds a risky permission, with the chain that grants it.

use super::*;

impl Analysis {
    /// `rbac/wildcard`, on the rules of the input's roles.
    pub(super) fn role_findings(&self, out: &mut Out) {
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
    pub(super) fn binding_findings(&self, opts: &Options, out: &mut Out) {
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
        self.how_bound(s, &who, &binding, push);
        let Some(ri) = b.role else { return };
        let Some(role) = self.role(ri) else { return };
        let g = Bound {
            b,
            key: s.key,
            ri,
            role,
            caps: role.caps(b.cluster),
            who,
            binding,
            role_ref: self.bound_role_ref(b),
            scope: self.scope(b),
        };
        self.capability_findings(opts, &g, push);
        self.anonymous_finding(&g, push);
        self.default_sa_finding(&g, push);
    }

    /// How the subject is named: a person bound directly, or a
    /// ServiceAccount that does not exist.
    fn how_bound(
        &self,
        s: &SubjectDef,
        who: &str,
        binding: &RbacRef,
        push: &mut impl FnMut(&'static RuleMeta, String),
    ) {
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
    }

    /// The text of the first rule of the bound role granting `cap` (any
    /// non-discovery permission when `None`).
    fn rule_text(&self, g: &Bound<'_>, cap: Option<Cap>) -> String {
        let cluster = g.b.cluster;
        let pick = g.role.find_rule(|r| {
            self.m.rules.get(r as usize).is_some_and(|rule| {
                let c = rule.caps(cluster);
                match cap {
                    Some(cap) => c.grants_part(cap),
                    None => c.non_discovery(),
                }
            })
        });
        pick.and_then(|r| self.rule_view(r, g.ri, !cluster))
            .map_or_else(String::new, |v| format!(" {v}"))
    }

    /// What the binding grants: cluster-admin once (it implies the rest),
    /// else one finding per risky capability.
    fn capability_findings(
        &self,
        opts: &Options,
        g: &Bound<'_>,
        push: &mut impl FnMut(&'static RuleMeta, String),
    ) {
        let (who, binding, role_ref, scope) = (&g.who, &g.binding, &g.role_ref, &g.scope);
        if g.caps.has(Cap::ClusterAdmin) {
            let break_glass = matches!(g.key, SubjectKey::Group(grp)
                if opts.break_glass_groups.iter().any(|x| x == self.s(grp)));
            if !break_glass {
                let what = match scope {
                    Scope::Cluster => "holds cluster-admin".to_string(),
                    Scope::Namespace(ns) => format!("has full control of namespace {ns:?}"),
                };
                push(
                    &catalog::CLUSTER_ADMIN,
                    format!(
                        "{who} {what}: {binding} → {role_ref}{}{}",
                        self.rule_text(g, Some(Cap::ClusterAdmin)),
                        reconciled_note(g.role)
                    ),
                );
            }
            return;
        }
        for cap in g.caps.iter() {
            let scope_text = match (scope, cap) {
                (
                    Scope::Cluster,
                    Cap::SecretsRead | Cap::WorkloadCreate | Cap::PodExec | Cap::TokenCreate,
                ) => "in every namespace".to_string(),
                _ => scope.to_string(),
            };
            push(
                cap.meta(g.b.cluster),
                format!(
                    "{who} can {} {scope_text}: {binding} → {role_ref}{}{}",
                    cap.phrase(),
                    self.rule_text(g, Some(cap)),
                    reconciled_note(g.role)
                ),
            );
        }
    }

    /// Anonymous requests granted more than discovery.
    fn anonymous_finding(&self, g: &Bound<'_>, push: &mut impl FnMut(&'static RuleMeta, String)) {
        let anonymous = match g.key {
            SubjectKey::User(u) => self.s(u) == "system:anonymous",
            SubjectKey::Group(grp) => self.s(grp) == "system:unauthenticated",
            SubjectKey::ServiceAccount(..) => false,
        };
        if anonymous && g.caps.non_discovery() {
            push(
                &catalog::ANONYMOUS,
                format!(
                    "{} (every request without credentials) is granted more than discovery {}: {} → {}{}",
                    g.who,
                    g.scope,
                    g.binding,
                    g.role_ref,
                    self.rule_text(g, None)
                ),
            );
        }
    }

    /// Permissions granted to default ServiceAccounts, which every pod that
    /// names none runs as.
    fn default_sa_finding(&self, g: &Bound<'_>, push: &mut impl FnMut(&'static RuleMeta, String)) {
        let default_sa = match g.key {
            SubjectKey::ServiceAccount(_, n) => self.s(n) == "default",
            SubjectKey::Group(grp) => {
                let grp = self.s(grp);
                grp == "system:serviceaccounts" || grp.starts_with("system:serviceaccounts:")
            }
            SubjectKey::User(_) => false,
        };
        if default_sa && g.caps.any() {
            let whose = match g.key {
                SubjectKey::ServiceAccount(ns, _) => format!(
                    "every pod of namespace {:?} that names no ServiceAccount holds them",
                    self.s(ns)
                ),
                _ => "it includes every default ServiceAccount".to_string(),
            };
            push(
                &catalog::DEFAULT_SA,
                format!(
                    "{} is granted permissions {} by {} → {}; {whose}",
                    g.who, g.scope, g.binding, g.role_ref
                ),
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
                        .is_some_and(|rule| rule.caps(b.cluster).grants_part(cap))
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
    pub(super) fn join_pods(&mut self, pods: &[PodRef]) {
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
    pub(super) fn pod_findings(&self, out: &mut Out) {
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

/// A subject bound to a role, as the findings describe it.
struct Bound<'a> {
    b: &'a BindingDef,
    key: SubjectKey,
    /// The role's index.
    ri: u32,
    role: &'a RoleDef,
    caps: Caps,
    who: String,
    binding: RbacRef,
    role_ref: RbacRef,
    scope: Scope,
}

/// Said of a bootstrap role the input redefines.
fn reconciled_note(role: &RoleDef) -> &'static str {
    if role.reconciled {
        "; a bootstrap role: the API server adds its built-in rules back at start-up, so it is analysed with them whatever the input defines"
    } else {
        ""
    }
}
