//! Names from an image as they may be printed. Tar entry paths, link
//! targets, archive members, package names and config strings are written
//! by whoever built the image: a file named `evil\x1b]0;pwned\x07` would
//! retitle (or clear, or rewrite) the terminal that shows a message naming
//! it. Every message, note, warning, error and finding built from such a
//! name goes through [`escape_controls`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with its control characters (C0, DEL and C1) written as escapes:
/// `\x1b`, `\x07`, `\x0a` for those below U+0080, `\u{9b}` above.
/// Everything else is left as it is; borrowed when there is nothing to escape.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        let code = u32::from(c);
        // Writing to a String cannot fail.
        let _ = match c {
            c if !c.is_control() => out.write_char(c),
            _ if code < 0x80 => write!(out, "\\x{code:02x}"),
            _ => write!(out, "\\u{{{code:x}}}"),
        };
    }
    Cow::Owned(out)
}

/// [`escape_controls`] in place.
pub(crate) fn escape_in_place(s: &mut String) {
    if let Cow::Owned(escaped) = escape_controls(s) {
        *s = escaped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(
            escape_controls("evil\x1b]0;pwned\x07\x1b[2J.txt"),
            "evil\\x1b]0;pwned\\x07\\x1b[2J.txt"
        );
        assert_eq!(
            escape_controls("a\rb\nc\u{7f}\u{9b}31m"),
            "a\\x0db\\x0ac\\x7f\\u{9b}31m"
        );
        assert!(matches!(
            escape_controls("usr/share/dóc/ü €"),
            Cow::Borrowed(_)
        ));
        let once = escape_controls("x\x1by").into_owned();
        assert_eq!(
            escape_controls(&once),
            once,
            "escaping twice changes nothing"
        );
        assert!(!escape_controls("\u{85}\u{0}").chars().any(char::is_control));
    }
}
