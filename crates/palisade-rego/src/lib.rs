//! palisade-rego: a team's existing Gatekeeper ConstraintTemplates and
//! Constraints, run unchanged on the [regorus] Rego interpreter — offline in
//! CI (`palisade scan`), in the admission webhook (`palisade serve`), and
//! in gator test suites (`palisade verify`).
//!
//! - [`PolicySet::load`] reads templates (`templates.gatekeeper.sh/v1`,
//!   `v1beta1`) and constraints (`constraints.gatekeeper.sh/v1beta1`),
//!   compiles each template once, validates parameters against its
//!   `openAPIV3Schema`, and reports every problem with its file, line and
//!   column.
//! - [`PolicySet::review`] evaluates one [`Review`] (a manifest reviewed as a
//!   CREATE, or an AdmissionReview) against every constraint whose
//!   `spec.match` selects it, with `data.inventory` from an [`Inventory`].
//!   A compiled set is `Send + Sync`; each evaluation works on a clone of
//!   the template's prepared engine, so reviews run from many threads.
//! - Templates with `K8sNativeValidation` (CEL) code run on it, as
//!   Gatekeeper runs them (CEL over Rego when a template has both;
//!   [`EnginePreference`] forces one), and ValidatingAdmissionPolicies with
//!   their bindings are evaluated as the API server evaluates them.
//! - [`verify`] runs gator Suite files (`test.gatekeeper.sh/v1alpha1`) and
//!   reports per test and case, as text, JSON or JUnit.
//!
//! Differences from Gatekeeper/OPA that a user may meet: builtin errors
//! (for example `sprintf` with too few arguments) are evaluation errors
//! rather than "undefined", so they are reported instead of silently
//! dropping a violation; parameters are validated against a subset of OpenAPI v3 (see the
//! `schema` module) and unknown fields are kept, as gator keeps them.

mod analysis;
mod cel_program;
mod constraint;
pub mod error;
mod inventory;
mod matcher;
mod native;
mod policy_set;
mod review;
mod schema;
mod source;
mod template;
mod vap;
pub mod verify;

pub use constraint::EnforcementAction;
pub use error::{join_errors, EvalError, EvalErrorKind, LoadError};
pub use inventory::{is_namespace, Inventory};
pub use policy_set::{ConstraintInfo, Ignored, Outcome, PolicySet, Violation};
pub use review::Review;
pub use template::EnginePreference;
pub use vap::is_vap_object;
pub use verify::{verify, verify_filtered, verify_with, Filter, VerifyReport};
