//! Go modules compiled into ELF executables, from the build information the
//! Go linker embeds in every binary built in module mode (what
//! `go version -m FILE` prints).
//!
//! The format is defined by the Go toolchain itself:
//! `src/debug/buildinfo/buildinfo.go` finds and decodes the blob
//! (<https://github.com/golang/go/blob/master/src/debug/buildinfo/buildinfo.go>)
//! and `src/runtime/debug/mod.go` parses its text
//! (<https://github.com/golang/go/blob/master/src/runtime/debug/mod.go>,
//! documented at <https://pkg.go.dev/runtime/debug#BuildInfo>).
//!
//! The blob sits in the `.go.buildinfo` section or, when the section
//! headers are gone, near the start of the first writable, non-executable
//! `PT_LOAD` segment, at a 16-byte aligned address:
//!
//! ```text
//! 14 bytes  "\xff Go buildinf:"
//!  1 byte   pointer size (4 or 8)
//!  1 byte   flags: bit 0 big-endian, bit 1 inline strings (Go 1.18 and later)
//! 16 bytes  two pointers (old format) or zero (inline format)
//! ```
//!
//! In the inline format two strings follow the 32-byte header, each a
//! unsigned varint length and that many bytes: the Go version
//! (`runtime.buildVersion`) and the module information
//! (`runtime.modinfo`). In the older format the two pointers are the
//! virtual addresses of Go string headers (`{data pointer, length}`,
//! pointer-sized, in the header's byte order), resolved here through the
//! file's segments. The module information is framed by two 16-byte
//! sentinels and is tab-separated text, one record a line:
//!
//! ```text
//! path    example.com/cmd/tool
//! mod     example.com/cmd  v1.2.3  h1:...
//! dep     golang.org/x/text  v0.7.0  h1:...
//! =>      golang.org/x/text  v0.8.0  h1:...   (replaces the line above)
//! build   -trimpath=true                      (key=value, Go-quoted when needed)
//! ```
//!
//! Stripped (`-ldflags=-s -w`) and `-trimpath` binaries keep all of this:
//! neither flag touches the build information. The `object` crate reads the
//! ELF structure (32 and 64 bit, both byte orders); everything else is
//! decoded here with explicit bounds.
//!
//! The parts: `elf` finds and decodes the blob in a whole ELF file,
//! `stream` finds it in a file read as a stream of pieces (executables too
//! large to hold whole), `modinfo` parses the module information text both
//! of them yield.

mod elf;
mod modinfo;
mod stream;

pub use elf::read_go_binary;
pub(crate) use elf::truncation;
pub use stream::GoStream;

/// One Go module: `mod` and `dep` lines of the build information.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Module path (`golang.org/x/text`).
    pub path: String,
    /// Module version (`v0.7.0`, `v0.0.0-20230101000000-abcdef123456`,
    /// `(devel)` for a main module built from a working tree; empty for a
    /// replacement by a local directory).
    pub version: String,
    /// Checksum of the module's content as in `go.sum` (`h1:...`), when
    /// recorded.
    pub sum: Option<String>,
}

/// What a Go binary says about how it was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoBinary {
    /// Toolchain version (`go1.19.8`).
    pub go_version: String,
    /// Package path of the main package (`path` line), when recorded.
    pub path: Option<String>,
    /// The main module (`mod` line), when built in module mode.
    pub main: Option<Module>,
    /// The dependency modules (`dep` lines), in the binary's order. A
    /// replacement (`=>` line) is applied: the replacing module's path,
    /// version and sum stand in place of the required one's, since that is
    /// the code compiled in.
    pub deps: Vec<Module>,
    /// Build settings (`build` lines) as `(key, value)`, unquoted
    /// (`("-trimpath", "true")`, `("GOOS", "linux")`, `("vcs.revision", …)`).
    pub settings: Vec<(String, String)>,
}

/// Longest module information text accepted (a binary with thousands of
/// dependencies has a few hundred KiB).
pub const MAX_BUILDINFO_BYTES: usize = 16 << 20;

/// Most `dep` lines accepted, and most `build` lines.
pub const MAX_MODULES: usize = 100_000;

/// Longest Go version string accepted (`go1.22.1 X:boringcrypto` and
/// `devel go1.23-abcdef Tue Jan 1 …` are well under it).
const MAX_VERSION_BYTES: usize = 1024;

const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const ALIGN: u64 = 16;
const SENTINEL_LEN: usize = 16;

/// Whether `bytes` start with the ELF magic (`\x7fELF`).
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// The Go program the tests build (shared with the end-to-end tests).
#[cfg(test)]
#[path = "../../../../tests/go_fixture/mod.rs"]
pub(crate) mod go_fixture;

#[cfg(test)]
mod tests;
