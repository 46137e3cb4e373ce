//! `palisade image`: what is inside a container image, found in one
//! streaming pass over its layers.
//!
//! - [`source`]: where the image comes from (a registry reference, an OCI
//!   image layout `oci:DIR[:tag]`, a `docker save` tarball
//!   `docker-archive:FILE`) and its manifest, config and layer streams.
//! - [`layers`]: each layer decompressed as a stream (gzip, zstd or none,
//!   sniffed from the bytes), its tar entries walked without extracting
//!   anything, paths normalised, whiteouts applied, limits enforced; every
//!   entry handed to the [`model::Visitor`]s.
//! - [`analyze`]: the visitors — image config, secrets in files and names,
//!   OS and minimality, installed packages.
//! - [`printable`]: names from the image with their control characters
//!   escaped, for every message that shows one.

pub mod analyze;
pub mod cache;
pub mod error;
pub mod layers;
pub mod model;
pub mod printable;
pub mod scan;
pub mod source;

/// Every rule of `palisade image`, vulnerabilities included, in `palisade rules` order.
pub fn catalog() -> Vec<&'static palisade_core::RuleMeta> {
    let mut c = analyze::catalog();
    c.extend([&scan::VULNERABLE, &scan::SECRETS, &scan::UNSCANNED]);
    c
}
