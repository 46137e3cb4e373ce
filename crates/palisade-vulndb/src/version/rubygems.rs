//! RubyGems version ordering, as `Gem::Version#<=>` (RubyGems'
//! [`lib/rubygems/version.rb`](https://github.com/rubygems/rubygems/blob/master/lib/rubygems/version.rb),
//! documented at <https://guides.rubygems.org/patterns/#semantic-versioning>)
//! defines it:
//!
//! * A version is `\A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z`;
//!   blank means `0`. Surrounding whitespace is stripped and every `-`
//!   becomes `.pre.` (`1.0.0-rc1` is `1.0.0.pre.rc1`).
//! * Canonicalisation drops a trailing run of `.` and `0` after a letter or
//!   dot (`1.0.0` → `1`), and, in a pre-release (any letter), the first run
//!   of zero segments right before a letter (`1.0.a` → `1.a`,
//!   `0.0.beta.1` → `beta.1`).
//! * The canonical string splits into runs of digits and runs of ASCII
//!   letters (everything else only separates); the runs compare left to
//!   right: numbers numerically, letter runs byte-wise, a letter run below
//!   any number, which is what makes `1.0.a` a pre-release of `1.0`; a
//!   missing segment is `0`.
//!
//! Strings RubyGems rejects (`Gem::Version.new` raises) sort before every
//! valid version and among themselves by bytes.

use std::cmp::Ordering;

use super::cmp_digits;

/// One segment of a canonical version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A run of ASCII digits, leading zeros removed (`0` is empty).
    Number(String),
    /// A run of ASCII letters, case kept.
    Letters(String),
}

fn cmp_segment(a: &Segment, b: &Segment) -> Ordering {
    match (a, b) {
        (Segment::Number(x), Segment::Number(y)) => cmp_digits(x, y),
        (Segment::Letters(x), Segment::Letters(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Segment::Letters(_), Segment::Number(_)) => Ordering::Less,
        (Segment::Number(_), Segment::Letters(_)) => Ordering::Greater,
    }
}

/// Ruby's `\s`.
fn is_ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `Gem::Version.correct?` on the stripped string.
fn matches_pattern(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let mut rest = &s[digits..];
    while let Some(after) = rest.strip_prefix('.') {
        let n = after.bytes().take_while(u8::is_ascii_alphanumeric).count();
        if n == 0 {
            break;
        }
        rest = &after[n..];
    }
    if rest.is_empty() {
        return true;
    }
    rest.strip_prefix('-').is_some_and(|pre| {
        pre.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    })
}

/// The canonical segments of `v`, or `None` when RubyGems rejects it.
pub fn segments(v: &str) -> Option<Vec<Segment>> {
    let s = v.trim_matches(is_ruby_space);
    if !matches_pattern(s) {
        return None;
    }
    let mut s = if s.is_empty() {
        "0".to_string()
    } else {
        s.replace('-', ".pre.")
    };
    let b = s.as_bytes();

    // sub(/(?<=[a-zA-Z.])[.0]+\z/, "")
    let run = b
        .iter()
        .rev()
        .take_while(|&&c| c == b'.' || c == b'0')
        .count();
    let start = b.len() - run;
    let cut = if run == 0 {
        None
    } else if start > 0 && b[start - 1].is_ascii_alphabetic() {
        Some(start)
    } else {
        (start..b.len())
            .find(|&d| b[d] == b'.' && d + 1 < b.len())
            .map(|d| d + 1)
    };
    if let Some(cut) = cut {
        s.truncate(cut);
    }

    // sub!(/(?<=\.|\A)[0.]+(?=[a-zA-Z])/, "") if prerelease?
    if s.bytes().any(|c| c.is_ascii_alphabetic()) {
        let b = s.as_bytes();
        let found = (0..b.len()).find_map(|p| {
            if p > 0 && b[p - 1] != b'.' {
                return None;
            }
            let n = b[p..]
                .iter()
                .take_while(|&&c| c == b'0' || c == b'.')
                .count();
            (n > 0 && b.get(p + n).is_some_and(u8::is_ascii_alphabetic)).then_some(p..p + n)
        });
        if let Some(range) = found {
            s.replace_range(range, "");
        }
    }

    // scan(/\d+|[a-z]+/i)
    let mut out = Vec::new();
    let mut rest = s.as_str();
    while let Some(c) = rest.chars().next() {
        let take = |pred: fn(&u8) -> bool| rest.bytes().take_while(pred).count();
        if c.is_ascii_digit() {
            let n = take(u8::is_ascii_digit);
            out.push(Segment::Number(
                rest[..n].trim_start_matches('0').to_string(),
            ));
            rest = &rest[n..];
        } else if c.is_ascii_alphabetic() {
            let n = take(u8::is_ascii_alphabetic);
            out.push(Segment::Letters(rest[..n].to_string()));
            rest = &rest[n..];
        } else {
            rest = &rest[c.len_utf8()..];
        }
    }
    Some(out)
}

/// Whether RubyGems accepts `v` (`Gem::Version.correct?`).
pub fn is_valid(v: &str) -> bool {
    matches_pattern(v.trim_matches(is_ruby_space))
}

fn cmp_segments(a: &[Segment], b: &[Segment]) -> Ordering {
    let zero = Segment::Number(String::new());
    (0..a.len().max(b.len()))
        .map(|i| cmp_segment(a.get(i).unwrap_or(&zero), b.get(i).unwrap_or(&zero)))
        .find(|r| r.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Compares two gem versions; invalid strings first, by bytes.
pub fn compare(a: &str, b: &str) -> Ordering {
    super::parsed_first(a, b, segments, |x, y| cmp_segments(x, y))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_all_equal, assert_sorted, check_total_order};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spaceship_cases() {
        // RubyGems' test_gem_version.rb, test_spaceship.
        assert_all_equal(compare, &["1.0", "1.0.0", "1", "1.00", "1.0.0.0"]);
        assert_sorted(compare, &["1.0.a", "1.0"]);
        assert_sorted(compare, &["0.0.0", "1.8.2"]);
        assert_sorted(compare, &["1.8.2.a", "1.8.2.b", "1.8.2"]);
        assert_sorted(compare, &["1.8.2.a9", "1.8.2.a10"]);
        assert_all_equal(compare, &["", "0", " ", "0.0"]);
        assert_all_equal(compare, &["0.beta.1", "0.0.beta.1"]);
        assert_sorted(compare, &["0.0.beta", "0.0.beta.1"]);
        assert_sorted(compare, &["0.0.beta", "0.beta.1"]);
        assert_sorted(compare, &["5.a", "5.0.0.rc2", "5.x"]);
        assert_sorted(compare, &["1.9.2.99", "1.9.3", "1.9.3.1"]);
    }

    #[test]
    fn prereleases() {
        assert_sorted(
            compare,
            &[
                "1.0.0.a",
                "1.0.0.alpha.1",
                "1.0.0.alpha.2",
                "1.0.0.beta",
                "1.0.0.beta2",
                "1.0.0-pre",
                "1.0.0.rc1",
                "1.0.0.rc10",
                "1.0.0",
                "1.0.1.rc1",
                "1.0.1",
                "1.1",
            ],
        );
        // `-` is `.pre.`.
        assert_all_equal(compare, &["1.0.0-rc1", "1.0.0.pre.rc1", "1.pre.rc.1"]);
        assert_sorted(compare, &["1.0.0-rc1", "1.0.0.rc1"]);
        // Letters compare byte-wise.
        assert_sorted(compare, &["1.0.RC1", "1.0.rc1"]);
        assert_all_equal(compare, &["1.0.a", "1.a", "1.0.0.a", "1.a.0"]);
        assert_all_equal(compare, &["1.a10", "1.0a10"]);
    }

    #[test]
    fn large_numbers() {
        assert_sorted(
            compare,
            &["1.99999999999999999999", "1.100000000000000000000", "2"],
        );
    }

    #[test]
    fn validity() {
        for ok in [
            "",
            "  ",
            "1",
            "1.0",
            "1.0.a",
            "1.0a1",
            "1-rc1",
            "1.0-rc.1",
            "1.0-a-b",
            " 1.2 ",
            "3.2.0.beta2",
        ] {
            assert!(is_valid(ok), "{ok:?}");
        }
        for bad in [
            "a", "1..0", "1.", ".1", "1.0-", "1.0-.a", "1.0+b", "1 0", "v1.0", "1.0_1", "1.\u{e9}",
        ] {
            assert!(!is_valid(bad), "{bad:?}");
        }
        assert_sorted(compare, &["1.", "a", "v1", "0"]);
    }

    fn versionish() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,2}(\\.([0-9]{1,2}|a|b|rc[0-9]?|pre|0|00|A)){0,5}(-[0-9a-z]{1,3}(\\.[0-9a-z]{1,2}){0,2})?",
            "[0-9a-zA-Z. -]{0,10}",
        ]
    }

    proptest! {
        #[test]
        fn total_order(v in proptest::collection::vec(versionish(), 1..7)) {
            check_total_order(compare, &v)?;
        }

        #[test]
        fn never_panics(a in any::<String>(), b in any::<String>()) {
            let _ = (compare(&a, &b), is_valid(&a), segments(&a));
        }
    }
}
