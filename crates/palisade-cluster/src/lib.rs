//! palisade-cluster: the live cluster as one more scan [`Source`].
//!
//! ```text
//! kubeconfig / in-cluster ──► discovery ──► paginated LISTs ──► objects ──► palisade-scan
//!                                           (limit, continue,      (API paths as
//!                                            410 restart, 429,      locations)
//!                                            403 → error, go on)
//! ```
//!
//! [`connect`] builds a kube-rs client from the in-cluster service account
//! or a kubeconfig (`--kubeconfig`, `--context`). [`ClusterSource`] lists
//! the resources of [`resources::READ`] page by page on a thread of its
//! own and hands each page to the scan as it arrives (a bounded channel:
//! memory follows the page and the report, never the cluster). Namespaces
//! and ServiceAccounts come first, as the index pass needs them.
//!
//! What only a running cluster has is collected on the way: controller
//! owners ([`owners`]), so pods owned by a Deployment are reported once,
//! at the Deployment, with their count.
//!
//! [`Source`]: palisade_scan::Source

mod apply;
mod connect;
mod list;
pub mod owners;
pub mod resources;
mod source;

pub use apply::{apply_reports, Applied};
pub use connect::{connect, Cluster, ConnectOptions};
pub use list::{ListOptions, Lister};
pub use source::{gatekeeper_policies, ClusterSource, Progress};

pub use palisade_core::is_api_location;
