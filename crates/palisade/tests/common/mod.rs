//! Helpers shared by the end-to-end tests: the repository root, and the
//! built binary run from it without a policy file from the environment.

#![allow(dead_code)]

pub mod cluster;
pub mod etcd;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `palisade ARGS` in the repository root.
pub fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .current_dir(repo())
        .env_remove("PALISADE_CONFIG")
        .args(args)
        .output()
        .expect("palisade runs")
}
