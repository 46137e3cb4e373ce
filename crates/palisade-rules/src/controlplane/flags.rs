//! Command lines as the control-plane components read them: the words of
//! a container's `command` and `args` (or of a shell script under
//! `sh -c`), and the flags a program sees in them.
//!
//! kube-apiserver, kube-controller-manager, kube-scheduler and the kubelet
//! parse with spf13/pflag: `--name=value`, `--name value`, a boolean
//! `--name` alone is true (it never takes the next word), `_` and `-` are
//! the same in names (Kubernetes' `WordSepNormalizeFunc`), flags and
//! positional words may be interleaved, a repeated flag's last value wins,
//! except for string-slice flags (`--enable-admission-plugins`,
//! `--authorization-mode`), whose repetitions append. etcd parses with Go's
//! standard `flag` package: `-name` and `--name` alike, parsing stops at
//! the first word that is not a flag, and the last value wins.
//! <https://pkg.go.dev/github.com/spf13/pflag>, <https://pkg.go.dev/flag>
//!
//! One simplification: a flag that takes a value, written alone before a
//! word that starts with `-`, is read as set without a value (pflag would
//! take that word as its value); the next flag is then read as a flag.

use std::borrow::Cow;

use palisade_core::Seg;

/// How a program reads its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// spf13/pflag (the Kubernetes components).
    Pflag,
    /// Go's standard `flag` package (etcd).
    GoFlag,
}

/// One word of a command line, with the element it was written in (the
/// path, from the object root, of a `command`/`args` item or an
/// `extraArgs` entry).
#[derive(Debug, Clone)]
pub struct Word<'a> {
    /// The word.
    pub text: Cow<'a, str>,
    /// Where it was written.
    pub path: Vec<Seg>,
}

/// One flag as the program sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    /// The name, without dashes (and with `_` read as `-` under pflag).
    pub name: String,
    /// The value; `None` for a flag written alone (`--profiling`).
    pub value: Option<String>,
    /// Where the flag was written.
    pub path: Vec<Seg>,
}

impl Flag {
    /// The value as a boolean, as Go's `strconv.ParseBool` reads it; a flag
    /// written alone is true. `None` when it is not a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.value.as_deref() {
            None => Some(true),
            Some(v) => parse_bool(v),
        }
    }

    /// The value, or `""` for a flag written alone.
    pub fn text(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }
}

/// `strconv.ParseBool`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// The string-slice flags of the components: repeating one appends to
/// its list instead of replacing it (pflag's `stringSliceValue.Set`).
const SLICE_FLAGS: &[&str] = &[
    "enable-admission-plugins",
    "disable-admission-plugins",
    "authorization-mode",
];

/// The flags of one command line, in the order they were written.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    list: Vec<Flag>,
}

impl Flags {
    /// Adds a flag after the others (it wins over earlier ones).
    pub fn push(&mut self, flag: Flag) {
        self.list.push(flag);
    }

    /// Every flag, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Flag> {
        self.list.iter()
    }

    /// The flag that decides `name`'s value: the last one written.
    pub fn last(&self, name: &str) -> Option<&Flag> {
        self.list.iter().rev().find(|f| f.name == name)
    }

    /// Whether `name` is set.
    pub fn has(&self, name: &str) -> bool {
        self.last(name).is_some()
    }

    /// Whether `name` is set to a non-empty value.
    pub fn has_value(&self, name: &str) -> bool {
        self.last(name).is_some_and(|f| !f.text().trim().is_empty())
    }

    /// The items of a comma-separated list flag, each with the flag that
    /// wrote it: every repetition of a string-slice flag, else the last.
    pub fn items(&self, name: &str) -> Vec<(&str, &Flag)> {
        fn split(f: &Flag) -> Vec<(&str, &Flag)> {
            f.text()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| (s, f))
                .collect()
        }
        let mut out = Vec::new();
        if SLICE_FLAGS.contains(&name) {
            for f in self.list.iter().filter(|f| f.name == name) {
                out.extend(split(f));
            }
        } else if let Some(f) = self.last(name) {
            out.extend(split(f));
        }
        out
    }
}

/// Reads `words` (the program's arguments, without the program) as
/// `syntax` does; `bools` names the boolean flags (which never take the
/// next word as their value).
pub fn parse(words: &[Word<'_>], syntax: Syntax, bools: &[&str]) -> Flags {
    let mut flags = Flags::default();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let t: &str = &word.text;
        if t == "--" {
            break;
        }
        let body = match t.strip_prefix("--") {
            Some(b) => b,
            None if syntax == Syntax::GoFlag && t.len() > 1 && t.starts_with('-') => &t[1..],
            // A positional word, or a pflag shorthand (`-v=2`).
            None if syntax == Syntax::GoFlag && !t.starts_with('-') => break,
            None => continue,
        };
        // `---x` and `--=x` are bad flag syntax to both parsers.
        if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
            continue;
        }
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let name = match syntax {
            Syntax::Pflag => name.replace('_', "-"),
            Syntax::GoFlag => name.to_string(),
        };
        let value = match value {
            Some(v) => Some(v),
            None if bools.contains(&name.as_str()) => None,
            None => match words.get(i) {
                Some(next) if !next.text.starts_with('-') => {
                    i += 1;
                    Some(next.text.to_string())
                }
                _ => None,
            },
        };
        flags.push(Flag {
            name,
            value,
            path: word.path.clone(),
        });
    }
    flags
}

/// Splits a shell command line into words as `sh` does for a simple
/// command line, without expansions: whitespace separates words, quotes
/// group (and are removed), a backslash escapes the next character (and a
/// backslash-newline joins lines), and `;`, `&`, `|` (and `&&`, `||`) are
/// words of their own.
pub fn shell_words(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('\n') => {}
                            Some(e @ ('"' | '\\' | '$' | '`')) => word.push(e),
                            Some(e) => {
                                word.push('\\');
                                word.push(e);
                            }
                            None => word.push('\\'),
                        },
                        _ => word.push(q),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(e) => {
                    in_word = true;
                    word.push(e);
                }
                None => {}
            },
            ';' | '&' | '|' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
                let mut op = c.to_string();
                if c != ';' && chars.peek() == Some(&c) {
                    chars.next();
                    op.push(c);
                }
                out.push(op);
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// Whether a shell word separates commands.
pub fn is_operator(word: &str) -> bool {
    matches!(word, ";" | "&" | "&&" | "|" | "||")
}

/// The last path component of a program (`/usr/local/bin/etcd` → `etcd`),
/// without a Windows `.exe`.
pub fn basename(program: &str) -> &str {
    let name = program.rsplit(['/', '\\']).next().unwrap_or(program);
    name.strip_suffix(".exe").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&'static str]) -> Vec<Word<'static>> {
        list.iter()
            .enumerate()
            .map(|(i, w)| Word {
                text: Cow::Borrowed(*w),
                path: vec![Seg::key("command"), Seg::Index(i)],
            })
            .collect()
    }

    fn pflag(list: &[&'static str]) -> Flags {
        parse(
            &words(list),
            Syntax::Pflag,
            &["profiling", "anonymous-auth"],
        )
    }

    #[test]
    fn equals_form_and_space_form_give_the_value_and_the_flags_element() {
        let f = pflag(&[
            "--token-auth-file=/etc/tokens.csv",
            "--audit-log-path",
            "/var/log/audit.log",
        ]);
        let t = f.last("token-auth-file").unwrap();
        assert_eq!(t.value.as_deref(), Some("/etc/tokens.csv"));
        assert_eq!(t.path, vec![Seg::key("command"), Seg::Index(0)]);
        let a = f.last("audit-log-path").unwrap();
        assert_eq!(a.value.as_deref(), Some("/var/log/audit.log"));
        // Reported at the flag, not at its value.
        assert_eq!(a.path, vec![Seg::key("command"), Seg::Index(1)]);
        assert_eq!(f.iter().count(), 2);
    }

    #[test]
    fn a_repeated_flag_takes_its_last_value() {
        let f = pflag(&[
            "--profiling=false",
            "--secure-port=6443",
            "--profiling=true",
        ]);
        let p = f.last("profiling").unwrap();
        assert_eq!(p.as_bool(), Some(true));
        assert_eq!(p.path[1], Seg::Index(2));
    }

    #[test]
    fn a_repeated_string_slice_flag_appends_and_other_lists_keep_the_last() {
        let f = pflag(&[
            "--enable-admission-plugins=NodeRestriction",
            "--enable-admission-plugins=AlwaysAdmit,PodNodeSelector",
            "--tls-cipher-suites=A,B",
            "--tls-cipher-suites=C",
        ]);
        let plugins: Vec<&str> = f
            .items("enable-admission-plugins")
            .iter()
            .map(|(p, _)| *p)
            .collect();
        assert_eq!(
            plugins,
            ["NodeRestriction", "AlwaysAdmit", "PodNodeSelector"]
        );
        assert_eq!(
            f.items("enable-admission-plugins")[1].1.path[1],
            Seg::Index(1)
        );
        let suites: Vec<&str> = f
            .items("tls-cipher-suites")
            .iter()
            .map(|(p, _)| *p)
            .collect();
        assert_eq!(suites, ["C"]);
    }

    #[test]
    fn a_boolean_alone_is_true_and_never_takes_the_next_word() {
        let f = pflag(&[
            "--profiling",
            "false",
            "--anonymous-auth",
            "--client-ca-file",
            "/ca.crt",
        ]);
        assert_eq!(f.last("profiling").unwrap().as_bool(), Some(true));
        assert_eq!(f.last("anonymous-auth").unwrap().as_bool(), Some(true));
        assert_eq!(f.last("client-ca-file").unwrap().text(), "/ca.crt");
        // A flag that takes a value, before another flag, is set without one.
        let f = pflag(&["--kubelet-certificate-authority", "--profiling=false"]);
        assert_eq!(f.last("kubelet-certificate-authority").unwrap().value, None);
        assert_eq!(f.last("profiling").unwrap().as_bool(), Some(false));
    }

    #[test]
    fn booleans_parse_as_go_does_and_anything_else_is_not_a_boolean() {
        for (v, want) in [
            ("false", Some(false)),
            ("0", Some(false)),
            ("F", Some(false)),
            ("True", Some(true)),
            ("1", Some(true)),
            ("no", None),
            ("", None),
        ] {
            assert_eq!(parse_bool(v), want, "{v:?}");
        }
    }

    #[test]
    fn pflag_reads_underscores_as_dashes_and_skips_positionals_and_shorthands() {
        let f = pflag(&[
            "-v=2",
            "positional",
            "--token_auth_file=/t",
            "--",
            "--basic-auth-file=/b",
        ]);
        assert!(f.has("token-auth-file"));
        assert!(!f.has("v"));
        // Nothing after `--` is a flag.
        assert!(!f.has("basic-auth-file"));
    }

    #[test]
    fn go_flag_accepts_one_dash_and_stops_at_the_first_positional() {
        let f = parse(
            &words(&[
                "-client-cert-auth",
                "--cert-file",
                "/s.crt",
                "extra",
                "--auto-tls",
            ]),
            Syntax::GoFlag,
            &["client-cert-auth", "auto-tls"],
        );
        assert_eq!(f.last("client-cert-auth").unwrap().as_bool(), Some(true));
        assert_eq!(f.last("cert-file").unwrap().text(), "/s.crt");
        assert!(!f.has("auto-tls"));
    }

    #[test]
    fn shell_words_split_on_whitespace_and_operators_and_remove_quotes() {
        assert_eq!(
            shell_words("exec kube-apiserver --authorization-mode='Node,RBAC' \\\n  --audit-log-path=\"/var/log/a b.log\" && echo done;true"),
            [
                "exec",
                "kube-apiserver",
                "--authorization-mode=Node,RBAC",
                "--audit-log-path=/var/log/a b.log",
                "&&",
                "echo",
                "done",
                ";",
                "true"
            ]
        );
        assert_eq!(
            shell_words("a|b || c & d"),
            ["a", "|", "b", "||", "c", "&", "d"]
        );
        assert_eq!(shell_words("  "), Vec::<String>::new());
        assert_eq!(
            shell_words("unterminated 'quote"),
            ["unterminated", "quote"]
        );
    }

    #[test]
    fn basename_strips_directories_and_exe() {
        assert_eq!(basename("/usr/local/bin/etcd"), "etcd");
        assert_eq!(basename("kube-apiserver"), "kube-apiserver");
        assert_eq!(basename("C:\\k\\kubelet.exe"), "kubelet");
    }
}
