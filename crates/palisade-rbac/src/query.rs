//! Questions asked of an analysis: who can do something, what a subject can
//! do, and which pods lead where.

use std::collections::{BTreeSet, HashMap};

use crate::analysis::{Analysis, Chain};
use crate::matching::{cluster_scoped, default_group, has, resource_matches, url_matches};
use crate::model::{RuleDef, DEFAULT_NAMESPACE};
use crate::types::{AttackPath, EffectiveRule, Grant, PodSummary, Scope, Subject};

/// A request as the authorizer sees it.
#[derive(Debug)]
enum Request<'a> {
    /// A resource request; `group` `None` when the query named none and
    /// the resource is not a well-known one (any group matches).
    Resource {
        verb: &'a str,
        group: Option<&'a str>,
        resource: String,
    },
    /// A non-resource request (`/healthz`).
    Url { verb: &'a str, path: &'a str },
}

impl<'a> Request<'a> {
    /// Reads `pods`, `pods/exec`, `deployments.apps`, `deployments.apps/scale`
    /// or a URL path starting with `/`.
    fn parse(verb: &'a str, resource: &'a str) -> Request<'a> {
        if resource.starts_with('/') {
            return Request::Url {
                verb,
                path: resource,
            };
        }
        let (res, sub) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (resource, None),
        };
        let (name, group) = match res.split_once('.') {
            Some((n, g)) => (n, Some(g)),
            None => (res, default_group(res)),
        };
        let resource = match sub {
            Some(s) => format!("{name}/{s}"),
            None => name.to_string(),
        };
        Request::Resource {
            verb,
            group,
            resource,
        }
    }

    /// Whether a RoleBinding can grant it.
    fn namespaced(&self) -> bool {
        match self {
            Request::Resource { verb, resource, .. } => !cluster_scoped(resource, verb),
            Request::Url { .. } => false,
        }
    }

    /// Whether `rule` allows it: `Some(true)` without resourceNames,
    /// `Some(false)` only for the named objects.
    fn allowed_by(&self, rule: &RuleDef) -> Option<bool> {
        match self {
            Request::Resource {
                verb,
                group,
                resource,
            } => {
                let group_ok = match group {
                    Some(g) => has(&rule.groups, g),
                    None => !rule.groups.is_empty(),
                };
                if !(has(&rule.verbs, verb)
                    && group_ok
                    && resource_matches(&rule.resources, resource))
                {
                    return None;
                }
                if rule.names.is_empty() {
                    Some(true)
                } else if *verb == "create" && !resource.contains('/') {
                    // A create has no name yet: resourceNames never allow it.
                    None
                } else {
                    Some(false)
                }
            }
            Request::Url { verb, path } => {
                (has(&rule.verbs, verb) && url_matches(&rule.urls, path)).then_some(true)
            }
        }
    }
}

impl Analysis {
    /// Who can do `verb` on `resource` (`pods`, `pods/exec`,
    /// `deployments.apps`, or a non-resource URL such as `/metrics`): each
    /// subject as its binding names it, with the binding, role and rule.
    /// `namespace` `None` asks about cluster-wide rights (ClusterRoleBindings
    /// only); `Some(ns)` adds the RoleBindings of `ns`; `Some("*")` those of
    /// every namespace. Grants limited by resourceNames are included; their
    /// rule lists the names.
    pub fn who_can(&self, verb: &str, resource: &str, namespace: Option<&str>) -> Vec<Grant> {
        let req = Request::parse(verb, resource);
        let mut candidates: Vec<u32> = self.cluster_bindings.clone();
        if req.namespaced() {
            match namespace {
                Some("*") => candidates.extend(self.ns_bindings.values().flatten()),
                Some(ns) => {
                    let ns = if ns.is_empty() { DEFAULT_NAMESPACE } else { ns };
                    if let Some(list) = self
                        .m
                        .strings
                        .get(ns)
                        .and_then(|s| self.ns_bindings.get(&s))
                    {
                        candidates.extend(list);
                    }
                }
                None => {}
            }
        }
        // The rule of each role that allows the request, worked out once.
        let mut picked: HashMap<u32, Option<u32>> = HashMap::new();
        let mut out = Vec::new();
        for bi in candidates {
            let Some(b) = self.binding(bi) else { continue };
            let Some(ri) = b.role else { continue };
            let rule = *picked.entry(ri).or_insert_with(|| self.pick_rule(ri, &req));
            let Some(rule) = rule else { continue };
            let Some(view) = self.rule_view(rule, ri, false) else {
                continue;
            };
            let role = self.bound_role_ref(b);
            let binding = self.binding_ref(b);
            let scope = self.scope(b);
            for s in &b.subjects {
                out.push(Grant {
                    subject: self.subject(s.key),
                    scope: scope.clone(),
                    binding: binding.clone(),
                    role: role.clone(),
                    rule: view.clone(),
                });
            }
        }
        out.sort_by(|a, b| {
            (
                &a.subject,
                &a.scope,
                a.binding.kind,
                &a.binding.namespace,
                &a.binding.name,
            )
                .cmp(&(
                    &b.subject,
                    &b.scope,
                    b.binding.kind,
                    &b.binding.namespace,
                    &b.binding.name,
                ))
        });
        out.dedup();
        out
    }

    /// The rule of a role that allows `req`, preferring one without resourceNames.
    fn pick_rule(&self, ri: u32, req: &Request<'_>) -> Option<u32> {
        let role = self.role(ri)?;
        let mut limited = None;
        let full = role.find_rule(|r| {
            match self
                .m
                .rules
                .get(r as usize)
                .and_then(|rule| req.allowed_by(rule))
            {
                Some(true) => true,
                Some(false) => {
                    limited.get_or_insert(r);
                    false
                }
                None => false,
            }
        });
        full.or(limited)
    }

    /// The effective rules of a subject, given as `User:alice`,
    /// `Group:devs`, `ServiceAccount:ns:name` or
    /// `system:serviceaccount:ns:name` (see [`Subject::parse`]); empty when
    /// it cannot be parsed. Includes what it holds through its implicit
    /// groups (`system:authenticated`, `system:serviceaccounts`,
    /// `system:serviceaccounts:<ns>`, or `system:unauthenticated` for
    /// `system:anonymous`).
    pub fn can(&self, subject: &str) -> Vec<EffectiveRule> {
        match Subject::parse(subject) {
            Ok(s) => self.effective_rules(&s),
            Err(_) => Vec::new(),
        }
    }

    /// The effective rules of a parsed subject (see [`Analysis::can`]):
    /// cluster-wide ones first, then by namespace; in a namespace, only
    /// what a RoleBinding can grant.
    pub fn effective_rules(&self, subject: &Subject) -> Vec<EffectiveRule> {
        let keys = self.keys_for(subject);
        let mut out = Vec::new();
        for (bi, si) in self.holdings(&keys) {
            let Some(b) = self.binding(bi) else { continue };
            let Some(ri) = b.role else { continue };
            let Some(role) = self.role(ri) else { continue };
            let via = match b.subjects.get(si as usize) {
                Some(s) => self.subject(s.key),
                None => continue,
            };
            let binding = self.binding_ref(b);
            let role_ref = self.bound_role_ref(b);
            let scope = self.scope(b);
            for r in role.rule_ids() {
                if let Some(rule) = self.rule_view(r, ri, !b.cluster) {
                    out.push(EffectiveRule {
                        scope: scope.clone(),
                        rule,
                        via: via.clone(),
                        binding: binding.clone(),
                        role: role_ref.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| {
            (&a.scope, a.binding.kind, &a.binding.name).cmp(&(
                &b.scope,
                b.binding.kind,
                &b.binding.name,
            ))
        });
        out
    }

    /// Every subject some binding names, sorted.
    pub fn subjects(&self) -> Vec<Subject> {
        let keys: BTreeSet<Subject> = self.by_subject.keys().map(|k| self.subject(*k)).collect();
        keys.into_iter().collect()
    }

    /// Every privilege-escalation path: pods whose mounted token reaches
    /// Secrets or rights equivalent to cluster-admin in their scope.
    pub fn paths(&self) -> Vec<AttackPath> {
        self.collect_paths(true)
    }

    /// Every path from a pod with a mounted token to a risky permission,
    /// escalation or not (what `rbac/risky-pod` reports).
    pub fn pod_paths(&self) -> Vec<AttackPath> {
        self.collect_paths(false)
    }

    fn collect_paths(&self, escalation_only: bool) -> Vec<AttackPath> {
        let mut out = Vec::new();
        for (pod, idx) in &self.risky_pods {
            let Some(risk) = self.sa_risks.get(*idx as usize) else {
                continue;
            };
            let summary = PodSummary {
                object: pod.object.clone(),
                file: pod.file.clone(),
                line: pod.line,
                column: pod.column,
            };
            for c in &risk.chains {
                if escalation_only && !c.cap.escalation() {
                    continue;
                }
                if let Some(p) = self.path(&summary, &risk.subject, c) {
                    out.push(p);
                }
            }
        }
        out
    }

    fn path(&self, pod: &PodSummary, sa: &Subject, c: &Chain) -> Option<AttackPath> {
        let b = self.binding(c.binding)?;
        let ri = b.role?;
        let via = self.subject(b.subjects.get(c.subject as usize)?.key);
        Some(AttackPath {
            pod: pod.clone(),
            service_account: sa.clone(),
            via,
            binding: self.binding_ref(b),
            role: self.bound_role_ref(b),
            rule: self.rule_view(c.rule, ri, !b.cluster)?,
            scope: match b.namespace {
                Some(ns) if !b.cluster => Scope::Namespace(self.s(ns).to_string()),
                _ => Scope::Cluster,
            },
            rule_id: c.cap.meta(b.cluster).id,
            capability: c.cap.phrase(),
            escalation: c.cap.escalation(),
        })
    }
}
