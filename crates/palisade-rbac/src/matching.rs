//! How the RBAC authorizer matches a request against a rule, written to
//! follow `pkg/apis/rbac/v1/evaluation_helpers.go` upstream: `*` in verbs,
//! apiGroups, resources and nonResourceURLs; `*/subresource`; a trailing
//! `*` in a non-resource URL as a prefix; resourceNames as an allow-list.
//! <https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources>
//!
//! Also what the authorizer knows from the API's discovery data and this
//! crate has to know by name: which resources are cluster-scoped (a
//! RoleBinding never grants them), and the API group of well-known
//! resources for queries that name none.

/// `*`: every verb, group, resource or URL.
pub(crate) const ALL: &str = "*";

/// Whether `list` holds `*` or `item`.
pub(crate) fn has(list: &[Box<str>], item: &str) -> bool {
    list.iter().any(|v| &**v == ALL || &**v == item)
}

/// `ResourceMatches`: `*`, the exact `resource/subresource`, or `*/subresource`.
pub(crate) fn resource_matches(rule_resources: &[Box<str>], combined: &str) -> bool {
    let sub = combined.split_once('/').map(|(_, s)| s);
    rule_resources.iter().any(|r| {
        let r = &**r;
        r == ALL
            || r == combined
            || sub.is_some_and(|s| r.strip_prefix("*/").is_some_and(|rs| rs == s))
    })
}

/// `NonResourceURLMatches`: `*`, the exact path, or a prefix ending in `*`.
pub(crate) fn url_matches(rule_urls: &[Box<str>], path: &str) -> bool {
    rule_urls.iter().any(|u| {
        let u = &**u;
        u == ALL || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
    })
}

/// Resources that are cluster-scoped, by name in any group: a rule naming
/// them grants nothing through a RoleBinding. (`clusterroles` is absent on
/// purpose: `bind` on a ClusterRole is checked in the namespace of the
/// RoleBinding being created, so a RoleBinding can grant it.)
const CLUSTER_SCOPED: &[&str] = &[
    "apiservices",
    "certificatesigningrequests",
    "clusterrolebindings",
    "clustertrustbundles",
    "componentstatuses",
    "csidrivers",
    "csinodes",
    "customresourcedefinitions",
    "deviceclasses",
    "flowschemas",
    "groups",
    "ingressclasses",
    "ipaddresses",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
    "mutatingwebhookconfigurations",
    "nodes",
    "persistentvolumes",
    "podsecuritypolicies",
    "priorityclasses",
    "prioritylevelconfigurations",
    "resourceslices",
    "runtimeclasses",
    "selfsubjectaccessreviews",
    "selfsubjectreviews",
    "selfsubjectrulesreviews",
    "servicecidrs",
    "signers",
    "storageclasses",
    "storageversionmigrations",
    "storageversions",
    "subjectaccessreviews",
    "tokenreviews",
    "uids",
    "userextras",
    "users",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "validatingwebhookconfigurations",
    "volumeattachments",
    "volumeattributesclasses",
];

/// Whether a resource (`name` or `name/subresource`) is cluster-scoped, so
/// that a RoleBinding cannot grant it for `verb`. Unknown resources
/// (custom resources) count as namespaced.
pub(crate) fn cluster_scoped(resource: &str, verb: &str) -> bool {
    let base = resource.split_once('/').map_or(resource, |(b, _)| b);
    if base == "clusterroles" {
        return verb != "bind";
    }
    CLUSTER_SCOPED.binary_search(&base).is_ok()
}

/// Whether a rule's resource entry can apply through a RoleBinding at all:
/// `*` and namespaced resources can, cluster-scoped ones cannot.
pub(crate) fn entry_namespaced(resource: &str, verbs: &[Box<str>]) -> bool {
    let base = resource.split_once('/').map_or(resource, |(b, _)| b);
    if base == "clusterroles" {
        return has(verbs, "bind");
    }
    CLUSTER_SCOPED.binary_search(&base).is_err()
}

/// The API group of well-known resources, for queries that name none.
pub(crate) fn default_group(resource: &str) -> Option<&'static str> {
    Some(match resource {
        "pods"
        | "services"
        | "secrets"
        | "configmaps"
        | "serviceaccounts"
        | "nodes"
        | "namespaces"
        | "persistentvolumes"
        | "persistentvolumeclaims"
        | "events"
        | "endpoints"
        | "replicationcontrollers"
        | "limitranges"
        | "resourcequotas"
        | "podtemplates"
        | "bindings"
        | "componentstatuses"
        | "users"
        | "groups" => "",
        "deployments" | "daemonsets" | "statefulsets" | "replicasets" | "controllerrevisions" => {
            "apps"
        }
        "jobs" | "cronjobs" => "batch",
        "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings" => {
            "rbac.authorization.k8s.io"
        }
        "ingresses" | "networkpolicies" | "ingressclasses" => "networking.k8s.io",
        "certificatesigningrequests" | "signers" => "certificates.k8s.io",
        "mutatingwebhookconfigurations"
        | "validatingwebhookconfigurations"
        | "validatingadmissionpolicies"
        | "validatingadmissionpolicybindings" => "admissionregistration.k8s.io",
        "customresourcedefinitions" => "apiextensions.k8s.io",
        "leases" => "coordination.k8s.io",
        "storageclasses" | "csidrivers" | "csinodes" | "volumeattachments" => "storage.k8s.io",
        "horizontalpodautoscalers" => "autoscaling",
        "poddisruptionbudgets" => "policy",
        "priorityclasses" => "scheduling.k8s.io",
        "tokenreviews" | "selfsubjectreviews" => "authentication.k8s.io",
        "subjectaccessreviews"
        | "selfsubjectaccessreviews"
        | "selfsubjectrulesreviews"
        | "localsubjectaccessreviews" => "authorization.k8s.io",
        "endpointslices" => "discovery.k8s.io",
        "runtimeclasses" => "node.k8s.io",
        _ => return None,
    })
}

/// Non-resource URLs that only describe the API (discovery, health, version,
/// service-account issuer keys), as the default discovery roles grant them.
const DISCOVERY_URLS: &[&str] = &[
    "/.well-known/openid-configuration",
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/healthz/*",
    "/livez",
    "/livez/*",
    "/openapi",
    "/openapi/*",
    "/openid/v1/jwks",
    "/readyz",
    "/readyz/*",
    "/version",
    "/version/",
];

/// Resources every user may create to learn about itself (`system:basic-user`).
const SELF_REVIEWS: &[&str] = &[
    "selfsubjectaccessreviews",
    "selfsubjectreviews",
    "selfsubjectrulesreviews",
];

/// Whether a rule grants only discovery: GET on discovery URLs, or creating
/// reviews of one's own access.
pub(crate) fn discovery_only(
    verbs: &[Box<str>],
    groups: &[Box<str>],
    resources: &[Box<str>],
    urls: &[Box<str>],
) -> bool {
    let only = |list: &[Box<str>], allowed: &[&str]| list.iter().all(|v| allowed.contains(&&**v));
    let resources_ok = resources.is_empty()
        || (only(verbs, &["create"])
            && only(groups, &["authorization.k8s.io", "authentication.k8s.io"])
            && only(resources, SELF_REVIEWS));
    let urls_ok = urls.is_empty() || (only(verbs, &["get", "head"]) && only(urls, DISCOVERY_URLS));
    resources_ok && urls_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<Box<str>> {
        items.iter().map(|s| Box::from(*s)).collect()
    }

    #[test]
    fn cluster_scoped_table_is_sorted_for_binary_search() {
        assert!(CLUSTER_SCOPED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn star_slash_subresource_matches_only_that_subresource() {
        let r = list(&["*/exec"]);
        assert!(resource_matches(&r, "pods/exec"));
        assert!(!resource_matches(&r, "pods/attach"));
        assert!(!resource_matches(&r, "pods"));
    }

    #[test]
    fn resource_slash_star_is_not_a_wildcard() {
        // Upstream only knows `*` and `*/sub`: `pods/*` matches nothing but itself.
        let r = list(&["pods/*"]);
        assert!(!resource_matches(&r, "pods/exec"));
        assert!(resource_matches(&list(&["*"]), "pods/exec"));
    }

    #[test]
    fn url_prefix_star_matches_below_prefix() {
        let u = list(&["/apis/*"]);
        assert!(url_matches(&u, "/apis/apps/v1"));
        assert!(!url_matches(&u, "/apis"));
        assert!(url_matches(&list(&["*"]), "/metrics"));
    }

    #[test]
    fn bind_on_clusterroles_is_namespaced_other_verbs_are_not() {
        assert!(!cluster_scoped("clusterroles", "bind"));
        assert!(cluster_scoped("clusterroles", "get"));
        assert!(cluster_scoped("nodes/proxy", "get"));
        assert!(!cluster_scoped("widgets", "get"));
    }
}
