//! The HTML report in a real browser: Debian's chromium, headless
//! (scripts/test.sh installs it). The page is loaded from a file, its DOM
//! dumped after its script ran; filters are set through the page's URL
//! fragment, as a user's bookmark would. Every connection chromium tries
//! goes to a proxy that this test runs and that records them: the page must
//! make none (the browser's own calls to its vendor's services aside).

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A proxy that accepts connections and records their request lines (and
/// answers nothing).
fn counting_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap_or(0);
            let line = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            // Chromium opens spare connections to its proxy ahead of need
            // and may close them unused: a connection that carried no
            // request asked for nothing.
            if !line.is_empty() {
                log.lock().unwrap().push(line);
            }
        }
    });
    (port, seen)
}

/// Whether a proxied request line goes to the browser vendor's own services.
fn browser_service(line: &str) -> bool {
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let host = target
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    ["google.com", "googleapis.com", "gvt1.com", "gstatic.com"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// The DOM of `page` (with `fragment`) after its scripts ran. The page
/// unpacks its findings asynchronously after the load event; a virtual
/// time budget makes chromium wait until nothing is left to run.
fn dump_dom(page: &Path, fragment: &str, proxy: u16, profile: &Path) -> String {
    let url = format!("file://{}{fragment}", page.display());
    let out = chromium(proxy, profile)
        .args(["--virtual-time-budget=30000", "--dump-dom", &url])
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Headless chromium with every connection sent to the proxy on `proxy`.
fn chromium(proxy: u16, profile: &Path) -> Command {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is needed (scripts/test.sh installs Debian's chromium)"
    );
    let mut c = Command::new(CHROMIUM);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        &format!("--proxy-server=http://127.0.0.1:{proxy}"),
        "--proxy-bypass-list=<-loopback>",
        &format!("--user-data-dir={}", profile.display()),
    ]);
    c
}

/// `<td>` texts of the findings table's rows.
fn rows(dom: &str) -> Vec<String> {
    let start = dom.find("<tbody id=\"rows\">").expect("the findings table");
    let end = start + dom[start..].find("</tbody>").unwrap();
    dom[start..end]
        .split("<tr>")
        .skip(1)
        .map(|r| r.to_string())
        .collect()
}

const XSS: &str = "<script>alert(1)</script>";

#[test]
fn the_report_renders_filters_and_escapes_in_chromium_without_a_network_request() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pods.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"{XSS}\"\n  namespace: shop\nspec:\n  containers:\n  - name: app\n    image: nginx:1.27\n    securityContext:\n      privileged: true\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: tool\n  namespace: dev\nspec:\n  containers:\n  - name: t\n    image: busybox:1.36\n"
        ),
    )
    .unwrap();
    let page = dir.path().join("report.html");
    let out = common::run(&[
        "scan",
        manifest.to_str().unwrap(),
        "--format",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing is loaded from elsewhere.
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(attr), "{attr} in the page");
    }
    // The hostile name never appears as markup, not even inside the data.
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the page's own two scripts"
    );

    let (proxy, connections) = counting_proxy();
    let profile = tempfile::tempdir().unwrap();
    let dom = dump_dom(&page, "", proxy, profile.path());
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not run"
    );
    let all = rows(&dom);
    assert!(all.len() >= 4, "{all:#?}");
    // The pod's name is text in the table, escaped.
    assert!(
        dom.contains("Pod shop/&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{dom}"
    );
    assert_eq!(
        dom.matches("<script").count(),
        2,
        "a script element was injected"
    );
    assert!(dom.contains("of ") && dom.contains("matching findings shown"));
    // Each finding links to its rule's help, which is on the page.
    assert!(dom.contains("href=\"#rule-pss/privileged\""));
    assert!(dom.contains("id=\"rule-pss/privileged\""));

    // Filters: one rule, one namespace, one severity.
    let privileged = rows(&dump_dom(
        &page,
        "#rule=pss/privileged",
        proxy,
        profile.path(),
    ));
    assert_eq!(privileged.len(), 1, "{privileged:#?}");
    assert!(privileged[0].contains("pss/privileged"));
    let dev = rows(&dump_dom(&page, "#ns=dev", proxy, profile.path()));
    assert!(
        !dev.is_empty() && dev.iter().all(|r| r.contains("Pod dev/tool")),
        "{dev:#?}"
    );
    let low = rows(&dump_dom(&page, "#severity=low", proxy, profile.path()));
    assert!(
        !low.is_empty() && low.iter().all(|r| r.contains("sev-low")),
        "{low:#?}"
    );
    assert!(low.len() < all.len());

    // A screenshot renders too.
    let shot = dir.path().join("report.png");
    let status = chromium(proxy, profile.path())
        .args([
            "--window-size=1400,1000",
            "--virtual-time-budget=30000",
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 10_000,
        "a blank screenshot ({} bytes)",
        png.len()
    );

    // Chromium itself calls its vendor's services (updates, time, accounts)
    // whatever page it shows; anything else came from the page.
    let seen = connections.lock().unwrap().clone();
    let from_page: Vec<&String> = seen.iter().filter(|l| !browser_service(l)).collect();
    assert!(
        from_page.is_empty(),
        "the page made network requests: {from_page:#?}"
    );
}
