//! Version ordering against each format's documented examples: Debian
//! Policy §5.6.12 and dpkg's behaviour, apk-tools' `test/version.data`,
//! rpm's `tests/rpmvercmp.at`. Each row is checked in both directions.

use std::cmp::Ordering;

use palisade_vulndb::version::{apk, dpkg, rpm, Scheme};

/// Rows of `a OP b` (`<`, `=`, `>`), one per line; `#` starts a comment.
fn check_table(name: &str, cmp: impl Fn(&str, &str) -> Ordering, table: &str) -> usize {
    let mut n = 0;
    for line in table.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = parts[..] else {
            panic!("{name}: bad row {line:?}");
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("{name}: bad operator in {line:?}"),
        };
        assert_eq!(cmp(a, b), want, "{name}: {a} {op} {b}");
        assert_eq!(cmp(b, a), want.reverse(), "{name}: {b} vs {a} (reversed)");
        n += 1;
    }
    n
}

const DPKG: &str = "
1.0~rc1 < 1.0            # Policy: ~ sorts before the end of the part
1:0.1 > 2.0              # Policy: the epoch wins
1.0~~ < 1.0~~a           # Policy: ~~ < ~~a < ~ < (empty) < a
1.0~~a < 1.0~
1.0~ < 1.0
1.0 < 1.0a
1.0~beta1~svn1245 < 1.0~beta1
1.0~beta1 < 1.0
0:1.0 = 1.0              # a missing epoch is 0
1.0 = 1.0-0              # a missing revision is 0
1.00 = 1.0               # digit runs compare as numbers
0.01 = 0.1
1.2.3 < 1.2.10
1.2.10 > 1.2.9
1.0.0 > 1.0
1.0a < 1.0+              # letters sort before non-letters
1.0+ < 1.0.
1.0a < 1.0b
1.0A < 1.0a              # upper case before lower case (ASCII)
1.0+dfsg > 1.0
1.0+dfsg-1 < 1.0.1-1
1.0-1 < 1.0-2
1.0-1 < 1.0-1.1
1.0-1~bpo12+1 < 1.0-1    # backports sort below the release
1.0-9 < 1.0-10
2.36-9+deb12u4 < 2.36-9+deb12u10
3.0.11-1~deb12u1 < 3.0.11-1~deb12u2
3.0.11-1~deb12u2 < 3.0.11-1
7.88.1-10+deb12u5 < 7.88.1-10+deb12u6
1:2.36 > 2.37
1:1.2.13.dfsg-1 > 1.3-1
2:1.0 > 1:9.9
10:1.0 > 9:1.0
1.2.3-4-5 > 1.2.3-4      # the revision follows the last hyphen (upstream 1.2.3-4 vs 1.2.3)
1.2.3-4-5 < 1.2.3-4-6
0 < a                    # digits sort after the end of a non-digit run
1.0ubuntu1 > 1.0
1.0-0ubuntu1 < 1.0-1
2.34-0ubuntu3.2 < 2.35-0ubuntu3
1.1.1f-1ubuntu2.19 < 1.1.1f-1ubuntu2.20
123456789012345678901234567890 > 123456789012345678901234567889   # beyond u64
1_0 > 1.0                # '_' (lenient) is a non-letter above '.'
";

#[test]
fn dpkg_orders_like_debian_policy() {
    let n = check_table("dpkg", dpkg::compare, DPKG);
    assert!(n >= 30, "{n} rows");
}

#[test]
fn dpkg_malformed_versions_sort_first_and_are_invalid() {
    for bad in ["", "1 0", "1.0é", "a:b:-", "-1"] {
        assert!(!dpkg::is_valid(bad), "{bad:?}");
        assert_eq!(dpkg::compare(bad, "0"), Ordering::Less, "{bad:?}");
    }
    assert!(dpkg::is_valid("1:2.36-9+deb12u4"));
}

/// A selection from apk-tools' test/version.data plus the suffix ladder.
const APK: &str = "
1.0_alpha < 1.0_beta
1.0_beta < 1.0_pre
1.0_pre < 1.0_rc
1.0_rc < 1.0
1.0 < 1.0_cvs
1.0_cvs < 1.0_svn
1.0_svn < 1.0_git
1.0_git < 1.0_hg
1.0_hg < 1.0_p
1.0_p < 1.0_p1
1.0_p1 < 1.0_p2
1.0_p9 < 1.0_p10
1.0-r1 < 1.0-r2
1.0-r9 < 1.0-r10
1.0 < 1.0-r0             # a revision is a further token
1.0-r0 < 1.0.1
9.7-r0 < 9.7_p1-r0
9.7_p1-r0 < 9.7_p2-r0
3.3.1-r3 < 3.3.2-r0
2.34 > 0.1.0_alpha
23_foo > 4_beta
1.0 < 1.0bc              # invalid tail: the valid prefix decides
0.1.0_alpha = 0.1.0_alpha
0.1.0_alpha2 > 0.1.0_alpha
2.3.0b-r1 < 2.3.0b-r2
0.12.3 > 0.12
1.1 > 1.1_alpha1
1.2.12.1 < 1.2.13
3.1_p16 < 3.1_p17
1.06-r6 < 006
006 > 1.0.0
20050718-r1 < 20050718-r2
2.01.01_alpha10 > 0.94
1.0 > 0.99.3.20040818
1.02 < 1.03-r1
2.5.1-r8 < 2.5.1a-r1
1.6d > 1.2.07.8
1.2.07.8 < 1.2.12.04
1.07-r1 < 1.07.5
0.1_pre20060810 < 0.1_pre20060817
0.59s-r11 < 0.65
0.20070118 < 0.20070207_rc1
4.5_p1-r1 > 4.5_p1
0.9.8c-r1 < 0.9.8d
3.0.0-r2 < 021109-r3
0.9.28.1 < 087-r1
2.12r-r4 < 2.12r-r5
7.0.17 < 7.0.174
1.7 < 1.7b
1.8.5 < 1.8.5_p2
2.9.11_pre20051101-r3 > 2.9.11_pre20051101
1.3-r0 < 1.3.1-r0
1.3_pre1-r1 < 1.3.2
1.0_p10-r0 > 1.0_p9-r0
0.1.0_alpha_pre2 < 0.1.0_alpha
1.0.0_pre20191002222144-r0 < 1.0.0_pre20210530193627-r0
1.0~abc < 1.0~abd        # commit hashes compare as strings
1.0~abc-r1 > 1.0~abc-r0
1.02 < 1.1               # leading zero: fractional (string) comparison
1.10 > 1.9
";

#[test]
fn apk_orders_like_apk_tools() {
    let n = check_table("apk", apk::compare, APK);
    assert!(n >= 30, "{n} rows");
}

#[test]
fn apk_validates_like_apk_tools() {
    for ok in [
        "1.0",
        "1.0-r0",
        "1.0a",
        "1.0_alpha1_p2-r3",
        "1.0~deadbeef-r1",
        "2.12r-r4",
    ] {
        assert!(apk::is_valid(ok), "{ok}");
    }
    for bad in [
        "",
        "a",
        "1.0bc",
        "1.0_foo",
        "1.0-1",
        "1.0-r",
        "1.0-r1-r2",
        "1.0~",
        "1..0",
        "1.0A",
    ] {
        assert!(!apk::is_valid(bad), "{bad}");
    }
}

/// rpm's tests/rpmvercmp.at (version field only), its caret cases, and
/// epoch:version-release comparisons.
const RPMVERCMP: &str = "
1.0 = 1.0
1.0 < 2.0
2.0.1 = 2.0.1
2.0 < 2.0.1
2.0.1a = 2.0.1a
2.0.1a > 2.0.1
5.5p1 < 5.5p2
5.5p1 < 5.5p10
10xyz < 10.1xyz
xyz10 < xyz10.1
xyz.4 < 8
xyz.4 < 2
5.5p2 < 5.6p1
5.6p1 < 6.5p1
6.0.rc1 > 6.0
10b2 > 10a1
10a2 < 10b2
1.0a < 1.0aa
10.0001 = 10.1
10.0001 < 10.0039
4.999.9 < 5.0
20101121 < 20101122
2_0 = 2.0
a+ = a_
+a = _a
_+ = +_
+ = _
1.0~rc1 < 1.0
1.0~rc1 < 1.0~rc2
1.0~rc1~git123 < 1.0~rc1
1.0^ > 1.0
1.0^git1 > 1.0
1.0^git1 < 1.0^git2
1.0^git1 < 1.01
1.0^20160101 < 1.0.1
1.0^20160102 > 1.0^20160101^git1
1.0~rc1^git1 > 1.0~rc1
1.0^git1~pre < 1.0^git1
";

const RPM_EVR: &str = "
1:2.3-4.el9 > 2.4-1.el9      # the epoch wins
0:1.0-1 = 1.0-1              # a missing epoch is 0
1.0-1.el9 < 1.0-1.el9_1
1.0-1.el9_1 < 1.0-2.el9
3.0.7-27.el9 < 1:3.0.7-24.el9
1:3.0.7-24.el9 < 1:3.0.7-27.el9
1:3.0.7-27.el9 = 1:3.0.7-27.el9
2.28-236.el9_4.1 < 2.28-236.el9_4.2
2.28-236.el9_4.9 < 2.28-236.el9_4.10
1.0 < 1.0-1                  # a missing release sorts below any release
";

#[test]
fn rpm_orders_like_rpmvercmp() {
    let n = check_table("rpmvercmp", rpm::rpmvercmp, RPMVERCMP);
    let m = check_table("rpm evr", rpm::compare, RPM_EVR);
    assert!(n + m >= 30, "{} rows", n + m);
}

#[test]
fn rpm_splits_epoch_version_release() {
    let e = rpm::Evr::parse("1:2.3-4.el9");
    assert_eq!(
        (e.epoch, e.version, e.release),
        (Some("1"), "2.3", Some("4.el9"))
    );
    let e = rpm::Evr::parse("2.3");
    assert_eq!((e.epoch, e.version, e.release), (None, "2.3", None));
    let e = rpm::Evr::parse(":2.3-a-b");
    assert_eq!(
        (e.epoch, e.version, e.release),
        (Some("0"), "2.3-a", Some("b"))
    );
}

#[test]
fn ecosystems_pick_their_scheme() {
    assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Dpkg));
    assert_eq!(
        Scheme::for_ecosystem("Ubuntu:22.04:LTS"),
        Some(Scheme::Dpkg)
    );
    assert_eq!(Scheme::for_ecosystem("Alpine:v3.20"), Some(Scheme::Apk));
    assert_eq!(Scheme::for_ecosystem("Red Hat"), Some(Scheme::Rpm));
    assert_eq!(
        Scheme::for_ecosystem("Red Hat:enterprise_linux:9::baseos"),
        Some(Scheme::Rpm)
    );
    assert_eq!(Scheme::for_ecosystem("npm"), Some(Scheme::Semver));
    assert_eq!(Scheme::for_ecosystem("Hex"), None);
    // The same strings order differently per ecosystem.
    assert_eq!(
        palisade_vulndb::compare("Debian:12", "1.0~rc1", "1.0"),
        Ordering::Less
    );
    assert_eq!(
        palisade_vulndb::compare("Alpine:v3.20", "1.0_rc1", "1.0"),
        Ordering::Less
    );
    assert_eq!(
        palisade_vulndb::compare("Red Hat", "1.0^1", "1.0"),
        Ordering::Greater
    );
    assert_eq!(
        palisade_vulndb::compare("Debian:12", "1.0a", "1.0"),
        Ordering::Greater
    );
}
