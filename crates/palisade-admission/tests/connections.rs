//! The webhook's connection limits over real TLS, with raw sockets where a
//! well-behaved client cannot misbehave enough: idle connections closed
//! after the header timeout, the connection cap, a declared body over the
//! limit refused before it is sent, the memory budget, the cap on listed
//! violations, and the drain of keep-alive connections on shutdown.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{client, container, pod_review, pod_spec, review, Pki};
use palisade_admission::server::MAX_LISTED;
use palisade_admission::{ServeOptions, Server};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::ServerName;
use serde_json::{json, Value};

mod harness;

/// A server started with `tweak`, and a client that trusts it.
struct Running {
    server: Option<Server>,
    addr: SocketAddr,
    base: String,
    client: reqwest::Client,
    pki: Pki,
}

impl Running {
    async fn start(tweak: impl FnOnce(&mut ServeOptions)) -> Running {
        let pki = Pki::new();
        let mut opts = ServeOptions::new(
            "127.0.0.1:0".parse().unwrap(),
            pki.path("tls.crt"),
            pki.path("tls.key"),
        );
        opts.decision_log = palisade_admission::LogTarget::File(pki.path("decisions.jsonl"));
        tweak(&mut opts);
        let server = Server::start(opts).await.expect("server starts");
        let addr = server.local_addr();
        Running {
            server: Some(server),
            addr,
            base: format!("https://localhost:{}", addr.port()),
            client: client(&pki, None, addr, Duration::from_secs(10)),
            pki,
        }
    }

    /// `/healthz` answered "ok" within `within`.
    async fn healthy_within(&self, within: Duration) -> bool {
        let asked = self
            .client
            .get(format!("{}/healthz", self.base))
            .timeout(within)
            .send()
            .await;
        match asked {
            Ok(r) => r.text().await.is_ok_and(|t| t == "ok"),
            Err(_) => false,
        }
    }

    fn tls_config(&self, alpn: &[u8]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        let ca = rustls::pki_types::CertificateDer::from_pem_slice(self.pki.ca_pem().as_bytes());
        roots.add(ca.unwrap()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        Arc::new(config)
    }

    /// A TLS connection that completed its handshake with `alpn` and has
    /// sent nothing since.
    fn idle_tls(&self, config: &Arc<rustls::ClientConfig>) -> Tls {
        let mut tcp = TcpStream::connect(self.addr).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).unwrap();
        }
        rustls::StreamOwned::new(conn, tcp)
    }

    async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.unwrap();
        }
    }
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Whether the server has closed `s`: reading (past what the server sent
/// unasked, such as HTTP/2 SETTINGS or GOAWAY) ends within `wait` (end of
/// stream or reset) rather than timing out.
fn closed_within(s: &mut impl std::io::Read, tcp: &TcpStream, wait: Duration) -> bool {
    let until = Instant::now() + wait;
    let mut buf = [0u8; 512];
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        tcp.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => return !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_header_timeout_and_healthz_still_answers() {
    let timeout = Duration::from_millis(1500);
    let s = Running::start(|o| o.header_timeout = timeout).await;
    let h1 = s.tls_config(b"http/1.1");
    let h2 = s.tls_config(b"h2");
    let opened = Instant::now();
    // 150 connections that finished the handshake (both protocols) and 30
    // that never started it, all silent.
    let mut tls: Vec<Tls> = (0..150)
        .map(|i| s.idle_tls(if i % 2 == 0 { &h1 } else { &h2 }))
        .collect();
    let mut raw: Vec<TcpStream> = (0..30)
        .map(|_| TcpStream::connect(s.addr).unwrap())
        .collect();
    assert!(
        opened.elapsed() < timeout,
        "opening took {:?}",
        opened.elapsed()
    );
    assert!(s.healthy_within(Duration::from_secs(2)).await);
    let first = &mut tls[0];
    let tcp = first.sock.try_clone().unwrap();
    assert!(
        !closed_within(first, &tcp, Duration::from_millis(100)),
        "closed before the timeout"
    );
    tokio::time::sleep(timeout).await;
    let wait = Duration::from_secs(2);
    for (i, t) in tls.iter_mut().enumerate() {
        let tcp = t.sock.try_clone().unwrap();
        assert!(
            closed_within(t, &tcp, wait),
            "TLS connection {i} still open"
        );
    }
    for (i, t) in raw.iter_mut().enumerate() {
        let tcp = t.try_clone().unwrap();
        assert!(
            closed_within(t, &tcp, wait),
            "TCP connection {i} still open"
        );
    }
    assert!(s.healthy_within(Duration::from_secs(2)).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_wait_until_one_closes() {
    let s = Running::start(|o| o.max_connections = 4).await;
    let h1 = s.tls_config(b"http/1.1");
    let mut held: Vec<Tls> = (0..4).map(|_| s.idle_tls(&h1)).collect();
    assert!(
        !s.healthy_within(Duration::from_millis(500)).await,
        "a fifth connection was served"
    );
    held.pop();
    assert!(s.healthy_within(Duration::from_secs(2)).await);
    drop(held);
    s.stop().await;
}

/// Sends `head` (request line and headers) on a fresh HTTP/1.1 connection
/// and returns the connection.
fn send_head(s: &Running, head: &str) -> Tls {
    let mut t = s.idle_tls(&s.tls_config(b"http/1.1"));
    t.write_all(head.as_bytes()).unwrap();
    t.flush().unwrap();
    t
}

/// The status line of the answer on `t`, read within `wait`.
fn status_line(t: &mut Tls, wait: Duration) -> String {
    t.sock.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match t.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got);
    text.lines().next().unwrap_or_default().to_string()
}

fn post_head(length: usize) -> String {
    format!(
        "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_gets_413_before_the_body_is_sent() {
    let s = Running::start(|_| {}).await;
    let mut t = send_head(&s, &post_head(100 << 20));
    let started = Instant::now();
    let status = status_line(&mut t, Duration::from_secs(3));
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert!(started.elapsed() < Duration::from_secs(2));
    s.stop().await;
}

/// A Pod review padded with an annotation to about `bytes`.
fn padded_review(bytes: usize) -> Vec<u8> {
    let mut r = pod_review("registry.example.com/app:1");
    r["request"]["object"]["metadata"]["annotations"] = json!({"pad": "x".repeat(bytes)});
    serde_json::to_vec(&r).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_while_others_hold_the_memory_budget() {
    let s = Running::start(|o| {
        o.max_body_bytes = 1 << 20;
        o.max_inflight_bytes = 1 << 20;
    })
    .await;
    // Declares 900 kB and sends a little: its reservation is held.
    let mut holder = send_head(&s, &post_head(900_000));
    holder.write_all(b"{\"apiVersion\":").unwrap();
    holder.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let body = padded_review(200_000);
    let post = |body: Vec<u8>| {
        s.client
            .post(format!("{}/validate", s.base))
            .header("content-type", "application/json")
            .body(body)
            .timeout(Duration::from_millis(600))
            .send()
    };
    assert!(
        post(body.clone()).await.is_err(),
        "200 kB were read beside 900 kB in a budget of 1 MiB"
    );
    drop(holder);
    let r = post(body).await.expect("answered once the budget is free");
    assert_eq!(r.status().as_u16(), 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_of_many_violating_containers_lists_the_first_ones_and_counts_the_rest() {
    let s = Running::start(|_| {}).await;
    let containers: Vec<Value> = (0..300)
        .map(|i| {
            let mut c = container(&format!("c{i}"), "registry.example.com/app:1");
            c["securityContext"]["privileged"] = json!(true);
            c
        })
        .collect();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "many"},
        "spec": pod_spec(containers)});
    let r = s
        .client
        .post(format!("{}/validate", s.base))
        .json(&review(("", "v1", "Pod"), pod))
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.len() < 64 << 10, "{} bytes", text.len());
    let v: Value = serde_json::from_str(&text).unwrap();
    let message = v["response"]["status"]["message"].as_str().unwrap();
    let listed = message.matches("; [").count();
    assert_eq!(listed, MAX_LISTED, "{message}");
    let more = message.rsplit("; and ").next().unwrap();
    let more: usize = more.trim_end_matches(" more").parse().expect(message);
    let total: usize = message
        .split(": ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect(message);
    assert!(total >= 300, "{message}");
    assert_eq!(listed + more, total, "{message}");
    let warnings = v["response"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), MAX_LISTED + 1, "{warnings:?}");
    let last = warnings[MAX_LISTED].as_str().unwrap();
    assert!(
        last.starts_with("and ") && last.ends_with(" more"),
        "{last}"
    );
    s.stop().await;
}

/// What one keep-alive client saw while the server shut down.
#[derive(Debug, Default)]
struct Seen {
    answered: usize,
    /// Requests sent whose connection closed before an answer.
    lost: usize,
    told_to_close: bool,
}

/// Sends `body` to `/validate` again and again on one connection until the
/// server says it closes the connection or closes it.
fn keep_posting(mut t: Tls, body: &[u8]) -> Seen {
    let mut seen = Seen::default();
    t.sock
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = [post_head(body.len()).as_bytes(), body].concat();
    loop {
        if t.write_all(&request).and_then(|_| t.flush()).is_err() {
            return seen;
        }
        match read_response(&mut t) {
            None => {
                seen.lost += 1;
                return seen;
            }
            Some(close) => {
                seen.answered += 1;
                if close {
                    seen.told_to_close = true;
                    return seen;
                }
            }
        }
    }
}

/// Reads one HTTP/1.1 answer; `Some(true)` if it says `Connection: close`,
/// `None` if the connection ended first.
fn read_response(t: &mut Tls) -> Option<bool> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = t.read(&mut buf).ok().filter(|&n| n > 0)?;
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|n| n.trim().parse().ok())?;
    while got.len() < end + length {
        let n = t.read(&mut buf).ok().filter(|&n| n > 0)?;
        got.extend_from_slice(&buf[..n]);
    }
    Some(head.contains("\r\nconnection: close"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_every_request_sent_on_keep_alive_connections() {
    let mut s = Running::start(|_| {}).await;
    let body = serde_json::to_vec(&pod_review("registry.example.com/app:1")).unwrap();
    let config = s.tls_config(b"http/1.1");
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let t = s.idle_tls(&config);
            let body = body.clone();
            std::thread::spawn(move || keep_posting(t, &body))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server = s.server.take().unwrap();
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown within its grace")
        .unwrap();
    let seen: Vec<Seen> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let lost: usize = seen.iter().map(|s| s.lost).sum();
    assert_eq!(lost, 0, "{seen:?}");
    assert!(
        seen.iter().all(|s| s.answered > 0 && s.told_to_close),
        "{seen:?}"
    );
    assert!(!s.healthy_within(Duration::from_millis(500)).await);
}
