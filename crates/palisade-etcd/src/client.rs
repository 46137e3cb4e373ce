//! etcd's v3 KV API over gRPC (tonic), read only: Range with `limit` and
//! the first page's revision, so that a listing is one consistent snapshot
//! however many pages it takes. TLS with a client certificate, as the API
//! server connects (`--etcd-cafile`, `--etcd-certfile`, `--etcd-keyfile`).
//!
//! The messages are declared here from etcd's `etcdserverpb/rpc.proto`
//! and `mvccpb/kv.proto` (the fields read and written) instead of being
//! generated: the maintained client crate, etcd-client, generates them at
//! build time and so needs `protoc` on every machine that builds palisade.

use std::path::PathBuf;
use std::time::Duration;

use http::uri::PathAndQuery;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// `etcdserverpb.RangeRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RangeRequest {
    /// First key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// End of the range (exclusive).
    #[prost(bytes = "vec", tag = "2")]
    pub range_end: Vec<u8>,
    /// At most this many keys.
    #[prost(int64, tag = "3")]
    pub limit: i64,
    /// At this revision (0: the newest).
    #[prost(int64, tag = "4")]
    pub revision: i64,
    /// Served by the member asked, without a quorum read.
    #[prost(bool, tag = "7")]
    pub serializable: bool,
    /// Keys only.
    #[prost(bool, tag = "8")]
    pub keys_only: bool,
}

/// `etcdserverpb.ResponseHeader`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResponseHeader {
    /// The store's revision when the request was served.
    #[prost(int64, tag = "3")]
    pub revision: i64,
}

/// `mvccpb.KeyValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// The key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// Revision of its last change.
    #[prost(int64, tag = "3")]
    pub mod_revision: i64,
    /// The value.
    #[prost(bytes = "vec", tag = "5")]
    pub value: Vec<u8>,
}

/// `etcdserverpb.RangeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RangeResponse {
    /// The header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
    /// The keys (and values) of this page.
    #[prost(message, repeated, tag = "2")]
    pub kvs: Vec<KeyValue>,
    /// More keys in the range.
    #[prost(bool, tag = "3")]
    pub more: bool,
    /// Keys in the whole range.
    #[prost(int64, tag = "4")]
    pub count: i64,
}

/// `etcdserverpb.PutRequest`.
#[cfg(feature = "write")]
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRequest {
    /// The key.
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    /// The value.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `etcdserverpb.PutResponse` (its header only).
#[cfg(feature = "write")]
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutResponse {
    /// The header.
    #[prost(message, optional, tag = "1")]
    pub header: Option<ResponseHeader>,
}

/// How to reach etcd.
#[derive(Debug, Clone)]
pub struct EtcdOptions {
    /// `https://host:2379` (or `http://` for an etcd without TLS), tried in order.
    pub endpoints: Vec<String>,
    /// The CA that signed etcd's serving certificate.
    pub cacert: Option<PathBuf>,
    /// Client certificate (PEM).
    pub cert: Option<PathBuf>,
    /// Its key (PEM).
    pub key: Option<PathBuf>,
    /// The name etcd's certificate is checked against, when not the endpoint's host.
    pub server_name: Option<String>,
    /// Connect and per-request timeout.
    pub timeout: Duration,
    /// Largest page accepted, in bytes.
    pub max_page_bytes: usize,
}

impl Default for EtcdOptions {
    fn default() -> Self {
        EtcdOptions {
            endpoints: vec!["https://127.0.0.1:2379".into()],
            cacert: None,
            cert: None,
            key: None,
            server_name: None,
            timeout: Duration::from_secs(30),
            max_page_bytes: 64 << 20,
        }
    }
}

/// A connection to one etcd member.
pub struct Etcd {
    grpc: tonic::client::Grpc<Channel>,
    timeout: Duration,
    /// The endpoint connected to.
    pub endpoint: String,
}

impl Etcd {
    /// Connects to the first endpoint that answers.
    pub async fn connect(opts: &EtcdOptions) -> Result<Etcd, String> {
        let tls = tls(opts)?;
        let mut failures = Vec::new();
        for url in &opts.endpoints {
            match connect_one(url, tls.clone(), opts).await {
                Ok(channel) => {
                    let grpc = tonic::client::Grpc::new(channel)
                        .max_decoding_message_size(opts.max_page_bytes);
                    return Ok(Etcd {
                        grpc,
                        timeout: opts.timeout,
                        endpoint: url.clone(),
                    });
                }
                Err(e) => failures.push(format!("{url}: {e}")),
            }
        }
        Err(format!("cannot connect to etcd ({})", failures.join("; ")))
    }

    /// One Range request.
    pub async fn range(&mut self, req: RangeRequest) -> Result<RangeResponse, String> {
        self.grpc.ready().await.map_err(|e| {
            format!(
                "etcd at {} is not ready: {}",
                self.endpoint,
                palisade_core::with_causes(&e)
            )
        })?;
        let path = PathAndQuery::from_static("/etcdserverpb.KV/Range");
        let call = self.grpc.unary(
            tonic::Request::new(req),
            path,
            tonic_prost::ProstCodec::default(),
        );
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r
                .map(tonic::Response::into_inner)
                .map_err(|s| status(&s, &self.endpoint)),
            Err(_) => Err(format!(
                "etcd at {}: no answer within {} s",
                self.endpoint,
                self.timeout.as_secs()
            )),
        }
    }

    /// One Put request (tests and benchmarks).
    #[cfg(feature = "write")]
    pub async fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), String> {
        self.grpc
            .ready()
            .await
            .map_err(|e| palisade_core::with_causes(&e))?;
        let path = PathAndQuery::from_static("/etcdserverpb.KV/Put");
        let req = PutRequest {
            key: key.to_vec(),
            value: value.to_vec(),
        };
        self.grpc
            .unary::<_, PutResponse, _>(
                tonic::Request::new(req),
                path,
                tonic_prost::ProstCodec::default(),
            )
            .await
            .map(|_| ())
            .map_err(|s| status(&s, &self.endpoint))
    }
}

fn tls(opts: &EtcdOptions) -> Result<Option<ClientTlsConfig>, String> {
    let read = |p: &PathBuf, what: &str| {
        std::fs::read(p).map_err(|e| format!("cannot read the {what} {}: {e}", p.display()))
    };
    let mut tls = ClientTlsConfig::new();
    let mut any = false;
    if let Some(ca) = &opts.cacert {
        tls = tls.ca_certificate(Certificate::from_pem(read(ca, "CA certificate")?));
        any = true;
    }
    match (&opts.cert, &opts.key) {
        (Some(c), Some(k)) => {
            tls = tls.identity(Identity::from_pem(
                read(c, "client certificate")?,
                read(k, "client key")?,
            ));
            any = true;
        }
        (None, None) => {}
        _ => return Err("--cert and --key go together".into()),
    }
    if let Some(name) = &opts.server_name {
        tls = tls.domain_name(name.clone());
    }
    let https = opts.endpoints.iter().any(|e| e.starts_with("https://"));
    Ok((any || https).then_some(tls))
}

async fn connect_one(
    url: &str,
    tls: Option<ClientTlsConfig>,
    opts: &EtcdOptions,
) -> Result<Channel, String> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("not an endpoint URL ({e})"))?
        .connect_timeout(opts.timeout)
        .timeout(opts.timeout)
        // A page of values is hundreds of KiB: with HTTP/2's default 64 KiB
        // windows every page waited on window updates (25 ms a page).
        .initial_stream_window_size(Some(16 << 20))
        .initial_connection_window_size(Some(32 << 20))
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        if let Some(tls) = tls {
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| palisade_core::with_causes(&e))?;
        }
    } else if !url.starts_with("http://") {
        return Err(
            "the endpoint must start with https:// (or http:// for an etcd without TLS)".into(),
        );
    }
    // The connect timeout covers the TCP connection only; a peer that
    // accepts it and never completes the TLS handshake would hang here.
    match tokio::time::timeout(opts.timeout, endpoint.connect()).await {
        Ok(r) => r.map_err(|e| palisade_core::with_causes(&e)),
        Err(_) => Err(format!("no answer within {} s", opts.timeout.as_secs())),
    }
}

fn status(s: &tonic::Status, endpoint: &str) -> String {
    let mut out = format!("etcd at {endpoint}: {}", s.message());
    if s.message().is_empty() {
        out.push_str(&format!("{:?}", s.code()));
    }
    if let Some(source) = std::error::Error::source(s) {
        let causes = palisade_core::with_causes(source);
        if !out.contains(&causes) {
            out.push_str(": ");
            out.push_str(&causes);
        }
    }
    out
}

/// The end of the range of keys starting with `prefix` (its last byte
/// plus one, as etcd's `--prefix` computes it).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_end_is_the_next_key_after_every_key_with_the_prefix() {
        assert_eq!(prefix_end(b"/registry/secrets/"), b"/registry/secrets0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), b"\0");
    }
}
