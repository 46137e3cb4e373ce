//! Building the model: roles, bindings, ServiceAccounts and Namespaces
//! read leniently from the input objects, the built-in policy the input
//! does not override, then role references resolved and aggregation
//! applied.

use std::collections::{HashMap, HashSet};

use palisade_core::{Node, Object, ObjectRef, Pos, Value};

use super::*;
use crate::builtin::{self, BSubject, BOOTSTRAP_LABEL};
use crate::caps;

/// The strings of a list field; items that are not strings are left out.
fn strings(node: Option<&Node>) -> Box<[Box<str>]> {
    node.map(|n| {
        n.items()
            .iter()
            .filter_map(|i| i.as_str().map(Box::from))
            .collect()
    })
    .unwrap_or_default()
}

/// A scalar as label text (`true` unquoted reads as `"true"`, as people mean it).
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn key_pos(node: &Node, key: &str) -> Option<Pos> {
    node.entry(key).map(|e| e.key_pos)
}

fn parse_selector(node: &Node) -> Selector {
    let mut sel = Selector {
        valid: node.is_map() || matches!(node.value, Value::Null),
        ..Selector::default()
    };
    if let Some(ml) = node.get("matchLabels") {
        for e in ml.entries() {
            match scalar_text(&e.node) {
                Some(v) => sel.labels.push((e.key.clone(), v)),
                None => sel.valid = false,
            }
        }
    }
    if let Some(exprs) = node.get("matchExpressions") {
        for x in exprs.items() {
            let key = x.get("key").and_then(Node::as_str).unwrap_or_default();
            let op = match x.get("operator").and_then(Node::as_str) {
                Some("In") => Op::In,
                Some("NotIn") => Op::NotIn,
                Some("Exists") => Op::Exists,
                Some("DoesNotExist") => Op::DoesNotExist,
                _ => {
                    sel.valid = false;
                    continue;
                }
            };
            let values = x
                .get("values")
                .map(|v| v.items().iter().filter_map(scalar_text).collect())
                .unwrap_or_default();
            sel.exprs.push((key.to_string(), op, values));
        }
    }
    sel
}

/// The annotation that lets the API server reconcile a bootstrap role.
const AUTOUPDATE: &str = "rbac.authorization.kubernetes.io/autoupdate";

/// Every definition of each object identity, with the object (its content
/// is compared only when an identity is defined more than once: a cluster
/// defines each once).
type Definitions<'o> = HashMap<(Kind, Option<&'o str>, &'o str), Vec<(Source, &'o Object)>>;

/// What decides an object's meaning: everything but its metadata, and the
/// annotation that switches reconciliation off.
fn fingerprint(obj: &Object) -> String {
    let mut json = obj.root.to_json();
    if let Some(map) = json.as_object_mut() {
        let autoupdate = map
            .get("metadata")
            .and_then(|m| m.pointer(&format!("/annotations/{}", AUTOUPDATE.replace('/', "~1"))))
            .cloned();
        map.remove("metadata");
        if let Some(a) = autoupdate {
            map.insert(AUTOUPDATE.into(), a);
        }
    }
    json.to_string()
}

/// Identities defined more than once with different content, in input order.
fn conflicts(definitions: Definitions<'_>) -> Vec<Vec<Source>> {
    let mut out: Vec<Vec<Source>> = definitions
        .into_values()
        .filter(|defs| defs.len() > 1)
        .filter(|defs| {
            let first = fingerprint(defs[0].1);
            defs[1..].iter().any(|(_, o)| fingerprint(o) != first)
        })
        .map(|defs| defs.into_iter().map(|(s, _)| s).collect())
        .collect();
    out.sort_by_key(|defs| defs[0].ordinal);
    out
}

impl Model {
    fn namespace_of(&mut self, id: &ObjectRef) -> Sym {
        let ns = id.namespace.as_deref().filter(|n| !n.is_empty());
        self.strings.intern(ns.unwrap_or(DEFAULT_NAMESPACE))
    }

    /// Reads the RBAC objects, ServiceAccounts and Namespaces of `objects`
    /// (other kinds are ignored), then adds the built-in policy the input
    /// does not override and resolves role references and aggregation.
    pub(crate) fn build(objects: &[Object]) -> Model {
        let mut m = Model::default();
        let mut pending = Vec::new();
        let mut definitions: Definitions = HashMap::new();
        for (ordinal, obj) in objects.iter().enumerate() {
            let Some(kind) = Kind::of(&obj.id.api_version, &obj.id.kind) else {
                continue;
            };
            let source = Source {
                file: obj.file.clone(),
                id: obj.id.clone(),
                ordinal: ordinal as u32,
                line: obj.root.pos.line,
                bootstrap: obj
                    .root
                    .get_path(&["metadata", "labels", BOOTSTRAP_LABEL.0])
                    .and_then(Node::as_str)
                    == Some(BOOTSTRAP_LABEL.1),
                autoupdate: obj
                    .root
                    .get_path(&["metadata", "annotations", AUTOUPDATE])
                    .and_then(Node::as_str)
                    != Some("false"),
            };
            definitions
                .entry((kind, obj.id.namespace.as_deref(), obj.id.name.as_str()))
                .or_default()
                .push((source.clone(), obj));
            match kind {
                Kind::Role | Kind::ClusterRole => {
                    m.add_role(obj, kind == Kind::ClusterRole, source)
                }
                Kind::RoleBinding | Kind::ClusterRoleBinding => {
                    pending.push((obj, kind == Kind::ClusterRoleBinding, source))
                }
                Kind::ServiceAccount => {
                    let ns = m.namespace_of(&obj.id);
                    let name = m.strings.intern(&obj.id.name);
                    m.service_accounts.insert((ns, name));
                    m.namespaces_with_sas.insert(ns);
                }
                Kind::Namespace => {
                    let name = m.strings.intern(&obj.id.name);
                    m.namespaces.insert(name);
                }
            }
        }
        for (obj, cluster, source) in pending {
            m.add_binding(obj, cluster, source);
        }
        m.add_builtins();
        m.resolve();
        m.conflicts = conflicts(definitions);
        m
    }

    fn push_rule(
        &mut self,
        role: u32,
        index: u32,
        node: Option<&Node>,
        pos: Pos,
        parts: [Box<[Box<str>]>; 5],
    ) {
        let [verbs, groups, resources, names, urls] = parts;
        let at = |k: &str| node.and_then(|n| key_pos(n, k)).unwrap_or(pos);
        let mut rule = RuleDef {
            role,
            index,
            verbs_pos: at("verbs"),
            resources_pos: at("resources"),
            urls_pos: at("nonResourceURLs"),
            verbs,
            groups,
            resources,
            names,
            urls,
            caps_cluster: Caps::default(),
            caps_ns: Caps::default(),
        };
        rule.caps_cluster = caps::of_rule(&rule.parts(), true);
        rule.caps_ns = caps::of_rule(&rule.parts(), false);
        self.rules.push(rule);
    }

    fn add_role(&mut self, obj: &Object, cluster: bool, source: Source) {
        let role = self.roles.len() as u32;
        let start = self.rules.len() as u32;
        let root = &obj.root;
        for (i, r) in root
            .get("rules")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let parts = [
                strings(r.get("verbs")),
                strings(r.get("apiGroups")),
                strings(r.get("resources")),
                strings(r.get("resourceNames")),
                strings(r.get("nonResourceURLs")),
            ];
            self.push_rule(role, i as u32, Some(r), r.pos, parts);
        }
        let end = self.rules.len() as u32;
        let (labels, aggregation) = if cluster {
            let labels = root
                .get_path(&["metadata", "labels"])
                .map(|l| {
                    l.entries()
                        .iter()
                        .filter_map(|e| {
                            Some((Box::from(e.key.as_str()), scalar_text(&e.node)?.into()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let aggregation = root.get("aggregationRule").map(|a| {
                a.get("clusterRoleSelectors")
                    .map(|s| s.items().iter().map(parse_selector).collect())
                    .unwrap_or_default()
            });
            (labels, aggregation)
        } else {
            (Vec::new(), None)
        };
        let namespace = (!cluster).then(|| self.namespace_of(&obj.id));
        let name = self.strings.intern(&obj.id.name);
        self.roles.push(RoleDef {
            cluster,
            namespace,
            name,
            labels,
            aggregation,
            own: start..end,
            extra: Vec::new(),
            reconciled: false,
            shadow: false,
            effective: None,
            source: Some(source),
            caps_cluster: Caps::default(),
            caps_ns: Caps::default(),
        });
    }

    fn add_binding(&mut self, obj: &Object, cluster: bool, source: Source) {
        let root = &obj.root;
        let namespace = (!cluster).then(|| self.namespace_of(&obj.id));
        let role_ref = root.get("roleRef");
        let role_kind = role_ref.and_then(|r| r.get("kind")).and_then(Node::as_str);
        // A ClusterRoleBinding can only refer to a ClusterRole.
        let role_cluster = cluster || role_kind == Some("ClusterRole");
        let role_name = role_ref
            .and_then(|r| r.get("name"))
            .and_then(Node::as_str)
            .unwrap_or_default();
        let role_name = self.strings.intern(role_name);
        let mut subjects = Vec::new();
        let items = root.get("subjects").map(Node::items).unwrap_or_default();
        for (i, s) in items.iter().enumerate() {
            let Some(name) = s
                .get("name")
                .and_then(Node::as_str)
                .filter(|n| !n.is_empty())
            else {
                continue;
            };
            let key = match s.get("kind").and_then(Node::as_str) {
                Some("User") => SubjectKey::User(self.strings.intern(name)),
                Some("Group") => SubjectKey::Group(self.strings.intern(name)),
                Some("ServiceAccount") => {
                    // In a RoleBinding the namespace defaults to the binding's.
                    let ns = s
                        .get("namespace")
                        .and_then(Node::as_str)
                        .filter(|n| !n.is_empty());
                    let ns = match (ns, namespace) {
                        (Some(ns), _) => self.strings.intern(ns),
                        (None, Some(ns)) => ns,
                        (None, None) => continue,
                    };
                    SubjectKey::ServiceAccount(ns, self.strings.intern(name))
                }
                _ => continue,
            };
            subjects.push(SubjectDef {
                key,
                index: i as u32,
                pos: s.pos,
            });
        }
        let name = self.strings.intern(&obj.id.name);
        self.bindings.push(BindingDef {
            cluster,
            namespace,
            name,
            role_cluster,
            role_name,
            role: None,
            subjects,
            source: Some(source),
        });
    }

    fn add_builtins(&mut self) {
        let present: HashSet<Sym> = self
            .roles
            .iter()
            .filter(|r| r.cluster)
            .map(|r| r.name)
            .collect();
        for b in builtin::ROLES {
            let name = self.strings.intern(b.name);
            let role = self.roles.len() as u32;
            let start = self.rules.len() as u32;
            let list =
                |l: &[&str]| -> Box<[Box<str>]> { l.iter().map(|s| Box::from(*s)).collect() };
            for (i, r) in b.rules.iter().enumerate() {
                let parts = [
                    list(r.verbs),
                    list(r.groups),
                    list(r.resources),
                    list(r.names),
                    list(r.urls),
                ];
                self.push_rule(role, i as u32, None, Pos::default(), parts);
            }
            let end = self.rules.len() as u32;
            let mut labels: Vec<(Box<str>, Box<str>)> = b
                .labels
                .iter()
                .map(|l| (Box::from(*l), Box::from("true")))
                .collect();
            labels.push((BOOTSTRAP_LABEL.0.into(), BOOTSTRAP_LABEL.1.into()));
            let aggregation = (!b.aggregate.is_empty()).then(|| {
                b.aggregate
                    .iter()
                    .map(|l| Selector {
                        labels: vec![(l.to_string(), "true".to_string())],
                        exprs: Vec::new(),
                        valid: true,
                    })
                    .collect()
            });
            self.roles.push(RoleDef {
                cluster: true,
                namespace: None,
                name,
                labels,
                aggregation,
                own: start..end,
                extra: Vec::new(),
                reconciled: false,
                shadow: present.contains(&name),
                effective: None,
                source: None,
                caps_cluster: Caps::default(),
                caps_ns: Caps::default(),
            });
        }
        let present: HashSet<Sym> = self
            .bindings
            .iter()
            .filter(|b| b.cluster)
            .map(|b| b.name)
            .collect();
        for b in builtin::BINDINGS {
            let name = self.strings.intern(b.name);
            if present.contains(&name) {
                continue;
            }
            let subjects = b
                .subjects
                .iter()
                .enumerate()
                .map(|(i, s)| SubjectDef {
                    key: match s {
                        BSubject::User(n) => SubjectKey::User(self.strings.intern(n)),
                        BSubject::Group(n) => SubjectKey::Group(self.strings.intern(n)),
                        BSubject::ServiceAccount(ns, n) => SubjectKey::ServiceAccount(
                            self.strings.intern(ns),
                            self.strings.intern(n),
                        ),
                    },
                    index: i as u32,
                    pos: Pos::default(),
                })
                .collect();
            self.bindings.push(BindingDef {
                cluster: true,
                namespace: None,
                name,
                role_cluster: true,
                role_name: name,
                role: None,
                subjects,
                source: None,
            });
        }
    }

    /// Resolves role references, aggregation and each role's capabilities.
    fn resolve(&mut self) {
        // A role defined more than once stands for all its definitions
        // (the first one carries the others' rules), so the verdict does
        // not depend on the order of the input; a redefined bootstrap role
        // carries the built-in rules too.
        let mut by_name: HashMap<(Option<Sym>, Sym, bool), u32> = HashMap::new();
        let mut builtin_of: HashMap<Sym, u32> = HashMap::new();
        for i in 0..self.roles.len() {
            let r = &self.roles[i];
            if r.shadow {
                builtin_of.insert(r.name, i as u32);
                continue;
            }
            let key = (r.namespace, r.name, r.cluster);
            match by_name.get(&key) {
                Some(&first) => {
                    let more: Vec<u32> = self.roles[i].own.clone().collect();
                    self.roles[first as usize].extra.extend(more);
                }
                None => {
                    by_name.insert(key, i as u32);
                }
            }
        }
        for (&(_, name, cluster), &i) in &by_name {
            let Some(&b) = builtin_of.get(&name).filter(|_| cluster) else {
                continue;
            };
            if self.roles[i as usize]
                .source
                .as_ref()
                .is_some_and(|s| s.autoupdate)
            {
                let rules: Vec<u32> = self.roles[b as usize].own.clone().collect();
                let aggregation = self.roles[b as usize].aggregation.take();
                let role = &mut self.roles[i as usize];
                role.extra.extend(rules);
                role.reconciled = true;
                if role.aggregation.is_none() {
                    role.aggregation = aggregation;
                }
            }
        }
        for b in &mut self.bindings {
            let ns = if b.role_cluster { None } else { b.namespace };
            b.role = by_name.get(&(ns, b.role_name, b.role_cluster)).copied();
        }
        self.aggregate(&by_name);
        for i in 0..self.roles.len() {
            let ids = self.roles[i].rule_ids();
            let (mut c, mut n) = (Caps::default(), Caps::default());
            for r in ids {
                if let Some(rule) = self.rules.get(r as usize) {
                    c = c.union(rule.caps_cluster);
                    n = n.union(rule.caps_ns);
                }
            }
            self.roles[i].caps_cluster = c;
            self.roles[i].caps_ns = n;
        }
    }

    /// Computes the rules of aggregated ClusterRoles as the aggregation
    /// controller keeps them: the rules of every other live ClusterRole one
    /// of its selectors matches, without duplicates, repeated until nothing
    /// changes (so `admin` gets `edit`'s aggregated rules and `view`'s). The
    /// role's own rules are kept too: in a cluster dump they are the
    /// controller's last result, possibly from roles the dump lacks.
    fn aggregate(&mut self, by_name: &HashMap<(Option<Sym>, Sym, bool), u32>) {
        let mut live: Vec<u32> = by_name
            .iter()
            .filter(|((_, _, cluster), _)| *cluster)
            .map(|(_, &i)| i)
            .collect();
        live.sort_unstable();
        let aggregated: Vec<u32> = live
            .iter()
            .copied()
            .filter(|&i| self.roles[i as usize].aggregation.is_some())
            .collect();
        if aggregated.is_empty() {
            return;
        }
        // The roles each aggregated role selects, in selector order then by name.
        let mut selected: Vec<(u32, Vec<u32>)> = Vec::new();
        for &a in &aggregated {
            let role = &self.roles[a as usize];
            let mut picks = Vec::new();
            for sel in role.aggregation.iter().flatten() {
                let mut matched: Vec<u32> = live
                    .iter()
                    .copied()
                    .filter(|&c| c != a && sel.matches(&self.roles[c as usize].labels))
                    .collect();
                matched.sort_by(|x, y| {
                    self.strings
                        .str(self.roles[*x as usize].name)
                        .cmp(self.strings.str(self.roles[*y as usize].name))
                });
                picks.extend(matched);
            }
            selected.push((a, picks));
        }
        // Rules are compared by content, as the controller does.
        let mut content: HashMap<[&[Box<str>]; 5], u32> = HashMap::new();
        let mut content_id = Vec::with_capacity(self.rules.len());
        for r in &self.rules {
            let key = [&*r.verbs, &*r.groups, &*r.resources, &*r.names, &*r.urls];
            let next = content.len() as u32;
            content_id.push(*content.entry(key).or_insert(next));
        }
        let mut effective: HashMap<u32, Vec<u32>> = HashMap::new();
        for _ in 0..=aggregated.len() {
            let mut changed = false;
            for (a, picks) in &selected {
                let own: Vec<u32> = self.roles[*a as usize].base_rules().collect();
                let mut seen = HashSet::new();
                let mut rules = Vec::new();
                let mut add = |r: u32, rules: &mut Vec<u32>| {
                    if content_id.get(r as usize).is_some_and(|c| seen.insert(*c)) {
                        rules.push(r);
                    }
                };
                for r in own {
                    add(r, &mut rules);
                }
                for p in picks {
                    match effective.get(p) {
                        Some(e) => e.iter().for_each(|&r| add(r, &mut rules)),
                        None => self.roles[*p as usize]
                            .base_rules()
                            .for_each(|r| add(r, &mut rules)),
                    }
                }
                let old = effective.get(a).map_or(0, Vec::len);
                if rules.len() != old {
                    changed = true;
                }
                effective.insert(*a, rules);
            }
            if !changed {
                break;
            }
        }
        for (a, rules) in effective {
            if let Some(role) = self.roles.get_mut(a as usize) {
                role.effective = Some(rules);
            }
        }
    }
}
