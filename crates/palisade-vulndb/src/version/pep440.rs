//! Python version ordering, [PEP 440](https://peps.python.org/pep-0440/)
//! (the [version specifiers specification](https://packaging.python.org/en/latest/specifications/version-specifiers/)):
//! `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`. The epoch decides first,
//! then the release segment (zero-padded: `1.0 == 1.0.0`), then
//! `.devN` < `aN` < `bN` < `rcN` < the release < `.postN` (a `.devN` of a
//! pre- or post-release sits just below it), then the local version label,
//! which sorts above the same version without one.
//!
//! Parsing applies PEP 440's normalisation: case (`1.0RC1 == 1.0rc1`),
//! spellings (`alpha`, `c`, `pre`, `preview` for the pre-release kinds;
//! `rev`, `r` and the implicit `1.0-1` for post-releases), separators
//! (`1.0-post1`, `1.0_a.1`), a leading `v` and surrounding whitespace. The
//! parser and the comparison are the `pep440_rs` crate's.
//!
//! Strings that are not PEP 440 versions (legacy versions such as
//! `2004d` or `1.0-SNAPSHOT`, and numbers past `u64::MAX`) sort before every
//! valid version, as `packaging`'s former `LegacyVersion` did, and among
//! themselves by bytes.

use std::cmp::Ordering;
use std::str::FromStr;

pub use pep440_rs::Version;

/// Parses `v` as a PEP 440 version, normalising it.
pub fn parse(v: &str) -> Option<Version> {
    Version::from_str(v).ok()
}

/// Whether `v` is a PEP 440 version.
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// Compares two versions by PEP 440; invalid strings first, by bytes.
pub fn compare(a: &str, b: &str) -> Ordering {
    super::parsed_first(a, b, parse, Version::cmp)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_all_equal, assert_sorted, check_total_order};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pep_440_summary_example() {
        // "Summary of permitted suffixes and relative ordering".
        assert_sorted(
            compare,
            &[
                "1.dev0",
                "1.0.dev456",
                "1.0a1",
                "1.0a2.dev456",
                "1.0a12.dev456",
                "1.0a12",
                "1.0b1.dev456",
                "1.0b2",
                "1.0b2.post345.dev456",
                "1.0b2.post345",
                "1.0rc1.dev456",
                "1.0rc1",
                "1.0",
                "1.0+abc.5",
                "1.0+abc.7",
                "1.0+5",
                "1.0.post456.dev34",
                "1.0.post456",
                "1.0.15",
                "1.1.dev1",
            ],
        );
    }

    #[test]
    fn epochs() {
        assert_sorted(compare, &["2013.10", "2014.04", "1!1.0", "1!1.1", "2!0.1"]);
        assert_all_equal(compare, &["1.0", "0!1.0"]);
    }

    #[test]
    fn normalisation() {
        assert_all_equal(
            compare,
            &[
                "1.0rc1",
                "1.0RC1",
                "1.0c1",
                "1.0-rc1",
                "1.0.rc.1",
                "1.0_rc_1",
                "1.0pre1",
                "1.0preview1",
            ],
        );
        assert_all_equal(
            compare,
            &["1.0a1", "1.0alpha1", "1.0-a1", "1.0.alpha.1", "1.0ALPHA1"],
        );
        assert_all_equal(compare, &["1.0b0", "1.0beta", "1.0b"]);
        assert_all_equal(
            compare,
            &[
                "1.0.post1",
                "1.0-post1",
                "1.0post1",
                "1.0-1",
                "1.0.rev1",
                "1.0r1",
                "1.0-r-1",
            ],
        );
        assert_all_equal(compare, &["1.0.dev0", "1.0-dev", "1.0dev"]);
        assert_all_equal(compare, &["1.0", "1.0.0", "1", "v1.0", " 1.0 \n", "1.00"]);
        assert_all_equal(compare, &["1.0+ubuntu-1", "1.0+ubuntu.1", "1.0+ubuntu_1"]);
    }

    #[test]
    fn local_versions_sort_above_their_public_version() {
        assert_sorted(
            compare,
            &["1.0", "1.0+abc", "1.0+abc.1", "1.0+1", "1.0.post1", "1.1"],
        );
    }

    #[test]
    fn invalid_versions_sort_first_by_bytes() {
        for bad in [
            "",
            "2004d",
            "1.0-SNAPSHOT",
            "dev",
            "1.0+",
            "1..0",
            "99999999999999999999999",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        assert_sorted(compare, &["1.0-SNAPSHOT", "2004d", "0.dev0", "0"]);
    }

    fn versionish() -> impl Strategy<Value = String> {
        prop_oneof![
            "v?([0-9]!)?[0-9]{1,2}(\\.[0-9]{1,2}){0,2}([-._]?(a|b|rc|c|alpha|pre)[0-9]?)?([-._]?(post|r)[0-9]?)?([-._]?dev[0-9]?)?(\\+[a-z0-9]{1,3}([._-][a-z0-9]{1,2})?)?",
            "[0-9a-z.!+_-]{0,10}",
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
