use super::*;
use kube_cel::cel::Value;
use serde_json::json;

fn eval(src: &str, object: serde_json::Value) -> Result<Value, EvalError> {
    let e = Expression::compile(src).expect("compiles");
    let mut a = Activation::new();
    a.set_json("object", &object);
    e.eval(&a, &mut Budget::new(RUNTIME_BUDGET, PER_CALL_LIMIT))
        .map(|d| d.to_value())
}

#[test]
fn integers_are_ints() {
    let v = eval(
        "object.spec.replicas + 1 == 4",
        json!({"spec": {"replicas": 3}}),
    );
    assert_eq!(v, Ok(Value::Bool(true)));
}

#[test]
fn compile_errors_have_positions() {
    let e = Expression::compile("object.spec.replicas <=").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.column > 1, "{e:?}");
    let e = Expression::compile("a &&\n  (b ||").unwrap_err();
    assert_eq!(e.line, 2, "{e:?}");
}

#[test]
fn runaway_comprehension_runs_out_of_budget() {
    // 1000^2 iterations of a few nodes each: over a per-call limit of 1,000,000.
    let r = eval(
        "lists.range(1000).all(i, lists.range(1000).all(j, i + j >= 0))",
        json!({}),
    );
    assert_eq!(r, Err(EvalError::Budget));
    // The same loop under the limit passes.
    let r = eval(
        "lists.range(100).all(i, lists.range(100).all(j, i + j >= 0))",
        json!({}),
    );
    assert_eq!(r, Ok(Value::Bool(true)));
}

#[test]
fn budget_is_not_absorbed_by_logical_or() {
    let r = eval(
        "lists.range(1000).all(i, lists.range(1000).all(j, i + j >= 0)) || true",
        json!({}),
    );
    assert_eq!(r, Err(EvalError::Budget));
}

#[test]
fn list_concatenation_is_charged_by_size() {
    // Few nodes, but two million list elements built: over the limit.
    let r = eval(
        "lists.range(1000).map(i, lists.range(1000) + lists.range(1000)).size() > 0",
        json!({}),
    );
    assert_eq!(r, Err(EvalError::Budget));
    let r = eval(
        "lists.range(10).map(i, lists.range(1000) + lists.range(1000)).size() > 0",
        json!({}),
    );
    assert_eq!(r, Ok(Value::Bool(true)));
}

#[test]
fn shared_budget_runs_out_across_expressions() {
    let e = Expression::compile("lists.range(300).all(i, lists.range(300).all(j, true))").unwrap();
    let a = Activation::new();
    let mut b = Budget::new(1_000_000, PER_CALL_LIMIT);
    let mut results = Vec::new();
    for _ in 0..10 {
        results.push(e.eval(&a, &mut b).map(|d| d.to_value()));
    }
    assert_eq!(results[0], Ok(Value::Bool(true)));
    assert_eq!(results[9], Err(EvalError::Budget));
}

#[test]
fn kubernetes_libraries_are_there() {
    let cases = [
        ("quantity('1Gi').isGreaterThan(quantity('100Mi'))", true),
        (
            "isCIDR('10.0.0.0/8') && cidr('10.0.0.0/8').containsIP(ip('10.1.2.3'))",
            true,
        ),
        (
            "url('https://example.com:80/path').getHost() == 'example.com:80'",
            true,
        ),
        (
            "'abc 123 def 456'.findAll('[0-9]+') == ['123', '456']",
            true,
        ),
        ("[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6", true),
        ("sets.contains([1, 2, 3], [2])", true),
        (
            "isSemver('1.2.3') && semver('1.2.3').isLessThan(semver('1.10.0'))",
            true,
        ),
        ("'hello'.upperAscii() == 'HELLO'", true),
        ("'a-b'.split('-') == ['a', 'b']", true),
    ];
    for (src, want) in cases {
        assert_eq!(eval(src, json!({})), Ok(Value::Bool(want)), "{src}");
    }
}

#[test]
fn struct_literals_are_errors_not_panics() {
    let r = eval("Foo{a: 1}", json!({}));
    assert!(matches!(r, Err(EvalError::Runtime(_))), "{r:?}");
}

#[test]
fn fields_the_kind_does_not_have_are_warned_at_their_column() {
    let check = |src: &str, kind: &str| {
        Expression::compile(src)
            .expect("compiles")
            .check_fields(kind)
    };
    // The Kubernetes docs' type-checking example: a misspelt field.
    let w = check("object.spec.replicass <= 5", "Deployment");
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].message, "undefined field 'replicass'");
    assert_eq!((w[0].line, w[0].column), (1, 12));
    // Known fields, open maps (labels), has() and comprehension variables.
    assert!(check("object.spec.replicas <= 5 && has(object.metadata.labels) && object.metadata.labels.app == 'x'", "Deployment").is_empty());
    assert!(check(
        "object.spec.containers.all(c, c.securityContext.privileged == false)",
        "Pod"
    )
    .is_empty());
    let w = check(
        "object.spec.containers.all(c, c.securityContxt.privileged == false)",
        "Pod",
    );
    assert_eq!(w[0].message, "undefined field 'securityContxt'");
    let w = check("has(object.spec.template.spec.hostPid)", "Deployment");
    assert_eq!(w[0].message, "undefined field 'hostPid'");
    assert!(check(
        "object.spec.template.spec.containers[0].image != ''",
        "Deployment"
    )
    .is_empty());
    let w = check(
        "object.spec.template.spec.containers[0].imag != ''",
        "Deployment",
    );
    assert_eq!(w[0].message, "undefined field 'imag'");
    // A field of Pod's spec that a Deployment's spec lacks.
    assert_eq!(check("object.spec.hostPID", "Deployment").len(), 1);
    // Kinds without a schema, and what is not typed, are not checked.
    assert!(check("object.spec.anything", "Widget").is_empty());
    assert!(check("variables.x.y && params.spec.z", "Pod").is_empty());
    assert!(known_kind("CronJob") && !known_kind("Widget"));
}

#[derive(Debug)]
struct OnlyDeployments;

impl Authorizer for OnlyDeployments {
    fn authorize(&self, r: &AuthzRequest) -> AuthzDecision {
        let allowed = r.user == "alice"
            && r.group == "apps"
            && r.resource == "deployments"
            && r.verb == "create"
            && (r.namespace.is_empty() || r.namespace == "shop");
        AuthzDecision {
            allowed,
            reason: format!("{} {} {}/{}", r.user, r.verb, r.group, r.resource),
        }
    }
}

#[test]
fn the_authorizer_library_asks_the_authorizer() {
    let request = AuthzRequest {
        user: "alice".into(),
        group: "apps".into(),
        resource: "deployments".into(),
        namespace: "shop".into(),
        name: "web".into(),
        ..AuthzRequest::default()
    };
    let mut a = Activation::new();
    a.set(
        "authorizer",
        authorizer_value(std::sync::Arc::new(OnlyDeployments), request),
    );
    let eval = |src: &str| {
        Expression::compile(src)
            .expect("compiles")
            .eval(&a, &mut Budget::new(RUNTIME_BUDGET, PER_CALL_LIMIT))
            .map(|d| d.to_value())
    };
    let yes = Ok(Value::Bool(true));
    let no = Ok(Value::Bool(false));
    assert_eq!(eval("authorizer.group('apps').resource('deployments').namespace('shop').check('create').allowed()"), yes);
    assert_eq!(eval("authorizer.group('apps').resource('deployments').namespace('dev').check('create').allowed()"), no);
    assert_eq!(
        eval("authorizer.group('').resource('pods').check('create').allowed()"),
        no
    );
    assert_eq!(
        eval("authorizer.requestResource.check('create').allowed()"),
        yes
    );
    assert_eq!(
        eval("authorizer.requestResource.check('delete').allowed()"),
        no
    );
    assert_eq!(eval("authorizer.serviceAccount('shop', 'ci').group('apps').resource('deployments').check('create').allowed()"), no);
    assert_eq!(
        eval("authorizer.requestResource.check('create').errored()"),
        no
    );
    assert_eq!(
        eval("authorizer.requestResource.check('create').reason()"),
        Ok(Value::String(std::sync::Arc::new(
            "alice create apps/deployments".into()
        )))
    );
}
