//! The Kubernetes authorizer library: `authorizer`, as a
//! ValidatingAdmissionPolicy sees it.
//!
//! <https://kubernetes.io/docs/reference/using-api/cel/#kubernetes-authorizer-library>
//!
//! - `authorizer.group('apps').resource('deployments').namespace('ns')
//!   .name('web').subresource('scale').check('update')`, and
//!   `authorizer.path('/healthz').check('get')`, give a decision with
//!   `allowed()`, `reason()`, `errored()` and `error()`.
//! - `authorizer.serviceAccount('ns', 'sa')` asks for that ServiceAccount
//!   instead of the request's user.
//! - `authorizer.requestResource` is the request's own resource, to which
//!   `.check(verb)` applies directly.
//!
//! What answers is an [`Authorizer`]: palisade answers from the RBAC
//! objects of the scan or the cluster (see palisade-scan).

use std::sync::Arc;

use kube_cel::cel::extractors::{Arguments, This};
use kube_cel::cel::objects::{Key, Map, Opaque, Value};
use kube_cel::cel::{Context, ExecutionError, ResolveResult};

/// One authorization question.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthzRequest {
    /// The user asking (`system:serviceaccount:<ns>:<name>` for a ServiceAccount).
    pub user: String,
    /// Its groups.
    pub groups: Vec<String>,
    /// API group (`""` for the core group).
    pub group: String,
    /// Resource (`deployments`); empty for a non-resource path.
    pub resource: String,
    /// Subresource (`scale`), or empty.
    pub subresource: String,
    /// Namespace, or empty (cluster-wide).
    pub namespace: String,
    /// Object name, or empty (every object).
    pub name: String,
    /// A non-resource URL (`/healthz`), or empty.
    pub path: String,
    /// The verb.
    pub verb: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzDecision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Why (the binding and role that allow it, or why not).
    pub reason: String,
}

/// What answers `check()`.
pub trait Authorizer: Send + Sync + std::fmt::Debug {
    /// Decides one request.
    fn authorize(&self, request: &AuthzRequest) -> AuthzDecision;
}

/// An authorizer with the request it is building.
#[derive(Debug, Clone)]
struct Builder {
    authorizer: Arc<dyn Authorizer>,
    request: AuthzRequest,
}

impl PartialEq for Builder {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.authorizer, &other.authorizer) && self.request == other.request
    }
}

impl Eq for Builder {}

impl Opaque for Builder {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.Authorizer"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Decision(AuthzDecision);

impl Opaque for Decision {
    fn runtime_type_name(&self) -> &str {
        "kubernetes.authorization.Decision"
    }
}

/// The key under which the `authorizer` map carries its builder.
const SELF_KEY: &str = "__palisade_authorizer";

fn builder(this: &Value) -> Result<&Builder, ExecutionError> {
    let err = || ExecutionError::function_error("authorizer", "expected an authorizer");
    match this {
        Value::Opaque(o) => o.downcast_ref::<Builder>().ok_or_else(err),
        Value::Map(m) => match m.map.get(&Key::String(Arc::new(SELF_KEY.to_string()))) {
            Some(Value::Opaque(o)) => o.downcast_ref::<Builder>().ok_or_else(err),
            _ => Err(err()),
        },
        _ => Err(err()),
    }
}

fn decision(this: &Value) -> Result<&AuthzDecision, ExecutionError> {
    match this {
        Value::Opaque(o) => o
            .downcast_ref::<Decision>()
            .map(|d| &d.0)
            .ok_or_else(|| ExecutionError::function_error("allowed", "expected a decision")),
        _ => Err(ExecutionError::function_error(
            "allowed",
            "expected a decision",
        )),
    }
}

fn with(this: &Value, f: impl FnOnce(&mut AuthzRequest)) -> ResolveResult {
    let mut b = builder(this)?.clone();
    f(&mut b.request);
    Ok(Value::Opaque(Arc::new(b)))
}

fn arg(args: &[Value], i: usize, what: &str) -> Result<String, ExecutionError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        _ => Err(ExecutionError::function_error(
            what,
            "expected a string argument",
        )),
    }
}

fn group(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let g = arg(&args, 0, "group")?;
    with(&this, |r| {
        r.group = g;
        r.path.clear();
    })
}

fn resource(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let v = arg(&args, 0, "resource")?;
    with(&this, |r| r.resource = v)
}

fn subresource(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let v = arg(&args, 0, "subresource")?;
    with(&this, |r| r.subresource = v)
}

fn namespace(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let v = arg(&args, 0, "namespace")?;
    with(&this, |r| r.namespace = v)
}

fn name(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let v = arg(&args, 0, "name")?;
    with(&this, |r| r.name = v)
}

fn path(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let v = arg(&args, 0, "path")?;
    with(&this, |r| {
        r.path = v;
        r.resource.clear();
    })
}

fn service_account(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let ns = arg(&args, 0, "serviceAccount")?;
    let sa = arg(&args, 1, "serviceAccount")?;
    with(&this, |r| {
        r.user = format!("system:serviceaccount:{ns}:{sa}");
        r.groups = vec![
            "system:serviceaccounts".into(),
            format!("system:serviceaccounts:{ns}"),
            "system:authenticated".into(),
        ];
    })
}

fn check(This(this): This<Value>, Arguments(args): Arguments) -> ResolveResult {
    let verb = arg(&args, 0, "check")?;
    let b = builder(&this)?;
    let mut request = b.request.clone();
    request.verb = verb;
    Ok(Value::Opaque(Arc::new(Decision(
        b.authorizer.authorize(&request),
    ))))
}

fn allowed(This(this): This<Value>) -> ResolveResult {
    Ok(Value::Bool(decision(&this)?.allowed))
}

fn reason(This(this): This<Value>) -> ResolveResult {
    Ok(Value::String(Arc::new(decision(&this)?.reason.clone())))
}

fn errored(This(this): This<Value>) -> ResolveResult {
    decision(&this)?;
    Ok(Value::Bool(false))
}

fn error(This(this): This<Value>) -> ResolveResult {
    decision(&this)?;
    Ok(Value::String(Arc::new(String::new())))
}

/// Registers the library's functions.
pub(crate) fn register(ctx: &mut Context<'_>) {
    ctx.add_function("group", group);
    ctx.add_function("resource", resource);
    ctx.add_function("subresource", subresource);
    ctx.add_function("namespace", namespace);
    ctx.add_function("name", name);
    ctx.add_function("path", path);
    ctx.add_function("serviceAccount", service_account);
    ctx.add_function("check", check);
    ctx.add_function("allowed", allowed);
    ctx.add_function("reason", reason);
    ctx.add_function("errored", errored);
    ctx.add_function("error", error);
}

/// The `authorizer` variable for `user` and `groups`, with
/// `requestResource` set to `request` (its group, resource, namespace and name).
pub fn authorizer_value(authorizer: Arc<dyn Authorizer>, request: AuthzRequest) -> crate::Data {
    let base = Builder {
        authorizer: authorizer.clone(),
        request: AuthzRequest {
            user: request.user.clone(),
            groups: request.groups.clone(),
            ..AuthzRequest::default()
        },
    };
    let resource = Builder {
        authorizer,
        request,
    };
    let mut map = std::collections::HashMap::new();
    map.insert(
        Key::String(Arc::new(SELF_KEY.to_string())),
        Value::Opaque(Arc::new(base)),
    );
    map.insert(
        Key::String(Arc::new("requestResource".to_string())),
        Value::Opaque(Arc::new(resource)),
    );
    crate::Data::from_value(Value::Map(Map { map: Arc::new(map) }))
}
