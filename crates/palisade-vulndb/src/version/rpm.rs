//! rpm version ordering: `rpmvercmp` (rpm's `rpmio/rpmvercmp.c`) applied to
//! epoch, version and release in turn (`rpmverCmp`). Versions are split into
//! runs of ASCII digits and ASCII letters; everything else separates; digit
//! runs compare numerically and beat letter runs; `~` sorts before anything
//! (pre-release), `^` after the base version but before any further segment
//! (post-release snapshot).
//!
//! Written by hand: the crates that compare rpm versions are unmaintained or
//! predate `^`; this is a line-for-line port of the C loop.

use std::cmp::Ordering;

/// An `[epoch:]version[-release]` split the way rpm's `parseEVR` splits it:
/// the epoch is a leading run of digits before `:`, the release follows the
/// last `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evr<'a> {
    /// The epoch, `None` when absent (compares as `0`).
    pub epoch: Option<&'a str>,
    /// The version.
    pub version: &'a str,
    /// The release, `None` when absent.
    pub release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    /// Splits `evr`.
    pub fn parse(evr: &'a str) -> Self {
        let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match evr[digits..].strip_prefix(':') {
            Some(rest) => (Some(if digits == 0 { "0" } else { &evr[..digits] }), rest),
            None => (None, evr),
        };
        match rest.rfind('-') {
            Some(i) => Evr {
                epoch,
                version: &rest[..i],
                release: Some(&rest[i + 1..]),
            },
            None => Evr {
                epoch,
                version: rest,
                release: None,
            },
        }
    }
}

/// Every string is something rpm will compare; this exists for symmetry with
/// the other schemes and rejects only the empty version.
pub fn is_valid(v: &str) -> bool {
    !Evr::parse(v).version.is_empty()
}

/// Compares two `[epoch:]version[-release]` strings. A missing epoch is 0.
/// A missing release compares as an empty one (below any release): rpm
/// itself treats it as a wildcard when matching a dependency (`>= 1.0`
/// accepts every release of 1.0), which is a matching rule, not an order,
/// and would make this comparison intransitive.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (Evr::parse(a), Evr::parse(b));
    rpmvercmp(a.epoch.unwrap_or("0"), b.epoch.unwrap_or("0"))
        .then_with(|| rpmvercmp(a.version, b.version))
        .then_with(|| rpmvercmp(a.release.unwrap_or(""), b.release.unwrap_or("")))
}

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpm's `rpmvercmp` on one field (epoch, version or release).
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut one, mut two) = (a.as_bytes(), b.as_bytes());
    while !one.is_empty() || !two.is_empty() {
        while one.first().is_some_and(|&c| is_separator(c)) {
            one = &one[1..];
        }
        while two.first().is_some_and(|&c| is_separator(c)) {
            two = &two[1..];
        }
        let (c1, c2) = (one.first().copied(), two.first().copied());

        // Tilde sorts before everything else, even the end of the string.
        if c1 == Some(b'~') || c2 == Some(b'~') {
            if c1 != Some(b'~') {
                return Ordering::Greater;
            }
            if c2 != Some(b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        // Caret is like tilde, except that the end of the string (the base
        // version) sorts before it.
        if c1 == Some(b'^') || c2 == Some(b'^') {
            if one.is_empty() {
                return Ordering::Less;
            }
            if two.is_empty() {
                return Ordering::Greater;
            }
            if c1 != Some(b'^') {
                return Ordering::Greater;
            }
            if c2 != Some(b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if one.is_empty() || two.is_empty() {
            break;
        }

        let numeric = one[0].is_ascii_digit();
        let in_segment = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let n1 = one.iter().take_while(|c| in_segment(c)).count();
        let n2 = two.iter().take_while(|c| in_segment(c)).count();
        // Segments of different kinds: numeric is newer than alpha.
        if n2 == 0 {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut s1, mut s2) = (&one[..n1], &two[..n2]);
        if numeric {
            while s1.first() == Some(&b'0') {
                s1 = &s1[1..];
            }
            while s2.first() == Some(&b'0') {
                s2 = &s2[1..];
            }
            match s1.len().cmp(&s2.len()) {
                Ordering::Equal => {}
                longer => return longer,
            }
        }
        match s1.cmp(s2) {
            Ordering::Equal => {}
            other => return other,
        }
        one = &one[n1..];
        two = &two[n2..];
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, _) => Ordering::Greater,
    }
}
