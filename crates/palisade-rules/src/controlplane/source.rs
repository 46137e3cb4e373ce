//! Where the control-plane components' settings are read from: the
//! containers that run a component (a static pod manifest such as
//! `/etc/kubernetes/manifests/kube-apiserver.yaml`, or any workload), a
//! kubelet's `KubeletConfiguration` file, and a kubeadm
//! `ClusterConfiguration` ([`super::kubeadm`]). Each becomes an
//! [`Instance`]: one component with the flags it runs with.

use std::borrow::Cow;

use palisade_core::{ContainerRef, Node, PodPart, PodView, Seg, Target, Value, Violation};
use palisade_oci::ImageRef;

use super::flags::{self, basename, is_operator, shell_words, Flag, Flags, Syntax, Word};

/// A control-plane component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// kube-apiserver.
    ApiServer,
    /// kube-controller-manager.
    ControllerManager,
    /// kube-scheduler.
    Scheduler,
    /// etcd.
    Etcd,
    /// kubelet.
    Kubelet,
}

impl Component {
    /// Every component.
    pub const ALL: [Component; 5] = [
        Component::ApiServer,
        Component::ControllerManager,
        Component::Scheduler,
        Component::Etcd,
        Component::Kubelet,
    ];

    /// The program's name.
    pub fn binary(self) -> &'static str {
        match self {
            Component::ApiServer => "kube-apiserver",
            Component::ControllerManager => "kube-controller-manager",
            Component::Scheduler => "kube-scheduler",
            Component::Etcd => "etcd",
            Component::Kubelet => "kubelet",
        }
    }

    /// The component a program (or image repository) name runs.
    pub fn from_program(name: &str) -> Option<Component> {
        Component::ALL.into_iter().find(|c| c.binary() == name)
    }

    /// How it reads its command line.
    pub fn syntax(self) -> Syntax {
        match self {
            Component::Etcd => Syntax::GoFlag,
            _ => Syntax::Pflag,
        }
    }

    /// Its boolean flags (those that never take the next word as value).
    fn bools(self) -> &'static [&'static str] {
        match self {
            Component::ApiServer => &[
                "anonymous-auth",
                "profiling",
                "contention-profiling",
                "allow-privileged",
                "enable-bootstrap-token-auth",
                "enable-aggregator-routing",
                "enable-priority-and-fairness",
                "enable-garbage-collector",
                "enable-logs-handler",
                "kubelet-https",
                "service-account-lookup",
                "service-account-extend-token-expiration",
                "watch-cache",
                "logtostderr",
                "alsologtostderr",
            ],
            Component::ControllerManager | Component::Scheduler => &[
                "profiling",
                "contention-profiling",
                "leader-elect",
                "use-service-account-credentials",
                "allocate-node-cidrs",
                "configure-cloud-routes",
                "enable-garbage-collector",
                "enable-hostpath-provisioner",
                "logtostderr",
                "alsologtostderr",
            ],
            Component::Etcd => &[
                "client-cert-auth",
                "peer-client-cert-auth",
                "auto-tls",
                "peer-auto-tls",
                "enable-pprof",
                "enable-v2",
                "strict-reconfig-check",
                "force-new-cluster",
                "debug",
                "initial-corrupt-check",
                "experimental-initial-corrupt-check",
                "experimental-enable-lease-checkpoint",
                "experimental-enable-distributed-tracing",
            ],
            Component::Kubelet => &[
                "anonymous-auth",
                "authentication-token-webhook",
                "rotate-certificates",
                "rotate-server-certificates",
                "fail-swap-on",
                "register-node",
                "enable-server",
                "enable-debugging-handlers",
                "protect-kernel-defaults",
                "make-iptables-util-chains",
                "logtostderr",
                "alsologtostderr",
            ],
        }
    }
}

/// Where an instance's settings were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A container's command line: an unset flag has the program's default.
    Command,
    /// A kubeadm ClusterConfiguration: kubeadm's flags plus `extraArgs`,
    /// and the program's default for the rest.
    Kubeadm,
    /// A KubeletConfiguration file: an unset field has the file's default
    /// (which differs from the flag's default for authentication,
    /// authorization and the read-only port).
    KubeletFile,
}

/// One component and the settings it runs with.
#[derive(Debug, Clone)]
pub struct Instance<'a> {
    /// Which component.
    pub component: Component,
    /// Where the settings were read.
    pub origin: Origin,
    /// The flags (for a KubeletConfiguration file, its fields under the
    /// names of the flags they stand for, [`KUBELET_FIELDS`]).
    pub flags: Flags,
    /// Where a setting that is not written is reported: the container's
    /// `command` (else `args`, else the container), a ClusterConfiguration
    /// component's `extraArgs`, the KubeletConfiguration's root.
    pub missing_at: Vec<Seg>,
    /// The container, for a command line.
    pub container: Option<&'a str>,
    /// How messages name the instance.
    pub subject: String,
}

impl Instance<'_> {
    /// How messages name the setting that flag `name` stands for.
    pub fn setting(&self, name: &str) -> String {
        if self.origin == Origin::KubeletFile {
            if let Some((_, keys)) = KUBELET_FIELDS.iter().find(|(n, _)| *n == name) {
                return keys.join(".");
            }
        }
        format!("--{name}")
    }

    /// A violation at `flag` (or where a missing setting is reported).
    pub fn violation(&self, flag: Option<&Flag>, message: String) -> Violation {
        Violation {
            message: format!("{}: {message}", self.subject),
            container: self.container.map(str::to_string),
            path: flag.map_or_else(|| self.missing_at.clone(), |f| f.path.clone()),
        }
    }

    /// `--name=value` (or the field and its value) as a message quotes it.
    pub fn written(&self, flag: &Flag) -> String {
        match (&flag.value, self.origin) {
            (None, _) => self.setting(&flag.name),
            (Some(v), Origin::KubeletFile) => format!("{}: {v}", self.setting(&flag.name)),
            (Some(v), _) => format!("--{}={v}", flag.name),
        }
    }
}

/// The KubeletConfiguration fields the rules read, under the flags they
/// stand for.
/// <https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/>
pub const KUBELET_FIELDS: &[(&str, &[&str])] = &[
    (
        "anonymous-auth",
        &["authentication", "anonymous", "enabled"],
    ),
    ("authorization-mode", &["authorization", "mode"]),
    ("read-only-port", &["readOnlyPort"]),
    ("rotate-certificates", &["rotateCertificates"]),
];

/// Every component instance of a target.
pub fn instances<'a>(target: &Target<'a>) -> Vec<Instance<'a>> {
    let mut out = Vec::new();
    if let Some(view) = target.pod {
        for c in view.containers() {
            if let Some(i) = container_instance(&view, &c) {
                out.push(i);
            }
        }
        return out;
    }
    let obj = target.object;
    let group = obj.id.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    match (group, obj.id.kind.as_str()) {
        ("kubelet.config.k8s.io", "KubeletConfiguration") => out.push(kubelet_file(&obj.root)),
        ("kubeadm.k8s.io", "ClusterConfiguration") => {
            super::kubeadm::instances(&obj.root, &mut out)
        }
        _ => {}
    }
    out
}

/// A scalar as the text a command line holds (`8080` for `- 8080`).
fn scalar(n: &Node) -> Option<Cow<'_, str>> {
    match &n.value {
        Value::Str(s) => Some(Cow::Borrowed(s)),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        Value::Int(i) => Some(Cow::Owned(i.to_string())),
        Value::Float(f) => Some(Cow::Owned(f.to_string())),
        _ => None,
    }
}

/// Shells whose `-c` script is read for the component's command line.
const SHELLS: &[&str] = &["sh", "bash", "ash", "dash", "ksh", "zsh"];

/// Words before a program at a shell command position that leave the
/// position open (`exec kube-apiserver`, `env X=1 etcd`).
const PREFIXES: &[&str] = &["exec", "env", "nohup", "command", "time"];

/// The component a container runs and its instance, when it runs one.
fn container_instance<'a>(view: &PodView<'a>, c: &ContainerRef<'a>) -> Option<Instance<'a>> {
    let at = |rest: &[Seg]| {
        let mut rel = vec![Seg::key(c.list), Seg::Index(c.index)];
        rel.extend_from_slice(rest);
        view.path(PodPart::Spec, &rel)
    };
    let list = |key: &'static str| -> Vec<Word<'a>> {
        c.node
            .get(key)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| {
                Some(Word {
                    text: scalar(n)?,
                    path: at(&[Seg::key(key), Seg::Index(i)]),
                })
            })
            .collect()
    };
    let command = list("command");
    let args = list("args");
    let (component, words) = match command.first() {
        Some(first) => command_line(first, &command[1..], &args)?,
        None => {
            let image = c.image().filter(|i| names_a_component(i))?;
            let image = ImageRef::parse_cached(image).ok()?;
            let name = image.name();
            let repo = name.rsplit('/').next().unwrap_or(&name);
            let repo = ["-amd64", "-arm64", "-arm", "-ppc64le", "-s390x"]
                .iter()
                .find_map(|s| repo.strip_suffix(s))
                .unwrap_or(repo);
            (Component::from_program(repo)?, args.clone())
        }
    };
    let mut flags = flags::parse(&words, component.syntax(), component.bools());
    if component == Component::Etcd {
        // A configuration file replaces every flag and variable: its
        // settings cannot be seen here.
        if flags.has("config-file") {
            return None;
        }
        flags = with_etcd_env(c.node, &at, flags);
    }
    let missing_at = if c.node.get("command").is_some() {
        at(&[Seg::key("command")])
    } else if c.node.get("args").is_some() {
        at(&[Seg::key("args")])
    } else {
        at(&[])
    };
    let name = c.name();
    Some(Instance {
        component,
        origin: Origin::Command,
        flags,
        missing_at,
        container: name,
        subject: format!(
            "{} in container {:?}",
            component.binary(),
            name.unwrap_or("")
        ),
    })
}

/// The component and its argument words, from a command whose first
/// element is `first`, followed by `rest` and the container's `args`.
fn command_line<'a>(
    first: &Word<'a>,
    rest: &[Word<'a>],
    args: &[Word<'a>],
) -> Option<(Component, Vec<Word<'a>>)> {
    let program = first.text.trim();
    if program.contains(char::is_whitespace) {
        // A whole command line in one element.
        if !names_a_component(program) {
            return None;
        }
        let (component, mut words) = script_line(first)?;
        words.extend(rest.iter().cloned());
        words.extend(args.iter().cloned());
        return Some((component, words));
    }
    if SHELLS.contains(&basename(program)) {
        // Most shell scripts run something else: skip splitting them.
        if !rest.iter().chain(args).any(|w| names_a_component(&w.text)) {
            return None;
        }
        // sh -c 'exec kube-apiserver --a=b': the script (in `command`, or
        // the first of `args` when `-c` ends the command) is the command
        // line; the words after it are the script's $0, $1, ...
        let dash_c = rest.iter().position(|w| is_dash_c(&w.text))?;
        let script = rest
            .get(dash_c + 1)
            .or_else(|| (dash_c + 1 == rest.len()).then(|| args.first()).flatten())?;
        return script_line(script);
    }
    let mut words: Vec<Word<'a>> = rest.iter().chain(args).cloned().collect();
    let component = match basename(program) {
        "hyperkube" => {
            let sub = words.first()?.text.to_string();
            words.remove(0);
            hyperkube(&sub)?
        }
        p => Component::from_program(p)?,
    };
    Some((component, words))
}

/// Whether `text` mentions a component (or hyperkube) at all: a cheap
/// test before parsing a script or an image reference.
fn names_a_component(text: &str) -> bool {
    text.contains("hyperkube") || Component::ALL.iter().any(|c| text.contains(c.binary()))
}

/// hyperkube's sub-command (`kube-apiserver`, or the old `apiserver`).
fn hyperkube(sub: &str) -> Option<Component> {
    Component::from_program(sub).or_else(|| Component::from_program(&format!("kube-{sub}")))
}

/// `-c`, alone or with other single-letter options (`-ec`).
fn is_dash_c(word: &str) -> bool {
    word.len() > 1
        && word.starts_with('-')
        && !word.starts_with("--")
        && word[1..].chars().all(|c| c.is_ascii_alphabetic())
        && word.contains('c')
}

/// The component a shell command line runs (at a command position) and
/// the words after it, up to the next operator, all at `element`.
fn script_line<'a>(element: &Word<'a>) -> Option<(Component, Vec<Word<'a>>)> {
    let words = shell_words(&element.text);
    let mut at_command = true;
    let mut found = None;
    for (i, w) in words.iter().enumerate() {
        if is_operator(w) {
            at_command = true;
            continue;
        }
        if !at_command {
            continue;
        }
        if PREFIXES.contains(&w.as_str()) || is_assignment(w) {
            continue;
        }
        let program = basename(w);
        let component = match program {
            "hyperkube" => words
                .get(i + 1)
                .and_then(|s| hyperkube(s))
                .map(|c| (c, i + 2)),
            p => Component::from_program(p).map(|c| (c, i + 1)),
        };
        if let Some(c) = component {
            found = Some(c);
            break;
        }
        at_command = false;
    }
    let (component, start) = found?;
    let words = words
        .into_iter()
        .skip(start)
        .take_while(|w| !is_operator(w))
        .map(|w| Word {
            text: Cow::Owned(w),
            path: element.path.clone(),
        })
        .collect();
    Some((component, words))
}

/// `NAME=value` at a command position (an environment assignment).
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(n, _)| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// etcd reads every flag from an `ETCD_<NAME>` variable too, unless the
/// flag is on the command line: the container's literal `env` values come
/// first, so a flag written on the command line wins.
fn with_etcd_env<'a>(container: &'a Node, at: &dyn Fn(&[Seg]) -> Vec<Seg>, flags: Flags) -> Flags {
    let mut out = Flags::default();
    for (i, e) in container
        .get("env")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(name) = e.get("name").and_then(Node::as_str) else {
            continue;
        };
        let Some(flag) = name.strip_prefix("ETCD_") else {
            continue;
        };
        let Some(value) = e.get("value").and_then(scalar) else {
            continue;
        };
        out.push(Flag {
            name: flag.to_ascii_lowercase().replace('_', "-"),
            value: Some(value.into_owned()),
            path: at(&[Seg::key("env"), Seg::Index(i), Seg::key("value")]),
        });
    }
    for f in flags.iter() {
        out.push(f.clone());
    }
    out
}

/// A KubeletConfiguration file, its fields read as the flags they stand for.
fn kubelet_file<'a>(root: &Node) -> Instance<'a> {
    let mut flags = Flags::default();
    for (name, keys) in KUBELET_FIELDS {
        if let Some(value) = root.get_path(keys).and_then(scalar) {
            flags.push(Flag {
                name: (*name).to_string(),
                value: Some(value.into_owned()),
                path: keys.iter().map(|k| Seg::key(k)).collect(),
            });
        }
    }
    Instance {
        component: Component::Kubelet,
        origin: Origin::KubeletFile,
        flags,
        missing_at: Vec::new(),
        container: None,
        subject: "kubelet configuration file (KubeletConfiguration)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use palisade_core::object::{objects_of, Content};
    use palisade_core::{Limits, ScanIndex};

    use super::*;

    /// The instances of the first object of `yaml`: (component, flags as
    /// `name=value`, where a missing flag is reported).
    fn found(yaml: &str) -> Vec<(Component, Vec<String>, String)> {
        let doc = palisade_core::loader::load_str(yaml, &Limits::default())
            .documents
            .remove(0);
        let file: std::sync::Arc<str> = "t.yaml".into();
        let Content::Objects(objs) = objects_of(&file, doc.root) else {
            panic!("not an object")
        };
        let obj = &objs[0];
        let index = ScanIndex::default();
        let target = Target {
            object: obj,
            pod: obj.pod_view().ok(),
            index: &index,
        };
        instances(&target)
            .into_iter()
            .map(|i| {
                let names = i
                    .flags
                    .iter()
                    .map(|f| format!("{}={}", f.name, f.text()))
                    .collect();
                (
                    i.component,
                    names,
                    palisade_core::node::render_path(&i.missing_at),
                )
            })
            .collect()
    }

    fn pod(container: &str) -> String {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n  - name: c\n{container}")
    }

    #[test]
    fn components_are_recognised_by_the_commands_basename_not_the_pod_name() {
        let f = found(&pod(
            "    image: x\n    command: [/usr/local/bin/etcd, --client-cert-auth]\n",
        ));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, Component::Etcd);
        assert_eq!(f[0].1, ["client-cert-auth="]);
        assert_eq!(f[0].2, "spec.containers[0].command");
        assert!(found(&pod("    image: x\n    command: [kube-apiserverx]\n")).is_empty());
        assert!(found(&pod(
            "    image: registry.k8s.io/kube-apiserver:v1.31.0\n    command: [sleep, '3600']\n"
        ))
        .is_empty());
    }

    #[test]
    fn without_a_command_the_image_names_the_component_and_args_are_its_flags() {
        let f = found(&pod("    image: registry.k8s.io/kube-scheduler-amd64:v1.31.0\n    args: [--profiling=false]\n"));
        assert_eq!(f[0].0, Component::Scheduler);
        assert_eq!(f[0].1, ["profiling=false"]);
        assert_eq!(f[0].2, "spec.containers[0].args");
        let f = found(&pod("    image: registry.k8s.io/kube-apiserver@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"));
        assert_eq!(f[0].0, Component::ApiServer);
        assert_eq!(f[0].2, "spec.containers[0]");
        assert!(found(&pod("    image: nginx:1.27\n")).is_empty());
    }

    #[test]
    fn command_flags_come_before_args() {
        let f = found(&pod("    image: x\n    command: [kube-apiserver, --profiling=true]\n    args: [--profiling=false]\n"));
        assert_eq!(f[0].1, ["profiling=true", "profiling=false"]);
    }

    #[test]
    fn sh_c_scripts_and_single_element_command_lines_are_split() {
        let f = found(&pod("    image: x\n    command: [/bin/sh, -ec, 'mkdir -p /x && exec kube-apiserver --anonymous-auth=false --audit-log-path /a; echo']\n"));
        assert_eq!(f[0].0, Component::ApiServer);
        assert_eq!(f[0].1, ["anonymous-auth=false", "audit-log-path=/a"]);
        let f = found(&pod(
            "    image: x\n    command: [sh, -c]\n    args: ['kube-scheduler --profiling=false']\n",
        ));
        assert_eq!(f[0].0, Component::Scheduler);
        let f = found(&pod("    image: x\n    command: ['kube-controller-manager --profiling=false --leader-elect']\n    args: [--bind-address=127.0.0.1]\n"));
        assert_eq!(f[0].0, Component::ControllerManager);
        assert_eq!(
            f[0].1,
            ["profiling=false", "leader-elect=", "bind-address=127.0.0.1"]
        );
        // Not a component at a command position.
        assert!(found(&pod(
            "    image: x\n    command: [sh, -c, 'echo kube-apiserver --a=b']\n"
        ))
        .is_empty());
    }

    #[test]
    fn hyperkube_runs_its_sub_command() {
        let f = found(&pod(
            "    image: x\n    command: [/hyperkube, apiserver, --profiling=false]\n",
        ));
        assert_eq!(f[0].0, Component::ApiServer);
        assert_eq!(f[0].1, ["profiling=false"]);
    }

    #[test]
    fn etcd_reads_env_variables_below_its_flags_and_skips_a_config_file() {
        let f = found(&pod("    image: x\n    command: [etcd, --client-cert-auth=true]\n    env:\n    - {name: ETCD_CLIENT_CERT_AUTH, value: 'false'}\n    - {name: ETCD_CERT_FILE, value: /s.crt}\n    - {name: OTHER, value: x}\n"));
        assert_eq!(
            f[0].1,
            [
                "client-cert-auth=false",
                "cert-file=/s.crt",
                "client-cert-auth=true"
            ]
        );
        assert!(found(&pod(
            "    image: x\n    command: [etcd, --config-file=/etc/etcd.yaml]\n"
        ))
        .is_empty());
    }

    #[test]
    fn a_kubelet_configuration_file_is_read_as_the_flags_its_fields_stand_for() {
        let f = found("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\nauthentication:\n  anonymous: {enabled: true}\n");
        assert_eq!(f[0].0, Component::Kubelet);
        assert_eq!(f[0].1, ["anonymous-auth=true", "read-only-port=10255"]);
    }
}
