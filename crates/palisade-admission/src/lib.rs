//! The palisade admission webhook (`palisade serve`): Kubernetes
//! AdmissionReview (`/validate`, `/mutate`) and ImagePolicyWebhook
//! ImageReview (`/imagereview`) over HTTPS, judged by the same engine, rules
//! and policy file as `palisade scan`, so what passes CI is what the cluster
//! admits. Certificates and the policy are reloaded when their files change;
//! `/metrics` exposes Prometheus metrics and every decision is logged as one
//! JSON line.

pub mod decision_log;
pub mod files;
pub mod imagereview;
pub mod metrics;
pub mod mutate;
pub mod namespaces;
pub mod review;
pub mod server;
pub mod tls;

pub use server::{LogTarget, NamespaceSource, ServeError, ServeOptions, Server};
