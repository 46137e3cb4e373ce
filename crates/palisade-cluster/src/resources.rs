//! What `palisade audit` reads, in the order it reads it, and the
//! permission each LIST needs (what `deploy/audit/clusterrole.yaml`
//! grants).

/// A resource to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// API group (`""` for the core group).
    pub group: String,
    /// Version (`v1`).
    pub version: String,
    /// Plural name in URLs (`pods`).
    pub plural: String,
    /// Kind of its objects (`Pod`).
    pub kind: String,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
    /// Why it is read, for the permission error.
    pub why: &'static str,
    /// Secrets: listed as metadata only unless values were asked for.
    pub metadata_only: bool,
    /// Listed before the check pass (the index needs it).
    pub index: bool,
}

impl Resource {
    /// `apiVersion` of its objects.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `/api/v1` or `/apis/GROUP/VERSION`.
    fn base(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// The collection's path, cluster-wide or in `namespace`.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = self.base();
        match namespace {
            Some(ns) if self.namespaced => format!("{base}/namespaces/{ns}/{}", self.plural),
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// The path of one of its objects: what findings carry as their location.
    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        let base = self.base();
        match namespace {
            Some(ns) if self.namespaced && !ns.is_empty() => {
                format!("{base}/namespaces/{ns}/{}/{name}", self.plural)
            }
            _ => format!("{base}/{}/{name}", self.plural),
        }
    }

    /// `pods`, or `deployments.apps`: how kubectl and RBAC errors name it.
    pub fn display(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// A built-in resource of the table below.
struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    why: &'static str,
}

const fn b(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    why: &'static str,
) -> Builtin {
    Builtin {
        group,
        version,
        plural,
        kind,
        namespaced,
        why,
    }
}

/// Everything read by default, in order: the index (Namespaces and their
/// Pod Security Admission labels, ServiceAccounts), then controllers
/// before what they own (Deployments before ReplicaSets before Pods), so
/// that an owned object's findings are compared with its controller's as
/// they come and only the differences are held; then RBAC, configuration,
/// network policy, nodes and admission control.
static READ: &[Builtin] = &[
    b(
        "",
        "v1",
        "namespaces",
        "Namespace",
        false,
        "Pod Security Admission labels",
    ),
    b(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        true,
        "token automounting and RBAC subjects",
    ),
    b("apps", "v1", "deployments", "Deployment", true, "workloads"),
    b(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        true,
        "workloads",
    ),
    b("apps", "v1", "daemonsets", "DaemonSet", true, "workloads"),
    b(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        true,
        "workloads",
    ),
    b("batch", "v1", "cronjobs", "CronJob", true, "workloads"),
    b(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        true,
        "workloads and pod owners",
    ),
    b(
        "batch",
        "v1",
        "jobs",
        "Job",
        true,
        "workloads and pod owners",
    ),
    b(
        "",
        "v1",
        "pods",
        "Pod",
        true,
        "what runs, with the image digests in status",
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        true,
        "RBAC analysis",
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
        "RBAC analysis",
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
        "RBAC analysis",
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        "RBAC analysis",
    ),
    b(
        "",
        "v1",
        "configmaps",
        "ConfigMap",
        true,
        "credentials in configuration",
    ),
    b("", "v1", "services", "Service", true, "Service rules"),
    b(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
        "pod isolation",
    ),
    b("", "v1", "nodes", "Node", false, "versions and addresses"),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        "admission coverage",
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        "admission coverage",
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        false,
        "admission coverage",
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        false,
        "admission coverage",
    ),
    b(
        "templates.gatekeeper.sh",
        "v1",
        "constrainttemplates",
        "ConstraintTemplate",
        false,
        "Gatekeeper policies",
    ),
];

/// Secrets, listed only when asked for, after ConfigMaps.
static SECRETS: Builtin = b(
    "",
    "v1",
    "secrets",
    "Secret",
    true,
    "legacy token Secrets and credentials",
);

/// Whether Secrets are read, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Secrets {
    /// Not listed (the default: `list` on secrets returns every value).
    #[default]
    No,
    /// Listed as metadata only (PartialObjectMetadata): names, labels,
    /// annotations and type; values never leave the API server.
    Metadata,
    /// Listed whole: values are checked in memory and never printed.
    Values,
}

/// The built-in resources to read, in order.
pub fn builtin(secrets: Secrets) -> Vec<Resource> {
    let mut out: Vec<Resource> = READ.iter().map(|r| resource(r, false)).collect();
    if secrets != Secrets::No {
        let at = out
            .iter()
            .position(|r| r.plural == "configmaps")
            .map_or(out.len(), |i| i + 1);
        out.insert(at, resource(&SECRETS, secrets == Secrets::Metadata));
    }
    out
}

fn resource(r: &Builtin, metadata_only: bool) -> Resource {
    Resource {
        group: r.group.into(),
        version: r.version.into(),
        plural: r.plural.into(),
        kind: r.kind.into(),
        namespaced: r.namespaced,
        why: r.why,
        metadata_only,
        index: matches!(r.plural, "namespaces" | "serviceaccounts"),
    }
}

/// The groups whose resources are found by discovery rather than named:
/// Gatekeeper's constraints (one kind per template) and the custom
/// resources that hold pod templates.
pub fn discovered_groups() -> Vec<&'static str> {
    let mut groups = vec!["constraints.gatekeeper.sh"];
    for w in palisade_core::object::CUSTOM_WORKLOADS {
        if !groups.contains(&w.group) {
            groups.push(w.group);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_only_when_asked_and_then_after_configmaps() {
        assert!(!builtin(Secrets::No).iter().any(|r| r.plural == "secrets"));
        let with = builtin(Secrets::Metadata);
        let i = with.iter().position(|r| r.plural == "secrets").unwrap();
        assert_eq!(with[i - 1].plural, "configmaps");
        assert!(with[i].metadata_only);
        assert!(!builtin(Secrets::Values)[i].metadata_only);
    }

    #[test]
    fn controllers_come_before_what_they_own() {
        let all = builtin(Secrets::No);
        let pos = |p: &str| all.iter().position(|r| r.plural == p).unwrap();
        assert!(pos("serviceaccounts") < pos("deployments"));
        assert!(pos("deployments") < pos("replicasets"));
        assert!(pos("replicasets") < pos("pods"));
        assert!(pos("cronjobs") < pos("jobs"));
        assert!(pos("jobs") < pos("pods"));
    }

    #[test]
    fn paths_are_the_api_servers() {
        let all = builtin(Secrets::No);
        let deploy = all.iter().find(|r| r.plural == "deployments").unwrap();
        assert_eq!(deploy.path(None), "/apis/apps/v1/deployments");
        assert_eq!(
            deploy.object_path(Some("shop"), "web"),
            "/apis/apps/v1/namespaces/shop/deployments/web"
        );
        let ns = &all[0];
        assert_eq!(ns.path(Some("shop")), "/api/v1/namespaces");
        assert_eq!(ns.object_path(None, "shop"), "/api/v1/namespaces/shop");
        assert_eq!(deploy.display(), "deployments.apps");
    }
}
