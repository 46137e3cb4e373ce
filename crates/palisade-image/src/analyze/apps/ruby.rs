//! Ruby gems installed by RubyGems, from the specification files it keeps
//! for every installed gem: `<gem dir>/specifications/<full name>.gemspec`
//! (`specifications/default/` for the default gems shipped with Ruby),
//! where the full name is `<name>-<version>` or, for platform gems,
//! `<name>-<version>-<platform>` (`nokogiri-1.15.4-x86_64-linux`)
//! (<https://guides.rubygems.org/specification-reference/>,
//! <https://guides.rubygems.org/gems-with-extensions/#platform-gems>).
//!
//! A gemspec is Ruby code and is not evaluated. RubyGems writes installed
//! specifications with `Gem::Specification#to_ruby`, which starts with a
//! `# stub: <name> <version> <platform> <require paths>` comment and
//! assigns `s.name = "…".freeze` and `s.version = "…"`; those are read,
//! and the file name is the fallback for what they do not give (a version
//! written as a constant, a hand-written gemspec).

/// CPU (or whole-platform) names that start the platform part of a gem's
/// full name (`Gem::Platform`).
const PLATFORM_STARTS: &[&str] = &[
    "x86_64",
    "x86",
    "x64",
    "i386",
    "i486",
    "i586",
    "i686",
    "universal",
    "arm64",
    "aarch64",
    "arm",
    "armv5",
    "armv6",
    "armv6l",
    "armv7",
    "armv7l",
    "armv8",
    "powerpc",
    "powerpc64",
    "ppc",
    "ppc64",
    "ppc64le",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "riscv64",
    "loongarch64",
    "mips",
    "mips64",
    "mips64el",
    "java",
    "jruby",
    "dalvik",
    "dotnet",
    "mswin32",
    "mswin64",
    "mingw32",
    "cygwin",
];

fn is_gem_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn is_gem_version(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
}

/// `(name, version)` from a specification file name:
/// `…/specifications/rack-2.2.4.gemspec` → `("rack", "2.2.4")`. Names may
/// contain `-`: the version is the last `-` segment that starts with a
/// digit, once a platform suffix (`-x86_64-linux`, `-java`,
/// `-universal-darwin-22`) is cut off. `None` when the file name does not
/// end in `.gemspec` or has no version.
pub fn gemspec_from_file_name(path: &str) -> Option<(String, String)> {
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file.strip_suffix(".gemspec")?;
    let segments: Vec<&str> = stem.split('-').collect();
    let starts_digit = |s: &str| s.starts_with(|c: char| c.is_ascii_digit());
    // The platform starts at the first CPU name that follows a version.
    let end = (2..segments.len())
        .find(|&k| {
            segments.get(k).is_some_and(|s| PLATFORM_STARTS.contains(s))
                && segments.get(k - 1).is_some_and(|s| starts_digit(s))
        })
        .unwrap_or(segments.len());
    let head = segments.get(..end)?;
    let v = (1..head.len())
        .rev()
        .find(|&i| head.get(i).is_some_and(|s| starts_digit(s)))?;
    let name = head.get(..v)?.join("-");
    let version = head.get(v)?.to_string();
    (is_gem_name(&name) && is_gem_version(&version)).then_some((name, version))
}

/// A Ruby string literal at the start of `s`: `"…"`, `'…'` or
/// `%q{…}`/`%Q{…}`/`%q(…)`/`%q[…]`, without escapes inside.
fn literal(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let (body, close) = if let Some(rest) = s.strip_prefix('"') {
        (rest, '"')
    } else if let Some(rest) = s.strip_prefix('\'') {
        (rest, '\'')
    } else {
        let rest = s.strip_prefix("%q").or_else(|| s.strip_prefix("%Q"))?;
        let mut chars = rest.chars();
        let close = match chars.next()? {
            '{' => '}',
            '(' => ')',
            '[' => ']',
            '<' => '>',
            _ => return None,
        };
        (chars.as_str(), close)
    };
    let end = body.find(close)?;
    let value = body.get(..end)?;
    (!value.contains('\\')).then_some(value)
}

/// The literal assigned to `<receiver>.<field>` on this line, as in
/// `s.name = "rack".freeze` or `spec.version = Gem::Version.new("1.0")`.
fn assignment<'a>(line: &'a str, field: &str) -> Option<&'a str> {
    let (lhs, rhs) = line.split_once('=')?;
    if rhs.starts_with(['=', '~']) {
        return None;
    }
    let (receiver, name) = lhs.trim().rsplit_once('.')?;
    if name != field
        || receiver.is_empty()
        || !receiver
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let rhs = rhs.trim_start();
    let rhs = rhs.strip_prefix("Gem::Version.new(").unwrap_or(rhs);
    literal(rhs)
}

/// `(name, version)` of an installed gem specification: from its
/// `# stub:` line or its `name`/`version` assignments, whatever they lack
/// taken from the file name `path` (see [`gemspec_from_file_name`]).
/// Invalid UTF-8 is read lossily. `None` when neither gives both.
pub fn parse_gemspec(bytes: &[u8], path: &str) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut name: Option<String> = None;
    let mut version: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(stub) = line.strip_prefix("# stub:") {
            let mut words = stub.split_whitespace();
            if let (Some(n), Some(v)) = (words.next(), words.next()) {
                if is_gem_name(n) && is_gem_version(v) {
                    return Some((n.to_string(), v.to_string()));
                }
            }
            continue;
        }
        if name.is_none() {
            name = assignment(line, "name")
                .filter(|n| is_gem_name(n))
                .map(str::to_string);
        }
        if version.is_none() {
            version = assignment(line, "version")
                .filter(|v| is_gem_version(v))
                .map(str::to_string);
        }
        if name.is_some() && version.is_some() {
            break;
        }
    }
    let from_file = gemspec_from_file_name(path);
    match (name, version, from_file) {
        (Some(n), Some(v), _) => Some((n, v)),
        (Some(n), None, Some((_, v))) => Some((n, v)),
        (None, Some(v), Some((n, _))) => Some((n, v)),
        (None, None, f) => f,
        _ => None,
    }
}

/// Whether `path` is an installed gem specification:
/// `…/specifications/<x>.gemspec` or `…/specifications/default/<x>.gemspec`.
pub fn is_gemspec_path(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    if file.len() <= ".gemspec".len() || !file.ends_with(".gemspec") {
        return false;
    }
    match parts.next() {
        Some("specifications") => true,
        Some("default") => parts.next() == Some("specifications"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(n: &str, v: &str) -> Option<(String, String)> {
        Some((n.to_string(), v.to_string()))
    }

    #[test]
    fn file_names() {
        let sp = "usr/lib/ruby/gems/3.1.0/specifications";
        for (file, want) in [
            ("rack-2.2.4.gemspec", pair("rack", "2.2.4")),
            (
                "net-http-persistent-4.0.2.gemspec",
                pair("net-http-persistent", "4.0.2"),
            ),
            (
                "nokogiri-1.15.4-x86_64-linux.gemspec",
                pair("nokogiri", "1.15.4"),
            ),
            (
                "nokogiri-1.15.4-x86_64-linux-musl.gemspec",
                pair("nokogiri", "1.15.4"),
            ),
            ("nokogiri-1.15.4-java.gemspec", pair("nokogiri", "1.15.4")),
            (
                "ffi-1.16.3-universal-darwin-22.gemspec",
                pair("ffi", "1.16.3"),
            ),
            ("grpc-1.59.0-aarch64-linux.gemspec", pair("grpc", "1.59.0")),
            (
                "sqlite3-1.6.9-x64-mingw-ucrt.gemspec",
                pair("sqlite3", "1.6.9"),
            ),
            ("rails-7.1.0.rc1.gemspec", pair("rails", "7.1.0.rc1")),
            ("ruby-2-hacks-0.1.gemspec", pair("ruby-2-hacks", "0.1")),
            ("x86-utils-1.0.gemspec", pair("x86-utils", "1.0")),
            ("noversion.gemspec", None),
            ("1.0.gemspec", None),
            ("rack-2.2.4.rb", None),
            (".gemspec", None),
        ] {
            assert_eq!(
                gemspec_from_file_name(&format!("{sp}/{file}")),
                want,
                "{file}"
            );
        }
    }

    #[test]
    fn spec_paths() {
        assert!(is_gemspec_path(
            "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.4.gemspec"
        ));
        assert!(is_gemspec_path(
            "usr/local/bundle/specifications/default/json-2.6.1.gemspec"
        ));
        assert!(is_gemspec_path("specifications/a-1.gemspec"));
        assert!(!is_gemspec_path("app/rack.gemspec"));
        assert!(!is_gemspec_path("gems/specifications/.gemspec"));
        assert!(!is_gemspec_path("gems/specifications/sub/x-1.gemspec"));
        assert!(!is_gemspec_path("x/default/x-1.gemspec"));
        assert!(!is_gemspec_path("specifications/x-1.gemspec.bak"));
    }

    const RUBYGEMS_WRITTEN: &str = r#"# -*- encoding: utf-8 -*-
# stub: nokogiri 1.15.4 x86_64-linux lib

Gem::Specification.new do |s|
  s.name = "nokogiri".freeze
  s.version = "1.15.4"
  s.platform = "x86_64-linux".freeze
end
"#;

    #[test]
    fn gemspec_contents() {
        let path = "specifications/nokogiri-1.15.4-x86_64-linux.gemspec";
        assert_eq!(
            parse_gemspec(RUBYGEMS_WRITTEN.as_bytes(), path),
            pair("nokogiri", "1.15.4")
        );
        // Without the stub line: the assignments.
        let no_stub = RUBYGEMS_WRITTEN.replace("# stub:", "# note:");
        assert_eq!(
            parse_gemspec(no_stub.as_bytes(), "x.gemspec"),
            pair("nokogiri", "1.15.4")
        );
        // Old RubyGems style.
        let old =
            "Gem::Specification.new do |s|\n  s.name = %q{rake}\n  s.version = \"0.8.7\"\nend\n";
        assert_eq!(
            parse_gemspec(old.as_bytes(), "x.gemspec"),
            pair("rake", "0.8.7")
        );
        let gv = "Gem::Specification.new do |spec|\n  spec.name    = 'thor'\n  spec.version = Gem::Version.new(\"1.3.0\")\nend\n";
        assert_eq!(
            parse_gemspec(gv.as_bytes(), "x.gemspec"),
            pair("thor", "1.3.0")
        );
        // A constant version: from the file name.
        let konst = "Gem::Specification.new do |spec|\n  spec.name = \"mygem\"\n  spec.version = MyGem::VERSION\nend\n";
        assert_eq!(
            parse_gemspec(konst.as_bytes(), "specifications/mygem-0.4.1.gemspec"),
            pair("mygem", "0.4.1")
        );
        // Nothing readable: the file name alone; and neither.
        assert_eq!(
            parse_gemspec(b"\xff\xfe garbage", "specifications/rack-2.2.4.gemspec"),
            pair("rack", "2.2.4")
        );
        assert_eq!(parse_gemspec(b"", "specifications/noversion.gemspec"), None);
        // Comparisons and odd receivers are not assignments.
        let cmp = "if s.name == \"x\"\n  foo.bar.name = \"y\"\nend\n";
        assert_eq!(
            parse_gemspec(cmp.as_bytes(), "specifications/z-1.0.gemspec"),
            pair("z", "1.0")
        );
        // A stub with a malformed version falls through to the assignments.
        let bad_stub = "# stub: x notaversion ruby lib\ns.name = \"x\"\ns.version = \"2.0\"\n";
        assert_eq!(
            parse_gemspec(bad_stub.as_bytes(), "x.gemspec"),
            pair("x", "2.0")
        );
    }

    #[test]
    fn literals() {
        assert_eq!(literal("\"a\".freeze"), Some("a"));
        assert_eq!(literal("'b'"), Some("b"));
        assert_eq!(literal("%Q(c)"), Some("c"));
        assert_eq!(literal("%q[d]"), Some("d"));
        assert_eq!(literal("%w{e}"), None);
        assert_eq!(literal("\"unterminated"), None);
        assert_eq!(literal("\"esc\\\"aped\""), None);
        assert_eq!(literal(""), None);
        assert_eq!(literal("%q"), None);
    }
}
