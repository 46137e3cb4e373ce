//! Judging candidate values: entropy, previews, secret-like keys,
//! literals versus references, templates and placeholders; and the lenient
//! base64 decoder for Secret data.

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
pub(crate) fn key_words(key: &str) -> Vec<String> {
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
pub(crate) fn secret_key_words(key: &str) -> bool {
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
pub(crate) fn generic_value(key: &str, value: &str, min_len: usize) -> bool {
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
pub(crate) fn mixed_case_digits(v: &str) -> bool {
    v.bytes().any(|b| b.is_ascii_digit())
        && v.bytes().any(|b| b.is_ascii_uppercase())
        && v.bytes().any(|b| b.is_ascii_lowercase())
}

/// A code identifier rather than a credential: letters (and dots) only, in
/// camelCase or PascalCase (`nextToken`, `ClientSecret`, `List.NextMarker`).
pub(crate) fn identifier(v: &str) -> bool {
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
pub(crate) fn resource_name(v: &str) -> bool {
    v.starts_with("arn:")
        || (v.matches('/').count() >= 2
            && v.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'/' | b'-' | b'_' | b'.')
            }))
}

/// Prose, not a credential: a sentence under a `password` key in a description.
pub(crate) fn prose(value: &str) -> bool {
    value.split_whitespace().count() > 3
}

/// A vendor-format match that is a placeholder: its last 16 characters use
/// fewer than four distinct characters (`ghp_xxxxxxxx…`, `AKIAXXXXXXXXXXXXXXXX`).
pub(crate) fn placeholder_token(value: &str) -> bool {
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
/// the text is not base64. Written here because only this one lenient
/// decoder is needed.
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
