//! dpkg version ordering ([Debian Policy §5.6.12](https://www.debian.org/doc/debian-policy/ch-controlfields.html#version)):
//! `[epoch:]upstream[-revision]`, the revision after the last `-`; `~` sorts
//! before everything, even the end of the string; letters sort before other
//! non-digits; digit runs compare as numbers. The comparison itself is the
//! `debversion` crate's, which follows dpkg's `verrevcmp`.

use std::cmp::Ordering;

use debversion::Version;

/// Parses a version the way dpkg reads it (`parseversion`). What dpkg
/// rejects is `None`: an empty or non-numeric epoch, an empty upstream
/// version or revision, spaces; so are non-ASCII characters. Underscores,
/// which Policy forbids and dpkg only warns about, are accepted (dpkg orders
/// them like any other non-letter).
pub fn parse(v: &str) -> Option<Version> {
    let rest = match v.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|c| c.is_ascii_digit()) => {
            rest
        }
        Some(_) => return None,
        None => v,
    };
    if let Some((upstream, revision)) = rest.rsplit_once('-') {
        if upstream.is_empty() || revision.is_empty() {
            return None;
        }
    }
    Version::parse_lenient(v).ok()
}

/// Whether `v` is a version dpkg would order.
pub fn is_valid(v: &str) -> bool {
    parse(v).is_some()
}

/// Compares two dpkg versions. Malformed versions (see [`parse`]) sort
/// before every well-formed one and among themselves by bytes, which keeps
/// the order total; callers that must not guess check [`is_valid`] first.
pub fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (None, None) => a.as_bytes().cmp(b.as_bytes()),
    }
}
