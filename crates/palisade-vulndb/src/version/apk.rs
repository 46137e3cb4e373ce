//! apk version ordering, as apk-tools' `src/version.c` (apk-tools 2.14 / 3)
//! defines it: `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}`.
//! Pre-release suffixes `_alpha` < `_beta` < `_pre` < `_rc` sort before the
//! bare version, post-release ones `_cvs` < `_svn` < `_git` < `_hg` < `_p`
//! after it; `-rN` is the package revision.
//!
//! Written by hand: no maintained crate implements apk's ordering. The
//! tokenizer mirrors apk-tools' state machine token for token so that even
//! its corner cases (fractional comparison of digit runs with a leading zero,
//! where an invalid tail sorts) agree with `apk version -t`.

use std::cmp::Ordering;

/// Token kinds, in apk-tools' order: the order *is* the semantics (a token
/// may only follow one of a lower kind, and when two versions run out at
/// different kinds the higher kind sorts lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks; `NONE` is the pivot between pre- and post-release.
const SUFFIXES: [&[u8]; 11] = [
    b"", b"alpha", b"beta", b"pre", b"rc", b"", b"cvs", b"svn", b"git", b"hg", b"p",
];
const SUFFIX_INVALID: u8 = 0;
const SUFFIX_NONE: u8 = 5;

fn suffix_value(s: &[u8]) -> u8 {
    if s.is_empty() {
        return SUFFIX_INVALID;
    }
    SUFFIXES
        .iter()
        .position(|&name| name == s)
        .and_then(|i| u8::try_from(i).ok())
        .filter(|&i| i != SUFFIX_NONE)
        .unwrap_or(SUFFIX_INVALID)
}

struct State<'a> {
    token: Token,
    suffix: u8,
    number: u64,
    value: &'a [u8],
    rest: &'a [u8],
}

impl<'a> State<'a> {
    fn first(v: &'a str) -> Self {
        let mut s = State {
            token: Token::InitialDigit,
            suffix: SUFFIX_INVALID,
            number: 0,
            value: &[],
            rest: v.as_bytes(),
        };
        s.parse_digits();
        s
    }

    fn advance(&mut self, n: usize) {
        self.rest = self.rest.get(n..).unwrap_or_default();
    }

    fn span(&self, pred: impl Fn(u8) -> bool) -> usize {
        self.rest.iter().take_while(|&&c| pred(c)).count()
    }

    fn parse_digits(&mut self) {
        let n = self.span(|c| c.is_ascii_digit());
        self.value = &self.rest[..n];
        // apk_blob_pull_uint accumulates in a uint64_t and wraps: so do we.
        self.number = self.value.iter().fold(0u64, |acc, &c| {
            acc.wrapping_mul(10).wrapping_add(u64::from(c - b'0'))
        });
        self.advance(n);
        if n == 0 {
            self.token = Token::Invalid;
        }
    }

    fn next(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.token = Token::End;
            return;
        };
        match c {
            b'a'..=b'z' => {
                if self.token > Token::Digit {
                    return self.invalid();
                }
                self.value = &self.rest[..1];
                self.token = Token::Letter;
                self.advance(1);
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if self.token > Token::Digit {
                        return self.invalid();
                    }
                    self.advance(1);
                }
                self.token = match self.token {
                    Token::InitialDigit | Token::Digit => Token::Digit,
                    Token::Suffix => Token::SuffixNo,
                    _ => return self.invalid(),
                };
                self.parse_digits();
            }
            b'_' => {
                if self.token > Token::SuffixNo {
                    return self.invalid();
                }
                self.advance(1);
                let n = self.span(|c| c.is_ascii_lowercase());
                self.value = &self.rest[..n];
                self.advance(n);
                self.suffix = suffix_value(self.value);
                if self.suffix == SUFFIX_INVALID {
                    return self.invalid();
                }
                self.token = Token::Suffix;
            }
            b'~' => {
                if self.token >= Token::CommitHash {
                    return self.invalid();
                }
                self.advance(1);
                let n = self.span(|c| c.is_ascii_hexdigit());
                if n == 0 {
                    return self.invalid();
                }
                self.value = &self.rest[..n];
                self.advance(n);
                self.token = Token::CommitHash;
            }
            b'-' => {
                if self.token >= Token::RevisionNo || !self.rest.starts_with(b"-r") {
                    return self.invalid();
                }
                self.advance(2);
                self.token = Token::RevisionNo;
                self.parse_digits();
            }
            _ => self.invalid(),
        }
    }

    fn invalid(&mut self) {
        self.token = Token::Invalid;
    }
}

/// apk-tools' `token_cmp`: both states hold the same token kind.
fn token_cmp(a: &State<'_>, b: &State<'_>) -> Ordering {
    match a.token {
        // A digit run after a dot with a leading zero on either side compares
        // as a string (Gentoo's fractional rule): 1.02 < 1.1.
        Token::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Token::Digit | Token::InitialDigit | Token::SuffixNo | Token::RevisionNo => {
            a.number.cmp(&b.number)
        }
        Token::Letter => a.value.first().cmp(&b.value.first()),
        Token::Suffix => a.suffix.cmp(&b.suffix),
        _ => a.value.cmp(b.value),
    }
}

/// Whether apk would accept `v` as a version (`apk_version_validate`).
pub fn is_valid(v: &str) -> bool {
    let mut s = State::first(v);
    while s.token < Token::End {
        s.next();
    }
    s.token == Token::End
}

/// Compares two apk versions (`apk_version_compare`). Invalid versions are
/// ordered as apk-tools orders them: the valid leading tokens count, and an
/// invalid tail sorts below any valid continuation.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut ta, mut tb) = (State::first(a), State::first(b));
    while ta.token == tb.token && ta.token < Token::End {
        let r = token_cmp(&ta, &tb);
        if r != Ordering::Equal {
            return r;
        }
        ta.next();
        tb.next();
    }
    if ta.token == tb.token {
        return Ordering::Equal;
    }
    // Equal so far: the longer version is greater, unless what it has more
    // of is a pre-release suffix.
    if ta.token == Token::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.token == Token::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    tb.token.cmp(&ta.token)
}
