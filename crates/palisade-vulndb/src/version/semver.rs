//! [SemVer 2.0.0](https://semver.org/) precedence, as npm and crates.io
//! order versions: `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`, compared by
//! major, minor and patch numerically, then a version with a pre-release
//! below the same version without one, then pre-release identifiers left to
//! right: numeric ones numerically and below alphanumeric ones, which
//! compare in ASCII order, and a shorter list of otherwise equal identifiers
//! first ([spec item 11](https://semver.org/#spec-item-11)). Build metadata
//! is ignored ([spec item 10](https://semver.org/#spec-item-10)).
//!
//! The grammar is the spec's BNF, with what node-semver's "loose" mode
//! tolerates in front of it: surrounding whitespace and a leading run of `v`
//! and `=` (`v1.2.3`, `=1.2.3`). Numbers have no length limit: numeric
//! identifiers compare as digit strings, never as machine integers.
//!
//! Strings outside that grammar (`1.2`, `01.2.3`, `1.2.3-`) sort before
//! every valid version and among themselves by bytes.
//!
//! Written by hand rather than on the `semver` crate: that crate rejects
//! numbers above `u64::MAX`, which the spec allows, and the same parser
//! serves Go module versions ([`super::golang`]).

use std::cmp::Ordering;

use super::cmp_digits;

/// A parsed version. The fields borrow from the parsed string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// Major version: ASCII digits, no leading zero.
    pub major: &'a str,
    /// Minor version, as `major`.
    pub minor: &'a str,
    /// Patch version, as `major`.
    pub patch: &'a str,
    /// Dot-separated pre-release identifiers; empty when there are none.
    pub pre: &'a str,
    /// Dot-separated build metadata; empty when there is none.
    pub build: &'a str,
}

impl Version<'_> {
    /// SemVer precedence: everything but the build metadata counts.
    pub fn precedence(&self, other: &Version<'_>) -> Ordering {
        cmp_digits(self.major, other.major)
            .then_with(|| cmp_digits(self.minor, other.minor))
            .then_with(|| cmp_digits(self.patch, other.patch))
            .then_with(|| cmp_prerelease(self.pre, other.pre))
    }
}

/// Parses `v` with node-semver's loose prefix (see the module docs).
pub fn parse(v: &str) -> Option<Version<'_>> {
    let v = v
        .trim()
        .trim_start_matches(|c: char| c == 'v' || c == '=' || c.is_whitespace());
    parse_strict(v, false)
}

/// Whether `v` is a SemVer 2.0.0 version (after the loose prefix).
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// Compares two versions by SemVer precedence; invalid strings first, by
/// bytes.
pub fn compare(a: &str, b: &str) -> Ordering {
    super::parsed_first(a, b, parse, Version::precedence)
}

/// The spec's BNF, nothing before or after. With `shorthand`, `1` and `1.2`
/// (no pre-release, no build) stand for `1.0.0` and `1.2.0`, as Go's
/// `golang.org/x/mod/semver` accepts them.
pub(crate) fn parse_strict(v: &str, shorthand: bool) -> Option<Version<'_>> {
    let (major, rest) = number(v)?;
    if shorthand && rest.is_empty() {
        return Some(Version {
            major,
            minor: "0",
            patch: "0",
            pre: "",
            build: "",
        });
    }
    let (minor, rest) = number(rest.strip_prefix('.')?)?;
    if shorthand && rest.is_empty() {
        return Some(Version {
            major,
            minor,
            patch: "0",
            pre: "",
            build: "",
        });
    }
    let (patch, rest) = number(rest.strip_prefix('.')?)?;
    let (main, build) = match rest.split_once('+') {
        Some((main, build)) => {
            if !build.split('.').all(is_identifier) {
                return None;
            }
            (main, build)
        }
        None => (rest, ""),
    };
    let pre = match main.strip_prefix('-') {
        Some(pre) => {
            if !pre
                .split('.')
                .all(|id| is_identifier(id) && !has_leading_zero(id))
            {
                return None;
            }
            pre
        }
        None if main.is_empty() => "",
        None => return None,
    };
    Some(Version {
        major,
        minor,
        patch,
        pre,
        build,
    })
}

/// A numeric identifier (`0` or digits without a leading zero) at the start
/// of `s`, and the rest.
fn number(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = s.split_at(n);
    if digits.is_empty() || has_leading_zero(digits) {
        return None;
    }
    Some((digits, rest))
}

fn is_numeric(id: &str) -> bool {
    id.bytes().all(|c| c.is_ascii_digit())
}

fn has_leading_zero(id: &str) -> bool {
    id.len() > 1 && id.starts_with('0') && is_numeric(id)
}

/// A non-empty run of `[0-9A-Za-z-]`.
fn is_identifier(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
}

/// Pre-release precedence (spec item 11.3 and 11.4); `""` is "none", which
/// sorts last.
pub(crate) fn cmp_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        (false, false) => {}
    }
    let (mut x, mut y) = (a.split('.'), b.split('.'));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let r = match (is_numeric(p), is_numeric(q)) {
                    (true, true) => cmp_digits(p, q),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => p.as_bytes().cmp(q.as_bytes()),
                };
                if r != Ordering::Equal {
                    return r;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_all_equal, assert_sorted, check_total_order};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spec_item_11_examples() {
        // https://semver.org/#spec-item-11, 11.2 and 11.4.
        assert_sorted(compare, &["1.0.0", "2.0.0", "2.1.0", "2.1.1"]);
        assert_sorted(compare, &["1.0.0-alpha", "1.0.0"]);
        assert_sorted(
            compare,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
            ],
        );
    }

    #[test]
    fn build_metadata_is_ignored() {
        // Spec item 10's examples.
        assert_all_equal(
            compare,
            &[
                "1.0.0",
                "1.0.0+20130313144700",
                "1.0.0+exp.sha.5114f85",
                "1.0.0+21AF26D3----117B344092BD",
            ],
        );
        assert_all_equal(compare, &["1.0.0-beta", "1.0.0-beta+exp.sha.5114f85"]);
    }

    #[test]
    fn loose_prefix() {
        assert_all_equal(
            compare,
            &[
                "1.2.3", "v1.2.3", "=1.2.3", "=v1.2.3", " v1.2.3 ", "v=1.2.3",
            ],
        );
        assert!(is_valid("v1.2.3-rc.1+build"));
    }

    #[test]
    fn numbers_have_no_limit() {
        assert_sorted(
            compare,
            &[
                "1.0.0-18446744073709551615",
                "1.0.0-18446744073709551616",
                "1.0.0-x",
                "18446744073709551615.0.0",
                "18446744073709551616.0.0",
                "99999999999999999999999999.0.0",
            ],
        );
    }

    #[test]
    fn ascii_order_of_alphanumerics() {
        assert_sorted(
            compare,
            &["1.0.0-Beta", "1.0.0-alpha", "1.0.0-beta", "1.0.0-beta-2"],
        );
        assert_sorted(compare, &["1.0.0-1", "1.0.0-1a", "1.0.0-a"]);
    }

    #[test]
    fn grammar() {
        for ok in [
            "0.0.0",
            "1.2.3-0",
            "1.2.3-0a",
            "1.2.3-a-b.c",
            "1.2.3+001",
            "1.2.3--",
        ] {
            assert!(is_valid(ok), "{ok:?}");
        }
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3+a..b",
            "1.2.3-a_b",
            "1.2.3 4",
            "V1.2.3",
            "1.2.3beta",
            "a.b.c",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn invalid_strings_sort_first_by_bytes() {
        assert_sorted(compare, &["", "1.0", "v", "0.0.0-0", "0.0.0"]);
    }

    fn versionish() -> impl Strategy<Value = String> {
        prop_oneof![
            "[v=]?[0-9]{1,3}\\.[0-9]{1,2}\\.[0-9]{1,2}(-[0-9a-zA-Z]{1,3}(\\.[0-9a-z-]{1,3}){0,2})?(\\+[0-9a-z.]{0,4})?",
            "[0-9a-z.+=-]{0,10}",
        ]
    }

    proptest! {
        #[test]
        fn total_order(v in proptest::collection::vec(versionish(), 1..7)) {
            check_total_order(compare, &v)?;
        }

        #[test]
        fn never_panics(a in any::<String>(), b in any::<String>()) {
            let _ = (compare(&a, &b), is_valid(&a));
        }
    }
}
