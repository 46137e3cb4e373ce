//! Images built with `umoci` for the end-to-end tests: an empty image
//! unpacked into a bundle, its root filesystem edited, repacked layer by
//! layer.
#![allow(dead_code)] // each test crate uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;

pub const UMOCI_HINT: &str = "install it with: apt-get install -y umoci skopeo gcc openssl";

/// Runs a helper tool to completion and returns its stdout; fails the test
/// with its stderr when it fails.
pub fn tool(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}; {UMOCI_HINT}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An umoci layout tagged `t` under construction: an empty image unpacked
/// into a bundle whose root filesystem is edited, then repacked as a layer.
pub struct Bundle {
    pub layout: PathBuf,
    pub bundle: PathBuf,
    pub image: String,
}

impl Bundle {
    /// `dir/layout` with an empty image, unpacked into `dir/bundle`.
    pub fn new(dir: &Path) -> Bundle {
        let layout = dir.join("layout");
        let bundle = dir.join("bundle");
        let image = format!("{}:t", layout.display());
        tool(
            Command::new("umoci")
                .arg("init")
                .arg("--layout")
                .arg(&layout),
        );
        tool(Command::new("umoci").args(["new", "--image", &image]));
        tool(
            Command::new("umoci")
                .args(["unpack", "--rootless", "--image", &image])
                .arg(&bundle),
        );
        Bundle {
            layout,
            bundle,
            image,
        }
    }

    pub fn rootfs(&self) -> PathBuf {
        self.bundle.join("rootfs")
    }

    /// Adds the bundle's changes since the last repack as a new layer.
    pub fn repack(&self) {
        tool(
            Command::new("umoci")
                .args(["repack", "--refresh-bundle", "--image", &self.image])
                .arg(&self.bundle),
        );
    }

    /// `umoci config` of the image with `args`.
    pub fn config(&self, args: &[&str]) {
        tool(
            Command::new("umoci")
                .args(["config", "--image", &self.image])
                .args(args),
        );
    }
}
