//! [`PolicySet`]: compiled templates and their constraints, and the review
//! of one object against every constraint that matches it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use palisade_core::{Object, Severity};
use serde::Serialize;
use serde_json::Value as Json;

use crate::cel_program::review_activation;
use crate::constraint::{self, Constraint, EnforcementAction};
use crate::error::{EvalError, EvalErrorKind, LoadError};
use crate::inventory::Inventory;
use crate::matcher::{labels_of, Labels, NamespaceInfo};
use crate::review::{to_rego, Review};
use crate::source::{object_pos, read_paths};
use crate::template::{self, Code, EnginePreference, RawViolation, Template, INVENTORY_KEY};
use crate::vap::{self, Decision, VapSet};

/// One violation of one constraint by one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The constraint's kind (`K8sRequiredLabels`).
    pub constraint_kind: String,
    /// The constraint's name.
    pub constraint_name: String,
    /// The template's `msg`.
    pub message: String,
    /// The template's `details` (`{}` when it gives none).
    pub details: Json,
    /// The constraint's enforcement action.
    pub action: EnforcementAction,
}

impl Violation {
    /// The rule id findings carry: `rego/<ConstraintKind>/<constraint name>`.
    pub fn rule_id(&self) -> String {
        rule_id(&self.constraint_kind, &self.constraint_name)
    }

    /// The severity of the finding (from the enforcement action).
    pub fn severity(&self) -> Severity {
        self.action.severity()
    }
}

/// The rule id of a constraint's findings (`rego/<Kind>/<name>`), or of a
/// ValidatingAdmissionPolicy's (`vap/<policy name>`).
pub(crate) fn rule_id(kind: &str, name: &str) -> String {
    if kind == vap::POLICY_KIND {
        format!("vap/{name}")
    } else {
        format!("rego/{kind}/{name}")
    }
}

/// Everything a review produced: violations, and the constraints that could
/// not be evaluated (which must be reported, never read as a pass).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Violations, in constraint load order.
    pub violations: Vec<Violation>,
    /// Constraints that failed on this object.
    pub errors: Vec<EvalError>,
    /// ValidatingAdmissionPolicies' `auditAnnotations`: `<policy>/<key>`
    /// to value (distinct values of several bindings joined with ", ").
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// A loaded constraint, as listed to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConstraintInfo {
    /// Its kind.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// Its enforcement action.
    pub action: EnforcementAction,
    /// The file it was read from.
    pub file: String,
    /// The line it starts on.
    pub line: u32,
    /// The engine its template runs on: `Rego` or `K8sNativeValidation`.
    pub engine: &'static str,
}

impl ConstraintInfo {
    /// The rule id of its findings.
    pub fn rule_id(&self) -> String {
        rule_id(&self.kind, &self.name)
    }
}

/// An object of a policy file that is neither a template nor a constraint
/// (a Gatekeeper mutator, Config, or anything else), listed so front doors
/// can say it was not used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// The file.
    pub file: String,
    /// The line of the object.
    pub line: u32,
    /// Its `apiVersion`.
    pub api_version: String,
    /// Its `kind`.
    pub kind: String,
    /// Its name.
    pub name: String,
}

/// Compiled ConstraintTemplates and their Constraints. `Send + Sync`:
/// compiled once, then reviewed from any number of threads.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    templates: Vec<Template>,
    constraints: Vec<Constraint>,
    ignored: Vec<Ignored>,
    vaps: VapSet,
}

impl PolicySet {
    /// Loads templates and constraints from files or directories (walked
    /// recursively for `.yaml`, `.yml` and `.json`), every document of each.
    /// Every problem is returned, each with its file, line and column.
    pub fn load(paths: &[PathBuf]) -> Result<PolicySet, Vec<LoadError>> {
        PolicySet::load_with(paths, EnginePreference::Auto)
    }

    /// [`PolicySet::load`], running templates that have both Rego and CEL
    /// code on the engine `engine` selects.
    pub fn load_with(
        paths: &[PathBuf],
        engine: EnginePreference,
    ) -> Result<PolicySet, Vec<LoadError>> {
        let (objects, mut errors) = read_paths(paths);
        match PolicySet::from_objects_with(&objects, engine) {
            Ok(set) if errors.is_empty() => Ok(set),
            Ok(_) => Err(errors),
            Err(e) => {
                errors.extend(e);
                sort_errors(&mut errors);
                Err(errors)
            }
        }
    }

    /// Builds a set from objects already read (templates first or not:
    /// order does not matter).
    pub fn from_objects(objects: &[Object]) -> Result<PolicySet, Vec<LoadError>> {
        PolicySet::from_objects_with(objects, EnginePreference::Auto)
    }

    /// [`PolicySet::from_objects`] with an engine preference.
    pub fn from_objects_with(
        objects: &[Object],
        engine: EnginePreference,
    ) -> Result<PolicySet, Vec<LoadError>> {
        let mut set = PolicySet::default();
        let mut errors = Vec::new();
        let mut by_kind: HashMap<String, usize> = HashMap::new();
        let mut template_at: HashMap<String, (Arc<str>, u32)> = HashMap::new();
        for obj in objects.iter().filter(|o| template::is_template(o)) {
            match Template::compile(obj, engine) {
                Ok(t) => {
                    if let Some((f, l)) = template_at.get(&t.kind) {
                        errors.push(LoadError::new(
                            &obj.file,
                            object_pos(obj),
                            format!(
                                "a second ConstraintTemplate defines kind {} (first at {f}:{l})",
                                t.kind
                            ),
                        ));
                        continue;
                    }
                    template_at.insert(t.kind.clone(), (obj.file.clone(), object_pos(obj).line));
                    by_kind.insert(t.kind.clone(), set.templates.len());
                    set.templates.push(t);
                }
                Err(e) => {
                    // Constraints of a broken template would only repeat its error.
                    if let Some(k) = obj
                        .root
                        .get_path(&["spec", "crd", "spec", "names", "kind"])
                        .and_then(palisade_core::Node::as_str)
                    {
                        template_at.insert(k.to_string(), (obj.file.clone(), object_pos(obj).line));
                    }
                    errors.extend(e);
                }
            }
        }
        let mut seen: HashMap<(String, String), (Arc<str>, u32)> = HashMap::new();
        // ValidatingAdmissionPolicies and bindings; every other object may be a param.
        let others: Vec<Object> = objects
            .iter()
            .filter(|o| !template::is_template(o) && !constraint::is_constraint(o))
            .cloned()
            .collect();
        match VapSet::from_objects(&others) {
            Ok(v) => set.vaps = v,
            Err(e) => errors.extend(e),
        }
        for obj in objects {
            if template::is_template(obj) || vap::is_vap_object(obj) {
                continue;
            }
            if !constraint::is_constraint(obj) {
                set.ignored.push(Ignored {
                    file: obj.file.to_string(),
                    line: object_pos(obj).line,
                    api_version: obj.id.api_version.clone(),
                    kind: obj.id.kind.clone(),
                    name: obj.id.name.clone(),
                });
                continue;
            }
            if template_at.contains_key(&obj.id.kind) && !by_kind.contains_key(&obj.id.kind) {
                continue; // its template failed and was reported
            }
            match constraint::parse(obj, &set.templates, &by_kind) {
                Ok(c) => {
                    let key = (c.kind.clone(), c.name.clone());
                    if let Some((f, l)) = seen.get(&key) {
                        errors.push(LoadError::new(
                            &obj.file,
                            c.pos,
                            format!(
                                "constraint {}/{} is defined twice (first at {f}:{l})",
                                c.kind, c.name
                            ),
                        ));
                        continue;
                    }
                    seen.insert(key, (c.file.clone(), c.pos.line));
                    set.constraints.push(c);
                }
                Err(r) => errors.extend(r.into_errors()),
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            sort_errors(&mut errors);
            Err(errors)
        }
    }

    /// A set of already compiled templates and parsed constraints.
    pub(crate) fn from_parts(templates: Vec<Template>, constraints: Vec<Constraint>) -> PolicySet {
        PolicySet {
            templates,
            constraints,
            ignored: Vec::new(),
            vaps: VapSet::default(),
        }
    }

    /// Adds the ValidatingAdmissionPolicies and bindings among `objects`
    /// (the scanned files, say); the objects of a policy's paramKind are
    /// its params (for the policies of this set and of `objects`). On
    /// error nothing is added.
    pub fn add_vap_objects(&mut self, objects: &[Object]) -> Result<(), Vec<LoadError>> {
        self.vaps.add(objects, false).map_err(|mut e| {
            sort_errors(&mut e);
            e
        })
    }

    /// Warnings found while loading: fields a ValidatingAdmissionPolicy
    /// reads that the kinds it matches do not have (as the API server's
    /// type checker warns), each at its file:line:col.
    pub fn warnings(&self) -> Vec<LoadError> {
        self.vaps.warnings()
    }

    /// Answers ValidatingAdmissionPolicies' `authorizer` checks with
    /// `authorizer` (without one the variable is not set, and a policy that
    /// reads it fails as an expression error).
    pub fn set_authorizer(&mut self, authorizer: Arc<dyn palisade_cel::Authorizer>) {
        self.vaps.authorizer = Some(authorizer);
    }

    /// Whether a ValidatingAdmissionPolicy reads the `authorizer` variable.
    pub fn uses_authorizer(&self) -> bool {
        self.vaps.uses_authorizer()
    }

    /// Whether any ValidatingAdmissionPolicy binding is loaded.
    pub fn has_vaps(&self) -> bool {
        !self.vaps.is_empty()
    }

    /// Whether no constraint is loaded (nothing would ever be reported).
    pub fn is_empty(&self) -> bool {
        self.constraints.is_empty() && self.vaps.is_empty()
    }

    /// The loaded constraints, in load order.
    pub fn constraints(&self) -> Vec<ConstraintInfo> {
        self.constraints
            .iter()
            .map(|c| ConstraintInfo {
                kind: c.kind.clone(),
                name: c.name.clone(),
                action: c.action,
                file: c.file.to_string(),
                line: c.pos.line,
                engine: self
                    .templates
                    .get(c.template)
                    .map_or("Rego", Template::engine_name),
            })
            .collect()
    }

    /// The kinds the loaded templates define.
    pub fn template_kinds(&self) -> Vec<String> {
        self.templates.iter().map(|t| t.kind.clone()).collect()
    }

    /// Objects of the policy files that are neither templates nor constraints.
    pub fn ignored(&self) -> &[Ignored] {
        &self.ignored
    }

    /// Evaluates every Rego template on regorus's interpreter rather than
    /// its VM (RVM), as templates the VM cannot compile always are: for
    /// comparing the two (the results must be equal).
    pub fn use_interpreter(&mut self) {
        for t in &mut self.templates {
            t.without_vm();
        }
    }

    /// Whether a template with a constraint reads `data.inventory` (an
    /// inventory need not be built otherwise).
    pub fn uses_inventory(&self) -> bool {
        self.constraints.iter().any(|c| {
            self.templates
                .get(c.template)
                .is_some_and(|t| t.uses_inventory)
        })
    }

    /// How many Rego templates run on the VM.
    pub fn templates_on_vm(&self) -> usize {
        self.templates.iter().filter(|t| t.runs_on_vm()).count()
    }

    /// Sets the time limit of one evaluation of one constraint (default 10 s);
    /// a template over it fails with an [`EvalError`].
    pub fn set_eval_timeout(&mut self, limit: Duration) {
        for t in &mut self.templates {
            t.set_timeout(limit);
        }
    }

    /// Reviews one object against every matching constraint; the first
    /// constraint that cannot be evaluated is the error.
    pub fn review(
        &self,
        review: &Review,
        inventory: &Inventory,
    ) -> Result<Vec<Violation>, EvalError> {
        let outcome = self.review_all(review, inventory);
        match outcome.errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(outcome.violations),
        }
    }

    /// Reviews one object against every matching constraint, going on past
    /// constraints that fail.
    pub fn review_all(&self, review: &Review, inventory: &Inventory) -> Outcome {
        let mut out = Outcome::default();
        let ns_name = review.object_namespace().to_string();
        let known = (!ns_name.is_empty())
            .then(|| inventory.namespace(&ns_name))
            .flatten();
        let explicit: Option<(Labels, regorus::Value)> = review
            .namespace_object
            .as_ref()
            .map(|n| (labels_of(n), to_rego(n)));
        let (ns_labels, ns_value) = match (&explicit, known) {
            (Some((l, v)), _) => (Some(l), Some(v)),
            (None, Some(k)) => (Some(&k.labels), Some(&k.value)),
            (None, None) => (None, None),
        };
        let ns_info = ns_labels.map(|labels| NamespaceInfo {
            name: &ns_name,
            labels,
        });
        let built;
        let ns_json = match &review.namespace_object {
            Some(n) => Some(n),
            None => match ns_labels {
                Some(labels) => {
                    built = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": ns_name, "labels": labels}});
                    Some(&built)
                }
                None => None,
            },
        };
        let mut review_value: Option<regorus::Value> = None;
        let mut inventory_value: Option<regorus::Value> = None;
        // Constraints of one template with equal parameters see the same
        // input (the review, the parameters, the inventory), so the
        // template's result is reused: (template, parameters, result).
        let mut evaluated: Vec<(usize, &regorus::Value, Evaluation)> = Vec::new();
        let mut activation: Option<palisade_cel::Activation> = None;
        for c in &self.constraints {
            let fail = |kind: EvalErrorKind, message: String| EvalError {
                constraint_kind: c.kind.clone(),
                constraint_name: c.name.clone(),
                kind,
                message,
            };
            match matches(c, review, ns_info) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    out.errors.push(fail(EvalErrorKind::Match, e));
                    continue;
                }
            }
            let Some(t) = self.templates.get(c.template) else {
                continue;
            };
            let violation = |message: String, details: Json| Violation {
                constraint_kind: c.kind.clone(),
                constraint_name: c.name.clone(),
                message,
                details,
                action: c.action,
            };
            if let Code::Cel(code) = &t.code {
                let base = activation.get_or_insert_with(|| {
                    review_activation(&vap::request_info(review), ns_json, None)
                });
                match code.evaluate(base, &c.object) {
                    Ok(messages) => out.violations.extend(
                        messages
                            .into_iter()
                            .map(|m| violation(m, Json::Object(Default::default()))),
                    ),
                    Err(message) => out.errors.push(fail(EvalErrorKind::Cel, message)),
                }
                continue;
            }
            let known = evaluated
                .iter()
                .find(|(tix, params, _)| *tix == c.template && **params == c.parameters)
                .map(|(_, _, result)| result.clone());
            let result = match known {
                Some(result) => result,
                None => {
                    let rv = review_value
                        .get_or_insert_with(|| review.to_value(ns_value))
                        .clone();
                    let mut input = regorus::value::Object::new();
                    input.insert("review".into(), rv);
                    input.insert("parameters".into(), c.parameters.clone());
                    if t.uses_inventory {
                        let inv = inventory_value.get_or_insert_with(|| {
                            if review.operation == "CREATE" {
                                inventory.value_without(&review.object)
                            } else {
                                inventory.value()
                            }
                        });
                        input.insert(INVENTORY_KEY.into(), inv.clone());
                    }
                    let result = t.evaluate(input.into());
                    evaluated.push((c.template, &c.parameters, result.clone()));
                    result
                }
            };
            match result {
                Ok(vs) => out
                    .violations
                    .extend(vs.into_iter().map(|v| violation(v.msg, v.details))),
                Err((kind, message)) => out.errors.push(fail(kind, message)),
            }
        }
        if !self.vaps.is_empty() {
            for d in self.vaps.review(review, ns_labels, ns_json) {
                match d {
                    Decision::Violation(policy, message, action, reason) => {
                        out.violations.push(Violation {
                            constraint_kind: vap::POLICY_KIND.to_string(),
                            constraint_name: policy,
                            message,
                            details: serde_json::json!({ "reason": reason }),
                            action,
                        })
                    }
                    Decision::Annotation(key, value) => {
                        let slot = out.annotations.entry(key).or_default();
                        if !slot.split(", ").any(|v| v == value) {
                            if !slot.is_empty() {
                                slot.push_str(", ");
                            }
                            slot.push_str(&value);
                        }
                    }
                    Decision::Error(policy, message) => out.errors.push(EvalError {
                        constraint_kind: vap::POLICY_KIND.to_string(),
                        constraint_name: policy,
                        kind: EvalErrorKind::Cel,
                        message,
                    }),
                }
            }
        }
        out
    }
}

/// A template's result on one input.
type Evaluation = Result<Vec<RawViolation>, (EvalErrorKind, String)>;

/// Orders errors by file, line and column (a stable sort: errors at one
/// position keep the order they were found in).
fn sort_errors(errors: &mut [LoadError]) {
    errors.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
}

/// Whether the constraint applies to the review: its object or its old
/// object matching is enough, as in Gatekeeper.
fn matches(c: &Constraint, review: &Review, ns: Option<NamespaceInfo<'_>>) -> Result<bool, String> {
    let candidates = [Some(&review.object), review.old_object.as_ref()];
    let mut any = false;
    for obj in candidates.into_iter().flatten().filter(|o| o.is_object()) {
        any = true;
        if c.matcher.matches(obj, &review.namespace, ns)? {
            return Ok(true);
        }
    }
    if any {
        Ok(false)
    } else {
        Err("the review has neither object nor oldObject".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn policy_set_and_inventory_are_send_and_sync() {
        assert_send_sync::<PolicySet>();
        assert_send_sync::<Inventory>();
    }
}
