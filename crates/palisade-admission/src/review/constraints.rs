//! One admission request reviewed against the Gatekeeper constraints, as
//! Gatekeeper reviews it (the request, the old object, the namespace).

use super::*;

/// One admission request reviewed against the Gatekeeper constraints.
pub(super) struct ConstraintReview<'a> {
    pub(super) req: &'a AdmissionRequest<DynamicObject>,
    pub(super) json: &'a serde_json::Value,
    pub(super) old: Option<&'a serde_json::Value>,
    pub(super) namespace: &'a str,
    pub(super) labels: Option<&'a BTreeMap<String, String>>,
    pub(super) id: Arc<ObjectRef>,
}

impl ConstraintReview<'_> {
    /// Reviews the request as Gatekeeper would: violations of `deny` and
    /// `warn` constraints become findings (high, medium), `dryrun` ones are
    /// only recorded. An evaluation error is a high finding: the webhook
    /// fails closed rather than admit unchecked.
    pub(super) fn run(
        self,
        set: &palisade_rego::PolicySet,
        findings: &mut Vec<Finding>,
        dryrun: &mut Vec<String>,
        annotations: &mut BTreeMap<String, String>,
    ) {
        let req = self.req;
        let namespace = self.namespace;
        let review = palisade_rego::Review {
            object: self.json.clone(),
            old_object: self.old.cloned(),
            operation: operation_name(&req.operation).to_string(),
            user_info: serde_json::to_value(&req.user_info).unwrap_or_default(),
            kind: (
                req.kind.group.clone(),
                req.kind.version.clone(),
                req.kind.kind.clone(),
            ),
            name: req.name.clone(),
            namespace: namespace.to_string(),
            dry_run: req.dry_run,
            namespace_object: self.labels.map(|labels| {
                serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": namespace, "labels": labels}})
            }),
            extra: serde_json::Map::new(),
        };
        let outcome = set.review_all(&review, &palisade_rego::Inventory::new());
        // A ValidatingAdmissionPolicy's `<policy>/<key>`, as one annotation
        // key (the API server adds the webhook's name before a `/`).
        for (key, value) in &outcome.annotations {
            annotations.insert(key.replace('/', "."), value.clone());
        }
        let id = self.id;
        let file: Arc<str> = ADMISSION_FILE.into();
        let finding = |rule: String, severity: Severity, message: String| Finding {
            rule: palisade_core::intern_rule_id(&rule),
            severity,
            message,
            object: id.clone(),
            container: None,
            path: String::new(),
            file: file.clone(),
            line: 0,
            column: 0,
            remediation: "Change the object to satisfy the constraint.",
        };
        for v in outcome.violations {
            if v.action == palisade_rego::EnforcementAction::Dryrun {
                dryrun.push(v.rule_id());
                continue;
            }
            findings.push(finding(v.rule_id(), v.severity(), v.message));
        }
        for e in outcome.errors {
            findings.push(finding(
                format!("rego/{}/{}", e.constraint_kind, e.constraint_name),
                Severity::High,
                format!("the constraint could not be evaluated: {e}"),
            ));
        }
    }
}
