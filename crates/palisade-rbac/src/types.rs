//! The answers of the analysis: subjects, grants, effective rules and attack
//! paths, each with a JSON form (serde) and a one-line text form (Display).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use palisade_core::ObjectRef;
use serde::Serialize;

/// Who a binding grants to: a user, a group or a ServiceAccount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind")]
pub enum Subject {
    /// `kind: User`.
    User {
        /// User name.
        name: String,
    },
    /// `kind: Group`.
    Group {
        /// Group name.
        name: String,
    },
    /// `kind: ServiceAccount`.
    ServiceAccount {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
}

/// Why a subject could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectError(pub String);

impl fmt::Display for SubjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid subject {:?}: expected User:NAME, Group:NAME, ServiceAccount:NAMESPACE:NAME or system:serviceaccount:NAMESPACE:NAME",
            self.0
        )
    }
}

impl std::error::Error for SubjectError {}

/// The prefix of ServiceAccount user names.
pub(crate) const SA_USER_PREFIX: &str = "system:serviceaccount:";

fn service_account(rest: &str) -> Option<Subject> {
    let (ns, name) = rest.split_once(':').or_else(|| rest.split_once('/'))?;
    (!ns.is_empty() && !name.is_empty() && !name.contains(':')).then(|| Subject::ServiceAccount {
        namespace: ns.to_string(),
        name: name.to_string(),
    })
}

impl Subject {
    /// Parses `User:alice`, `Group:devs`, `ServiceAccount:ns:name` (or
    /// `ns/name`; `sa:` is short for `ServiceAccount:`) and the user name of
    /// a ServiceAccount, `system:serviceaccount:ns:name`. Any other text
    /// without a kind is a user name, as `kubectl --as` reads it.
    pub fn parse(text: &str) -> Result<Subject, SubjectError> {
        let err = || SubjectError(text.to_string());
        let user = |name: &str| match name.strip_prefix(SA_USER_PREFIX) {
            Some(rest) => service_account(rest).ok_or_else(err),
            None if name.is_empty() => Err(err()),
            None => Ok(Subject::User {
                name: name.to_string(),
            }),
        };
        if text.starts_with(SA_USER_PREFIX) {
            return user(text);
        }
        let Some((kind, rest)) = text.split_once(':') else {
            return user(text);
        };
        match kind.to_ascii_lowercase().as_str() {
            "user" => user(rest),
            "group" if rest.is_empty() => Err(err()),
            "group" => Ok(Subject::Group {
                name: rest.to_string(),
            }),
            "serviceaccount" | "sa" => service_account(rest).ok_or_else(err),
            // `system:admin` and the like are user names.
            _ => user(text),
        }
    }

    /// The subject as messages name it: `User "alice"`, `ServiceAccount "ns/name"`.
    pub fn describe(&self) -> String {
        match self {
            Subject::User { name } => format!("User {name:?}"),
            Subject::Group { name } => format!("Group {name:?}"),
            Subject::ServiceAccount { namespace, name } => {
                format!("ServiceAccount \"{namespace}/{name}\"")
            }
        }
    }
}

impl FromStr for Subject {
    type Err = SubjectError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Subject::parse(s)
    }
}

impl fmt::Display for Subject {
    /// The form [`Subject::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::User { name } => write!(f, "User:{name}"),
            Subject::Group { name } => write!(f, "Group:{name}"),
            Subject::ServiceAccount { namespace, name } => {
                write!(f, "ServiceAccount:{namespace}:{name}")
            }
        }
    }
}

/// Where a grant applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Cluster-wide, through a ClusterRoleBinding: cluster-scoped resources,
    /// every namespace and non-resource URLs.
    Cluster,
    /// One namespace, through a RoleBinding.
    Namespace(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Cluster => f.write_str("cluster-wide"),
            Scope::Namespace(ns) => write!(f, "in namespace {ns:?}"),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A Role, ClusterRole, RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RbacRef {
    /// `Role`, `ClusterRole`, `RoleBinding` or `ClusterRoleBinding`.
    pub kind: &'static str,
    /// Namespace of a Role or RoleBinding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// Part of the API server's built-in policy rather than the input
    /// (also true for the input's copies labelled `kubernetes.io/bootstrapping: rbac-defaults`).
    pub builtin: bool,
    /// Where it is written, when it is in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
    /// 1-based line of the object, when it is in the input.
    #[serde(skip_serializing_if = "is_zero")]
    pub line: u32,
    /// Whether the input has it: a binding's roleRef can name a role that is in neither.
    pub exists: bool,
}

impl fmt::Display for RbacRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} \"{}/{}\"", self.kind, ns, self.name)?,
            None => write!(f, "{} {:?}", self.kind, self.name)?,
        }
        if !self.exists {
            f.write_str(" (missing)")
        } else if self.builtin {
            f.write_str(" (built-in)")
        } else {
            Ok(())
        }
    }
}

/// One rule of a role, as written (or, for effective rules in a namespace,
/// without what a RoleBinding cannot grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleView {
    /// Index in the `rules` of the role that writes it.
    pub index: usize,
    /// The role that writes it, when it reaches the bound role through aggregation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aggregated_from: Option<RbacRef>,
    /// `verbs`.
    pub verbs: Vec<String>,
    /// `apiGroups`.
    #[serde(rename = "apiGroups", skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    /// `resources`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// `resourceNames`: when set, the rule allows only these objects.
    #[serde(rename = "resourceNames", skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    /// `nonResourceURLs`.
    #[serde(rename = "nonResourceURLs", skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
}

impl RuleView {
    /// What the rule allows, in short: `get,list secrets`,
    /// `create deployments (apiGroups apps)`, `get /healthz`.
    pub fn summary(&self) -> String {
        let mut out = self.verbs.join(",");
        if !self.resources.is_empty() {
            out.push(' ');
            out.push_str(&self.resources.join(","));
            if self.api_groups.iter().any(|g| !g.is_empty()) {
                let groups: Vec<&str> = self
                    .api_groups
                    .iter()
                    .map(|g| if g.is_empty() { "\"\"" } else { g.as_str() })
                    .collect();
                out.push_str(&format!(" (apiGroups {})", groups.join(",")));
            }
            if !self.resource_names.is_empty() {
                out.push_str(&format!(" named {}", self.resource_names.join(",")));
            }
        }
        if !self.non_resource_urls.is_empty() {
            out.push(' ');
            out.push_str(&self.non_resource_urls.join(","));
        }
        out
    }
}

impl fmt::Display for RuleView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rules[{}]", self.index)?;
        if let Some(from) = &self.aggregated_from {
            write!(f, " of {from}")?;
        }
        write!(f, " ({})", self.summary())
    }
}

/// A subject that can do what a who-can query asked, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The subject, as the binding names it (a group stays a group).
    pub subject: Subject,
    /// Where the grant applies.
    pub scope: Scope,
    /// The binding.
    pub binding: RbacRef,
    /// The role it refers to.
    pub role: RbacRef,
    /// The rule that allows the request (one without resourceNames when there is one).
    pub rule: RuleView,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} → {} {}",
            self.subject.describe(),
            self.scope,
            self.binding,
            self.role,
            self.rule
        )
    }
}

/// A rule a subject holds, where, and through which binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveRule {
    /// Where it applies.
    pub scope: Scope,
    /// The rule.
    pub rule: RuleView,
    /// The subject the binding names: the one asked about, or one of its
    /// groups (`system:serviceaccounts`, `system:authenticated`, ...).
    pub via: Subject,
    /// The binding.
    pub binding: RbacRef,
    /// The role it refers to.
    pub role: RbacRef,
}

impl fmt::Display for EffectiveRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} [{} → {} {}, to {}]",
            self.scope,
            self.rule.summary(),
            self.binding,
            self.role,
            self.rule,
            self.via.describe()
        )
    }
}

/// A workload whose pods run with a ServiceAccount token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodSummary {
    /// The workload.
    pub object: Arc<ObjectRef>,
    /// Its file.
    pub file: Arc<str>,
    /// Line of its ServiceAccount (or pod spec).
    pub line: u32,
    /// Column of the same.
    pub column: u32,
}

/// The chain from a pod to a risky permission: pod → ServiceAccount →
/// (group) → binding → role → rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttackPath {
    /// The pod (workload) whose containers hold the token.
    pub pod: PodSummary,
    /// Its ServiceAccount.
    pub service_account: Subject,
    /// The subject the binding names: the ServiceAccount or one of its groups.
    pub via: Subject,
    /// The binding.
    pub binding: RbacRef,
    /// The role.
    pub role: RbacRef,
    /// The rule.
    pub rule: RuleView,
    /// Where the permission applies.
    pub scope: Scope,
    /// The rule id that reports the permission (`rbac/secrets-read-cluster`).
    pub rule_id: &'static str,
    /// What it allows, in words.
    pub capability: &'static str,
    /// Whether it reaches Secrets or rights equivalent to cluster-admin in its scope.
    pub escalation: bool,
}

impl fmt::Display for AttackPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.pod.object;
        let ns = o.namespace.as_deref().unwrap_or("");
        write!(
            f,
            "{} \"{}/{}\" ({}:{}) → {}",
            o.kind,
            ns,
            o.name,
            self.pod.file,
            self.pod.line,
            self.service_account.describe()
        )?;
        if self.via != self.service_account {
            write!(f, " → {}", self.via.describe())?;
        }
        write!(
            f,
            " → {} → {} → {}: can {} {} [{}{}]",
            self.binding,
            self.role,
            self.rule,
            self.capability,
            self.scope,
            self.rule_id,
            if self.escalation {
                ", privilege escalation"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(ns: &str, name: &str) -> Subject {
        Subject::ServiceAccount {
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn subject_forms_parse_to_the_same_service_account() {
        for text in [
            "ServiceAccount:ci:deployer",
            "serviceaccount:ci/deployer",
            "sa:ci:deployer",
            "system:serviceaccount:ci:deployer",
            "User:system:serviceaccount:ci:deployer",
        ] {
            assert_eq!(Subject::parse(text), Ok(sa("ci", "deployer")), "{text}");
        }
    }

    #[test]
    fn bare_and_system_names_are_users() {
        assert_eq!(
            Subject::parse("alice"),
            Ok(Subject::User {
                name: "alice".into()
            })
        );
        assert_eq!(
            Subject::parse("system:kube-scheduler"),
            Ok(Subject::User {
                name: "system:kube-scheduler".into()
            })
        );
        assert_eq!(
            Subject::parse("Group:system:masters"),
            Ok(Subject::Group {
                name: "system:masters".into()
            })
        );
    }

    #[test]
    fn malformed_subjects_are_errors() {
        for text in [
            "",
            "Group:",
            "ServiceAccount:ns",
            "sa::x",
            "system:serviceaccount:ns",
        ] {
            assert!(Subject::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn display_round_trips() {
        let s = sa("a", "b");
        assert_eq!(Subject::parse(&s.to_string()), Ok(s));
    }
}
