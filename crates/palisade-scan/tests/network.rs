//! `network/pod-not-isolated`: off by default; enabled, a workload that no
//! NetworkPolicy of its own namespace selects is reported, and a policy in
//! another namespace covers nothing.

use palisade_core::policy_file::parse_policy;
use palisade_core::{Context, Engine, Limits};
use palisade_scan::analyses::NetworkIsolation;
use palisade_scan::{Bytes, Scan, Source};

const INPUT: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: other}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [front]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      containers: [{name: a, image: nginx}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers: [{name: a, image: nginx}]
";

fn isolated_findings(policy: &str) -> Vec<(String, String, u32)> {
    let policy = parse_policy("palisade.yaml", policy).expect("policy parses");
    let engine = Engine::new(Vec::new(), Context::from_policy(policy), Limits::default());
    let source: Box<dyn Source> = Box::new(Bytes {
        name: "k8s.yaml".into(),
        bytes: INPUT.as_bytes().to_vec(),
    });
    let report = Scan::new(engine)
        .with(NetworkIsolation)
        .collect(vec![source])
        .unwrap();
    report
        .findings
        .iter()
        .filter(|f| f.rule == "network/pod-not-isolated")
        .map(|f| (f.object.name.clone(), f.path.clone(), f.line))
        .collect()
}

#[test]
fn only_workloads_no_policy_of_their_namespace_selects_are_reported() {
    let on = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  rules:\n    network/pod-not-isolated: {enabled: true}\n";
    assert_eq!(
        isolated_findings(on),
        [(
            "worker".to_string(),
            "spec.template.metadata.labels".to_string(),
            30
        )]
    );
    let off = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\n";
    assert!(isolated_findings(off).is_empty());
}
