//! Go module version ordering ([Go Modules Reference, "Versions"](https://go.dev/ref/mod#versions)):
//! semantic versions as `golang.org/x/mod/semver` compares them. The leading
//! `v` that Go requires is optional here, since OSV's Go advisories write
//! `1.2.3` where go.mod and binaries say `v1.2.3`; both compare equal. The
//! shorthands `v1` and `v1.2` stand for `v1.0.0` and `v1.2.0`, as in
//! `x/mod/semver`. `+incompatible` is build metadata and so ignored.
//!
//! Pseudo-versions ([go.dev/ref/mod#pseudo-versions](https://go.dev/ref/mod#pseudo-versions))
//! need no special case: `v0.0.0-20191109021931-daa7c04131f5`,
//! `v1.2.4-0.20191109021931-daa7c04131f5` and
//! `v1.2.4-pre.0.20191109021931-daa7c04131f5` are pre-releases whose
//! fixed-width UTC timestamps order them by commit time, below the release
//! (or the next pre-release) they precede and above the one they are based
//! on.
//!
//! Strings that are not semantic versions (`(devel)`, `latest`, branch
//! names) sort before every valid version and among themselves by bytes.
//! (`x/mod/semver` makes them all equal; bytes keep equality for equal
//! strings only.)
//!
//! The Go toolchain's own versions (`go1.21.5`, `go1.21rc2`) are not
//! semantic versions; [`toolchain_to_semver`] maps them to the form the Go
//! vulnerability database uses for its `stdlib` and `toolchain` packages.

use std::cmp::Ordering;

use super::semver::{self, Version};

/// Parses a module version, `v` optional.
pub fn parse(v: &str) -> Option<Version<'_>> {
    semver::parse_strict(v.strip_prefix('v').unwrap_or(v), true)
}

/// Whether `v` is a Go module version (with or without its `v`).
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// Compares two module versions (`semver.Compare`); non-versions first, by
/// bytes.
pub fn compare(a: &str, b: &str) -> Ordering {
    super::parsed_first(a, b, parse, Version::precedence)
}

/// Maps a Go toolchain version, as `runtime.Version()` and `go version`
/// report it, to the semantic version the Go vulnerability database uses
/// for the standard library: `go1.21.5` → `1.21.5`, `go1.21` → `1.21.0`,
/// `go1.21rc2` → `1.21.0-rc.2`, `go1.9beta1` → `1.9.0-beta.1`, `go1` →
/// `1.0.0`. Only the first word counts (`go1.22.1 X:boringcrypto`).
/// Development builds (`devel go1.23-abcdef ...`) and anything else that is
/// not a release tag are `None`.
///
/// This follows `GoTagToSemver` in `golang.org/x/vuln`, without the `v`.
pub fn toolchain_to_semver(go: &str) -> Option<String> {
    let tag = go.split_whitespace().next()?;
    if tag == "go1" {
        return Some("1.0.0".to_string());
    }
    if tag == "go1.0" {
        return None;
    }
    // ^go(\d+\.\d+)(\.\d+|)((beta|rc|-pre)(\d+))?$
    let rest = tag.strip_prefix("go")?;
    let (major, rest) = digits(rest)?;
    let (minor, rest) = digits(rest.strip_prefix('.')?)?;
    let (patch, rest) = match rest.strip_prefix('.') {
        Some(r) => digits(r)?,
        None => ("0", rest),
    };
    let mut out = format!("{major}.{minor}.{patch}");
    if !rest.is_empty() {
        let (kind, number) = ["beta", "rc", "-pre"]
            .iter()
            .find_map(|k| rest.strip_prefix(k).map(|n| (k.trim_start_matches('-'), n)))?;
        let (n, tail) = digits(number)?;
        if !tail.is_empty() {
            return None;
        }
        out.push_str(&format!("-{kind}.{n}"));
    }
    Some(out)
}

/// A non-empty run of ASCII digits at the start of `s`, and the rest.
fn digits(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0).then(|| s.split_at(n))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_all_equal, assert_sorted, check_total_order};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn with_and_without_v() {
        assert_all_equal(
            compare,
            &[
                "1.2.3",
                "v1.2.3",
                "v1.2.3+incompatible",
                "1.2.3+incompatible",
            ],
        );
        assert_all_equal(compare, &["v2.0.0+incompatible", "2.0.0"]);
        assert_all_equal(compare, &["v1", "v1.0", "v1.0.0", "1"]);
        assert_all_equal(compare, &["v1.2", "1.2.0"]);
    }

    #[test]
    fn pseudo_versions_order_as_prereleases() {
        assert_sorted(
            compare,
            &[
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20191110000000-000000000000",
                "v0.1.0",
                "v1.2.3",
                "v1.2.4-0.20191109021931-daa7c04131f5",
                "v1.2.4-0.20200101000000-abcdefabcdef",
                "v1.2.4-pre",
                "v1.2.4-pre.0.20191109021931-daa7c04131f5",
                "v1.2.4-pre.1",
                "v1.2.4",
                "1.2.5",
                "v2.0.0+incompatible",
                "v2.0.1",
            ],
        );
    }

    #[test]
    fn semver_precedence() {
        assert_sorted(
            compare,
            &[
                "v1.0.0-alpha",
                "v1.0.0-alpha.1",
                "v1.0.0-alpha.beta",
                "v1.0.0-beta.2",
                "v1.0.0-beta.11",
                "v1.0.0",
            ],
        );
        assert_sorted(compare, &["v1.9.0", "v1.10.0", "v1.10.1", "v10.0.0"]);
    }

    #[test]
    fn validity() {
        for ok in [
            "v1.2.3",
            "1.2.3",
            "v0.0.0-20191109021931-daa7c04131f5",
            "v1",
            "v1.2",
            "v2.0.0+incompatible",
        ] {
            assert!(is_valid(ok), "{ok:?}");
        }
        for bad in [
            "",
            "(devel)",
            "v",
            "vv1.2.3",
            "v1.2-pre",
            "v01.2.3",
            "v1.2.3-01",
            "latest",
            "go1.21.5",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        assert_sorted(compare, &["", "(devel)", "latest", "v0.0.0-0", "v0.0.0"]);
    }

    #[test]
    fn toolchain_versions() {
        let cases = [
            ("go1.21.5", Some("1.21.5")),
            ("go1.21", Some("1.21.0")),
            ("go1.21.0", Some("1.21.0")),
            ("go1.21rc2", Some("1.21.0-rc.2")),
            ("go1.9beta1", Some("1.9.0-beta.1")),
            ("go1.9.2rc2", Some("1.9.2-rc.2")),
            ("go1.19.8", Some("1.19.8")),
            ("go1", Some("1.0.0")),
            ("go1.22.1 X:boringcrypto", Some("1.22.1")),
            ("go1.0", None),
            (
                "devel go1.23-abcdef0123 Tue Jan 2 15:04:05 2024 +0000",
                None,
            ),
            ("", None),
            ("1.21.5", None),
            ("go1.21.5x", None),
            ("go1.21rc", None),
            ("go1.", None),
        ];
        for (go, want) in cases {
            assert_eq!(toolchain_to_semver(go).as_deref(), want, "{go:?}");
        }
        // The result orders as the vulnerability database expects.
        let rc = toolchain_to_semver("go1.21rc2").unwrap_or_default();
        assert_sorted(compare, &["1.20.12", &rc, "1.21.0", "1.21.5"]);
    }

    fn versionish() -> impl Strategy<Value = String> {
        prop_oneof![
            "v?[0-9]{1,2}(\\.[0-9]{1,2}(\\.[0-9]{1,2}(-[0-9a-z]{1,3}(\\.[0-9a-z-]{1,14}){0,2})?)?)?(\\+incompatible)?",
            "[0-9v.()+a-z-]{0,10}",
        ]
    }

    proptest! {
        #[test]
        fn total_order(v in proptest::collection::vec(versionish(), 1..7)) {
            check_total_order(compare, &v)?;
        }

        #[test]
        fn never_panics(a in any::<String>(), b in any::<String>()) {
            let _ = (compare(&a, &b), is_valid(&a), toolchain_to_semver(&a));
        }
    }
}
