//! palisade-core: documents with source spans, the Kubernetes object model
//! (with the pod-spec view of every workload kind), findings, the rule trait
//! and the engine that ties them together. No network, no rule packs.

pub mod engine;
pub mod finding;
pub mod gate;
pub mod loader;
pub mod node;
pub mod object;
pub mod policy;
pub mod policy_file;
pub mod rule;
pub mod walk;

pub use engine::Engine;
pub use finding::{
    intern_rule_id, is_api_location, redacted, Finding, ImageUse, InputError, PodInfo, ScanReport,
    Severity, Skipped, Summary,
};
pub use gate::{Gate, InlineSuppression, Setting, Verdict};
pub use loader::Limits;
pub use node::{Node, Pos, Seg, Value};
pub use object::{
    ContainerRef, CustomWorkload, Object, ObjectRef, PodPart, PodView, WorkloadKind,
    CONTAINER_LISTS, CUSTOM_WORKLOADS,
};
pub use policy::{
    AdmissionPolicy, AttestationRule, ContentPolicy, FailurePolicy, ImagePolicy, KeylessSigner,
    Mode, Mutations, Policy, ScanIndex, VerifyRule,
};
pub use rule::{Context, PssLevel, PssVersion, Rule, RuleMeta, Target, Violation};

/// An error and its causes, outermost first, each said once: an HTTP or
/// gRPC client's "transport error" alone does not say that a certificate
/// was refused; its source chain does.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    out
}
