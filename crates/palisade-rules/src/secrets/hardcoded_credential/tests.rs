//! Unit tests of `hardcoded_credential`.

use palisade_core::policy::ExtraPattern;
use palisade_core::Policy;

use crate::secrets::testutil::{assert_redacted, secrets, secrets_with};

fn deployment(container_extra: &str) -> String {
    format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n{container_extra}")
}

fn configmap(data: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n{data}")
}

const STRONG: &str = "Xk9#mQ2$vL7pR4wZ";
const GHP: &str = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";

#[test]
fn high_entropy_env_password_is_high_at_the_value() {
    let y = deployment(&format!("        env:\n        - name: MODE\n          value: prod\n        - name: DB_PASSWORD\n          value: \"{STRONG}\"\n"));
    let f = secrets(&y);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "secrets/hardcoded-credential");
    assert_eq!(f[0].severity, palisade_core::Severity::High);
    assert_eq!(f[0].path, "spec.template.spec.containers[0].env[1].value");
    assert_eq!(f[0].line, 15);
    assert_eq!(f[0].container.as_deref(), Some("app"));
    assert!(
        f[0].message.contains("env var DB_PASSWORD"),
        "{}",
        f[0].message
    );
    assert!(f[0].message.contains("\"Xk9#…\""), "{}", f[0].message);
    assert_redacted(&f, STRONG);
}

#[test]
fn low_entropy_env_password_is_a_weak_credential() {
    let y = deployment("        env:\n        - {name: DB_PASSWORD, value: hunter22}\n");
    let f = secrets(&y);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "secrets/weak-credential");
    assert_eq!(f[0].severity, palisade_core::Severity::Medium);
    assert_redacted(&f, "hunter22");
}

#[test]
fn references_placeholders_and_paths_pass() {
    let y = deployment("        env:\n        - {name: DB_PASSWORD, value: $(PASSWORD)}\n        - {name: API_TOKEN, value: changeme}\n        - {name: PASSWORD_FILE, value: /run/secrets/db}\n        - {name: SECRET, value: '${SECRET}'}\n        - {name: TOKEN, value: '<token>'}\n        - name: KEY\n          valueFrom:\n            secretKeyRef: {name: k, key: api_key}\n        args: [\"--password=$(DB_PASSWORD)\", \"--token-file=/var/run/token\", \"--tls-key-path\", \"/etc/tls/key\"]\n        volumeMounts: [{name: s, mountPath: /etc/secret}]\n      volumes:\n      - name: s\n        secret: {secretName: app-credentials}\n");
    let f: Vec<_> = secrets(&y)
        .into_iter()
        .filter(|f| f.rule != "secrets/env-secret-ref")
        .collect();
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn command_and_args_forms_are_found() {
    let y = deployment(&format!("        command: [\"sh\", \"-c\", \"export DB_PASSWORD={STRONG} && exec app\"]\n        args: [\"--api-token\", \"{GHP}\", \"--verbose\", \"--client-secret=s3cr3tValue\"]\n"));
    let f = secrets(&y);
    let paths: Vec<(&str, &str)> = f.iter().map(|f| (f.rule, f.path.as_str())).collect();
    assert_eq!(
        paths,
        [
            (
                "secrets/hardcoded-credential",
                "spec.template.spec.containers[0].command[2]"
            ),
            (
                "secrets/hardcoded-credential",
                "spec.template.spec.containers[0].args[1]"
            ),
            (
                "secrets/weak-credential",
                "spec.template.spec.containers[0].args[3]"
            ),
        ],
        "{f:#?}"
    );
    assert!(f[1].message.contains("github-token"));
    assert_redacted(&f, STRONG);
    assert_redacted(&f, GHP);
    assert_redacted(&f, "s3cr3tValue");
}

#[test]
fn configmap_data_binary_data_annotations_and_labels_are_scanned() {
    // binaryData holds "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n".
    let y = configmap(&format!("  annotations:\n    ci.example.com/token: \"{GHP}\"\n  labels:\n    password: hunter22\ndata:\n  app.properties: |\n    server.port=8080\n    aws.key=AKIAIOSFODNN7EXAMPLE\n  uuid: 7f3c1f2e-9d1b-4c55-8f0e-1a2b3c4d5e6f\nbinaryData:\n  creds: YXdzX2FjY2Vzc19rZXlfaWQgPSBBS0lBSU9TRk9ETk43RVhBTVBMRQo=\n"));
    let f = secrets(&y);
    let got: Vec<(&str, &str)> = f.iter().map(|f| (f.rule, f.path.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                "secrets/hardcoded-credential",
                "metadata.annotations[\"ci.example.com/token\"]"
            ),
            ("secrets/hardcoded-credential", "data[\"app.properties\"]"),
            ("secrets/hardcoded-credential", "binaryData.creds"),
            ("secrets/weak-credential", "metadata.labels.password"),
        ],
        "{f:#?}"
    );
    assert!(
        f[1].message.contains("line 2 of the value"),
        "{}",
        f[1].message
    );
    assert!(f[2].message.contains("base64-decoded"), "{}", f[2].message);
    assert_redacted(&f, "AKIAIOSFODNN7EXAMPLE");
}

#[test]
fn any_field_of_any_object_is_scanned_but_not_secret_data() {
    let y = format!("apiVersion: example.com/v1\nkind: Pipeline\nmetadata: {{name: p}}\nspec:\n  notify:\n    slack: https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/aB3dE5fG7hJ9kL1mN3pQ5rS7\n  db: postgres://app:Zq8vN3xK1wT6@db:5432/app\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  token: {GHP}\n---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: s}}\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq8Wn3kQpLs7/Tz1mNbxYw==\n");
    let f = secrets(&y);
    let got: Vec<(&str, &str)> = f.iter().map(|f| (f.rule, f.path.as_str())).collect();
    assert_eq!(
        got,
        [
            ("secrets/hardcoded-credential", "spec.notify.slack"),
            ("secrets/hardcoded-credential", "spec.db"),
            ("secrets/plaintext-secret-manifest", "stringData"),
        ],
        "{f:#?}"
    );
    assert!(f[1].message.contains("url-credentials"));
    assert_redacted(&f, GHP);
    assert_redacted(&f, "Zq8vN3xK1wT6");
}

#[test]
fn every_detector_fires_in_a_configmap() {
    let cases: &[(&str, &str)] = &[
            ("aws-access-key-id", "AKIAIOSFODNN7EXAMPLE"),
            ("github-token", GHP),
            ("gitlab-token", "glpat-aB3dE5fG7hJ9kL1mN3pQ"),
            ("slack-token", "xoxb-1234567890-1234567890123-aB3dE5fG7hJ9kL1mN3pQ5rS7"),
            ("stripe-key", "sk_live_aB3dE5fG7hJ9kL1mN3pQ5rS7tU"),
            ("npm-token", "npm_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"),
            ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
        ];
    for (det, value) in cases {
        let f = secrets(&configmap(&format!("data:\n  setting: \"{value}\"\n")));
        assert_eq!(f.len(), 1, "{det}: {f:#?}");
        assert!(f[0].message.contains(det), "{det}: {}", f[0].message);
        assert_redacted(&f, value);
    }
    let pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n    b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n    -----END OPENSSH PRIVATE KEY-----";
    let f = secrets(&configmap(&format!("data:\n  id_ed25519: |\n    {pem}\n")));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("private-key"));
    assert_redacted(&f, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ");
    let gcp = "{\"type\": \"service_account\", \"project_id\": \"demo\", \"private_key_id\": \"0123\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n\", \"client_email\": \"x@demo.iam.gserviceaccount.com\"}";
    let f = secrets(&configmap(&format!("data:\n  key.json: '{gcp}'\n")));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].message.contains("gcp-service-account-key"),
        "{}",
        f[0].message
    );
    let az = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net";
    let f = secrets(&configmap(&format!("data:\n  STORAGE: \"{az}\"\n")));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("azure-storage-key"));
    assert_redacted(
        &f,
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq",
    );
}

#[test]
fn realistic_non_secrets_pass() {
    let y = configmap("data:\n  uuid: 7f3c1f2e-9d1b-4c55-8f0e-1a2b3c4d5e6f\n  sha: 3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b\n  image: registry.example.com/app@sha256:3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b\n  url: https://api.example.com/v1?page=2\n  blob: eyJmZWF0dXJlcyI6IHsiYmV0YSI6IHRydWV9fQ==\n  secretName: db-credentials\n  tokenTTL: 3600s\n  passwordPolicy: strong\n");
    assert!(secrets(&y).is_empty(), "{:#?}", secrets(&y));
}

#[test]
fn allow_list_and_extra_patterns_from_the_policy() {
    let mut policy = Policy::default();
    policy.secrets.allow = vec!["^hunter".into()];
    policy.secrets.extra_patterns = vec![
        ExtraPattern {
            name: "acme-token".into(),
            regex: "acme_[a-z0-9]{16}".into(),
            keywords: vec!["acme_".into()],
        },
        ExtraPattern {
            name: "broken".into(),
            regex: "([".into(),
            keywords: vec!["x".into()],
        },
    ];
    let y = configmap("data:\n  DB_PASSWORD: hunter22\n  note: acme_0123456789abcdef\n");
    let f = secrets_with(&y, policy);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].message.contains("acme-token"));
    assert_eq!(f[0].path, "data.note");
    assert_redacted(&f, "acme_0123456789abcdef");
}

#[test]
fn weak_rule_alone_walks_for_itself() {
    use palisade_core::{Context, Engine, Limits};
    let y = deployment("        env:\n        - {name: DB_PASSWORD, value: hunter22}\n");
    let rules: Vec<Box<dyn palisade_core::Rule>> =
        vec![Box::new(super::HardcodedCredential::weak())];
    let engine = Engine::new(rules, Context::default(), Limits::default());
    let f = engine.scan_bytes("t.yaml", y.as_bytes()).findings;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rule, "secrets/weak-credential");
    // The next object does not see the previous object's weak findings.
    let clean = deployment("        env:\n        - {name: MODE, value: prod}\n");
    let both = format!("{y}---\n{clean}");
    let f = secrets(&both);
    assert_eq!(f.len(), 1, "{f:#?}");
}

#[test]
fn entropy_threshold_comes_from_the_policy() {
    let y = deployment("        env:\n        - {name: DB_PASSWORD, value: hunter22}\n");
    let mut policy = Policy::default();
    policy.secrets.entropy_threshold = 2.0;
    let f = secrets_with(&y, policy);
    assert_eq!(f[0].rule, "secrets/hardcoded-credential");
}
