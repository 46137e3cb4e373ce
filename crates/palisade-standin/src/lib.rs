//! A stand-in for the Kubernetes API server, since no API server runs on
//! the machines that test palisade: **a mock**, the one palisade's tests
//! use. It serves what `palisade audit` reads, in the API's exact JSON:
//! `/version`, discovery (`/api/v1`, `/apis`, `/apis/GROUP/VERSION`), and
//! LISTs of every resource it holds with `limit` and `continue`
//! (`metadata.continue`, `metadata.resourceVersion`, `Status` bodies for
//! errors). Faults are set per resource: 403 Forbidden, 410 Gone on the
//! first continue token, 429 with `Retry-After` once, a slow response, a
//! response cut off mid-body, a body that is not JSON. PATCH and DELETE
//! requests (server-side apply of PolicyReports) are recorded with their
//! content type, query and body. [`Builder::start_tls`] serves over TLS
//! with a certificate its own CA signed, as an API server does; the
//! kubeconfig then carries the CA (`certificate-authority-data`).

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{json, Value};

/// A resource the stand-in serves.
#[derive(Debug, Clone)]
pub struct Resource {
    /// API group (`""` for the core group).
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural.
    pub plural: String,
    /// Kind.
    pub kind: String,
    /// Namespaced.
    pub namespaced: bool,
    /// Its objects, serialised, without `apiVersion` and `kind` (as list
    /// items are served), with their namespace.
    items: Vec<(String, String)>,
}

/// A fault of one resource's LIST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 403 Forbidden with the API server's Status.
    Forbidden,
    /// 410 Gone on the first request with a continue token.
    ExpireOnce,
    /// 429 Too Many Requests with `Retry-After: 1`, once.
    ThrottleOnce,
    /// The response waits this many milliseconds.
    Slow(u64),
    /// The second page is cut off mid-body (the connection closes).
    Truncate,
    /// The body is not JSON.
    Malformed,
}

/// A request the stand-in recorded (PATCH, DELETE).
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// `Content-Type`.
    pub content_type: String,
    /// Body.
    pub body: String,
}

/// What the stand-in serves, and what it saw.
#[derive(Debug, Default)]
pub struct State {
    resources: Vec<Resource>,
    faults: HashMap<String, Fault>,
    fired: Mutex<HashSet<String>>,
    recorded: Mutex<Vec<Recorded>>,
    lists: Mutex<Vec<String>>,
    version: String,
}

/// A cluster's content, built before the server starts.
#[derive(Debug, Default)]
pub struct Builder {
    state: State,
}

/// The built-in kinds, by `apiVersion` and kind: group, version, plural, namespaced.
fn builtin(api_version: &str, kind: &str) -> Option<(String, String, String, bool)> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (plural, namespaced) = match kind {
        "Namespace" => ("namespaces", false),
        "Node" => ("nodes", false),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        "ValidatingWebhookConfiguration" => ("validatingwebhookconfigurations", false),
        "MutatingWebhookConfiguration" => ("mutatingwebhookconfigurations", false),
        "ValidatingAdmissionPolicy" => ("validatingadmissionpolicies", false),
        "ValidatingAdmissionPolicyBinding" => ("validatingadmissionpolicybindings", false),
        "ConstraintTemplate" => ("constrainttemplates", false),
        "NetworkPolicy" => ("networkpolicies", true),
        "ReplicaSet" => ("replicasets", true),
        "Deployment" => ("deployments", true),
        "StatefulSet" => ("statefulsets", true),
        "DaemonSet" => ("daemonsets", true),
        "Job" => ("jobs", true),
        "CronJob" => ("cronjobs", true),
        "Pod" => ("pods", true),
        "ServiceAccount" => ("serviceaccounts", true),
        "ConfigMap" => ("configmaps", true),
        "Secret" => ("secrets", true),
        "Service" => ("services", true),
        "ReplicationController" => ("replicationcontrollers", true),
        "Role" => ("roles", true),
        "RoleBinding" => ("rolebindings", true),
        _ => return None,
    };
    Some((group.into(), version.into(), plural.into(), namespaced))
}

impl Builder {
    /// An empty cluster of `version` (`v1.33.2`) that serves every
    /// built-in resource palisade reads.
    pub fn new(version: &str) -> Self {
        let mut b = Builder::default();
        b.state.version = version.to_string();
        for (api, kind) in [
            ("v1", "Namespace"),
            ("v1", "ServiceAccount"),
            ("v1", "Pod"),
            ("apps/v1", "ReplicaSet"),
            ("batch/v1", "Job"),
            ("apps/v1", "Deployment"),
            ("apps/v1", "StatefulSet"),
            ("apps/v1", "DaemonSet"),
            ("v1", "ReplicationController"),
            ("batch/v1", "CronJob"),
            ("rbac.authorization.k8s.io/v1", "Role"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("rbac.authorization.k8s.io/v1", "RoleBinding"),
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Service"),
            ("networking.k8s.io/v1", "NetworkPolicy"),
            ("v1", "Node"),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingWebhookConfiguration",
            ),
            (
                "admissionregistration.k8s.io/v1",
                "MutatingWebhookConfiguration",
            ),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicy",
            ),
            (
                "admissionregistration.k8s.io/v1",
                "ValidatingAdmissionPolicyBinding",
            ),
        ] {
            let (group, version, plural, namespaced) = builtin(api, kind).unwrap_or_default();
            b.resource(&group, &version, &plural, kind, namespaced);
        }
        b
    }

    /// Serves a resource (a custom one, or Gatekeeper's).
    pub fn resource(
        &mut self,
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
    ) -> &mut Self {
        if !self
            .state
            .resources
            .iter()
            .any(|r| r.group == group && r.plural == plural)
        {
            self.state.resources.push(Resource {
                group: group.into(),
                version: version.into(),
                plural: plural.into(),
                kind: kind.into(),
                namespaced,
                items: Vec::new(),
            });
        }
        self
    }

    /// Adds an object (with `apiVersion` and `kind`) to its resource,
    /// which must be served already (built-in kinds are).
    pub fn object(&mut self, mut object: Value) -> &mut Self {
        let api = object["apiVersion"].as_str().unwrap_or("").to_string();
        let kind = object["kind"].as_str().unwrap_or("").to_string();
        let (group, version) = api
            .rsplit_once('/')
            .map_or((String::new(), api.clone()), |(g, v)| (g.into(), v.into()));
        let ns = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(map) = object.as_object_mut() {
            map.remove("apiVersion");
            map.remove("kind");
        }
        let text = object.to_string();
        match self
            .state
            .resources
            .iter_mut()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
        {
            Some(r) => r.items.push((ns, text)),
            None => panic!("the stand-in serves no {api} {kind}: add it with resource()"),
        }
        self
    }

    /// Stops serving a resource (an older cluster without it).
    pub fn without(&mut self, plural: &str) -> &mut Self {
        self.state.resources.retain(|r| r.plural != plural);
        self
    }

    /// Sets a fault on a resource's LIST.
    pub fn fault(&mut self, plural: &str, fault: Fault) -> &mut Self {
        self.state.faults.insert(plural.to_string(), fault);
        self
    }

    /// Every object, with its `apiVersion` and `kind` (what `palisade scan`
    /// would read of the same cluster).
    pub fn objects(&self) -> impl Iterator<Item = String> + '_ {
        self.state.resources.iter().flat_map(|r| {
            let api = if r.group.is_empty() {
                r.version.clone()
            } else {
                format!("{}/{}", r.group, r.version)
            };
            let head = format!(
                "{{\"apiVersion\":{},\"kind\":{},",
                Value::String(api),
                Value::String(r.kind.clone())
            );
            r.items
                .iter()
                .map(move |(_, t)| format!("{head}{}", &t[1..]))
        })
    }

    /// Starts the server on a free port of 127.0.0.1, on the current
    /// Tokio runtime.
    pub async fn start(self) -> Server {
        self.start_on(0).await
    }

    /// Starts the server on `port` of 127.0.0.1 (0: a free one).
    pub async fn start_on(self, port: u16) -> Server {
        let state = Arc::new(self.state);
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Server {
            addr,
            state,
            ca: None,
        }
    }

    /// Starts the server over TLS on a free port of 127.0.0.1: a CA made
    /// here signs a serving certificate for `127.0.0.1` and `localhost`.
    pub async fn start_tls(self) -> Server {
        let (ca, config) = tls_config();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let state = Arc::new(self.state);
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let service = hyper_util::service::TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends here.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Server {
            addr,
            state,
            ca: Some(ca),
        }
    }
}

/// A CA (its PEM) and a server configuration with a certificate it signed
/// for `127.0.0.1` and `localhost`.
fn tls_config() -> (String, rustls::ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "palisade-standin CA");
    let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().expect("a CA key"))
        .expect("a CA certificate");
    let key = KeyPair::generate().expect("a server key");
    let mut p = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .expect("server parameters");
    p.distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    let cert = p.signed_by(&key, &ca).expect("a server certificate");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("a TLS configuration");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    (ca.pem(), config)
}

/// A running stand-in.
pub struct Server {
    /// Its address.
    pub addr: SocketAddr,
    state: Arc<State>,
    /// The CA of its serving certificate (PEM), when it serves TLS.
    ca: Option<String>,
}

impl Server {
    /// `http://127.0.0.1:PORT`, or `https://` over TLS.
    pub fn url(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The CA of the serving certificate (PEM), when it serves TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca.as_deref()
    }

    /// A kubeconfig for it, with a context named `standin`.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: standin\n  cluster:\n    server: {}{}\ncontexts:\n- name: standin\n  context:\n    cluster: standin\n    user: auditor\ncurrent-context: standin\nusers:\n- name: auditor\n  user:\n    token: standin-token\n",
            self.url(),
            self.ca.as_ref().map_or(String::new(), |ca| format!(
                "\n    certificate-authority-data: {}",
                base64::engine::general_purpose::STANDARD.encode(ca)
            ))
        )
    }

    /// PATCH and DELETE requests received, in order.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.state
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The LIST requests received (path and query), in order.
    pub fn lists(&self) -> Vec<String> {
        self.state
            .lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()
    });
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

fn json_response(v: &Value) -> Response {
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(v.to_string()))
        .unwrap_or_default()
}

async fn handle(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    if method == Method::PATCH || method == Method::DELETE || method == Method::POST {
        state
            .recorded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Recorded {
                method: method.to_string(),
                path: path.clone(),
                query,
                content_type: headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        return if method == Method::DELETE {
            json_response(&json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}))
        } else {
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(body))
                .unwrap_or_default()
        };
    }
    if method != Method::GET {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "method not allowed",
        );
    }
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["version"] => {
            let (major, minor) = state
                .version
                .trim_start_matches('v')
                .split_once('.')
                .map(|(a, b)| (a.to_string(), b.split('.').next().unwrap_or("").to_string()))
                .unwrap_or_default();
            json_response(&json!({
                "major": major, "minor": minor, "gitVersion": state.version,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
                "platform": "linux/amd64"
            }))
        }
        ["api"] => json_response(&json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]})),
        ["api", "v1"] => json_response(&resource_list(&state, "", "v1")),
        ["apis"] => {
            let mut groups: Vec<(String, Vec<String>)> = Vec::new();
            for r in state.resources.iter().filter(|r| !r.group.is_empty()) {
                match groups.iter_mut().find(|(g, _)| *g == r.group) {
                    Some((_, vs)) if !vs.contains(&r.version) => vs.push(r.version.clone()),
                    Some(_) => {}
                    None => groups.push((r.group.clone(), vec![r.version.clone()])),
                }
            }
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> = vs
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
                })
                .collect();
            json_response(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        ["apis", group, version] => json_response(&resource_list(&state, group, version)),
        ["api", "v1", rest @ ..] => list(&state, "", "v1", rest, &query, &headers).await,
        ["apis", group, version, rest @ ..] => {
            list(&state, group, version, rest, &query, &headers).await
        }
        _ => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn resource_list(state: &State, group: &str, version: &str) -> Value {
    let resources: Vec<Value> = state
        .resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            json!({"name": r.plural, "singularName": "", "namespaced": r.namespaced, "kind": r.kind,
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]})
        })
        .collect();
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

fn param<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn unescape(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a LIST asks for metadata only, as the API server reads the
/// `Accept` header (`application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`).
fn wants_metadata(headers: &HeaderMap) -> bool {
    headers
        .get_all("accept")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("as=PartialObjectMetadataList"))
}

/// An item as a metadata-only LIST gives it: its `metadata` only.
fn partial(item: &str) -> String {
    let metadata = serde_json::from_str::<Value>(item)
        .ok()
        .and_then(|v| v.get("metadata").cloned())
        .unwrap_or_else(|| json!({}));
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
        .to_string()
}

async fn list(
    state: &State,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &str,
    headers: &HeaderMap,
) -> Response {
    let (namespace, plural) = match rest {
        [plural] => (None, *plural),
        ["namespaces", ns, plural] => (Some(*ns), *plural),
        _ => {
            return status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource",
            )
        }
    };
    let Some(r) = state
        .resources
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
    else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    state
        .lists
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(format!("{}?{query}", rest.join("/")));
    let token = param(query, "continue").map(unescape);
    let once = |what: &str| {
        state
            .fired
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(format!("{plural}/{what}"))
    };
    match state.faults.get(plural) {
        Some(Fault::Forbidden) => {
            let scope = namespace.map_or("at the cluster scope".to_string(), |ns| {
                format!("in the namespace \"{ns}\"")
            });
            return status(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!("{plural} is forbidden: User \"system:serviceaccount:palisade:auditor\" cannot list resource \"{plural}\" in API group \"{group}\" {scope}"),
            );
        }
        Some(Fault::ThrottleOnce) if once("throttle") => {
            let mut resp = status(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later",
            );
            resp.headers_mut()
                .insert("retry-after", "1".parse().expect("a header value"));
            return resp;
        }
        Some(Fault::ExpireOnce) if token.is_some() && once("expire") => {
            return status(
                StatusCode::GONE,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            );
        }
        Some(Fault::Slow(ms)) => tokio::time::sleep(Duration::from_millis(*ms)).await,
        Some(Fault::Malformed) => {
            return Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(
                    "{\"kind\":\"PodList\",\"items\":[{\"metadata\":",
                ))
                .unwrap_or_default();
        }
        _ => {}
    }
    let limit: usize = param(query, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(usize::MAX);
    let offset: usize = match &token {
        None => 0,
        Some(t) => match base64::engine::general_purpose::STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("offset:").and_then(|n| n.parse().ok()))
        {
            Some(n) => n,
            None => {
                return status(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "continue key is not valid",
                )
            }
        },
    };
    let matching: Vec<&String> = r
        .items
        .iter()
        .filter(|(ns, _)| namespace.is_none_or(|n| n == ns))
        .map(|(_, t)| t)
        .collect();
    let end = offset.saturating_add(limit).min(matching.len());
    let page = &matching[offset.min(end)..end];
    let next = (end < matching.len())
        .then(|| base64::engine::general_purpose::STANDARD.encode(format!("offset:{end}")));
    let metadata_only = wants_metadata(headers);
    let (list_kind, api) = if metadata_only {
        (
            "PartialObjectMetadataList".to_string(),
            "meta.k8s.io/v1".to_string(),
        )
    } else if group.is_empty() {
        (format!("{}List", r.kind), version.to_string())
    } else {
        (format!("{}List", r.kind), format!("{group}/{version}"))
    };
    let mut head = format!(
        "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{{\"resourceVersion\":\"4242\"",
        Value::String(list_kind),
        Value::String(api)
    );
    if let Some(n) = &next {
        head.push_str(&format!(
            ",\"continue\":{},\"remainingItemCount\":{}",
            Value::String(n.clone()),
            matching.len() - end
        ));
    }
    head.push_str("},\"items\":[");
    let mut body =
        String::with_capacity(head.len() + page.iter().map(|t| t.len() + 1).sum::<usize>() + 2);
    body.push_str(&head);
    for (i, t) in page.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        if metadata_only {
            body.push_str(&partial(t));
        } else {
            body.push_str(t);
        }
    }
    body.push_str("]}");
    if matches!(state.faults.get(plural), Some(Fault::Truncate)) && offset > 0 {
        let cut = body.len() / 2;
        let first = Bytes::from(body.into_bytes()).slice(..cut);
        let stream = futures_util::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(first),
            Err(std::io::Error::other(
                "the stand-in closes the connection mid-list",
            )),
        ]);
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap_or_default();
    }
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_default()
}
