//! One policy, binding and param evaluated: the activation, the
//! variables, the match conditions and the validations under one budget.

use super::*;

/// `object`, `oldObject`, `request` and `namespaceObject`.
pub(super) fn activation(
    review: &Review,
    ctx: &Request<'_>,
    ns_object: Option<&Json>,
) -> Activation {
    let mut a = Activation::new();
    let (group, version, kind) = &review.kind;
    if ctx.op == "DELETE" {
        a.set("object", CelValue::Null);
    } else {
        a.set_json("object", &review.object);
    }
    a.set_json(
        "oldObject",
        review.old_object.as_ref().unwrap_or(&Json::Null),
    );
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": ctx.resource});
    a.set_json(
        "request",
        &json!({
            "kind": gvk, "requestKind": gvk,
            "resource": gvr, "requestResource": gvr,
            "subResource": "", "requestSubResource": "",
            "name": review.name, "namespace": review.namespace,
            "operation": ctx.op, "userInfo": review.user_info,
            "dryRun": review.dry_run,
        }),
    );
    let ns = if ctx.cluster {
        Json::Null
    } else {
        ns_object.cloned().unwrap_or(Json::Null)
    };
    a.set_json("namespaceObject", &ns);
    a
}

fn describe(e: &CelError) -> String {
    match e {
        CelError::Budget => {
            "validation failed due to running out of cost budget, no further validation rules will be run".into()
        }
        CelError::Runtime(m) => m.clone(),
    }
}

/// One policy, binding and param.
pub(super) fn evaluate(policy: &Policy, b: &Binding, a: &mut Activation, out: &mut Vec<Decision>) {
    let mut budget = Budget::new(palisade_cel::RUNTIME_BUDGET, palisade_cel::PER_CALL_LIMIT);
    let error = |out: &mut Vec<Decision>, what: String| {
        if policy.fail {
            out.push(Decision::Error(policy.name.clone(), what));
        }
    };
    // Variables in order; a failed one is left out and its error given to
    // the expressions that use it.
    let mut vars = std::collections::HashMap::new();
    let mut var_errors: Vec<(String, String)> = Vec::new();
    for v in &policy.variables {
        a.set("variables", vars_value(&vars));
        match v.expr.eval(a, &mut budget) {
            Ok(value) => {
                vars.insert(v.name.clone(), value);
            }
            Err(CelError::Budget) => {
                error(out, describe(&CelError::Budget));
                return;
            }
            Err(e) => var_errors.push((v.name.clone(), describe(&e))),
        }
    }
    a.set("variables", vars_value(&vars));
    let explain = |e: &CelError, src: &str| -> String {
        if let CelError::Runtime(m) = e {
            for (name, err) in &var_errors {
                if m.contains(&format!("No such key: {name}")) {
                    return format!("expression {src:?}: variable {name:?}: {err}");
                }
            }
        }
        format!("expression {src:?}: {}", describe(e))
    };
    for c in &policy.match_conditions {
        match c.expr.eval(a, &mut budget) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => return,
            Ok(other) => {
                error(
                    out,
                    format!(
                        "matchCondition {:?} must return bool, got {other:?}",
                        c.name
                    ),
                );
                return;
            }
            Err(e) => {
                error(
                    out,
                    format!(
                        "matchCondition {:?}: {}",
                        c.name,
                        explain(&e, c.expr.source())
                    ),
                );
                return;
            }
        }
    }
    for v in &policy.validations {
        let src = v.expr.source();
        match v.expr.eval(a, &mut budget) {
            Ok(CelValue::Bool(true)) => {}
            Ok(CelValue::Bool(false)) => {
                let message = message(v, a, &mut budget);
                let text = match b.action {
                    EnforcementAction::Warn => format!(
                        "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{}': {message}",
                        policy.name, b.name
                    ),
                    _ => format!(
                        "ValidatingAdmissionPolicy '{}' with binding '{}' denied request: {message}",
                        policy.name, b.name
                    ),
                };
                out.push(Decision::Violation(policy.name.clone(), text, b.action));
            }
            Ok(other) => error(
                out,
                format!("expression {src:?} must return bool, got {other:?}"),
            ),
            Err(CelError::Budget) => {
                error(out, describe(&CelError::Budget));
                return;
            }
            Err(e) => error(out, explain(&e, src)),
        }
    }
}

fn vars_value(vars: &std::collections::HashMap<String, CelValue>) -> CelValue {
    palisade_cel::map_value(vars.iter().map(|(k, v)| (k.clone(), v.clone())))
}

/// The message of a failed validation: `messageExpression` if it gives a
/// usable string, else `message`, else the expression.
fn message(v: &Validation, a: &Activation, budget: &mut Budget) -> String {
    if let Some(m) = &v.message_expr {
        if let Ok(CelValue::String(s)) = m.eval(a, budget) {
            let t = s.trim();
            if !t.is_empty() && !t.contains('\n') && t.len() <= 5 * 1024 {
                return t.to_string();
            }
        }
    }
    match &v.message {
        Some(m) if !m.is_empty() => m.clone(),
        _ => format!("failed expression: {}", v.expr.source()),
    }
}
