//! Matching one installed version against an advisory's ranges and
//! versions, as the OSV specification evaluates them, in the package
//! manager's own version order; ecosystem keys and comparisons.

use std::cmp::Ordering;
use std::path::PathBuf;

use super::DbError;
use crate::osv::Event;
use crate::version::{Prepared, Scheme};

pub(super) fn lowest(scheme: Scheme, a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if scheme.compare(&b, &a) == Ordering::Less {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    }
}

/// The default database path, reading the environment through `var`.
pub(crate) fn default_path_from(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<PathBuf, DbError> {
    let var = |k: &str| var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if let Some(d) = var("PALISADE_CACHE_DIR") {
        d
    } else if let Some(x) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
        x.join("palisade")
    } else if let Some(home) = var("HOME") {
        home.join(".cache").join("palisade")
    } else {
        return Err(DbError::NoCacheDir);
    };
    Ok(dir.join("vuln.db"))
}

/// The indexed form of an ecosystem (see the module docs): Red Hat streams
/// fold to `Red Hat`, Ubuntu's `:LTS` is dropped.
pub(crate) fn ecosystem_key(eco: &str) -> &str {
    if eco.starts_with("Red Hat") {
        "Red Hat"
    } else if eco.starts_with("Ubuntu:") {
        eco.strip_suffix(":LTS").unwrap_or(eco)
    } else {
        eco
    }
}

/// The indexed form of a package name: PyPI names normalised as PEP 503
/// says (`PyYAML`, `pyyaml` and `py_yaml` name one project:
/// <https://peps.python.org/pep-0503/#normalized-names>); other ecosystems'
/// names as written (Go module paths, npm and crates.io names, Maven
/// `groupId:artifactId`).
pub(crate) fn package_key<'a>(eco: &str, name: &'a str) -> std::borrow::Cow<'a, str> {
    if eco != "PyPI" {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    std::borrow::Cow::Owned(out)
}

/// Whether a query's ecosystem matches an advisory's (same key assumed).
pub(crate) fn ecosystem_matches(query: &str, advisory: &str) -> bool {
    if query.starts_with("Red Hat") {
        advisory.starts_with(query)
    } else {
        ecosystem_key(query) == ecosystem_key(advisory)
    }
}

pub(super) fn event_version(e: &Event) -> &str {
    match e {
        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
    }
}

/// Order of events at the same version: a range that is introduced and
/// fixed at one version is empty.
pub(super) fn event_rank(e: &Event) -> u8 {
    match e {
        Event::Introduced(_) => 0,
        Event::LastAffected(_) => 1,
        Event::Fixed(_) => 2,
        Event::Limit(_) => 3,
    }
}

/// OSV's event order: by version, `introduced: "0"` first.
pub(super) fn event_cmp(scheme: Scheme, a: &Event, b: &Event) -> Ordering {
    let zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
    match (zero(a), zero(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => scheme
            .compare(event_version(a), event_version(b))
            .then_with(|| event_rank(a).cmp(&event_rank(b))),
    }
}

/// Whether `v` is affected by the ranges or the explicit versions; `Some`
/// holds the fix (if any) when it is.
///
/// The OSV algorithm walks the sorted events and lets each one at or below
/// `v` set or clear "vulnerable"; the last one wins. That last one is simply
/// the greatest event whose condition holds, found here without sorting
/// (a sort with a comparator over untrusted strings could panic; a maximum
/// cannot).
pub(crate) fn affected_by(
    scheme: Scheme,
    v: &str,
    ranges: &[Vec<Event>],
    versions: &[String],
) -> Option<Option<String>> {
    // `v` is on one side of every comparison: parsed once.
    let pv = Prepared::new(scheme, v);
    let mut affected = false;
    let mut fixed: Option<String> = None;
    for events in ranges {
        let mut limits = events.iter().filter_map(|e| match e {
            Event::Limit(l) => Some(l.as_str()),
            _ => None,
        });
        let limited = events.iter().any(|e| matches!(e, Event::Limit(_)));
        if limited && !limits.any(|l| l == "*" || pv.cmp_to(l) == Ordering::Less) {
            continue;
        }
        let holds = |e: &Event| match e {
            Event::Introduced(i) => i == "0" || pv.cmp_to(i) != Ordering::Less,
            Event::Fixed(f) => pv.cmp_to(f) != Ordering::Less,
            Event::LastAffected(l) => pv.cmp_to(l) == Ordering::Greater,
            Event::Limit(_) => false,
        };
        let mut last: Option<&Event> = None;
        for e in events.iter().filter(|e| holds(e)) {
            if last.is_none_or(|l| event_cmp(scheme, e, l) == Ordering::Greater) {
                last = Some(e);
            }
        }
        if !matches!(last, Some(Event::Introduced(_))) {
            continue;
        }
        affected = true;
        let next_fix = events
            .iter()
            .filter_map(|e| match e {
                Event::Fixed(f) if pv.cmp_to(f) == Ordering::Less => Some(f.clone()),
                _ => None,
            })
            .fold(None, |acc, f| lowest(scheme, acc, Some(f)));
        fixed = lowest(scheme, fixed, next_fix);
    }
    // The explicit versions only when no range holds `v` (they cannot add
    // a fix). The same text is the same version in every scheme: look for
    // it first, and order-compare only when it is not there.
    affected = affected
        || versions.iter().any(|x| x == v)
        || versions.iter().any(|x| pv.cmp_to(x) == Ordering::Equal);
    affected.then_some(fixed)
}

/// Normalises an RFC 3339 UTC timestamp (`2024-01-02T03:04:05Z`, with or
/// without fractional seconds) to a fixed-width string that sorts in time
/// order; anything else is kept as written (and sorts as text). Written by
/// hand: OSV timestamps are always this one form, and this is the only date
/// handling the crate needs.
pub(crate) fn timestamp_key(s: &str) -> String {
    let b = s.as_bytes();
    let shape_ok = b.len() >= 20
        && b.iter().take(19).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T' || *c == b't' || *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    let Some(rest) = s.get(19..).filter(|_| shape_ok) else {
        return s.to_string();
    };
    let Some(rest) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) else {
        return s.to_string();
    };
    let frac = match rest.strip_prefix('.') {
        Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) => f,
        None if rest.is_empty() => "",
        _ => return s.to_string(),
    };
    let mut frac: String = frac.chars().take(9).collect();
    while frac.len() < 9 {
        frac.push('0');
    }
    format!("{}T{}.{frac}Z", &s[..10], &s[11..19])
}
