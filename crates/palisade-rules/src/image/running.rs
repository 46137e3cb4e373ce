//! `image/running-unpinned` and `image/running-untrusted`: what a running
//! Pod actually runs, from `status.containerStatuses[].imageID` (the digest
//! the kubelet pulled), next to what its spec names. Checked wherever a
//! Pod carries its status: `palisade audit`, and `kubectl get pods -o yaml`
//! output given to `palisade scan`.
//! <https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus>

use palisade_core::{Context, Rule, RuleMeta, Severity, Target, Violation, WorkloadKind};
use palisade_oci::ImageRef;

use super::registry::Trusted;
use super::{each_image, ContainerImage, CHECKLIST_URL};
use crate::pss::Pod;

/// The PodStatus reference.
const POD_STATUS_URL: &str =
    "https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodStatus";

/// Catalog entry of `image/running-unpinned`.
pub static UNPINNED: RuleMeta = RuleMeta {
    id: "image/running-unpinned",
    title: "A running container's image was named by tag",
    severity: Severity::Medium,
    level: None,
    rationale: "The pod's spec names a tag, so what runs is whatever the tag pointed to when each node pulled it: two replicas can run different code, and a pushed tag changes the next pod without any change to the cluster's objects. The kubelet reports the digest it actually runs (status.containerStatuses[].imageID); the finding shows it, so the workload can be pinned to exactly what runs today.",
    remediation: "Pin the workload's image to the digest shown (image: <name>@sha256:<digest>, keeping the tag for readers if you like), in its manifest or chart, and let a bot such as Renovate update it.",
    references: &[CHECKLIST_URL, POD_STATUS_URL],
};

/// Catalog entry of `image/running-untrusted`.
pub static UNTRUSTED: RuleMeta = RuleMeta {
    id: "image/running-untrusted",
    title: "A running container's image came from an untrusted registry",
    severity: Severity::High,
    level: None,
    rationale: "The registry that served what runs (status.containerStatuses[].imageID) can differ from the spec's reference: registry mirrors, a node's containerd configuration, an image preloaded on the node. What matters is where the running content came from; it is checked against images.trustedRegistries like the spec's image. Silent when the list is empty or the runtime reports a bare digest.",
    remediation: "Find why the node runs the image from that registry (containerd mirror configuration, a preloaded image), pull it from a trusted registry, or add the registry to images.trustedRegistries if it is one.",
    references: &[CHECKLIST_URL, POD_STATUS_URL],
};

/// The running image of a container (see [`palisade_core::Object::running_image`]).
fn running<'a>(target: &Target<'a>, ci: &ContainerImage<'a>) -> Option<&'a str> {
    target
        .object
        .running_image(ci.container.list, ci.container.name)
}

fn each_running<'a>(
    target: &Target<'a>,
    mut f: impl FnMut(&Pod<'a>, &ContainerImage<'a>, &'a str),
) {
    if WorkloadKind::of(&target.object.id.api_version, &target.object.id.kind)
        != Some(WorkloadKind::Pod)
    {
        return;
    }
    each_image(target, |pod, ci| {
        if let Some(id) = running(target, &ci) {
            f(pod, &ci, id);
        }
    });
}

/// `image/running-unpinned`.
pub struct RunningUnpinned;

impl Rule for RunningUnpinned {
    fn meta(&self) -> &RuleMeta {
        &UNPINNED
    }

    fn check(&self, target: &Target<'_>, _ctx: &Context, out: &mut Vec<Violation>) {
        each_running(target, |pod, ci, id| {
            let Ok(image) = &ci.parsed else { return };
            if image.pinned() {
                return;
            }
            let digest = id.rsplit_once('@').map_or(id, |(_, d)| d);
            let c = &ci.container;
            out.push(pod.container_violation(
                c,
                &["image"],
                format!(
                    "container {:?} runs {:?} by tag; the running image is {digest}: pin it as {}@{digest}",
                    c.name,
                    ci.text,
                    image.name()
                ),
            ));
        });
    }
}

/// `image/running-untrusted`.
pub struct RunningUntrusted;

impl Rule for RunningUntrusted {
    fn meta(&self) -> &RuleMeta {
        &UNTRUSTED
    }

    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>) {
        let Some(trusted) = Trusted::of(ctx) else {
            return;
        };
        each_running(target, |pod, ci, id| {
            let Ok(running) = ImageRef::parse_cached(id) else {
                return;
            };
            let name = running.name();
            if trusted.trusts(&name) {
                return;
            }
            let c = &ci.container;
            out.push(pod.container_violation(
                c,
                &["image"],
                format!(
                    "container {:?} runs {id} ({name}), which is not from a trusted registry (images.trustedRegistries: {}); its spec names {:?}",
                    c.name,
                    trusted.list(),
                    ci.text
                ),
            ));
        });
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::Policy;

    use crate::image::testutil::{scan, DIGEST};

    fn running_pod(image: &str, image_id: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: {image}\nstatus:\n  containerStatuses:\n  - name: app\n    image: {image}\n    imageID: {image_id}\n"
        )
    }

    #[test]
    fn a_tag_shows_the_digest_that_runs() {
        let f = scan(
            &running_pod("nginx:1.27", &format!("docker.io/library/nginx@{DIGEST}")),
            Policy::default(),
            "image/running-unpinned",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].path, "spec.containers[0].image");
        assert_eq!(f[0].line, 9);
        assert!(
            f[0].message
                .contains(&format!("pin it as docker.io/library/nginx@{DIGEST}")),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn pinned_pending_and_bare_digests_are_not_reported() {
        let pinned = format!("nginx@{DIGEST}");
        assert!(scan(
            &running_pod(&pinned, &format!("docker.io/library/nginx@{DIGEST}")),
            Policy::default(),
            "image/running-"
        )
        .is_empty());
        // No imageID yet (the pod is pending), or no status at all: nothing to say.
        assert!(scan(
            &running_pod("nginx:1.27", "\"\""),
            Policy::default(),
            "image/running-"
        )
        .is_empty());
        let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n";
        assert!(scan(manifest, Policy::default(), "image/running-").is_empty());
        // A Deployment has no container statuses of its own.
        let deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\nstatus:\n  containerStatuses:\n  - name: app\n    imageID: docker.io/library/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n";
        assert!(scan(deploy, Policy::default(), "image/running-").is_empty());
    }

    #[test]
    fn the_running_registry_is_checked_not_the_written_one() {
        let mut p = Policy::default();
        p.images.trusted_registries = vec!["registry.example.com".into()];
        // Written as the trusted registry, served by a mirror that is not.
        let pod = running_pod(
            "registry.example.com/app:1",
            &format!("docker-pullable://mirror.evil.io/app@{DIGEST}"),
        );
        let f = scan(&pod, p.clone(), "image/running-untrusted");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message.contains("mirror.evil.io/app"),
            "{}",
            f[0].message
        );
        let good = running_pod(
            "registry.example.com/app:1",
            &format!("registry.example.com/app@{DIGEST}"),
        );
        assert!(scan(&good, p, "image/running-untrusted").is_empty());
    }
}
