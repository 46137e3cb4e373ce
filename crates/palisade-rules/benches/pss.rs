//! Pod Security Standards evaluation cost per pod, at `restricted`/`latest`.
//!
//! Objects are parsed once outside the timed loops, so `check/*` measures
//! rule evaluation alone (what the admission path pays per object), and
//! `scan_bytes/*` measures one document from bytes to findings.
//!
//! After criterion, a plain `Instant` loop times the compliant pod again and
//! prints one line comparing it with the upstream Go evaluator
//! (`k8s.io/pod-security-admission`, about 3 µs per pod), so the ratio comes
//! out of the same run: `bash bench/pss.sh`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use palisade_core::loader::{load_str, Limits};
use palisade_core::object::{objects_of, Content};
use palisade_core::{Context, Engine, Object, PssLevel, PssVersion};

/// Upstream figure the printed ratio is computed against: the Go evaluator
/// of `k8s.io/pod-security-admission` at restricted/latest, per pod.
const UPSTREAM_GO_US_PER_POD: f64 = 3.0;

/// A Pod that passes `restricted`: every check runs to the end and finds nothing.
const RESTRICTED_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: payments
  labels:
    app.kubernetes.io/name: api
    app.kubernetes.io/part-of: payments
  annotations:
    prometheus.io/scrape: "true"
spec:
  serviceAccountName: api
  automountServiceAccountToken: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: api
      image: ghcr.io/acme/payments-api:2.14.1
      ports:
        - name: http
          containerPort: 8080
      env:
        - name: LOG_LEVEL
          value: info
        - name: DB_PASSWORD
          valueFrom:
            secretKeyRef:
              name: api-secrets
              key: db_password
      resources:
        requests: {cpu: 250m, memory: 256Mi}
        limits: {memory: 512Mi}
      livenessProbe:
        httpGet: {path: /healthz, port: http}
      readinessProbe:
        httpGet: {path: /readyz, port: http}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: config
          mountPath: /etc/api
          readOnly: true
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          drop: ["ALL"]
  volumes:
    - name: tmp
      emptyDir: {}
    - name: config
      configMap:
        name: api-config
"#;

/// A restricted-compliant Deployment with an init container and three containers.
const RESTRICTED_DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop
  labels: {app: checkout}
spec:
  replicas: 3
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile: {type: RuntimeDefault}
      initContainers:
        - name: migrate
          image: ghcr.io/acme/checkout-migrate:1.9.0
          command: ["/migrate", "up"]
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
      containers:
        - name: checkout
          image: ghcr.io/acme/checkout:1.9.0
          ports: [{name: http, containerPort: 8080}]
          resources:
            requests: {cpu: 500m, memory: 512Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}
          volumeMounts: [{name: tmp, mountPath: /tmp}]
        - name: envoy
          image: docker.io/envoyproxy/envoy:v1.30.1
          ports: [{name: admin, containerPort: 9901}]
          securityContext:
            allowPrivilegeEscalation: false
            capabilities: {drop: [ALL]}
        - name: log-shipper
          image: docker.io/fluent/fluent-bit:3.0.4
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts: [{name: tmp, mountPath: /tmp, readOnly: true}]
      volumes:
        - name: tmp
          emptyDir: {sizeLimit: 1Gi}
"#;

/// A node agent that breaks most baseline and restricted controls: the cost
/// of building and locating many findings.
const INSECURE_DAEMONSET: &str = r#"
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: kube-system
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      hostNetwork: true
      hostPID: true
      securityContext:
        sysctls: [{name: kernel.msgmax, value: "65536"}]
      containers:
        - name: agent
          image: acme/node-agent:latest
          ports: [{containerPort: 9100, hostPort: 9100}]
          securityContext:
            privileged: true
            runAsUser: 0
            capabilities: {add: [SYS_ADMIN, NET_ADMIN]}
            seccompProfile: {type: Unconfined}
          volumeMounts: [{name: root, mountPath: /host}]
      volumes:
        - name: root
          hostPath: {path: /}
"#;

fn engine() -> Engine {
    let ctx = Context::new(PssLevel::Restricted, PssVersion::Latest);
    Engine::new(palisade_rules::pss_rules(), ctx, Limits::default())
}

/// Parses a one-object fixture. Fixtures are constants of this file, so a
/// failure is a bug in the bench and ends it with a message.
fn object(name: &str, yaml: &str) -> Object {
    let loaded = load_str(yaml, &Limits::default());
    let file: Arc<str> = name.into();
    let found = loaded
        .documents
        .into_iter()
        .next()
        .map(|doc| objects_of(&file, doc.root));
    match found {
        Some(Content::Objects(mut objects)) if objects.len() == 1 && loaded.errors.is_empty() => {
            objects.remove(0)
        }
        _ => {
            eprintln!("bench fixture {name} is not one Kubernetes object");
            std::process::exit(2);
        }
    }
}

/// Mean time of `f` over `iters` calls, after a warm-up.
fn per_call(iters: u32, mut f: impl FnMut()) -> Duration {
    for _ in 0..iters / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed() / iters
}

fn main() {
    let engine = engine();
    let fixtures = [
        ("restricted_pod", RESTRICTED_POD),
        ("deployment_4_containers", RESTRICTED_DEPLOYMENT),
        ("insecure_daemonset", INSECURE_DAEMONSET),
    ];
    let objects: Vec<(&str, &str, Object)> = fixtures
        .iter()
        .map(|&(name, yaml)| (name, yaml, object(name, yaml)))
        .collect();
    for (name, _, obj) in &objects {
        let findings = engine.check_object(obj).findings.len();
        let compliant = !name.starts_with("insecure");
        if compliant != (findings == 0) {
            eprintln!("bench fixture {name} has {findings} findings at restricted/latest; fix the fixture");
            std::process::exit(2);
        }
    }

    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and
    // then criterion runs each routine once as a smoke test.
    let measuring = std::env::args().any(|a| a == "--bench");

    let mut c = Criterion::default().configure_from_args();
    {
        let mut group = c.benchmark_group("check");
        group.throughput(Throughput::Elements(1));
        for (name, _, obj) in &objects {
            group.bench_with_input(BenchmarkId::from_parameter(name), obj, |b, obj| {
                b.iter(|| engine.check_object(black_box(obj)))
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("scan_bytes");
        for (name, yaml, _) in &objects {
            group.throughput(Throughput::Bytes(yaml.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(name), yaml, |b, yaml| {
                b.iter(|| engine.scan_bytes("bench.yaml", black_box(yaml.as_bytes())))
            });
        }
        group.finish();
    }
    c.final_summary();

    if !measuring {
        // A test-profile smoke run measures nothing worth comparing.
        return;
    }
    let iters = 200_000;
    let pod = &objects[0].2;
    let eval = per_call(iters, || {
        black_box(engine.check_object(black_box(pod)));
    });
    let deploy = per_call(iters, || {
        black_box(engine.check_object(black_box(&objects[1].2)));
    });
    let parse_check = per_call(iters / 4, || {
        black_box(engine.scan_bytes("bench.yaml", black_box(RESTRICTED_POD.as_bytes())));
    });
    let us = eval.as_secs_f64() * 1e6;
    println!(
        "pss restricted eval: {us:.2} µs/pod; upstream Go evaluator ≈{UPSTREAM_GO_US_PER_POD} µs/pod (ratio upstream/palisade = {:.1})",
        UPSTREAM_GO_US_PER_POD / us
    );
    println!(
        "pss restricted eval, deployment with 4 containers: {:.2} µs/object; parse+check of the pod document: {:.2} µs/document",
        deploy.as_secs_f64() * 1e6,
        parse_check.as_secs_f64() * 1e6
    );
}
