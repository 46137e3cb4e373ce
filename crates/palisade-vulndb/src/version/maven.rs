//! Maven version ordering, as the POM reference's
//! [version order specification](https://maven.apache.org/pom.html#version-order-specification)
//! describes Maven's `ComparableVersion`:
//!
//! * The version is split into tokens at `.`, `-` and `_` and at every
//!   transition between an ASCII digit and any other character; a transition
//!   counts as `-`, and so does `_`. Empty tokens become `0`. Qualifiers
//!   (non-numeric tokens) are lower-cased; `cr` is `rc`; `ga`, `final` and
//!   `release` are the empty qualifier; `a`, `b` and `m` directly followed
//!   by a digit are `alpha`, `beta` and `milestone` (`1-a1 == 1-alpha-1`).
//! * "Null" tokens (`0` and the empty qualifier) are trimmed from the end,
//!   and from before every token that starts with `-` or is a qualifier,
//!   working from the end: `1.0.0 == 1`, `1.0-foo.0 == 1-foo`,
//!   `1.ga == 1-ga == 1-0 == 1`, `1-ga-1 == 1-1`.
//! * Tokens then compare position by position, the shorter version padded
//!   with nulls. Qualifiers sort before numbers, whatever their separator
//!   (`.qualifier` = `-qualifier` < `-number` < `.number`); numbers
//!   numerically; qualifiers as `alpha` < `beta` < `milestone` < `rc` <
//!   `snapshot` < `""` (null) < `sp` < any other qualifier, the others in
//!   `String.compareTo` (UTF-16) order.
//!
//! Written by hand: no maintained crate implements Maven's ordering. Where
//! the specification and Maven 3.9's `ComparableVersion` disagree, this
//! follows the specification, as osv.dev's reference implementation does:
//! `1-sp-1 < 1-ga-1` (Maven 3.9 orders them the other way round), and
//! `1.0.final-redhat == 1-redhat` (Maven 3.9 keeps the `final`).
//! `ComparableVersion` has had transitivity bugs (MNG-5568, MNG-6964);
//! this order is transitive by construction: every version maps to a token
//! sequence, and sequences compare lexicographically under one fixed total
//! order of tokens, in which the padding null is the empty qualifier.
//!
//! Maven accepts every string as a version; so does this, except the empty
//! one, for which [`is_valid`] is false (it still orders, equal to `0`).

use std::cmp::Ordering;

use super::cmp_digits;

/// A token's separator from the token before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// The first token, or one after `.`.
    Dot,
    /// After `-`, `_` or a digit/non-digit transition.
    Hyphen,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// ASCII digits without leading zeros (`0` is empty).
    Number(String),
    /// A lower-cased, alias-resolved qualifier; `""` is the null qualifier.
    Qualifier(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    sep: Sep,
    value: Value,
}

impl Token {
    fn is_null(&self) -> bool {
        match &self.value {
            Value::Number(n) | Value::Qualifier(n) => n.is_empty(),
        }
    }

    /// Whether a null before this token is trimmed.
    fn trims_null_before(&self) -> bool {
        self.sep == Sep::Hyphen || matches!(self.value, Value::Qualifier(_))
    }
}

/// Known qualifiers, lowest first; the null qualifier is `""`.
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn qualifier_rank(q: &str) -> usize {
    QUALIFIERS
        .iter()
        .position(|&k| k == q)
        .unwrap_or(QUALIFIERS.len())
}

fn cmp_qualifier(a: &str, b: &str) -> Ordering {
    let (ra, rb) = (qualifier_rank(a), qualifier_rank(b));
    ra.cmp(&rb).then_with(|| {
        if ra == QUALIFIERS.len() {
            // java.lang.String#compareTo: UTF-16 code units.
            a.encode_utf16().cmp(b.encode_utf16())
        } else {
            Ordering::Equal
        }
    })
}

/// The token order: qualifiers (any separator) < `-number` < `.number`.
/// `None` is the padding null, which is the null qualifier.
fn cmp_token(a: Option<&Token>, b: Option<&Token>) -> Ordering {
    let null = Value::Qualifier(String::new());
    let class = |t: Option<&Token>| match t {
        Some(Token {
            value: Value::Number(_),
            sep: Sep::Hyphen,
        }) => 1,
        Some(Token {
            value: Value::Number(_),
            sep: Sep::Dot,
        }) => 2,
        _ => 0,
    };
    let (va, vb) = (a.map_or(&null, |t| &t.value), b.map_or(&null, |t| &t.value));
    class(a).cmp(&class(b)).then_with(|| match (va, vb) {
        (Value::Number(x), Value::Number(y)) => cmp_digits(x, y),
        (Value::Qualifier(x), Value::Qualifier(y)) => cmp_qualifier(x, y),
        // Different kinds always differ in class.
        _ => Ordering::Equal,
    })
}

fn is_separator(c: char) -> bool {
    matches!(c, '.' | '-' | '_')
}

/// Splits and trims `v` (see the module docs).
fn tokens(v: &str) -> Vec<Token> {
    let mut pieces = Vec::new();
    let (mut sep, mut start) = (Sep::Dot, 0);
    for (j, c) in v.char_indices() {
        if is_separator(c) {
            pieces.push((sep, &v[start..j]));
            sep = if c == '.' { Sep::Dot } else { Sep::Hyphen };
            start = j + c.len_utf8();
        }
    }
    pieces.push((sep, &v[start..]));

    let mut out = Vec::new();
    for (mut sep, piece) in pieces {
        if piece.is_empty() {
            out.push(Token {
                sep,
                value: Value::Number(String::new()),
            });
            continue;
        }
        let mut rest = piece;
        while let Some(first) = rest.chars().next() {
            let digit = first.is_ascii_digit();
            let n = rest
                .char_indices()
                .find(|&(_, c)| c.is_ascii_digit() != digit)
                .map_or(rest.len(), |(j, _)| j);
            let (run, tail) = rest.split_at(n);
            let value = if digit {
                Value::Number(run.trim_start_matches('0').to_string())
            } else {
                let q = run.to_lowercase();
                // A tail exists only at a transition, so it starts with a digit.
                let q = match (q.as_str(), !tail.is_empty()) {
                    ("a", true) => "alpha".to_string(),
                    ("b", true) => "beta".to_string(),
                    ("m", true) => "milestone".to_string(),
                    ("cr", _) => "rc".to_string(),
                    ("ga" | "final" | "release", _) => String::new(),
                    _ => q,
                };
                Value::Qualifier(q)
            };
            out.push(Token { sep, value });
            sep = Sep::Hyphen;
            rest = tail;
        }
    }
    // Trim nulls at the end and before hyphens and qualifiers, from the end.
    let mut i = out.len();
    while i > 0 {
        i -= 1;
        let trims = out.get(i + 1).is_none_or(Token::trims_null_before);
        if trims && out.get(i).is_some_and(Token::is_null) {
            out.remove(i);
        }
    }
    out
}

/// Maven accepts every version string; the empty one is the exception here.
pub fn is_valid(v: &str) -> bool {
    !v.is_empty()
}

/// The version's tokens after splitting, alias resolution and trimming,
/// joined by their separators (`1-1.foo-bar1baz-.1` →
/// `1-1.foo-bar-1-baz-0.1`, `1.0.0` → `1`, `1a1` → `1-alpha-1`,
/// `1-ga.1` → `1-.1`). Versions with the same canonical form compare
/// equal (the converse does not hold: `1.foo == 1-foo`).
pub fn canonical(v: &str) -> String {
    let mut s = String::new();
    for (i, t) in tokens(v).iter().enumerate() {
        if i > 0 {
            s.push(if t.sep == Sep::Dot { '.' } else { '-' });
        }
        match &t.value {
            Value::Number(n) if n.is_empty() => s.push('0'),
            Value::Number(n) | Value::Qualifier(n) => s.push_str(n),
        }
    }
    s
}

/// Compares two Maven versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ta, tb) = (tokens(a), tokens(b));
    for i in 0..ta.len().max(tb.len()) {
        let r = cmp_token(ta.get(i), tb.get(i));
        if r != Ordering::Equal {
            return r;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_all_equal, assert_sorted, check_total_order};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splitting_and_trimming_examples() {
        // The specification's "Splitting and Replacing" and "Trimming"
        // examples.
        assert_eq!(canonical("1-1.foo-bar1baz-.1"), "1-1.foo-bar-1-baz-0.1");
        for (v, want) in [
            ("1.0.0", "1"),
            ("1.ga", "1"),
            ("1.final", "1"),
            ("1.0", "1"),
            ("1.", "1"),
            ("1-", "1"),
            ("1_", "1"),
            ("1.0.0-foo.0.0", "1-foo"),
            ("1.0.0-0.0.0", "1"),
            ("1cr", "1-rc"),
            ("1a", "1-a"),
            ("1a1", "1-alpha-1"),
            ("1b1", "1-beta-1"),
            ("1c1", "1-c-1"),
            ("1m1", "1-milestone-1"),
            ("1-ga-1", "1-1"),
            ("1-ga.1", "1-.1"),
            ("0.x", "x"),
            ("0.0.0", ""),
        ] {
            assert_eq!(canonical(v), want, "{v:?}");
        }
    }

    #[test]
    fn specification_end_result_examples() {
        assert_sorted(compare, &["1", "1.1"]);
        assert_sorted(compare, &["1-snapshot", "1", "1-sp"]);
        assert_sorted(compare, &["1-foo2", "1-foo10"]);
        assert_all_equal(compare, &["1.foo", "1-foo"]);
        assert_sorted(compare, &["1-foo", "1-1", "1.1"]);
        assert_all_equal(compare, &["1.ga", "1-ga", "1-0", "1_0", "1.0", "1"]);
        assert_sorted(compare, &["1-ga", "1-sp"]);
        assert_sorted(compare, &["1-ga.1", "1-sp.1"]);
        assert_sorted(compare, &["1-sp-1", "1-ga-1"]);
        assert_all_equal(compare, &["1-a1", "1-alpha-1"]);
        assert_all_equal(compare, &["1.0-alpha1", "1.0-ALPHA1"]);
        assert_sorted(compare, &["1.K", "1.7"]);
        assert_sorted(compare, &["5.aardvark", "5.zebra"]);
        assert_sorted(compare, &["1.b", "1.\u{3b1}"]);
        assert_sorted(
            compare,
            &[
                "1-alpha",
                "1-a1",
                "1-beta",
                "1-b1",
                "1-milestone",
                "1-m1",
                "1-rc",
                "1-snapshot",
                "1",
                "1-sp",
            ],
        );
        assert_all_equal(compare, &["1-rc", "1-cr"]);
        assert_all_equal(compare, &["1", "1-ga", "1-final", "1-release"]);
    }

    #[test]
    fn comparable_version_test_qualifiers() {
        // ComparableVersionTest.VERSIONS_QUALIFIER.
        assert_sorted(
            compare,
            &[
                "1-alpha2snapshot",
                "1-alpha2",
                "1-alpha-123",
                "1-beta-2",
                "1-beta123",
                "1-m2",
                "1-m11",
                "1-rc",
                "1-cr2",
                "1-rc123",
                "1-SNAPSHOT",
                "1",
                "1-sp",
                "1-sp2",
                "1-sp123",
                "1-abc",
                "1-def",
                "1-pom-1",
                "1-1-snapshot",
                "1-1",
                "1-2",
                "1-123",
            ],
        );
    }

    #[test]
    fn comparable_version_test_numbers() {
        // ComparableVersionTest.VERSIONS_NUMBER (Maven 3.9).
        assert_sorted(
            compare,
            &[
                "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
                "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
                "11.m11", "11", "11.a", "11b", "11c", "11m",
            ],
        );
    }

    #[test]
    fn comparable_version_test_equal() {
        // ComparableVersionTest.testVersionsEqual and
        // testVersionsHaveSameOrderButAreNotEqual.
        for (a, b) in [
            ("1", "1"),
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.0-0"),
            ("1.0", "1.0-0"),
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1a", "1.0.0-a"),
            ("1.0a", "1-a"),
            ("1.0.0a", "1-a"),
            ("1x", "1-x"),
            ("1x", "1.0-x"),
            ("1x", "1.0.0-x"),
            ("1.0x", "1-x"),
            ("1.0.0x", "1-x"),
            ("1cr", "1rc"),
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            ("1X", "1x"),
            ("1A", "1a"),
            ("1B", "1b"),
            ("1M", "1m"),
            ("1Cr", "1Rc"),
            ("1cR", "1rC"),
            ("1m3", "1Milestone3"),
            ("1m3", "1MileStone3"),
            ("1m3", "1MILESTONE3"),
            ("1ga", "1"),
            ("1release", "1"),
            ("1final", "1"),
            ("1Ga", "1"),
            ("1GA", "1"),
            ("1RELEASE", "1"),
            ("1RELeaSE", "1"),
            ("1Final", "1"),
            ("1FinaL", "1"),
            ("1FINAL", "1"),
            ("1.a", "1.A"),
            ("1.\u{e9}", "1.\u{c9}"),
            (
                "1-abcdefghijklmnopqrstuvwxyz",
                "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            ),
            ("1.0.0-alpha1", "1.0.0-ALPHA1"),
        ] {
            assert_all_equal(compare, &[a, b]);
        }
        assert_all_equal(compare, &["1", "01", "001", "0000000000000000001"]);
        assert_all_equal(
            compare,
            &[
                "0",
                "00",
                "0000000000000000000",
                "0.0.0",
                "0-final-ga",
                "0.0.0-0.0.0",
            ],
        );
        assert_all_equal(compare, &["1.1", "1.01", "1.001"]);
        assert_all_equal(compare, &["1-1", "1-01", "1-001"]);
    }

    #[test]
    fn comparable_version_test_comparing() {
        // ComparableVersionTest.testVersionComparing and friends.
        for (a, b) in [
            ("1", "2"),
            ("1.5", "2"),
            ("1", "2.5"),
            ("1.0", "1.1"),
            ("1.1", "1.2"),
            ("1.0.0", "1.1"),
            ("1.0.1", "1.1"),
            ("1.1", "1.2.0"),
            ("1.0-alpha-1", "1.0"),
            ("1.0-alpha-1", "1.0-alpha-2"),
            ("1.0-alpha-1", "1.0-beta-1"),
            ("1.0-beta-1", "1.0-SNAPSHOT"),
            ("1.0-SNAPSHOT", "1.0"),
            ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
            ("1.0", "1.0-1"),
            ("1.0-1", "1.0-2"),
            ("1.0.0", "1.0-1"),
            ("2.0-1", "2.0.1"),
            ("2.0.1-klm", "2.0.1-lmn"),
            ("2.0.1", "2.0.1-xyz"),
            ("2.0.1", "2.0.1-123"),
            ("2.0.1-xyz", "2.0.1-123"),
            // testLeadingZeroes
            ("0.7", "2"),
            ("0.2", "1.0.7"),
            // non-ASCII letters and digits are qualifiers, below numbers
            ("\u{e9}", "1"),
            ("\u{1d7e4}", "1"),
            ("\u{668}", "1"),
            ("\u{668}", "9"),
            ("J", "7"),
            ("c", "7"),
            ("aardvark", "zebra"),
            ("zebra", "\u{3b6}\u{3ad}\u{3b2}\u{3c1}\u{3b1}"),
            // MNG-5568
            ("6.1.0rc3", "6.1.0"),
            ("6.1.0rc3", "6.1H.5-beta"),
            ("6.1.0", "6.1H.5-beta"),
            // MNG-6964
            ("1-0.alpha", "1"),
            ("1-0.beta", "1"),
            ("1-0.alpha", "1-0.beta"),
        ] {
            assert_sorted(compare, &[a, b]);
        }
        // MNG-6572
        assert_sorted(
            compare,
            &[
                "20190126.230843",
                "1234567890.12345",
                "123456789012345.1H.5-beta",
                "12345678901234567890.1H.5-beta",
            ],
        );
    }

    #[test]
    fn mng_7644_dot_qualifier_is_hyphen_qualifier() {
        for x in [
            "abc",
            "alpha",
            "a",
            "beta",
            "b",
            "def",
            "milestone",
            "m",
            "RC",
        ] {
            assert_sorted(compare, &[&format!("1.0.0.{x}1"), &format!("1.0.0-{x}2")]);
            assert_all_equal(
                compare,
                &[
                    &format!("2-{x}"),
                    &format!("2.0.{x}"),
                    &format!("2.0.0.{x}"),
                ],
            );
        }
    }

    #[test]
    fn real_world_versions() {
        assert_sorted(
            compare,
            &[
                "2.2.0-M1",
                "2.2.0-RC1",
                "2.2.0.Final",
                "2.2.0.Final-redhat-00001",
                "2.2.0.Final-redhat-00002",
                "2.2.1.Final",
                "2.9.10",
                "2.9.10.1",
                "2.9.10.8",
                "2.10.0-SNAPSHOT",
                "2.10.0",
                // Unknown qualifiers sort after the release, as in Maven.
                "2.10.0.pr1",
                "2.10.1",
            ],
        );
        assert_sorted(
            compare,
            &["31.1-android", "31.1-jre", "32.0.0-android", "32.0.0-jre"],
        );
        assert_sorted(compare, &["0.0.0-2021-05-17T01-01-51-5ec03a8b", "20.0.0"]);
        assert_sorted(compare, &["", "1"]);
        assert!(is_valid("1.0-SNAPSHOT"));
        assert!(!is_valid(""));
    }

    fn versionish() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,2}([._-]?([0-9]{1,2}|a|b|m|rc|cr|ga|final|sp|snapshot|foo|Beta)){0,5}",
            "[0-9a-zA-Z._\u{e9}-]{0,10}",
        ]
    }

    proptest! {
        #[test]
        fn total_order(v in proptest::collection::vec(versionish(), 1..7)) {
            check_total_order(compare, &v)?;
        }

        #[test]
        fn never_panics(a in any::<String>(), b in any::<String>()) {
            let _ = (compare(&a, &b), is_valid(&a), canonical(&a));
        }
    }
}
