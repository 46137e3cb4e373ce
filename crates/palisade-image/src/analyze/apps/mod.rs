//! Application packages: what the application brings into the image besides
//! the OS packages (Go modules compiled into binaries, Python distributions,
//! npm packages, Java archives, Rust crates, Composer and RubyGems packages).
//!
//! Each submodule reads one format from bytes already in memory (the layer
//! walker hands them over within its content limits) and never panics.

mod analyzer;
pub mod go;
pub mod java;
pub mod npm;
pub mod php;
pub mod python;
pub mod ruby;
pub mod rust;

pub use analyzer::{AppAnalyzer, MAX_ARCHIVE_BYTES, MAX_BINARY_BYTES, MAX_LOCKFILE_BYTES};
