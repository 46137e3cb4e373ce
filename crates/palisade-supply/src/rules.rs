//! Catalog entries of the image rules that ask the registry. This crate
//! evaluates them (in `scan` unless `--offline`, and in `serve`); the
//! engine, which has no network, does not.

use palisade_core::{RuleMeta, Severity};

/// The Kubernetes security checklist section on images (digests, trusted sources).
const CHECKLIST_URL: &str =
    "https://kubernetes.io/docs/concepts/security/security-checklist/#images";

/// The cosign page on verifying signatures with a key.
const COSIGN_VERIFY_URL: &str = "https://docs.sigstore.dev/cosign/verifying/verify/";

/// `image/signature`.
pub static SIGNATURE: RuleMeta = RuleMeta {
    id: "image/signature",
    title: "Image has no valid cosign signature from a trusted key",
    severity: Severity::High,
    level: None,
    rationale: "A trusted registry and a pinned digest still do not say who built the image: anyone with push access to the repository (a leaked CI token, a compromised dependency of the build) can publish content there. A cosign signature by a key the organisation controls proves the image came out of its pipeline. Images matching an images.verify entry must carry a signature, stored at the registry's sha256-<digest>.sig tag, whose payload names this image's digest and repository and whose signature verifies with one of the entry's keys. A signature present but invalid (wrong key, tampered payload, made for another digest or repository) is reported even when the entry is not required.",
    remediation: "Sign the image digest in the build pipeline with the organisation's key (cosign sign --key cosign.key registry.example.com/app@sha256:<digest>) and deploy that digest; or add the signing key to the images.verify entry if the image was signed with another trusted key.",
    references: &[COSIGN_VERIFY_URL, CHECKLIST_URL],
};

/// `image/registry-error`.
pub static REGISTRY_ERROR: RuleMeta = RuleMeta {
    id: "image/registry-error",
    title: "Image could not be checked against its registry",
    severity: Severity::High,
    level: None,
    rationale: "A rule that needs the registry (a signature to verify, a tag to resolve) could not get an answer: the registry is unreachable or timed out, refused the credentials, or served content that does not match its digest. An image that cannot be verified is treated as unverified: high by default (images.failurePolicy: Fail, denied in enforce mode), low with failurePolicy: Ignore.",
    remediation: "Check that the registry is reachable from where palisade runs and that credentials for it are in the Docker config.json (--registry-config); a digest mismatch means the registry or a proxy serves tampered content. Set images.failurePolicy: Ignore to admit images when the registry cannot be asked.",
    references: &[CHECKLIST_URL],
};

/// `image/resolved-digest`.
pub static RESOLVED_DIGEST: RuleMeta = RuleMeta {
    id: "image/resolved-digest",
    title: "Image tag resolved to the digest it names now",
    severity: Severity::Info,
    level: None,
    rationale: "Reported by scan --resolve for every image referenced by tag: the digest the tag points to in the registry right now, and the pinned reference to write instead, so that what was reviewed is what runs.",
    remediation: "Replace the reference with the pinned form shown (registry/repo:tag@sha256:...), or let serve pin it at admission with images.mutateDigest.",
    references: &[CHECKLIST_URL],
};

/// The rules of this crate, in `palisade rules` order.
pub static CATALOG: &[&RuleMeta] = &[&SIGNATURE, &REGISTRY_ERROR, &RESOLVED_DIGEST];
