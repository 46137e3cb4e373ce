//! The one XML escaper, for every XML palisade writes (JUnit reports of
//! `scan` and `image`, `verify`'s JUnit results).

use std::borrow::Cow;

/// Where escaped text goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Element content.
    Text,
    /// A double-quoted attribute value.
    Attribute,
}

/// Escapes `s` for XML 1.0: the five markup characters as entities, control
/// characters dropped (all but tab, newline and carriage return, which XML
/// 1.0 forbids or discourages), as are the non-characters U+FFFE and U+FFFF.
/// Carriage returns are written as references everywhere, and newlines and
/// tabs too inside attributes, because parsers normalise them otherwise.
pub fn escape(s: &str, ctx: Context) -> Cow<'_, str> {
    let plain = |c: char| {
        !matches!(
            c,
            '&' | '<' | '>' | '"' | '\'' | '\r' | '\u{FFFE}' | '\u{FFFF}'
        ) && (!c.is_control() || (ctx == Context::Text && matches!(c, '\n' | '\t')))
    };
    if s.chars().all(plain) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if ctx == Context::Attribute => out.push_str("&#10;"),
            '\t' if ctx == Context::Attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            '\u{FFFE}' | '\u{FFFF}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_entities() {
        assert_eq!(
            escape(r#"<a href="x">&'"#, Context::Text),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert!(matches!(
            escape("plain text", Context::Text),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn characters_xml_forbids_are_dropped() {
        assert_eq!(
            escape(
                "a\u{0}b\u{1}c\u{1b}[2Jd\u{7f}\u{9b}e\u{FFFE}\u{FFFF}f",
                Context::Text
            ),
            "abc[2Jdef"
        );
        // Characters outside the Basic Multilingual Plane are allowed.
        assert_eq!(escape("\u{1F512}", Context::Text), "\u{1F512}");
    }

    #[test]
    fn line_breaks_survive_attribute_normalisation() {
        assert_eq!(
            escape("a\nb\tc\rd", Context::Attribute),
            "a&#10;b&#9;c&#13;d"
        );
        assert_eq!(escape("a\nb\tc\rd", Context::Text), "a\nb\tc&#13;d");
    }
}
