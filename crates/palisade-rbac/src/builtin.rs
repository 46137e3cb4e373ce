//! The default ClusterRoles and ClusterRoleBindings that the API server
//! bootstraps (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy` upstream),
//! used when a binding refers to one that the input does not contain.
//!
//! A subset, kept faithful to the upstream policy (`cluster-roles.yaml` and
//! `cluster-role-bindings.yaml` of its test data, Kubernetes 1.3x): the
//! user-facing roles (`cluster-admin`, `admin`, `edit`, `view` and the
//! `system:aggregate-to-*` roles they aggregate), the discovery roles bound
//! to every user, and the `system:*` roles of control-plane components. The
//! per-controller `system:controller:*` roles are left out: nothing outside
//! the control plane binds them.
//! <https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings>
//!
//! The file is long because it is a table: the roles and bindings as data,
//! one entry per upstream object, kept together so they can be compared
//! with the upstream test data side by side.

/// One rule of a built-in role.
pub(crate) struct BRule {
    /// `apiGroups`.
    pub groups: &'static [&'static str],
    /// `resources`.
    pub resources: &'static [&'static str],
    /// `resourceNames`.
    pub names: &'static [&'static str],
    /// `nonResourceURLs`.
    pub urls: &'static [&'static str],
    /// `verbs`.
    pub verbs: &'static [&'static str],
}

/// A built-in ClusterRole.
pub(crate) struct BRole {
    /// `metadata.name`.
    pub name: &'static str,
    /// `metadata.labels` besides `kubernetes.io/bootstrapping`, all `"true"`.
    pub labels: &'static [&'static str],
    /// `aggregationRule`: one `matchLabels` selector `{label: "true"}` each.
    pub aggregate: &'static [&'static str],
    /// `rules`.
    pub rules: &'static [BRule],
}

/// A subject of a built-in ClusterRoleBinding.
pub(crate) enum BSubject {
    /// `kind: User`.
    User(&'static str),
    /// `kind: Group`.
    Group(&'static str),
    /// `kind: ServiceAccount`: namespace, name.
    ServiceAccount(&'static str, &'static str),
}

/// A built-in ClusterRoleBinding (named as its ClusterRole).
pub(crate) struct BBinding {
    /// `metadata.name` and `roleRef.name`.
    pub name: &'static str,
    /// `subjects`.
    pub subjects: &'static [BSubject],
}

const fn r(
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
) -> BRule {
    BRule {
        groups,
        resources,
        names: &[],
        urls: &[],
        verbs,
    }
}

const fn named(
    groups: &'static [&'static str],
    resources: &'static [&'static str],
    names: &'static [&'static str],
    verbs: &'static [&'static str],
) -> BRule {
    BRule {
        groups,
        resources,
        names,
        urls: &[],
        verbs,
    }
}

const fn urls(urls: &'static [&'static str], verbs: &'static [&'static str]) -> BRule {
    BRule {
        groups: &[],
        resources: &[],
        names: &[],
        urls,
        verbs,
    }
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];
const ALL_RW: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const EVENTS_WRITE: &[&str] = &["create", "patch", "update"];
const CERTS: &[&str] = &["certificates.k8s.io"];

/// The label that marks bootstrap objects in a cluster dump.
pub(crate) const BOOTSTRAP_LABEL: (&str, &str) = ("kubernetes.io/bootstrapping", "rbac-defaults");

/// The built-in ClusterRoles.
pub(crate) const ROLES: &[BRole] = &[
    BRole {
        name: "cluster-admin",
        labels: &[],
        aggregate: &[],
        rules: &[r(&["*"], &["*"], &["*"]), urls(&["*"], &["*"])],
    },
    BRole {
        name: "admin",
        labels: &[],
        aggregate: &["rbac.authorization.k8s.io/aggregate-to-admin"],
        rules: &[],
    },
    BRole {
        name: "edit",
        labels: &["rbac.authorization.k8s.io/aggregate-to-admin"],
        aggregate: &["rbac.authorization.k8s.io/aggregate-to-edit"],
        rules: &[],
    },
    BRole {
        name: "view",
        labels: &["rbac.authorization.k8s.io/aggregate-to-edit"],
        aggregate: &["rbac.authorization.k8s.io/aggregate-to-view"],
        rules: &[],
    },
    BRole {
        name: "system:aggregate-to-admin",
        labels: &["rbac.authorization.k8s.io/aggregate-to-admin"],
        aggregate: &[],
        rules: &[
            r(
                &["authorization.k8s.io"],
                &["localsubjectaccessreviews"],
                &["create"],
            ),
            r(
                &["rbac.authorization.k8s.io"],
                &["rolebindings", "roles"],
                ALL_RW,
            ),
        ],
    },
    BRole {
        name: "system:aggregate-to-edit",
        labels: &["rbac.authorization.k8s.io/aggregate-to-edit"],
        aggregate: &[],
        rules: &[
            r(
                &[""],
                &[
                    "pods/attach",
                    "pods/exec",
                    "pods/portforward",
                    "pods/proxy",
                    "secrets",
                    "services/proxy",
                ],
                READ,
            ),
            r(&[""], &["serviceaccounts"], &["impersonate"]),
            r(
                &[""],
                &[
                    "pods",
                    "pods/attach",
                    "pods/exec",
                    "pods/portforward",
                    "pods/proxy",
                ],
                WRITE,
            ),
            r(&[""], &["pods/eviction"], &["create"]),
            r(
                &[""],
                &[
                    "configmaps",
                    "events",
                    "persistentvolumeclaims",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "secrets",
                    "serviceaccounts",
                    "services",
                    "services/proxy",
                ],
                WRITE,
            ),
            r(&[""], &["serviceaccounts/token"], &["create"]),
            r(
                &["apps"],
                &[
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "replicasets",
                    "replicasets/scale",
                    "statefulsets",
                    "statefulsets/scale",
                ],
                WRITE,
            ),
            r(&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
            r(&["batch"], &["cronjobs", "jobs"], WRITE),
            r(
                &["extensions"],
                &[
                    "daemonsets",
                    "deployments",
                    "deployments/rollback",
                    "deployments/scale",
                    "ingresses",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicationcontrollers/scale",
                ],
                WRITE,
            ),
            r(&["policy"], &["poddisruptionbudgets"], WRITE),
            r(
                &["networking.k8s.io"],
                &["ingresses", "networkpolicies"],
                WRITE,
            ),
            r(&["coordination.k8s.io"], &["leases"], ALL_RW),
        ],
    },
    BRole {
        name: "system:aggregate-to-view",
        labels: &["rbac.authorization.k8s.io/aggregate-to-view"],
        aggregate: &[],
        rules: &[
            r(
                &[""],
                &[
                    "configmaps",
                    "endpoints",
                    "persistentvolumeclaims",
                    "persistentvolumeclaims/status",
                    "pods",
                    "replicationcontrollers",
                    "replicationcontrollers/scale",
                    "serviceaccounts",
                    "services",
                    "services/status",
                ],
                READ,
            ),
            r(
                &[""],
                &[
                    "bindings",
                    "events",
                    "limitranges",
                    "namespaces/status",
                    "pods/log",
                    "pods/status",
                    "replicationcontrollers/status",
                    "resourcequotas",
                    "resourcequotas/status",
                ],
                READ,
            ),
            r(&[""], &["namespaces"], READ),
            r(&["discovery.k8s.io"], &["endpointslices"], READ),
            r(
                &["apps"],
                &[
                    "controllerrevisions",
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "statefulsets",
                    "statefulsets/scale",
                    "statefulsets/status",
                ],
                READ,
            ),
            r(
                &["autoscaling"],
                &[
                    "horizontalpodautoscalers",
                    "horizontalpodautoscalers/status",
                ],
                READ,
            ),
            r(
                &["batch"],
                &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
                READ,
            ),
            r(
                &["extensions"],
                &[
                    "daemonsets",
                    "daemonsets/status",
                    "deployments",
                    "deployments/scale",
                    "deployments/status",
                    "ingresses",
                    "ingresses/status",
                    "networkpolicies",
                    "replicasets",
                    "replicasets/scale",
                    "replicasets/status",
                    "replicationcontrollers/scale",
                ],
                READ,
            ),
            r(
                &["policy"],
                &["poddisruptionbudgets", "poddisruptionbudgets/status"],
                READ,
            ),
            r(
                &["networking.k8s.io"],
                &["ingresses", "ingresses/status", "networkpolicies"],
                READ,
            ),
        ],
    },
    BRole {
        name: "system:auth-delegator",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            r(
                &["authorization.k8s.io"],
                &["subjectaccessreviews"],
                &["create"],
            ),
        ],
    },
    BRole {
        name: "system:basic-user",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(
                &["authorization.k8s.io"],
                &["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                &["create"],
            ),
            r(
                &["authentication.k8s.io"],
                &["selfsubjectreviews"],
                &["create"],
            ),
        ],
    },
    BRole {
        name: "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        labels: &[],
        aggregate: &[],
        rules: &[r(
            CERTS,
            &["certificatesigningrequests/nodeclient"],
            &["create"],
        )],
    },
    BRole {
        name: "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        labels: &[],
        aggregate: &[],
        rules: &[r(
            CERTS,
            &["certificatesigningrequests/selfnodeclient"],
            &["create"],
        )],
    },
    BRole {
        name: "system:certificates.k8s.io:kube-apiserver-client-approver",
        labels: &[],
        aggregate: &[],
        rules: &[named(
            CERTS,
            &["signers"],
            &["kubernetes.io/kube-apiserver-client"],
            &["approve"],
        )],
    },
    BRole {
        name: "system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
        labels: &[],
        aggregate: &[],
        rules: &[named(
            CERTS,
            &["signers"],
            &["kubernetes.io/kube-apiserver-client-kubelet"],
            &["approve"],
        )],
    },
    BRole {
        name: "system:certificates.k8s.io:kubelet-serving-approver",
        labels: &[],
        aggregate: &[],
        rules: &[named(
            CERTS,
            &["signers"],
            &["kubernetes.io/kubelet-serving"],
            &["approve"],
        )],
    },
    BRole {
        name: "system:certificates.k8s.io:legacy-unknown-approver",
        labels: &[],
        aggregate: &[],
        rules: &[named(
            CERTS,
            &["signers"],
            &["kubernetes.io/legacy-unknown"],
            &["approve"],
        )],
    },
    BRole {
        name: "system:discovery",
        labels: &[],
        aggregate: &[],
        rules: &[urls(
            &[
                "/api",
                "/api/*",
                "/apis",
                "/apis/*",
                "/healthz",
                "/livez",
                "/openapi",
                "/openapi/*",
                "/readyz",
                "/version",
                "/version/",
            ],
            &["get"],
        )],
    },
    BRole {
        name: "system:heapster",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&[""], &["events", "namespaces", "nodes", "pods"], READ),
            r(&["extensions"], &["deployments"], READ),
        ],
    },
    BRole {
        name: "system:kube-aggregator",
        labels: &[],
        aggregate: &[],
        rules: &[r(&[""], &["endpoints", "services"], READ)],
    },
    BRole {
        name: "system:kube-controller-manager",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&["", "events.k8s.io"], &["events"], EVENTS_WRITE),
            r(&["coordination.k8s.io"], &["leases"], &["create"]),
            named(
                &["coordination.k8s.io"],
                &["leases"],
                &["kube-controller-manager"],
                &["get", "update"],
            ),
            r(&[""], &["secrets", "serviceaccounts"], &["create"]),
            r(&[""], &["secrets"], &["delete"]),
            r(
                &[""],
                &["configmaps", "namespaces", "secrets", "serviceaccounts"],
                &["get"],
            ),
            r(&[""], &["secrets", "serviceaccounts"], &["update"]),
            r(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            r(
                &["authorization.k8s.io"],
                &["subjectaccessreviews"],
                &["create"],
            ),
            r(&["*"], &["*"], &["list", "watch"]),
            r(&[""], &["serviceaccounts/token"], &["create"]),
        ],
    },
    BRole {
        name: "system:kube-dns",
        labels: &[],
        aggregate: &[],
        rules: &[r(&[""], &["endpoints", "services"], &["list", "watch"])],
    },
    BRole {
        name: "system:kube-scheduler",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&["", "events.k8s.io"], &["events"], EVENTS_WRITE),
            r(&["coordination.k8s.io"], &["leases"], &["create"]),
            named(
                &["coordination.k8s.io"],
                &["leases"],
                &["kube-scheduler"],
                &["get", "update"],
            ),
            r(&[""], &["nodes"], READ),
            r(&[""], &["pods"], &["delete", "get", "list", "watch"]),
            r(&[""], &["bindings", "pods/binding"], &["create"]),
            r(&[""], &["pods/status"], &["patch", "update"]),
            r(&[""], &["replicationcontrollers", "services"], READ),
            r(&["apps", "extensions"], &["replicasets"], READ),
            r(&["apps"], &["statefulsets"], READ),
            r(&["policy"], &["poddisruptionbudgets"], READ),
            r(
                &[""],
                &["persistentvolumeclaims", "persistentvolumes"],
                READ,
            ),
            r(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            r(
                &["authorization.k8s.io"],
                &["subjectaccessreviews"],
                &["create"],
            ),
            r(&["storage.k8s.io"], &["csinodes"], READ),
            r(&[""], &["namespaces"], READ),
            r(&["storage.k8s.io"], &["csidrivers"], READ),
            r(&["storage.k8s.io"], &["csistoragecapacities"], READ),
        ],
    },
    BRole {
        name: "system:kubelet-api-admin",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&[""], &["nodes"], READ),
            r(&[""], &["nodes"], &["proxy"]),
            r(
                &[""],
                &["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"],
                &["*"],
            ),
        ],
    },
    BRole {
        name: "system:monitoring",
        labels: &[],
        aggregate: &[],
        rules: &[urls(
            &[
                "/healthz",
                "/healthz/*",
                "/livez",
                "/livez/*",
                "/metrics",
                "/metrics/slis",
                "/readyz",
                "/readyz/*",
            ],
            &["get"],
        )],
    },
    BRole {
        name: "system:node",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
            r(
                &["authorization.k8s.io"],
                &["localsubjectaccessreviews", "subjectaccessreviews"],
                &["create"],
            ),
            r(&[""], &["services"], READ),
            r(&[""], &["nodes"], &["create", "get", "list", "watch"]),
            r(&[""], &["nodes/status"], &["patch", "update"]),
            r(&[""], &["nodes"], &["patch", "update"]),
            r(&[""], &["events"], EVENTS_WRITE),
            r(&[""], &["pods"], READ),
            r(&[""], &["pods"], &["create", "delete"]),
            r(&[""], &["pods/status"], &["patch", "update"]),
            r(&[""], &["pods/eviction"], &["create"]),
            r(&[""], &["configmaps", "secrets"], READ),
            r(
                &[""],
                &["persistentvolumeclaims", "persistentvolumes"],
                &["get"],
            ),
            r(&[""], &["endpoints"], &["get"]),
            r(
                CERTS,
                &["certificatesigningrequests"],
                &["create", "get", "list", "watch"],
            ),
            r(
                &["coordination.k8s.io"],
                &["leases"],
                &["create", "delete", "get", "patch", "update"],
            ),
            r(&["storage.k8s.io"], &["volumeattachments"], &["get"]),
            r(&[""], &["serviceaccounts/token"], &["create"]),
            r(
                &[""],
                &["persistentvolumeclaims/status"],
                &["get", "patch", "update"],
            ),
            r(&["storage.k8s.io"], &["csidrivers"], READ),
            r(
                &["storage.k8s.io"],
                &["csinodes"],
                &["create", "delete", "get", "patch", "update"],
            ),
            r(&["node.k8s.io"], &["runtimeclasses"], READ),
        ],
    },
    BRole {
        name: "system:node-bootstrapper",
        labels: &[],
        aggregate: &[],
        rules: &[r(
            CERTS,
            &["certificatesigningrequests"],
            &["create", "get", "list", "watch"],
        )],
    },
    BRole {
        name: "system:node-problem-detector",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&[""], &["nodes"], &["get"]),
            r(&[""], &["nodes/status"], &["patch"]),
            r(&["", "events.k8s.io"], &["events"], EVENTS_WRITE),
        ],
    },
    BRole {
        name: "system:node-proxier",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(&[""], &["endpoints", "services"], &["list", "watch"]),
            r(&[""], &["nodes"], READ),
            r(&["", "events.k8s.io"], &["events"], EVENTS_WRITE),
            r(
                &["discovery.k8s.io"],
                &["endpointslices"],
                &["list", "watch"],
            ),
        ],
    },
    BRole {
        name: "system:persistent-volume-provisioner",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(
                &[""],
                &["persistentvolumes"],
                &["create", "delete", "get", "list", "watch"],
            ),
            r(
                &[""],
                &["persistentvolumeclaims"],
                &["get", "list", "update", "watch"],
            ),
            r(&["storage.k8s.io"], &["storageclasses"], READ),
            r(&[""], &["events"], &["watch"]),
            r(&["", "events.k8s.io"], &["events"], EVENTS_WRITE),
        ],
    },
    BRole {
        name: "system:public-info-viewer",
        labels: &[],
        aggregate: &[],
        rules: &[urls(
            &["/healthz", "/livez", "/readyz", "/version", "/version/"],
            &["get"],
        )],
    },
    BRole {
        name: "system:service-account-issuer-discovery",
        labels: &[],
        aggregate: &[],
        rules: &[urls(
            &["/.well-known/openid-configuration", "/openid/v1/jwks"],
            &["get"],
        )],
    },
    BRole {
        name: "system:volume-scheduler",
        labels: &[],
        aggregate: &[],
        rules: &[
            r(
                &[""],
                &["persistentvolumes"],
                &["get", "list", "patch", "update", "watch"],
            ),
            r(&["storage.k8s.io"], &["storageclasses"], READ),
            r(
                &[""],
                &["persistentvolumeclaims"],
                &["get", "list", "patch", "update", "watch"],
            ),
        ],
    },
];

/// The built-in ClusterRoleBindings.
pub(crate) const BINDINGS: &[BBinding] = &[
    BBinding {
        name: "cluster-admin",
        subjects: &[BSubject::Group("system:masters")],
    },
    BBinding {
        name: "system:basic-user",
        subjects: &[BSubject::Group("system:authenticated")],
    },
    BBinding {
        name: "system:discovery",
        subjects: &[BSubject::Group("system:authenticated")],
    },
    BBinding {
        name: "system:kube-controller-manager",
        subjects: &[BSubject::User("system:kube-controller-manager")],
    },
    BBinding {
        name: "system:kube-dns",
        subjects: &[BSubject::ServiceAccount("kube-system", "kube-dns")],
    },
    BBinding {
        name: "system:kube-scheduler",
        subjects: &[BSubject::User("system:kube-scheduler")],
    },
    BBinding {
        name: "system:monitoring",
        subjects: &[BSubject::Group("system:monitoring")],
    },
    BBinding {
        name: "system:node",
        subjects: &[],
    },
    BBinding {
        name: "system:node-proxier",
        subjects: &[BSubject::User("system:kube-proxy")],
    },
    BBinding {
        name: "system:public-info-viewer",
        subjects: &[
            BSubject::Group("system:authenticated"),
            BSubject::Group("system:unauthenticated"),
        ],
    },
    BBinding {
        name: "system:service-account-issuer-discovery",
        subjects: &[BSubject::Group("system:serviceaccounts")],
    },
    BBinding {
        name: "system:volume-scheduler",
        subjects: &[BSubject::User("system:kube-scheduler")],
    },
];

/// Namespaces every cluster has, whether or not the input declares them.
pub(crate) const NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];
