//! Version ordering, exact per package format. Distribution packages: dpkg
//! (Debian, Ubuntu), apk (Alpine) and rpm (Red Hat). Application
//! ecosystems: Go modules, SemVer 2.0.0 (npm, crates.io), PEP 440 (PyPI),
//! Maven, RubyGems and Composer (Packagist). An advisory's "fixed in 1.2-3"
//! is only as good as the comparison that places the installed version
//! against it, so each scheme follows its package manager, not a generic
//! "semver-ish" order.
//!
//! Every scheme's `compare` is a total order on all strings, malformed ones
//! included (each module documents where those sort), and never panics;
//! `is_valid` says whether the package manager's own parser accepts a
//! version.

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod golang;
pub mod maven;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

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
    /// Go module versions ([Go Modules Reference](https://go.dev/ref/mod#versions)),
    /// with or without the leading `v`.
    Go,
    /// [SemVer 2.0.0](https://semver.org/) precedence (npm, crates.io).
    Semver,
    /// Python's [PEP 440](https://peps.python.org/pep-0440/) (PyPI).
    Pep440,
    /// Maven's [version order specification](https://maven.apache.org/pom.html#version-order-specification).
    Maven,
    /// RubyGems' `Gem::Version`.
    RubyGems,
    /// Composer's normalised versions compared as PHP's `version_compare`
    /// (Packagist).
    Composer,
}

impl Scheme {
    /// The scheme of an OSV ecosystem (`Debian:12`, `Ubuntu:22.04:LTS`,
    /// `Alpine:v3.20`, `Red Hat:enterprise_linux:9::baseos`, `Go`, `npm`,
    /// `crates.io`, `PyPI`, `Maven`, `RubyGems`, `Packagist`); `None` for
    /// ecosystems this crate does not order.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or_default();
        match base {
            "Debian" | "Ubuntu" => Some(Scheme::Dpkg),
            "Alpine" => Some(Scheme::Apk),
            _ if base.starts_with("Red Hat") => Some(Scheme::Rpm),
            "Go" => Some(Scheme::Go),
            "npm" | "crates.io" => Some(Scheme::Semver),
            "PyPI" => Some(Scheme::Pep440),
            "Maven" => Some(Scheme::Maven),
            "RubyGems" => Some(Scheme::RubyGems),
            "Packagist" => Some(Scheme::Composer),
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
            Scheme::Go => golang::compare(a, b),
            Scheme::Semver => semver::compare(a, b),
            Scheme::Pep440 => pep440::compare(a, b),
            Scheme::Maven => maven::compare(a, b),
            Scheme::RubyGems => rubygems::compare(a, b),
            Scheme::Composer => composer::compare(a, b),
        }
    }

    /// Whether the package manager itself would accept `v` as a version.
    pub fn is_valid(self, v: &str) -> bool {
        match self {
            Scheme::Dpkg => dpkg::is_valid(v),
            Scheme::Apk => apk::is_valid(v),
            Scheme::Rpm => rpm::is_valid(v),
            Scheme::Go => golang::is_valid(v),
            Scheme::Semver => semver::is_valid(v),
            Scheme::Pep440 => pep440::is_valid(v),
            Scheme::Maven => maven::is_valid(v),
            Scheme::RubyGems => rubygems::is_valid(v),
            Scheme::Composer => composer::is_valid(v),
        }
    }

    /// The scheme's name, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Apk => "apk",
            Scheme::Rpm => "rpm",
            Scheme::Go => "go",
            Scheme::Semver => "semver",
            Scheme::Pep440 => "pep440",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::Composer => "composer",
        }
    }
}

/// One version compared with many (an installed version against an
/// advisory's events): parsed once where parsing is what costs (PEP 440).
/// `Prepared::new(s, v).cmp_to(x)` is `s.compare(v, x)`.
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    scheme: Scheme,
    text: &'a str,
    pep440: Option<pep440::Version>,
}

impl<'a> Prepared<'a> {
    /// `v` prepared for comparisons in `scheme`.
    pub fn new(scheme: Scheme, v: &'a str) -> Prepared<'a> {
        let pep440 = match scheme {
            Scheme::Pep440 => pep440::parse(v),
            _ => None,
        };
        Prepared {
            scheme,
            text: v,
            pep440,
        }
    }

    /// The version as given.
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The scheme's order of the prepared version against `other`.
    pub fn cmp_to(&self, other: &str) -> Ordering {
        if self.text == other {
            return Ordering::Equal;
        }
        match self.scheme {
            Scheme::Pep440 => match (&self.pep440, pep440::parse(other)) {
                (Some(x), Some(y)) => x.cmp(&y),
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (None, None) => self.text.as_bytes().cmp(other.as_bytes()),
            },
            s => s.compare(self.text, other),
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

/// Compares two runs of ASCII digits as the unbounded integers they spell:
/// leading zeros are ignored, then the longer run is the larger number, then
/// the digits decide. No parsing, so no overflow whatever the length.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The order shared by schemes whose malformed versions fall outside the
/// format's grammar: parsed versions compare with `cmp`, unparsable ones sort
/// before every parsed one and among themselves by bytes.
pub(crate) fn parsed_first<'a, T>(
    a: &'a str,
    b: &'a str,
    parse: impl Fn(&'a str) -> Option<T>,
    cmp: impl Fn(&T, &T) -> Ordering,
) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => cmp(&x, &y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.as_bytes().cmp(b.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::TestCaseError;

    /// A comparison function under test.
    pub(crate) type Cmp = fn(&str, &str) -> Ordering;

    /// Asserts that `list` is strictly increasing under `cmp`, pair by pair
    /// (not only neighbours), in both directions.
    pub(crate) fn assert_sorted(cmp: Cmp, list: &[&str]) {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                assert_eq!(cmp(a, b), Ordering::Less, "expected {a:?} < {b:?}");
                assert_eq!(cmp(b, a), Ordering::Greater, "expected {b:?} > {a:?}");
            }
        }
    }

    /// Asserts that every member of `list` compares equal to every other.
    pub(crate) fn assert_all_equal(cmp: Cmp, list: &[&str]) {
        for a in list {
            for b in list {
                assert_eq!(cmp(a, b), Ordering::Equal, "expected {a:?} == {b:?}");
            }
        }
    }

    /// Checks the total-order laws on `v`: reflexive, antisymmetric and
    /// transitive on every triple (for `<`, `<=` and `==` alike).
    pub(crate) fn check_total_order(cmp: Cmp, v: &[String]) -> Result<(), TestCaseError> {
        for a in v {
            proptest::prop_assert_eq!(cmp(a, a), Ordering::Equal, "reflexive {:?}", a);
            for b in v {
                let ab = cmp(a, b);
                proptest::prop_assert_eq!(ab, cmp(b, a).reverse(), "antisymmetry {:?} {:?}", a, b);
                for c in v {
                    let (bc, ac) = (cmp(b, c), cmp(a, c));
                    if ab != Ordering::Greater && bc != Ordering::Greater {
                        proptest::prop_assert_ne!(
                            ac,
                            Ordering::Greater,
                            "transitivity {:?} {:?} {:?}",
                            a,
                            b,
                            c
                        );
                    }
                    if ab == Ordering::Less && bc != Ordering::Greater {
                        proptest::prop_assert_eq!(
                            ac,
                            Ordering::Less,
                            "transitivity {:?} {:?} {:?}",
                            a,
                            b,
                            c
                        );
                    }
                    if ab == Ordering::Equal && bc == Ordering::Equal {
                        proptest::prop_assert_eq!(
                            ac,
                            Ordering::Equal,
                            "equality {:?} {:?} {:?}",
                            a,
                            b,
                            c
                        );
                    }
                }
            }
        }
        Ok(())
    }

    #[test]
    fn ecosystems_pick_their_scheme() {
        for (eco, scheme) in [
            ("Go", Scheme::Go),
            ("npm", Scheme::Semver),
            ("crates.io", Scheme::Semver),
            ("PyPI", Scheme::Pep440),
            ("Maven", Scheme::Maven),
            ("RubyGems", Scheme::RubyGems),
            ("Packagist", Scheme::Composer),
            ("Debian:12", Scheme::Dpkg),
            ("Alpine:v3.20", Scheme::Apk),
            ("Red Hat:enterprise_linux:9::baseos", Scheme::Rpm),
        ] {
            assert_eq!(Scheme::for_ecosystem(eco), Some(scheme), "{eco}");
        }
        assert_eq!(Scheme::for_ecosystem("NuGet"), None);
        assert_eq!(Scheme::for_ecosystem("go"), None);
    }

    #[test]
    fn names() {
        let names: Vec<_> = [
            Scheme::Go,
            Scheme::Semver,
            Scheme::Pep440,
            Scheme::Maven,
            Scheme::RubyGems,
            Scheme::Composer,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        assert_eq!(
            names,
            ["go", "semver", "pep440", "maven", "rubygems", "composer"]
        );
    }

    #[test]
    fn schemes_dispatch() {
        assert_eq!(compare("Go", "v1.2.3", "1.2.3"), Ordering::Equal);
        assert_eq!(compare("npm", "1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(compare("PyPI", "1.0RC1", "1.0rc1"), Ordering::Equal);
        assert_eq!(compare("Maven", "1.0.0", "1"), Ordering::Equal);
        assert_eq!(compare("RubyGems", "1.0.a", "1.0"), Ordering::Less);
        assert_eq!(
            compare("Packagist", "v1.0.0-beta1", "1.0.0"),
            Ordering::Less
        );
        assert!(Scheme::Go.is_valid("v0.0.0-20191109021931-daa7c04131f5"));
        assert!(!Scheme::Go.is_valid("(devel)"));
        assert!(Scheme::Pep440.is_valid("1.0.post1"));
        assert!(!Scheme::Semver.is_valid("1.0"));
    }

    #[test]
    fn digit_runs_compare_as_numbers() {
        assert_eq!(cmp_digits("010", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("000", ""), Ordering::Equal);
        assert_eq!(
            cmp_digits(
                "123456789012345678901234567890",
                "123456789012345678901234567891"
            ),
            Ordering::Less
        );
    }
}
