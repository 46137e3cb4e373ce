//! The built-in whole-input analyses, one file each.

mod constraints;
mod expired;
mod image;
pub mod network;
mod rbac;
mod registry;

pub use constraints::Constraints;
pub use expired::ExpiredExemptions;
pub use image::ImageContent;
pub use network::NetworkIsolation;
pub use rbac::Rbac;
pub use registry::Registry;
