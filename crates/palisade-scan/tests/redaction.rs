//! No output quotes a credential from the input: credentials planted in
//! every field a finding can quote (image references, container, object
//! and ServiceAccount names, annotation keys, role names, URLs with a
//! password) never reach the table, JSON, SARIF or JUnit output, whatever
//! their random body.

use palisade_core::{Context, Engine, Limits};
use palisade_report::{render, Format, RenderOptions};
use palisade_scan::analyses::Rbac;
use palisade_scan::{Bytes, Scan, Source};
use proptest::prelude::*;

/// A GitHub token, an AWS key id, a Slack bot token and a URL password
/// with the same random body, as the detectors shape them.
fn credentials(body: &str) -> [String; 4] {
    let upper: String = body
        .chars()
        .map(|c| match c {
            '0'..='9' => b"234567QRST"[c as usize - '0' as usize] as char,
            c => c.to_ascii_uppercase(),
        })
        .take(16)
        .collect();
    [
        format!("ghp_{body}"),
        format!("AKIA{upper}"),
        format!("xoxb-1234567890-1234567890123-{}", &body[..24]),
        format!("S3{}", &body[..14]),
    ]
}

/// Manifests that quote each credential in a different field.
fn manifests(c: &[String; 4]) -> String {
    let [ghp, akia, slack, pw] = c;
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations:
    {slack}: x
spec:
  serviceAccountName: {akia}
  containers:
  - name: {ghp}
    image: registry.example.com/app:{ghp}
    imagePullPolicy: IfNotPresent
    securityContext: {{privileged: true}}
  - name: side
    image: https://bot:{pw}@registry.example.com/side:1
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {akia}}}
rules:
- {{apiGroups: ['*'], resources: ['*'], verbs: ['*']}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {slack}}}
roleRef: {{kind: ClusterRole, name: {akia}, apiGroup: rbac.authorization.k8s.io}}
subjects:
- {{kind: ServiceAccount, name: {akia}, namespace: shop}}
"
    )
}

fn outputs(yaml: &str) -> Vec<(Format, String)> {
    let engine = Engine::new(
        palisade_rules::all_rules(),
        Context::default(),
        Limits::default(),
    );
    let scan = Scan::new(engine).with(Rbac::default());
    let source: Box<dyn Source> = Box::new(Bytes {
        name: "pod.yaml".into(),
        bytes: yaml.as_bytes().to_vec(),
    });
    let report = scan.collect(vec![source]).expect("scan runs");
    assert!(report.findings.len() > 5, "{:#?}", report.findings);
    let catalog = palisade_scan::catalog();
    Format::ALL
        .into_iter()
        .map(|format| {
            let mut out = Vec::new();
            render(
                &report,
                &catalog,
                format,
                &RenderOptions::default(),
                &mut out,
            )
            .unwrap();
            (format, String::from_utf8(out).unwrap())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn planted_credentials_reach_no_output(body in "[A-Za-z0-9]{36}") {
        prop_assume!(body.bytes().any(|b| b.is_ascii_digit()));
        prop_assume!(body.bytes().any(|b| b.is_ascii_uppercase()));
        prop_assume!(body.bytes().any(|b| b.is_ascii_lowercase()));
        // Four distinct characters at least, or the token is a placeholder.
        prop_assume!(body[..16].chars().collect::<std::collections::BTreeSet<_>>().len() >= 6);
        let creds = credentials(&body);
        for (format, out) in outputs(&manifests(&creds)) {
            for c in &creds {
                prop_assert!(!out.contains(c.as_str()), "{format}: {c} in\n{out}");
            }
        }
    }
}
