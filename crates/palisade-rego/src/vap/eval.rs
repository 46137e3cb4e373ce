//! One policy, binding and param evaluated under one budget, its
//! outcomes worded as the API server words them.

use super::*;
use crate::cel_program::{run, Outcome};

/// One policy, binding and param.
pub(super) fn evaluate(policy: &Policy, b: &Binding, a: &mut Activation, out: &mut Vec<Decision>) {
    let mut budget =
        palisade_cel::Budget::new(palisade_cel::RUNTIME_BUDGET, palisade_cel::PER_CALL_LIMIT);
    for outcome in run(&policy.program, a, &mut budget) {
        match outcome {
            Outcome::Failed(message, reason) => {
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
                out.push(Decision::Violation(
                    policy.name.clone(),
                    text,
                    b.action,
                    reason,
                ));
            }
            Outcome::Annotation(key, value) => out.push(Decision::Annotation(
                format!("{}/{key}", policy.name),
                value,
            )),
            Outcome::Error(what) => {
                if policy.fail {
                    out.push(Decision::Error(policy.name.clone(), what));
                }
            }
        }
    }
}
