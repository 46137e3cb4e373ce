//! Resolution against registries that are harder to talk to: a
//! `docker-registry` that serves TLS with a CA made for the run and asks for
//! htpasswd basic auth; the same plain registry behind a proxy that answers
//! 429 or 503 first; and a listener that never answers.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{DockerConfig, Layout, Registry, SecureRegistry};
use palisade_oci::{Client, ClientOptions, OciError, Platform};

/// Attempts the client makes per registry call, and its backoff before the
/// second and the third (see `ATTEMPTS` and `FIRST_BACKOFF` in the crate).
const ATTEMPTS: usize = 3;
const TOTAL_BACKOFF: Duration = Duration::from_millis(250 + 500);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Resolves `reference` with a fresh client (so nothing is cached).
fn resolve(options: ClientOptions, reference: &str) -> Result<palisade_oci::Resolved, OciError> {
    let client = Client::new(options).unwrap();
    rt().block_on(client.resolve(reference))
}

/// Pushes `test/app:v1` (one linux/amd64 image) and `test/multi:v1` (an
/// index of linux/amd64 and linux/arm64) and returns (app, multi, multi's amd64) digests.
fn push_images(registry: &Registry) -> (String, String, String) {
    let mut layout = Layout::new();
    let app = layout.image("linux", "amd64", "app");
    layout.tag("v1", &app, common::OCI_MANIFEST);
    let amd64 = layout.image("linux", "amd64", "multi amd64");
    let arm64 = layout.image("linux", "arm64", "multi arm64");
    let multi = layout.index(&[("linux", "amd64", &amd64), ("linux", "arm64", &arm64)]);
    layout.tag("multi", &multi, common::OCI_INDEX);
    registry.push(&layout.dir, "v1", "test/app:v1");
    registry.push(&layout.dir, "multi", "test/multi:v1");
    (app.digest, multi.digest, amd64.digest)
}

// ---------------------------------------------------------------------------
// TLS and basic auth

#[test]
fn secure_registry_scenarios() {
    // One registry for all scenarios: generating certificates, starting it
    // and pushing over TLS costs about a second.
    let reg = Registry::start_secure("palisade", "s3cret-pass");
    let digests = push_images(&reg.registry);
    tls_and_config_json_credentials_resolve_like_skopeo(&reg, &digests);
    missing_credentials_are_unauthorized(&reg);
    wrong_password_is_unauthorized(&reg);
    unknown_ca_is_a_certificate_error(&reg);
}

/// Options that trust the run's CA and read credentials from `config`.
fn secure_options(reg: &SecureRegistry, config: &DockerConfig) -> ClientOptions {
    ClientOptions {
        ca_file: Some(reg.ca_file.clone()),
        registry_config: Some(config.path.clone()),
        platform: "linux/amd64".parse::<Platform>().unwrap(),
        timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

fn tls_and_config_json_credentials_resolve_like_skopeo(
    reg: &SecureRegistry,
    (app, multi, multi_amd64): &(String, String, String),
) {
    let config = reg.docker_config(&reg.user, &reg.password);
    let r = resolve(
        secure_options(reg, &config),
        &format!("{}/test/app:v1", reg.host()),
    )
    .unwrap();
    assert_eq!(r.digest, reg.registry.skopeo_inspect_digest("test/app:v1"));
    assert_eq!(&r.digest, app);
    assert_eq!(r.platform_digest, None);

    // An index takes a second authenticated fetch (the platform manifest by digest).
    let r = resolve(
        secure_options(reg, &config),
        &format!("{}/test/multi:v1", reg.host()),
    )
    .unwrap();
    assert_eq!(r.digest, reg.registry.skopeo_digest("test/multi:v1"));
    assert_eq!(&r.digest, multi);
    assert_eq!(r.platform_digest.as_ref(), Some(multi_amd64));
}

fn missing_credentials_are_unauthorized(reg: &SecureRegistry) {
    // No entry at all, and an entry for another registry only: neither may
    // reach this one (and neither reads the machine's ~/.docker).
    let other = DockerConfig::with_auth("127.0.0.1:1", &reg.user, &reg.password);
    for config in [DockerConfig::empty(), other] {
        let err = resolve(
            secure_options(reg, &config),
            &format!("{}/test/app:v1", reg.host()),
        )
        .unwrap_err();
        assert!(matches!(err, OciError::Unauthorized { .. }), "{err:?}");
        assert!(err.to_string().contains("unauthorized"), "{err}");
    }
}

fn wrong_password_is_unauthorized(reg: &SecureRegistry) {
    let config = reg.docker_config(&reg.user, "not-the-password");
    let err = resolve(
        secure_options(reg, &config),
        &format!("{}/test/app:v1", reg.host()),
    )
    .unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err:?}");
}

fn unknown_ca_is_a_certificate_error(reg: &SecureRegistry) {
    let config = reg.docker_config(&reg.user, &reg.password);
    let options = ClientOptions {
        ca_file: None,
        ..secure_options(reg, &config)
    };
    let err = resolve(options, &format!("{}/test/app:v1", reg.host())).unwrap_err();
    // rustls refuses the handshake; it surfaces as a transport error whose
    // cause chain names the certificate problem.
    assert!(matches!(err, OciError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string().to_lowercase();
    assert!(
        msg.contains("certificate") && msg.contains(reg.host()),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------
// 429 and 503 answers

/// A loopback TCP proxy in front of a real plain-HTTP registry. It only
/// injects status codes: it answers the first `failures` manifest requests
/// (`/v2/<repo>/manifests/<ref>`) itself with `status`, and forwards every
/// other request unchanged, so every successful answer comes from the real
/// docker-registry behind it. Each forwarded request gets `Connection: close`
/// so that every request opens a new connection and passes the check.
/// Written with std threads: it needs to parse one request line, which no
/// proxy crate makes shorter.
struct FaultProxy {
    /// `127.0.0.1:PORT` of the proxy.
    host: String,
    /// Manifest requests seen (answered or forwarded).
    manifest_requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// An injected answer: status line and body.
#[derive(Clone, Copy)]
enum Fault {
    /// 429 with the registry error envelope Docker Hub sends.
    TooManyRequests,
    /// 503 with a plain-text body, as a load balancer would send it.
    Unavailable,
}

impl Fault {
    fn response(self) -> String {
        let (status, content_type, body) = match self {
            Fault::TooManyRequests => (
                "429 Too Many Requests",
                "application/json",
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limit injected by the test proxy"}]}"#,
            ),
            Fault::Unavailable => (
                "503 Service Unavailable",
                "text/plain",
                "unavailable (injected by the test proxy)\n",
            ),
        };
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn code(self) -> &'static str {
        match self {
            Fault::TooManyRequests => "429",
            Fault::Unavailable => "503",
        }
    }
}

impl FaultProxy {
    fn start(upstream: &str, fault: Fault, failures: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let manifest_requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped, upstream) = (
            manifest_requests.clone(),
            stop.clone(),
            upstream.to_string(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (seen, upstream) = (seen.clone(), upstream.clone());
                std::thread::spawn(move || {
                    // A broken connection only fails the request the client is making.
                    let _ = relay(conn, &upstream, &seen, fault, failures);
                });
            }
        });
        Self {
            host,
            manifest_requests,
            stop,
        }
    }

    fn manifest_requests(&self) -> usize {
        self.manifest_requests.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Wake the accept loop so that it sees the flag and ends.
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.host);
    }
}

/// Serves one connection: one request, answered by the fault or by upstream.
fn relay(
    mut client: TcpStream,
    upstream: &str,
    seen: &AtomicUsize,
    fault: Fault,
    failures: usize,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    // The client only sends GET and HEAD here: nothing follows the head.
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let path = text.split_whitespace().nth(1).unwrap_or_default();
    if path.starts_with("/v2/") && path.contains("/manifests/") {
        let before = seen.fetch_add(1, Ordering::SeqCst);
        if before < failures {
            client.write_all(fault.response().as_bytes())?;
            return client.shutdown(Shutdown::Both);
        }
    }
    let mut forwarded: Vec<&str> = text
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    forwarded.push("Connection: close");
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(format!("{}\r\n\r\n", forwarded.join("\r\n")).as_bytes())?;
    std::io::copy(&mut server, &mut client)?;
    client.shutdown(Shutdown::Both)
}

/// Options for a plain-HTTP registry at `host`, credentials from `config`.
fn plain_options(host: &str, config: &DockerConfig, timeout: Duration) -> ClientOptions {
    ClientOptions {
        insecure_registries: vec![host.to_string()],
        registry_config: Some(config.path.clone()),
        timeout,
        ..ClientOptions::default()
    }
}

/// Fewer faults than attempts are absorbed by the retries: the digest is the
/// registry's, and each fault cost one more manifest request.
fn faults_below_the_attempts_are_retried(fault: Fault) {
    let registry = Registry::start();
    let (app, _, _) = push_images(&registry);
    for failures in 1..ATTEMPTS {
        let proxy = FaultProxy::start(&registry.host, fault, failures);
        let config = DockerConfig::empty();
        let options = plain_options(&proxy.host, &config, Duration::from_secs(10));
        let r = resolve(options, &format!("{}/test/app:v1", proxy.host))
            .unwrap_or_else(|e| panic!("{} x{failures}: {e:?}", fault.code()));
        assert_eq!(r.digest, app, "{} x{failures}", fault.code());
        assert_eq!(proxy.manifest_requests(), failures + 1, "{}", fault.code());
    }
}

/// As many faults as attempts (or more) end the call after exactly
/// `ATTEMPTS` requests, as `Unreachable` naming the last status.
fn faults_on_every_attempt_are_unreachable(fault: Fault) {
    let registry = Registry::start();
    push_images(&registry);
    for failures in [ATTEMPTS, ATTEMPTS + 5] {
        let proxy = FaultProxy::start(&registry.host, fault, failures);
        let config = DockerConfig::empty();
        let options = plain_options(&proxy.host, &config, Duration::from_secs(10));
        let err = resolve(options, &format!("{}/test/app:v1", proxy.host)).unwrap_err();
        assert!(
            matches!(err, OciError::Unreachable { .. }),
            "{} x{failures}: {err:?}",
            fault.code()
        );
        assert!(err.to_string().contains(fault.code()), "{err}");
        assert_eq!(proxy.manifest_requests(), ATTEMPTS, "{}", fault.code());
    }
}

#[test]
fn too_many_requests_is_retried_with_backoff() {
    faults_below_the_attempts_are_retried(Fault::TooManyRequests);
}

#[test]
fn too_many_requests_on_every_attempt_is_unreachable() {
    faults_on_every_attempt_are_unreachable(Fault::TooManyRequests);
}

#[test]
fn service_unavailable_is_retried_with_backoff() {
    faults_below_the_attempts_are_retried(Fault::Unavailable);
}

#[test]
fn service_unavailable_on_every_attempt_is_unreachable() {
    faults_on_every_attempt_are_unreachable(Fault::Unavailable);
}

// ---------------------------------------------------------------------------
// Per-request timeout

#[test]
fn silent_registry_times_out_per_request() {
    // Never accepted: the kernel still completes the handshake for the
    // backlog, so the client connects, sends its request and waits.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let timeout = Duration::from_secs(1);
    let config = DockerConfig::empty();
    let started = Instant::now();
    let err = resolve(
        plain_options(&host, &config, timeout),
        &format!("{host}/test/app:v1"),
    )
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, OciError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"), "{err}");
    // Every attempt waits for the timeout, and for no more than that.
    let least = timeout * ATTEMPTS as u32;
    let most = least + TOTAL_BACKOFF + Duration::from_secs(2);
    assert!(
        elapsed >= least && elapsed <= most,
        "took {elapsed:?}, expected {least:?}..{most:?}"
    );
    drop(listener);
}
