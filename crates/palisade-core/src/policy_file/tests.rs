//! Unit tests of `policy_file`.

use super::*;
use crate::finding::Severity;
use crate::policy::FailurePolicy;
use crate::rule::{PssLevel, PssVersion};

#[test]
fn default_file_equals_built_in_defaults() {
    let p = parse_policy("p.yaml", DEFAULT_POLICY_YAML).expect("default policy parses");
    assert_eq!(
        p,
        Policy {
            file: Some("p.yaml".into()),
            ..Policy::default()
        }
    );
}

#[test]
fn full_policy_is_read() {
    let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  podSecurity: {level: baseline, version: v1.29}\n  rules:\n    hardening/*: {severity: info}\n    serviceaccount/default: {enabled: false}\n  images:\n    trustedRegistries: [registry.example.com/*]\n    requireDigest: true\n  secrets:\n    entropyThreshold: 4\n    extraPatterns:\n    - {name: acme, regex: 'acme_[a-z0-9]{16}', keywords: [acme_]}\n    allow: ['^EXAMPLE']\n  exemptions:\n  - rules: [pss/hostNamespaces]\n    match: {namespaces: [monitoring], kinds: [DaemonSet]}\n    reason: node exporter\n    owner: platform\n    expires: 2027-06-30\n  suppressions: {inline: ['hardening/*']}\n  admission: {threshold: critical}\n";
    let p = parse_policy("p.yaml", text).expect("parses");
    assert_eq!(p.level, PssLevel::Baseline);
    assert_eq!(p.version, PssVersion::V1(29));
    assert_eq!(p.rules.len(), 2);
    assert_eq!(p.rules[1].enabled, Some(false));
    assert!(p.images.require_digest);
    assert_eq!(p.secrets.entropy_threshold, 4.0);
    assert_eq!(p.secrets.extra_patterns[0].keywords, ["acme_"]);
    assert_eq!(
        p.exemptions[0].expires.map(|d| d.to_string()).as_deref(),
        Some("2027-06-30")
    );
    assert_eq!(p.exemptions[0].line, 17);
    assert_eq!(p.inline_suppressions, ["hardening/*"]);
    assert_eq!(p.admission_threshold, Severity::Critical);
}

#[test]
fn unknown_keys_and_wrong_types_are_errors_with_lines() {
    let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    trustedRegistry: [x]\n    requireDigest: sometimes\n  exemptions:\n  - rules: [pss/privileged]\n    expires: next week\n";
    let errs = parse_policy("p.yaml", text).expect_err("invalid");
    let lines: Vec<u32> = errs.iter().map(|e| e.pos.line).collect();
    assert_eq!(lines, [5, 6, 8, 9], "{errs:?}");
    assert!(errs[0].message.contains("unknown key \"trustedRegistry\""));
    assert!(errs[1].message.contains("true or false"));
    assert!(errs[2].message.contains("reason"));
    assert!(errs[3].message.contains("YYYY-MM-DD"));
}

#[test]
fn wrong_kind_and_bad_regex_are_errors() {
    let errs = parse_policy("p.yaml", "apiVersion: v1\nkind: ConfigMap\n").expect_err("invalid");
    assert_eq!(errs.len(), 2);
    let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  secrets:\n    allow: ['(unclosed']\n";
    let errs = parse_policy("p.yaml", text).expect_err("invalid");
    assert_eq!(errs[0].pos.line, 5);
}

#[test]
fn image_verification_settings_are_read() {
    let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [ghcr.io/acme/**]\n      keys: [keys/cosign.pub]\n    - images: [registry.example.com/*]\n      keys: [a.pub, b.pub]\n      required: false\n    mutateDigest: true\n    failurePolicy: Ignore\n";
    let p = parse_policy("conf/p.yaml", text).expect("parses");
    let v = &p.images.verify;
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].images, ["ghcr.io/acme/**"]);
    assert_eq!(v[0].keys, ["keys/cosign.pub"]);
    assert!(v[0].required, "required by default");
    assert_eq!(v[0].line, 6);
    assert!(!v[1].required);
    assert_eq!(v[1].keys.len(), 2);
    assert!(p.images.mutate_digest);
    assert_eq!(p.images.failure_policy, FailurePolicy::Ignore);
    assert_eq!(
        p.relative_path(&v[0].keys[0]),
        std::path::Path::new("conf/keys/cosign.pub")
    );
}

#[test]
fn image_verification_mistakes_are_errors_with_lines() {
    let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [ghcr.io/acme/**]\n    - keys: [k.pub]\n      requird: true\n    failurePolicy: Open\n";
    let errs = parse_policy("p.yaml", text).expect_err("invalid");
    let lines: Vec<u32> = errs.iter().map(|e| e.pos.line).collect();
    assert_eq!(lines, [6, 7, 8, 9], "{errs:?}");
    assert!(errs[0].message.contains("needs keys"), "{errs:?}");
    assert!(errs[1].message.contains("needs images"), "{errs:?}");
    assert!(
        errs[2].message.contains("unknown key \"requird\""),
        "{errs:?}"
    );
    assert!(errs[3].message.contains("not Fail or Ignore"), "{errs:?}");
}

#[test]
fn workloads_are_read_and_bad_paths_are_errors_with_lines() {
    let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  workloads:\n  - {apiVersion: example.com/v1, kind: Worker, podSpecPath: spec.runner.spec}\n";
    let p = parse_policy("p.yaml", text).expect("parses");
    assert_eq!(p.workloads[0].pod_spec_path, "spec.runner.spec");
    let bad = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  workloads:\n  - {apiVersion: example.com/v1, kind: Worker, podSpecPath: spec.runner}\n  - {kind: Worker}\n";
    let errs = parse_policy("p.yaml", bad).expect_err("invalid");
    let lines: Vec<u32> = errs.iter().map(|e| e.pos.line).collect();
    assert_eq!(lines, [5, 6], "{errs:?}");
    assert!(
        errs[0].message.contains("ending in `spec`"),
        "{}",
        errs[0].message
    );
}

#[test]
fn keyless_verification_settings_are_read_and_mistakes_are_errors() {
    let text = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    trustedRoot: roots/trusted_root.json\n    verify:\n    - images: [ghcr.io/acme/**]\n      keyless:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: https://github.com/acme/.*\n        repository: acme/app\n        ref: refs/heads/main\n        workflow: release\n        trigger: push\n      attestations:\n      - predicateType: https://slsa.dev/provenance/v1\n        conditions: [\"predicate.runDetails.builder.id != ''\"]\n      trustedRoot: own.json\n";
    let p = parse_policy("p.yaml", text).expect("parses");
    assert_eq!(
        p.images.trusted_root.as_deref(),
        Some("roots/trusted_root.json")
    );
    let v = &p.images.verify[0];
    assert!(v.keys.is_empty());
    assert_eq!(v.trusted_root.as_deref(), Some("own.json"));
    let k = &v.keyless[0];
    assert_eq!(k.issuer, "https://token.actions.githubusercontent.com");
    assert_eq!(
        k.subject_regexp.as_deref(),
        Some("https://github.com/acme/.*")
    );
    assert_eq!(k.subject, None);
    assert_eq!(k.repository.as_deref(), Some("acme/app"));
    assert_eq!(k.git_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(k.workflow.as_deref(), Some("release"));
    assert_eq!(k.trigger.as_deref(), Some("push"));
    assert_eq!(
        v.attestations[0].predicate_type,
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(v.attestations[0].conditions.len(), 1);

    let bad = "apiVersion: palisade.dev/v1alpha1\nkind: Policy\nspec:\n  images:\n    verify:\n    - images: [a/**]\n      keyless:\n      - subject: x\n      - issuer: https://i\n      - issuer: https://i\n        subject: x\n        subjectRegExp: z\n      - issuer: https://i\n        subjectRegExp: '(unclosed'\n      attestations:\n      - conditions: [x]\n";
    let errs = parse_policy("p.yaml", bad).expect_err("invalid");
    let got: Vec<(u32, &str)> = errs
        .iter()
        .map(|e| (e.pos.line, e.message.as_str()))
        .collect();
    assert_eq!(got.len(), 5, "{got:?}");
    assert!(
        got[0].0 == 8 && got[0].1.contains("needs issuer"),
        "{got:?}"
    );
    assert!(
        got[1].0 == 9 && got[1].1.contains("needs subject"),
        "{got:?}"
    );
    assert!(got[2].0 == 10 && got[2].1.contains("not both"), "{got:?}");
    assert!(
        got[3].0 == 13 && got[3].1.contains("subjectRegExp"),
        "{got:?}"
    );
    assert!(
        got[4].0 == 16 && got[4].1.contains("needs predicateType"),
        "{got:?}"
    );
}
