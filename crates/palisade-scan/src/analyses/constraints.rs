//! Gatekeeper ConstraintTemplates and Constraints (`palisade-rego`): every
//! object is reviewed (an AdmissionReview document with its own request,
//! anything else as a CREATE), with the run's other objects and the extra
//! inventory in `data.inventory`. Violations become findings
//! `rego/<Kind>/<name>` at the object; evaluation errors are input errors.

use palisade_core::{intern_rule_id, Finding, InputError};
use palisade_rego::{Inventory, PolicySet, Review};
use rayon::prelude::*;

use crate::analysis::{Analysis, Needs, Out, Run};

/// Compiled constraints and the extra inventory.
pub struct Constraints {
    set: PolicySet,
    inventory: Inventory,
    from_inputs: bool,
}

impl Constraints {
    /// Reviews with `set`, `inventory` added to the run's own objects.
    pub fn new(set: PolicySet, inventory: Inventory) -> Self {
        Constraints {
            set,
            inventory,
            from_inputs: false,
        }
    }

    /// Also evaluates the ValidatingAdmissionPolicies and bindings found
    /// among the scanned objects (the scanned objects are params of every
    /// policy either way).
    pub fn with_input_policies(mut self) -> Self {
        self.from_inputs = true;
        self
    }
}

fn keep_all(_: &str, _: &str) -> bool {
    true
}

impl Analysis for Constraints {
    fn needs(&self) -> Needs {
        // Every object is reviewed, and every object is inventory.
        Needs {
            select: None,
            objects: Some(keep_all),
            images: false,
        }
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        // The scanned objects are params, and (when asked) their policies run.
        let with_inputs;
        let set = if self.from_inputs || self.set.has_vaps() {
            let mut s = self.set.clone();
            let objects: Vec<palisade_core::Object> = if self.from_inputs {
                run.objects.to_vec()
            } else {
                run.objects
                    .iter()
                    .filter(|o| !palisade_rego::is_vap_object(o))
                    .cloned()
                    .collect()
            };
            let known = self.set.warnings().len();
            if let Err(errors) = s.add_vap_objects(&objects) {
                for e in errors {
                    out.error(InputError {
                        file: e.file.as_str().into(),
                        line: e.line,
                        column: e.column,
                        message: format!("{} (not evaluated)", e.message),
                    });
                }
            }
            for w in s.warnings().into_iter().skip(known) {
                out.note(w.to_string());
            }
            with_inputs = s;
            &with_inputs
        } else {
            &self.set
        };
        // `authorizer` checks are answered from the run's RBAC objects.
        let with_authz;
        let set = if set.uses_authorizer() {
            let input = palisade_rbac::Input {
                objects: std::borrow::Cow::Borrowed(run.objects),
                pods: std::borrow::Cow::Borrowed(run.pods),
            };
            let mut s = set.clone();
            s.set_authorizer(std::sync::Arc::new(super::authorizer::RbacAuthorizer(
                palisade_rbac::analyze(&input),
            )));
            with_authz = s;
            &with_authz
        } else {
            set
        };
        let docs: Vec<serde_json::Value> = run.objects.iter().map(|o| o.root.to_json()).collect();
        let mut inventory = self.inventory.clone();
        // Namespaces always (namespaceSelector reads their labels); the rest
        // only when a template reads `data.inventory`.
        let whole = set.uses_inventory();
        for d in &docs {
            if whole || palisade_rego::is_namespace(d) {
                // Objects without a name (generateName) cannot be inventory entries.
                let _ = inventory.add(d);
            }
        }
        let outcomes: Vec<_> = run
            .objects
            .par_iter()
            .zip(docs.par_iter())
            .map(|(obj, json)| {
                let review = if Review::is_admission_review(json) {
                    Review::parse_admission_review(json)
                } else {
                    Ok(Review::create(json))
                };
                (obj, review.map(|r| set.review_all(&r, &inventory)))
            })
            .collect();
        for (obj, outcome) in outcomes {
            let pos = obj.locate(&[]);
            let error = |message: String| InputError {
                file: obj.file.clone(),
                line: pos.line,
                column: pos.col,
                message,
            };
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    out.error(error(format!("AdmissionReview cannot be reviewed: {e}")));
                    continue;
                }
            };
            for v in outcome.violations {
                out.finding(Finding {
                    rule: intern_rule_id(&v.rule_id()),
                    severity: v.severity(),
                    message: v.message,
                    object: obj.id.clone(),
                    container: None,
                    path: palisade_core::node::render_path(&obj.prefix),
                    file: obj.file.clone(),
                    line: pos.line,
                    column: pos.col,
                    remediation: "Change the object to satisfy the constraint, or exclude it in the constraint's spec.match.",
                });
            }
            for e in outcome.errors {
                out.error(error(format!("{} {:?}: {e}", obj.id.kind, obj.id.name)));
            }
        }
        Ok(())
    }
}
