//! Version ordering, exact per package format: dpkg (Debian, Ubuntu), apk
//! (Alpine) and rpm (Red Hat). An advisory's "fixed in 1.2-3" is only as
//! good as the comparison that places the installed version against it, so
//! each scheme follows its package manager, not a generic "semver-ish" order.

pub mod apk;
pub mod dpkg;
pub mod rpm;

use std::cmp::Ordering;

/// A version ordering scheme: one per package format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Debian's dpkg ([Debian Policy §5.6.12](https://www.debian.org/doc/debian-policy/ch-controlfields.html#version)).
    Dpkg,
    /// Alpine's apk-tools (`src/version.c`).
    Apk,
    /// rpm's `rpmvercmp` over `epoch:version-release`.
    Rpm,
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`,
    /// `Alpine:v3.20`, `Red Hat:enterprise_linux:9::baseos`); `None` for
    /// ecosystems this crate does not order.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or_default();
        match base {
            "Debian" | "Ubuntu" => Some(Scheme::Dpkg),
            "Alpine" => Some(Scheme::Apk),
            _ if base.starts_with("Red Hat") => Some(Scheme::Rpm),
            _ => None,
        }
    }

    /// Compares two versions. A total order on all strings, also malformed
    /// ones (see each scheme's module for where those sort).
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Dpkg => dpkg::compare(a, b),
            Scheme::Apk => apk::compare(a, b),
            Scheme::Rpm => rpm::compare(a, b),
        }
    }

    /// Whether the package manager itself would accept `v` as a version.
    pub fn is_valid(self, v: &str) -> bool {
        match self {
            Scheme::Dpkg => dpkg::is_valid(v),
            Scheme::Apk => apk::is_valid(v),
            Scheme::Rpm => rpm::is_valid(v),
        }
    }

    /// The scheme's name, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
        }
    }
}

/// Compares two versions of a package of `ecosystem` with that ecosystem's
/// own ordering (see [`Scheme::for_ecosystem`]). Ecosystems without a known
/// scheme fall back to plain byte order, which is total but means little:
/// check [`Scheme::for_ecosystem`] first where that matters.
pub fn compare(ecosystem: &str, a: &str, b: &str) -> Ordering {
    match Scheme::for_ecosystem(ecosystem) {
        Some(s) => s.compare(a, b),
        None => a.as_bytes().cmp(b.as_bytes()),
    }
}
