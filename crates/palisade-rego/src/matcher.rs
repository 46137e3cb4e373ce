//! A constraint's `spec.match`: which objects it applies to, decided as
//! Gatekeeper decides it (kinds, scope, namespaces, excludedNamespaces,
//! labelSelector, namespaceSelector, name, in that order; the object or the
//! old object matching is enough).
//!
//! <https://open-policy-agent.github.io/gatekeeper/website/docs/howto#the-match-field>

use std::collections::BTreeMap;

use palisade_core::{Node, Pos};
use serde_json::Value as Json;

use crate::source::group_of;

/// A name that may start and/or end with `*`: `kube-*`, `*-system`, `*sys*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wildcard(String);

impl Wildcard {
    /// Whether `candidate` is matched (exactly, or by the glob at either end).
    pub fn matches(&self, candidate: &str) -> bool {
        let w = self.0.as_str();
        let (front, rest) = match w.strip_prefix('*') {
            Some(r) => (true, r),
            None => (false, w),
        };
        let (back, core) = match rest.strip_suffix('*') {
            Some(c) => (true, c),
            None => (false, rest),
        };
        match (front, back) {
            (true, true) => candidate.contains(core),
            (true, false) => candidate.ends_with(core),
            (false, true) => candidate.starts_with(core),
            (false, false) => core == candidate,
        }
    }

    fn parse(node: &Node, what: &str) -> Result<Wildcard, (Pos, String)> {
        let s = node
            .as_str()
            .ok_or_else(|| (node.pos, format!("{what} must be a string")))?;
        // The CRD pattern Gatekeeper generates: ^\*?[-:a-z0-9]*\*?$
        let inner = s.strip_prefix('*').unwrap_or(s);
        let inner = inner.strip_suffix('*').unwrap_or(inner);
        if !inner.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == ':' || c == '.'
        }) {
            return Err((
                node.pos,
                format!("{what} {s:?} is not a name with an optional leading or trailing `*`"),
            ));
        }
        Ok(Wildcard(s.to_string()))
    }
}

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

/// One `matchExpressions` item.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`, ANDed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector {
    labels: Vec<(String, String)>,
    exprs: Vec<Requirement>,
}

/// The labels of an object, read from `metadata.labels`.
pub(crate) type Labels = BTreeMap<String, String>;

/// Reads `metadata.labels` of a JSON object (non-string values are left out).
pub(crate) fn labels_of(obj: &Json) -> Labels {
    obj.pointer("/metadata/labels")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl LabelSelector {
    /// Whether `labels` satisfy every term.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.exprs.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.op {
                    Op::In => value.is_some_and(|v| r.values.contains(v)),
                    Op::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                    Op::Exists => value.is_some(),
                    Op::DoesNotExist => value.is_none(),
                }
            })
    }

    pub(crate) fn parse(node: &Node, what: &str, errors: &mut Vec<(Pos, String)>) -> LabelSelector {
        let mut sel = LabelSelector::default();
        if !node.is_map() {
            errors.push((node.pos, format!("{what} must be a mapping")));
            return sel;
        }
        if let Some(ml) = node.get("matchLabels") {
            if !ml.is_map() {
                errors.push((ml.pos, format!("{what}.matchLabels must be a mapping")));
            }
            for e in ml.entries() {
                match e.node.as_str() {
                    Some(v) => sel.labels.push((e.key.clone(), v.to_string())),
                    None => errors.push((
                        e.key_pos,
                        format!("{what}.matchLabels.{}: label values are strings", e.key),
                    )),
                }
            }
        }
        if let Some(exprs) = node.get("matchExpressions") {
            for item in exprs.items() {
                let key = item.get("key").and_then(Node::as_str);
                let op = item.get("operator").and_then(Node::as_str);
                let values: Vec<String> = item
                    .get("values")
                    .map(|v| {
                        v.items()
                            .iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let Some(key) = key else {
                    errors.push((
                        item.pos,
                        format!("{what}.matchExpressions: an item has no key"),
                    ));
                    continue;
                };
                let op = match op {
                    Some("In") => Op::In,
                    Some("NotIn") => Op::NotIn,
                    Some("Exists") => Op::Exists,
                    Some("DoesNotExist") => Op::DoesNotExist,
                    other => {
                        errors.push((
                            item.pos,
                            format!(
                                "{what}.matchExpressions: operator {:?} is not In, NotIn, Exists or DoesNotExist",
                                other.unwrap_or("")
                            ),
                        ));
                        continue;
                    }
                };
                match op {
                    Op::In | Op::NotIn if values.is_empty() => errors.push((
                        item.pos,
                        format!("{what}.matchExpressions: {key:?}: values must be non-empty for In and NotIn"),
                    )),
                    Op::Exists | Op::DoesNotExist if !values.is_empty() => errors.push((
                        item.pos,
                        format!("{what}.matchExpressions: {key:?}: values must be empty for Exists and DoesNotExist"),
                    )),
                    _ => sel.exprs.push(Requirement {
                        key: key.to_string(),
                        op,
                        values,
                    }),
                }
            }
        }
        sel
    }
}

/// `spec.match.scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Any,
    Cluster,
    Namespaced,
}

/// One `spec.match.kinds` item.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KindSel {
    groups: Vec<String>,
    kinds: Vec<String>,
}

/// A parsed `spec.match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Match {
    kinds: Vec<KindSel>,
    scope: Scope,
    namespaces: Vec<Wildcard>,
    excluded: Vec<Wildcard>,
    label_selector: Option<LabelSelector>,
    namespace_selector: Option<LabelSelector>,
    name: Option<Wildcard>,
}

/// The Namespace of the object under review, when known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NamespaceInfo<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its labels.
    pub labels: &'a Labels,
}

/// Why a match could not be decided.
pub(crate) type MatchError = String;

fn strings(node: &Node, what: &str, errors: &mut Vec<(Pos, String)>) -> Vec<String> {
    if !matches!(node.value, palisade_core::Value::Seq(_)) {
        errors.push((node.pos, format!("{what} must be a list of strings")));
        return Vec::new();
    }
    node.items()
        .iter()
        .filter_map(|n| match n.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                errors.push((n.pos, format!("{what} must be a list of strings")));
                None
            }
        })
        .collect()
}

impl Match {
    /// A match block that selects everything (no `spec.match`).
    pub fn all() -> Match {
        Match {
            kinds: Vec::new(),
            scope: Scope::Any,
            namespaces: Vec::new(),
            excluded: Vec::new(),
            label_selector: None,
            namespace_selector: None,
            name: None,
        }
    }

    /// Parses `spec.match`, collecting every malformed field with its position.
    pub fn parse(node: &Node) -> Result<Match, Vec<(Pos, String)>> {
        let mut errors = Vec::new();
        let mut m = Match::all();
        if !node.is_map() {
            return Err(vec![(node.pos, "spec.match must be a mapping".into())]);
        }
        if let Some(kinds) = node.get("kinds") {
            for item in kinds.items() {
                let groups = item
                    .get("apiGroups")
                    .map(|n| strings(n, "spec.match.kinds[].apiGroups", &mut errors))
                    .unwrap_or_default();
                let kinds = item
                    .get("kinds")
                    .map(|n| strings(n, "spec.match.kinds[].kinds", &mut errors))
                    .unwrap_or_default();
                m.kinds.push(KindSel { groups, kinds });
            }
        }
        if let Some(scope) = node.get("scope") {
            m.scope = match scope.as_str() {
                Some("*") => Scope::Any,
                Some("Cluster") => Scope::Cluster,
                Some("Namespaced") => Scope::Namespaced,
                _ => {
                    errors.push((
                        scope.pos,
                        "spec.match.scope must be \"*\", \"Cluster\" or \"Namespaced\"".into(),
                    ));
                    Scope::Any
                }
            };
        }
        for (key, out) in [
            ("namespaces", &mut m.namespaces),
            ("excludedNamespaces", &mut m.excluded),
        ] {
            if let Some(list) = node.get(key) {
                for item in list.items() {
                    match Wildcard::parse(item, &format!("spec.match.{key}[]")) {
                        Ok(w) => out.push(w),
                        Err(e) => errors.push(e),
                    }
                }
                if !matches!(list.value, palisade_core::Value::Seq(_)) {
                    errors.push((list.pos, format!("spec.match.{key} must be a list")));
                }
            }
        }
        if let Some(sel) = node.get("labelSelector") {
            m.label_selector = Some(LabelSelector::parse(
                sel,
                "spec.match.labelSelector",
                &mut errors,
            ));
        }
        if let Some(sel) = node.get("namespaceSelector") {
            m.namespace_selector = Some(LabelSelector::parse(
                sel,
                "spec.match.namespaceSelector",
                &mut errors,
            ));
        }
        if let Some(name) = node.get("name") {
            match Wildcard::parse(name, "spec.match.name") {
                Ok(w) if !w.0.is_empty() => m.name = Some(w),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(m)
        } else {
            Err(errors)
        }
    }

    /// Whether the constraint applies to `object` (a Kubernetes object as
    /// JSON), given the review's namespace and the Namespace object when known.
    pub fn matches(
        &self,
        object: &Json,
        review_namespace: &str,
        ns: Option<NamespaceInfo<'_>>,
    ) -> Result<bool, MatchError> {
        let api_version = object
            .get("apiVersion")
            .and_then(Json::as_str)
            .unwrap_or("");
        let kind = object.get("kind").and_then(Json::as_str).unwrap_or("");
        let group = group_of(api_version);
        let meta = |k: &str| {
            object
                .get("metadata")
                .and_then(|m| m.get(k))
                .and_then(Json::as_str)
                .unwrap_or("")
        };
        let name = meta("name");
        let obj_ns = match meta("namespace") {
            "" => review_namespace,
            n => n,
        };
        let is_namespace = kind == "Namespace" && group.is_empty();

        // kinds
        if !self.kinds.is_empty()
            && !self.kinds.iter().any(|k| {
                let kind_ok = k.kinds.is_empty() || k.kinds.iter().any(|x| x == "*" || x == kind);
                let group_ok =
                    k.groups.is_empty() || k.groups.iter().any(|x| x == "*" || x == group);
                kind_ok && group_ok
            })
        {
            return Ok(false);
        }
        // scope
        let has_namespace = !obj_ns.is_empty() || ns.is_some();
        match self.scope {
            // Cluster: Namespaces and objects without a namespace.
            Scope::Cluster if !is_namespace && has_namespace => return Ok(false),
            Scope::Namespaced if is_namespace || !has_namespace => return Ok(false),
            _ => {}
        }
        // namespaces / excludedNamespaces: the Namespace's own name for a
        // Namespace, else the object's namespace; cluster-scoped objects pass.
        let namespace = if is_namespace {
            Some(name)
        } else if let Some(n) = ns {
            Some(n.name)
        } else if !obj_ns.is_empty() {
            Some(obj_ns)
        } else {
            None
        };
        if let Some(namespace) = namespace {
            if !self.namespaces.is_empty() && !self.namespaces.iter().any(|w| w.matches(namespace))
            {
                return Ok(false);
            }
            if self.excluded.iter().any(|w| w.matches(namespace)) {
                return Ok(false);
            }
        }
        // labelSelector
        if let Some(sel) = &self.label_selector {
            if !sel.matches(&labels_of(object)) {
                return Ok(false);
            }
        }
        // namespaceSelector
        if let Some(sel) = &self.namespace_selector {
            if is_namespace {
                if !sel.matches(&labels_of(object)) {
                    return Ok(false);
                }
            } else if let Some(n) = ns {
                if !sel.matches(n.labels) {
                    return Ok(false);
                }
            } else if !obj_ns.is_empty() {
                return Err(format!(
                    "spec.match.namespaceSelector needs the labels of Namespace {obj_ns:?}, which is \
                     not among the objects given (add the Namespace to the scan or to the inventory)"
                ));
            }
        }
        // name
        if let Some(w) = &self.name {
            if !w.matches(name) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::loader::{load_str, Limits};

    fn parse(text: &str) -> Match {
        let n = load_str(text, &Limits::default()).documents.remove(0).root;
        match Match::parse(&n) {
            Ok(m) => m,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn pod(ns: &str, name: &str, labels: Json) -> Json {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels}})
    }

    #[test]
    fn wildcards_match_prefix_suffix_and_infix() {
        assert!(Wildcard("kube-*".into()).matches("kube-system"));
        assert!(!Wildcard("kube-*".into()).matches("default"));
        assert!(Wildcard("*-system".into()).matches("gatekeeper-system"));
        assert!(Wildcard("*sys*".into()).matches("kube-system-x"));
        assert!(Wildcard("*".into()).matches("anything"));
        assert!(Wildcard("exact".into()).matches("exact"));
        assert!(!Wildcard("exact".into()).matches("exactly"));
    }

    #[test]
    fn kinds_with_groups_and_star() {
        let m = parse(
            "kinds:\n- apiGroups: [\"\"]\n  kinds: [Pod]\n- apiGroups: [apps]\n  kinds: [\"*\"]\n",
        );
        assert_eq!(m.matches(&pod("a", "p", Json::Null), "", None), Ok(true));
        let d = serde_json::json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s", "namespace": "a"}});
        assert_eq!(m.matches(&d, "", None), Ok(true));
        let j = serde_json::json!({"apiVersion": "batch/v1", "kind": "Pod", "metadata": {"name": "s", "namespace": "a"}});
        assert_eq!(m.matches(&j, "", None), Ok(false));
    }

    #[test]
    fn excluded_namespaces_glob_and_namespaces_list() {
        let m = parse("namespaces: [\"prod-*\"]\nexcludedNamespaces: [\"prod-legacy\"]\n");
        assert_eq!(
            m.matches(&pod("prod-a", "p", Json::Null), "", None),
            Ok(true)
        );
        assert_eq!(
            m.matches(&pod("prod-legacy", "p", Json::Null), "", None),
            Ok(false)
        );
        assert_eq!(m.matches(&pod("dev", "p", Json::Null), "", None), Ok(false));
        // A cluster-scoped object is not disqualified by namespace lists.
        let crole = serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}});
        assert_eq!(m.matches(&crole, "", None), Ok(true));
    }

    #[test]
    fn label_selector_expressions() {
        let m = parse("labelSelector:\n  matchLabels: {tier: web}\n  matchExpressions:\n  - {key: env, operator: In, values: [prod, stage]}\n  - {key: legacy, operator: DoesNotExist}\n  - {key: team, operator: NotIn, values: [x]}\n  - {key: app, operator: Exists}\n");
        let ok = serde_json::json!({"tier": "web", "env": "prod", "app": "a"});
        assert_eq!(m.matches(&pod("n", "p", ok), "", None), Ok(true));
        let legacy = serde_json::json!({"tier": "web", "env": "prod", "app": "a", "legacy": "1"});
        assert_eq!(m.matches(&pod("n", "p", legacy), "", None), Ok(false));
        let wrong_env = serde_json::json!({"tier": "web", "env": "dev", "app": "a"});
        assert_eq!(m.matches(&pod("n", "p", wrong_env), "", None), Ok(false));
        let team_x = serde_json::json!({"tier": "web", "env": "prod", "app": "a", "team": "x"});
        assert_eq!(m.matches(&pod("n", "p", team_x), "", None), Ok(false));
    }

    #[test]
    fn namespace_selector_uses_namespace_labels_and_errors_when_unknown() {
        let m = parse("namespaceSelector:\n  matchLabels: {enforce: \"true\"}\n");
        let labels: Labels = [("enforce".to_string(), "true".to_string())].into();
        let ns = NamespaceInfo {
            name: "a",
            labels: &labels,
        };
        assert_eq!(
            m.matches(&pod("a", "p", Json::Null), "", Some(ns)),
            Ok(true)
        );
        let empty = Labels::new();
        let ns = NamespaceInfo {
            name: "a",
            labels: &empty,
        };
        assert_eq!(
            m.matches(&pod("a", "p", Json::Null), "", Some(ns)),
            Ok(false)
        );
        assert!(m.matches(&pod("a", "p", Json::Null), "", None).is_err());
        // A Namespace is selected by its own labels.
        let nsobj = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "labels": {"enforce": "true"}}});
        assert_eq!(m.matches(&nsobj, "", None), Ok(true));
    }

    #[test]
    fn scope_and_name() {
        let m = parse("scope: Cluster\n");
        assert_eq!(m.matches(&pod("a", "p", Json::Null), "", None), Ok(false));
        let ns =
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}});
        assert_eq!(m.matches(&ns, "", None), Ok(true));
        let m = parse("scope: Namespaced\nname: \"web-*\"\n");
        assert_eq!(
            m.matches(&pod("a", "web-1", Json::Null), "", None),
            Ok(true)
        );
        assert_eq!(
            m.matches(&pod("a", "db-1", Json::Null), "", None),
            Ok(false)
        );
        // The review's namespace counts when the object does not name one.
        let bare =
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-2"}});
        assert_eq!(m.matches(&bare, "a", None), Ok(true));
        assert_eq!(m.matches(&bare, "", None), Ok(false));
    }

    #[test]
    fn malformed_match_fields_are_errors_with_positions() {
        let n = load_str(
            "scope: cluster\nlabelSelector:\n  matchExpressions:\n  - {key: a, operator: Equals, values: [x]}\n  - {key: b, operator: Exists, values: [x]}\nnamespaces: [\"Bad Name\"]\n",
            &Limits::default(),
        )
        .documents
        .remove(0)
        .root;
        let Err(errs) = Match::parse(&n) else {
            panic!("accepted")
        };
        let lines: Vec<u32> = errs.iter().map(|e| e.0.line).collect();
        assert_eq!(lines, vec![1, 6, 4, 5], "{errs:?}");
    }
}
