//! Unit tests of `os`.

use super::*;
use crate::analyze::testutil::{dir, drive, file, link, W};

const DEBIAN_12: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";
const ALPINE_320: &str =
    "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n";
const UBI_9: &str = "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"9.4 (Plow)\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n";
const DISTROLESS: &str = "PRETTY_NAME=\"Distroless\"\nNAME=\"Debian GNU/Linux\"\nID=\"debian\"\nVERSION_ID=\"12\"\nVERSION=\"Debian GNU/Linux 12 (bookworm)\"\nHOME_URL=\"https://github.com/GoogleContainerTools/distroless\"\n";

fn analyze(writes: &[W<'_>]) -> OsAnalyzer {
    let mut a = OsAnalyzer::default();
    drive(&mut a, writes, &[]);
    a
}

#[test]
fn debian_12_through_the_os_release_symlink() {
    let a = analyze(&[
        file(0, "usr/lib/os-release", DEBIAN_12),
        link(0, "etc/os-release", "../usr/lib/os-release"),
        file(0, "etc/debian_version", "12.7\n"),
        file(0, "var/lib/dpkg/status", "Package: x\n"),
    ]);
    let os = a.os_info();
    assert_eq!(os.base, Base::Debian);
    assert_eq!(os.id, "debian");
    assert_eq!(os.version_id, "12");
    assert_eq!(os.pretty_name, "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(os.ecosystem().as_deref(), Some("Debian:12"));
}

#[test]
fn alpine_3_20() {
    let os = analyze(&[
        file(0, "etc/os-release", ALPINE_320),
        file(0, "etc/alpine-release", "3.20.3\n"),
    ])
    .os_info();
    assert_eq!(os.base, Base::Alpine);
    assert_eq!(os.version_id, "3.20.3");
    assert_eq!(os.ecosystem().as_deref(), Some("Alpine:v3.20"));
}

#[test]
fn ubi_9_is_rhel_family() {
    let os = analyze(&[file(0, "etc/os-release", UBI_9)]).os_info();
    assert_eq!(os.base, Base::RhelFamily);
    assert_eq!(os.id, "rhel");
    assert_eq!(os.version_id, "9.4");
    assert_eq!(os.ecosystem().as_deref(), Some("Red Hat"));
    // ID_LIKE decides for derivatives.
    assert_eq!(base_of("navix", "rhel centos fedora"), Base::RhelFamily);
}

#[test]
fn ubuntu_ecosystem() {
    let os = analyze(&[file(
        0,
        "etc/os-release",
        "ID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\n",
    )])
    .os_info();
    assert_eq!(os.base, Base::Ubuntu);
    assert_eq!(os.ecosystem().as_deref(), Some("Ubuntu:22.04"));
}

#[test]
fn distroless_has_status_d_no_status_and_no_shell() {
    let writes = [
        file(0, "etc/os-release", DISTROLESS),
        file(
            0,
            "var/lib/dpkg/status.d/base-files",
            "Package: base-files\n",
        ),
        file(
            0,
            "var/lib/dpkg/status.d/base-files.md5sums",
            "abc  etc/x\n",
        ),
    ];
    let a = analyze(&writes);
    let os = a.os_info();
    assert_eq!(os.base, Base::Distroless);
    assert_eq!(os.pretty_name, "Distroless");
    assert_eq!(os.ecosystem().as_deref(), Some("Debian:12"));
    assert!(a.findings(&[]).is_empty());
    // The :debug variant ships busybox: a Debian image with a shell.
    let mut debug: Vec<W<'_>> = writes.into_iter().collect();
    debug.push(file(0, "busybox/busybox", vec![1u8; 10]));
    debug.push(link(0, "busybox/sh", "busybox"));
    assert_eq!(analyze(&debug).os_info().base, Base::Debian);
}

#[test]
fn scratch_has_no_os_files() {
    let a = analyze(&[
        file(0, "app", vec![0u8; 100]),
        dir(0, "etc", 0o755),
        file(0, "etc/ssl/certs/ca-certificates.crt", "x"),
    ]);
    let os = a.os_info();
    assert_eq!(os.base, Base::Scratch);
    assert_eq!(os.ecosystem(), None);
    assert!(a.findings(&[]).is_empty());
}

#[test]
fn markers_without_os_release() {
    let os = analyze(&[file(
        0,
        "etc/redhat-release",
        "CentOS Linux release 7.9.2009 (Core)\n",
    )])
    .os_info();
    assert_eq!(
        (os.base, os.id.as_str(), os.version_id.as_str()),
        (Base::RhelFamily, "centos", "7.9.2009")
    );
    let os = analyze(&[file(0, "etc/debian_version", "11.9\n")]).os_info();
    assert_eq!((os.base, os.version_id.as_str()), (Base::Debian, "11"));
    let os = analyze(&[file(0, "etc/alpine-release", "3.19.1\n")]).os_info();
    assert_eq!(os.ecosystem().as_deref(), Some("Alpine:v3.19"));
}

#[test]
fn os_release_deleted_or_replaced_uses_final_version() {
    let mut a = OsAnalyzer::default();
    drive(
        &mut a,
        &[
            file(0, "etc/os-release", DEBIAN_12),
            file(1, "etc/os-release", ALPINE_320),
        ],
        &[],
    );
    assert_eq!(a.os_info().base, Base::Alpine);
}

#[test]
fn this_machines_os_release_parses() {
    let Ok(text) = std::fs::read_to_string("/etc/os-release") else {
        return;
    };
    let kv = parse_os_release(&text);
    let os = detect(
        Some(&text),
        [None, None, None],
        &PackageDbs::default(),
        true,
    );
    assert_eq!(
        os.id,
        kv.get("ID")
            .cloned()
            .unwrap_or_default()
            .to_ascii_lowercase()
    );
    assert!(!os.pretty_name.is_empty());
    if os.id == "debian" {
        assert_eq!(os.base, Base::Debian);
        assert!(os.ecosystem().is_some_and(|e| e.starts_with("Debian:")));
    }
}

fn debian_with_tools() -> Vec<W<'static>> {
    vec![
        dir(0, "usr", 0o755),
        dir(0, "usr/bin", 0o755),
        link(0, "bin", "usr/bin"),
        file(0, "etc/os-release", DEBIAN_12),
        file(0, "var/lib/dpkg/status", "Package: x\n"),
        file(0, "usr/bin/bash", vec![1u8; 1_300_000]),
        file(0, "usr/bin/dash", vec![1u8; 125_000]),
        link(0, "usr/bin/sh", "dash"),
        file(0, "usr/bin/apt", vec![1u8; 18_000]),
        file(0, "usr/bin/apt-get", vec![1u8; 20_000]),
        file(0, "usr/bin/dpkg", vec![1u8; 300_000]),
        file(0, "usr/bin/su", vec![1u8; 70_000]).mode(0o4755),
        file(0, "usr/bin/passwd", vec![1u8; 60_000]).mode(0o4755),
        file(0, "usr/bin/wall", vec![1u8; 30_000]).mode(0o2755),
        dir(0, "tmp", 0o1777),
        file(1, "usr/bin/curl", vec![1u8; 250_000]),
        file(
            1,
            "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease",
            vec![1u8; 150_000],
        ),
        dir(1, "app", 0o777),
        file(1, "app/run.sh", "#!/bin/sh\n").mode(0o666),
    ]
}

#[test]
fn minimality_lists_shells_package_managers_and_sizes_by_layer() {
    let a = analyze(&debian_with_tools());
    let layers = vec![
        LayerInfo {
            digest: "sha256:0123456789abcdef0123".into(),
            file_bytes: 74_800_000,
            created_by: Some("/bin/sh -c #(nop) ADD file:abc in /".into()),
            ..LayerInfo::default()
        },
        LayerInfo {
            digest: "sha256:fedcba9876543210fedc".into(),
            file_bytes: 12_000_000,
            created_by: Some(
                "RUN /bin/sh -c apt-get update && apt-get install -y curl # buildkit".into(),
            ),
            ..LayerInfo::default()
        },
    ];
    let f = a.minimality(&layers).expect("not minimal");
    assert_eq!(f.rule, "image/not-minimal");
    assert_eq!(f.severity, Severity::Medium);
    let m = &f.message;
    for want in [
            "shells: usr/bin/dash (122.1 KiB; also sh), usr/bin/bash (1.2 MiB)",
            "package managers: usr/bin/apt (17.6 KiB)",
            "usr/bin/apt-get",
            "usr/bin/dpkg (293.0 KiB)",
            "network tools: usr/bin/curl (244.1 KiB)",
            "package caches: var/lib/apt/lists (146.5 KiB)",
            "layer 0 0123456789ab: 71.3 MiB [/bin/sh -c #(nop) ADD file:abc in /] (1.7 MiB removable: dash, bash, apt, apt-get, dpkg)",
            "; layer 1 fedcba987654: 11.4 MiB [RUN /bin/sh -c apt-get update",
            "(390.6 KiB removable: curl, var/lib/apt/lists)",
        ] {
            assert!(m.contains(want), "missing {want:?} in {m}");
        }
    // Without LayerInfo the visitor's own tallies give the sizes.
    let own = a.minimality(&[]).expect("not minimal");
    assert!(
        own.message
            .contains("layer 1: 390.6 KiB (390.6 KiB removable"),
        "{}",
        own.message
    );
}

#[test]
fn setuid_and_world_writable_are_aggregated() {
    let f = analyze(&debian_with_tools()).findings(&[]);
    let rules: Vec<&str> = f.iter().map(|x| x.rule).collect();
    assert_eq!(
        rules,
        [
            "image/not-minimal",
            "image/setuid-file",
            "image/world-writable"
        ]
    );
    let s = &f[1];
    assert_eq!(s.severity, Severity::Medium);
    assert!(
        s.message.starts_with("3 setuid/setgid file(s)"),
        "{}",
        s.message
    );
    assert!(
        s.message
            .contains("usr/bin/su (setuid root, 4755, layer 0)"),
        "{}",
        s.message
    );
    assert!(
        s.message.contains("usr/bin/wall (setgid, 2755"),
        "{}",
        s.message
    );
    let w = &f[2];
    assert_eq!(w.severity, Severity::Low);
    assert!(w.message.contains("app/ (layer 1)"), "{}", w.message);
    assert!(w.message.contains("app/run.sh"), "{}", w.message);
    // Sticky tmp and 0777 symlinks are not listed.
    assert!(!w.message.contains("tmp"), "{}", w.message);
    assert!(
        !w.message.contains("bin (") && !w.message.contains("usr/bin/sh"),
        "{}",
        w.message
    );
}

#[test]
fn long_lists_are_capped() {
    let paths: Vec<String> = (0..30).map(|i| format!("opt/x{i:02}")).collect();
    let writes: Vec<W<'_>> = paths.iter().map(|p| file(0, p, "x").mode(0o4755)).collect();
    let f = analyze(&writes).findings(&[]);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.ends_with("and 10 more"), "{}", f[0].message);
}
