//! Composer (Packagist) version ordering: a version is first normalised the
//! way Composer's `VersionParser::normalize`
//! ([composer/semver](https://github.com/composer/semver/blob/main/src/VersionParser.php))
//! does it, then compared as PHP's
//! [`version_compare`](https://www.php.net/manual/en/function.version-compare.php)
//! compares the normalised strings, which is what Composer's constraints do.
//!
//! Normalisation strips surrounding whitespace, an ` as ALIAS` suffix, an
//! `@stability` flag, `+build` metadata and a leading `v`; pads classical
//! versions to four numbers (`1.2` → `1.2.0.0`); turns date versions'
//! separators into dots (`2010-01-02` → `2010.01.02`); expands and
//! canonicalises the modifier (`1.0.0-b2` → `1.0.0.0-beta2`, `-rc1` →
//! `-RC1`, `-p1`/`-pl1`/`-patch1` → `-patch1`, `-stable` → nothing, any
//! case) and keeps a `-dev` suffix; and maps `1.x-dev` to
//! `1.9999999.9999999.9999999-dev`. Branches (`dev-main`, `master`) are
//! `dev-NAME`. Anything else is rejected, as Composer rejects it.
//!
//! `version_compare` splits at `.` and at digit/non-digit transitions and
//! compares part by part: numbers numerically, words by
//! `dev` < `alpha` = `a` < `beta` = `b` < `RC` = `rc` < (a number) <
//! `pl` = `p` (so `patch`); when one version runs out, the other's next part
//! decides: a number or `patch` makes it greater, a pre-release word
//! smaller (`1.0.0.0-RC1` < `1.0.0.0` < `1.0.0.0-patch1` < `1.0.0.1`).
//! Numbers have no size limit here (PHP's `strtol` saturates).
//!
//! Composer never orders branches against numbered versions; for a total
//! order they sort before every numbered version (where `version_compare`
//! also puts them) and among themselves by bytes. Strings Composer rejects
//! sort before everything, by bytes. One deliberate deviation: `-STABLE`
//! in any case is dropped, where Composer drops only the lower-case
//! `-stable`.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use super::cmp_digits;

/// `VersionParser::$modifierRegex`, ASCII digits only as PCRE without `/u`.
const MODIFIER: &str =
    r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?[0-9]+)*)?)?([.-]?dev)?";

static CLASSICAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i-u)^v?([0-9]{{1,5}})(\.[0-9]+)?(\.[0-9]+)?(\.[0-9]+)?{MODIFIER}$"
    ))
    .ok()
});

static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i-u)^v?([0-9]{{4}}(?:[.:-]?[0-9]{{2}}){{1,6}}(?:[.:-]?[0-9]{{1,3}}){{0,2}}){MODIFIER}$"
    ))
    .ok()
});

static BRANCH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i-u)^v?([0-9]+)(\.(?:[0-9]+|[x*]))?(\.(?:[0-9]+|[x*]))?(\.(?:[0-9]+|[x*]))?$")
        .ok()
});

/// PHP's `trim` set.
fn is_php_trim(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\0' | '\x0b')
}

/// PCRE's `\s` (without `/u`).
fn is_pcre_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// `^([^,\s]++) ++as ++([^,\s]++)$` → the part before ` as `.
fn strip_alias(s: &str) -> &str {
    let end = s
        .find(|c: char| c == ',' || is_pcre_space(c))
        .unwrap_or(s.len());
    let (head, rest) = s.split_at(end);
    let alias = rest
        .strip_prefix(' ')
        .map(|r| r.trim_start_matches(' '))
        .and_then(|r| r.strip_prefix("as "))
        .map(|r| r.trim_start_matches(' '));
    match alias {
        Some(tail)
            if !head.is_empty()
                && !tail.is_empty()
                && !tail.contains(|c: char| c == ',' || is_pcre_space(c)) =>
        {
            head
        }
        _ => s,
    }
}

/// `@(?:stable|RC|beta|alpha|dev)$`, case-insensitively.
fn strip_stability_flag(s: &str) -> &str {
    match s.rsplit_once('@') {
        Some((head, flag))
            if ["stable", "rc", "beta", "alpha", "dev"]
                .iter()
                .any(|f| flag.eq_ignore_ascii_case(f)) =>
        {
            head
        }
        _ => s,
    }
}

/// `^([^,\s+]++)\+[^\s]++$` → the part before `+`.
fn strip_build(s: &str) -> &str {
    match s.split_once('+') {
        Some((head, tail))
            if !head.is_empty()
                && !head.contains(|c: char| c == ',' || is_pcre_space(c))
                && !tail.is_empty()
                && !tail.contains(is_pcre_space) =>
        {
            head
        }
        _ => s,
    }
}

fn expand_stability(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "a" => "alpha".to_string(),
        "b" => "beta".to_string(),
        "p" | "pl" => "patch".to_string(),
        "rc" => "RC".to_string(),
        other => other.to_string(),
    }
}

/// Composer's normalised form of `v` (`VersionParser::normalize`), or
/// `None` where Composer throws.
pub fn normalize(v: &str) -> Option<String> {
    let s = v.trim_matches(is_php_trim);
    let s = strip_stability_flag(strip_alias(s));
    if matches!(s, "master" | "trunk" | "default") {
        return Some(format!("dev-{s}"));
    }
    if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("dev-")) {
        return Some(format!("dev-{}", &s[4..]));
    }
    let s = strip_build(s);

    let classical = CLASSICAL.as_ref().and_then(|re| re.captures(s));
    let (mut version, caps, index) = if let Some(c) = classical {
        let part = |i: usize| c.get(i).map_or(".0", |m| m.as_str());
        let major = c.get(1).map_or("", |m| m.as_str());
        (format!("{major}{}{}{}", part(2), part(3), part(4)), c, 5)
    } else if let Some(c) = DATE.as_ref().and_then(|re| re.captures(s)) {
        let date = c.get(1).map_or("", |m| m.as_str());
        (
            date.chars()
                .map(|ch| if ch.is_ascii_digit() { ch } else { '.' })
                .collect(),
            c,
            2,
        )
    } else {
        return normalize_dev_branch(s);
    };
    if let Some(stability) = caps.get(index).map(|m| m.as_str()) {
        if stability.eq_ignore_ascii_case("stable") {
            return Some(version);
        }
        version.push('-');
        version.push_str(&expand_stability(stability));
        if let Some(n) = caps.get(index + 1) {
            version.push_str(n.as_str().trim_start_matches(['.', '-']));
        }
    }
    if caps.get(index + 2).is_some_and(|m| !m.as_str().is_empty()) {
        version.push_str("-dev");
    }
    Some(version)
}

/// `(.*?)[.-]?dev$` and `normalizeBranch`: only numeric branches (`1.x-dev`,
/// `2.3.*-dev`) are versions.
fn normalize_dev_branch(s: &str) -> Option<String> {
    let cut = s.len().checked_sub(3)?;
    if !s.get(cut..).is_some_and(|d| d.eq_ignore_ascii_case("dev")) {
        return None;
    }
    let name = &s[..cut];
    let name = name.strip_suffix(['.', '-']).unwrap_or(name);
    let caps = BRANCH.as_ref()?.captures(name)?;
    let mut out = String::new();
    for i in 1..5 {
        out.push_str(
            &caps
                .get(i)
                .map_or(".x".to_string(), |m| m.as_str().replace(['*', 'X'], "x")),
        );
    }
    Some(format!("{}-dev", out.replace('x', "9999999")))
}

/// Whether Composer accepts `v` as a version (numbered or branch).
pub fn is_valid(v: &str) -> bool {
    normalize(v).is_some()
}

/// One part of a normalised version under `version_compare`, in its order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    /// A word `version_compare` does not know, then `dev`, `alpha`, `beta`, `RC`.
    PreWord(u8),
    /// Past the end of the shorter version.
    End,
    /// A number (digits, leading zeros removed); read by the derived order.
    Number(#[allow(dead_code)] NumberKey),
    /// `pl`, `p`, so `patch`.
    Patch,
}

/// Digits ordered as the numbers they spell.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NumberKey(String);

impl PartialOrd for NumberKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for NumberKey {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(&self.0, &other.0)
    }
}

/// `compare_special_version_forms`: the first form `w` starts with.
fn word(w: &str) -> Part {
    const FORMS: [(&str, u8); 9] = [
        ("dev", 1),
        ("alpha", 2),
        ("a", 2),
        ("beta", 3),
        ("b", 3),
        ("RC", 4),
        ("rc", 4),
        ("pl", 5),
        ("p", 5),
    ];
    match FORMS.iter().find(|(f, _)| w.starts_with(f)) {
        Some((_, 5)) => Part::Patch,
        Some(&(_, rank)) => Part::PreWord(rank),
        None => Part::PreWord(0),
    }
}

/// `php_canonicalize_version` and the split at dots, on a normalised
/// version: runs of digits and runs of other non-separator characters.
fn parts(normalized: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut rest = normalized;
    while let Some(c) = rest.chars().next() {
        if matches!(c, '.' | '-' | '_' | '+') || !c.is_ascii_alphanumeric() {
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let digit = c.is_ascii_digit();
        let n = rest
            .find(|ch: char| ch.is_ascii_digit() != digit || !ch.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let run = &rest[..n];
        out.push(if digit {
            Part::Number(NumberKey(run.trim_start_matches('0').to_string()))
        } else {
            word(run)
        });
        rest = &rest[n..];
    }
    out
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Invalid,
    Branch(String),
    Version(Vec<Part>),
}

fn key(v: &str) -> Key {
    match normalize(v) {
        None => Key::Invalid,
        Some(n) if n.starts_with("dev-") => Key::Branch(n),
        Some(n) => Key::Version(parts(&n)),
    }
}

/// Compares two Composer versions (see the module docs for branches and
/// invalid strings).
pub fn compare(a: &str, b: &str) -> Ordering {
    match (key(a), key(b)) {
        (Key::Invalid, Key::Invalid) => a.as_bytes().cmp(b.as_bytes()),
        (Key::Branch(x), Key::Branch(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Key::Version(x), Key::Version(y)) => {
            let end = Part::End;
            (0..x.len().max(y.len()))
                .map(|i| x.get(i).unwrap_or(&end).cmp(y.get(i).unwrap_or(&end)))
                .find(|r| r.is_ne())
                .unwrap_or(Ordering::Equal)
        }
        (x, y) => x.cmp(&y),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_all_equal, assert_sorted, check_total_order};
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalisation() {
        // composer/semver's VersionParserTest::successfulNormalizedVersions.
        for (v, want) in [
            ("1.0.0", "1.0.0.0"),
            ("1.2.3.4", "1.2.3.4"),
            ("1.0.0RC1dev", "1.0.0.0-RC1-dev"),
            ("1.0.0-rC15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0.RC.15-dev", "1.0.0.0-RC15-dev"),
            ("1.0.0-rc1", "1.0.0.0-RC1"),
            ("1.0.0.pl3-dev", "1.0.0.0-patch3-dev"),
            ("1.0-dev", "1.0.0.0-dev"),
            ("0", "0.0.0.0"),
            ("10.4.13-beta", "10.4.13.0-beta"),
            ("10.4.13beta2", "10.4.13.0-beta2"),
            ("10.4.13beta.2", "10.4.13.0-beta2"),
            ("v1.13.11-beta.0", "1.13.11.0-beta0"),
            ("1.13.11.0-beta0", "1.13.11.0-beta0"),
            ("10.4.13-b", "10.4.13.0-beta"),
            ("10.4.13-b5", "10.4.13.0-beta5"),
            ("v1.0.0", "1.0.0.0"),
            ("2010.01", "2010.01.0.0"),
            ("2010.01.02", "2010.01.02.0"),
            ("2010.1.555", "2010.1.555.0"),
            ("2010.10.200", "2010.10.200.0"),
            ("v20100102", "20100102"),
            ("2010-01-02", "2010.01.02"),
            ("2012.06.07", "2012.06.07.0"),
            ("2010-01-02.5", "2010.01.02.5"),
            ("20100102-203040", "20100102.203040"),
            ("20100102203040-10", "20100102203040.10"),
            ("20100102-203040-p1", "20100102.203040-patch1"),
            ("201903.0", "201903.0"),
            ("201903.x-dev", "201903.9999999.9999999.9999999-dev"),
            ("201903.0-p2", "201903.0-patch2"),
            ("dev-master", "dev-master"),
            ("master", "dev-master"),
            ("dev-trunk", "dev-trunk"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("dev-feature-foo", "dev-feature-foo"),
            ("DEV-FOOBAR", "dev-FOOBAR"),
            ("dev-feature/foo", "dev-feature/foo"),
            ("dev-feature+issue-1", "dev-feature+issue-1"),
            ("dev-master as 1.0.0", "dev-master"),
            (
                "dev-load-varnish-only-when-used as ^2.0",
                "dev-load-varnish-only-when-used",
            ),
            (
                "dev-load-varnish-only-when-used@dev as ^2.0@dev",
                "dev-load-varnish-only-when-used",
            ),
            ("1.0.0+foo@dev", "1.0.0.0"),
            (
                "dev-load-varnish-only-when-used@stable",
                "dev-load-varnish-only-when-used",
            ),
            ("1.0.0-beta.5+foo", "1.0.0.0-beta5"),
            ("1.0.0+foo", "1.0.0.0"),
            ("1.0.0-alpha.3.1+foo", "1.0.0.0-alpha3.1"),
            ("1.0.0-alpha2.1+foo", "1.0.0.0-alpha2.1"),
            ("1.0.0-alpha-2.1-3+foo", "1.0.0.0-alpha2.1-3"),
            ("1.0.0+foo as 2.0", "1.0.0.0"),
            ("00.01.03.04", "00.01.03.04"),
            ("000.001.003.004", "000.001.003.004"),
            ("0.000.103.204", "0.000.103.204"),
            ("0700", "0700.0.0.0"),
            ("041.x-dev", "041.9999999.9999999.9999999-dev"),
            ("dev-041.003", "dev-041.003"),
            ("dev-1.0.0-dev<1.0.5-dev", "dev-1.0.0-dev<1.0.5-dev"),
            ("dev-foo bar", "dev-foo bar"),
            (" 1.0.0", "1.0.0.0"),
            ("1.0.0 ", "1.0.0.0"),
            ("1.0.0-stable", "1.0.0.0"),
            ("1.0.0-STABLE", "1.0.0.0"),
            ("2.3.*-dev", "2.3.9999999.9999999-dev"),
        ] {
            assert_eq!(normalize(v).as_deref(), Some(want), "{v:?}");
        }
    }

    #[test]
    fn rejected() {
        // VersionParserTest::failingNormalizedVersions.
        for v in [
            "",
            "a",
            "1.0.0-meh",
            "1.0.0.0.0",
            "feature-foo",
            "1.0.0+foo bar",
            "1.0.1-SNAPSHOT",
            "1.0.0<1.0.5-dev",
            "1.0.0-dev<1.0.5-dev",
            "foo bar-dev",
            "1.0 .2",
            " as ",
            " as 1.2",
            "^",
            "^8 || ^",
            "~",
            "~1 ~",
            "~1",
            "^1",
            "1.*",
            "20100102.0.3.4",
            "2010010203.0.3.4",
        ] {
            assert_eq!(normalize(v), None, "{v:?}");
            assert!(!is_valid(v), "{v:?}");
        }
    }

    #[test]
    fn version_compare_order() {
        // php.net's version_compare: dev < alpha = a < beta = b < RC = rc < # < pl = p.
        assert_sorted(
            compare,
            &[
                "1.0.0-dev",
                "1.0.0-alpha1",
                "1.0.0-alpha2",
                "1.0.0-beta1-dev",
                "1.0.0-beta1",
                "1.0.0-beta2",
                "1.0.0-beta10",
                "1.0.0-RC1",
                "1.0.0",
                "1.0.0-patch1",
                "1.0.0-p2",
                "1.0.0.1",
                "1.0.1-beta",
                "1.0.1",
                "1.1",
                "1.10",
                "2.0.0-dev",
                "v2.0.0",
                "2.x-dev",
                "3",
            ],
        );
        assert_all_equal(
            compare,
            &[
                "1.0.0-a1",
                "1.0.0-alpha1",
                "1.0.0-ALPHA.1",
                "1.0.0alpha1",
                "v1.0.0-alpha1",
            ],
        );
        assert_all_equal(
            compare,
            &["1.0.0-rc1", "1.0.0-RC1", "1.0.0.RC1", "1.0.0-RC-1"],
        );
        assert_all_equal(
            compare,
            &["1.0.0-p1", "1.0.0-pl1", "1.0.0-patch1", "1.0.0.patch.1"],
        );
        assert_all_equal(
            compare,
            &[
                "1",
                "1.0",
                "1.0.0",
                "1.0.0.0",
                "v1.0.0",
                "1.0.0+build",
                "1.0.0-stable",
                "01.0",
            ],
        );
        assert_sorted(compare, &["2010-01-02", "2010-01-02.5", "20100102-203040"]);
        assert_sorted(
            compare,
            &["1.2.3.99999999999999999999", "1.2.3.100000000000000000000"],
        );
    }

    #[test]
    fn branches_and_invalid() {
        assert_sorted(
            compare,
            &[
                "",
                "1.0.1-SNAPSHOT",
                "feature-foo",
                "dev-feature",
                "dev-master",
                "0.0.0-dev",
                "0",
            ],
        );
        assert!(is_valid("dev-main"));
        assert!(is_valid("v1.2.3"));
    }

    fn versionish() -> impl Strategy<Value = String> {
        prop_oneof![
            "v?[0-9]{1,3}(\\.[0-9x*]{1,2}){0,4}([-._]?(stable|beta|b|RC|rc|alpha|a|patch|pl|p)[.-]?[0-9]{0,2})?([.-]?dev)?(\\+[a-z]{1,3})?",
            "(dev-)?[0-9a-zA-Z.@+ -]{0,10}",
        ]
    }

    proptest! {
        #[test]
        fn total_order(v in proptest::collection::vec(versionish(), 1..7)) {
            check_total_order(compare, &v)?;
        }

        #[test]
        fn never_panics(a in any::<String>(), b in any::<String>()) {
            let _ = (compare(&a, &b), is_valid(&a), normalize(&a));
        }
    }
}
