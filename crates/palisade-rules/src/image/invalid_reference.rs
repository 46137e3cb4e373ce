//! `image/invalid-reference`: an image the runtime cannot parse.
//! <https://kubernetes.io/docs/concepts/containers/images/#image-names>

use palisade_core::{Context, Rule, RuleMeta, Severity, Target, Violation};

use super::{each_image, IMAGES_URL};

/// Catalog entry.
pub static META: RuleMeta = RuleMeta {
    id: "image/invalid-reference",
    title: "Image reference is malformed",
    severity: Severity::High,
    level: None,
    rationale: "The kubelet refuses a malformed reference (InvalidImageName), so the pod never starts; worse, tools that normalise references differently (admission webhooks, allow-lists, scanners) may each read a sloppy reference as a different image, which is how provenance checks are bypassed. palisade cannot judge the origin or pinning of an image it cannot parse, so it reports it as high and the other image rules stay silent on it.",
    remediation: "Write the image as [registry[:port]/]repository[:tag][@sha256:<64 lower-case hex>], with a lower-case repository (for example registry.example.com/team/app:1.4.2@sha256:…).",
    references: &[
        IMAGES_URL,
        "https://github.com/distribution/reference/blob/main/reference.go",
    ],
};

/// The rule.
pub struct InvalidReference;

impl Rule for InvalidReference {
    fn meta(&self) -> &RuleMeta {
        &META
    }

    fn check(&self, target: &Target<'_>, _: &Context, out: &mut Vec<Violation>) {
        each_image(target, |pod, ci| {
            if let Err(why) = &ci.parsed {
                let c = &ci.container;
                out.push(pod.container_violation(
                    c,
                    &["image"],
                    format!(
                        "container {:?} image {:?} is not a valid reference: {why}",
                        c.name, ci.text
                    ),
                ));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::Policy;

    use crate::image::testutil::{pod, scan, DIGEST};

    #[test]
    fn upper_case_repository_is_reported_at_the_image_field() {
        let f = scan(
            &pod("Nginx:Latest", &format!("busybox@{DIGEST}")),
            Policy::default(),
            "image/",
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "image/invalid-reference");
        assert_eq!(f[0].path, "spec.containers[0].image");
        assert_eq!((f[0].line, f[0].column), (9, 5));
        assert_eq!(f[0].container.as_deref(), Some("app"));
        assert!(
            f[0].message.contains("must be lower case"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn short_digest_and_empty_image_in_init_container_are_reported() {
        let f = scan(
            &pod("foo@sha256:short", "\"\""),
            Policy::default(),
            "image/",
        );
        let ids: Vec<_> = f
            .iter()
            .map(|f| (f.rule, f.path.as_str(), f.line))
            .collect();
        assert_eq!(
            ids,
            [
                (
                    "image/invalid-reference",
                    "spec.initContainers[0].image",
                    12
                ),
                ("image/invalid-reference", "spec.containers[0].image", 9),
            ]
        );
        assert!(f[0].message.contains("image is empty"));
        assert!(f[1].message.contains("hexadecimal"));
    }

    #[test]
    fn missing_or_non_string_image_is_reported_without_panic() {
        let y = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n  - name: b\n    image: [x]\n  ephemeralContainers:\n  - name: debug\n    image: 42\n";
        let f = scan(y, Policy::default(), "image/invalid-reference");
        let got: Vec<_> = f.iter().map(|f| (f.path.as_str(), f.line)).collect();
        assert_eq!(
            got,
            [
                ("spec.containers[0].image", 6),
                ("spec.containers[1].image", 8),
                ("spec.ephemeralContainers[0].image", 11),
            ]
        );
        assert!(f[0].message.contains("no image"));
        assert!(f[2].message.contains("not a string"));
    }

    #[test]
    fn valid_references_pass() {
        let f = scan(
            &pod("localhost:5000/app:1.0", "nginx"),
            Policy::default(),
            "image/invalid-reference",
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
