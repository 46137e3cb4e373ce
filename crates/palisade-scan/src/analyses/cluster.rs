//! The cluster itself: versions, node addresses, and which admission
//! controls protect each namespace (`cluster/*`). Run by `palisade audit`
//! over what it listed; pure (the API server's version is read before the
//! scan and given to [`ClusterChecks::new`]).
//!
//! Admission coverage, per namespace: the Pod Security Admission labels
//! (enforce/warn/audit, level and version), every validating or mutating
//! webhook whose rules match pod creation and whose `namespaceSelector`
//! selects the namespace (with its `failurePolicy` and `timeoutSeconds`),
//! and the ValidatingAdmissionPolicyBindings that select it.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use palisade_core::policy::Date;
use palisade_core::{Finding, Node, Object, ObjectRef, RuleMeta, Severity};
use palisade_report::html::CoverageRow;

use super::network::selects;
use crate::analysis::{Analysis, Needs, Out, Run};

const RELEASES_URL: &str = "https://kubernetes.io/releases/";
const SKEW_URL: &str = "https://kubernetes.io/releases/version-skew-policy/";
const PSA_URL: &str = "https://kubernetes.io/docs/concepts/security/pod-security-admission/";
const WEBHOOK_URL: &str =
    "https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/";

/// `cluster/version-unsupported`.
pub static VERSION_UNSUPPORTED: RuleMeta = RuleMeta {
    id: "cluster/version-unsupported",
    title: "Kubernetes minor version past its end of life",
    severity: Severity::High,
    level: None,
    rationale: "A minor release past its upstream end of life gets no security fixes: every Kubernetes CVE published since is unpatched on it. The hardening guides' first advice is to keep the cluster up to date. Checked for the API server (/version) and every kubelet (status.nodeInfo.kubeletVersion) against a table of minor releases and their end-of-life dates shipped in palisade; the message says how old the table is.",
    remediation: "Upgrade the control plane and then the nodes, one minor version at a time, to a supported release (kubernetes.io/releases lists them); a managed service's release calendar can differ from upstream's.",
    references: &[RELEASES_URL, SKEW_URL],
};

/// `cluster/version-skew`.
pub static VERSION_SKEW: RuleMeta = RuleMeta {
    id: "cluster/version-skew",
    title: "Kubelet outside the version skew policy",
    severity: Severity::Medium,
    level: None,
    rationale: "A kubelet may be at most three minor versions older than the API server (two before v1.28) and never newer. Outside that window the combination is untested upstream, and an old kubelet usually means a node that missed its security updates too.",
    remediation: "Upgrade the node (or replace it with one built from a current image) to the API server's minor version, or at most the skew policy's distance behind it.",
    references: &[SKEW_URL],
};

/// `cluster/node-public-address`.
pub static NODE_PUBLIC: RuleMeta = RuleMeta {
    id: "cluster/node-public-address",
    title: "Node has a public IP address",
    severity: Severity::Medium,
    level: None,
    rationale: "A node reachable from the internet exposes the kubelet API (10250), NodePorts and anything bound to the host network to everyone; the hardening guides keep nodes on private networks behind a load balancer. Reported for an ExternalIP, or an InternalIP outside the private (RFC 1918, RFC 4193), shared (RFC 6598), loopback and link-local ranges.",
    remediation: "Run nodes in private subnets and reach them through a bastion or the provider's console; expose services through a load balancer or an ingress, and firewall the kubelet port.",
    references: &["https://kubernetes.io/docs/concepts/security/security-checklist/#network-security"],
};

/// `cluster/namespace-unprotected`.
pub static NAMESPACE_UNPROTECTED: RuleMeta = RuleMeta {
    id: "cluster/namespace-unprotected",
    title: "Namespace without admission control for pods",
    severity: Severity::High,
    level: None,
    rationale: "Whoever can create pods in a namespace that neither Pod Security Admission (an enforce label at baseline or restricted) nor a validating policy webhook or ValidatingAdmissionPolicy protects can run a privileged pod and take the node. The PCI guidance for container orchestration asks that a system restricting workloads be in place and operational: this is the namespace where it is not.",
    remediation: "Label the namespace: kubectl label namespace NAME pod-security.kubernetes.io/enforce=baseline (or restricted), and/or make a policy webhook (palisade serve, Kyverno, Gatekeeper) select it.",
    references: &[PSA_URL, WEBHOOK_URL],
};

/// `cluster/webhook-fail-open`.
pub static WEBHOOK_FAIL_OPEN: RuleMeta = RuleMeta {
    id: "cluster/webhook-fail-open",
    title: "Policy webhook fails open",
    severity: Severity::Medium,
    level: None,
    rationale: "A validating webhook for pods with failurePolicy: Ignore admits everything whenever it is down, slow (timeoutSeconds) or unreachable: an attacker who can overload or partition it switches the policy off.",
    remediation: "Set failurePolicy: Fail on the policy webhook and run it highly available (several replicas, a PodDisruptionBudget, a HorizontalPodAutoscaler); exclude only the namespaces the webhook itself needs to start.",
    references: &[WEBHOOK_URL],
};

/// `cluster/webhook-excludes`.
pub static WEBHOOK_EXCLUDES: RuleMeta = RuleMeta {
    id: "cluster/webhook-excludes",
    title: "Policy webhook leaves out namespaces that run workloads",
    severity: Severity::Medium,
    level: None,
    rationale: "A policy webhook's namespaceSelector that leaves out namespaces running workloads means those pods were admitted without the policy: labelling a namespace to match the exclusion is a common way around it.",
    remediation: "Narrow the namespaceSelector to the namespaces the webhook must not see (its own, to start), or protect the excluded namespaces with Pod Security Admission labels.",
    references: &[WEBHOOK_URL],
};

/// `cluster/psa-privileged`.
pub static PSA_PRIVILEGED: RuleMeta = RuleMeta {
    id: "cluster/psa-privileged",
    title: "Pod Security Admission enforces privileged outside system namespaces",
    severity: Severity::High,
    level: None,
    rationale: "pod-security.kubernetes.io/enforce: privileged turns Pod Security Admission off for the namespace on purpose. Outside kube-system that is an exception someone made, and every pod creator there may run privileged pods.",
    remediation: "Set the enforce label to baseline or restricted, and move the workloads that really need host access to a dedicated, tightly bound namespace.",
    references: &[PSA_URL],
};

/// The catalog entries of these checks.
pub static CATALOG: [&RuleMeta; 7] = [
    &VERSION_UNSUPPORTED,
    &VERSION_SKEW,
    &NODE_PUBLIC,
    &NAMESPACE_UNPROTECTED,
    &WEBHOOK_FAIL_OPEN,
    &WEBHOOK_EXCLUDES,
    &PSA_PRIVILEGED,
];

/// When the table below was last checked against kubernetes.io/releases.
pub const RELEASES_AS_OF: &str = "2026-12-01";

/// Kubernetes minor releases and their upstream end-of-life dates
/// (kubernetes.io/releases; the newest are the dates upstream's schedule
/// gives). Minors older than the first are past end of life.
pub static RELEASES: &[(u32, &str)] = &[
    (25, "2023-10-28"),
    (26, "2024-02-28"),
    (27, "2024-06-28"),
    (28, "2024-10-28"),
    (29, "2025-02-28"),
    (30, "2025-06-28"),
    (31, "2025-10-28"),
    (32, "2026-02-28"),
    (33, "2026-06-28"),
    (34, "2026-10-27"),
    (35, "2027-02-28"),
    (36, "2027-06-28"),
    (37, "2027-10-28"),
];

/// The coverage table, for reports that show it.
pub type Coverage = Arc<Mutex<Vec<CoverageRow>>>;

/// The analysis.
#[derive(Debug, Clone)]
pub struct ClusterChecks {
    /// The API server's `gitVersion`, with where it was read and the cluster's name.
    server: Option<(String, String)>,
    coverage: Coverage,
    /// Today (given, so that tests are reproducible).
    today: Date,
}

fn kept(api_version: &str, kind: &str) -> bool {
    matches!(
        (api_version, kind),
        ("v1", "Namespace") | ("v1", "Node") | ("admissionregistration.k8s.io/v1", _)
    )
}

impl ClusterChecks {
    /// The checks, with the API server's version (`v1.33.2`) and the
    /// cluster's name when known, and today's date.
    /// The table is left in `coverage` when the analysis runs.
    pub fn new(server: Option<(String, String)>, today: Date, coverage: Coverage) -> Self {
        ClusterChecks {
            server,
            coverage,
            today,
        }
    }
}

impl Analysis for ClusterChecks {
    fn needs(&self) -> Needs {
        Needs {
            select: None,
            objects: Some(kept),
            images: false,
        }
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let server_minor = self.server.as_ref().and_then(|(v, _)| minor(v));
        if let Some((version, cluster)) = &self.server {
            let id = Arc::new(ObjectRef {
                api_version: "v1".into(),
                kind: "Cluster".into(),
                namespace: None,
                name: cluster.clone(),
            });
            if let Some(m) = minor(version) {
                if let Some(why) = self.unsupported(m) {
                    out.finding(finding(
                        &VERSION_UNSUPPORTED,
                        &id,
                        "/version".into(),
                        "gitVersion".into(),
                        format!("the API server runs {version}: {why}"),
                    ));
                }
            }
        }
        for node in run.objects.iter().filter(|o| o.id.kind == "Node") {
            self.node(node, server_minor, out);
        }
        self.admission(run, out);
        Ok(())
    }
}

/// The minor version of `v1.33.2` (`33`).
fn minor(version: &str) -> Option<u32> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split('.');
    if parts.next()? != "1" {
        return None;
    }
    let m: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    m.parse().ok()
}

impl ClusterChecks {
    /// Why minor `m` is unsupported, if it is.
    fn unsupported(&self, m: u32) -> Option<String> {
        let first = RELEASES.first().map_or(0, |r| r.0);
        let table = format!("palisade's release table is of {RELEASES_AS_OF}");
        if m < first {
            return Some(format!(
                "v1.{m} is past its end of life (before v1.{first}'s, {}; {table})",
                RELEASES[0].1
            ));
        }
        let (_, eol) = RELEASES.iter().find(|r| r.0 == m)?;
        Date::parse(eol)
            .is_some_and(|d| d < self.today)
            .then(|| format!("v1.{m} reached its end of life on {eol} ({table})"))
    }

    fn node(&self, node: &Object, server_minor: Option<u32>, out: &mut Out<'_>) {
        let file = node.file.clone();
        if let Some(kubelet) = node
            .root
            .get_path(&["status", "nodeInfo", "kubeletVersion"])
            .and_then(Node::as_str)
        {
            let path = "status.nodeInfo.kubeletVersion".to_string();
            if let Some(m) = minor(kubelet) {
                if let Some(why) = self.unsupported(m) {
                    out.finding(finding(
                        &VERSION_UNSUPPORTED,
                        &node.id,
                        file.clone(),
                        path.clone(),
                        format!("node {:?} runs kubelet {kubelet}: {why}", node.id.name),
                    ));
                }
                if let Some(s) = server_minor {
                    let allowed = if s >= 28 { 3 } else { 2 };
                    if m > s || s - m > allowed {
                        let what = if m > s {
                            "newer than the API server".to_string()
                        } else {
                            format!("{} minor versions behind the API server (at most {allowed} allowed)", s - m)
                        };
                        out.finding(finding(
                            &VERSION_SKEW,
                            &node.id,
                            file.clone(),
                            path,
                            format!("node {:?} runs kubelet {kubelet} with the API server at v1.{s}: {what}", node.id.name),
                        ));
                    }
                }
            }
        }
        for (i, a) in node
            .root
            .get_path(&["status", "addresses"])
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let kind = a.get("type").and_then(Node::as_str).unwrap_or("");
            let Some(addr) = a.get("address").and_then(Node::as_str) else {
                continue;
            };
            if !matches!(kind, "ExternalIP" | "InternalIP") {
                continue;
            }
            let Ok(ip) = addr.parse::<IpAddr>() else {
                continue;
            };
            if kind == "ExternalIP" || is_public(&ip) {
                out.finding(finding(
                    &NODE_PUBLIC,
                    &node.id,
                    file.clone(),
                    format!("status.addresses[{i}].address"),
                    format!(
                        "node {:?} reports {kind} {addr}{}",
                        node.id.name,
                        if is_public(&ip) {
                            ", a public address"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
    }
}

/// Whether `ip` is outside the private, shared, loopback and link-local ranges.
fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
    }
}

fn finding(
    meta: &'static RuleMeta,
    id: &Arc<ObjectRef>,
    file: Arc<str>,
    path: String,
    message: String,
) -> Finding {
    Finding {
        rule: meta.id,
        severity: meta.severity,
        message,
        object: id.clone(),
        container: None,
        path,
        file,
        line: 0,
        column: 0,
        remediation: meta.remediation,
    }
}

/// Namespaces where no pod is expected.
const QUIET_NAMESPACES: [&str; 2] = ["kube-public", "kube-node-lease"];
/// Namespaces of the control plane, where privileged pods are expected.
const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// A webhook that sees pod creation.
struct PodWebhook<'a> {
    config: &'a Object,
    index: usize,
    webhook: &'a Node,
    validating: bool,
    engine: &'static str,
}

/// Whether a webhook's `rules` match creating pods.
fn matches_pods(webhook: &Node) -> bool {
    let has = |rule: &Node, field: &str, want: &str| {
        rule.get(field)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .any(|v| {
                v.as_str()
                    .is_some_and(|s| s == want || s == "*" || (field == "resources" && s == "*/*"))
            })
    };
    webhook
        .get("rules")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .any(|r| {
            has(r, "operations", "CREATE") && has(r, "apiGroups", "") && has(r, "resources", "pods")
        })
}

/// palisade, Kyverno, Gatekeeper, or another engine, by the webhook's name.
fn engine(config: &Object, webhook: &Node) -> &'static str {
    let name = format!(
        "{} {}",
        config.id.name,
        webhook.get("name").and_then(Node::as_str).unwrap_or("")
    )
    .to_ascii_lowercase();
    if name.contains("palisade") {
        "palisade"
    } else if name.contains("kyverno") {
        "Kyverno"
    } else if name.contains("gatekeeper") {
        "Gatekeeper"
    } else {
        "other"
    }
}

fn labels_of(ns: &Object) -> Vec<(String, String)> {
    ns.root
        .get_path(&["metadata", "labels"])
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.key.to_string(), e.node.as_str()?.to_string())))
        .collect()
}

impl ClusterChecks {
    fn admission(&self, run: &Run<'_>, out: &mut Out<'_>) {
        let namespaces: Vec<&Object> = run
            .objects
            .iter()
            .filter(|o| o.id.kind == "Namespace")
            .collect();
        if namespaces.is_empty() {
            return;
        }
        let mut workloads: BTreeMap<&str, usize> = BTreeMap::new();
        for p in run.pods {
            *workloads.entry(p.namespace.as_str()).or_default() += 1;
        }
        let mut hooks = Vec::new();
        for config in run.objects.iter().filter(|o| {
            matches!(
                o.id.kind.as_str(),
                "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
            )
        }) {
            for (index, webhook) in config
                .root
                .get("webhooks")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if matches_pods(webhook) {
                    hooks.push(PodWebhook {
                        config,
                        index,
                        webhook,
                        validating: config.id.kind == "ValidatingWebhookConfiguration",
                        engine: engine(config, webhook),
                    });
                }
            }
        }
        let bindings: Vec<&Object> = run
            .objects
            .iter()
            .filter(|o| o.id.kind == "ValidatingAdmissionPolicyBinding")
            .filter(|b| {
                b.root
                    .get_path(&["spec", "validationActions"])
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .any(|a| a.as_str() == Some("Deny"))
            })
            .filter(|b| {
                let policy = b
                    .root
                    .get_path(&["spec", "policyName"])
                    .and_then(Node::as_str);
                run.objects.iter().any(|p| {
                    p.id.kind == "ValidatingAdmissionPolicy"
                        && Some(p.id.name.as_str()) == policy
                        && p.root
                            .get_path(&["spec", "matchConstraints"])
                            .is_some_and(matches_pods)
                })
            })
            .collect();
        let selector_matches = |selector: Option<&Node>, labels: &[(String, String)]| {
            selector.is_none_or(|s| selects(s, labels))
        };
        let mut table = Vec::new();
        let mut excluded: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
        for ns in &namespaces {
            let name = ns.id.name.as_str();
            let labels = labels_of(ns);
            let label = |mode: &str| {
                let get = |k: String| {
                    labels
                        .iter()
                        .find(|(lk, _)| *lk == k)
                        .map(|(_, v)| v.clone())
                };
                get(format!("pod-security.kubernetes.io/{mode}")).map(|level| {
                    let version = get(format!("pod-security.kubernetes.io/{mode}-version"))
                        .unwrap_or_else(|| "latest".into());
                    format!("{level}:{version}")
                })
            };
            let mut row = CoverageRow {
                name: name.to_string(),
                workloads: workloads.get(name).copied().unwrap_or(0),
                enforce: label("enforce"),
                warn: label("warn"),
                audit: label("audit"),
                ..Default::default()
            };
            let mut webhook_protects = false;
            for (i, h) in hooks.iter().enumerate() {
                if selector_matches(h.webhook.get("namespaceSelector"), &labels) {
                    let fp = h
                        .webhook
                        .get("failurePolicy")
                        .and_then(Node::as_str)
                        .unwrap_or("Fail");
                    let timeout = h
                        .webhook
                        .get("timeoutSeconds")
                        .and_then(Node::as_i64)
                        .unwrap_or(10);
                    row.webhooks.push(format!(
                        "{} ({}, {}, {fp}, {timeout} s)",
                        h.webhook
                            .get("name")
                            .and_then(Node::as_str)
                            .unwrap_or(&h.config.id.name),
                        h.engine,
                        if h.validating {
                            "validating"
                        } else {
                            "mutating"
                        }
                    ));
                    webhook_protects |= h.validating;
                } else if h.validating && row.workloads > 0 {
                    excluded
                        .entry((i, h.index))
                        .or_default()
                        .push(name.to_string());
                }
            }
            for b in &bindings {
                if selector_matches(
                    b.root
                        .get_path(&["spec", "matchResources", "namespaceSelector"]),
                    &labels,
                ) {
                    row.policies.push(b.id.name.clone());
                }
            }
            let enforce_level = row.enforce.as_deref().and_then(|e| e.split(':').next());
            row.protected = matches!(enforce_level, Some("baseline" | "restricted"))
                || webhook_protects
                || !row.policies.is_empty();
            if !row.protected && !QUIET_NAMESPACES.contains(&name) {
                out.finding(finding(
                    &NAMESPACE_UNPROTECTED,
                    &ns.id,
                    ns.file.clone(),
                    "metadata.labels".into(),
                    format!(
                        "namespace {name:?} ({} workloads) has no pod-security.kubernetes.io/enforce label at baseline or restricted{}, no validating webhook for pods selects it and no ValidatingAdmissionPolicy denies there",
                        row.workloads,
                        row.enforce.as_deref().map(|e| format!(" (enforce is {e})")).unwrap_or_default()
                    ),
                ));
            }
            if enforce_level == Some("privileged") && !SYSTEM_NAMESPACES.contains(&name) {
                out.finding(finding(
                    &PSA_PRIVILEGED,
                    &ns.id,
                    ns.file.clone(),
                    "metadata.labels.pod-security.kubernetes.io/enforce".into(),
                    format!("namespace {name:?} is labelled pod-security.kubernetes.io/enforce: privileged: Pod Security Admission admits any pod there"),
                ));
            }
            table.push(row);
        }
        for h in hooks.iter().filter(|h| h.validating) {
            if h.webhook.get("failurePolicy").and_then(Node::as_str) == Some("Ignore") {
                out.finding(finding(
                    &WEBHOOK_FAIL_OPEN,
                    &h.config.id,
                    h.config.file.clone(),
                    format!("webhooks[{}].failurePolicy", h.index),
                    format!(
                        "webhook {:?} ({}) checks pods with failurePolicy: Ignore: when it is down or slower than timeoutSeconds, every pod is admitted unchecked",
                        h.webhook.get("name").and_then(Node::as_str).unwrap_or(""),
                        h.engine
                    ),
                ));
            }
        }
        for (i, h) in hooks.iter().enumerate() {
            let Some(names) = excluded.get(&(i, h.index)) else {
                continue;
            };
            let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
            let more = names.len().saturating_sub(shown.len());
            out.finding(finding(
                &WEBHOOK_EXCLUDES,
                &h.config.id,
                h.config.file.clone(),
                format!("webhooks[{}].namespaceSelector", h.index),
                format!(
                    "webhook {:?} ({}) leaves out {} namespaces that run workloads: {}{}",
                    h.webhook.get("name").and_then(Node::as_str).unwrap_or(""),
                    h.engine,
                    names.len(),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
            ));
        }
        *self.coverage.lock().unwrap_or_else(|e| e.into_inner()) = table;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_versions_are_read_from_git_versions() {
        assert_eq!(minor("v1.33.2"), Some(33));
        assert_eq!(minor("v1.29.4-eks-1552ad0"), Some(29));
        assert_eq!(minor("v1.30+k3s1"), Some(30));
        assert_eq!(minor("2.0"), None);
    }

    #[test]
    fn end_of_life_is_judged_against_today_and_the_table_is_dated() {
        let c = ClusterChecks::new(
            None,
            Date::parse("2026-12-03").unwrap(),
            Coverage::default(),
        );
        assert!(c.unsupported(34).unwrap().contains("2026-10-27"));
        assert!(c.unsupported(35).is_none());
        assert!(c.unsupported(20).unwrap().contains(RELEASES_AS_OF));
        // Newer than the table: not judged.
        assert!(c.unsupported(99).is_none());
    }

    #[test]
    fn public_addresses_are_outside_private_shared_and_local_ranges() {
        for private in [
            "10.0.0.5",
            "172.16.3.4",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(!is_public(&private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1"] {
            assert!(is_public(&public.parse().unwrap()), "{public}");
        }
    }
}
