//! The Pod Security Standards pack: every check of the upstream Pod Security
//! Admission controller, at its versions, with the restricted-level
//! overrides and the Windows and user-namespace relaxations.
//!
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/>
//!
//! Each check lives in its own file and exports a [`PssCheck`]. A check sees
//! the pod through [`Pod`], which visits containers in upstream's order
//! (init, regular, ephemeral) and builds field paths in the object's kind.

use palisade_core::node::Seg;
use palisade_core::{
    Context, Node, PodPart, PodView, PssLevel, PssVersion, Rule, RuleMeta, Target, Violation,
};

mod allow_privilege_escalation;
mod app_armor_profile;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes;
mod privileged;
mod proc_mount;
mod proc_mount_restricted;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux_options;
mod seccomp_baseline;
mod seccomp_restricted;
mod sysctls;
mod windows_host_process;

/// The Pod Security Standards page every PSS rule links to.
pub const PSS_URL: &str = "https://kubernetes.io/docs/concepts/security/pod-security-standards/";

/// The newest policy version known to this build; `latest` evaluates as it.
pub const NEWEST_VERSION: u16 = 37;

/// One Pod Security Admission check.
pub struct PssCheck {
    /// Catalog entry; `meta.level` is the lowest level that enforces it.
    pub meta: RuleMeta,
    /// First policy version (`v1.<since>`) where the check exists.
    pub since: u16,
    /// Baseline checks this (restricted) check replaces at restricted level,
    /// from `since` on.
    pub overrides: &'static [&'static str],
    /// The evaluation; `version` picks the behaviour of that policy version.
    pub eval: fn(pod: &Pod<'_>, version: PssVersion, out: &mut Vec<Violation>),
}

/// Every check, baseline first, in upstream's order within a level.
pub static CHECKS: [&PssCheck; 19] = [
    &app_armor_profile::CHECK,
    &capabilities_baseline::CHECK,
    &host_namespaces::CHECK,
    &host_path_volumes::CHECK,
    &host_ports::CHECK,
    &host_probes::CHECK,
    &privileged::CHECK,
    &proc_mount::CHECK,
    &se_linux_options::CHECK,
    &seccomp_baseline::CHECK,
    &sysctls::CHECK,
    &windows_host_process::CHECK,
    &allow_privilege_escalation::CHECK,
    &capabilities_restricted::CHECK,
    &proc_mount_restricted::CHECK,
    &restricted_volumes::CHECK,
    &run_as_non_root::CHECK,
    &run_as_user::CHECK,
    &seccomp_restricted::CHECK,
];

impl PssCheck {
    fn level(&self) -> PssLevel {
        self.meta.level.unwrap_or(PssLevel::Baseline)
    }

    /// Whether Pod Security Admission runs this check at `level`/`version`.
    pub fn applies(&self, level: PssLevel, version: PssVersion) -> bool {
        if level < self.level() || !version.at_least(self.since) {
            return false;
        }
        let overridden = level == PssLevel::Restricted
            && CHECKS.iter().any(|c| {
                c.overrides.contains(&self.meta.id)
                    && c.level() <= level
                    && version.at_least(c.since)
            });
        !overridden
    }
}

impl Rule for PssCheck {
    fn meta(&self) -> &RuleMeta {
        &self.meta
    }

    fn check(&self, target: &Target<'_>, ctx: &Context, out: &mut Vec<Violation>) {
        let Some(view) = target.pod else { return };
        if !self.applies(ctx.level, ctx.version) {
            return;
        }
        (self.eval)(&Pod { view }, ctx.version, out);
    }
}

/// A container of the pod, with where it sits.
pub struct Container<'a> {
    /// `initContainers`, `containers` or `ephemeralContainers`.
    pub list: &'static str,
    /// Index in that list.
    pub index: usize,
    /// `name` (empty when unset).
    pub name: &'a str,
    /// The container node.
    pub node: &'a Node,
}

impl<'a> Container<'a> {
    /// `securityContext`, when set.
    pub fn security_context(&self) -> Option<&'a Node> {
        self.node.get("securityContext")
    }

    /// A field of `securityContext`.
    pub fn sc(&self, key: &str) -> Option<&'a Node> {
        self.security_context().and_then(|s| s.get(key))
    }

    /// Path of a field below the container, relative to the pod spec.
    pub fn rel(&self, rest: &[&'static str]) -> Vec<Seg> {
        let mut p = vec![Seg::key(self.list), Seg::Index(self.index)];
        p.extend(rest.iter().map(|k| Seg::key(k)));
        p
    }
}

/// The pod as the checks see it.
pub struct Pod<'a> {
    /// The workload's pod-spec view.
    pub view: PodView<'a>,
}

impl<'a> Pod<'a> {
    /// The pod spec.
    pub fn spec(&self) -> &'a Node {
        self.view.spec
    }

    /// A field of the pod `securityContext`.
    pub fn sc(&self, key: &str) -> Option<&'a Node> {
        self.view
            .spec
            .get("securityContext")
            .and_then(|s| s.get(key))
    }

    /// The pod annotations, in source order (string values only).
    pub fn annotations(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.view
            .meta
            .and_then(|m| m.get("annotations"))
            .map(|a| a.entries())
            .unwrap_or_default()
            .iter()
            .filter_map(|e| Some((e.key.as_str(), e.node.as_str()?)))
    }

    /// One annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.view
            .meta
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(key))
            .and_then(Node::as_str)
    }

    /// Every container in upstream's order: init, regular, ephemeral.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> {
        self.view.containers().map(|c| Container {
            list: c.list,
            index: c.index,
            name: c.name().unwrap_or(""),
            node: c.node,
        })
    }

    /// `spec.os.name` is `windows` (Windows pods are exempt from some restricted checks from v1.25).
    pub fn is_windows(&self) -> bool {
        self.view
            .spec
            .get_path(&["os", "name"])
            .and_then(Node::as_str)
            == Some("windows")
    }

    /// `spec.hostUsers: false`: the pod runs in a user namespace.
    pub fn in_user_namespace(&self) -> bool {
        self.view.spec.get("hostUsers").and_then(Node::as_bool) == Some(false)
    }

    /// A violation about a pod-spec field.
    pub fn spec_violation(
        &self,
        rel: Vec<Seg>,
        container: Option<&str>,
        message: String,
    ) -> Violation {
        Violation {
            message,
            container: container.map(str::to_string),
            path: self.view.path(PodPart::Spec, &rel),
        }
    }

    /// A violation about a pod-metadata field (annotations).
    pub fn meta_violation(&self, rel: Vec<Seg>, message: String) -> Violation {
        Violation {
            message,
            container: None,
            path: self.view.path(PodPart::Meta, &rel),
        }
    }

    /// A violation about a field of a container.
    pub fn container_violation(
        &self,
        c: &Container<'_>,
        rest: &[&'static str],
        message: String,
    ) -> Violation {
        self.spec_violation(c.rel(rest), Some(c.name), message)
    }
}

/// Keys of pod-spec paths, for brevity in checks.
pub fn keys(ks: &[&'static str]) -> Vec<Seg> {
    ks.iter().map(|k| Seg::key(k)).collect()
}

#[cfg(test)]
pub(crate) mod testutil {
    use palisade_core::{Context, Engine, Finding, Limits, PssLevel, PssVersion};

    /// Findings of the whole PSS pack for a YAML pod at `level`/`version`.
    pub fn findings(yaml: &str, level: &str, version: &str) -> Vec<Finding> {
        let ctx = Context::new(
            level.parse::<PssLevel>().unwrap(),
            version.parse::<PssVersion>().unwrap(),
        );
        let engine = Engine::new(crate::pss_rules(), ctx, Limits::default());
        let report = engine.scan_bytes("t.yaml", yaml.as_bytes());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report.findings
    }

    /// The rule ids found.
    pub fn ids(yaml: &str, level: &str, version: &str) -> Vec<&'static str> {
        findings(yaml, level, version)
            .iter()
            .map(|f| f.rule)
            .collect()
    }

    /// A pod clean at restricted/latest, with `spec_extra` lines added to the
    /// spec (indented two spaces) and `container_extra` lines to its one
    /// container (indented four spaces; its securityContext is open, at six).
    pub fn pod(spec_extra: &str, container_extra: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  securityContext:\n    runAsNonRoot: true\n    seccompProfile: {{type: RuntimeDefault}}\n{spec_extra}  containers:\n  - name: c\n    image: registry.k8s.io/pause\n    securityContext:\n      allowPrivilegeEscalation: false\n      capabilities: {{drop: [ALL]}}\n{container_extra}"
        )
    }
}
