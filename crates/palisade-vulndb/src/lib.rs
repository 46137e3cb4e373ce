//! The vulnerability database: [OSV](https://ossf.github.io/osv-schema/)
//! advisories for OS packages (Debian, Ubuntu, Alpine, Red Hat) and
//! application packages (Go, PyPI, npm, Maven, crates.io, RubyGems,
//! Packagist) kept in SQLite, and the matching of installed packages
//! against them with each package manager's exact version ordering.
//!
//! Pure over its inputs except for the file (and, with the default
//! `download` feature, the network in [`Db::update`]). It knows nothing of
//! images: the CLI turns `palisade-image`'s packages into [`PackageQuery`]s.

mod db;
#[cfg(feature = "download")]
mod fetch;
mod osv;
pub mod version;
mod yaml;

pub use db::{Db, DbError, ImportStats, Match, PackageQuery, CACHE_KIB};
#[cfg(feature = "download")]
pub use fetch::{archive_url, http_client, DEFAULT_OSV_URL, OSV_URL_ENV};
pub use osv::Severity;
pub use version::{compare, Scheme};

#[cfg(test)]
mod tests;
