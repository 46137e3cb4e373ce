//! The CEL of each Pod Security Standards check, at a policy version:
//! one list-valued variable per check, mirroring the built-in rule.

use super::*;

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
pub(super) fn containers(cond: &str, what: &str) -> String {
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
pub(super) fn check(id: &str, v: PssVersion) -> Option<(String, &'static str)> {
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
