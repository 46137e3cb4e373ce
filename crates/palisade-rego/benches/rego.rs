//! Gatekeeper template evaluation cost, per object per constraint, and scan
//! throughput with 20 constraints loaded against built-in rules only.
//!
//! `eval/*` (criterion) reviews one object against a set holding one
//! constraint: the review's conversion to a Rego value, the match block and
//! the evaluation. After criterion, with `--bench`, plain `Instant` loops
//! print a summary: µs per evaluation per template with ten constraints of
//! it loaded, each with its own parameters (the conversion amortised over
//! them, as a scan with several constraints pays it), on regorus's VM and
//! on its interpreter, and the ratio to the 5 µs/evaluation target; then
//! objects/s of a scan with built-in rules only and with 20 constraints
//! added (interpreter and VM on one thread, the VM on every core).
//! `REGO_PROFILE=<case>` (or `scan`) only runs that work in a loop, for perf.
//!
//! The scan corpus is `$REGO_CORPUS` (a multi-document YAML file, as
//! `bench/rego/run.sh` generates with bench/gen_corpus.py), else a
//! generated in-memory corpus. Run: `bash bench/rego/run.sh` or
//! `cargo bench -p palisade-rego`.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use palisade_core::loader::{load_str, Limits};
use palisade_core::object::{objects_of, Content};
use palisade_core::{Context, Engine, Object, PssLevel, PssVersion};
use palisade_rego::{Inventory, PolicySet, Review};
use rayon::prelude::*;
use serde_json::{json, Value};

// As in the palisade binary (crates/palisade/src/main.rs): regorus
// allocates for every value it builds, so the allocator is part of the cost.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The anchor the ratio is printed against: regorus on a simple template.
const ANCHOR_US: f64 = 5.0;

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policies")
        .join(name);
    match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) => die(&format!("{}: {e}", p.display())),
    }
}

fn die(msg: &str) -> ! {
    eprintln!("rego bench: {msg}");
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

fn set_of(template: &str, constraints: &[String]) -> PolicySet {
    let mut text = fixture(template);
    for c in constraints {
        text.push_str("---\n");
        text.push_str(c);
    }
    match PolicySet::from_objects(&objects(template, &text)) {
        Ok(s) => s,
        Err(e) => die(&format!("{e:?}")),
    }
}

fn constraint(kind: &str, name: &str, spec: &str) -> String {
    format!("apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata:\n  name: {name}\nspec:\n{spec}")
}

const POD_MATCH: &str = "  match:\n    kinds:\n      - apiGroups: [\"\"]\n        kinds: [Pod]\n";

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "api-7d4b9", "namespace": "payments", "labels": {"app": "api", "tier": "web", "owner": "payments"}},
        "spec": {"serviceAccountName": "api",
            "initContainers": [{"name": "migrate", "image": "registry.example.com/payments/migrate:2.14.1"}],
            "containers": [
                {"name": "api", "image": "registry.example.com/payments/api:2.14.1",
                 "ports": [{"containerPort": 8080}], "resources": {"limits": {"memory": "512Mi"}},
                 "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true}},
                {"name": "proxy", "image": "docker.io/envoyproxy/envoy:v1.30.1",
                 "securityContext": {"privileged": true}}]}})
}

fn deployment() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "tier": "web", "owner": "Shop-Team"}},
        "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:1.0"}]}}}})
}

fn ingress(ns: &str, name: &str, host: &str) -> Value {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": ns},
        "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}})
}

/// One benchmarked template: a set with one constraint, a set with ten,
/// the object and the inventory.
struct Case {
    name: &'static str,
    one: PolicySet,
    ten: PolicySet,
    review: Review,
    inventory: Inventory,
    violations: usize,
}

fn cases() -> Vec<Case> {
    // Each constraint with its own parameters (a `variant` the template
    // does not read, kept as gator keeps unknown fields), so no two see the
    // same input and each is evaluated.
    let many = |kind: &str, spec: &str, n: usize| -> Vec<String> {
        (0..n)
            .map(|i| {
                let spec = if spec.contains("  parameters:\n") {
                    spec.replacen(
                        "  parameters:\n",
                        &format!("  parameters:\n    variant: {i}\n"),
                        1,
                    )
                } else {
                    format!("{spec}  parameters:\n    variant: {i}\n")
                };
                constraint(kind, &format!("c{i}"), &spec)
            })
            .collect()
    };
    let privileged =
        format!("{POD_MATCH}  parameters:\n    exemptImages: [\"registry.k8s.io/pause*\"]\n");
    let repos = format!(
        "{POD_MATCH}  parameters:\n    repos: [\"registry.example.com/\", \"gcr.io/acme/\", \"ghcr.io/acme/\", \"quay.io/acme/\", \"docker.io/envoyproxy/\"]\n"
    );
    let labels = "  match:\n    kinds:\n      - apiGroups: [apps]\n        kinds: [Deployment]\n  parameters:\n    labels:\n      - key: app\n      - key: owner\n        allowedRegex: \"^[a-z-]+$\"\n      - key: cost-center\n";
    let unique =
        "  match:\n    kinds:\n      - apiGroups: [networking.k8s.io]\n        kinds: [Ingress]\n";
    let mut inv = Inventory::new();
    for i in 0..10_000 {
        let ns = format!("team-{}", i % 100);
        if let Err(e) = inv.add(&ingress(
            &ns,
            &format!("ing-{i}"),
            &format!("app-{i}.example.com"),
        )) {
            die(&e);
        }
    }
    let mine = ingress("shop", "shop", "app-4242.example.com");
    let host = format!("{POD_MATCH}    scope: Namespaced\n");
    let mut host_pod = pod();
    host_pod["spec"]["hostPID"] = json!(true);
    vec![
        Case {
            name: "host_namespace_simple",
            one: set_of("hostnamespace.yaml", &many("K8sPSPHostNamespace", &host, 1)),
            ten: set_of(
                "hostnamespace.yaml",
                &many("K8sPSPHostNamespace", &host, 10),
            ),
            review: Review::create(&host_pod),
            inventory: Inventory::new(),
            violations: 1,
        },
        Case {
            name: "privileged_containers",
            one: set_of(
                "privileged.yaml",
                &many("K8sPSPPrivilegedContainer", &privileged, 1),
            ),
            ten: set_of(
                "privileged.yaml",
                &many("K8sPSPPrivilegedContainer", &privileged, 10),
            ),
            review: Review::create(&pod()),
            inventory: Inventory::new(),
            violations: 1,
        },
        Case {
            name: "allowed_repos_with_parameters",
            one: set_of("allowedrepos.yaml", &many("K8sAllowedRepos", &repos, 1)),
            ten: set_of("allowedrepos.yaml", &many("K8sAllowedRepos", &repos, 10)),
            review: Review::create(&pod()),
            inventory: Inventory::new(),
            violations: 0,
        },
        Case {
            name: "required_labels",
            one: set_of("requiredlabels.yaml", &many("K8sRequiredLabels", labels, 1)),
            ten: set_of(
                "requiredlabels.yaml",
                &many("K8sRequiredLabels", labels, 10),
            ),
            review: Review::create(&deployment()),
            inventory: Inventory::new(),
            violations: 2,
        },
        Case {
            name: "unique_ingress_host_inventory_10k",
            one: set_of(
                "uniqueingresshost.yaml",
                &many("K8sUniqueIngressHost", unique, 1),
            ),
            ten: set_of(
                "uniqueingresshost.yaml",
                &many("K8sUniqueIngressHost", unique, 10),
            ),
            review: Review::create(&mine),
            inventory: inv,
            violations: 1,
        },
    ]
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

/// The 20 constraints of the scan comparison, over the fixture templates;
/// with `referential`, the unique-Ingress-host constraint replaces the
/// host-namespace one.
fn twenty_constraints(referential: bool) -> PolicySet {
    let mut text = String::new();
    for t in [
        "privileged.yaml",
        "allowedrepos.yaml",
        "requiredlabels.yaml",
        "uniqueingresshost.yaml",
        "immutablelabels.yaml",
        "hostnamespace.yaml",
    ] {
        text.push_str(&fixture(t));
        text.push_str("---\n");
    }
    let all_workloads =
        "  match:\n    kinds:\n      - apiGroups: [\"\", apps, batch]\n        kinds: [\"*\"]\n";
    let mut cs = Vec::new();
    for (i, ns) in ["kube-*", "istio-system", "monitoring", "default"]
        .iter()
        .enumerate()
    {
        cs.push(constraint(
            "K8sPSPPrivilegedContainer",
            &format!("privileged-{i}"),
            &format!("  match:\n    kinds:\n      - apiGroups: [\"\"]\n        kinds: [Pod]\n    excludedNamespaces: [\"{ns}\"]\n"),
        ));
    }
    for (i, repo) in [
        "registry.internal.acme.io/",
        "ghcr.io/acme/",
        "docker.io/library/",
        "quay.io/",
        "gcr.io/",
    ]
    .iter()
    .enumerate()
    {
        cs.push(constraint(
            "K8sAllowedRepos",
            &format!("repos-{i}"),
            &format!("{POD_MATCH}  parameters:\n    repos: [\"{repo}\", \"registry.k8s.io/\"]\n"),
        ));
    }
    for (i, key) in [
        "app",
        "owner",
        "team",
        "cost-center",
        "app.kubernetes.io/part-of",
        "app.kubernetes.io/version",
        "tier",
        "env",
    ]
    .iter()
    .enumerate()
    {
        cs.push(constraint(
            "K8sRequiredLabels",
            &format!("labels-{i}"),
            &format!("{all_workloads}  enforcementAction: warn\n  parameters:\n    labels:\n      - key: \"{key}\"\n        allowedRegex: \"^[a-z0-9.-]+$\"\n"),
        ));
    }
    if referential {
        cs.push(constraint(
            "K8sUniqueIngressHost",
            "unique-hosts",
            "  match:\n    kinds:\n      - apiGroups: [networking.k8s.io]\n        kinds: [Ingress]\n",
        ));
    } else {
        cs.push(constraint(
            "K8sPSPHostNamespace",
            "host-namespaces",
            &format!("{POD_MATCH}    scope: Namespaced\n"),
        ));
    }
    cs.push(constraint(
        "K8sImmutableLabels",
        "immutable-0",
        &format!("{all_workloads}  parameters:\n    labels: [owner]\n"),
    ));
    cs.push(constraint(
        "K8sImmutableLabels",
        "immutable-1",
        &format!("{all_workloads}  parameters:\n    labels: [team]\n"),
    ));
    if cs.len() != 20 {
        die(&format!("{} constraints, want 20", cs.len()));
    }
    text.push_str(&cs.join("---\n"));
    match PolicySet::from_objects(&objects("twenty.yaml", &text)) {
        Ok(s) => s,
        Err(e) => die(&format!("{e:?}")),
    }
}

/// A corpus in memory when `$REGO_CORPUS` is not given: workloads,
/// Services, Ingresses and Namespaces.
fn generated_corpus(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        let ns = format!("team-{}", i % 40);
        let doc = match i % 5 {
            0 => {
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("web-{i}"), "namespace": ns, "labels": {"app": "web", "owner": "team"}},
                "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "ghcr.io/acme/web:1", "securityContext": {"runAsNonRoot": true}}]}}}})
            }
            1 => {
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("pod-{i}"), "namespace": ns},
                "spec": {"containers": [{"name": "app", "image": "docker.io/library/nginx:1.27", "securityContext": {"privileged": i % 3 == 0}}]}})
            }
            2 => {
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("svc-{i}"), "namespace": ns}, "spec": {"ports": [{"port": 80}]}})
            }
            3 => ingress(
                &ns,
                &format!("ing-{i}"),
                &format!("h{}.example.com", i % 700),
            ),
            _ => {
                json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": format!("job-{i}"), "namespace": ns},
                "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "quay.io/acme/job:3"}]}}}}}})
            }
        };
        out.push_str("---\n");
        out.push_str(&doc.to_string());
        out.push('\n');
    }
    out
}

fn scan_comparison() {
    let (name, text) = match std::env::var("REGO_CORPUS") {
        Ok(p) => match std::fs::read_to_string(&p) {
            Ok(t) => (p, t),
            Err(e) => die(&format!("{p}: {e}")),
        },
        Err(_) => ("generated".to_string(), generated_corpus(20_000)),
    };
    let engine = Engine::new(
        palisade_rules::all_rules(),
        Context::new(PssLevel::Baseline, PssVersion::Latest),
        Limits::default(),
    )
    .with_parallelism(false);
    let objs = objects(&name, &text);
    let n = objs.len();
    // Built-in rules only: what `palisade scan --threads 1` does today.
    let start = Instant::now();
    let report = engine.scan_bytes(&name, text.as_bytes());
    let builtin = start.elapsed();
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "scan {name}: {n} objects, single thread; built-in rules only: {:.0} objects/s ({} findings)",
        n as f64 / secs(builtin),
        report.findings.len(),
    );
    // The Rego part a scan adds, on objects already parsed: the inventory
    // (once per scan, when a template reads it), then every object as JSON,
    // reviewed as a CREATE; on the interpreter (before) and the VM.
    let rego_pass = |set: &PolicySet, threads: bool| -> (Duration, Duration, usize, usize) {
        let start = Instant::now();
        let mut inv = Inventory::new();
        // As the scan does: Namespaces always, the rest when a template
        // reads `data.inventory`.
        let whole = set.uses_inventory();
        for o in objs.iter().filter(|o| whole || o.id.kind == "Namespace") {
            let json = o.root.to_json();
            if whole || palisade_rego::is_namespace(&json) {
                let _ = inv.add(&json);
            }
        }
        let inventory_time = start.elapsed();
        let start = Instant::now();
        let review = |o: &Object| {
            let out = set.review_all(&Review::create(&o.root.to_json()), &inv);
            (out.violations.len(), out.errors.len())
        };
        let counts: Vec<(usize, usize)> = if threads {
            objs.par_iter().map(review).collect()
        } else {
            objs.iter().map(review).collect()
        };
        let violations = counts.iter().map(|c| c.0).sum();
        let errors = counts.iter().map(|c| c.1).sum();
        (inventory_time, start.elapsed(), violations, errors)
    };
    for (engine_name, referential) in [("interpreter", false), ("VM", false), ("VM", true)] {
        let mut set = twenty_constraints(referential);
        if engine_name == "interpreter" {
            set.use_interpreter();
        }
        let (inventory_time, rego, violations, errors) = rego_pass(&set, false);
        let with_rego = builtin + inventory_time + rego;
        println!(
            "  + 20 constraints{}, {engine_name}: {:.0} objects/s ({violations} violations, {errors} errors; \
             inventory {:.0} ms, rego {:.1} µs/object); throughput with/without = {:.2}",
            if referential {
                " (one referential)"
            } else {
                " (none referential)"
            },
            n as f64 / secs(with_rego),
            secs(inventory_time) * 1e3,
            secs(rego) * 1e6 / n as f64,
            secs(builtin) / secs(with_rego),
        );
    }
    // Every core: the built-in rules with the engine's parallelism, and the
    // 20 constraints (none referential) reviewed on rayon's pool.
    let cores = rayon::current_num_threads();
    let parallel = Engine::new(
        palisade_rules::all_rules(),
        Context::new(PssLevel::Baseline, PssVersion::Latest),
        Limits::default(),
    );
    let start = Instant::now();
    black_box(parallel.scan_bytes(&name, text.as_bytes()));
    let builtin_all = start.elapsed();
    let set = twenty_constraints(false);
    let (inventory_time, rego, _, _) = rego_pass(&set, true);
    let with_rego = builtin_all + inventory_time + rego;
    println!(
        "  {cores} threads: built-in rules only {:.0} objects/s; + 20 constraints (none referential), VM: {:.0} objects/s \
         (rego {:.1} µs/object, {:.2}x the single-thread rego rate)",
        n as f64 / secs(builtin_all),
        n as f64 / secs(with_rego),
        secs(rego) * 1e6 / n as f64,
        {
            let (_, single, _, _) = rego_pass(&set, false);
            secs(single) / secs(rego)
        },
    );
}

fn main() {
    let cases = cases();
    for c in &cases {
        match c.one.review(&c.review, &c.inventory) {
            Ok(v) if v.len() == c.violations => {}
            Ok(v) => die(&format!(
                "{}: {} violations, want {}: {v:?}",
                c.name,
                v.len(),
                c.violations
            )),
            Err(e) => die(&format!("{}: {e}", c.name)),
        }
    }
    // `REGO_PROFILE=<case>`: only review that case's ten-constraint set in
    // a loop for five seconds (for perf; nothing is printed).
    if let Ok(name) = std::env::var("REGO_PROFILE") {
        if name == "scan" {
            // The 20 constraints over the corpus, once, on one thread.
            let text = match std::env::var("REGO_CORPUS") {
                Ok(p) => std::fs::read_to_string(&p).unwrap_or_else(|e| die(&format!("{p}: {e}"))),
                Err(_) => generated_corpus(20_000),
            };
            let objs = objects("corpus", &text);
            let set = twenty_constraints(false);
            let inv = Inventory::new();
            for _ in 0..5 {
                for o in &objs {
                    black_box(set.review_all(&Review::create(&o.root.to_json()), &inv));
                }
            }
            return;
        }
        let Some(c) = cases.iter().find(|c| c.name == name) else {
            die(&format!("REGO_PROFILE: no case {name}"));
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            black_box(c.ten.review_all(&c.review, &c.inventory));
        }
        return;
    }
    let measuring = std::env::args().any(|a| a == "--bench");

    let mut crit = Criterion::default().configure_from_args();
    {
        let mut group = crit.benchmark_group("eval");
        group.throughput(Throughput::Elements(1));
        for c in &cases {
            group.bench_with_input(BenchmarkId::from_parameter(c.name), c, |b, c| {
                b.iter(|| black_box(c.one.review_all(black_box(&c.review), &c.inventory)))
            });
        }
        group.finish();
    }
    crit.final_summary();
    if !measuring {
        return;
    }

    println!("\n== rego evaluation, µs per object per constraint (anchor {ANCHOR_US} µs/eval)");
    println!(
        "{:<36} {:>10} {:>14} {:>16} {:>8}",
        "template", "1 constr.", "10 constr./10", "interpreter /10", "ratio"
    );
    let t = Duration::from_millis(1500);
    for c in &cases {
        let one = per_call(t, || {
            black_box(c.one.review_all(&c.review, &c.inventory));
        });
        let ten = per_call(t, || {
            black_box(c.ten.review_all(&c.review, &c.inventory));
        }) / 10;
        let mut interpreted = c.ten.clone();
        interpreted.use_interpreter();
        let before = per_call(t, || {
            black_box(interpreted.review_all(&c.review, &c.inventory));
        }) / 10;
        let us = ten.as_secs_f64() * 1e6;
        println!(
            "{:<36} {:>8.2}µs {:>12.2}µs {:>14.2}µs {:>7.2}x",
            c.name,
            one.as_secs_f64() * 1e6,
            us,
            before.as_secs_f64() * 1e6,
            us / ANCHOR_US
        );
    }
    scan_comparison();
}
