//! The verdict does not depend on the order of the input: objects with the
//! same identity in different files (two ClusterRoles `reader`, two
//! ServiceAccounts `shop/app`) are reported as conflicting and analysed
//! together, so any order of the files gives the same findings.

use std::collections::BTreeSet;

use palisade_core::{Context, Engine, Limits};
use palisade_scan::analyses::Rbac;
use palisade_scan::{Bytes, Scan, Source};
use proptest::prelude::*;

const FILES: [(&str, &str); 5] = [
    (
        "reader-secrets.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: [{apiGroups: [\"\"], resources: [secrets], verbs: [get, list]}]\n",
    ),
    (
        "reader-configmaps.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: reader}\nrules: [{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}]\n",
    ),
    (
        "binding.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: readers}\nroleRef: {kind: ClusterRole, name: reader, apiGroup: rbac.authorization.k8s.io}\nsubjects: [{kind: ServiceAccount, name: app, namespace: shop}]\n",
    ),
    (
        "sa-quiet.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: shop}\nautomountServiceAccountToken: false\n",
    ),
    (
        "sa-and-pod.yaml",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: shop}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  serviceAccountName: app\n  containers: [{name: app, image: nginx}]\n",
    ),
];

/// (rule, file, line, path) of every finding of a scan of the files in `order`.
fn findings(order: &[usize]) -> BTreeSet<(String, String, u32, String)> {
    let engine = Engine::new(
        palisade_rules::all_rules(),
        Context::default(),
        Limits::default(),
    );
    let sources: Vec<Box<dyn Source>> = order
        .iter()
        .map(|&i| {
            Box::new(Bytes {
                name: FILES[i].0.into(),
                bytes: FILES[i].1.as_bytes().to_vec(),
            }) as Box<dyn Source>
        })
        .collect();
    let report = Scan::new(engine)
        .with(Rbac::default())
        .collect(sources)
        .unwrap();
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule.to_string(),
                f.file.to_string(),
                f.line,
                f.path.clone(),
            )
        })
        .collect()
}

#[test]
fn conflicts_are_reported_and_the_secrets_binding_is_found() {
    let f = findings(&[0, 1, 2, 3, 4]);
    let rules: BTreeSet<&str> = f.iter().map(|(r, ..)| r.as_str()).collect();
    assert!(rules.contains("rbac/secrets-read-cluster"), "{f:#?}");
    assert!(rules.contains("rbac/risky-pod"), "{f:#?}");
    let conflicts: Vec<&str> = f
        .iter()
        .filter(|(r, ..)| r == "input/conflicting-definition")
        .map(|(_, file, ..)| file.as_str())
        .collect();
    assert_eq!(
        conflicts,
        [
            "reader-configmaps.yaml",
            "reader-secrets.yaml",
            "sa-and-pod.yaml",
            "sa-quiet.yaml"
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_order_of_the_files_gives_the_same_findings(
        order in Just(vec![0usize, 1, 2, 3, 4]).prop_shuffle()
    ) {
        prop_assert_eq!(findings(&order), findings(&[0, 1, 2, 3, 4]));
    }
}
