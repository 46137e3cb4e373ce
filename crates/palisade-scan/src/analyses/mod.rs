//! The built-in whole-input analyses, one file each.

mod authorizer;
pub mod cluster;
mod constraints;
pub mod encryption_files;
mod expired;
mod image;
pub mod network;
mod rbac;
mod registry;
pub mod storage;

pub use cluster::ClusterChecks;
pub use constraints::Constraints;
pub use encryption_files::EncryptionFiles;
pub use expired::ExpiredExemptions;
pub use image::ImageContent;
pub use network::NetworkIsolation;
pub use rbac::Rbac;
pub use registry::Registry;
