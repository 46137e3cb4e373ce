//! Findings on roles and objects themselves rather than on what binds
//! them: risky permissions of roles nothing in the input binds (a chart's
//! roles, linted before they are installed), and objects defined twice
//! with different content.

use palisade_core::Severity;

use super::*;

impl Analysis {
    /// The risky capabilities of each role of the input that no binding
    /// of the input grants and no aggregated role takes in: reported on
    /// the role, one severity below the bound form.
    pub(super) fn unbound_role_findings(&self, out: &mut Out) {
        let mut reached: HashSet<u32> = self.m.bindings.iter().filter_map(|b| b.role).collect();
        // Other definitions of a bound role are bound with it.
        let bound: Vec<u32> = reached.iter().copied().collect();
        for ri in bound {
            for &r in self.m.roles.get(ri as usize).map_or(&[][..], |x| &x.extra) {
                if let Some(rule) = self.m.rules.get(r as usize) {
                    reached.insert(rule.role);
                }
            }
        }
        for role in &self.m.roles {
            if let Some(e) = &role.effective {
                for &r in e {
                    if let Some(rule) = self.m.rules.get(r as usize) {
                        if !role.own.contains(&r) {
                            reached.insert(rule.role);
                        }
                    }
                }
            }
        }
        for (ri, role) in self.m.roles.iter().enumerate() {
            let ri = ri as u32;
            let Some(src) = role.source.as_ref().filter(|s| !s.bootstrap) else {
                continue;
            };
            if reached.contains(&ri) {
                continue;
            }
            let Some(me) = self.role_ref_of(ri) else {
                continue;
            };
            let caps = role.caps(role.cluster);
            for cap in caps.iter().filter(|c| *c != Cap::ClusterAdmin) {
                let Some(r) = role.own.clone().find(|&r| {
                    self.m
                        .rules
                        .get(r as usize)
                        .is_some_and(|rule| rule.caps(role.cluster).grants_part(cap))
                }) else {
                    continue;
                };
                let Some(rule) = self.m.rules.get(r as usize) else {
                    continue;
                };
                let summary = self
                    .rule_view(r, ri, !role.cluster)
                    .map(|v| v.summary())
                    .unwrap_or_default();
                let message = format!(
                    "{me} rules[{}] lets whoever it is bound to {} ({summary}); not bound in the input",
                    rule.index,
                    cap.phrase()
                );
                let path = [
                    Seg::key("rules"),
                    Seg::Index(rule.index as usize),
                    Seg::key("verbs"),
                ];
                let pos = rule.verbs_pos;
                let mut f = located(
                    cap.meta(role.cluster),
                    src,
                    &path,
                    pos.line,
                    pos.col,
                    message,
                );
                f.severity = one_below(f.severity);
                out.push(((0, src.ordinal, pos.line, pos.col), f, Trace::Role(ri)));
            }
        }
    }

    /// `input/conflicting-definition`: every definition of an object the
    /// input holds more than once with different content, naming the
    /// others. The analysis used all of them (see [`Model`]), so the
    /// verdict does not depend on which file came first.
    pub(super) fn conflict_findings(&self, out: &mut Out) {
        for defs in &self.m.conflicts {
            for (i, src) in defs.iter().enumerate() {
                let others: Vec<String> = defs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| format!("{}:{}", o.file, o.line))
                    .collect();
                let message = format!(
                    "{} {:?} is also defined at {} with different content; which one the cluster keeps depends on the order they are applied, so palisade analyses them together (the union of their permissions)",
                    src.id.kind,
                    src.id.name,
                    others.join(", ")
                );
                let f = located(&catalog::CONFLICT, src, &[], src.line, 1, message);
                out.push(((0, src.ordinal, src.line, 0), f, Trace::Input));
            }
        }
    }
}

/// The next severity down (`low` stays `low`).
fn one_below(s: Severity) -> Severity {
    match s {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium | Severity::Low => Severity::Low,
        Severity::Info => Severity::Info,
    }
}
