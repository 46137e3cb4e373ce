//! `palisade export vap`: palisade's Pod Security Standards checks (at one
//! level and version) and its image-reference rules, written as
//! ValidatingAdmissionPolicies with their bindings (one pair per place a
//! pod template sits, so each is well typed), so the API server enforces
//! them in-process, without a webhook.
//!
//! Each check is one variable (the list of what breaks it, empty when
//! the pod is fine) and one validation (`size(...) == 0`) whose message
//! starts as the built-in rule's does. The pod is read where palisade's
//! rules read it: a Pod's spec, a workload's pod template (Deployment,
//! ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController,
//! PodTemplate) or a CronJob's job template. Containers are visited in
//! upstream's order: init, regular, ephemeral.
//!
//! [`EXPRESSIBLE`] lists which built-in rules can and cannot be written
//! this way.

use palisade_core::{PssLevel, PssVersion};
use serde_json::{json, Value as Json};

use crate::pss::CHECKS;

mod checks;
mod yaml;

use checks::{check, containers};
use yaml::yaml;

/// What to export.
#[derive(Debug, Clone)]
pub struct VapExport {
    /// The Pod Security Standards level.
    pub level: PssLevel,
    /// Its version.
    pub version: PssVersion,
    /// The binding's `validationActions` (`Deny`, `Warn`, `Audit`).
    pub actions: Vec<String>,
    /// Namespaces the binding leaves out (by `kubernetes.io/metadata.name`).
    pub exclude_namespaces: Vec<String>,
    /// `image/latest-tag`: no image without a tag or with `:latest`.
    pub latest_tag: bool,
    /// `image/digest-required`: every image pinned by digest.
    pub require_digest: bool,
    /// `image/registry`: images only from these registries or repository
    /// prefixes (`registry.example.com`, `ghcr.io/acme/`); empty: any.
    pub trusted_registries: Vec<String>,
}

impl VapExport {
    /// The checks of `level` at `version`, with the image tag rule, denying.
    pub fn new(level: PssLevel, version: PssVersion) -> Self {
        VapExport {
            level,
            version,
            actions: vec!["Deny".into()],
            exclude_namespaces: Vec::new(),
            latest_tag: true,
            require_digest: false,
            trusted_registries: Vec::new(),
        }
    }
}

/// Whether each built-in rule can be exported, and why not.
pub const EXPRESSIBLE: &[(&str, bool, &str)] = &[
    (
        "pss/* (all 19 checks, every version)",
        true,
        "one validation per check, at the level and version exported",
    ),
    ("image/latest-tag", true, "from the image reference's text"),
    ("image/digest-required", true, "with --require-digest"),
    (
        "image/registry",
        true,
        "with --trusted-registry; Docker Hub short names are normalised as palisade does",
    ),
    (
        "image/signature, image/vulnerable, image/content",
        false,
        "need the registry: CEL in the API server cannot fetch",
    ),
    (
        "secrets/* in manifests",
        false,
        "the detectors (entropy, 200+ patterns) are not CEL",
    ),
    (
        "rbac/*, cluster/*, controlplane/*",
        false,
        "need the other objects of the cluster, not one request",
    ),
    (
        "hardening/* (limits, read-only root)",
        true,
        "not exported yet: they warn, and PSS is what admission enforces",
    ),
];

/// Where the pod template sits, per group of kinds: one policy each, so
/// every expression is well typed for the kinds its policy matches (the
/// API server's type checker warns otherwise).
struct Placement {
    /// Suffix of the policy name.
    suffix: &'static str,
    /// (API group, resources).
    rules: &'static [(&'static str, &'static [&'static str])],
    /// Path from `object` to the pod template (empty for a Pod).
    template: &'static str,
}

const PLACEMENTS: [Placement; 4] = [
    Placement {
        suffix: "pods",
        rules: &[("", &["pods"])],
        template: "",
    },
    Placement {
        suffix: "workloads",
        rules: &[
            ("", &["replicationcontrollers"]),
            (
                "apps",
                &["deployments", "replicasets", "statefulsets", "daemonsets"],
            ),
            ("batch", &["jobs"]),
        ],
        template: ".spec.template",
    },
    Placement {
        suffix: "cronjobs",
        rules: &[("batch", &["cronjobs"])],
        template: ".spec.jobTemplate.spec.template",
    },
    Placement {
        suffix: "podtemplates",
        rules: &[("", &["podtemplates"])],
        template: ".template",
    },
];

/// The variables every check reads.
fn base_variables(place: &Placement) -> Vec<(&'static str, String)> {
    let t = place.template;
    let meta = if t.is_empty() {
        "object.metadata".to_string()
    } else {
        format!("has(object{t}.metadata) ? object{t}.metadata : {{}}")
    };
    vec![
        ("spec", format!("object{t}.spec")),
        ("meta", meta),
        (
            "containers",
            "(has(variables.spec.initContainers) ? variables.spec.initContainers : []) + (has(variables.spec.containers) ? variables.spec.containers : []) + (has(variables.spec.ephemeralContainers) ? variables.spec.ephemeralContainers : [])".into(),
        ),
        (
            "podSC",
            "has(variables.spec.securityContext) ? variables.spec.securityContext : {}".into(),
        ),
        (
            "volumes",
            "has(variables.spec.volumes) ? variables.spec.volumes : []".into(),
        ),
        (
            "annotations",
            "has(variables.meta.annotations) ? variables.meta.annotations : {}".into(),
        ),
        (
            "windows",
            "has(variables.spec.os) && has(variables.spec.os.name) && variables.spec.os.name == 'windows'".into(),
        ),
        (
            "userns",
            "has(variables.spec.hostUsers) && variables.spec.hostUsers == false".into(),
        ),
        (
            "hostNetwork",
            "has(variables.spec.hostNetwork) && variables.spec.hostNetwork == true".into(),
        ),
    ]
}

/// The image rules: (variable name, list expression, message prefix).
fn image_checks(opts: &VapExport) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let unpinned = "!c.image.contains('@')";
    if opts.latest_tag {
        out.push((
            "image_latest_tag".into(),
            containers(
                &format!("has(c.image) && {unpinned} && (!c.image.substring(c.image.lastIndexOf('/') + 1).contains(':') || c.image.endsWith(':latest'))"),
                " image has no tag or uses the moving :latest tag",
            ),
            "image/latest-tag".into(),
        ));
    }
    if opts.require_digest {
        out.push((
            "image_digest_required".into(),
            containers(
                &format!("has(c.image) && {unpinned}"),
                " image is not pinned by digest (@sha256:…), which the policy requires",
            ),
            "image/digest-required".into(),
        ));
    }
    if !opts.trusted_registries.is_empty() {
        let patterns: Vec<String> = opts
            .trusted_registries
            .iter()
            .map(|r| {
                format!(
                    "i.name.matches('{}')",
                    glob_regex(&palisade_oci::registry_pattern(r))
                )
            })
            .collect();
        out.push((
            "image_registry".into(),
            format!(
                "variables.image_names.filter(i, !({})).map(i, 'container \"' + i.container + '\" image ' + i.name + ' is not from a trusted registry ({})')",
                patterns.join(" || "),
                opts.trusted_registries.join(", ")
            ),
            "image/registry".into(),
        ));
    }
    out
}

/// The variables that turn each container's image into the normalised
/// `registry/repository` palisade matches trusted registries against
/// (Docker Hub short names expanded, tag and digest dropped), as
/// `{container, name}`.
const IMAGE_NAME_VARIABLES: [(&str, &str); 3] = [
    (
        "image_refs",
        "variables.containers.filter(c, has(c.image)).map(c, {'container': c.name, 'ref': c.image.contains('@') ? c.image.substring(0, c.image.indexOf('@')) : c.image})",
    ),
    (
        "image_repos",
        "variables.image_refs.map(i, {'container': i.container, 'repo': i.ref.substring(i.ref.lastIndexOf('/') + 1).contains(':') ? i.ref.substring(0, i.ref.lastIndexOf('/') + 1 + i.ref.substring(i.ref.lastIndexOf('/') + 1).indexOf(':')) : i.ref})",
    ),
    (
        "image_names",
        "variables.image_repos.map(i, {'container': i.container, 'name': !i.repo.contains('/') ? 'docker.io/library/' + i.repo : (i.repo.split('/')[0].contains('.') || i.repo.split('/')[0].contains(':') || i.repo.split('/')[0] == 'localhost' || i.repo.split('/')[0].matches('[A-Z]')) ? ((i.repo.split('/')[0].lowerAscii() == 'index.docker.io' || i.repo.split('/')[0].lowerAscii() == 'docker.io') ? (i.repo.substring(size(i.repo.split('/')[0]) + 1).contains('/') ? 'docker.io/' : 'docker.io/library/') + i.repo.substring(size(i.repo.split('/')[0]) + 1) : i.repo.split('/')[0].lowerAscii() + i.repo.substring(size(i.repo.split('/')[0]))) : 'docker.io/' + i.repo})",
    ),
];

/// A glob (`*` within a path segment, `**` across, `?` one character) as
/// an anchored regular expression without backslashes.
fn glob_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push_str(".*");
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push('.'),
            c if c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | ':' | '@') => {
                out.push(c)
            }
            // Not in a registry name (the CLI refuses them); never in the output.
            '\'' | '\\' => {}
            c => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
        }
    }
    out.push('$');
    out
}

/// The exported policies' common name prefix (each adds where the pod
/// template sits: `-pods`, `-workloads`, `-cronjobs`, `-podtemplates`).
pub fn policy_name(opts: &VapExport) -> String {
    format!("palisade-pss-{}-{}", opts.level, opts.version)
}

/// The policies and their bindings: one pair per place a pod template
/// sits (Pods, workloads, CronJobs, PodTemplates).
pub fn export(opts: &VapExport) -> Vec<Json> {
    PLACEMENTS
        .iter()
        .flat_map(|p| export_one(opts, p))
        .collect()
}

fn export_one(opts: &VapExport, place: &Placement) -> Vec<Json> {
    let mut variables: Vec<Json> = base_variables(place)
        .into_iter()
        .map(|(name, expression)| json!({"name": name, "expression": expression}))
        .collect();
    let mut validations = Vec::new();
    for c in CHECKS
        .iter()
        .filter(|c| c.applies(opts.level, opts.version))
    {
        let Some((expr, prefix)) = check(c.meta.id, opts.version) else {
            continue;
        };
        let var = c.meta.id.trim_start_matches("pss/").to_string();
        variables.push(json!({"name": var, "expression": expr}));
        validations.push(json!({
            "expression": format!("size(variables.{var}) == 0"),
            "messageExpression": format!("'{prefix}: ' + variables.{var}.join('; ')"),
            "reason": "Forbidden",
        }));
    }
    if !opts.trusted_registries.is_empty() {
        for (name, expression) in IMAGE_NAME_VARIABLES {
            variables.push(json!({"name": name, "expression": expression}));
        }
    }
    for (var, expr, rule) in image_checks(opts) {
        variables.push(json!({"name": var, "expression": expr}));
        validations.push(json!({
            "expression": format!("size(variables.{var}) == 0"),
            "messageExpression": format!("'{rule}: ' + variables.{var}.join('; ')"),
            "reason": "Forbidden",
        }));
    }
    let name = format!("{}-{}", policy_name(opts), place.suffix);
    let rules: Vec<Json> = place
        .rules
        .iter()
        .map(|(group, resources)| {
            json!({"apiGroups": [group], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                "resources": resources})
        })
        .collect();
    let policy = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "palisade"},
            "annotations": {"palisade.dev/level": opts.level.to_string(),
                "palisade.dev/version": opts.version.to_string()}},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": rules},
            "variables": variables,
            "validations": validations,
        }
    });
    let mut binding = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "palisade"}},
        "spec": {"policyName": name, "validationActions": opts.actions},
    });
    if !opts.exclude_namespaces.is_empty() {
        binding["spec"]["matchResources"] = json!({"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn",
                "values": opts.exclude_namespaces}]}});
    }
    vec![policy, binding]
}

/// The policy and binding as a YAML stream.
pub fn export_yaml(opts: &VapExport) -> String {
    let mut out = format!(
        "# palisade export vap --level {} --pss-version {}\n",
        opts.level, opts.version
    );
    for doc in export(opts) {
        out.push_str("---\n");
        yaml(&doc, 0, &mut out);
    }
    out
}
