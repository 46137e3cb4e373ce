//! `spec.admission`: the webhook's threshold, modes, request exemptions,
//! namespace labels and mutations.

use crate::finding::Severity;
use crate::node::{Node, Value};
use crate::policy::{AdmissionPolicy, Mode, ModeRule, Mutations, Policy, RequestExemptions};

use super::{type_name, Decoder};

impl Decoder<'_> {
    pub(super) fn admission(&mut self, a: &Node, p: &mut Policy) {
        let Some(a) = self.map(
            a,
            "spec.admission",
            &[
                "threshold",
                "defaultMode",
                "modes",
                "exempt",
                "namespaceLabels",
                "unknownKinds",
                "mutations",
            ],
        ) else {
            return;
        };
        if let Some(n) = a.get("threshold") {
            if let Some(t) = self.parsed(n, "spec.admission.threshold", |s| s.parse::<Severity>()) {
                p.admission_threshold = t;
            }
        }
        let adm = &mut p.admission;
        if let Some(n) = a.get("defaultMode") {
            if let Some(m) = self.parsed(n, "spec.admission.defaultMode", |s| s.parse::<Mode>()) {
                adm.default_mode = m;
            }
        }
        if let Some(n) = a.get("unknownKinds") {
            if let Some(allow) = self.parsed(n, "spec.admission.unknownKinds", |s| match s {
                "allow" => Ok(true),
                "deny" => Ok(false),
                _ => Err(format!("{s:?} is not allow or deny")),
            }) {
                adm.allow_unknown_kinds = allow;
            }
        }
        if let Some(n) = a.get("modes") {
            self.modes(n, adm);
        }
        if let Some(n) = a.get("exempt") {
            self.exempt(n, adm);
        }
        if let Some(n) = a.get("namespaceLabels") {
            self.namespace_labels(n, adm);
        }
        if let Some(n) = a.get("mutations") {
            self.mutations(n, adm);
        }
    }

    /// `spec.admission.modes`: per-namespace modes, first match wins.
    fn modes(&mut self, n: &Node, adm: &mut AdmissionPolicy) {
        match &n.value {
            Value::Seq(items) => {
                for item in items {
                    let Some(m) = self.map(
                        item,
                        "spec.admission.modes[]",
                        &["namespaces", "matchLabels", "mode"],
                    ) else {
                        continue;
                    };
                    let namespaces = m
                        .get("namespaces")
                        .map(|n| self.strings(n, "spec.admission.modes[].namespaces"))
                        .unwrap_or_default();
                    let match_labels = m
                        .get("matchLabels")
                        .map(|n| self.string_map(n, "spec.admission.modes[].matchLabels"))
                        .unwrap_or_default();
                    let mode = m.get("mode").and_then(|n| {
                        self.parsed(n, "spec.admission.modes[].mode", |s| s.parse::<Mode>())
                    });
                    match mode {
                        Some(mode) => adm.modes.push(ModeRule {
                            namespaces,
                            match_labels,
                            mode,
                        }),
                        None if m.get("mode").is_none() => {
                            self.error(item.pos, "each admission.modes entry needs a mode")
                        }
                        None => {}
                    }
                }
            }
            Value::Null => {}
            _ => self.error(
                n.pos,
                format!("spec.admission.modes must be a list, not {}", type_name(n)),
            ),
        }
    }

    /// `spec.admission.exempt`: requests admitted without evaluation.
    fn exempt(&mut self, n: &Node, adm: &mut AdmissionPolicy) {
        if let Some(e) = self.map(
            n,
            "spec.admission.exempt",
            &["usernames", "groups", "namespaces", "runtimeClassNames"],
        ) {
            let list = |d: &mut Self, k: &str| {
                e.get(k)
                    .map(|n| d.strings(n, &format!("spec.admission.exempt.{k}")))
                    .unwrap_or_default()
            };
            adm.exempt = RequestExemptions {
                usernames: list(self, "usernames"),
                groups: list(self, "groups"),
                namespaces: list(self, "namespaces"),
                runtime_class_names: list(self, "runtimeClassNames"),
            };
        }
    }

    /// `spec.admission.namespaceLabels`: namespaces' labels as the cluster has them.
    fn namespace_labels(&mut self, n: &Node, adm: &mut AdmissionPolicy) {
        match &n.value {
            Value::Map(entries) => {
                for e in entries {
                    let labels = self.string_map(
                        &e.node,
                        &format!("spec.admission.namespaceLabels.{}", e.key),
                    );
                    adm.namespace_labels.insert(e.key.clone(), labels);
                }
            }
            Value::Null => {}
            _ => self.error(
                n.pos,
                format!(
                    "spec.admission.namespaceLabels must map namespace names to labels, not {}",
                    type_name(n)
                ),
            ),
        }
    }

    /// `spec.admission.mutations`: what `/mutate` adds.
    fn mutations(&mut self, n: &Node, adm: &mut AdmissionPolicy) {
        if let Some(m) = self.map(
            n,
            "spec.admission.mutations",
            &[
                "automountServiceAccountToken",
                "seccompProfile",
                "allowPrivilegeEscalation",
                "dropAllCapabilities",
                "runAsNonRoot",
            ],
        ) {
            let flag = |d: &mut Self, k: &str| {
                m.get(k)
                    .and_then(|n| d.boolean(n, &format!("spec.admission.mutations.{k}")))
                    .unwrap_or(false)
            };
            adm.mutations = Mutations {
                automount_service_account_token: flag(self, "automountServiceAccountToken"),
                seccomp_profile: flag(self, "seccompProfile"),
                allow_privilege_escalation: flag(self, "allowPrivilegeEscalation"),
                drop_all_capabilities: flag(self, "dropAllCapabilities"),
                run_as_non_root: flag(self, "runAsNonRoot"),
            };
        }
    }
}
