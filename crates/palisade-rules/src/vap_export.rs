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

/// Allowed sysctls at `v`.
fn sysctls(v: PssVersion) -> Vec<&'static str> {
    let mut out = vec![
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    if v.at_least(27) {
        out.push("net.ipv4.ip_local_reserved_ports");
    }
    if v.at_least(29) {
        out.extend([
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        ]);
    }
    if v.at_least(32) {
        out.extend(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
    }
    if v.at_least(37) {
        out.extend([
            "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_notsent_lowat",
        ]);
    }
    out
}

/// A CEL list literal of strings.
fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

/// `has(c.securityContext) && has(c.securityContext.<f>)`, for a container `c`.
fn sc_has(c: &str, f: &str) -> String {
    format!("has({c}.securityContext) && has({c}.securityContext.{f})")
}

/// The containers breaking `cond`, as `container "name"` plus `what`.
fn containers(cond: &str, what: &str) -> String {
    format!("variables.containers.filter(c, {cond}).map(c, 'container \"' + c.name + '\"{what}')")
}

/// `[]` for Windows pods from `since` on (restricted checks exempt them).
fn unless_windows(v: PssVersion, since: u16, expr: String) -> String {
    if v.at_least(since) {
        format!("variables.windows ? [] : ({expr})")
    } else {
        expr
    }
}

/// `[]` for pods in a user namespace (`hostUsers: false`) from v1.35.
fn unless_userns(v: PssVersion, expr: String) -> String {
    if v.at_least(35) {
        format!("variables.userns ? [] : ({expr})")
    } else {
        expr
    }
}

const PROFILE_TYPES: &str = "['RuntimeDefault', 'Localhost']";

/// The variable of one check (a list of what breaks it) and its message prefix.
fn check(id: &str, v: PssVersion) -> Option<(String, &'static str)> {
    let pod_sc = "variables.podSC";
    let cel = match id {
        "pss/privileged" => (
            containers(
                &format!("{} && c.securityContext.privileged == true", sc_has("c", "privileged")),
                " must not set securityContext.privileged=true",
            ),
            "privileged",
        ),
        "pss/hostNamespaces" => (
            "['hostNetwork', 'hostPID', 'hostIPC'].filter(f, f in variables.spec && variables.spec[f] == true).map(f, f + '=true')".into(),
            "host namespaces",
        ),
        "pss/hostPathVolumes" => (
            "variables.volumes.filter(v, has(v.hostPath)).map(v, 'volume \"' + v.name + '\" uses hostPath')".into(),
            "hostPath volumes",
        ),
        "pss/hostPorts" => (
            containers(
                "has(c.ports) && c.ports.exists(p, (has(p.hostPort) && p.hostPort != 0) || (variables.hostNetwork && (!has(p.hostPort) || p.hostPort == 0) && has(p.containerPort) && p.containerPort != 0))",
                " uses a hostPort",
            ),
            "hostPort",
        ),
        "pss/hostProbesAndHostLifecycle" => (
            containers(
                "[has(c.livenessProbe) ? c.livenessProbe : {}, has(c.readinessProbe) ? c.readinessProbe : {}, has(c.startupProbe) ? c.startupProbe : {}, has(c.lifecycle) && has(c.lifecycle.postStart) ? c.lifecycle.postStart : {}, has(c.lifecycle) && has(c.lifecycle.preStop) ? c.lifecycle.preStop : {}].exists(h, (has(h.httpGet) && has(h.httpGet.host) && h.httpGet.host != '') || (has(h.tcpSocket) && has(h.tcpSocket.host) && h.tcpSocket.host != ''))",
                " sets a host in a probe or lifecycle handler",
            ),
            "probe or lifecycle host",
        ),
        "pss/appArmorProfile" => (
            format!(
                "(has({pod_sc}.appArmorProfile) && !(has({pod_sc}.appArmorProfile.type) && {pod_sc}.appArmorProfile.type in {PROFILE_TYPES}) ? ['pod must not set securityContext.appArmorProfile.type'] : []) + {} + variables.annotations.filter(k, k.startsWith('container.apparmor.security.beta.kubernetes.io/') && !(variables.annotations[k] == '' || variables.annotations[k] == 'runtime/default' || variables.annotations[k].startsWith('localhost/'))).map(k, 'annotation ' + k + '=\"' + variables.annotations[k] + '\"')",
                containers(
                    &format!("{} && !(has(c.securityContext.appArmorProfile.type) && c.securityContext.appArmorProfile.type in {PROFILE_TYPES})", sc_has("c", "appArmorProfile")),
                    " must not set securityContext.appArmorProfile.type",
                ),
            ),
            "forbidden AppArmor profile",
        ),
        "pss/capabilities_baseline" => {
            let allowed = list(&[
                "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
            ]);
            (
                format!(
                    "variables.containers.filter(c, {} && has(c.securityContext.capabilities.add) && c.securityContext.capabilities.add.exists(a, !(a in {allowed}))).map(c, 'container \"' + c.name + '\" must not include ' + c.securityContext.capabilities.add.filter(a, !(a in {allowed})).map(a, '\"' + string(a) + '\"').join(', ') + ' in securityContext.capabilities.add')",
                    sc_has("c", "capabilities")
                ),
                "non-default capabilities",
            )
        }
        "pss/procMount" => (
            unless_userns(v, proc_mount()),
            "procMount",
        ),
        "pss/procMount_restricted" => (proc_mount(), "procMount"),
        "pss/seLinuxOptions" => {
            let mut types = vec!["", "container_t", "container_init_t", "container_kvm_t"];
            if v.at_least(31) {
                types.push("container_engine_t");
            }
            let bad = |o: &str| {
                format!(
                    "((has({o}.type) && !({o}.type in {})) || (has({o}.user) && {o}.user != '') || (has({o}.role) && {o}.role != ''))",
                    list(&types)
                )
            };
            (
                format!(
                    "(has({pod_sc}.seLinuxOptions) && {} ? ['pod must not set forbidden securityContext.seLinuxOptions'] : []) + {}",
                    bad(&format!("{pod_sc}.seLinuxOptions")),
                    containers(
                        &format!("{} && {}", sc_has("c", "seLinuxOptions"), bad("c.securityContext.seLinuxOptions")),
                        " must not set forbidden securityContext.seLinuxOptions",
                    )
                ),
                "seLinuxOptions",
            )
        }
        "pss/seccompProfile_baseline" if !v.at_least(19) => (
            "(('seccomp.security.alpha.kubernetes.io/pod' in variables.annotations) && !(variables.annotations['seccomp.security.alpha.kubernetes.io/pod'] in ['runtime/default', 'docker/default'] || variables.annotations['seccomp.security.alpha.kubernetes.io/pod'].startsWith('localhost/')) ? ['forbidden annotation seccomp.security.alpha.kubernetes.io/pod'] : []) + variables.containers.filter(c, ('container.seccomp.security.alpha.kubernetes.io/' + c.name) in variables.annotations && !(variables.annotations['container.seccomp.security.alpha.kubernetes.io/' + c.name] in ['runtime/default', 'docker/default'] || variables.annotations['container.seccomp.security.alpha.kubernetes.io/' + c.name].startsWith('localhost/'))).map(c, 'forbidden annotation container.seccomp.security.alpha.kubernetes.io/' + c.name)".into(),
            "seccompProfile",
        ),
        "pss/seccompProfile_baseline" => (
            format!(
                "(has({pod_sc}.seccompProfile) && !(has({pod_sc}.seccompProfile.type) && {pod_sc}.seccompProfile.type in {PROFILE_TYPES}) ? ['pod must not set securityContext.seccompProfile.type to a forbidden value'] : []) + {}",
                containers(
                    &format!("{} && !(has(c.securityContext.seccompProfile.type) && c.securityContext.seccompProfile.type in {PROFILE_TYPES})", sc_has("c", "seccompProfile")),
                    " must not set securityContext.seccompProfile.type to a forbidden value",
                )
            ),
            "seccompProfile",
        ),
        "pss/sysctls" => (
            format!(
                "has({pod_sc}.sysctls) ? {pod_sc}.sysctls.filter(s, !((has(s.name) ? s.name : '') in {})).map(s, '\"' + (has(s.name) ? s.name : '') + '\"') : []",
                list(&sysctls(v))
            ),
            "forbidden sysctls",
        ),
        "pss/windowsHostProcess" => (
            format!(
                "(has({pod_sc}.windowsOptions) && has({pod_sc}.windowsOptions.hostProcess) && {pod_sc}.windowsOptions.hostProcess == true ? ['pod must not set securityContext.windowsOptions.hostProcess=true'] : []) + {}",
                containers(
                    &format!("{} && has(c.securityContext.windowsOptions.hostProcess) && c.securityContext.windowsOptions.hostProcess == true", sc_has("c", "windowsOptions")),
                    " must not set securityContext.windowsOptions.hostProcess=true",
                )
            ),
            "hostProcess",
        ),
        "pss/allowPrivilegeEscalation" => (
            unless_windows(
                v,
                25,
                containers(
                    &format!("!({} && c.securityContext.allowPrivilegeEscalation == false)", sc_has("c", "allowPrivilegeEscalation")),
                    " must set securityContext.allowPrivilegeEscalation=false",
                ),
            ),
            "allowPrivilegeEscalation != false",
        ),
        "pss/capabilities_restricted" => (
            unless_windows(
                v,
                25,
                format!(
                    "{} + {}",
                    containers(
                        &format!("!({} && has(c.securityContext.capabilities.drop) && 'ALL' in c.securityContext.capabilities.drop)", sc_has("c", "capabilities")),
                        " must set securityContext.capabilities.drop=[\"ALL\"]",
                    ),
                    containers(
                        &format!("{} && has(c.securityContext.capabilities.add) && c.securityContext.capabilities.add.exists(a, a != 'NET_BIND_SERVICE')", sc_has("c", "capabilities")),
                        " must not add capabilities other than NET_BIND_SERVICE",
                    )
                ),
            ),
            "unrestricted capabilities",
        ),
        "pss/restrictedVolumes" => {
            let allowed = list(&[
                "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                "persistentVolumeClaim", "projected", "secret", "image",
            ]);
            let restricted = list(&[
                "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs",
                "iscsi", "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc",
                "azureFile", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
                "portworxVolume", "scaleIO", "storageos",
            ]);
            (
                format!(
                    "variables.volumes.filter(v, !{allowed}.exists(k, k in v) && {restricted}.exists(k, k in v)).map(v, 'volume \"' + v.name + '\" uses restricted volume type \"' + {restricted}.filter(k, k in v)[0] + '\"')"
                ),
                "restricted volume types",
            )
        }
        "pss/runAsNonRoot" => (
            unless_userns(
                v,
                format!(
                    "(has({pod_sc}.runAsNonRoot) && {pod_sc}.runAsNonRoot == false ? ['pod must not set securityContext.runAsNonRoot=false'] : []) + {}",
                    containers(
                        &format!("{} ? c.securityContext.runAsNonRoot == false : !(has({pod_sc}.runAsNonRoot) && {pod_sc}.runAsNonRoot == true)", sc_has("c", "runAsNonRoot")),
                        " must set securityContext.runAsNonRoot=true (or the pod must)",
                    )
                ),
            ),
            "runAsNonRoot != true",
        ),
        "pss/runAsUser" => (
            unless_userns(
                v,
                format!(
                    "(has({pod_sc}.runAsUser) && {pod_sc}.runAsUser == 0 ? ['pod must not set runAsUser=0'] : []) + {}",
                    containers(
                        &format!("{} && c.securityContext.runAsUser == 0", sc_has("c", "runAsUser")),
                        " must not set runAsUser=0",
                    )
                ),
            ),
            "runAsUser=0",
        ),
        "pss/seccompProfile_restricted" => (
            unless_windows(
                v,
                25,
                format!(
                    "(has({pod_sc}.seccompProfile) && !(has({pod_sc}.seccompProfile.type) && {pod_sc}.seccompProfile.type in {PROFILE_TYPES}) ? ['pod must not set securityContext.seccompProfile.type to a forbidden value'] : []) + {}",
                    containers(
                        &format!("{} ? !(has(c.securityContext.seccompProfile.type) && c.securityContext.seccompProfile.type in {PROFILE_TYPES}) : !(has({pod_sc}.seccompProfile) && has({pod_sc}.seccompProfile.type) && {pod_sc}.seccompProfile.type in {PROFILE_TYPES})", sc_has("c", "seccompProfile")),
                        " must set securityContext.seccompProfile.type to RuntimeDefault or Localhost (or the pod must)",
                    )
                ),
            ),
            "seccompProfile",
        ),
        _ => return None,
    };
    Some(cel)
}

fn proc_mount() -> String {
    containers(
        &format!(
            "{} && c.securityContext.procMount != 'Default'",
            sc_has("c", "procMount")
        ),
        " must not set securityContext.procMount to a value other than Default",
    )
}

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

/// A key written plain, or quoted when YAML could read it otherwise.
fn yaml_key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'))
        && !matches!(
            k,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
        && !k.starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if plain {
        k.to_string()
    } else {
        Json::String(k.to_string()).to_string()
    }
}

/// Block-style YAML for `v` (a mapping or sequence) at `indent`; scalars
/// are JSON, which YAML reads unchanged (strings double-quoted).
fn yaml(v: &Json, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Json::Object(m) => {
            for (k, val) in m {
                out.push_str(&format!("{pad}{}:", yaml_key(k)));
                nested(val, indent + 2, out);
            }
        }
        Json::Array(items) => {
            for item in items {
                out.push_str(&format!("{pad}-"));
                match item {
                    Json::Object(m) if !m.is_empty() => {
                        // The first key on the dash's line, the rest below it.
                        let mut first = true;
                        for (k, val) in m {
                            if first {
                                out.push_str(&format!(" {}:", yaml_key(k)));
                                first = false;
                            } else {
                                out.push_str(&format!("{pad}  {}:", yaml_key(k)));
                            }
                            nested(val, indent + 4, out);
                        }
                    }
                    other => nested(other, indent + 2, out),
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{scalar}\n")),
    }
}

/// The value after `key:` or `-`: inline when scalar or empty, else below.
fn nested(v: &Json, indent: usize, out: &mut String) {
    match v {
        Json::Object(m) if !m.is_empty() => {
            out.push('\n');
            yaml(v, indent, out);
        }
        Json::Array(a) if !a.is_empty() => {
            out.push('\n');
            yaml(v, indent, out);
        }
        Json::Object(_) => out.push_str(" {}\n"),
        Json::Array(_) => out.push_str(" []\n"),
        scalar => out.push_str(&format!(" {scalar}\n")),
    }
}
