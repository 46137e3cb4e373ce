//! Risky capabilities: what a rule lets its holder do that an `rbac/*` rule
//! reports, worked out once per rule for both scopes a binding can give it
//! (cluster-wide through a ClusterRoleBinding, one namespace through a
//! RoleBinding). Adding a capability is one [`Cap`] variant, its checks in
//! [`checks`] and its catalog entry.

use palisade_core::RuleMeta;

use crate::catalog;
use crate::matching::{discovery_only, entry_namespaced, has, resource_matches, ALL};

/// A risky capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Cap {
    /// verbs, resources and apiGroups all `*`.
    ClusterAdmin,
    /// get/list/watch Secrets.
    SecretsRead,
    /// create/update/patch pods or workload controllers.
    WorkloadCreate,
    /// pods/exec, pods/attach, pods/portforward.
    PodExec,
    /// escalate or bind on roles.
    EscalateBind,
    /// impersonate users, groups or ServiceAccounts.
    Impersonate,
    /// create serviceaccounts/token.
    TokenCreate,
    /// nodes/proxy.
    NodesProxy,
    /// approve CSRs (update on the approval subresource and approve on a
    /// signer, in any rules of the role) or sign them.
    CsrApprove,
    /// change admission webhooks and policies.
    WebhookConfig,
    /// update or patch services/status: set a LoadBalancer's ingress IP and
    /// intercept the cluster's traffic to it (CVE-2020-8554).
    ServiceStatus,
}

impl Cap {
    /// Every capability, most severe first (the order findings and paths use).
    pub(crate) const ALL: [Cap; 11] = [
        Cap::ClusterAdmin,
        Cap::SecretsRead,
        Cap::EscalateBind,
        Cap::Impersonate,
        Cap::NodesProxy,
        Cap::TokenCreate,
        Cap::WorkloadCreate,
        Cap::PodExec,
        Cap::CsrApprove,
        Cap::WebhookConfig,
        Cap::ServiceStatus,
    ];

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// The rule that reports it (Secrets read depends on the scope).
    pub(crate) fn meta(self, cluster: bool) -> &'static RuleMeta {
        match self {
            Cap::ClusterAdmin => &catalog::CLUSTER_ADMIN,
            Cap::SecretsRead if cluster => &catalog::SECRETS_READ_CLUSTER,
            Cap::SecretsRead => &catalog::SECRETS_READ,
            Cap::WorkloadCreate => &catalog::WORKLOAD_CREATE,
            Cap::PodExec => &catalog::POD_EXEC,
            Cap::EscalateBind => &catalog::ESCALATE_BIND,
            Cap::Impersonate => &catalog::IMPERSONATE,
            Cap::TokenCreate => &catalog::TOKEN_CREATE,
            Cap::NodesProxy => &catalog::NODES_PROXY,
            Cap::CsrApprove => &catalog::CSR_APPROVE,
            Cap::WebhookConfig => &catalog::WEBHOOK_CONFIG,
            Cap::ServiceStatus => &catalog::SERVICE_STATUS,
        }
    }

    /// What the holder can do, as a phrase after "can".
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            Cap::ClusterAdmin => "do anything (verbs, resources and apiGroups `*`)",
            Cap::SecretsRead => "read Secrets",
            Cap::WorkloadCreate => "create or change pods or workload controllers",
            Cap::PodExec => "exec into, attach to or port-forward to pods",
            Cap::EscalateBind => "escalate or bind roles",
            Cap::Impersonate => "impersonate other identities",
            Cap::TokenCreate => "create ServiceAccount tokens",
            Cap::NodesProxy => "reach the kubelet API through nodes/proxy",
            Cap::CsrApprove => "approve or sign certificate signing requests",
            Cap::WebhookConfig => "change admission webhooks or policies",
            Cap::ServiceStatus => "set Services' load-balancer addresses (services/status)",
        }
    }

    /// Whether holding it is a privilege-escalation path: it reaches Secrets
    /// or rights equivalent to cluster-admin in its scope.
    pub(crate) fn escalation(self) -> bool {
        !matches!(
            self,
            Cap::PodExec | Cap::CsrApprove | Cap::WebhookConfig | Cap::ServiceStatus
        )
    }
}

/// A set of capabilities, plus whether a rule grants anything at all and
/// anything beyond discovery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Caps(u32);

const ANY: u32 = 1 << 30;
const NON_DISCOVERY: u32 = 1 << 31;
/// update/patch on certificatesigningrequests/approval: half of [`Cap::CsrApprove`].
const CSR_APPROVAL: u32 = 1 << 28;
/// approve on signers: the other half.
const SIGNER_APPROVE: u32 = 1 << 29;

impl Caps {
    /// Whether `cap` is in the set.
    pub(crate) fn has(self, cap: Cap) -> bool {
        self.0 & cap.bit() != 0
    }
    /// Whether the rule grants anything in this scope.
    pub(crate) fn any(self) -> bool {
        self.0 & ANY != 0
    }
    /// Whether it grants anything beyond discovery.
    pub(crate) fn non_discovery(self) -> bool {
        self.0 & NON_DISCOVERY != 0
    }
    /// The union; capabilities that take two rules (approving CSRs) are
    /// held once both halves are in it.
    pub(crate) fn union(self, other: Caps) -> Caps {
        Caps(self.0 | other.0).completed()
    }
    fn completed(self) -> Caps {
        let both = CSR_APPROVAL | SIGNER_APPROVE;
        if self.0 & both == both {
            Caps(self.0 | Cap::CsrApprove.bit())
        } else {
            self
        }
    }
    /// Whether a rule with these capabilities is (part of) what grants
    /// `cap`: it holds it, or holds half of a two-rule capability.
    pub(crate) fn grants_part(self, cap: Cap) -> bool {
        self.has(cap) || (cap == Cap::CsrApprove && self.0 & (CSR_APPROVAL | SIGNER_APPROVE) != 0)
    }
    /// The risky capabilities in the set, most severe first.
    pub(crate) fn iter(self) -> impl Iterator<Item = Cap> {
        Cap::ALL.into_iter().filter(move |c| self.has(*c))
    }
}

/// One way to hold a capability: any of `verbs` on any of `resources` in any
/// of `groups`.
struct Check {
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    /// The resources are cluster-scoped: a RoleBinding cannot grant them.
    cluster_only: bool,
    /// Whether a rule limited by resourceNames still counts.
    names_count: bool,
}

const fn check(
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
    cluster_only: bool,
) -> Check {
    Check {
        groups,
        resources,
        verbs,
        cluster_only,
        names_count: true,
    }
}

const MUTATE: &[&str] = &["create", "update", "patch"];
const RBAC_GROUP: &[&str] = &["rbac.authorization.k8s.io"];
const ADMISSION: &[&str] = &["admissionregistration.k8s.io"];
const CERTS: &[&str] = &["certificates.k8s.io"];

fn checks(cap: Cap) -> &'static [Check] {
    match cap {
        Cap::ClusterAdmin => {
            const C: &[Check] = &[];
            C
        }
        Cap::SecretsRead => {
            const C: &[Check] = &[Check {
                groups: &[""],
                resources: &["secrets"],
                verbs: &["get", "list", "watch"],
                cluster_only: false,
                // Reading named Secrets is the least-privilege pattern.
                names_count: false,
            }];
            C
        }
        Cap::WorkloadCreate => {
            const C: &[Check] = &[
                check(&[""], &["pods", "replicationcontrollers"], MUTATE, false),
                check(
                    &["apps"],
                    &["deployments", "daemonsets", "statefulsets", "replicasets"],
                    MUTATE,
                    false,
                ),
                check(&["batch"], &["jobs", "cronjobs"], MUTATE, false),
            ];
            C
        }
        Cap::PodExec => {
            const C: &[Check] = &[check(
                &[""],
                &["pods/exec", "pods/attach", "pods/portforward"],
                &["create", "get"],
                false,
            )];
            C
        }
        Cap::EscalateBind => {
            const C: &[Check] = &[
                check(RBAC_GROUP, &["roles"], &["escalate", "bind"], false),
                check(RBAC_GROUP, &["clusterroles"], &["bind"], false),
                check(RBAC_GROUP, &["clusterroles"], &["escalate"], true),
            ];
            C
        }
        Cap::Impersonate => {
            const C: &[Check] = &[
                check(&[""], &["users", "groups"], &["impersonate"], true),
                check(&[""], &["serviceaccounts"], &["impersonate"], false),
            ];
            C
        }
        Cap::TokenCreate => {
            const C: &[Check] = &[check(&[""], &["serviceaccounts/token"], &["create"], false)];
            C
        }
        Cap::NodesProxy => {
            const C: &[Check] = &[check(
                &[""],
                &["nodes/proxy"],
                &["get", "create", "update", "patch", "delete"],
                true,
            )];
            C
        }
        Cap::CsrApprove => {
            // Approving takes two halves as well, checked in `of_rule`.
            const C: &[Check] = &[check(CERTS, &["signers"], &["sign"], true)];
            C
        }
        Cap::ServiceStatus => {
            const C: &[Check] = &[check(
                &[""],
                &["services/status"],
                &["update", "patch"],
                false,
            )];
            C
        }
        Cap::WebhookConfig => {
            const C: &[Check] = &[check(
                ADMISSION,
                &[
                    "mutatingwebhookconfigurations",
                    "validatingwebhookconfigurations",
                    "validatingadmissionpolicies",
                    "validatingadmissionpolicybindings",
                    "mutatingadmissionpolicies",
                    "mutatingadmissionpolicybindings",
                ],
                &["create", "update", "patch", "delete", "deletecollection"],
                true,
            )];
            C
        }
    }
}

/// The parts of a rule that decide what it grants.
pub(crate) struct RuleParts<'a> {
    /// `verbs`.
    pub verbs: &'a [Box<str>],
    /// `apiGroups`.
    pub groups: &'a [Box<str>],
    /// `resources`.
    pub resources: &'a [Box<str>],
    /// `resourceNames`.
    pub names: &'a [Box<str>],
    /// `nonResourceURLs`.
    pub urls: &'a [Box<str>],
}

fn holds(rule: &RuleParts<'_>, c: &Check) -> bool {
    if !c.groups.iter().any(|g| has(rule.groups, g)) {
        return false;
    }
    c.verbs.iter().any(|verb| {
        has(rule.verbs, verb)
            && c.resources.iter().any(|res| {
                if !resource_matches(rule.resources, res) {
                    return false;
                }
                if rule.names.is_empty() {
                    return true;
                }
                // A create of a top-level resource has no name yet, so a
                // rule with resourceNames never allows it.
                c.names_count && (*verb != "create" || res.contains('/'))
            })
    })
}

/// What a rule grants when bound cluster-wide (`cluster`) or in one namespace.
pub(crate) fn of_rule(rule: &RuleParts<'_>, cluster: bool) -> Caps {
    let mut bits = 0;
    let resources_apply = !rule.verbs.is_empty()
        && !rule.groups.is_empty()
        && if cluster {
            !rule.resources.is_empty()
        } else {
            rule.resources
                .iter()
                .any(|r| entry_namespaced(r, rule.verbs))
        };
    let urls_apply = cluster && !rule.verbs.is_empty() && !rule.urls.is_empty();
    if resources_apply || urls_apply {
        bits |= ANY;
        let discovery = discovery_only(rule.verbs, rule.groups, rule.resources, rule.urls);
        if !discovery {
            bits |= NON_DISCOVERY;
        }
    }
    if !resources_apply {
        return Caps(bits);
    }
    let full = |l: &[Box<str>]| l.iter().any(|v| &**v == ALL);
    if full(rule.verbs) && full(rule.groups) && full(rule.resources) && rule.names.is_empty() {
        bits |= Cap::ClusterAdmin.bit();
    }
    for cap in Cap::ALL {
        if checks(cap)
            .iter()
            .any(|c| (cluster || !c.cluster_only) && holds(rule, c))
        {
            bits |= cap.bit();
        }
    }
    if cluster {
        const APPROVAL: Check = check(
            CERTS,
            &["certificatesigningrequests/approval"],
            &["update", "patch"],
            true,
        );
        const APPROVE: Check = check(CERTS, &["signers"], &["approve"], true);
        if holds(rule, &APPROVAL) {
            bits |= CSR_APPROVAL;
        }
        if holds(rule, &APPROVE) {
            bits |= SIGNER_APPROVE;
        }
    }
    Caps(bits).completed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(items: &[&str]) -> Vec<Box<str>> {
        items.iter().map(|s| Box::from(*s)).collect()
    }

    fn caps(
        groups: &[&str],
        resources: &[&str],
        verbs: &[&str],
        names: &[&str],
        cluster: bool,
    ) -> Caps {
        let (g, r, v, n) = (l(groups), l(resources), l(verbs), l(names));
        of_rule(
            &RuleParts {
                verbs: &v,
                groups: &g,
                resources: &r,
                names: &n,
                urls: &[],
            },
            cluster,
        )
    }

    #[test]
    fn csr_approval_needs_both_halves_in_the_role() {
        let approval = caps(
            &["certificates.k8s.io"],
            &["certificatesigningrequests/approval"],
            &["update"],
            &[],
            true,
        );
        let approve = caps(
            &["certificates.k8s.io"],
            &["signers"],
            &["approve"],
            &[],
            true,
        );
        assert!(!approval.has(Cap::CsrApprove) && approval.grants_part(Cap::CsrApprove));
        assert!(!approve.has(Cap::CsrApprove));
        assert!(approval.union(approve).has(Cap::CsrApprove));
        assert!(
            caps(&["certificates.k8s.io"], &["signers"], &["sign"], &[], true).has(Cap::CsrApprove)
        );
        let both = caps(
            &["certificates.k8s.io"],
            &["certificatesigningrequests/approval", "signers"],
            &["update", "approve"],
            &[],
            true,
        );
        assert!(both.has(Cap::CsrApprove));
    }

    #[test]
    fn services_status_update_is_a_capability() {
        assert!(caps(&[""], &["services/status"], &["patch"], &[], false).has(Cap::ServiceStatus));
        assert!(!caps(&[""], &["services"], &["patch"], &[], false).has(Cap::ServiceStatus));
    }

    #[test]
    fn named_secrets_read_is_not_a_capability() {
        assert!(caps(&[""], &["secrets"], &["get"], &[], true).has(Cap::SecretsRead));
        assert!(!caps(&[""], &["secrets"], &["get"], &["db"], true).has(Cap::SecretsRead));
    }

    #[test]
    fn create_pods_with_resource_names_never_matches() {
        assert!(!caps(&[""], &["pods"], &["create"], &["p"], true).has(Cap::WorkloadCreate));
        assert!(caps(&[""], &["pods"], &["update"], &["p"], true).has(Cap::WorkloadCreate));
        assert!(caps(
            &[""],
            &["serviceaccounts/token"],
            &["create"],
            &["sa"],
            true
        )
        .has(Cap::TokenCreate));
    }

    #[test]
    fn nodes_proxy_is_void_through_a_role_binding() {
        assert!(caps(&[""], &["nodes/proxy"], &["get"], &[], true).has(Cap::NodesProxy));
        let ns = caps(&[""], &["nodes/proxy"], &["get"], &[], false);
        assert!(!ns.has(Cap::NodesProxy));
        assert!(!ns.any());
    }

    #[test]
    fn wildcard_rule_holds_every_capability_cluster_wide() {
        let c = caps(&["*"], &["*"], &["*"], &[], true);
        assert_eq!(c.iter().count(), Cap::ALL.len());
        let ns = caps(&["*"], &["*"], &["*"], &[], false);
        assert!(ns.has(Cap::ClusterAdmin) && ns.has(Cap::SecretsRead));
        assert!(!ns.has(Cap::NodesProxy) && !ns.has(Cap::WebhookConfig));
    }

    #[test]
    fn self_reviews_are_discovery() {
        let c = caps(
            &["authorization.k8s.io"],
            &["selfsubjectaccessreviews"],
            &["create"],
            &[],
            true,
        );
        assert!(c.any() && !c.non_discovery());
    }
}
