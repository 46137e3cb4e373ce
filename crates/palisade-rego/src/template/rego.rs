//! Loading a template's Rego: where it is written, its modules and libs
//! (with file positions for regorus's errors), the check that every
//! function it calls exists, and the entry point.

use super::*;

/// Adds one Rego source to `engine`, padded with empty lines when it is a
/// YAML block scalar so that regorus line numbers are file line numbers.
/// Returns the package path (`data.lib.x`).
pub(super) fn add_source(
    engine: &mut Engine,
    sources: &mut Vec<SourceMap>,
    file: &Arc<str>,
    node: &Node,
    text: &str,
    label: &str,
) -> Result<String, (Pos, String)> {
    let exact = !file.ends_with(".json") && node.pos.line > 0;
    let map = SourceMap {
        name: format!("{file}#{label}"),
        file: file.clone(),
        pos: node.pos,
        exact,
    };
    let padded = if exact {
        let mut s = "\n".repeat(node.pos.line.saturating_sub(1) as usize);
        s.push_str(text);
        s
    } else {
        text.to_string()
    };
    let result = engine.add_policy(map.name.clone(), padded);
    sources.push(map);
    result.map_err(|e| locate_in(sources, &e.to_string(), node.pos))
}

/// Locates a regorus compile error among `sources` (falling back to `fallback`).
pub(super) fn locate_in(sources: &[SourceMap], text: &str, fallback: Pos) -> (Pos, String) {
    let (loc, msg) = split_regorus_error(text);
    let pos = loc
        .and_then(|(name, line, col)| {
            Some(sources.iter().find(|s| s.name == name)?.locate(line, col))
        })
        .unwrap_or(fallback);
    (pos, msg)
}

/// Where a template's Rego is written.
pub(super) struct RegoSource<'n> {
    /// The node holding the main module's text.
    pub(super) node: &'n Node,
    /// Its text.
    pub(super) text: &'n str,
    /// The `libs` list, if any.
    pub(super) libs: Option<&'n Node>,
    /// Rego v1 (a `code` entry with `version: v1`) rather than v0.
    pub(super) v1: bool,
    /// The field's name in messages.
    pub(super) field: &'static str,
}

/// The Rego source: a `code` entry with engine Rego (its `version: v1`
/// selects Rego v1), else the `rego` and `libs` fields (Rego v0).
pub(super) fn rego_source<'n>(
    file: &Arc<str>,
    target: &'n Node,
    name: &str,
) -> Result<RegoSource<'n>, Vec<LoadError>> {
    let err = |pos: Pos, msg: String| vec![LoadError::new(file, pos, msg)];
    let code = target.get("code").map(Node::items).unwrap_or_default();
    let code_rego = code
        .iter()
        .find(|c| c.get("engine").and_then(text_of) == Some("Rego"))
        .and_then(|c| c.get("source"));
    let (node, libs, v1, field) = match (code_rego, target.get("rego")) {
        (Some(src), _) if src.get("rego").is_some() => (
            src.get("rego"),
            src.get("libs"),
            src.get("version").and_then(text_of) == Some("v1"),
            "code[].source.rego",
        ),
        (_, Some(rego)) => (Some(rego), target.get("libs"), false, "rego"),
        _ => (None, None, false, "rego"),
    };
    let Some(node) = node else {
        let has_cel = code
            .iter()
            .any(|c| c.get("engine").and_then(text_of) == Some("K8sNativeValidation"));
        let msg = if has_cel {
            format!("ConstraintTemplate {name}: the K8sNativeValidation code is not usable and there is no Rego")
        } else {
            format!("ConstraintTemplate {name}: the {TARGET} target has no rego")
        };
        return Err(err(target.pos, msg));
    };
    let Some(text) = node.as_str() else {
        return Err(err(
            node.pos,
            format!("ConstraintTemplate {name}: {field} must be a string"),
        ));
    };
    Ok(RegoSource {
        node,
        text,
        libs,
        v1,
        field,
    })
}

/// A Rego engine with palisade's policy-length limits.
pub(super) fn new_engine(rego_v0: bool) -> Engine {
    let mut engine = Engine::new();
    engine.set_rego_v0(rego_v0);
    engine.set_policy_length_config(PolicyLengthConfig {
        max_col: NonZeroU32::new(1 << 16).unwrap_or(NonZeroU32::MIN),
        max_file_bytes: NonZeroUsize::new(64 << 20).unwrap_or(NonZeroUsize::MIN),
        max_lines: NonZeroUsize::new(10_000_000).unwrap_or(NonZeroUsize::MIN),
    });
    engine
}

/// What loading a template's modules gave.
pub(super) struct Loaded {
    /// The main module's package (`data.k8srequiredlabels`), if it compiled.
    pub(super) package: Option<String>,
    /// Whether any module reads `data.inventory`.
    pub(super) uses_inventory: bool,
    pub(super) errors: Vec<LoadError>,
}

/// Adds the main module, each of `libs` (which Gatekeeper requires under
/// `package lib`) and the inventory module to `engine`.
pub(super) fn load_modules(
    engine: &mut Engine,
    sources: &mut Vec<SourceMap>,
    obj: &Object,
    name: &str,
    src: &RegoSource<'_>,
) -> Loaded {
    let file = &obj.file;
    let field = src.field;
    let mut errors = Vec::new();
    let package = match add_source(engine, sources, file, src.node, src.text, field) {
        Ok(p) => Some(p),
        Err((pos, msg)) => {
            errors.push(LoadError::new(
                file,
                pos,
                format!("ConstraintTemplate {name}: {field} does not compile: {msg}"),
            ));
            None
        }
    };
    let mut uses_inventory = src.text.contains("inventory");
    let libs = src.libs.map(Node::items).unwrap_or_default();
    for (i, lib) in libs.iter().enumerate() {
        let label = format!("libs[{i}]");
        let Some(text) = lib.as_str() else {
            errors.push(LoadError::new(
                file,
                lib.pos,
                format!("ConstraintTemplate {name}: {label} must be a string"),
            ));
            continue;
        };
        uses_inventory |= text.contains("inventory");
        match add_source(engine, sources, file, lib, text, &label) {
            Err((pos, msg)) => errors.push(LoadError::new(
                file,
                pos,
                format!("ConstraintTemplate {name}: {label} does not compile: {msg}"),
            )),
            Ok(p) if p != "data.lib" && !p.starts_with("data.lib.") => {
                errors.push(LoadError::new(
                    file,
                    lib.pos,
                    format!(
                        "ConstraintTemplate {name}: {label} has package {}, but Gatekeeper requires libs under package lib",
                        p.trim_start_matches("data.")
                    ),
                ));
            }
            Ok(_) => {}
        }
    }
    if let Err(e) = engine.add_policy(format!("{file}#inventory"), INVENTORY_MODULE.to_string()) {
        errors.push(LoadError::new(
            file,
            object_pos(obj),
            format!("internal inventory module: {e}"),
        ));
    }
    Loaded {
        package,
        uses_inventory,
        errors,
    }
}

/// Every function the modules call must be a regorus builtin or defined in
/// them: an unknown one would make the rule undefined, a silent pass.
pub(super) fn check_calls(
    engine: &mut Engine,
    sources: &[SourceMap],
    file: &Arc<str>,
    name: &str,
    fallback: Pos,
) -> Result<(), Vec<LoadError>> {
    let modules = engine.get_modules().clone();
    let errors: Vec<LoadError> = unknown_calls(modules.iter().map(|m| &**m))
        .into_iter()
        .map(|call| {
            let map = sources.iter().find(|s| s.name == call.source);
            let pos = map.map_or(fallback, |m| m.locate(call.line, call.col));
            LoadError::new(
                file,
                pos,
                format!(
                    "ConstraintTemplate {name}: unknown function {}: neither a builtin regorus provides nor defined in the template or its libs",
                    call.name
                ),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Compiles the engine with the `violation` rule as its entry point.
pub(super) fn compile_entrypoint(
    engine: &mut Engine,
    sources: &[SourceMap],
    file: &Arc<str>,
    name: &str,
    rule: &str,
    pkg: &str,
    at: Pos,
) -> Result<regorus::CompiledPolicy, Vec<LoadError>> {
    let e = match engine.compile_with_entrypoint(&rule.into()) {
        Ok(compiled) => return Ok(compiled),
        Err(e) => e,
    };
    let text = e.to_string();
    if text.contains("not a valid rule path") {
        return Err(vec![LoadError::new(
            file,
            at,
            format!(
                "ConstraintTemplate {name}: the rego defines no violation rule (package {})",
                pkg.trim_start_matches("data.")
            ),
        )]);
    }
    let (pos, msg) = locate_in(sources, &text, at);
    Err(vec![LoadError::new(
        file,
        pos,
        format!("ConstraintTemplate {name}: rego does not compile: {msg}"),
    )])
}
