//! Every front door gives the same findings for the same objects: a file's
//! bytes, and the objects already parsed (as the webhook and a cluster
//! listing hand them over).

use std::sync::Arc;

use palisade_core::object::{objects_of, Content};
use palisade_core::{loader, Context, Engine, Limits, Object};
use palisade_scan::{Bytes, Objects, Scan, Source};

const MANIFESTS: &str = "apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: app
    image: nginx
    securityContext: {privileged: true}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  template:
    spec:
      hostNetwork: true
      containers: [{name: api, image: registry.example.com/api:1}]
";

fn scan() -> Scan {
    let engine = Engine::new(
        palisade_rules::all_rules(),
        Context::default(),
        Limits::default(),
    );
    Scan::new(engine)
}

/// (rule, object name, path) of every finding, sorted.
fn keys(report: &palisade_core::ScanReport) -> Vec<(String, String, String)> {
    let mut k: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.rule.to_string(), f.object.name.clone(), f.path.clone()))
        .collect();
    k.sort();
    k
}

fn parsed(file: &str) -> Vec<Object> {
    let name: Arc<str> = file.into();
    let loaded = loader::load_str(MANIFESTS, &Limits::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded
        .documents
        .into_iter()
        .flat_map(|d| match objects_of(&name, d.root) {
            Content::Objects(o) => o,
            Content::Skipped { .. } => Vec::new(),
        })
        .collect()
}

#[test]
fn objects_in_memory_get_the_findings_of_the_same_bytes() {
    let from_bytes = scan()
        .collect(vec![Box::new(Bytes {
            name: "k8s.yaml".into(),
            bytes: MANIFESTS.as_bytes().to_vec(),
        }) as Box<dyn Source>])
        .unwrap();
    let from_objects = scan()
        .collect(vec![
            Box::new(Objects::from(parsed("k8s.yaml"))) as Box<dyn Source>
        ])
        .unwrap();
    assert!(
        keys(&from_bytes)
            .iter()
            .any(|(rule, name, _)| rule == "pss/privileged" && name == "web"),
        "{:?}",
        keys(&from_bytes)
    );
    assert!(keys(&from_bytes)
        .iter()
        .any(|(rule, name, _)| rule == "pss/hostNamespaces" && name == "api"));
    assert_eq!(keys(&from_bytes), keys(&from_objects));
    assert_eq!(from_bytes.summary.workloads, from_objects.summary.workloads);
}

#[test]
fn a_shared_object_list_is_scanned_without_copying_it() {
    let objects: Arc<[Object]> = parsed("k8s.yaml").into();
    let scan = scan().with_parallelism(false);
    let first = scan
        .collect(vec![Box::new(Objects(objects.clone())) as Box<dyn Source>])
        .unwrap();
    let again = scan
        .collect(vec![Box::new(Objects(objects.clone())) as Box<dyn Source>])
        .unwrap();
    assert_eq!(keys(&first), keys(&again));
    assert_eq!(
        Arc::strong_count(&objects),
        1,
        "the scans let go of the list"
    );
}
