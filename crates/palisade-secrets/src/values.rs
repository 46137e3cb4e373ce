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

/// The word-level test behind [`Detector::is_secret_key`]. The last word
/// names a secret (`password`, `token`, `apiKey`), also when written as one
/// word with what it is for (`PGPASSWORD`, `GITHUBTOKEN`, `DBPASS`).
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
        _ => concatenated_secret_word(last),
    }
}

/// One word that ends in a secret's name after what it is for:
/// `pgpassword`, `rootpassword`, `githubtoken`, `dbpass`, `adminpwd`.
fn concatenated_secret_word(word: &str) -> bool {
    const SUFFIXES: [&str; 7] = [
        "password", "passwd", "passwort", "token", "secret", "pass", "pwd",
    ];
    // English words that merely end like one.
    const WORDS: [&str; 10] = [
        "bypass",
        "compass",
        "overpass",
        "underpass",
        "trespass",
        "surpass",
        "encompass",
        "impass",
        "mispass",
        "oldpwd",
    ];
    SUFFIXES
        .iter()
        .any(|s| word.len() > s.len() + 1 && word.ends_with(s))
        && !WORDS.contains(&word)
}

/// Whether a value is a literal rather than a reference or template
/// (`$VAR`, `$(VAR)`, `${VAR}`, `{{ .Values.x }}`, `secretKeyRef`, sops
/// `ENC[...]`) or a placeholder (`changeme`, `<password>`, `xxx`, `***`,
/// `TODO`, `INSERT_KEY_HERE`, `ThisIsASuperLongToken`). The whole value's
/// shape decides: a random credential that merely contains `<`, `$` or
/// `{{` is still a credential.
pub fn literal_value(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']);
    if v.is_empty() || reference(v) || placeholder(v) {
        return false;
    }
    // One repeated character: `xxxxxx`, `******`, `......`.
    let mut chars = v.chars();
    let first = chars.next();
    !chars.all(|c| Some(c) == first)
}

/// A reference to a value kept elsewhere, or a template that renders one.
fn reference(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    v.starts_with("ENC[")
        || variable(v.strip_prefix('$').unwrap_or(""))
        || ["$(", "${", "%(", "#{"]
            .iter()
            .any(|open| bracketed_variable(v, open))
        || (v.contains("{{") && v.contains("}}"))
        || (v.contains("<%") && v.contains("%>"))
        || ["secretkeyref", "valuefrom", "vault:", "ref+"]
            .iter()
            .any(|r| lower.contains(r))
}

/// A variable name: `DB_PASSWORD`, `db.password`.
fn variable(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'))
}

/// Whether `v` holds `open` + a variable (a default after `:` or `-` is
/// allowed) + the closing bracket: `$(DB_PASS)`, `${TOKEN:-x}`, `%(pw)s`.
fn bracketed_variable(v: &str, open: &str) -> bool {
    let close = if open.ends_with('(') { ')' } else { '}' };
    v.match_indices(open).any(|(at, _)| {
        let rest = &v[at + open.len()..];
        rest.find(close).is_some_and(|end| {
            let inner = &rest[..end];
            let name = inner.split([':', '-', '=']).next().unwrap_or("");
            variable(name)
        })
    })
}

/// Words that mark a placeholder, found anywhere in a value.
const PLACEHOLDER_WORDS: &[&str] = &[
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
    "insert_",
    "insert-",
    "_here",
    "-here",
    "xxxx",
    "****",
];

/// Whole values that are placeholders or settings, not credentials.
const PLACEHOLDER_VALUES: &[&str] = &[
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

/// A placeholder by its shape: `<...>`, a placeholder value, a phrase
/// ending in a secret's name (`ThisIsASuperLongToken`,
/// `mysecretpassword`), or placeholder words that make up the value. A
/// value mixing upper case, lower case and digits (a generated credential)
/// is a placeholder only when such words cover most of it.
fn placeholder(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    if (v.starts_with('<') && v.ends_with('>')) || PLACEHOLDER_VALUES.contains(&lower.as_str()) {
        return true;
    }
    if secret_phrase(&lower) {
        return true;
    }
    let covered: usize = PLACEHOLDER_WORDS
        .iter()
        .map(|w| lower.matches(w).count() * w.len())
        .sum();
    covered > 0 && (!mixed_case_digits(v) || 2 * covered >= v.len())
}

/// Letters only, ending in a secret's name after other words:
/// `thisisasuperlongtoken`, `mysecretpassword`, `super-secret-key`.
fn secret_phrase(lower: &str) -> bool {
    const ENDS: [&str; 6] = ["password", "passwd", "token", "secret", "key", "pass"];
    let letters: String = lower
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .collect();
    letters.bytes().all(|b| b.is_ascii_lowercase())
        && ENDS
            .iter()
            .any(|e| letters.len() >= e.len() + 4 && letters.ends_with(e))
}

/// Whether a value under `key` only restates the key (`password: password`,
/// `AccountKey=mystorageaccountkey`, `DB_TOKEN: db-token`): a placeholder.
fn restates_key(key: &str, value: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let (k, v) = (norm(key), norm(value));
    let v = ["my", "your", "the", "some"]
        .iter()
        .find_map(|p| v.strip_prefix(p).filter(|rest| rest.len() >= 4))
        .unwrap_or(&v);
    !k.is_empty() && v.len() >= 4 && (k == v || k.ends_with(v) || v.ends_with(k.as_str()))
}

/// An NSS database line (`passwd: compat`, `shadow: files systemd` in an
/// nsswitch.conf): the key is a database, the value lists sources.
fn nss_sources(key: &str, value: &str) -> bool {
    const SOURCES: [&str; 14] = [
        "files",
        "compat",
        "db",
        "nis",
        "nisplus",
        "dns",
        "systemd",
        "sss",
        "ldap",
        "winbind",
        "myhostname",
        "mdns",
        "mdns4_minimal",
        "extrausers",
    ];
    matches!(key, "passwd" | "shadow" | "group" | "gshadow")
        && value.split_whitespace().all(|w| {
            SOURCES.contains(&w)
                || (w.starts_with('[') && w.ends_with(']'))
                || w.starts_with("[NOTFOUND")
        })
}

/// Whether a candidate under a secret-like key is a credential: a literal,
/// at least `min_len` bytes, and not a file path.
pub(crate) fn generic_value(key: &str, value: &str, min_len: usize) -> bool {
    if value.len() < min_len || !literal_value(value) {
        return false;
    }
    let v = value.trim_matches(['"', '\'']);
    if restates_key(key, v) || nss_sources(key, v) {
        return false;
    }
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
    if code(v) || identifier(v) || resource_name(v) {
        return false;
    }
    // A URL under a secret-like key (`TOKEN_ENDPOINT`-ish values) holds no
    // credential unless it embeds one, which `url-credentials` reports.
    !v.contains("://") || v.contains('@')
}

/// Code by its shape: a bracket closed after it opens (`getenv("X")`,
/// `[a, b]`, `{key}`); a lone bracket in a generated password is not code.
fn code(v: &str) -> bool {
    [('(', ')'), ('[', ']'), ('{', '}')]
        .iter()
        .any(|&(open, close)| v.find(open).is_some_and(|i| v[i..].contains(close)))
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
