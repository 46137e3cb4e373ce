//! npm packages: the `package.json` of every package installed under a
//! `node_modules` directory
//! (<https://docs.npmjs.com/cli/v10/configuring-npm/package-json>, fields
//! `name` and `version`), and `package-lock.json` /
//! `node_modules/.package-lock.json`
//! (<https://docs.npmjs.com/cli/v10/configuring-npm/package-lock-json>):
//!
//! - `lockfileVersion` 2 and 3: a `packages` map keyed by install path
//!   (`""` for the project itself, `node_modules/a`,
//!   `node_modules/a/node_modules/@s/b`), each entry with `version` and,
//!   for aliased packages, `name`; `dev: true` marks development-only
//!   packages and `link: true` a symlink to a directory elsewhere
//!   (workspaces), whose own entry carries the version;
//! - `lockfileVersion` 1: a `dependencies` tree, each entry keyed by name
//!   with `version`, `dev` and its own nested `dependencies` (those
//!   installed below it, in `node_modules/<name>/node_modules`).
//!
//! Lockfiles list optional platform-specific packages (`"optional": true`
//! with `os`/`cpu`) whether or not they were installed on this platform.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Deepest `dependencies` nesting read in a version 1 lockfile. The JSON
/// parser's own nesting limit (128 levels, two per dependency level) is
/// reached first, also with an error.
const MAX_V1_DEPTH: usize = 256;

/// The package directory of a `package.json` path, when that
/// `package.json` is a package's own: directly inside `node_modules/<name>`
/// or `node_modules/@scope/<name>` (`app/node_modules/@s/n/package.json` →
/// `app/node_modules/@s/n`). `None` for anything else, such as
/// `node_modules/a/lib/package.json`, the project's own `package.json` or
/// `node_modules/.bin/package.json`.
pub fn package_dir(path: &str) -> Option<&str> {
    let dir = path.strip_suffix("/package.json")?;
    let mut parts = dir.rsplit('/');
    let name = parts.next()?;
    if !plain_name(name) {
        return None;
    }
    match parts.next()? {
        "node_modules" => Some(dir),
        scope if scope.len() > 1 && scope.starts_with('@') && !scope.contains('.') => {
            (parts.next()? == "node_modules").then_some(dir)
        }
        _ => None,
    }
}

/// A directory name that can be an (unscoped part of a) package name.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with(['.', '@']) && name != "node_modules"
}

#[derive(Deserialize)]
struct PackageJson {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    version: Option<Value>,
}

/// `name` and `version` of a `package.json`; `None` when it is not a JSON
/// object or either is missing, empty or not a string. The caller bounds
/// the size of `bytes`.
pub fn parse_package_json(bytes: &[u8]) -> Option<(String, String)> {
    let p: PackageJson = serde_json::from_slice(bytes).ok()?;
    match (p.name?, p.version?) {
        (Value::String(n), Value::String(v)) if !n.trim().is_empty() && !v.trim().is_empty() => {
            Some((n.trim().to_string(), v.trim().to_string()))
        }
        _ => None,
    }
}

/// One installed package listed in a lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    /// Package name (`@scope/name` for scoped packages; for an alias, the
    /// real package's name).
    pub name: String,
    /// Version (`4.3.4`; as written for git or file dependencies).
    pub version: String,
    /// A development-only dependency (`"dev": true`).
    pub dev: bool,
    /// Install path (`node_modules/a/node_modules/b`); for version 1
    /// lockfiles the path the nesting implies.
    pub path: String,
}

/// The packages of a `package-lock.json` (or `node_modules/.package-lock.json`).
///
/// Version 2/3 files are read from `packages`, skipping the project's own
/// `""` entry, `"link": true` entries and entries outside any
/// `node_modules` (workspace sources: the application's own code); a
/// package's name is its `name` field, else the part of the key after its
/// last `node_modules/`. Version 1 files are read from the `dependencies`
/// tree. Entries without a string `version` are skipped. `Err` when the
/// bytes are not a JSON object, `packages` or `dependencies` has the wrong
/// type, or version 1 nesting is deeper than 256.
pub fn parse_package_lock(bytes: &[u8]) -> Result<Vec<Locked>, String> {
    let lock: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("package-lock.json is not valid JSON: {e}"))?;
    let lock = lock
        .as_object()
        .ok_or("package-lock.json is not a JSON object")?;
    if let Some(packages) = lock.get("packages") {
        let packages = packages
            .as_object()
            .ok_or("package-lock.json: \"packages\" is not an object")?;
        return Ok(from_packages(packages));
    }
    match lock.get("dependencies") {
        None => Ok(Vec::new()),
        Some(Value::Object(deps)) => from_v1(deps),
        Some(_) => Err("package-lock.json: \"dependencies\" is not an object".into()),
    }
}

fn from_packages(packages: &Map<String, Value>) -> Vec<Locked> {
    let mut out = Vec::new();
    for (key, entry) in packages {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        if key.is_empty() || entry.get("link").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let Some(key_name) = name_from_key(key) else {
            continue;
        };
        let Some(version) = entry.get("version").and_then(Value::as_str) else {
            continue;
        };
        let name = entry
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(key_name);
        out.push(Locked {
            name: name.to_string(),
            version: version.to_string(),
            dev: entry.get("dev").and_then(Value::as_bool) == Some(true),
            path: key.clone(),
        });
    }
    out
}

/// The package name an install path implies: what follows its last
/// `node_modules` component (`@s/b` for `node_modules/a/node_modules/@s/b`).
fn name_from_key(key: &str) -> Option<&str> {
    let at = if let Some(rest) = key.strip_prefix("node_modules/") {
        key.len() - rest.len()
    } else {
        key.rfind("/node_modules/")? + "/node_modules/".len()
    };
    let rest = key.get(at..)?;
    let rest = match rest.rfind("/node_modules/") {
        Some(i) => rest.get(i + "/node_modules/".len()..)?,
        None => rest,
    };
    (!rest.is_empty()).then_some(rest)
}

fn from_v1(deps: &Map<String, Value>) -> Result<Vec<Locked>, String> {
    let mut out = Vec::new();
    // (install path of the parent, its dependencies, depth)
    let mut stack: Vec<(String, &Map<String, Value>, usize)> = vec![(String::new(), deps, 1)];
    while let Some((parent, deps, depth)) = stack.pop() {
        if depth > MAX_V1_DEPTH {
            return Err(format!(
                "package-lock.json: dependencies nested more than {MAX_V1_DEPTH} deep"
            ));
        }
        for (name, entry) in deps {
            let Some(entry) = entry.as_object() else {
                continue;
            };
            let path = if parent.is_empty() {
                format!("node_modules/{name}")
            } else {
                format!("{parent}/node_modules/{name}")
            };
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                out.push(Locked {
                    name: name.clone(),
                    version: version.to_string(),
                    dev: entry.get("dev").and_then(Value::as_bool) == Some(true),
                    path: path.clone(),
                });
            }
            if let Some(Value::Object(nested)) = entry.get("dependencies") {
                stack.push((path, nested, depth + 1));
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::process::Command;

    #[test]
    fn package_dirs() {
        for (path, want) in [
            (
                "app/node_modules/@scope/name/package.json",
                Some("app/node_modules/@scope/name"),
            ),
            (
                "node_modules/a/node_modules/b/package.json",
                Some("node_modules/a/node_modules/b"),
            ),
            (
                "/usr/lib/node_modules/npm/package.json",
                Some("/usr/lib/node_modules/npm"),
            ),
            (
                "node_modules/.pnpm/ms@2.1.2/node_modules/ms/package.json",
                Some("node_modules/.pnpm/ms@2.1.2/node_modules/ms"),
            ),
            ("node_modules/a/lib/package.json", None),
            ("node_modules/a/node_modules/package.json", None),
            ("node_modules/@scope/package.json", None),
            ("node_modules/.bin/package.json", None),
            ("node_modules/@/x/package.json", None),
            ("node_modules/@s/@t/package.json", None),
            ("app/package.json", None),
            ("package.json", None),
            ("node_modules/a/package.json.bak", None),
            ("node_modules/a/package.json", Some("node_modules/a")),
        ] {
            assert_eq!(package_dir(path), want, "{path}");
        }
    }

    #[test]
    fn package_json_fields() {
        assert_eq!(
            parse_package_json(br#"{"name":"@s/n","version":"1.0.0","dependencies":{"x":"1"}}"#),
            Some(("@s/n".into(), "1.0.0".into()))
        );
        assert_eq!(parse_package_json(br#"{"name":"n"}"#), None);
        assert_eq!(parse_package_json(br#"{"name":"n","version":1}"#), None);
        assert_eq!(parse_package_json(br#"{"name":"","version":"1"}"#), None);
        assert_eq!(parse_package_json(b"[1,2]"), None);
        assert_eq!(parse_package_json(b"{not json"), None);
        assert_eq!(parse_package_json(b"\xff\xfe"), None);
        // Deeply nested fields other than name and version are skipped
        // without recursion; a nested name or version value hits the
        // parser's depth limit.
        let deep = |field: &str| {
            format!(
                "{{\"name\":\"n\",\"version\":\"1\",\"{field}\":{}{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )
        };
        assert_eq!(
            parse_package_json(deep("x").as_bytes()),
            Some(("n".into(), "1".into()))
        );
        assert_eq!(parse_package_json(deep("name").as_bytes()), None);
    }

    #[test]
    fn lock_v2_packages() {
        let lock = br#"{
          "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
          "packages": {
            "": {"name": "app", "version": "1.0.0", "dependencies": {"debug": "^4"}},
            "node_modules/debug": {"version": "4.3.4", "resolved": "https://r/debug-4.3.4.tgz"},
            "node_modules/debug/node_modules/ms": {"version": "2.1.2"},
            "node_modules/@types/node": {"version": "20.1.0", "dev": true},
            "node_modules/alias": {"name": "real-pkg", "version": "3.0.0"},
            "node_modules/ws-member": {"resolved": "packages/member", "link": true},
            "packages/member": {"name": "member", "version": "0.0.1"},
            "node_modules/nover": {"resolved": "x"},
            "node_modules/weird": 7
          }
        }"#;
        let got = parse_package_lock(lock).expect("parses");
        let got: Vec<(&str, &str, bool, &str)> = got
            .iter()
            .map(|l| (l.name.as_str(), l.version.as_str(), l.dev, l.path.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("@types/node", "20.1.0", true, "node_modules/@types/node"),
                ("real-pkg", "3.0.0", false, "node_modules/alias"),
                ("debug", "4.3.4", false, "node_modules/debug"),
                ("ms", "2.1.2", false, "node_modules/debug/node_modules/ms"),
            ]
        );
    }

    #[test]
    fn lock_v1_tree() {
        let lock = br#"{
          "name": "old", "version": "1.0.0", "lockfileVersion": 1,
          "dependencies": {
            "debug": {"version": "4.3.4", "requires": {"ms": "2.1.2"},
                      "dependencies": {"ms": {"version": "2.1.2"}}},
            "ms": {"version": "2.0.0"},
            "@s/tool": {"version": "1.1.0", "dev": true,
                        "dependencies": {"x": {"version": "0.1.0", "dev": true,
                            "dependencies": {"y": {"version": "0.0.1", "dev": true}}}}}
          }
        }"#;
        let got = parse_package_lock(lock).expect("parses");
        let got: Vec<(&str, &str, bool, &str)> = got
            .iter()
            .map(|l| (l.name.as_str(), l.version.as_str(), l.dev, l.path.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("@s/tool", "1.1.0", true, "node_modules/@s/tool"),
                ("x", "0.1.0", true, "node_modules/@s/tool/node_modules/x"),
                (
                    "y",
                    "0.0.1",
                    true,
                    "node_modules/@s/tool/node_modules/x/node_modules/y"
                ),
                ("debug", "4.3.4", false, "node_modules/debug"),
                ("ms", "2.1.2", false, "node_modules/debug/node_modules/ms"),
                ("ms", "2.0.0", false, "node_modules/ms"),
            ]
        );
    }

    fn nested_v1(levels: usize) -> String {
        let mut s = String::from(r#"{"lockfileVersion":1,"dependencies":"#);
        for i in 0..levels {
            s.push_str(&format!(
                r#"{{"p{i}":{{"version":"1.0.{i}","dependencies":"#
            ));
        }
        s.push_str("{}");
        for _ in 0..levels {
            s.push_str("}}");
        }
        s.push('}');
        s
    }

    #[test]
    fn lock_v1_nesting_limits() {
        let got = parse_package_lock(nested_v1(50).as_bytes()).expect("50 levels");
        assert_eq!(got.len(), 50);
        let deepest = got.iter().find(|l| l.name == "p49").expect("p49");
        assert_eq!(deepest.path.matches("node_modules/").count(), 50);
        assert!(parse_package_lock(nested_v1(300).as_bytes()).is_err());
        assert!(parse_package_lock(nested_v1(100_000).as_bytes()).is_err());
        // The explicit cap, on a tree the JSON parser has already accepted.
        let mut deep = Map::new();
        for i in (0..MAX_V1_DEPTH + 1).rev() {
            let mut entry = Map::new();
            entry.insert("version".into(), Value::String("1".into()));
            entry.insert(
                "dependencies".into(),
                Value::Object(std::mem::take(&mut deep)),
            );
            deep.insert(format!("p{i}"), Value::Object(entry));
        }
        let err = from_v1(&deep).expect_err("too deep");
        assert!(err.contains("256"), "{err}");
    }

    #[test]
    fn lock_errors_and_empty() {
        assert!(parse_package_lock(b"{").is_err());
        assert!(parse_package_lock(b"[]").is_err());
        assert!(parse_package_lock(br#"{"packages":[]}"#).is_err());
        assert!(parse_package_lock(br#"{"dependencies":"x"}"#).is_err());
        assert_eq!(
            parse_package_lock(br#"{"lockfileVersion":3}"#),
            Ok(Vec::new())
        );
        assert_eq!(
            parse_package_lock(br#"{"packages":{"":{"version":"1"}}}"#),
            Ok(Vec::new())
        );
    }

    fn npm_ls_tree(v: &Value, out: &mut BTreeSet<(String, String)>) {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            if let Some(Value::Object(deps)) = v.get("dependencies") {
                for (name, d) in deps {
                    if let Some(ver) = d.get("version").and_then(Value::as_str) {
                        out.insert((name.clone(), ver.to_string()));
                    }
                    stack.push(d);
                }
            }
        }
    }

    fn walk_package_jsons(root: &Path, dir: &Path, out: &mut Vec<(String, String, String)>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                walk_package_jsons(root, &p, out);
            } else if e.file_name() == "package.json" {
                let rel = p
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                if let Some(dir) = package_dir(&rel) {
                    let bytes = std::fs::read(&p).expect("read package.json");
                    let (n, v) =
                        parse_package_json(&bytes).unwrap_or_else(|| panic!("{rel} unparsed"));
                    out.push((dir.to_string(), n, v));
                }
            }
        }
    }

    /// A real `npm install` (the npm registry is reachable from here and
    /// from CI), checked against `npm ls --all --json`.
    #[test]
    fn real_npm_install_matches_npm_ls() {
        if Command::new("npm").arg("--version").output().is_err() {
            eprintln!("npm is not installed: skipped");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        std::fs::write(
            dir.join("package.json"),
            r#"{"name":"fixture","version":"1.0.0","private":true,
                "dependencies":{"ms":"2.0.0","debug":"4.3.4"},
                "devDependencies":{"is-number":"7.0.0"}}"#,
        )
        .expect("write package.json");
        let npm = |args: &[&str]| {
            Command::new("npm")
                .args(args)
                .current_dir(dir)
                .env("npm_config_cache", dir.join(".npm-cache"))
                .env("npm_config_update_notifier", "false")
                .output()
                .expect("npm runs")
        };
        let out = npm(&["install", "--no-audit", "--no-fund", "--ignore-scripts"]);
        assert!(
            out.status.success(),
            "npm install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lock = std::fs::read(dir.join("package-lock.json")).expect("lockfile");
        let locked = parse_package_lock(&lock).expect("lockfile parses");
        let out = npm(&["ls", "--all", "--json"]);
        assert!(
            out.status.success(),
            "npm ls: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tree: Value = serde_json::from_slice(&out.stdout).expect("npm ls json");
        let mut want = BTreeSet::new();
        npm_ls_tree(&tree, &mut want);
        let got: BTreeSet<(String, String)> = locked
            .iter()
            .map(|l| (l.name.clone(), l.version.clone()))
            .collect();
        assert_eq!(got, want);
        // debug 4.3.4 needs ms 2.1.2, nested below it.
        assert!(locked
            .iter()
            .any(|l| l.path == "node_modules/debug/node_modules/ms" && l.version == "2.1.2"));
        assert!(locked.iter().any(|l| l.name == "is-number" && l.dev));
        assert!(locked
            .iter()
            .filter(|l| l.name != "is-number")
            .all(|l| !l.dev));
        // Every installed package.json, found through package_dir, agrees.
        let mut installed = Vec::new();
        walk_package_jsons(dir, &dir.join("node_modules"), &mut installed);
        installed.sort();
        let mut from_lock: Vec<(String, String, String)> = locked
            .iter()
            .map(|l| (l.path.clone(), l.name.clone(), l.version.clone()))
            .collect();
        from_lock.sort();
        assert_eq!(installed, from_lock);
        // npm's hidden lockfile reads the same.
        if let Ok(hidden) = std::fs::read(dir.join("node_modules/.package-lock.json")) {
            let mut h = parse_package_lock(&hidden).expect("hidden lockfile");
            h.sort_by(|a, b| a.path.cmp(&b.path));
            let mut l = locked.clone();
            l.sort_by(|a, b| a.path.cmp(&b.path));
            assert_eq!(h, l);
        }
    }
}
