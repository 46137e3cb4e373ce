//! Certificate and policy reloads from files that misbehave: a FIFO that
//! never answers must not stall the server (even on a single runtime
//! worker) nor its shutdown, and a file that never ends (a symlink to
//! `/dev/zero`) is refused at the size limit, the previous certificate and
//! policy serving on.
#![cfg(unix)]

use std::path::Path;
use std::time::{Duration, Instant};

use harness::{client, Pki};
use palisade_admission::files::MAX_FILE_BYTES;
use palisade_admission::server::read_policy;
use palisade_admission::tls::CertStore;
use palisade_admission::{LogTarget, ServeOptions, Server};

mod harness;

const POLICY: &str = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec: {}\n";

fn replace_with_fifo(path: &Path) {
    std::fs::remove_file(path).unwrap();
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
}

/// Swaps `path` for a symlink to `/dev/zero` in one rename, so a reload
/// never sees the file missing.
fn replace_with_dev_zero(path: &Path) {
    let link = path.with_extension("link");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    std::fs::rename(&link, path).unwrap();
}

/// The limit as errors name it.
fn limit_text() -> String {
    format!("limit of {MAX_FILE_BYTES} bytes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_fifo_at_the_certificate_path_stalls_neither_healthz_nor_shutdown() {
    let pki = Pki::new();
    std::fs::write(pki.path("palisade.yaml"), POLICY).unwrap();
    let mut opts = ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        pki.path("tls.crt"),
        pki.path("tls.key"),
    );
    opts.policy = Some(pki.path("palisade.yaml"));
    opts.decision_log = LogTarget::File(pki.path("decisions.jsonl"));
    opts.reload_interval = Duration::from_millis(50);
    let server = Server::start(opts).await.unwrap();
    let base = format!("https://localhost:{}", server.local_addr().port());
    let http = client(&pki, None, server.local_addr(), Duration::from_secs(2));
    replace_with_fifo(&pki.path("tls.crt"));
    replace_with_fifo(&pki.path("palisade.yaml"));
    // Several reload ticks go by while the reads wait on the FIFOs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..5 {
        let r = http.get(format!("{base}/healthz")).send().await;
        let r = r.expect("healthz answers with the previous certificate");
        assert_eq!(r.text().await.unwrap(), "ok");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), server.shutdown())
        .await
        .expect("shutdown is not stalled by the FIFO")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_policy_file_is_refused_at_the_limit_and_the_previous_policy_serves() {
    let pki = Pki::new();
    let policy = pki.path("palisade.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let mut opts = ServeOptions::new(
        "127.0.0.1:0".parse().unwrap(),
        pki.path("tls.crt"),
        pki.path("tls.key"),
    );
    opts.policy = Some(policy.clone());
    opts.decision_log = LogTarget::File(pki.path("decisions.jsonl"));
    opts.reload_interval = Duration::from_millis(50);
    let server = Server::start(opts).await.unwrap();
    let base = format!("https://localhost:{}", server.local_addr().port());
    let http = client(&pki, None, server.local_addr(), Duration::from_secs(5));
    replace_with_dev_zero(&policy);
    let err = read_policy(&policy).unwrap_err();
    assert!(err.contains(&limit_text()), "{err}");
    let refused = r#"palisade_policy_reloads_total{result="error"} 1"#;
    let mut seen = String::new();
    for _ in 0..100 {
        seen = http
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if seen.contains(refused) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen.contains(refused), "{seen}");
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    server.shutdown().await.unwrap();
}

#[test]
fn an_endless_certificate_file_is_refused_naming_the_limit_and_the_old_one_stays() {
    let pki = Pki::new();
    let store = CertStore::open(&pki.path("tls.crt"), &pki.path("tls.key")).unwrap();
    let before = store.not_after();
    replace_with_dev_zero(&pki.path("tls.crt"));
    let err = store.reload_if_changed().unwrap_err().to_string();
    assert!(err.contains(&limit_text()), "{err}");
    assert!(err.contains("tls.crt"), "{err}");
    assert_eq!(store.not_after(), before);
    assert!(store.valid_now());
}
