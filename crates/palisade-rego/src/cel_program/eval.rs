//! Evaluating a program: match conditions, lazy variables, validations
//! with their messages, and audit annotations, under one budget.

use super::*;

/// The API server's words for a spent budget.
pub(crate) const OUT_OF_BUDGET: &str =
    "validation failed due to running out of cost budget, no further validation rules will be run";

fn describe(e: &CelError) -> String {
    match e {
        CelError::Budget => OUT_OF_BUDGET.into(),
        CelError::Runtime(m) => m.clone(),
    }
}

/// The variables of one evaluation, computed when first needed.
struct Lazy<'p> {
    program: &'p Program,
    values: Vec<Option<Result<Data, String>>>,
}

impl Lazy<'_> {
    /// Computes `deps` (and what they need). `Err(Some(msg))`: a variable
    /// failed; `Err(None)`: the budget ran out.
    fn ensure(
        &mut self,
        deps: &[usize],
        a: &mut Activation,
        budget: &mut Budget,
    ) -> Result<(), Option<String>> {
        for &d in deps {
            if self.values[d].is_none() {
                let v = &self.program.variables[d];
                let inner = v.expr.deps.clone();
                let result = match self.ensure(&inner, a, budget) {
                    Ok(()) => match v.expr.expr.eval(a, budget) {
                        Ok(value) => Ok(value),
                        Err(CelError::Budget) => return Err(None),
                        Err(e) => Err(describe(&e)),
                    },
                    Err(None) => return Err(None),
                    Err(Some(m)) => Err(m),
                };
                self.values[d] = Some(result);
                self.publish(a);
            }
            if let Some(Err(m)) = &self.values[d] {
                return Err(Some(format!(
                    "variable {:?}: {m}",
                    self.program.variables[d].name
                )));
            }
        }
        Ok(())
    }

    /// Sets `variables` to what is computed.
    fn publish(&self, a: &mut Activation) {
        let map = self
            .values
            .iter()
            .zip(&self.program.variables)
            .filter_map(|(v, n)| match v {
                Some(Ok(value)) => Some((n.name.clone(), value.clone())),
                _ => None,
            });
        a.set("variables", Data::map(map));
    }

    fn eval(
        &mut self,
        c: &Compiled,
        a: &mut Activation,
        budget: &mut Budget,
    ) -> Result<Data, Option<String>> {
        self.ensure(&c.deps, a, budget)?;
        match c.expr.eval(a, budget) {
            Ok(v) => Ok(v),
            Err(CelError::Budget) => Err(None),
            Err(e) => Err(Some(describe(&e))),
        }
    }
}

/// Evaluates `program`: `None` when a match condition is false (nothing
/// applies), else what each validation gave (passes left out). A spent
/// budget ends the evaluation with that error.
pub(crate) fn run(program: &Program, a: &mut Activation, budget: &mut Budget) -> Vec<Outcome> {
    let mut vars = Lazy {
        program,
        values: vec![None; program.variables.len()],
    };
    vars.publish(a);
    let mut out = Vec::new();
    for c in &program.match_conditions {
        match vars.eval(&c.expr, a, budget).map(|d| (d.as_bool(), d)) {
            Ok((Some(true), _)) => {}
            Ok((Some(false), _)) => return out,
            Ok((None, other)) => {
                out.push(Outcome::Error(format!(
                    "matchCondition {:?} must return bool, got {other:?}",
                    c.name
                )));
                return out;
            }
            Err(None) => return vec![Outcome::Error(OUT_OF_BUDGET.into())],
            Err(Some(m)) => {
                out.push(Outcome::Error(format!(
                    "matchCondition {:?}: expression {:?}: {m}",
                    c.name,
                    c.expr.expr.source()
                )));
                return out;
            }
        }
    }
    for v in &program.validations {
        let src = v.expr.expr.source();
        match vars.eval(&v.expr, a, budget).map(|d| (d.as_bool(), d)) {
            Ok((Some(true), _)) => {}
            Ok((Some(false), _)) => match message(v, &mut vars, a, budget) {
                Some(m) => out.push(Outcome::Failed(m, v.reason.clone())),
                None => {
                    out.push(Outcome::Error(OUT_OF_BUDGET.into()));
                    return out;
                }
            },
            Ok((None, other)) => out.push(Outcome::Error(format!(
                "expression {src:?} must return bool, got {other:?}"
            ))),
            Err(None) => {
                out.push(Outcome::Error(OUT_OF_BUDGET.into()));
                return out;
            }
            Err(Some(m)) => out.push(Outcome::Error(format!("expression {src:?}: {m}"))),
        }
    }
    // Audit annotations, under a budget of their own (as in the API server).
    let mut own = Budget::new(palisade_cel::RUNTIME_BUDGET, palisade_cel::PER_CALL_LIMIT);
    for an in &program.annotations {
        let src = an.expr.expr.source();
        match vars.eval(&an.expr, a, &mut own) {
            Ok(d) if d.as_str().is_some() => {
                let v = d.as_str().unwrap_or("");
                if !v.is_empty() {
                    out.push(Outcome::Annotation(an.name.clone(), truncate(v, 10 * 1024)));
                }
            }
            Ok(d) if d == Data::null() => {}
            Ok(other) => out.push(Outcome::Error(format!(
                "auditAnnotation {:?}: valueExpression {src:?} must return a string or null, got {other:?}",
                an.name
            ))),
            Err(None) => out.push(Outcome::Error(OUT_OF_BUDGET.into())),
            Err(Some(m)) => out.push(Outcome::Error(format!(
                "auditAnnotation {:?}: valueExpression {src:?}: {m}",
                an.name
            ))),
        }
    }
    out
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The message of a failed validation: `messageExpression` if it gives a
/// usable string, else `message`, else the expression. `None`: the
/// budget ran out (the only messageExpression error that is not a fallback).
fn message(
    v: &Validation,
    vars: &mut Lazy<'_>,
    a: &mut Activation,
    budget: &mut Budget,
) -> Option<String> {
    if let Some(m) = &v.message_expr {
        match vars.eval(m, a, budget) {
            Ok(d) if d.as_str().is_some() => {
                let t = d.as_str().unwrap_or("").trim();
                if !t.is_empty() && !t.contains('\n') && t.len() <= 5 * 1024 {
                    return Some(t.to_string());
                }
            }
            Err(None) => return None,
            _ => {}
        }
    }
    Some(match &v.message {
        Some(m) if !m.is_empty() => m.clone(),
        _ => format!("failed expression: {}", v.expr.expr.source()),
    })
}
