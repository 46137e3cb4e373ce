//! The compiled detector: keyword automata gate each detector's regular
//! expression to windows around its keywords.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder};

use crate::builtins::*;
use crate::values::*;
use crate::{Detection, SecretsPolicy, GENERIC};

/// One compiled detector.
#[derive(Debug)]
pub(crate) struct Spec {
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
    /// Found at the secret rather than the match's start.
    at_secret: bool,
}

thread_local! {
    /// The lower-cased copy of the text being scanned, reused between scans.
    static LOWER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Shortest text searched through a lower-cased copy.
pub(crate) const LOWER_FROM: usize = 256;

/// Bytes of a long text lower-cased and searched at a time.
pub(crate) const LOWER_CHUNK: usize = 64 << 10;

/// Longest stretch a window is widened by to reach a line boundary.
pub(crate) const LINE_CAP: usize = 1024;

/// Longest value checked as a whole under a secret-like key.
pub(crate) const MAX_KEYED_VALUE: usize = 256;

/// The credential detector, compiled from a [`SecretsPolicy`].
#[derive(Debug)]
pub struct Detector {
    pub(crate) policy: SecretsPolicy,
    pub(crate) specs: Vec<Spec>,
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
        let mut c = Compiled::default();
        c.builtins();
        c.extra_patterns(policy);
        let allow = c.allow_list(policy);
        let (patterns, gates) = fold_keywords(std::mem::take(&mut c.keywords));
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
            c.errors
                .push("keyword automaton could not be built; only ungated patterns run".into());
        }
        Detector {
            policy: policy.clone(),
            specs: c.specs,
            keywords,
            keywords_lower,
            keyword_reach: patterns.iter().map(|p| p.len()).max().unwrap_or(1) - 1,
            gates,
            ungated: c.ungated,
            key_stems: ac(KEY_STEMS),
            allow,
            errors: c.errors,
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
        self.scan_text(text, &mut found, false);
        if found.is_empty() {
            if let Some(key) = key_hint {
                self.scan_keyed(key, text, &mut found);
            }
        }
        found.sort_by_key(|f| f.det.offset);
        out.extend(found.into_iter().map(|f| f.det));
    }

    /// `text` with every credential-shaped substring (a vendor token, a
    /// private key, a URL's password: what the specific and URL detectors
    /// find, whatever key it is under) replaced by its redacted preview.
    /// Generic `key=value` candidates are left as they are: messages name
    /// keys on purpose and already quote values as previews.
    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut found: Vec<Found> = Vec::new();
        self.scan_text(text, &mut found, true);
        if found.is_empty() {
            return Cow::Borrowed(text);
        }
        found.sort_by_key(|f| f.secret.0);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for f in found {
            let (start, end) = f.secret;
            if start < at {
                continue;
            }
            out.push_str(&text[at..start]);
            out.push_str(&f.det.preview);
            at = end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    /// Whether `key` names a credential: its last word is `password`,
    /// `secret`, `token`, `apiKey`, ... (`DB_PASSWORD` yes; `secretName`,
    /// `PASSWORD_FILE`, `tokenTTL` no).
    pub fn is_secret_key(&self, key: &str) -> bool {
        self.key_stems.as_ref().is_some_and(|a| a.is_match(key)) && secret_key_words(key)
    }

    /// The keyword pass over `text` and each gated detector's regex in the
    /// windows around its keywords. Kept as one function on purpose: it is
    /// the detector's inner loop (about 200 MB/s), measured by
    /// `bench/secrets/run.sh` and `bench/image/run.sh`.
    fn scan_text(&self, text: &str, found: &mut Vec<Found>, shapes_only: bool) {
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
            if (shapes_only && spec.kind == Kind::Generic)
                || spec.requires.as_ref().is_some_and(|r| !r.is_match(window))
            {
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
                let at = if spec.at_secret { secret } else { whole };
                let span = (lo + at.start(), lo + at.end());
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
                    secret: (lo + secret.start(), lo + secret.end()),
                    det: Detection {
                        detector: spec.name.to_string(),
                        preview: preview(value),
                        high,
                        offset: span.0,
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
            secret: (offset, offset + value.len()),
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
pub(crate) struct Found {
    /// What overlapping matches are judged by.
    span: (usize, usize),
    /// The secret's own bytes.
    secret: (usize, usize),
    det: Detection,
}

pub(crate) fn compile(re: &str) -> Option<Regex> {
    RegexBuilder::new(re)
        .size_limit(4 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .ok()
}

/// An ASCII case-insensitive automaton over `patterns`; `None` only if
/// building fails (a pattern set beyond the automaton's size limits).
pub(crate) fn ac<P: AsRef<[u8]>>(patterns: &[P]) -> Option<AhoCorasick> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(patterns)
        .ok()
}

/// The window around a keyword at `start..end`: `before`/`after` bytes of
/// reach, widened to whole lines (by at most [`LINE_CAP`] bytes each way)
/// and snapped to character boundaries.
pub(crate) fn window(
    text: &str,
    start: usize,
    end: usize,
    before: usize,
    after: usize,
) -> (usize, usize) {
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

pub(crate) fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

/// The detectors being compiled, with the keywords that gate them.
#[derive(Default)]
struct Compiled {
    specs: Vec<Spec>,
    /// (keyword, detector index), in detector order.
    keywords: Vec<(String, usize)>,
    /// Detectors without keywords: run on every text.
    ungated: Vec<usize>,
    errors: Vec<String>,
}

impl Compiled {
    /// The built-in detectors; one whose regex does not compile is left out
    /// with an error.
    fn builtins(&mut self) {
        for b in BUILTINS {
            let compiled = compile(b.regex).and_then(|regex| match b.requires.map(compile) {
                Some(None) => None,
                requires => Some((regex, requires.flatten())),
            });
            let Some((regex, requires)) = compiled else {
                self.errors.push(format!(
                    "built-in detector {}: regex does not compile",
                    b.name
                ));
                continue;
            };
            let idx = self.specs.len();
            self.specs.push(Spec {
                name: Cow::Borrowed(b.name),
                kind: b.kind,
                regex,
                requires,
                before: b.before,
                after: b.after,
                mixed: b.mixed,
                at_secret: b.at_secret,
            });
            self.keywords
                .extend(b.keywords.iter().map(|k| (k.to_string(), idx)));
        }
    }

    /// The policy's `secrets.extraPatterns`; an invalid one is left out with
    /// an error, one without keywords runs on every text.
    fn extra_patterns(&mut self, policy: &SecretsPolicy) {
        for x in &policy.extra_patterns {
            let Some(regex) = compile(&x.regex) else {
                self.errors.push(format!(
                    "secrets.extraPatterns {:?}: invalid regular expression; the pattern is not used",
                    x.name
                ));
                continue;
            };
            let idx = self.specs.len();
            self.specs.push(Spec {
                name: Cow::Owned(x.name.clone()),
                kind: Kind::Extra,
                regex,
                requires: None,
                before: 0,
                after: 0,
                mixed: false,
                at_secret: false,
            });
            let kws: Vec<&String> = x.keywords.iter().filter(|k| !k.is_empty()).collect();
            if kws.is_empty() {
                self.ungated.push(idx);
            } else {
                self.keywords
                    .extend(kws.into_iter().map(|k| (k.clone(), idx)));
            }
        }
    }

    /// The policy's `secrets.allow`; an invalid entry allows nothing.
    fn allow_list(&mut self, policy: &SecretsPolicy) -> Vec<Regex> {
        let mut allow = Vec::new();
        for a in &policy.allow {
            match compile(a) {
                Some(r) => allow.push(r),
                None => self.errors.push(format!(
                    "secrets.allow {a:?}: invalid regular expression; it allows nothing"
                )),
            }
        }
        allow
    }
}

/// One pattern per distinct keyword (case-folded), with the detectors it
/// gates.
fn fold_keywords(keywords: Vec<(String, usize)>) -> (Vec<String>, Vec<Vec<usize>>) {
    let mut patterns: Vec<String> = Vec::new();
    let mut gates: Vec<Vec<usize>> = Vec::new();
    for (kw, idx) in keywords {
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
    (patterns, gates)
}
