//! The `rbac/*` rules: one catalog entry each, with rationale, remediation
//! and the Kubernetes documentation or CIS item it follows. Every finding
//! of a rule has the rule's severity, so severity overrides by rule id in
//! the policy file apply as they do to every other pack.

use palisade_core::{RuleMeta, Severity};

/// Kubernetes' "Role Based Access Control Good Practices".
pub const GOOD_PRACTICES: &str =
    "https://kubernetes.io/docs/concepts/security/rbac-good-practices/";
/// Kubernetes' RBAC reference.
pub const RBAC_DOCS: &str = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/";
/// The CIS Kubernetes Benchmark (section 5.1, RBAC and service accounts).
pub const CIS: &str = "https://www.cisecurity.org/benchmark/kubernetes";

/// `rbac/wildcard`.
pub static WILDCARD: RuleMeta = RuleMeta {
    id: "rbac/wildcard",
    title: "Role uses a wildcard verb, resource or URL",
    severity: Severity::High,
    level: None,
    rationale: "A `*` in verbs, resources or nonResourceURLs grants everything that exists now and everything added later (new subresources, custom resources, new verbs such as escalate), so nobody can say from the role what it allows (CIS 5.1.3). A wildcard apiGroups entry alone is not reported: it widens a rule that still names its resources and verbs.",
    remediation: "List the verbs, resources and URLs the workload needs; `kubectl auth can-i --list --as=<subject>` and audit logs show what is actually used.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege", CIS],
};

/// `rbac/cluster-admin-binding`.
pub static CLUSTER_ADMIN: RuleMeta = RuleMeta {
    id: "rbac/cluster-admin-binding",
    title: "cluster-admin (or an equivalent role) bound outside break-glass groups",
    severity: Severity::Critical,
    level: None,
    rationale: "cluster-admin (any role granting verbs `*` on resources `*` in apiGroups `*`) is full control: every Secret, every node through workloads, and RBAC itself. It should be held only by a break-glass group used in emergencies (system:masters by default), never by users, ServiceAccounts or everyday groups (CIS 5.1.1). Through a RoleBinding it is full control of one namespace, which includes every Secret and ServiceAccount there; the other rbac/* rules are not repeated for such a binding.",
    remediation: "Bind a narrower role: admin or edit in the namespaces concerned, or a custom role listing what is needed. Keep cluster-admin for a break-glass group whose use is audited.",
    references: &["https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles", CIS],
};

/// `rbac/secrets-read-cluster`.
pub static SECRETS_READ_CLUSTER: RuleMeta = RuleMeta {
    id: "rbac/secrets-read-cluster",
    title: "Subject can read Secrets in every namespace",
    severity: Severity::Critical,
    level: None,
    rationale: "get, list or watch on Secrets through a ClusterRoleBinding reveals every credential in the cluster, including ServiceAccount tokens of controllers that can do anything: it is cluster-admin in practice. list and watch return the Secret data as get does (CIS 5.1.2). Rules limited by resourceNames are not reported.",
    remediation: "Grant Secret access in the namespaces that need it through RoleBindings, limited by resourceNames to the Secrets used; mount Secrets into pods instead of reading them through the API.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets", CIS],
};

/// `rbac/secrets-read`.
pub static SECRETS_READ: RuleMeta = RuleMeta {
    id: "rbac/secrets-read",
    title: "Subject can read every Secret of a namespace",
    severity: Severity::High,
    level: None,
    rationale: "get, list or watch on Secrets through a RoleBinding reveals every credential of the namespace, including tokens of its ServiceAccounts, and so all their permissions (CIS 5.1.2). Rules limited by resourceNames are not reported.",
    remediation: "Limit the rule with resourceNames to the Secrets the subject needs, or mount the Secret into the pod instead of reading it through the API.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets", CIS],
};

/// `rbac/workload-create`.
pub static WORKLOAD_CREATE: RuleMeta = RuleMeta {
    id: "rbac/workload-create",
    title: "Subject can create or change pods or workload controllers",
    severity: Severity::High,
    level: None,
    rationale: "Whoever can create a pod (directly or through a Deployment, DaemonSet, StatefulSet, ReplicaSet, ReplicationController, Job or CronJob) can run it as any ServiceAccount of the namespace and mount any Secret, ConfigMap or volume there; where Pod Security admission allows it, also a privileged pod that owns its node. Changing an existing workload (update, patch) runs new code with that workload's identity (CIS 5.1.4).",
    remediation: "Let a deployment pipeline or GitOps controller hold these rights; give people read access and namespaces enforced at the restricted Pod Security level.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#workload-creation", CIS],
};

/// `rbac/pod-exec`.
pub static POD_EXEC: RuleMeta = RuleMeta {
    id: "rbac/pod-exec",
    title: "Subject can exec into, attach to or port-forward to pods",
    severity: Severity::High,
    level: None,
    rationale: "pods/exec and pods/attach run commands inside running containers, with their ServiceAccount tokens and mounted Secrets; pods/portforward reaches ports the network policy meant to close. `get` counts as well as `create`, because WebSocket clients open these streams with a GET request.",
    remediation: "Keep exec for break-glass roles with an expiry; debug with ephemeral containers in dedicated namespaces, and log what is used.",
    references: &[GOOD_PRACTICES, "https://kubernetes.io/docs/reference/access-authn-authz/authorization/#determine-the-request-verb"],
};

/// `rbac/escalate-bind`.
pub static ESCALATE_BIND: RuleMeta = RuleMeta {
    id: "rbac/escalate-bind",
    title: "Subject can escalate or bind roles",
    severity: Severity::Critical,
    level: None,
    rationale: "RBAC stops a subject from granting permissions it does not hold, unless it has `escalate` on roles (edit a role to add any permission) or `bind` on roles (bind any role, cluster-admin included, to itself). Either is a direct path to every permission the role scope allows (CIS 5.1.8). Rules limited by resourceNames are reported too, naming the roles: binding one powerful role is enough.",
    remediation: "Remove escalate and bind; if a controller must create bindings, limit bind with resourceNames to the roles it hands out.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#escalate-verb", "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#privilege-escalation-prevention-and-bootstrapping", CIS],
};

/// `rbac/impersonate`.
pub static IMPERSONATE: RuleMeta = RuleMeta {
    id: "rbac/impersonate",
    title: "Subject can impersonate users, groups or ServiceAccounts",
    severity: Severity::Critical,
    level: None,
    rationale: "`impersonate` lets a subject send requests as another user, group or ServiceAccount, with all of its permissions: impersonating the group system:masters is cluster-admin (CIS 5.1.8). Impersonating users or groups is cluster-scoped, so a RoleBinding grants only the impersonation of the namespace's ServiceAccounts.",
    remediation: "Remove impersonate, or limit it with resourceNames to the identities a proxy really needs to act as.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#impersonate-verb", "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation", CIS],
};

/// `rbac/token-create`.
pub static TOKEN_CREATE: RuleMeta = RuleMeta {
    id: "rbac/token-create",
    title: "Subject can create ServiceAccount tokens",
    severity: Severity::High,
    level: None,
    rationale: "`create` on serviceaccounts/token issues a token for any ServiceAccount in scope (the TokenRequest API), so the subject holds the permissions of all of them (CIS 5.1.13).",
    remediation: "Remove the permission, or limit it with resourceNames to the ServiceAccounts the subject must act as.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#token-request", CIS],
};

/// `rbac/nodes-proxy`.
pub static NODES_PROXY: RuleMeta = RuleMeta {
    id: "rbac/nodes-proxy",
    title: "Subject can reach the kubelet API through nodes/proxy",
    severity: Severity::Critical,
    level: None,
    rationale: "nodes/proxy reaches the kubelet API of every node, which can run commands in any pod of the node; such requests bypass admission control and are not audited as pod exec (CIS 5.1.10). Nodes are cluster-scoped, so only ClusterRoleBindings grant it.",
    remediation: "Remove nodes/proxy; monitoring agents need nodes/metrics or nodes/stats only.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#access-to-proxy-subresource-of-nodes", CIS],
};

/// `rbac/csr-approve`.
pub static CSR_APPROVE: RuleMeta = RuleMeta {
    id: "rbac/csr-approve",
    title: "Subject can approve or sign certificate signing requests",
    severity: Severity::High,
    level: None,
    rationale: "Approving a CertificateSigningRequest (update on certificatesigningrequests/approval plus approve on a signer) or signing one (sign on a signer) issues client certificates: with the kubernetes.io/kube-apiserver-client signer, for any user and any group, system:masters included (CIS 5.1.11).",
    remediation: "Leave approval to the controller-manager's approvers; if a tool must approve, limit approve with resourceNames to the signer it handles.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#csrs-and-certificate-issuing", "https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#authorization", CIS],
};

/// `rbac/webhook-config`.
pub static WEBHOOK_CONFIG: RuleMeta = RuleMeta {
    id: "rbac/webhook-config",
    title: "Subject can change admission webhooks or policies",
    severity: Severity::High,
    level: None,
    rationale: "Whoever can create, change or delete MutatingWebhookConfigurations, ValidatingWebhookConfigurations or (Mutating|Validating)AdmissionPolicies and their bindings can switch off admission control, read every object sent to the API server, or rewrite pods as they are created (CIS 5.1.12).",
    remediation: "Keep these rights for the cluster's platform operators and the controllers that own the webhooks, limited by resourceNames.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#control-admission-webhooks", CIS],
};

/// `rbac/services-status`.
pub static SERVICE_STATUS: RuleMeta = RuleMeta {
    id: "rbac/services-status",
    title: "Subject can set Services' load-balancer addresses (services/status)",
    severity: Severity::Medium,
    level: None,
    rationale: "update or patch on services/status sets status.loadBalancer.ingress of a LoadBalancer Service; kube-proxy then routes the cluster's own traffic for that IP to the Service, so the holder can intercept traffic meant for any address, inside or outside the cluster (CVE-2020-8554, which Kubernetes does not fix in code).",
    remediation: "Keep services/status for the cloud controller and load-balancer controllers; restrict externalIPs and load-balancer IPs with an admission policy.",
    references: &["https://github.com/kubernetes/kubernetes/issues/97076"],
};

/// `input/conflicting-definition`: an input rule, listed with the
/// engine's own (`input/duplicate-key`), not in [`catalog`].
pub static CONFLICT: RuleMeta = RuleMeta {
    id: "input/conflicting-definition",
    title: "Object defined more than once with different content",
    severity: Severity::Medium,
    level: None,
    rationale: "Two definitions of one object (two ClusterRoles named reader, two ServiceAccounts shop/app) in the files of one deployment: the cluster keeps whichever is applied last, so what runs depends on the order of files or directories. palisade analyses every definition together, so its verdict does not depend on that order.",
    remediation: "Keep one definition of each object; delete or rename the other.",
    references: &["https://kubernetes.io/docs/concepts/overview/working-with-objects/names/"],
};

/// `rbac/anonymous-access`.
pub static ANONYMOUS: RuleMeta = RuleMeta {
    id: "rbac/anonymous-access",
    title: "Unauthenticated requests are granted more than discovery",
    severity: Severity::Critical,
    level: None,
    rationale: "A binding to the user system:anonymous or the group system:unauthenticated applies to every request without credentials, from anyone who can reach the API server. Only discovery (GET on /api, /apis, /healthz, /version, the issuer keys, and reviews of one's own access) is meant to be public.",
    remediation: "Remove the subject from the binding, or bind the permissions to an authenticated group instead; consider --anonymous-auth=false or an anonymous-auth configuration limited to health endpoints.",
    references: &["https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests", RBAC_DOCS],
};

/// `rbac/user-subject`.
pub static USER_SUBJECT: RuleMeta = RuleMeta {
    id: "rbac/user-subject",
    title: "Binding names an individual user instead of a group",
    severity: Severity::Low,
    level: None,
    rationale: "Permissions bound to individual users pile up: they are not removed when the person changes team or leaves, and access reviews have to read every binding. Groups from the identity provider keep membership in one place. Users named system:* (control-plane components) are not reported.",
    remediation: "Bind a group from the identity provider and manage membership there.",
    references: &["https://kubernetes.io/docs/concepts/security/rbac-good-practices/#least-privilege", "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects"],
};

/// `rbac/dangling-subject`.
pub static DANGLING: RuleMeta = RuleMeta {
    id: "rbac/dangling-subject",
    title: "Binding names a ServiceAccount or namespace that does not exist",
    severity: Severity::Medium,
    level: None,
    rationale: "A binding outlives what it names: whoever later creates a ServiceAccount (or namespace) of that name receives its permissions without anyone granting them again. Judged only where the input shows the namespace's ServiceAccounts, or declares Namespaces: a ServiceAccount is missing when others of its namespace are in the input and it is not (default excepted, as every namespace has one); a namespace is missing when the input declares Namespaces and not this one (default, kube-system, kube-public and kube-node-lease always exist).",
    remediation: "Remove the subject from the binding, or the binding itself when it has no other subject.",
    references: &[GOOD_PRACTICES, RBAC_DOCS],
};

/// `rbac/default-sa-permissions`.
pub static DEFAULT_SA: RuleMeta = RuleMeta {
    id: "rbac/default-sa-permissions",
    title: "Permissions granted to the default ServiceAccount",
    severity: Severity::Medium,
    level: None,
    rationale: "Every pod that names no ServiceAccount runs as its namespace's default one, so a permission granted to it is granted to all of them, including pods added later for other purposes (CIS 5.1.5). The same holds for the groups system:serviceaccounts and system:serviceaccounts:<namespace>, which include every default ServiceAccount.",
    remediation: "Create a ServiceAccount for the workload that needs the permission, bind the role to it, and set spec.serviceAccountName; leave default without bindings.",
    references: &["https://kubernetes.io/docs/concepts/security/service-accounts/#default-service-accounts", CIS],
};

/// `rbac/risky-pod`.
pub static RISKY_POD: RuleMeta = RuleMeta {
    id: "rbac/risky-pod",
    title: "Pod's ServiceAccount token grants a risky permission",
    severity: Severity::High,
    level: None,
    rationale: "The pod has its ServiceAccount token mounted, and the ServiceAccount holds a permission reported by another rbac/* rule: anyone who gets code execution in any container of the pod has it too. The message gives the chain pod → ServiceAccount → binding → role → rule, and says when it is a privilege-escalation path (Secrets read, pod creation, escalate/bind, impersonate, token creation, nodes/proxy or cluster-admin).",
    remediation: "Set automountServiceAccountToken: false when the pod does not call the API; otherwise give it a ServiceAccount of its own bound only to what it calls.",
    references: &[GOOD_PRACTICES, "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting"],
};

/// One catalog entry per `rbac/*` rule, in `palisade rules` order.
pub fn catalog() -> Vec<&'static RuleMeta> {
    vec![
        &WILDCARD,
        &CLUSTER_ADMIN,
        &SECRETS_READ_CLUSTER,
        &SECRETS_READ,
        &WORKLOAD_CREATE,
        &POD_EXEC,
        &ESCALATE_BIND,
        &IMPERSONATE,
        &TOKEN_CREATE,
        &NODES_PROXY,
        &CSR_APPROVE,
        &SERVICE_STATUS,
        &WEBHOOK_CONFIG,
        &ANONYMOUS,
        &USER_SUBJECT,
        &DANGLING,
        &DEFAULT_SA,
        &RISKY_POD,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_id_is_unique_and_in_the_rbac_pack() {
        let cat = catalog();
        let mut ids: Vec<&str> = cat.iter().map(|m| m.id).collect();
        assert!(ids.iter().all(|id| id.starts_with("rbac/")));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), cat.len());
        assert!(cat.iter().all(|m| !m.references.is_empty()
            && !m.rationale.is_empty()
            && !m.remediation.is_empty()));
    }
}
