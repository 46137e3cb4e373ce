//! Image references and the registry client of palisade.
//!
//! [`ImageRef`] parses a reference as the container runtimes read it; it
//! needs no network and is all a crate gets with `default-features = false`.
//! The registry client (feature `client`, on by default) resolves image
//! references (tags) to manifest digests over the OCI distribution API,
//! through `oci-client`.
//!
//! What this crate adds on top of `oci-client`: credentials from a Docker
//! `config.json`, platform selection in image indexes, an independent sha256
//! check of every fetched manifest, retries with backoff on 429/5xx and
//! transport errors, a per-request timeout, and a TTL cache of tag → digest
//! lookups. It does no policy work: callers decide what a digest means.
//!
//! It also fetches blobs and raw manifests with the same checks, and verifies
//! keyed cosign signatures of an image digest (see [`Client::verify_cosign`])
//! and keyless ones with their attestations ([`Client::verify_keyless`]).

mod reference;

pub use reference::{registry_pattern, ImageRef};

#[cfg(feature = "client")]
mod auth;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod cosign;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
pub mod keyless;
#[cfg(feature = "client")]
mod platform;

#[cfg(feature = "client")]
pub use client::*;
#[cfg(feature = "client")]
pub use cosign::{PublicKey, SignatureCheck};
#[cfg(feature = "client")]
pub use error::OciError;
#[cfg(feature = "client")]
pub use keyless::{Identity, KeylessPolicy};
#[cfg(feature = "client")]
pub use platform::Platform;
