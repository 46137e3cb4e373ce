//! The built-in detectors: names, keywords, regular expressions and how
//! their candidates are graded.

use crate::GENERIC;

/// How candidates of a detector are filtered and graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A vendor format: always high; only the allow-list and obvious
    /// placeholders (`ghp_xxxx…`) suppress it.
    Specific,
    /// `scheme://user:password@host`: high unless the password is a
    /// template or a placeholder.
    Url,
    /// `key=value` / `key: value` / `--key value` in free text: the key must
    /// be secret-like and the value a literal; graded by entropy.
    Generic,
    /// A pattern from the policy: high; only the allow-list applies.
    Extra,
}

/// A built-in detector, before compilation.
pub(crate) struct Builtin {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) keywords: &'static [&'static str],
    pub(crate) regex: &'static str,
    pub(crate) requires: Option<&'static str>,
    pub(crate) before: usize,
    pub(crate) after: usize,
    pub(crate) mixed: bool,
    /// The finding is at the secret, not at the start of the match (the
    /// pattern reaches back to context that is reported on its own).
    pub(crate) at_secret: bool,
}

pub(crate) const fn builtin(
    name: &'static str,
    kind: Kind,
    keywords: &'static [&'static str],
    regex: &'static str,
) -> Builtin {
    Builtin {
        name,
        kind,
        keywords,
        regex,
        requires: None,
        before: 0,
        after: 0,
        mixed: false,
        at_secret: false,
    }
}

/// The built-in detectors, in priority order: when two matches overlap,
/// the earlier detector wins (a GitHub token under `password=` is a
/// `github-token`, not a generic secret). `(?-u:\b)` is the ASCII word
/// boundary, which the lazy DFA handles on any input.
pub(crate) static BUILTINS: &[Builtin] = &[
    Builtin {
        requires: Some(r#""type"\s*:\s*"service_account""#),
        before: 4096,
        after: 4096,
        ..builtin(
            "gcp-service-account-key",
            Kind::Specific,
            &["service_account"],
            r#""private_key"\s*:\s*"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:\\n|\s)*(?P<secret>[A-Za-z0-9+/]{16,})"#,
        )
    },
    Builtin {
        after: 512,
        ..builtin(
            "private-key",
            Kind::Specific,
            &["PRIVATE KEY"],
            r"-----BEGIN[A-Z0-9 ]{0,30}PRIVATE KEY(?: BLOCK)?-----(?:\\n|\s)*(?:[A-Za-z-]+:[^\n]*(?:\\n|\s)+)*(?P<secret>[A-Za-z0-9+/]{16,})",
        )
    },
    builtin(
        "aws-access-key-id",
        Kind::Specific,
        &["AKIA", "ASIA", "ABIA", "ACCA", "A3T"],
        r"(?-u:\b)(?P<secret>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?-u:\b)",
    ),
    Builtin {
        mixed: true,
        ..builtin(
            "aws-secret-access-key",
            Kind::Specific,
            &["secret"],
            r#"(?i:secret)[A-Za-z0-9_.\-]{0,25}(?:\\?["'])?[ \t]*(?:=|:=|=>|:)[ \t]*(?:\\?["'])?(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        )
    },
    // A secret access key written next to its key id without a `secret`
    // name: a credentials CSV (`AKIA…,wJalr…`), `aws configure set … KEY`.
    Builtin {
        after: 256,
        mixed: true,
        at_secret: true,
        ..builtin(
            "aws-secret-access-key",
            Kind::Specific,
            &["AKIA", "ASIA"],
            r"(?-u:\b)(?:AKIA|ASIA)[A-Z2-7]{16}(?s:.){0,160}?[^A-Za-z0-9/+](?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        )
    },
    builtin(
        "azure-storage-key",
        Kind::Specific,
        &["AccountKey"],
        r"(?i:AccountKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{40,}={0,2})",
    ),
    Builtin {
        before: 256,
        after: 256,
        mixed: true,
        ..builtin(
            "azure-storage-key",
            Kind::Specific,
            &["azure", "storage", "windows.net"],
            r"(?:^|[^A-Za-z0-9+/])(?P<secret>[A-Za-z0-9+/]{86}==)",
        )
    },
    builtin(
        "github-token",
        Kind::Specific,
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        r"(?-u:\b)(?P<secret>(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}))(?-u:\b)",
    ),
    builtin(
        "gitlab-token",
        Kind::Specific,
        &["glpat-"],
        r"(?-u:\b)(?P<secret>glpat-[A-Za-z0-9_\-]{20,})",
    ),
    builtin(
        "slack-token",
        Kind::Specific,
        &["xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-"],
        r"(?-u:\b)(?P<secret>xox[abposr]-[0-9A-Za-z]{4,}(?:-[0-9A-Za-z]{4,}){1,4})",
    ),
    builtin(
        "slack-webhook",
        Kind::Specific,
        &["hooks.slack.com"],
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9_/+\-]{20,})",
    ),
    builtin(
        "stripe-key",
        Kind::Specific,
        &["k_live_"],
        r"(?-u:\b)(?P<secret>[sr]k_live_[0-9A-Za-z]{20,247})(?-u:\b)",
    ),
    builtin(
        "npm-token",
        Kind::Specific,
        &["npm_"],
        r"(?-u:\b)(?P<secret>npm_[A-Za-z0-9]{36})(?-u:\b)",
    ),
    builtin(
        "jwt",
        Kind::Specific,
        &["eyJ"],
        r"(?-u:\b)(?P<secret>eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
    ),
    builtin(
        "url-credentials",
        Kind::Url,
        &["://"],
        r#"(?i)(?-u:\b)[a-z][a-z0-9+.\-]{1,30}://[^:/?#@\s"'\\<>]{0,64}:(?P<secret>[^@/?#\s"'\\]{1,128})@[A-Za-z0-9\[\]_\-]"#,
    ),
    // `key = value`: a quoted value is taken whole and may not contain
    // whitespace (`"password": "The password to use"` is prose).
    builtin(
        GENERIC,
        Kind::Generic,
        GENERIC_KEYWORDS,
        r#"(?i)(?P<key>[a-z0-9_.\-]*(?:pass|passwd|password|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|creds)[0-9]*)(?:\\?["'])?[ \t]*(?:=|:=|=>|:)[ \t]*(?:"(?P<dq>[^"\s\\]+)"|'(?P<sq>[^'\s]+)'|\\"(?P<eq>[^"\s\\]+)\\"|(?P<secret>[^\s"'`\\,;]+))"#,
    ),
    builtin(
        GENERIC,
        Kind::Generic,
        GENERIC_KEYWORDS,
        r#"(?i)(?:^|[\s"'])--?(?P<key>[a-z0-9_\-]*(?:pass|passwd|password|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|creds)[0-9]*)[ \t]+["']?(?P<secret>[^\s"'\-][^\s"']*)"#,
    ),
];

/// Keywords of the generic detectors: a key of `key=value` ends with one of
/// the stems in their regexes, and each stem contains one of these. Few on
/// purpose: every keyword costs the literal prefilter time on every byte, so
/// `key` gates `api_key`, `access-key`, `privateKey`, ... at once (ten
/// fewer keywords: text-heavy image layers scan about 15% faster, with the
/// same findings).
pub(crate) const GENERIC_KEYWORDS: &[&str] = &["pass", "pwd", "secret", "token", "key", "cred"];

/// Stems a key must contain to be worth the word-level check.
pub(crate) const KEY_STEMS: &[&str] = &["pass", "pw", "secret", "token", "key", "cred"];
