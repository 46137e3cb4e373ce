//! The policy file (`palisade.yaml`, `apiVersion: palisade.dev/v1alpha1`,
//! `kind: Policy`): one configuration read by `scan` and `serve` alike.
//!
//! This module holds the typed policy; [`crate::policy_file`] reads it from
//! YAML with `file:line` errors.

use std::collections::BTreeMap;

use crate::finding::Severity;
use crate::rule::{PssLevel, PssVersion};

/// `secrets` and its `extraPatterns[]`, defined with the detector they
/// configure.
pub use palisade_secrets::{ExtraPattern, SecretsPolicy};

/// The whole policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The file it was read from, for findings about the policy itself.
    pub file: Option<String>,
    /// Pod Security Standards level.
    pub level: PssLevel,
    /// Pod Security Standards version.
    pub version: PssVersion,
    /// Per-rule settings, by rule id or glob (`pss/*`, `hardening/*`).
    pub rules: Vec<RuleSetting>,
    /// Image rules.
    pub images: ImagePolicy,
    /// Secret-detector tuning.
    pub secrets: SecretsPolicy,
    /// Custom resources checked as workloads (`spec.workloads`).
    pub workloads: Vec<WorkloadDef>,
    /// Exemptions.
    pub exemptions: Vec<Exemption>,
    /// Inline suppressions (`palisade.dev/ignore` annotation) are honoured
    /// only for rules matching these globs. Empty (the default): none.
    pub inline_suppressions: Vec<String>,
    /// The admission threshold (findings at or above deny in `serve`).
    pub admission_threshold: Severity,
    /// How `palisade serve` enforces the policy (modes, exemptions, mutations).
    pub admission: AdmissionPolicy,
    /// Gatekeeper ConstraintTemplates and Constraints: files or directories,
    /// relative to the policy file.
    pub constraint_paths: Vec<String>,
}

impl Policy {
    /// Whether rule `id` is on and its severity, starting from the rule's
    /// own defaults; later `rules` entries win, so a specific rule can
    /// follow a glob.
    pub fn setting(&self, id: &str, enabled: bool, severity: Severity) -> (bool, Severity) {
        let mut out = (enabled, severity);
        for s in &self.rules {
            if glob_match(&s.rule, id) {
                if let Some(e) = s.enabled {
                    out.0 = e;
                }
                if let Some(sev) = s.severity {
                    out.1 = sev;
                }
            }
        }
        out
    }

    /// The `constraints` paths, resolved against the policy file's directory.
    pub fn constraint_paths_resolved(&self) -> Vec<std::path::PathBuf> {
        let base = self.base_dir();
        self.constraint_paths.iter().map(|p| base.join(p)).collect()
    }

    /// A path written in the policy file, relative to the file's directory.
    pub fn relative_path(&self, path: &str) -> std::path::PathBuf {
        self.base_dir().join(path)
    }

    fn base_dir(&self) -> &std::path::Path {
        self.file
            .as_deref()
            .and_then(|f| std::path::Path::new(f).parent())
            .unwrap_or(std::path::Path::new(""))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            file: None,
            level: PssLevel::Restricted,
            version: PssVersion::Latest,
            rules: Vec::new(),
            images: ImagePolicy::default(),
            secrets: SecretsPolicy::default(),
            workloads: Vec::new(),
            exemptions: Vec::new(),
            inline_suppressions: Vec::new(),
            admission_threshold: Severity::High,
            admission: AdmissionPolicy::default(),
            constraint_paths: Vec::new(),
        }
    }
}

/// What the webhook does with a namespace's violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Deny the request.
    #[default]
    Enforce,
    /// Allow it, with warnings shown by kubectl.
    Warn,
    /// Allow it, and record the violations as audit annotations.
    Audit,
}

impl Mode {
    /// The name used in the policy file and the decision log.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Warn => "warn",
            Mode::Audit => "audit",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "enforce" => Ok(Mode::Enforce),
            "warn" => Ok(Mode::Warn),
            "audit" => Ok(Mode::Audit),
            _ => Err(format!("unknown mode {s:?} (enforce, warn or audit)")),
        }
    }
}

/// `admission.modes[]`: the mode of the namespaces matching a selector.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeRule {
    /// Namespace globs (empty: any).
    pub namespaces: Vec<String>,
    /// Labels the namespace must carry (known from `admission.namespaceLabels`
    /// out of cluster); empty: no label condition.
    pub match_labels: BTreeMap<String, String>,
    /// The mode.
    pub mode: Mode,
}

/// `admission.exempt`: requests the webhook admits without evaluation, as
/// the Pod Security Admission configuration's `exemptions`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestExemptions {
    /// Requesting user names (`system:serviceaccount:kube-system:daemon-set-controller`).
    pub usernames: Vec<String>,
    /// Requesting user groups.
    pub groups: Vec<String>,
    /// Namespace globs (`kube-system`).
    pub namespaces: Vec<String>,
    /// Pod `runtimeClassName`s.
    pub runtime_class_names: Vec<String>,
}

/// `admission.mutations`: what `/mutate` may set where the user set nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mutations {
    /// `automountServiceAccountToken: false` on the pod.
    pub automount_service_account_token: bool,
    /// Pod `securityContext.seccompProfile: {type: RuntimeDefault}`.
    pub seccomp_profile: bool,
    /// Container `securityContext.allowPrivilegeEscalation: false`.
    pub allow_privilege_escalation: bool,
    /// Container `securityContext.capabilities.drop: [ALL]`.
    pub drop_all_capabilities: bool,
    /// Container `securityContext.runAsNonRoot: true` where no user is set.
    pub run_as_non_root: bool,
}

impl Mutations {
    /// Whether any mutation is on.
    pub fn any(&self) -> bool {
        self.automount_service_account_token
            || self.seccomp_profile
            || self.allow_privilege_escalation
            || self.drop_all_capabilities
            || self.run_as_non_root
    }
}

/// `admission`: how `palisade serve` applies the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionPolicy {
    /// Mode of namespaces no `modes` entry matches.
    pub default_mode: Mode,
    /// Per-namespace modes; the first match wins.
    pub modes: Vec<ModeRule>,
    /// Requests admitted without evaluation.
    pub exempt: RequestExemptions,
    /// Labels of namespaces, as the cluster has them (out of cluster the
    /// webhook cannot read Namespace objects). `pod-security.kubernetes.io/*`
    /// labels here are honoured as the Pod Security Admission controller
    /// honours them.
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Whether a kind the webhook cannot check is allowed (with a warning).
    pub allow_unknown_kinds: bool,
    /// Mutations `/mutate` applies.
    pub mutations: Mutations,
}

impl Default for AdmissionPolicy {
    fn default() -> Self {
        AdmissionPolicy {
            default_mode: Mode::Enforce,
            modes: Vec::new(),
            exempt: RequestExemptions::default(),
            namespace_labels: BTreeMap::new(),
            allow_unknown_kinds: true,
            mutations: Mutations::default(),
        }
    }
}

/// `rules[]`: turn a rule off or change its severity.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSetting {
    /// Rule id or glob.
    pub rule: String,
    /// `false` turns the rule off.
    pub enabled: Option<bool>,
    /// Severity override.
    pub severity: Option<Severity>,
}

/// `images`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImagePolicy {
    /// Registry or repository globs images must match (`registry.example.com/*`,
    /// `ghcr.io/acme/**`); empty: every registry is trusted.
    pub trusted_registries: Vec<String>,
    /// Whether every image must be pinned by digest (`image/digest-required`,
    /// high, is reported instead of `image/digest`).
    pub require_digest: bool,
    /// cosign signature requirements (`images.verify`), checked against the registry.
    pub verify: Vec<VerifyRule>,
    /// The Sigstore `trusted_root.json` of keyless entries without their
    /// own (`images.trustedRoot`, relative to the policy file).
    pub trusted_root: Option<String>,
    /// Whether `/mutate` pins image tags to the digest they point to now.
    pub mutate_digest: bool,
    /// What a registry failure (unreachable, unauthorized, malformed
    /// content) means for an image a network rule has to check.
    pub failure_policy: FailurePolicy,
    /// Gating on what is inside images (`images.content`; `scan --images`
    /// turns it on with the defaults when the policy does not).
    pub content: Option<ContentPolicy>,
}

/// `images.content`: which results of `palisade image` keep an image out.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentPolicy {
    /// Vulnerabilities at or above this severity are reported at the image
    /// field (`image/vulnerable`); `None`: not gated.
    pub vulnerabilities: Option<crate::finding::Severity>,
    /// Secrets found in the image (layers or config) are reported (`image/secrets`).
    pub secrets: bool,
    /// In the webhook, an image not scanned yet: a warning (`false`) or a
    /// denial (`true`, strict); it is queued for scanning either way.
    pub deny_unscanned: bool,
    /// The vulnerability database (default: the user cache directory),
    /// relative to the policy file.
    pub database: Option<String>,
}

impl Default for ContentPolicy {
    fn default() -> Self {
        ContentPolicy {
            vulnerabilities: Some(crate::finding::Severity::High),
            secrets: true,
            deny_unscanned: false,
            database: None,
        }
    }
}

/// One `images.verify` entry: images matching `images` must carry a cosign
/// signature by one of `keys` or of the `keyless` signers, and the
/// `attestations`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyRule {
    /// Image globs, matched like `trustedRegistries` (`ghcr.io/acme/**`).
    pub images: Vec<String>,
    /// Public keys: inline PEM text, or a PEM file path relative to the policy file.
    pub keys: Vec<String>,
    /// Whether an unsigned image is a finding (`false`: only signatures
    /// present but invalid are reported).
    pub required: bool,
    /// Keyless signers (`keyless`): a signature from any of them is accepted,
    /// as is one by any of `keys`.
    pub keyless: Vec<KeylessSigner>,
    /// Attestations that must all be present and verified (`attestations`).
    pub attestations: Vec<AttestationRule>,
    /// A Sigstore `trusted_root.json` for this entry (`trustedRoot`,
    /// relative to the policy file); else `images.trustedRoot`, else the
    /// Sigstore production root embedded in the binary.
    pub trusted_root: Option<String>,
    /// Line of the entry in the policy file (0 when built in code).
    pub line: u32,
}

/// One `images.verify[].keyless` entry: who may have signed, as the
/// Fulcio certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KeylessSigner {
    /// The OIDC issuer, exactly (`https://token.actions.githubusercontent.com`).
    pub issuer: String,
    /// The subject (SAN), exactly.
    pub subject: Option<String>,
    /// The subject as a regular expression matched whole.
    pub subject_regexp: Option<String>,
    /// GitHub workflow claims from the certificate, each exact:
    /// repository (`owner/name`).
    pub repository: Option<String>,
    /// The git ref (`refs/heads/main`).
    pub git_ref: Option<String>,
    /// The workflow name.
    pub workflow: Option<String>,
    /// The triggering event (`push`).
    pub trigger: Option<String>,
}

/// One `images.verify[].attestations` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AttestationRule {
    /// The in-toto `predicateType`, exactly.
    pub predicate_type: String,
    /// CEL expressions over `predicate` (and `predicateType`, `subject`,
    /// `statement`) that must all be true.
    pub conditions: Vec<String>,
}

/// `images.failurePolicy`, named as in Kubernetes webhook configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailurePolicy {
    /// A registry failure is a high finding (`image/registry-error`): denied in enforce mode.
    #[default]
    Fail,
    /// A registry failure is a low finding: a warning, never a denial.
    Ignore,
}

/// `workloads[]`: a custom resource whose pod spec palisade checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadDef {
    /// `apiVersion` (the group decides; the version is not compared).
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Dotted path from the object root to the pod spec (`spec.template.spec`).
    pub pod_spec_path: String,
}

/// `exemptions[]`: rules that do not apply to matching objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemption {
    /// Rule ids or globs.
    pub rules: Vec<String>,
    /// Namespace globs (empty: any).
    pub namespaces: Vec<String>,
    /// Object name globs (empty: any).
    pub names: Vec<String>,
    /// Kinds (empty: any).
    pub kinds: Vec<String>,
    /// Image globs: the exemption applies to findings about containers
    /// running a matching image (empty: any).
    pub images: Vec<String>,
    /// Why (required).
    pub reason: String,
    /// Who owns the exemption.
    pub owner: Option<String>,
    /// Last day (`YYYY-MM-DD`, inclusive) on which it applies.
    pub expires: Option<Date>,
    /// Where it is written, for findings about it.
    pub line: u32,
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u32,
    /// Day, 1-31.
    pub day: u32,
}

impl Exemption {
    /// Whether the exemption covers `rule` on the object `id` on day
    /// `today`: not expired, and the rule, namespace, name and kind match.
    /// Image matches are the caller's to check (they concern one container).
    pub fn covers(&self, rule: &str, id: &crate::ObjectRef, today: Date) -> bool {
        !(self.expires.is_some_and(|d| d < today)
            || !any_glob(&self.rules, rule)
            || (!self.namespaces.is_empty()
                && !any_glob(&self.namespaces, id.namespace.as_deref().unwrap_or("")))
            || (!self.names.is_empty() && !any_glob(&self.names, &id.name))
            || (!self.kinds.is_empty() && !self.kinds.iter().any(|k| k == &id.kind)))
    }
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.splitn(3, '-');
        let year: i32 = it.next()?.parse().ok()?;
        let month: u32 = it.next()?.parse().ok()?;
        let day: u32 = it.next()?.parse().ok()?;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        (s.len() == 10 && (1..=days_in_month).contains(&day)).then_some(Date { year, month, day })
    }

    /// Today, in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// The date `days` days after 1970-01-01 (Howard Hinnant's civil-from-days).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Glob matching for rule ids, names and image references: `*` matches any
/// run of characters except `/`, `**` matches any run including `/`, `?`
/// matches one character. Written by hand because the crates that exist
/// match file paths (with path semantics such as `.` and separators) and
/// this is a few lines.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') => {
                let deep = p.get(1) == Some(&b'*');
                let rest = if deep { &p[2..] } else { &p[1..] };
                for i in 0..=t.len() {
                    if go(rest, &t[i..]) {
                        return true;
                    }
                    if i < t.len() && !deep && t[i] == b'/' {
                        return false;
                    }
                }
                false
            }
            Some(b'?') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(&c) => t.first() == Some(&c) && go(&p[1..], &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Whether any glob in `patterns` matches `text`.
pub fn any_glob(patterns: &[String], text: &str) -> bool {
    patterns.iter().any(|p| glob_match(p, text))
}

/// ServiceAccounts seen in the whole scan, for rules that look across objects.
#[derive(Debug, Clone, Default)]
pub struct ScanIndex {
    /// `(namespace, name)` → the ServiceAccount's `automountServiceAccountToken`
    /// (`None` when unset). Objects without a namespace are under `""`.
    pub service_accounts: BTreeMap<(String, String), Option<bool>>,
}

impl ScanIndex {
    /// Adds a ServiceAccount. One defined twice (in two files of one scan)
    /// keeps the definition that mounts the token, whatever the order the
    /// files came in: the verdict must not depend on it.
    pub fn add_service_account(&mut self, key: (String, String), automount: Option<bool>) {
        let merged = match self.service_accounts.get(&key) {
            Some(&earlier) if earlier != Some(false) || automount == Some(false) => earlier,
            _ => automount,
        };
        self.service_accounts.insert(key, merged);
    }

    /// Adds everything `other` holds.
    pub fn merge(&mut self, other: ScanIndex) {
        for (key, automount) in other.service_accounts {
            self.add_service_account(key, automount);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_distinguish_star_and_double_star() {
        assert!(glob_match(
            "registry.example.com/*",
            "registry.example.com/app"
        ));
        assert!(!glob_match(
            "registry.example.com/*",
            "registry.example.com/team/app"
        ));
        assert!(glob_match("ghcr.io/acme/**", "ghcr.io/acme/team/app"));
        assert!(glob_match("pss/*", "pss/privileged"));
        assert!(glob_match("kube-?", "kube-a"));
        assert!(!glob_match("pss/*", "image/digest"));
    }

    #[test]
    fn dates_parse_and_compute() {
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2028-02-29").map(|d| d.day), Some(29));
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_779).to_string(), "2026-11-22");
    }
}
