//! palisade-etcd: how the API server stored each object, proven from
//! etcd's own bytes.
//!
//! The API server writes a Secret to etcd under
//! `/registry/secrets/<namespace>/<name>` as one of:
//! - its protobuf encoding in the storage envelope (`k8s\0` followed by a
//!   `runtime.Unknown`), or JSON (custom resources, old clusters): stored
//!   in plaintext;
//! - `k8s:enc:<provider>:v1:<key>:` followed by the provider's payload
//!   (aescbc, aesgcm, secretbox), or `k8s:enc:kms:v1|v2:<name>:`.
//!
//! [`stored::classify`] reads that form from the bytes; with an
//! EncryptionConfiguration ([`keyring::Keyring`]) [`judge`] says whether
//! the key is the current write key, an older one or one the configuration
//! lacks, and decrypts the value in memory ([`decrypt`]) to prove the key
//! opens it. The plaintext is checked to be a stored object of the right
//! kind ([`envelope`]) and dropped; no value, plaintext or key is ever
//! printed or logged. [`client`] reads etcd through its v3 gRPC API,
//! paginated; [`EtcdStorage`] is the scan pipeline's analysis that ties
//! them together, so findings pass the policy like every other.

mod analysis;
pub mod client;
pub mod decrypt;
pub mod envelope;
pub mod judge;
pub mod keyring;
pub mod stored;

pub use analysis::{EtcdStorage, Progress};
pub use client::{Etcd, EtcdOptions};
pub use judge::{judge, Verdict};
pub use keyring::Keyring;
