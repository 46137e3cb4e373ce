//! The one directory walker: every command that reads a directory of
//! manifests (`scan`, `rbac`, Gatekeeper constraints and inventory,
//! `verify` suites) lists it here, so they agree on what is read: files
//! with a manifest extension (any letter case), in name order, hidden
//! directories (`.git`) skipped below the named directory but hidden files
//! (`.prod.yaml`) read, as kubectl reads them; symbolic links not followed
//! (no loops).

use std::path::{Path, PathBuf};

/// Extensions of the files read from directories: YAML and JSON.
pub const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Extensions of gator suite files (gator reads YAML only).
pub const YAML_EXTENSIONS: &[&str] = &["yaml", "yml"];

/// One entry of a walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A file to read.
    File(PathBuf),
    /// A path that could not be listed, and why.
    Broken(PathBuf, String),
}

/// How deep to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The whole tree.
    Recursive,
    /// The directory's own files only.
    Flat,
}

/// Whether `path`'s extension is one of `extensions`, in any letter case.
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| extensions.iter().any(|e| e.eq_ignore_ascii_case(x)))
}

/// Lists the files under `dir` with one of `extensions`.
pub fn files(dir: &Path, extensions: &[&str], depth: Depth) -> Vec<Entry> {
    let mut walker = walkdir::WalkDir::new(dir).sort_by_file_name();
    if depth == Depth::Flat {
        walker = walker.max_depth(1);
    }
    let hidden = |e: &walkdir::DirEntry| {
        e.depth() > 0 && e.file_type().is_dir() && e.file_name().to_string_lossy().starts_with('.')
    };
    let mut out = Vec::new();
    for entry in walker.into_iter().filter_entry(|e| !hidden(e)) {
        match entry {
            Ok(e) if e.file_type().is_file() && has_extension(e.path(), extensions) => {
                out.push(Entry::File(e.into_path()));
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(dir).to_path_buf();
                out.push(Entry::Broken(path, e.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_skips_hidden_directories_not_hidden_files_in_name_order() {
        let dir = std::env::temp_dir().join(format!("palisade-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (p, body) in [
            ("b.yaml", "x"),
            ("A.YML", "x"),
            ("notes.txt", "x"),
            (".git/config.yaml", "x"),
            (".hidden.yaml", "x"),
            ("sub/c.json", "x"),
        ] {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().unwrap_or(&dir)).unwrap();
            std::fs::write(path, body).unwrap();
        }
        let names = |entries: Vec<Entry>| -> Vec<String> {
            entries
                .into_iter()
                .map(|e| match e {
                    Entry::File(p) => p.strip_prefix(&dir).unwrap().display().to_string(),
                    Entry::Broken(p, m) => format!("broken {} {m}", p.display()),
                })
                .collect()
        };
        assert_eq!(
            names(files(&dir, MANIFEST_EXTENSIONS, Depth::Recursive)),
            [".hidden.yaml", "A.YML", "b.yaml", "sub/c.json"]
        );
        assert_eq!(
            names(files(&dir, YAML_EXTENSIONS, Depth::Flat)),
            [".hidden.yaml", "A.YML", "b.yaml"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
