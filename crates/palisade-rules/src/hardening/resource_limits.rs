//! `hardening/resource-limits`: containers without a memory limit or a CPU request.
//! <https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/>

use palisade_core::{Context, Node, Rule, RuleMeta, Severity, Target, Violation};

use super::{each_workload_container, NSA_GUIDE_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "hardening/resource-limits",
    title: "Container has no memory limit or no CPU request",
    severity: Severity::Medium,
    level: None,
    rationale: "A container without a memory limit can take all of its node's memory, so a leak, or an attacker, pushes the node into out-of-memory kills and evictions of other tenants' pods; without a CPU request the scheduler places the pod blindly and, under contention, it is starved or starves its neighbours (NSA/CISA hardening guide, resource policies; kube-linter unset-memory-requirements and unset-cpu-requirements). Medium: a denial of service across workloads sharing the node, not a confidentiality breach. As the API server defaults it, a CPU limit also sets the CPU request; pod-level resources (spec.resources) count for every container. A namespace LimitRange may add defaults that palisade cannot see.",
    remediation: "Set resources.limits.memory and resources.requests.cpu (and usually requests.memory) on every container, sized from observed usage.",
    references: &[
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        NSA_GUIDE_URL,
        "https://docs.kubelinter.io/#/generated/checks?id=unset-memory-requirements",
    ],
};

/// The rule.
pub struct ResourceLimits;

/// Whether `resources.<kind>.<resource>` is set below `node`.
fn has(node: Option<&Node>, kind: &str, resource: &str) -> bool {
    node.and_then(|n| n.get_path(&["resources", kind, resource]))
        .is_some()
}

impl Rule for ResourceLimits {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        let pod_spec = target.pod.map(|v| v.spec);
        let pod_memory_limit = has(pod_spec, "limits", "memory");
        let pod_cpu_request = has(pod_spec, "requests", "cpu") || has(pod_spec, "limits", "cpu");
        each_workload_container(target, |pod, c| {
            let node = Some(c.node);
            if !(pod_memory_limit || has(node, "limits", "memory")) {
                out.push(pod.container_violation(
                    c,
                    &["resources", "limits", "memory"],
                    format!(
                        "container {:?} has no memory limit (resources.limits.memory)",
                        c.name
                    ),
                ));
            }
            let cpu_request = has(node, "requests", "cpu") || has(node, "limits", "cpu");
            if !(pod_cpu_request || cpu_request) {
                out.push(pod.container_violation(
                    c,
                    &["resources", "requests", "cpu"],
                    format!(
                        "container {:?} has no CPU request (resources.requests.cpu)",
                        c.name
                    ),
                ));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::hardening::testutil::{pod, scan};

    const ID: &str = "hardening/resource-limits";

    #[test]
    fn missing_memory_limit_and_cpu_request_are_two_findings() {
        let f = scan(&pod("", ""), ID);
        let got: Vec<_> = f.iter().map(|f| (f.path.as_str(), f.line)).collect();
        assert_eq!(
            got,
            [
                ("spec.containers[0].resources.limits.memory", 7),
                ("spec.containers[0].resources.requests.cpu", 7),
            ]
        );
        assert_eq!(f[0].container.as_deref(), Some("app"));
    }

    #[test]
    fn each_missing_item_points_at_its_nearest_written_parent() {
        let f = scan(
            &pod(
                "    resources:\n      requests: {memory: 64Mi}\n      limits: {memory: 128Mi}\n",
                "",
            ),
            ID,
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].path, "spec.containers[0].resources.requests.cpu");
        assert_eq!((f[0].line, f[0].column), (10, 7));
        assert!(f[0].message.contains("CPU request"));
    }

    #[test]
    fn init_container_without_resources_fails() {
        let extra = "    resources: {requests: {cpu: 100m}, limits: {memory: 128Mi}}\n  initContainers:\n  - name: init\n    image: busybox:1.36\n";
        let f = scan(&pod(extra, ""), ID);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f
            .iter()
            .all(|f| f.path.starts_with("spec.initContainers[0]") && f.line == 11));
    }

    #[test]
    fn limits_and_requests_pass_including_cpu_limit_and_pod_level_resources() {
        assert!(scan(
            &pod(
                "    resources: {requests: {cpu: 100m}, limits: {memory: 128Mi}}\n",
                ""
            ),
            ID
        )
        .is_empty());
        assert!(scan(
            &pod("    resources: {limits: {cpu: 1, memory: 128Mi}}\n", ""),
            ID
        )
        .is_empty());
        assert!(scan(
            &pod(
                "",
                "  resources: {requests: {cpu: 1}, limits: {memory: 1Gi}}\n"
            ),
            ID
        )
        .is_empty());
    }
}
