//! Unit tests of the detector.

use super::*;
use crate::builtins::BUILTINS;
use crate::detector::{LOWER_CHUNK, LOWER_FROM};

fn scan(hint: Option<&str>, text: &str) -> Vec<Detection> {
    let d = Detector::new(&SecretsPolicy::default());
    let mut out = Vec::new();
    d.scan(hint, text, &mut out);
    out
}

fn names(hint: Option<&str>, text: &str) -> Vec<String> {
    scan(hint, text).into_iter().map(|d| d.detector).collect()
}

#[test]
fn every_builtin_regex_compiles() {
    let d = Detector::new(&SecretsPolicy::default());
    assert!(d.errors().is_empty(), "{:?}", d.errors());
    assert_eq!(d.specs.len(), BUILTINS.len());
}

#[test]
fn each_detector_kind_fires() {
    let cases: &[(&str, &str)] = &[
        ("aws-access-key-id", "key AKIAIOSFODNN7EXAMPLE here"),
        (
            "aws-secret-access-key",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        (
            "gcp-service-account-key",
            r#"{"type": "service_account", "project_id": "p", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"}"#,
        ),
        (
            "azure-storage-key",
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
        ),
        ("github-token", "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"),
        (
            "github-token",
            "github_pat_11ABCDEFG0aBcDeFgHiJkL_MnOpQrStUvWxYz0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ012345678",
        ),
        ("gitlab-token", "glpat-aB3dE5fG7hJ9kL1mN3pQ"),
        ("slack-token", "xoxb-1234567890-1234567890123-aB3dE5fG7hJ9kL1mN3pQ5rS7"),
        (
            "slack-webhook",
            "https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/aB3dE5fG7hJ9kL1mN3pQ5rS7",
        ),
        ("stripe-key", "sk_live_aB3dE5fG7hJ9kL1mN3pQ5rS7tU"),
        ("npm-token", "//registry.npmjs.org/:_authToken=npm_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"),
        (
            "private-key",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq3XWGnb0bE\n-----END RSA PRIVATE KEY-----",
        ),
        (
            "jwt",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        ("url-credentials", "postgres://app:S3cr3tPw@db.internal:5432/app"),
        (GENERIC, "spring.datasource.password=Xk9#mQ2$vL7pR4wZ"),
        (GENERIC, "mysqld --root-password Xk9mQ2vL7pR4wZ"),
    ];
    for (want, text) in cases {
        let got = names(None, text);
        assert_eq!(
            got.first().map(String::as_str),
            Some(*want),
            "{text}: {got:?}"
        );
    }
    assert_eq!(
        names(
            Some("AWS_SECRET_ACCESS_KEY"),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ),
        ["aws-secret-access-key"]
    );
    assert_eq!(
        names(
            Some("azureStorageKey"),
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
        ),
        ["azure-storage-key"]
    );
    assert_eq!(names(Some("DB_PASSWORD"), "hunter2!"), [GENERIC]);
}

#[test]
fn entropy_splits_high_and_weak() {
    let strong = scan(Some("DB_PASSWORD"), "Xk9#mQ2$vL7pR4wZ");
    assert!(strong[0].high);
    let weak = scan(Some("DB_PASSWORD"), "password123");
    assert!(!weak[0].high);
    assert!(scan(None, "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5")[0].high);
}

/// Placeholders found on public manifests are not credentials; real values
/// that merely contain a placeholder's character are.
#[test]
fn placeholders_are_judged_by_the_whole_value() {
    for (key, v) in [
        ("API_KEY", "INSERT_YOUR_API_KEY_HERE"),
        ("AZURE_STORAGE_ACCOUNT_KEY", "mystorageaccountkey"),
        ("AUTH_TOKEN", "ThisIsASuperLongToken"),
        ("DB_PASSWORD", "changeme"),
        ("DB_PASSWORD", "db-password"),
        ("password", "Password"),
        ("ADMIN_PASSWORD", "<admin password>"),
        ("DB_PASSWORD", "$DB_PASSWORD"),
        ("DB_PASSWORD", "Example123!"),
    ] {
        assert!(names(Some(key), v).is_empty(), "{key}={v}");
    }
    assert!(names(
        None,
        "AccountKey=mystorageaccountkey;EndpointSuffix=core.windows.net"
    )
    .is_empty());
    for (key, v) in [
        ("DB_PASSWORD", "Zq8rT2mK9w<L4xVb7Nc3Hd6"),
        ("DB_PASSWORD", "$ecr3tP4ss!w0rdX"),
        ("DB_PASSWORD", "Kx9{{mQ2vL8pR4tZ"),
        ("DB_PASSWORD", "aB3exampleX9kLm2Qz7T"),
        ("DB_PASSWORD", "Zq8r****T2mKL4xVb7Nc"),
    ] {
        assert_eq!(names(Some(key), v), ["generic-secret"], "{key}={v}");
    }
}

/// Secret names written as one word are secret-like keys.
#[test]
fn concatenated_secret_names_are_secret_like() {
    let d = Detector::new(&SecretsPolicy::default());
    for key in [
        "PGPASSWORD",
        "MYSQLPASSWORD",
        "REDISPASSWORD",
        "ROOTPASSWORD",
        "dbpassword",
        "GITHUBTOKEN",
        "DBPASS",
        "LDAP_PASSWD",
        "ADMIN_PWD",
    ] {
        assert!(d.is_secret_key(key), "{key}");
    }
    for key in ["BYPASS", "COMPASS", "OLDPWD", "TOKEN_TTL", "PASSWORD_FILE"] {
        assert!(!d.is_secret_key(key), "{key}");
    }
}

/// An nsswitch.conf line names NSS sources, not a password.
#[test]
fn nsswitch_lines_are_not_credentials() {
    let conf = "passwd:         compat\ngroup:          compat\nshadow:         files systemd\nhosts:          files dns\n";
    assert!(names(None, conf).is_empty());
    assert!(names(Some("nsswitch.conf"), conf).is_empty());
}

#[test]
fn placeholders_references_and_paths_do_not_fire() {
    for v in [
        "changeme",
        "change-me",
        "<password>",
        "xxxxxxxx",
        "***",
        "REPLACE_ME",
        "TODO",
        "example",
        "dummy",
        "none",
        "null",
        "true",
        "false",
        "",
        "$(DB_PASS)",
        "${DB_PASS}",
        "{{ .Values.password }}",
        "/run/secrets/db",
        "./secret.txt",
        "ENC[AES256_GCM,data:x]",
    ] {
        assert!(names(Some("DB_PASSWORD"), v).is_empty(), "{v:?}");
    }
    assert!(names(Some("PASSWORD_FILE"), "secret.txt").is_empty());
    assert!(names(Some("TLS_KEY_PATH"), "certs/tls.key").is_empty());
    assert!(names(None, "PASSWORD_FILE=/run/secrets/db").is_empty());
    assert!(names(None, "--password=$(DB_PASSWORD)").is_empty());
    assert!(names(None, "postgres://app:${DB_PASS}@db:5432/app").is_empty());
    assert!(names(None, "https://user@example.com/path").is_empty());
    assert!(names(Some("secretName"), "db-credentials").is_empty());
    assert!(names(Some("existingSecret"), "db-credentials").is_empty());
    assert!(names(Some("TOKEN_TTL"), "3600s").is_empty());
    assert!(names(None, "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").is_empty());
    assert!(names(None, "AKIAXXXXXXXXXXXXXXXX").is_empty());
    assert!(names(
        Some("password"),
        "The password of the admin user of the database"
    )
    .is_empty());
    // Identifiers, resource names and prose in free text.
    assert!(names(None, r#""input_token": "NextToken""#).is_empty());
    assert!(names(None, r#""output_token": "DistributionList.NextMarker""#).is_empty());
    assert_eq!(
        names(Some("WEBHOOK_SECRET"), "NHFMYUfbnFbrBfiAV"),
        [GENERIC]
    );
    assert_eq!(names(None, "password=wxrKtPYBNgkDjCCun"), [GENERIC]);
    assert!(names(
        None,
        r#""credential": "Establishes the identity of a party""#
    )
    .is_empty());
    assert!(names(None, "--secret=projects/my-project/secrets/db/versions/1").is_empty());
    assert!(names(
        None,
        r#""ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyDb-a1b2c3""#
    )
    .is_empty());
    assert!(names(
        None,
        r#""IAMUserChangePassword": "arn:aws:iam::aws:policy/IAMUserChangePassword""#
    )
    .is_empty());
    assert!(names(
        None,
        r#""AWSMigrationFullAccess": "arn:aws:iam::aws:policy/AWSApplicationMigrationFullAccess""#
    )
    .is_empty());
    assert!(names(None, "permissions:\n  id-token: write\n").is_empty());
}

#[test]
fn aws_documented_example_key_is_reported() {
    // `EXAMPLE` is a placeholder word for generic values only: AWS's own
    // example key id has the real format and trains people to paste keys.
    assert_eq!(
        names(Some("AWS_ACCESS_KEY_ID"), "AKIAIOSFODNN7EXAMPLE"),
        ["aws-access-key-id"]
    );
}

#[test]
fn preview_never_shows_more_than_four_characters_or_a_third() {
    assert_eq!(preview("ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"), "ghp_…");
    assert_eq!(preview("hunter2"), "hu…");
    assert_eq!(preview("ab"), "…");
    let d = scan(Some("DB_PASSWORD"), "hunter2!");
    assert_eq!(d[0].preview, "hu…");
}

#[test]
fn allow_list_and_extra_patterns_apply() {
    let policy = SecretsPolicy {
        allow: vec!["^ghp_aB3d".into()],
        extra_patterns: vec![
            ExtraPattern {
                name: "acme-token".into(),
                regex: "acme_[a-z0-9]{16}".into(),
                keywords: vec!["acme_".into()],
            },
            ExtraPattern {
                name: "broken".into(),
                regex: "(unclosed".into(),
                keywords: vec![],
            },
        ],
        ..SecretsPolicy::default()
    };
    let d = Detector::new(&policy);
    assert_eq!(d.errors().len(), 1);
    let mut out = Vec::new();
    d.scan(None, "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", &mut out);
    assert!(out.is_empty());
    d.scan(None, "token acme_0123456789abcdef end", &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].detector, "acme-token");
    assert!(out[0].high);
}

#[test]
fn keys_are_judged_by_their_last_word() {
    let d = Detector::new(&SecretsPolicy::default());
    for k in [
        "DB_PASSWORD",
        "password",
        "apiKey",
        "API_KEY",
        "client_secret",
        "GITHUB_TOKEN",
        "aws_secret_access_key",
        "spring.datasource.password",
        "SMTP_PASS",
        "privateKey",
        "PASSWORD2",
    ] {
        assert!(d.is_secret_key(k), "{k}");
    }
    for k in [
        "secretName",
        "secretKeyRef",
        "PASSWORD_FILE",
        "tokenTTL",
        "image",
        "key",
        "name",
        "bypass",
        "passwordPolicy",
        "existingSecret",
    ] {
        assert!(!d.is_secret_key(k), "{k}");
    }
}

#[test]
fn short_and_long_texts_find_the_same_credentials() {
    // Under LOWER_FROM bytes the case-insensitive automaton runs, above
    // it the lower-cased copy: padding a text past the threshold must
    // find the same credentials at the same offsets.
    let texts = [
        "Password: Xk9#mQ2$vL7pR4wZ",
        "export GITHUB_TOKEN=ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
        "AWS_ACCESS_KEY_ID=AKIAQYLPMN5HHHFPZAM2 AWS_SECRET_ACCESS_KEY=qUoqE8Ukzhq3Bdq8Ga9Yzj+vQ8mSZr9XYSxbNlcF",
        "url: postgres://admin:S3cr3tPassw0rd@db.example.com:5432/app",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAz8Xb3mQ9vK2pL7wR4tY6uN1sD5fG8hJ0kZ3xC9vB2nM4\n",
        "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx npm_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
    ];
    for t in texts {
        assert!(t.len() < LOWER_FROM, "{t}");
        let short = scan(None, t);
        assert!(!short.is_empty(), "nothing found in {t}");
        let padded = format!("{t}\n{}", "lorem ipsum dolor sit amet\n".repeat(20));
        assert!(padded.len() >= LOWER_FROM);
        assert_eq!(scan(None, &padded), short, "{t}");
    }
}

#[test]
fn keywords_across_the_pieces_of_a_long_text_are_found() {
    let token = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
    for shift in 0..6 {
        // The keyword `ghp_` starts `shift` bytes before a piece ends.
        let mut text = "filler line\n".repeat(LOWER_CHUNK / 12 + 1);
        text.truncate(LOWER_CHUNK - shift);
        text.pop();
        text.push('\n');
        let at = text.len();
        text.push_str(token);
        text.push_str("\nmore\n");
        text.push_str(&"second piece\n".repeat(LOWER_CHUNK / 13));
        text.push_str("GITLAB=glpat-aB3dE5fG7hJ9kL1mN3pQ5\n");
        let d = scan(None, &text);
        let names: Vec<&str> = d.iter().map(|x| x.detector.as_str()).collect();
        assert_eq!(names, ["github-token", "gitlab-token"], "shift {shift}");
        assert_eq!(d[0].offset, at, "shift {shift}");
    }
}

#[test]
fn offsets_point_at_the_match() {
    let text = "a: 1\nb: 2\ntoken: ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5\n";
    let d = scan(None, text);
    assert_eq!(d.len(), 1);
    assert_eq!(&text[d[0].offset..d[0].offset + 4], "ghp_");
}

#[test]
fn base64_decodes_and_rejects() {
    assert_eq!(
        decode_base64("aHVudGVyMg==").as_deref(),
        Some(&b"hunter2"[..])
    );
    assert_eq!(decode_base64("aGk=\n").as_deref(), Some(&b"hi"[..]));
    assert_eq!(decode_base64("not base64!"), None);
    assert_eq!(as_text(&[0xff, 0x00]), None);
}

#[test]
fn windows_respect_char_boundaries() {
    let text = format!(
        "{}password=Xk9#mQ2$vL7pR4wZ{}",
        "é".repeat(2000),
        "ü".repeat(2000)
    );
    assert_eq!(names(None, &text), [GENERIC]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

    /// Any text and hint: no panic, previews are short, offsets are in range.
    #[test]
    fn never_panics_and_previews_stay_short(
        hint in proptest::option::of("[A-Za-z_]{0,12}"),
        text in "(password=|token: |ghp_|AKIA|eyJ|://|x:y@|-----BEGIN PRIVATE KEY-----|azure |[A-Za-z0-9+/=é\n \"']{0,40}){0,12}",
    ) {
        let d = detector_for(&SecretsPolicy::default());
        let mut out = Vec::new();
        d.scan(hint.as_deref(), &text, &mut out);
        for x in &out {
            proptest::prop_assert!(x.offset <= text.len());
            proptest::prop_assert!(x.preview.chars().count() <= 5);
            proptest::prop_assert!(x.preview.ends_with('…'));
        }
    }
}

#[test]
fn cache_returns_the_same_detector_for_equal_policies() {
    let a = detector_for(&SecretsPolicy::default());
    let b = detector_for(&SecretsPolicy::default());
    assert!(Arc::ptr_eq(&a, &b));
}

/// A secret access key next to its key id is found even without a
/// `secret` name before it, each at its own line.
#[test]
fn aws_secret_key_next_to_its_key_id_is_found() {
    let id = "AKIA2OGYBAH6STMMNXNN";
    let key = "Xq8rT2mK9wL4xVb7Nc3Hd6Jp1Sz5Gf0Ua2Ye4Wi6";
    for t in [
        format!("aws_access_key_id = {id}\naws_secret_access_key = {key}\n"),
        format!("Access key ID,Secret access key\n{id},{key}\n"),
        format!("aws configure set aws_access_key_id {id} && aws configure set aws_secret_access_key {key}"),
    ] {
        let found = scan(None, &t);
        let names: Vec<&str> = found.iter().map(|d| d.detector.as_str()).collect();
        assert_eq!(names, ["aws-access-key-id", "aws-secret-access-key"], "{t}");
        let line = |at: usize| t[..at].matches('\n').count();
        assert_eq!(line(found[1].offset), line(t.find(key).unwrap()), "{t}");
        assert!(!found.iter().any(|d| d.preview.contains(&key[..8])));
    }
    // A lower-case hex digest after a key id is not a secret key.
    let sha = format!("{id} 3f786850e387550fdab836ed7e6dc881de23001b");
    assert_eq!(names(None, &sha), ["aws-access-key-id"]);
}

/// Credential-shaped substrings are replaced by their previews wherever
/// they sit; everything else is left as it is, borrowed.
#[test]
fn redact_replaces_credentials_with_previews() {
    let token = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
    let text = format!("image \"registry.example.com/app:{token}\" uses a mutable tag");
    let clean = redact(&text);
    assert!(!clean.contains(token), "{clean}");
    assert!(clean.contains("registry.example.com/app:ghp_"), "{clean}");
    assert!(clean.ends_with("\" uses a mutable tag"));
    let url = "pull https://bot:S3cretPassw0rd9@reg.example.com/a:1 failed";
    let clean = redact(url);
    assert!(!clean.contains("S3cretPassw0rd9"), "{clean}");
    assert!(clean.contains("https://bot:"), "{clean}");
    let plain = "container \"app\" must set runAsNonRoot; password \"Zq8r…\"";
    assert!(matches!(redact(plain), std::borrow::Cow::Borrowed(_)));
}
