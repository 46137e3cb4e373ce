//! Paginated LISTs, as the API server serves them: `limit` and
//! `continue`, a restart when a continue token has expired (410 Gone),
//! `Retry-After` on 429 and 503, and every other failure an error that
//! names the resource and, for 403, the permission palisade lacks.

use std::collections::HashSet;
use std::time::Duration;

use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use kube::client::Body;
use kube::Client;
use serde_json::Value;

use crate::resources::Resource;

/// Bounds on reading the API.
#[derive(Debug, Clone, Copy)]
pub struct ListOptions {
    /// Objects per page (`limit`).
    pub page_size: u32,
    /// Time for one request, headers and body.
    pub request_timeout: Duration,
    /// Bytes of one page's body at most.
    pub max_page_bytes: usize,
    /// Retries of one request answered 429 or 503.
    pub max_retries: u32,
    /// Longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Restarts of one list whose continue token expired.
    pub max_restarts: u32,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions {
            page_size: 500,
            request_timeout: Duration::from_secs(60),
            max_page_bytes: 256 << 20,
            max_retries: 5,
            max_retry_after: Duration::from_secs(30),
            max_restarts: 3,
        }
    }
}

/// Reads the API.
#[derive(Clone)]
pub struct Lister {
    client: Client,
    opts: ListOptions,
}

/// A request that failed, with what to tell the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The message.
    pub message: String,
}

/// One page of a list.
#[derive(Debug, Default)]
pub struct Page {
    /// Its objects, each with `apiVersion` and `kind` set (list items
    /// carry neither).
    pub items: Vec<Value>,
    /// What happened on the way (a restart), for the summary.
    pub notes: Vec<String>,
}

impl Lister {
    /// A lister on `client`.
    pub fn new(client: Client, opts: ListOptions) -> Self {
        Lister { client, opts }
    }

    /// `GET path` as JSON (discovery, `/version`).
    pub async fn get_json(&self, path: &str) -> Result<Value, Failure> {
        let (status, body) = self.get(path, "application/json").await?;
        if !status.is_success() {
            return Err(Failure {
                status: Some(status.as_u16()),
                message: format!("GET {path}: {}", status_text(status, &body)),
            });
        }
        serde_json::from_slice(&body).map_err(|e| Failure {
            status: None,
            message: format!("GET {path}: the response is not JSON: {e}"),
        })
    }

    /// The API server's `gitVersion` (`v1.33.2`), from `/version`.
    pub async fn server_version(&self) -> Result<String, Failure> {
        let v = self.get_json("/version").await?;
        v.get("gitVersion")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Failure {
                status: None,
                message: "GET /version: no gitVersion in the response".into(),
            })
    }

    /// A list of `resource` (in `namespace`, or cluster-wide), read a page
    /// at a time with [`List::next_page`].
    pub fn list<'a>(&'a self, resource: &'a Resource, namespace: Option<&'a str>) -> List<'a> {
        List {
            lister: self,
            resource,
            path: resource.path(namespace),
            token: None,
            done: false,
            restarts: 0,
            seen: HashSet::new(),
            restarted: false,
            read: 0,
        }
    }

    /// One GET, with retries on 429 and 503, within the request timeout
    /// and the page size limit.
    async fn get(&self, path: &str, accept: &str) -> Result<(StatusCode, Vec<u8>), Failure> {
        self.send(http::Method::GET, path, accept, None).await
    }

    /// A request with a body of `content_type`, answered as JSON.
    pub async fn request(
        &self,
        method: http::Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Vec<u8>), Failure> {
        self.send(method, path, "application/json", Some((content_type, body)))
            .await
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        accept: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<(StatusCode, Vec<u8>), Failure> {
        let mut attempt = 0;
        loop {
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(header::ACCEPT, accept);
            let content = match &body {
                Some((ct, bytes)) => {
                    builder = builder.header(header::CONTENT_TYPE, *ct);
                    Body::from(bytes.clone())
                }
                None => Body::empty(),
            };
            let request = builder.body(content).map_err(|e| Failure {
                status: None,
                message: format!("{method} {path}: {e}"),
            })?;
            let send = async {
                let response = self.client.send(request).await.map_err(|e| Failure {
                    status: None,
                    message: format!("{method} {path}: {}", palisade_core::with_causes(&e)),
                })?;
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok());
                let body = Limited::new(response.into_body(), self.opts.max_page_bytes)
                    .collect()
                    .await
                    .map_err(|e| Failure {
                        status: Some(status.as_u16()),
                        message: if e.is::<http_body_util::LengthLimitError>() {
                            format!(
                                "{method} {path}: the response is over {} bytes (a smaller --page-size reads less at once)",
                                self.opts.max_page_bytes
                            )
                        } else {
                            format!("{method} {path}: the connection failed while the response was read: {}", palisade_core::with_causes(&*e))
                        },
                    })?
                    .to_bytes()
                    .to_vec();
                Ok::<_, Failure>((status, retry_after, body))
            };
            let (status, retry_after, body) =
                match tokio::time::timeout(self.opts.request_timeout, send).await {
                    Ok(r) => r?,
                    Err(_) => {
                        return Err(Failure {
                            status: None,
                            message: format!(
                                "{method} {path}: no complete response within {} s",
                                self.opts.request_timeout.as_secs()
                            ),
                        })
                    }
                };
            let busy = matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            );
            if busy && attempt < self.opts.max_retries {
                attempt += 1;
                let wait =
                    Duration::from_secs(retry_after.unwrap_or(1)).min(self.opts.max_retry_after);
                tracing::info!(path, status = status.as_u16(), wait = ?wait, "retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok((status, body));
        }
    }
}

/// A list being read.
pub struct List<'a> {
    lister: &'a Lister,
    resource: &'a Resource,
    path: String,
    token: Option<String>,
    done: bool,
    restarts: u32,
    /// Objects read so far (namespace/name), so that a restarted list does
    /// not check them twice.
    seen: HashSet<String>,
    restarted: bool,
    read: usize,
}

impl List<'_> {
    /// The collection's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Objects read so far.
    pub fn read(&self) -> usize {
        self.read
    }

    /// The next page, `None` after the last.
    pub async fn next_page(&mut self) -> Result<Option<Page>, Failure> {
        let mut page = Page::default();
        loop {
            if self.done {
                return Ok(None);
            }
            let mut url = format!("{}?limit={}", self.path, self.lister.opts.page_size);
            if let Some(t) = &self.token {
                url.push_str("&continue=");
                url.push_str(&encode(t));
            }
            let accept = if self.resource.metadata_only {
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
            } else {
                "application/json"
            };
            let (status, body) = self
                .lister
                .get(&url, accept)
                .await
                .map_err(|f| self.failed(f))?;
            if status == StatusCode::GONE && self.token.is_some() {
                if self.restarts >= self.lister.opts.max_restarts {
                    return Err(self.failed(Failure {
                        status: Some(410),
                        message: format!(
                            "the continue token expired {} times (410 Gone); the list is incomplete",
                            self.restarts + 1
                        ),
                    }));
                }
                self.restarts += 1;
                self.token = None;
                self.restarted = true;
                page.notes.push(format!(
                    "LIST {}: the continue token expired (410 Gone) after {} objects; the list was restarted from the beginning and objects already checked were not checked again",
                    self.path, self.read
                ));
                continue;
            }
            if !status.is_success() {
                let f = Failure {
                    status: Some(status.as_u16()),
                    message: status_text(status, &body),
                };
                return Err(self.failed(f));
            }
            let mut list: Value = serde_json::from_slice(&body).map_err(|e| {
                self.failed(Failure {
                    status: Some(status.as_u16()),
                    message: format!("the response is not JSON ({e})"),
                })
            })?;
            let items = match list.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) => Vec::new(),
                _ => {
                    return Err(self.failed(Failure {
                        status: Some(status.as_u16()),
                        message: "the response is not a list (no items)".into(),
                    }))
                }
            };
            let token = list
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            self.done = token.is_none();
            self.token = token;
            let api_version = self.resource.api_version();
            for mut item in items {
                let Value::Object(map) = &mut item else {
                    return Err(self.failed(Failure {
                        status: Some(status.as_u16()),
                        message: "an item of the list is not an object".into(),
                    }));
                };
                let key = format!(
                    "{}/{}",
                    map.get("metadata")
                        .and_then(|m| m.get("namespace"))
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    map.get("metadata")
                        .and_then(|m| m.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                );
                if !self.seen.insert(key) && self.restarted {
                    continue;
                }
                // Items of a list carry no apiVersion and kind; metadata-only
                // items carry PartialObjectMetadata's.
                map.insert("apiVersion".into(), Value::String(api_version.clone()));
                map.insert("kind".into(), Value::String(self.resource.kind.clone()));
                self.read += 1;
                page.items.push(item);
            }
            return Ok(Some(page));
        }
    }

    /// `f` as the error of this list: it names the resource, the objects
    /// read before it, and for 403 the permission needed.
    fn failed(&mut self, f: Failure) -> Failure {
        self.done = true;
        let what = self.resource.display();
        let mut message = format!("cannot list {what} ({}): {}", self.path, f.message);
        if f.status == Some(403) {
            message.push_str(&format!(
                "; palisade needs `list` on `{}` in API group \"{}\" (deploy/audit/clusterrole.yaml grants what palisade reads)",
                self.resource.plural, self.resource.group
            ));
        }
        if self.read > 0 {
            message.push_str(&format!(
                "; the list is incomplete: {} objects were read and checked before",
                self.read
            ));
        }
        Failure {
            status: f.status,
            message,
        }
    }
}

/// `403 Forbidden: <the Status message>`, from an API error body.
fn status_text(status: StatusCode, body: &[u8]) -> String {
    let detail = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
            text.trim().to_string()
        });
    let reason = status.canonical_reason().unwrap_or("");
    if detail.is_empty() {
        format!("{} {reason}", status.as_u16())
    } else {
        format!("{} {reason}: {detail}", status.as_u16())
    }
}

/// Percent-encodes a continue token for the query string.
fn encode(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    for b in token.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_percent_encoded() {
        assert_eq!(encode("eyJ2Ijo+/="), "eyJ2Ijo%2B%2F%3D");
    }

    #[test]
    fn api_errors_give_their_status_message() {
        let body = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods is forbidden: User \"x\" cannot list resource \"pods\"","reason":"Forbidden","code":403}"#;
        assert_eq!(
            status_text(StatusCode::FORBIDDEN, body),
            "403 Forbidden: pods is forbidden: User \"x\" cannot list resource \"pods\""
        );
        assert_eq!(status_text(StatusCode::BAD_GATEWAY, b""), "502 Bad Gateway");
    }
}
