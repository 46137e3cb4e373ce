//! Unit tests of the crate-private helpers: timestamps, ecosystem keys, the
//! default path, and OSV range evaluation.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;

use crate::db::{affected_by, default_path_from, ecosystem_key, ecosystem_matches, timestamp_key};
use crate::osv::{Event, Severity};
use crate::version::Scheme;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let m: HashMap<String, OsString> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    move |k| m.get(k).cloned()
}

#[test]
fn default_path_prefers_palisade_cache_dir() {
    let p = default_path_from(env(&[
        ("PALISADE_CACHE_DIR", "/srv/cache"),
        ("XDG_CACHE_HOME", "/x"),
        ("HOME", "/home/a"),
    ]));
    assert_eq!(p.ok(), Some(PathBuf::from("/srv/cache/vuln.db")));
}

#[test]
fn default_path_uses_xdg_then_home() {
    let xdg = default_path_from(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/home/a")]));
    assert_eq!(xdg.ok(), Some(PathBuf::from("/x/palisade/vuln.db")));
    let rel = default_path_from(env(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/home/a")]));
    assert_eq!(
        rel.ok(),
        Some(PathBuf::from("/home/a/.cache/palisade/vuln.db"))
    );
    let empty = default_path_from(env(&[("PALISADE_CACHE_DIR", ""), ("HOME", "/h")]));
    assert_eq!(
        empty.ok(),
        Some(PathBuf::from("/h/.cache/palisade/vuln.db"))
    );
}

#[test]
fn default_path_without_home_is_an_error() {
    assert!(default_path_from(env(&[])).is_err());
}

#[test]
fn timestamps_order_by_time_not_text() {
    let a = timestamp_key("2024-01-02T03:04:05Z");
    let b = timestamp_key("2024-01-02T03:04:05.5Z");
    let c = timestamp_key("2024-01-02T03:04:06Z");
    assert!(a < b && b < c, "{a} {b} {c}");
    assert_eq!(a, timestamp_key("2024-01-02T03:04:05.000Z"));
    assert_eq!(timestamp_key("yesterday"), "yesterday");
    assert_eq!(
        timestamp_key("2024-01-02T03:04:05+02:00"),
        "2024-01-02T03:04:05+02:00"
    );
    assert_eq!(
        timestamp_key("2024-01-02T03:04:05.Z"),
        "2024-01-02T03:04:05.Z"
    );
}

#[test]
fn ecosystem_keys_fold_lts_and_red_hat_streams() {
    assert_eq!(ecosystem_key("Ubuntu:22.04:LTS"), "Ubuntu:22.04");
    assert_eq!(ecosystem_key("Ubuntu:22.04"), "Ubuntu:22.04");
    assert_eq!(
        ecosystem_key("Red Hat:enterprise_linux:9::baseos"),
        "Red Hat"
    );
    assert_eq!(ecosystem_key("Debian:12"), "Debian:12");
    assert!(ecosystem_matches("Ubuntu:22.04", "Ubuntu:22.04:LTS"));
    assert!(ecosystem_matches("Ubuntu:22.04:LTS", "Ubuntu:22.04"));
    assert!(ecosystem_matches(
        "Red Hat",
        "Red Hat:enterprise_linux:9::baseos"
    ));
    assert!(ecosystem_matches(
        "Red Hat:enterprise_linux:9",
        "Red Hat:enterprise_linux:9::appstream"
    ));
    assert!(!ecosystem_matches(
        "Red Hat:enterprise_linux:8",
        "Red Hat:enterprise_linux:9::baseos"
    ));
    assert!(!ecosystem_matches("Debian:12", "Debian:11"));
}

fn ev(kind: &str, v: &str) -> Event {
    let v = v.to_string();
    match kind {
        "i" => Event::Introduced(v),
        "f" => Event::Fixed(v),
        "l" => Event::LastAffected(v),
        _ => Event::Limit(v),
    }
}

fn check(ranges: &[Vec<Event>], v: &str) -> Option<Option<String>> {
    affected_by(Scheme::Dpkg, v, ranges, &[])
}

#[test]
fn two_introduced_fixed_pairs_in_one_range() {
    // Events deliberately out of order: evaluation must not rely on it.
    let r = vec![vec![
        ev("f", "2.3"),
        ev("i", "2.0"),
        ev("f", "1.2"),
        ev("i", "1.0"),
    ]];
    assert_eq!(check(&r, "0.5"), None);
    assert_eq!(check(&r, "1.0"), Some(Some("1.2".into())));
    assert_eq!(check(&r, "1.5"), None);
    assert_eq!(check(&r, "2.1"), Some(Some("2.3".into())));
    assert_eq!(check(&r, "2.3"), None);
}

#[test]
fn introduced_zero_is_below_everything() {
    let r = vec![vec![ev("i", "0"), ev("f", "1.0")]];
    assert_eq!(check(&r, "0~~"), Some(Some("1.0".into())));
    assert_eq!(check(&r, "1.0~rc1"), Some(Some("1.0".into())));
    assert_eq!(check(&r, "1.0"), None);
}

#[test]
fn last_affected_includes_its_version() {
    let r = vec![vec![ev("i", "1.0"), ev("l", "1.4")]];
    assert_eq!(check(&r, "1.4"), Some(None));
    assert_eq!(check(&r, "1.4.1"), None);
}

#[test]
fn limit_bounds_the_range() {
    let r = vec![vec![ev("i", "0"), ev("lim", "2.0")]];
    assert_eq!(check(&r, "1.9"), Some(None));
    assert_eq!(check(&r, "2.0"), None);
    let star = vec![vec![ev("i", "0"), ev("lim", "*")]];
    assert_eq!(check(&star, "99"), Some(None));
}

#[test]
fn introduced_and_fixed_at_one_version_is_empty() {
    let r = vec![vec![ev("i", "1.0"), ev("f", "1.0")]];
    assert_eq!(check(&r, "1.0"), None);
}

#[test]
fn explicit_versions_use_the_scheme_equality() {
    // rpm: a missing epoch is epoch 0.
    let hit = affected_by(Scheme::Rpm, "0:1.2-3", &[], &["1.2-3".to_string()]);
    assert_eq!(hit, Some(None));
    assert_eq!(
        affected_by(Scheme::Rpm, "1.2-4", &[], &["1.2-3".to_string()]),
        None
    );
}

#[test]
fn lowest_fix_over_several_ranges() {
    let r = vec![
        vec![ev("i", "0"), ev("f", "3.0")],
        vec![ev("i", "0"), ev("f", "2.0")],
    ];
    assert_eq!(check(&r, "1.0"), Some(Some("2.0".into())));
}

#[test]
fn severity_texts_and_cvss() {
    assert_eq!(Severity::from_text("low**"), Severity::Low);
    assert_eq!(Severity::from_text("unimportant"), Severity::Low);
    assert_eq!(Severity::from_text("Important"), Severity::High);
    assert_eq!(Severity::from_text("MODERATE"), Severity::Medium);
    assert_eq!(Severity::from_text("not yet assigned"), Severity::Unknown);
    assert_eq!(
        Severity::from_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        Severity::Critical
    );
    assert_eq!(
        Severity::from_cvss("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
        Severity::Low
    );
    assert_eq!(Severity::from_cvss("garbage"), Severity::Unknown);
}

#[test]
fn a_prepared_version_compares_as_the_scheme_does() {
    use crate::version::Prepared;
    let samples: &[(Scheme, &[&str])] = &[
        (
            Scheme::Pep440,
            &[
                "1.0",
                "1.0.0",
                "1.0rc1",
                "1.0.post1",
                "v1.0",
                "2004d",
                "",
                "1!0.1",
                "1.0+local",
            ],
        ),
        (
            Scheme::Go,
            &[
                "v1.2.3",
                "1.2.3",
                "v1.2.3+incompatible",
                "v0.0.0-20170915032832-14c0d48ead0c",
                "x",
            ],
        ),
        (
            Scheme::Semver,
            &["1.2.3", "1.2.3-alpha", "1.2.3+build", "01.2.3", "1.2"],
        ),
        (
            Scheme::Dpkg,
            &["1:1.0-1", "1.0-1", "1.0~rc1-1", "1.0", "a b"],
        ),
        (
            Scheme::Maven,
            &["1.0", "1", "1.0-SNAPSHOT", "1.0.RELEASE", "1-ga"],
        ),
    ];
    for (scheme, versions) in samples {
        for a in *versions {
            let p = Prepared::new(*scheme, a);
            for b in *versions {
                assert_eq!(p.cmp_to(b), scheme.compare(a, b), "{scheme:?} {a:?} {b:?}");
            }
        }
    }
}
