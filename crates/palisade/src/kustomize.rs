//! `scan --kustomize`: each directory tree holding a kustomization is
//! rendered with `kubectl kustomize` and the rendered objects are scanned,
//! located in the source file they came from. Files of the tree that no
//! kustomization covers are scanned as they are.
//!
//! Locations: a rendered object is matched to the source object of the
//! same kind whose name it is (or carries, after a `namePrefix` or
//! `nameSuffix`), and every field the source writes points at the source;
//! a field a patch or transformer added points at its nearest parent the
//! source writes. Objects without a source (generated ConfigMaps and
//! Secrets) are located in the rendered output, named `DIR (kubectl kustomize)`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use palisade_core::loader::{load_bytes, load_str};
use palisade_core::node::{Node, Pos, Value};
use palisade_core::object::{objects_of, Content};
use palisade_core::walk::{self, Depth, MANIFEST_EXTENSIONS};
use palisade_core::{Limits, Object};
use palisade_scan::kustomize::{kustomization_of, read_kustomization};
use palisade_scan::{Paths, Source, Unit};

/// Deepest chain of kustomizations followed through `resources`.
const MAX_DEPTH: usize = 16;

/// A directory scanned with its kustomizations rendered.
#[derive(Debug)]
pub struct Kustomized(pub PathBuf);

impl Source for Kustomized {
    fn units(self: Box<Self>, limits: &Limits) -> Vec<Unit> {
        if !self.0.is_dir() {
            return Box::new(Paths(vec![self.0])).units(limits);
        }
        let roots = roots(&self.0);
        let mut covered: HashSet<PathBuf> = HashSet::new();
        let mut units = Vec::new();
        for root in &roots {
            let sources = source_files(root, &mut covered);
            units.push(render(root, &sources, limits));
        }
        // Files no kustomization names are scanned as written.
        for unit in Box::new(Paths(vec![self.0.clone()])).units(limits) {
            let path = match &unit {
                Unit::File(p) => Some(p.as_path()),
                Unit::Skipped { name, .. } => Some(Path::new(name.as_str())),
                _ => None,
            };
            if !path.is_some_and(|p| is_covered(p, &covered)) {
                units.push(unit);
            }
        }
        units
    }
}

fn is_covered(p: &Path, covered: &HashSet<PathBuf>) -> bool {
    p.canonicalize().is_ok_and(|c| covered.contains(&c))
}

/// The kustomization directories under `dir` that no other one includes
/// (the overlays, not their bases), in name order.
fn roots(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for entry in walk::files(dir, &["yaml", "yml"], Depth::Recursive) {
        if let walk::Entry::File(p) = entry {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.eq_ignore_ascii_case("kustomization.yaml")
                || name.eq_ignore_ascii_case("kustomization.yml")
            {
                if let Some(d) = p.parent().and_then(|d| d.canonicalize().ok()) {
                    dirs.push(d);
                }
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    let mut included: HashSet<PathBuf> = HashSet::new();
    for d in &dirs {
        let mut seen = HashSet::new();
        included_dirs(d, 0, &mut seen);
        seen.remove(d);
        included.extend(seen);
    }
    dirs.into_iter().filter(|d| !included.contains(d)).collect()
}

/// Every kustomization directory `dir` includes, itself among them.
fn included_dirs(dir: &Path, depth: usize, seen: &mut HashSet<PathBuf>) {
    if depth > MAX_DEPTH || !seen.insert(dir.to_path_buf()) {
        return;
    }
    for entry in entries(dir) {
        if let Ok(p) = dir.join(&entry).canonicalize() {
            if p.is_dir() {
                included_dirs(&p, depth + 1, seen);
            }
        }
    }
}

/// The local `resources`, `bases` and `components` of `dir`'s kustomization.
fn entries(dir: &Path) -> Vec<String> {
    let Some(root) = kustomization_of(dir).and_then(|k| read_kustomization(&k)) else {
        return Vec::new();
    };
    ["resources", "bases", "components"]
        .iter()
        .flat_map(|k| root.get(k).map(Node::items).unwrap_or_default().iter())
        .filter_map(Node::as_str)
        .filter(|s| !s.contains("://") && !s.starts_with("github.com/"))
        .map(str::to_string)
        .collect()
}

/// The resource files of `root`'s kustomization and those it includes,
/// added to `covered` with every file of their directories.
fn source_files(root: &Path, covered: &mut HashSet<PathBuf>) -> Vec<PathBuf> {
    let mut dirs = HashSet::new();
    included_dirs(root, 0, &mut dirs);
    let mut files = Vec::new();
    let mut dirs: Vec<PathBuf> = dirs.into_iter().collect();
    dirs.sort();
    for d in &dirs {
        for entry in walk::files(d, MANIFEST_EXTENSIONS, Depth::Flat) {
            if let walk::Entry::File(p) = entry {
                if let Ok(c) = p.canonicalize() {
                    covered.insert(c);
                }
            }
        }
        for e in entries(d) {
            let p = d.join(&e);
            if p.is_file() {
                files.push(p);
            }
        }
    }
    files
}

/// Renders `root` and locates its objects in `sources`.
fn render(root: &Path, sources: &[PathBuf], limits: &Limits) -> Unit {
    let shown = root.display().to_string();
    let output = match Command::new("kubectl").arg("kustomize").arg(root).output() {
        Ok(o) => o,
        Err(e) => {
            return Unit::Unreadable {
                name: shown,
                message: format!("--kustomize runs `kubectl kustomize`, and kubectl could not be run ({e}): install kubectl, or render the directory yourself: kubectl kustomize DIR | palisade scan -"),
            }
        }
    };
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let first: Vec<&str> = err.lines().take(3).collect();
        return Unit::Unreadable {
            name: shown,
            message: format!("kubectl kustomize failed: {}", first.join(" ")),
        };
    }
    let rendered = match std::str::from_utf8(&output.stdout) {
        Ok(t) => t,
        Err(_) => {
            return Unit::Unreadable {
                name: shown,
                message: "kubectl kustomize wrote output that is not UTF-8".into(),
            }
        }
    };
    let originals = source_objects(sources, limits);
    let name: Arc<str> = format!("{shown} (kubectl kustomize)").into();
    let mut objects = Vec::new();
    for doc in load_str(rendered, limits).documents {
        let Content::Objects(found) = objects_of(&name, doc.root) else {
            continue;
        };
        for mut obj in found {
            if let Some(src) = origin(&obj, &originals) {
                remap(&mut obj.root, &src.root);
                obj.file = src.file.clone();
            }
            objects.push(obj);
        }
    }
    Unit::Objects(objects.into())
}

/// The objects written in the source files.
fn source_objects(files: &[PathBuf], limits: &Limits) -> Vec<Object> {
    let mut out = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let name: Arc<str> = f.to_string_lossy().into();
        for doc in load_bytes(&bytes, limits).documents {
            if let Content::Objects(o) = objects_of(&name, doc.root) {
                out.extend(o);
            }
        }
    }
    out
}

/// The source object a rendered one came from: same kind and group, and
/// its name, or the longest source name it carries (after a prefix or
/// suffix transformer).
fn origin<'a>(obj: &Object, sources: &'a [Object]) -> Option<&'a Object> {
    let group = |v: &str| v.rsplit_once('/').map_or("", |(g, _)| g).to_string();
    let same_kind = |s: &&Object| {
        s.id.kind == obj.id.kind && group(&s.id.api_version) == group(&obj.id.api_version)
    };
    let name = obj.id.name.as_str();
    sources
        .iter()
        .filter(same_kind)
        .filter(|s| !s.id.name.is_empty() && name.contains(s.id.name.as_str()))
        .max_by_key(|s| (s.id.name == name, s.id.name.len()))
}

/// Gives `rendered` the positions of `source` where the source writes the
/// same field, and the nearest such parent's position elsewhere.
fn remap(rendered: &mut Node, source: &Node) {
    rendered.pos = source.pos;
    match (&mut rendered.value, &source.value) {
        (Value::Map(entries), Value::Map(src)) => {
            for e in entries {
                match src.iter().find(|x| x.key == e.key) {
                    Some(x) => {
                        e.key_pos = x.key_pos;
                        remap(&mut e.node, &x.node);
                    }
                    None => {
                        e.key_pos = source.pos;
                        flatten(&mut e.node, source.pos);
                    }
                }
            }
        }
        (Value::Seq(items), Value::Seq(src)) => {
            for (i, item) in items.iter_mut().enumerate() {
                let named = item.get("name").and_then(Node::as_str).map(str::to_string);
                let m = match named {
                    Some(n) => src
                        .iter()
                        .find(|x| x.get("name").and_then(Node::as_str) == Some(&n)),
                    None => src.get(i),
                };
                match m {
                    Some(x) => remap(item, x),
                    None => flatten(item, source.pos),
                }
            }
        }
        _ => flatten(rendered, source.pos),
    }
}

/// Every position under `node` set to `pos`.
fn flatten(node: &mut Node, pos: Pos) {
    node.pos = pos;
    match &mut node.value {
        Value::Map(entries) => {
            for e in entries {
                e.key_pos = pos;
                flatten(&mut e.node, pos);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|i| flatten(i, pos)),
        _ => {}
    }
}
