//! Every scheme is a total order on all strings, including malformed ones:
//! antisymmetric, reflexive and transitive. Matching and "lowest fix"
//! selection rely on it.

use std::cmp::Ordering;

use palisade_vulndb::version::Scheme;
use proptest::prelude::*;

fn check_order(s: Scheme, v: &[String]) -> Result<(), TestCaseError> {
    for a in v {
        prop_assert_eq!(
            s.compare(a, a),
            Ordering::Equal,
            "{:?} reflexive {:?}",
            s,
            a
        );
        for b in v {
            let ab = s.compare(a, b);
            prop_assert_eq!(
                ab,
                s.compare(b, a).reverse(),
                "{:?} antisymmetry {:?} {:?}",
                s,
                a,
                b
            );
            for c in v {
                let bc = s.compare(b, c);
                let ac = s.compare(a, c);
                if ab != Ordering::Greater && bc != Ordering::Greater {
                    prop_assert_ne!(
                        ac,
                        Ordering::Greater,
                        "{:?} transitivity {:?} {:?} {:?}",
                        s,
                        a,
                        b,
                        c
                    );
                }
                if ab == Ordering::Equal && bc == Ordering::Equal {
                    prop_assert_eq!(
                        ac,
                        Ordering::Equal,
                        "{:?} equality {:?} {:?} {:?}",
                        s,
                        a,
                        b,
                        c
                    );
                }
            }
        }
    }
    Ok(())
}

/// Well-formed dpkg versions from a small alphabet, so that prefixes collide.
const DPKG: &str = "([0-2]:)?[0-9][0-9a-b.+~]{0,5}(-[0-9a-b.+~]{1,4})?";
/// Well-formed apk versions.
const APK: &str = "[0-9]{1,2}(\\.0?[0-9]{1,2}){0,2}[a-b]?(_(alpha|beta|pre|rc|cvs|git|p)[0-9]{0,2}){0,2}(~[0-9a-f]{1,2})?(-r[0-9]{1,2})?";
/// rpm versions: digits, letters, separators, `~`, `^`, epoch and release.
const RPM: &str = "([0-2]:)?[0-9a-b.~^_]{0,6}(-[0-9a-b.~^]{0,4})?";
/// Anything printable, mostly malformed for every scheme.
const JUNK: &str = "[0-9a-zA-Z.:~^_+ -]{0,8}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn dpkg_is_a_total_order(v in prop::collection::vec(DPKG, 3..6)) {
        check_order(Scheme::Dpkg, &v)?;
    }

    #[test]
    fn apk_is_a_total_order(v in prop::collection::vec(APK, 3..6)) {
        check_order(Scheme::Apk, &v)?;
    }

    #[test]
    fn rpm_is_a_total_order(v in prop::collection::vec(RPM, 3..6)) {
        check_order(Scheme::Rpm, &v)?;
    }

    #[test]
    fn malformed_versions_are_still_totally_ordered(v in prop::collection::vec(JUNK, 3..6)) {
        for s in [Scheme::Dpkg, Scheme::Apk, Scheme::Rpm] {
            check_order(s, &v)?;
        }
    }

    #[test]
    fn dpkg_epoch_dominates(e in 1u32..5, a in "[0-9][0-9a-z.+~]{0,6}", b in "[0-9][0-9a-z.+~]{0,6}") {
        prop_assert_eq!(Scheme::Dpkg.compare(&format!("{e}:{a}"), &b), Ordering::Greater);
    }

    #[test]
    fn tilde_sorts_before_the_base(base in "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}", pre in "[a-z0-9]{0,4}") {
        let tilde = format!("{base}~{pre}");
        prop_assert_eq!(Scheme::Dpkg.compare(&tilde, &base), Ordering::Less);
        prop_assert_eq!(Scheme::Rpm.compare(&tilde, &base), Ordering::Less);
    }

    #[test]
    fn apk_revision_orders_numerically(v in "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}", a in 0u32..200, b in 0u32..200) {
        prop_assert_eq!(
            Scheme::Apk.compare(&format!("{v}-r{a}"), &format!("{v}-r{b}")),
            a.cmp(&b)
        );
    }
}
