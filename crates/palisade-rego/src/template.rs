//! ConstraintTemplates (`templates.gatekeeper.sh/v1`, `v1beta1`): reading
//! the CRD kind, the parameter schema and the `admission.k8s.gatekeeper.sh`
//! Rego with its libs, and compiling them once into a prepared regorus
//! engine that every evaluation clones.
//!
//! <https://open-policy-agent.github.io/gatekeeper/website/docs/constrainttemplates>
//!
//! Gatekeeper's environment is reproduced as it is seen from the Rego:
//! `input.review`, `input.parameters`, `data.lib.*` (the libs, each its own
//! module) and `data.inventory` (a small module whose two rules read the
//! inventory handed in with each evaluation, so the compiled engine never
//! changes and needs no re-preparation).

use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::time::Duration;

use palisade_core::{Node, Object, Pos};
use regorus::utils::limits::{ExecutionTimerConfig, PolicyLengthConfig};
use regorus::{Engine, Value};
use serde_json::Value as Json;

use crate::analysis::unknown_calls;
use crate::error::{EvalErrorKind, LoadError};
use crate::native::{self, NativeCode};

mod rego;
mod vm;

use crate::source::{field_pos, group_of, object_pos};
use rego::{check_calls, compile_entrypoint, load_modules, new_engine, rego_source};

/// The API group of ConstraintTemplates.
pub(crate) const TEMPLATE_GROUP: &str = "templates.gatekeeper.sh";
/// The only target Gatekeeper's validating webhook evaluates.
pub(crate) const TARGET: &str = "admission.k8s.gatekeeper.sh";
/// The key of `input` that carries the inventory to the `data.inventory` module.
pub(crate) const INVENTORY_KEY: &str = "__palisade_inventory";

/// The module that makes the inventory handed in with `input` appear at
/// `data.inventory`. Valid as Rego v0 and v1.
const INVENTORY_MODULE: &str = "package inventory\n\
cluster := input.__palisade_inventory.cluster\n\
namespace := input.__palisade_inventory.namespace\n";

/// Default time limit of one evaluation.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A violation as the template returned it.
#[derive(Debug, Clone)]
pub(crate) struct RawViolation {
    /// `msg`.
    pub msg: String,
    /// `details` (`{}` when absent).
    pub details: Json,
}

/// Where a Rego source sits in its file, to turn regorus positions into
/// file positions.
#[derive(Debug, Clone)]
struct SourceMap {
    /// The name the source was given in regorus.
    name: String,
    /// The file it came from.
    file: Arc<str>,
    /// Where the string value starts in the file.
    pos: Pos,
    /// Whether lines map one to one (a YAML block scalar, padded so regorus
    /// line numbers are file line numbers). JSON strings and objects built
    /// without positions do not.
    exact: bool,
}

impl SourceMap {
    /// Maps a regorus line/column to a file position.
    fn locate(&self, line: u32, col: u32) -> Pos {
        if self.exact {
            Pos {
                line,
                col: col + self.pos.col.saturating_sub(1),
            }
        } else {
            self.pos
        }
    }
}

/// A compiled ConstraintTemplate.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// `spec.crd.spec.names.kind`: the kind of its constraints.
    pub kind: String,
    /// The parameter schema (`spec.crd.spec.validation.openAPIV3Schema`).
    pub schema: Option<Json>,
    /// Whether the Rego reads `data.inventory` (the inventory is then handed in).
    pub uses_inventory: bool,
    /// The code that runs.
    pub code: Code,
}

/// The engine a template runs on.
#[derive(Debug, Clone)]
pub(crate) enum Code {
    Rego(Box<RegoCode>),
    Cel(NativeCode),
}

/// A template's compiled Rego.
#[derive(Debug, Clone)]
pub(crate) struct RegoCode {
    /// The prepared interpreter, for templates the VM cannot compile. Each
    /// evaluation works on a clone (cheap, and nothing mutable is shared
    /// between threads).
    engine: Engine,
    /// `data.<package>.violation`.
    rule: String,
    /// Where each Rego source came from.
    sources: Vec<SourceMap>,
    /// The template compiled for regorus's VM (RVM), which evaluates it;
    /// `None` when the VM cannot compile it, and the engine evaluates it.
    vm: Option<vm::VmProgram>,
    /// The time limit of one evaluation.
    timeout: Duration,
}

/// Which engine runs a template that has code for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnginePreference {
    /// Gatekeeper's precedence: `K8sNativeValidation` (CEL) over Rego.
    #[default]
    Auto,
    /// Rego where the template has it.
    Rego,
    /// CEL where the template has it.
    Cel,
}

/// Splits a regorus error (`\n--> name:line:col\n  |\n...\nerror: msg`)
/// into its location and its last `error:` line.
fn split_regorus_error(text: &str) -> (Option<(String, u32, u32)>, String) {
    let mut loc = None;
    let mut msg = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("--> ") {
            let mut parts = rest.rsplitn(3, ':');
            let col = parts.next().and_then(|c| c.parse().ok());
            let line = parts.next().and_then(|l| l.parse().ok());
            if let (Some(col), Some(line), Some(name)) = (col, line, parts.next()) {
                loc = Some((name.to_string(), line, col));
            }
        } else if let Some(m) = t.strip_prefix("error: ") {
            msg = Some(m.to_string());
        }
    }
    let msg = msg.unwrap_or_else(|| text.trim().to_string());
    (loc, msg)
}

fn text_of(node: &Node) -> Option<&str> {
    node.as_str()
}

impl Template {
    /// Reads and compiles a ConstraintTemplate object, on the engine
    /// `preference` selects among those it has code for.
    pub fn compile(obj: &Object, preference: EnginePreference) -> Result<Template, Vec<LoadError>> {
        let file = obj.file.clone();
        let (name, kind) = identity(obj)?;
        let target = single_target(obj, &name)?;
        let schema = obj
            .root
            .get_path(&["spec", "crd", "spec", "validation", "openAPIV3Schema"])
            .map(Node::to_json);
        let cel = native::code_entry(target, native::ENGINE);
        let has_rego = target.get("rego").is_some() || native::code_entry(target, "Rego").is_some();
        let use_cel = match (cel, preference) {
            (None, _) => false,
            (Some(_), EnginePreference::Rego) => !has_rego,
            (Some(_), _) => true,
        };
        if let (true, Some(entry)) = (use_cel, cel) {
            let source = native::source_of(entry).map_err(|pos| {
                vec![LoadError::new(
                    &file,
                    pos,
                    format!(
                        "ConstraintTemplate {name}: code[{}] has no source",
                        native::ENGINE
                    ),
                )]
            })?;
            let code = native::parse(&file, source, &name)?;
            return Ok(Template {
                kind: kind.to_string(),
                schema,
                uses_inventory: false,
                code: Code::Cel(code),
            });
        }
        let src = rego_source(&file, target, &name)?;
        let mut engine = new_engine(!src.v1);
        let mut sources = Vec::new();
        let loaded = load_modules(&mut engine, &mut sources, obj, &name, &src);
        if !loaded.errors.is_empty() {
            return Err(loaded.errors);
        }
        let Some(pkg) = loaded.package else {
            return Err(loaded.errors);
        };
        check_calls(&mut engine, &sources, &file, &name, src.node.pos)?;
        let rule = format!("{pkg}.violation");
        let compiled = compile_entrypoint(
            &mut engine,
            &sources,
            &file,
            &name,
            &rule,
            &pkg,
            src.node.pos,
        )?;
        let mut t = Template {
            kind: kind.to_string(),
            schema,
            uses_inventory: loaded.uses_inventory,
            code: Code::Rego(Box::new(RegoCode {
                vm: vm::VmProgram::compile(&compiled, &rule),
                engine,
                rule,
                sources,
                timeout: DEFAULT_TIMEOUT,
            })),
        };
        t.set_timeout(DEFAULT_TIMEOUT);
        Ok(t)
    }

    /// Evaluates on the interpreter from now on (the VM program is
    /// dropped): for comparing the two.
    pub fn without_vm(&mut self) {
        if let Code::Rego(r) = &mut self.code {
            r.vm = None;
        }
    }

    /// Whether the template runs on the VM.
    pub fn runs_on_vm(&self) -> bool {
        matches!(&self.code, Code::Rego(r) if r.vm.is_some())
    }

    /// The engine that runs the template: `Rego` or `K8sNativeValidation`.
    pub fn engine_name(&self) -> &'static str {
        match self.code {
            Code::Rego(_) => "Rego",
            Code::Cel(_) => native::ENGINE,
        }
    }

    /// Sets the time limit of one evaluation.
    pub fn set_timeout(&mut self, limit: Duration) {
        let Code::Rego(r) = &mut self.code else {
            return;
        };
        r.timeout = limit;
        r.engine.set_execution_timer_config(ExecutionTimerConfig {
            limit,
            check_interval: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
        });
    }

    fn rego(&self) -> Option<&RegoCode> {
        match &self.code {
            Code::Rego(r) => Some(r),
            Code::Cel(_) => None,
        }
    }

    /// Turns a regorus error into `file:line:col: message`.
    fn describe(&self, text: &str) -> String {
        let (loc, msg) = split_regorus_error(text);
        match loc.and_then(|(name, line, col)| {
            let map = self.rego()?.sources.iter().find(|s| s.name == name)?;
            Some((map, map.locate(line, col)))
        }) {
            Some((map, pos)) => format!("{}:{}:{}: {msg}", map.file, pos.line, pos.col),
            None => msg,
        }
    }

    /// Evaluates `violation` on `input` (`{review, parameters, ...}`).
    pub fn evaluate(&self, input: Value) -> Result<Vec<RawViolation>, (EvalErrorKind, String)> {
        let Some(code) = self.rego() else {
            return Err((EvalErrorKind::Rego, "the template has no Rego".into()));
        };
        let interpret = |input: Value| {
            let mut engine = code.engine.clone();
            engine.set_input(input);
            engine
                .eval_rule(code.rule.clone())
                .map_err(|e| e.to_string())
        };
        let value = match &code.vm {
            // The VM's errors carry no source position: the interpreter
            // evaluates again for its located message (errors are rare).
            // Should it not fail, the VM's error stands: an error is never
            // dropped.
            Some(program) => program
                .run(input.clone(), code.timeout)
                .map_err(|vm_error| match interpret(input) {
                    Err(e) => e,
                    Ok(_) => vm_error,
                }),
            None => interpret(input),
        }
        .map_err(|e| (EvalErrorKind::Rego, self.describe(&e)))?;
        let items: Vec<&Value> = match &value {
            Value::Undefined => return Ok(Vec::new()),
            Value::Set(s) => s.iter().collect(),
            Value::Array(a) => a.iter().collect(),
            other => {
                return Err((
                    EvalErrorKind::Result,
                    format!("violation is not a set but {}", other),
                ))
            }
        };
        items.into_iter().map(raw_violation).collect()
    }
}

/// Reads one element of `violation`.
fn raw_violation(v: &Value) -> Result<RawViolation, (EvalErrorKind, String)> {
    let bad = |what: String| (EvalErrorKind::Result, what);
    let obj = v.as_object().map_err(|_| {
        bad(format!(
            "a violation is not an object with msg and details: {v}"
        ))
    })?;
    let msg = match obj.get(&Value::from("msg")) {
        None => String::new(),
        Some(Value::String(s)) => s.to_string(),
        Some(other) => return Err(bad(format!("a violation's msg is not a string: {other}"))),
    };
    let details = match obj.get(&Value::from("details")) {
        None => Json::Object(Default::default()),
        Some(d) => serde_json::to_value(d)
            .map_err(|e| bad(format!("details cannot be represented as JSON: {e}")))?,
    };
    Ok(RawViolation { msg, details })
}

/// Whether an object is a ConstraintTemplate.
pub(crate) fn is_template(obj: &Object) -> bool {
    group_of(&obj.id.api_version) == TEMPLATE_GROUP && obj.id.kind == "ConstraintTemplate"
}

/// The template's name and the kind of its constraints; Gatekeeper
/// requires the name to be the kind in lower case.
fn identity(obj: &Object) -> Result<(String, String), Vec<LoadError>> {
    let root = &obj.root;
    let err = |pos: Pos, msg: String| vec![LoadError::new(&obj.file, pos, msg)];
    let name = root
        .get_path(&["metadata", "name"])
        .and_then(text_of)
        .ok_or_else(|| {
            err(
                object_pos(obj),
                "ConstraintTemplate has no metadata.name".into(),
            )
        })?;
    let kind_path = ["spec", "crd", "spec", "names", "kind"];
    let kind = root
        .get_path(&kind_path)
        .and_then(text_of)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            err(
                field_pos(root, &kind_path),
                format!("ConstraintTemplate {name}: spec.crd.spec.names.kind is missing"),
            )
        })?;
    if name != kind.to_lowercase() {
        return Err(err(
            field_pos(root, &["metadata", "name"]),
            format!(
                "ConstraintTemplate {name}: metadata.name must be the lower-case kind {:?}, as Gatekeeper requires",
                kind.to_lowercase()
            ),
        ));
    }
    Ok((name.to_string(), kind.to_string()))
}

/// The one target, which must be Gatekeeper's admission target.
fn single_target<'o>(obj: &'o Object, name: &str) -> Result<&'o Node, Vec<LoadError>> {
    let root = &obj.root;
    let err = |pos: Pos, msg: String| vec![LoadError::new(&obj.file, pos, msg)];
    let targets = root
        .get_path(&["spec", "targets"])
        .map(Node::items)
        .unwrap_or_default();
    let target = match targets {
        [t] => t,
        [] => {
            return Err(err(
                field_pos(root, &["spec", "targets"]),
                format!("ConstraintTemplate {name}: spec.targets must hold one target ({TARGET})"),
            ))
        }
        [_, second, ..] => {
            return Err(err(
                second.pos,
                format!("ConstraintTemplate {name}: only one target is allowed, as in Gatekeeper"),
            ))
        }
    };
    match target.get("target").and_then(text_of) {
        Some(TARGET) => Ok(target),
        other => Err(err(
            target.entry("target").map_or(target.pos, |e| e.key_pos),
            format!(
                "ConstraintTemplate {name}: target {:?} is not {TARGET}",
                other.unwrap_or("")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regorus_error_text_is_split_into_location_and_message() {
        let (loc, msg) =
            split_regorus_error("\n--> a/t.yaml#rego:6:25\n  |\n6 | x\n  |  ^\nerror: expecting }");
        assert_eq!(loc, Some(("a/t.yaml#rego".to_string(), 6, 25)));
        assert_eq!(msg, "expecting }");
        let (loc, msg) = split_regorus_error("plain failure");
        assert_eq!(loc, None);
        assert_eq!(msg, "plain failure");
    }
}
