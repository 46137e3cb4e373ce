//! `hardening/read-only-root-fs`: containers whose root filesystem is writable.
//! <https://kubernetes.io/docs/tasks/configure-pod-container/security-context/>

use palisade_core::{Context, Node, Rule, RuleMeta, Severity, Target, Violation};

use super::{each_workload_container, NSA_GUIDE_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "hardening/read-only-root-fs",
    title: "Container root filesystem is writable",
    severity: Severity::Low,
    level: None,
    rationale: "With a writable root filesystem, an attacker who gets code execution can drop tools, replace binaries or plant persistence in the container's filesystem; an immutable one confines writes to the volumes the workload declares (NSA/CISA hardening guide, \"immutable container file systems\"; kube-linter no-read-only-root-fs). Low: it limits what happens after a compromise rather than preventing one. Windows pods are not checked, as Windows does not support the setting.",
    remediation: "Set securityContext.readOnlyRootFilesystem: true on the container and mount an emptyDir volume where the application must write (/tmp, caches).",
    references: &[
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
        NSA_GUIDE_URL,
        "https://docs.kubelinter.io/#/generated/checks?id=no-read-only-root-fs",
    ],
};

/// The rule.
pub struct ReadOnlyRootFs;

impl Rule for ReadOnlyRootFs {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        each_workload_container(target, |pod, c| {
            if pod.is_windows() {
                return;
            }
            let how = match c.sc("readOnlyRootFilesystem").and_then(Node::as_bool) {
                Some(true) => return,
                Some(false) => "securityContext.readOnlyRootFilesystem is false",
                None => "securityContext.readOnlyRootFilesystem is not set to true",
            };
            out.push(pod.container_violation(
                c,
                &["securityContext", "readOnlyRootFilesystem"],
                format!(
                    "container {:?} has a writable root filesystem ({how})",
                    c.name
                ),
            ));
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::hardening::testutil::{pod, scan};

    const ID: &str = "hardening/read-only-root-fs";

    #[test]
    fn unset_fails_at_the_container_and_false_at_the_field() {
        let f = scan(&pod("", ""), ID);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].path,
            "spec.containers[0].securityContext.readOnlyRootFilesystem"
        );
        assert_eq!((f[0].line, f[0].column), (7, 5));
        assert_eq!(f[0].container.as_deref(), Some("app"));
        let f = scan(
            &pod(
                "    securityContext:\n      readOnlyRootFilesystem: false\n",
                "",
            ),
            ID,
        );
        assert_eq!((f[0].line, f[0].column), (10, 7));
        assert!(f[0].message.contains("false"));
    }

    #[test]
    fn init_containers_are_checked_and_ephemeral_ones_are_not() {
        let extra = "  initContainers:\n  - name: init\n    image: busybox:1.36\n  ephemeralContainers:\n  - name: debug\n    image: busybox:1.36\n";
        let f = scan(
            &pod(
                "    securityContext: {readOnlyRootFilesystem: true}\n",
                extra,
            ),
            ID,
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].path,
            "spec.initContainers[0].securityContext.readOnlyRootFilesystem"
        );
        assert_eq!(f[0].line, 11);
    }

    #[test]
    fn read_only_root_filesystem_passes_and_windows_is_skipped() {
        assert!(scan(
            &pod("    securityContext: {readOnlyRootFilesystem: true}\n", ""),
            ID
        )
        .is_empty());
        assert!(scan(&pod("", "  os: {name: windows}\n"), ID).is_empty());
    }
}
