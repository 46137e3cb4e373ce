//! The credential detector behind the `secrets` rules, usable on any text
//! (manifest fields now, image layer files later).
//!
//! One Aho-Corasick automaton holds the keywords of every detector; a
//! detector's regular expression runs only in windows around its keywords'
//! occurrences (the line, widened by a per-detector reach). One `RegexSet`
//! over all patterns falls to about 1 MB/s, keyword-gated regexes keep
//! hundreds of MB/s (see `docs/dependencies.md`). Candidates then pass
//! through filters (templates, placeholders, file paths, the policy's
//! allow-list) and generic values are split by Shannon entropy.
//!
//! Findings carry a redacted preview only: at most the first four
//! characters (fewer for short values) followed by `…`.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use palisade_core::policy::SecretsPolicy;
use regex::{Regex, RegexBuilder};

/// One credential found in a text.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Detector name (`github-token`, `generic-secret`, or an extra pattern's name).
    pub detector: String,
    /// Redacted preview: at most the first four characters of the value, then `…`.
    pub preview: String,
    /// A specific detector matched or the value has high entropy; `false`
    /// for a low-entropy generic value (a weak password is still a password).
    pub high: bool,
    /// Byte offset in the scanned text where the match starts.
    pub offset: usize,
}

/// Name of the detector for values under secret-like keys.
pub const GENERIC: &str = "generic-secret";

/// How candidates of a detector are filtered and graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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

/// One compiled detector.
#[derive(Debug)]
struct Spec {
    name: Cow<'static, str>,
    kind: Kind,
    regex: Regex,
    /// Must also match in the same window (the GCP key's `"type"`).
    requires: Option<Regex>,
    /// Bytes of context before and after a keyword occurrence, beyond its line.
    before: usize,
    after: usize,
    /// The value must mix digits, upper and lower case (random keys do;
    /// identifiers such as `policy/AWSBillingReadOnlyAccess` do not).
    mixed: bool,
}

/// A built-in detector, before compilation.
struct Builtin {
    name: &'static str,
    kind: Kind,
    keywords: &'static [&'static str],
    regex: &'static str,
    requires: Option<&'static str>,
    before: usize,
    after: usize,
    mixed: bool,
}

const fn builtin(
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
    }
}

/// The built-in detectors, in priority order: when two matches overlap,
/// the earlier detector wins (a GitHub token under `password=` is a
/// `github-token`, not a generic secret). `(?-u:\b)` is the ASCII word
/// boundary, which the lazy DFA handles on any input.
static BUILTINS: &[Builtin] = &[
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
const GENERIC_KEYWORDS: &[&str] = &["pass", "pwd", "secret", "token", "key", "cred"];

/// Stems a key must contain to be worth the word-level check.
const KEY_STEMS: &[&str] = &["pass", "pw", "secret", "token", "key", "cred"];

thread_local! {
    /// The lower-cased copy of the text being scanned, reused between scans.
    static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Shortest text searched through a lower-cased copy.
const LOWER_FROM: usize = 256;

/// Bytes of a long text lower-cased and searched at a time.
const LOWER_CHUNK: usize = 64 << 10;

/// Longest stretch a window is widened by to reach a line boundary.
const LINE_CAP: usize = 1024;

/// Longest value checked as a whole under a secret-like key.
const MAX_KEYED_VALUE: usize = 256;

/// The credential detector, compiled from a [`SecretsPolicy`].
#[derive(Debug)]
pub struct Detector {
    policy: SecretsPolicy,
    specs: Vec<Spec>,
    /// Keywords of every detector, ASCII case-insensitive, for short texts.
    keywords: Option<AhoCorasick>,
    /// The same keywords lower-cased, searched in a lower-cased copy of a
    /// long text (see [`Detector::scan_text`]).
    keywords_lower: Option<AhoCorasick>,
    /// Bytes a keyword can reach beyond its first byte.
    keyword_reach: usize,
    /// Keyword pattern id → detectors it gates.
    gates: Vec<Vec<usize>>,
    /// Detectors without keywords (extra patterns that give none): run on every text.
    ungated: Vec<usize>,
    /// Stems of secret-like key names.
    key_stems: Option<AhoCorasick>,
    allow: Vec<Regex>,
    errors: Vec<String>,
}

impl Detector {
    /// Compiles the built-in detectors, the policy's extra patterns and its
    /// allow-list. An invalid extra pattern or allow entry is left out and
    /// listed by [`Detector::errors`]; it never panics.
    pub fn new(policy: &SecretsPolicy) -> Detector {
        let mut specs = Vec::new();
        let mut keyword_list: Vec<(String, usize)> = Vec::new();
        let mut ungated = Vec::new();
        let mut errors = Vec::new();
        for b in BUILTINS {
            let (Some(regex), requires) = (compile(b.regex), b.requires.map(compile)) else {
                errors.push(format!(
                    "built-in detector {}: regex does not compile",
                    b.name
                ));
                continue;
            };
            let requires = match requires {
                Some(Some(r)) => Some(r),
                Some(None) => {
                    errors.push(format!(
                        "built-in detector {}: regex does not compile",
                        b.name
                    ));
                    continue;
                }
                None => None,
            };
            let idx = specs.len();
            specs.push(Spec {
                name: Cow::Borrowed(b.name),
                kind: b.kind,
                regex,
                requires,
                before: b.before,
                after: b.after,
                mixed: b.mixed,
            });
            keyword_list.extend(b.keywords.iter().map(|k| (k.to_string(), idx)));
        }
        for x in &policy.extra_patterns {
            let Some(regex) = compile(&x.regex) else {
                errors.push(format!(
                    "secrets.extraPatterns {:?}: invalid regular expression; the pattern is not used",
                    x.name
                ));
                continue;
            };
            let idx = specs.len();
            specs.push(Spec {
                name: Cow::Owned(x.name.clone()),
                kind: Kind::Extra,
                regex,
                requires: None,
                before: 0,
                after: 0,
                mixed: false,
            });
            let kws: Vec<&String> = x.keywords.iter().filter(|k| !k.is_empty()).collect();
            if kws.is_empty() {
                ungated.push(idx);
            } else {
                keyword_list.extend(kws.into_iter().map(|k| (k.clone(), idx)));
            }
        }
        let mut allow = Vec::new();
        for a in &policy.allow {
            match compile(a) {
                Some(r) => allow.push(r),
                None => errors.push(format!(
                    "secrets.allow {a:?}: invalid regular expression; it allows nothing"
                )),
            }
        }
        // One pattern per distinct keyword (case-folded), gating every detector that lists it.
        let mut patterns: Vec<String> = Vec::new();
        let mut gates: Vec<Vec<usize>> = Vec::new();
        for (kw, idx) in keyword_list {
            let folded = kw.to_ascii_lowercase();
            match patterns.iter().position(|p| *p == folded) {
                Some(p) => {
                    if !gates[p].contains(&idx) {
                        gates[p].push(idx);
                    }
                }
                None => {
                    patterns.push(folded);
                    gates.push(vec![idx]);
                }
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .ok();
        let keywords_lower = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .ok();
        if keywords.is_none() {
            errors.push("keyword automaton could not be built; only ungated patterns run".into());
        }
        let key_stems = ac(KEY_STEMS);
        Detector {
            policy: policy.clone(),
            specs,
            keywords,
            keywords_lower,
            keyword_reach: patterns.iter().map(|p| p.len()).max().unwrap_or(1) - 1,
            gates,
            ungated,
            key_stems,
            allow,
            errors,
        }
    }

    /// Problems met while compiling the policy's patterns (empty when all compiled).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// The policy this detector was compiled from.
    pub fn policy(&self) -> &SecretsPolicy {
        &self.policy
    }

    /// Appends the credentials found in `text` to `out`, in text order.
    /// `key_hint` is the name the text is stored under (an env var name, a
    /// map key): when it is secret-like (`DB_PASSWORD`, `apiKey`), the whole
    /// text is judged as a credential value too.
    pub fn scan(&self, key_hint: Option<&str>, text: &str, out: &mut Vec<Detection>) {
        let mut found: Vec<Found> = Vec::new();
        self.scan_text(text, &mut found);
        if found.is_empty() {
            if let Some(key) = key_hint {
                self.scan_keyed(key, text, &mut found);
            }
        }
        found.sort_by_key(|f| f.det.offset);
        out.extend(found.into_iter().map(|f| f.det));
    }

    /// Whether `key` names a credential: its last word is `password`,
    /// `secret`, `token`, `apiKey`, ... (`DB_PASSWORD` yes; `secretName`,
    /// `PASSWORD_FILE`, `tokenTTL` no).
    pub fn is_secret_key(&self, key: &str) -> bool {
        self.key_stems.as_ref().is_some_and(|a| a.is_match(key)) && secret_key_words(key)
    }

    fn scan_text(&self, text: &str, found: &mut Vec<Found>) {
        // (detector, window start, window end), merged per detector below.
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        let mut gate = |start: usize, end: usize, pattern: usize| {
            for &s in self.gates.get(pattern).into_iter().flatten() {
                let spec = &self.specs[s];
                let (lo, hi) = window(text, start, end, spec.before, spec.after);
                windows.push((s, lo, hi));
            }
        };
        // Keywords are found leftmost first. In a long text they are matched
        // in an ASCII-lower-cased copy, because a case-insensitive automaton
        // has no prefilter and steps through every byte, while a
        // case-sensitive one skips ahead with a vectorised literal search;
        // a short text is not worth the copy. Lower-casing keeps every byte
        // offset, so both find the same matches. A keyword overlapping an
        // earlier one is not reported, which loses nothing: windows span
        // whole lines, and where keywords of different detectors can
        // overlap (`accountkey`/`key`, `key`/`eyj`) the second cannot start
        // a match of its detector (`AccountKey=` is no generic key; a JWT
        // starts at a word boundary).
        match (&self.keywords, &self.keywords_lower) {
            (_, Some(lower_kw)) if text.len() >= LOWER_FROM => {
                // In pieces of LOWER_CHUNK bytes, each searched a keyword's
                // length beyond its end, so the copy stays small whatever
                // the text's size. A match is counted in the piece it starts
                // in.
                let bytes = text.as_bytes();
                LOWER.with_borrow_mut(|lower| {
                    let mut start = 0;
                    while start < bytes.len() {
                        let end = (start + LOWER_CHUNK).min(bytes.len());
                        let reach = (end + self.keyword_reach).min(bytes.len());
                        lower.clear();
                        lower.extend(bytes[start..reach].iter().map(u8::to_ascii_lowercase));
                        for m in lower_kw.find_iter(lower.as_slice()) {
                            if start + m.start() >= end {
                                break;
                            }
                            gate(start + m.start(), start + m.end(), m.pattern().as_usize());
                        }
                        start = end;
                    }
                });
            }
            (Some(kw), _) => {
                for m in kw.find_iter(text) {
                    gate(m.start(), m.end(), m.pattern().as_usize());
                }
            }
            (None, _) => {}
        }
        windows.extend(self.ungated.iter().map(|&s| (s, 0, text.len())));
        if windows.is_empty() {
            return;
        }
        windows.sort_unstable();
        let mut merged: Vec<(usize, usize, usize)> = Vec::with_capacity(windows.len());
        for w in windows {
            match merged.last_mut() {
                Some(last) if last.0 == w.0 && w.1 <= last.2 => last.2 = last.2.max(w.2),
                _ => merged.push(w),
            }
        }
        for (s, lo, hi) in merged {
            let Some(window) = text.get(lo..hi) else {
                continue;
            };
            let spec = &self.specs[s];
            if spec.requires.as_ref().is_some_and(|r| !r.is_match(window)) {
                continue;
            }
            for caps in spec.regex.captures_iter(window) {
                let Some(whole) = caps.get(0) else { continue };
                let secret = ["secret", "dq", "sq", "eq"]
                    .iter()
                    .find_map(|g| caps.name(g))
                    .or_else(|| caps.get(1))
                    .unwrap_or(whole);
                let value = secret.as_str();
                let span = (lo + whole.start(), lo + whole.end());
                if found.iter().any(|f| f.span.0 < span.1 && span.0 < f.span.1) {
                    continue;
                }
                let high = match spec.kind {
                    Kind::Specific => {
                        if placeholder_token(value) || (spec.mixed && !mixed_case_digits(value)) {
                            continue;
                        }
                        true
                    }
                    Kind::Url => {
                        if !literal_value(value) {
                            continue;
                        }
                        true
                    }
                    Kind::Generic => {
                        let key = caps.name("key").map_or("", |k| k.as_str());
                        // `arn:...:secret:name` and other colon-chained identifiers.
                        let chained = window[..whole.start()].ends_with(':');
                        if chained || !self.is_secret_key(key) || !generic_value(key, value, 4) {
                            continue;
                        }
                        entropy(value) >= self.policy.entropy_threshold
                    }
                    Kind::Extra => true,
                };
                if self.allowed(value) {
                    continue;
                }
                found.push(Found {
                    span,
                    det: Detection {
                        detector: spec.name.to_string(),
                        preview: preview(value),
                        high,
                        offset: lo + whole.start(),
                    },
                });
            }
        }
    }

    /// The whole text as the value of a secret-like key.
    fn scan_keyed(&self, key: &str, text: &str, found: &mut Vec<Found>) {
        let value = text.trim_end_matches(['\n', '\r']).trim();
        if value.len() > MAX_KEYED_VALUE || value.contains('\n') {
            return;
        }
        let offset = text.len() - text.trim_start().len();
        let lower = key.to_ascii_lowercase();
        let b64ish = |n: usize| {
            value.len() == n
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
                && mixed_case_digits(value)
        };
        let specific = if lower.contains("aws") && lower.contains("secret") && b64ish(40) {
            Some("aws-secret-access-key")
        } else if (lower.contains("azure")
            || lower.contains("storage")
            || lower.contains("account"))
            && b64ish(88)
            && value.ends_with("==")
        {
            Some("azure-storage-key")
        } else {
            None
        };
        let (detector, high) = match specific {
            Some(name) => (name, true),
            None => {
                if !self.is_secret_key(key) || !generic_value(key, value, 3) || prose(value) {
                    return;
                }
                (GENERIC, entropy(value) >= self.policy.entropy_threshold)
            }
        };
        if self.allowed(value) {
            return;
        }
        found.push(Found {
            span: (offset, offset + value.len()),
            det: Detection {
                detector: detector.to_string(),
                preview: preview(value),
                high,
                offset,
            },
        });
    }

    fn allowed(&self, value: &str) -> bool {
        self.allow.iter().any(|r| r.is_match(value))
    }
}

/// A detection with the byte span of its whole match, for overlap checks.
struct Found {
    span: (usize, usize),
    det: Detection,
}

fn compile(re: &str) -> Option<Regex> {
    RegexBuilder::new(re)
        .size_limit(4 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .ok()
}

/// An ASCII case-insensitive automaton over `patterns`; `None` only if
/// building fails (a pattern set beyond the automaton's size limits).
fn ac<P: AsRef<[u8]>>(patterns: &[P]) -> Option<AhoCorasick> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(patterns)
        .ok()
}

/// The window around a keyword at `start..end`: `before`/`after` bytes of
/// reach, widened to whole lines (by at most [`LINE_CAP`] bytes each way)
/// and snapped to character boundaries.
fn window(text: &str, start: usize, end: usize, before: usize, after: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let lo = start.saturating_sub(before);
    let floor = lo.saturating_sub(LINE_CAP);
    let mut lo = bytes[floor..lo]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(floor, |p| floor + p + 1);
    let hi = end.saturating_add(after).min(bytes.len());
    let ceil = hi.saturating_add(LINE_CAP).min(bytes.len());
    let mut hi = memchr_newline(&bytes[hi..ceil]).map_or(ceil, |p| hi + p);
    while lo > 0 && !text.is_char_boundary(lo) {
        lo -= 1;
    }
    while hi < bytes.len() && !text.is_char_boundary(hi) {
        hi += 1;
    }
    (lo, hi)
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// Shannon entropy of `s` in bits per byte.
pub fn entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s.as_bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The redacted preview of a value: its first characters (four at most,
/// and never more than a third of the value), then `…`.
pub fn preview(value: &str) -> String {
    let n = value.chars().count();
    let shown = (n / 3).min(4);
    let mut p: String = value.chars().take(shown).collect();
    p.push('…');
    p
}

/// Lower-cased words of a key: split at non-alphanumerics, digits and
/// camelCase boundaries (`dbPassword2` → `db`, `password`; `APIKey` → `api`, `key`).
fn key_words(key: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = key.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphabetic() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || (p.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase()))
            });
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// The word-level test behind [`Detector::is_secret_key`].
fn secret_key_words(key: &str) -> bool {
    let words = key_words(key);
    let Some(last) = words.last().map(String::as_str) else {
        return false;
    };
    if words.first().map(String::as_str) == Some("existing") {
        return false;
    }
    let prev = words
        .len()
        .checked_sub(2)
        .and_then(|i| words.get(i))
        .map(String::as_str);
    match last {
        "password" | "passwd" | "pwd" | "pass" | "passphrase" | "pw" | "secret" | "token"
        | "apikey" | "credential" | "credentials" | "creds" | "accesskey" | "secretkey"
        | "privatekey" | "authtoken" | "accesstoken" | "clientsecret" | "passwort" => true,
        "key" => matches!(
            prev,
            Some(
                "api"
                    | "access"
                    | "secret"
                    | "private"
                    | "encryption"
                    | "signing"
                    | "master"
                    | "account"
                    | "auth"
                    | "client"
                    | "app"
                    | "storage"
                    | "shared"
                    | "hmac"
                    | "sas"
                    | "license"
            )
        ),
        _ => false,
    }
}

/// Whether a value is a literal rather than a reference or template
/// (`$(VAR)`, `${VAR}`, `{{ .Values.x }}`, `secretKeyRef`, sops `ENC[...]`)
/// or a placeholder (`changeme`, `<password>`, `xxx`, `***`, `TODO`, `none`).
pub fn literal_value(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']);
    if v.is_empty() || v.starts_with('$') || v.starts_with("ENC[") {
        return false;
    }
    const REFS: &[&str] = &[
        "$(",
        "${",
        "{{",
        "}}",
        "%(",
        "#{",
        "<%",
        "secretkeyref",
        "valuefrom",
        "vault:",
        "ref+",
        "<",
        ">",
    ];
    const CONTAINS: &[&str] = &[
        "changeme",
        "change-me",
        "change_me",
        "changeit",
        "replace_me",
        "replace-me",
        "replaceme",
        "placeholder",
        "example",
        "dummy",
        "redacted",
        "your-",
        "your_",
        "yourpassword",
        "xxxx",
        "****",
    ];
    const EXACT: &[&str] = &[
        "todo",
        "tbd",
        "fixme",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "empty",
        "secret",
        "password",
        "passwd",
        "token",
        "required",
        "optional",
        "string",
        "value",
        "unset",
        "default",
        "n/a",
        "na",
        "test",
        "enabled",
        "disabled",
        "undefined",
        "mask",
        "masked",
        "hidden",
        "sample",
        "xxx",
        "read",
        "write",
        "readonly",
        "read-only",
    ];
    let lower = v.to_ascii_lowercase();
    if REFS.iter().any(|r| lower.contains(r))
        || CONTAINS.iter().any(|c| lower.contains(c))
        || EXACT.contains(&lower.as_str())
    {
        return false;
    }
    // One repeated character: `xxxxxx`, `******`, `......`.
    let mut chars = v.chars();
    let first = chars.next();
    !chars.all(|c| Some(c) == first)
}

/// Whether a candidate under a secret-like key is a credential: a literal,
/// at least `min_len` bytes, and not a file path.
fn generic_value(key: &str, value: &str, min_len: usize) -> bool {
    if value.len() < min_len || !literal_value(value) {
        return false;
    }
    let v = value.trim_matches(['"', '\'']);
    // A PEM header whose body `private-key` did not accept (a placeholder body).
    if v.starts_with("-----") {
        return false;
    }
    let path = ["/", "./", "../", "~/", "file:"]
        .iter()
        .any(|p| v.starts_with(p));
    let words = key_words(key);
    let path_key = matches!(
        words.last().map(String::as_str),
        Some("file" | "path" | "dir" | "filename")
    );
    if path || path_key {
        return false;
    }
    // Code rather than a value: `password = os.getenv(...)`, `token: [a, b]`.
    if v.contains(['(', ')', '[', ']', '{', '}']) || identifier(v) || resource_name(v) {
        return false;
    }
    // A URL under a secret-like key (`TOKEN_ENDPOINT`-ish values) holds no
    // credential unless it embeds one, which `url-credentials` reports.
    !v.contains("://") || v.contains('@')
}

/// Whether a value mixes digits, upper-case and lower-case letters.
fn mixed_case_digits(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_uppercase())
        && v.bytes().any(|b| b.is_ascii_lowercase())
}

/// A code identifier rather than a credential: letters (and dots) only, in
/// camelCase or PascalCase (`nextToken`, `ClientSecret`, `List.NextMarker`).
fn identifier(v: &str) -> bool {
    let b = v.as_bytes();
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let humps = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    b.iter().all(|&c| c.is_ascii_alphabetic() || c == b'.')
        && !v.starts_with('.')
        && !v.ends_with('.')
        && !v.contains("..")
        && b.windows(2)
            .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        // Words, not random letters: no two capitals in a row, and words of
        // three letters on average (`NHFMYUfbnFbrBfiAV` is a password).
        && !b.windows(2)
            .any(|w| w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase())
        && letters >= 3 * (humps + 1)
}

/// A resource name or path (`projects/p/secrets/db/versions/1`,
/// `arn:aws:iam::aws:policy/x`) rather than a credential.
fn resource_name(v: &str) -> bool {
    v.starts_with("arn:")
        || (v.matches('/').count() >= 2
            && v.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'/' | b'-' | b'_' | b'.')
            }))
}

/// Prose, not a credential: a sentence under a `password` key in a description.
fn prose(value: &str) -> bool {
    value.split_whitespace().count() > 3
}

/// A vendor-format match that is a placeholder: its last 16 characters use
/// fewer than four distinct characters (`ghp_xxxxxxxx…`, `AKIAXXXXXXXXXXXXXXXX`).
fn placeholder_token(value: &str) -> bool {
    let tail: Vec<char> = value.chars().rev().take(16).collect();
    let mut distinct: Vec<char> = Vec::with_capacity(4);
    for c in tail {
        if !distinct.contains(&c) {
            distinct.push(c);
            if distinct.len() >= 4 {
                return false;
            }
        }
    }
    true
}

/// Decodes standard or URL-safe base64, ignoring whitespace; `None` when
/// the text is not base64. Written here because the pack only needs this
/// one lenient decoder and has no base64 dependency.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut padding = 0usize;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (padding <= 2).then_some(out)
}

/// Decoded bytes as text, when they are UTF-8 without control characters
/// other than whitespace (so binary blobs are not scanned as text).
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(bytes).ok()?;
    s.chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .then_some(s)
}

/// The detector for a policy: compiled once per distinct `secrets` policy
/// and shared. Rules are built by `secrets::rules()` before any policy is
/// known, so they look their detector up here on each `check`; the cache
/// compares policies by value (a cheap comparison of a number and two
/// usually empty lists) and keeps the few most recent.
pub fn detector_for(policy: &SecretsPolicy) -> Arc<Detector> {
    static CACHE: OnceLock<RwLock<Vec<Arc<Detector>>>> = OnceLock::new();
    const KEEP: usize = 8;
    let cache = CACHE.get_or_init(|| RwLock::new(Vec::new()));
    {
        let entries = cache.read().unwrap_or_else(|e| e.into_inner());
        if let Some(d) = entries.iter().find(|d| d.policy == *policy) {
            return d.clone();
        }
    }
    let d = Arc::new(Detector::new(policy));
    let mut entries = cache.write().unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = entries.iter().find(|x| x.policy == *policy) {
        return existing.clone();
    }
    if entries.len() >= KEEP {
        entries.remove(0);
    }
    entries.push(d.clone());
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::policy::ExtraPattern;

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
        assert!(names(None, r#""AWSMigrationFullAccess": "arn:aws:iam::aws:policy/AWSApplicationMigrationFullAccess""#).is_empty());
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
}
