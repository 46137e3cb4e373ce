//! CEL evaluation cost: a 5-validation ValidatingAdmissionPolicy on a
//! restricted Pod (µs per object, the object's conversion for CEL
//! included), the same five checks as a Gatekeeper Rego template and as a
//! K8sNativeValidation template, and single-threaded scan throughput with
//! 20 ValidatingAdmissionPolicies against built-in rules only.
//!
//! The scan corpus is `$CEL_CORPUS` (multi-document YAML, as
//! `bench/cel/run.sh` generates with bench/gen_corpus.py), else a small
//! generated one. Run: `bash bench/cel/run.sh` or `cargo bench -p
//! palisade-rego --bench cel`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use palisade_core::loader::{load_str, Limits};
use palisade_core::object::{objects_of, Content};
use palisade_core::{Context, Engine, Object, PssLevel, PssVersion};
use palisade_rego::{Inventory, PolicySet, Review};
use serde_json::{json, Value};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The target for one 5-validation policy on one object.
const TARGET_US: f64 = 5.0;

fn die(msg: &str) -> ! {
    eprintln!("cel bench: {msg}");
    std::process::exit(2)
}

fn objects(name: &str, text: &str) -> Vec<Object> {
    let loaded = load_str(text, &Limits::default());
    if let Some(e) = loaded.errors.first() {
        die(&format!("{name}:{}: {}", e.pos.line, e.message));
    }
    let file: Arc<str> = name.into();
    let mut out = Vec::new();
    for doc in loaded.documents {
        if let Content::Objects(o) = objects_of(&file, doc.root) {
            out.extend(o);
        }
    }
    out
}

fn set(name: &str, text: &str) -> PolicySet {
    PolicySet::from_objects(&objects(name, text)).unwrap_or_else(|e| die(&format!("{e:?}")))
}

/// The five checks, as CEL over `object`.
const FIVE: [(&str, &str); 5] = [
    ("privileged", "object.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged == false)"),
    ("allowPrivilegeEscalation", "object.spec.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)"),
    ("runAsNonRoot", "(has(object.spec.securityContext) && has(object.spec.securityContext.runAsNonRoot) && object.spec.securityContext.runAsNonRoot == true) || object.spec.containers.all(c, has(c.securityContext) && has(c.securityContext.runAsNonRoot) && c.securityContext.runAsNonRoot == true)"),
    ("capabilities", "object.spec.containers.all(c, has(c.securityContext) && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && 'ALL' in c.securityContext.capabilities.drop)"),
    ("seccomp", "(has(object.spec.securityContext) && has(object.spec.securityContext.seccompProfile) && object.spec.securityContext.seccompProfile.type in ['RuntimeDefault', 'Localhost']) || object.spec.containers.all(c, has(c.securityContext) && has(c.securityContext.seccompProfile) && c.securityContext.seccompProfile.type in ['RuntimeDefault', 'Localhost'])"),
];

fn vap_five() -> String {
    let mut v = String::new();
    for (name, expr) in FIVE {
        v.push_str(&format!(
            "  - expression: \"{expr}\"\n    message: {name}\n"
        ));
    }
    format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: restricted-five}}\nspec:\n  matchConstraints:\n    resourceRules: [{{apiGroups: [\"\"], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [pods]}}]\n  validations:\n{v}---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {{name: restricted-five}}\nspec:\n  policyName: restricted-five\n  validationActions: [Deny]\n"
    )
}

fn native_five() -> String {
    let mut v = String::new();
    for (name, expr) in FIVE {
        v.push_str(&format!(
            "          - expression: \"{expr}\"\n            message: {name}\n"
        ));
    }
    format!(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {{name: k8sfivecel}}\nspec:\n  crd: {{spec: {{names: {{kind: K8sFiveCel}}}}}}\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    code:\n    - engine: K8sNativeValidation\n      source:\n        validations:\n{v}---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sFiveCel\nmetadata: {{name: five}}\nspec:\n  match:\n    kinds: [{{apiGroups: [\"\"], kinds: [Pod]}}]\n"
    )
}

/// The same five checks in Rego, as a Gatekeeper template would write them.
const REGO_FIVE: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sfiverego}
spec:
  crd: {spec: {names: {kind: K8sFiveRego}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sfiverego
      containers[c] { c := input.review.object.spec.containers[_] }
      pod_sc := object.get(input.review.object.spec, "securityContext", {})
      violation[{"msg": "privileged"}] { c := containers[_]; c.securityContext.privileged == true }
      violation[{"msg": "allowPrivilegeEscalation"}] { c := containers[_]; not c.securityContext.allowPrivilegeEscalation == false }
      violation[{"msg": "runAsNonRoot"}] { not pod_sc.runAsNonRoot == true; c := containers[_]; not c.securityContext.runAsNonRoot == true }
      violation[{"msg": "capabilities"}] { c := containers[_]; not drops_all(c) }
      drops_all(c) { c.securityContext.capabilities.drop[_] == "ALL" }
      violation[{"msg": "seccomp"}] { not profile_ok(pod_sc); c := containers[_]; not profile_ok(object.get(c, "securityContext", {})) }
      profile_ok(sc) { sc.seccompProfile.type == "RuntimeDefault" }
      profile_ok(sc) { sc.seccompProfile.type == "Localhost" }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sFiveRego
metadata: {name: five}
spec:
  match:
    kinds: [{apiGroups: [""], kinds: [Pod]}]
"#;

/// A Pod that passes the restricted level: every check evaluated in full.
fn restricted_pod() -> Value {
    let sc = json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}});
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-7d4b9", "namespace": "payments", "labels": {"app": "api", "tier": "web"}},
        "spec": {"serviceAccountName": "api", "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {"name": "api", "image": "registry.example.com/payments/api:2.14.1", "ports": [{"containerPort": 8080}],
                 "resources": {"limits": {"memory": "512Mi"}}, "securityContext": sc},
                {"name": "proxy", "image": "docker.io/envoyproxy/envoy:v1.30.1", "securityContext": sc}]}})
}

fn per_call(min_time: Duration, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut warm = 0u32;
    while start.elapsed() < min_time / 5 {
        f();
        warm += 1;
    }
    let iters = warm.max(1) * 5;
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed() / iters
}

/// 20 policies: palisade's restricted checks and image rules, one
/// validation each (`export vap`, split), a label rule and a replicas limit.
fn twenty_vaps() -> PolicySet {
    use palisade_rules::vap_export::{export, VapExport};
    let mut opts = VapExport::new(PssLevel::Restricted, PssVersion::Latest);
    opts.require_digest = true;
    opts.trusted_registries = vec!["registry.example.com".into(), "ghcr.io/acme/".into()];
    let docs = export(&opts);
    // The policy for workloads (Deployments, StatefulSets, DaemonSets,
    // ReplicaSets, Jobs: most of the corpus).
    let policy = &docs[2];
    let validations = policy["spec"]["validations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, v) in validations.iter().enumerate() {
        let mut p = policy.clone();
        let name = format!("p{i}");
        p["metadata"] = json!({"name": name});
        p["spec"]["validations"] = json!([v]);
        out.push(p);
        out.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": ["Warn"]}}));
    }
    out.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "team-label"}, "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["", "apps", "batch"],
            "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": ["*"]}]},
            "validations": [{"expression": "has(object.metadata.labels) && 'team' in object.metadata.labels",
                "messageExpression": "'every object needs a team label'"}]}}));
    out.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "team-label"}, "spec": {"policyName": "team-label", "validationActions": ["Audit"]}}));
    out.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "replicas"}, "spec": {"matchConstraints": {"resourceRules": [{"apiGroups": ["apps"],
            "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments", "statefulsets"]}]},
            "validations": [{"expression": "!has(object.spec.replicas) || object.spec.replicas <= 50"}]}}));
    out.push(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "replicas"}, "spec": {"policyName": "replicas", "validationActions": ["Deny"]}}));
    if out.len() != 40 {
        die(&format!("{} policies, want 20", out.len() / 2));
    }
    let text: Vec<String> = out.iter().map(|d| d.to_string()).collect();
    set("twenty.yaml", &text.join("\n---\n"))
}

fn scan_comparison() {
    let (name, text) = match std::env::var("CEL_CORPUS") {
        Ok(p) => match std::fs::read_to_string(&p) {
            Ok(t) => (p, t),
            Err(e) => die(&format!("{p}: {e}")),
        },
        Err(_) => {
            let pod = restricted_pod().to_string();
            ("generated".to_string(), vec![pod; 5000].join("\n---\n"))
        }
    };
    let engine = Engine::new(
        palisade_rules::all_rules(),
        Context::new(PssLevel::Restricted, PssVersion::Latest),
        Limits::default(),
    )
    .with_parallelism(false);
    let objs = objects(&name, &text);
    let n = objs.len();
    let start = Instant::now();
    let report = engine.scan_bytes(&name, text.as_bytes());
    let builtin = start.elapsed();
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "scan {name}: {n} objects, single thread; built-in rules only: {:.0} objects/s ({} findings)",
        n as f64 / secs(builtin),
        report.findings.len()
    );
    let set = twenty_vaps();
    let inv = Inventory::new();
    let start = Instant::now();
    let (mut violations, mut errors) = (0usize, 0usize);
    for o in &objs {
        let out = set.review_all(&Review::create(&o.root.to_json()), &inv);
        violations += out.violations.len();
        errors += out.errors.len();
    }
    let cel = start.elapsed();
    let with = builtin + cel;
    println!(
        "  + 20 ValidatingAdmissionPolicies: {:.0} objects/s ({violations} violations, {errors} errors; \
         CEL {:.1} µs/object); throughput with/without = {:.2}",
        n as f64 / secs(with),
        secs(cel) * 1e6 / n as f64,
        secs(builtin) / secs(with)
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test` runs benches once without --bench: nothing to check here
    }
    let vap = set("five.yaml", &vap_five());
    let native = set("native.yaml", &native_five());
    let rego = set("rego.yaml", REGO_FIVE);
    let pod = restricted_pod();
    let inv = Inventory::new();
    // Each must pass the restricted Pod and deny an open one.
    let open = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "open"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "securityContext": {"privileged": true}}]}});
    for (what, s) in [
        ("VAP", &vap),
        ("K8sNativeValidation", &native),
        ("Rego", &rego),
    ] {
        let ok = s.review_all(&Review::create(&pod), &inv);
        let bad = s.review_all(&Review::create(&open), &inv);
        if !ok.violations.is_empty() || !ok.errors.is_empty() || bad.violations.len() != 5 {
            die(&format!(
                "{what}: restricted pod {ok:?}, open pod {} violations",
                bad.violations.len()
            ));
        }
    }
    if std::env::var_os("CEL_BENCH_PROFILE").is_some() {
        // Only the VAP loop, for a profiler.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(8) {
            black_box(vap.review_all(&Review::create(black_box(&pod)), &inv));
        }
        return;
    }
    let t = Duration::from_millis(2000);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let conversion = per_call(t, || {
        let mut a = palisade_cel::Activation::new();
        a.set_json("object", black_box(&pod));
        black_box(a);
    });
    let vap_t = per_call(t, || {
        black_box(vap.review_all(&Review::create(black_box(&pod)), &inv));
    });
    let native_t = per_call(t, || {
        black_box(native.review_all(&Review::create(black_box(&pod)), &inv));
    });
    let rego_t = per_call(t, || {
        black_box(rego.review_all(&Review::create(black_box(&pod)), &inv));
    });
    println!("\n== cel evaluation, one object (a restricted Pod with two containers), target {TARGET_US} µs");
    println!(
        "5-validation ValidatingAdmissionPolicy: {:.2} µs/object (ratio to target {:.2}x), of which the object's conversion for CEL {:.2} µs",
        us(vap_t),
        us(vap_t) / TARGET_US,
        us(conversion)
    );
    println!(
        "same checks as K8sNativeValidation: {:.2} µs; as Gatekeeper Rego: {:.2} µs; Rego / VAP = {:.2}",
        us(native_t),
        us(rego_t),
        us(rego_t) / us(vap_t)
    );
    scan_comparison();
}
