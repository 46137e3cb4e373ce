//! What an EncryptionConfiguration's file says beyond its content: whether
//! people other than its owner can read it (its keys decrypt every Secret
//! in etcd), and whether the API server's static pod reads this file at
//! all (`--encryption-provider-config`). Both need the scanned files'
//! paths, so this is an analysis, not a rule.

use palisade_core::{Finding, Node, Object, RuleMeta, Severity};

use crate::analysis::{Analysis, Needs, Out, Run};

/// `encryption/config-readable`.
pub static CONFIG_READABLE: RuleMeta = RuleMeta {
    id: "encryption/config-readable",
    title: "EncryptionConfiguration readable by group or others",
    severity: Severity::High,
    level: None,
    rationale: "The aescbc, aesgcm and secretbox keys sit in the EncryptionConfiguration in base64: whoever can read the file decrypts every Secret in etcd and in its backups. Only the API server (root) needs to read it.",
    remediation: "chmod 600 the file and chown it to root:root (as kubeadm does for the files under /etc/kubernetes/pki); better, move to a kms v2 provider so no key sits on the control-plane hosts.",
    references: &[
        "https://kubernetes.io/docs/tasks/administer-cluster/encrypt-data/",
        "CIS Kubernetes Benchmark v1.9 1.1.x (control plane file permissions)",
        "https://www.cisecurity.org/benchmark/kubernetes",
    ],
};

fn kept(_: &str, kind: &str) -> bool {
    kind == "EncryptionConfiguration"
}

/// A Pod that runs kube-apiserver with `--encryption-provider-config`
/// (every other Pod is not kept).
fn selected(o: &Object) -> bool {
    o.id.kind == "Pod" && !apiserver_config_paths(&o.root).is_empty()
}

/// The analysis.
pub struct EncryptionFiles;

impl Analysis for EncryptionFiles {
    fn needs(&self) -> Needs {
        Needs {
            objects: Some(kept),
            select: Some(selected),
            images: false,
        }
    }

    fn run(&self, run: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        let configs: Vec<&Object> = run
            .objects
            .iter()
            .filter(|o| o.id.kind == "EncryptionConfiguration")
            .collect();
        for c in &configs {
            if let Some(mode) = mode_of(&c.file) {
                if mode & 0o077 != 0 {
                    out.finding(Finding {
                        rule: CONFIG_READABLE.id,
                        severity: CONFIG_READABLE.severity,
                        message: format!(
                            "{} has mode {:04o}: group or others can read the keys that decrypt every Secret; chmod 600 it",
                            c.file, mode & 0o7777
                        ),
                        object: c.id.clone(),
                        container: None,
                        path: String::new(),
                        file: c.file.clone(),
                        line: c.root.pos.line,
                        column: c.root.pos.col,
                        remediation: CONFIG_READABLE.remediation,
                    });
                }
            }
        }
        if configs.is_empty() {
            return Ok(());
        }
        for pod in run.objects.iter().filter(|o| o.id.kind == "Pod") {
            for wanted in apiserver_config_paths(&pod.root) {
                let scanned = configs.iter().any(|c| same_file(&c.file, &wanted));
                if !scanned {
                    let names: Vec<&str> = configs.iter().map(|c| &*c.file).collect();
                    out.note(format!(
                        "{}:{}: kube-apiserver reads its EncryptionConfiguration from {wanted}, which is none of the scanned ones ({}): the one checked may not be the one in use",
                        pod.file,
                        pod.root.pos.line,
                        names.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn mode_of(file: &str) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    if file == "-" {
        return None;
    }
    std::fs::metadata(file).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn mode_of(_: &str) -> Option<u32> {
    None
}

/// Whether the scanned `file` is the file at `wanted` (an absolute path on
/// the control-plane host): the same file once both are resolved, or the
/// same path ending (a copy of /etc/kubernetes checked out elsewhere).
fn same_file(file: &str, wanted: &str) -> bool {
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(file), std::fs::canonicalize(wanted)) {
        return a == b;
    }
    fn tail(p: &str) -> Vec<&str> {
        p.rsplit('/').take(2).collect()
    }
    tail(file) == tail(wanted)
}

/// `--encryption-provider-config` of every kube-apiserver container of a
/// Pod (`--flag=value` or `--flag value`, in `command` then `args`; the last
/// one wins, as pflag reads it).
fn apiserver_config_paths(pod: &Node) -> Vec<String> {
    let mut out = Vec::new();
    let containers = pod
        .get_path(&["spec", "containers"])
        .map(Node::items)
        .unwrap_or_default();
    for c in containers {
        let words: Vec<&str> = ["command", "args"]
            .iter()
            .flat_map(|k| c.get(k).map(Node::items).unwrap_or_default())
            .filter_map(Node::as_str)
            .flat_map(str::split_whitespace)
            .collect();
        if !words
            .iter()
            .any(|w| w.rsplit('/').next() == Some("kube-apiserver"))
        {
            continue;
        }
        let mut value = None;
        let mut it = words.iter().peekable();
        while let Some(w) = it.next() {
            if let Some(v) = w.strip_prefix("--encryption-provider-config=") {
                value = Some(v.to_string());
            } else if *w == "--encryption-provider-config" {
                if let Some(v) = it.peek().filter(|v| !v.starts_with('-')) {
                    value = Some(v.to_string());
                }
            }
        }
        out.extend(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_core::loader::{load_str, Limits};

    #[test]
    fn the_apiserver_flag_is_read_in_both_forms_and_the_last_wins() {
        let pod = load_str(
            "spec:\n  containers:\n  - command: [kube-apiserver, --encryption-provider-config=/a.yaml]\n    args: [--encryption-provider-config, /etc/kubernetes/enc.yaml]\n  - command: [etcd, --encryption-provider-config=/x]\n",
            &Limits::default(),
        )
        .documents
        .remove(0)
        .root;
        assert_eq!(apiserver_config_paths(&pod), ["/etc/kubernetes/enc.yaml"]);
    }

    #[test]
    fn a_copy_checked_out_elsewhere_is_the_same_file_by_its_path_ending() {
        assert!(same_file(
            "repo/kubernetes/enc.yaml",
            "/etc/kubernetes/enc.yaml"
        ));
        assert!(!same_file(
            "repo/other/enc.yaml",
            "/etc/kubernetes/enc.yaml"
        ));
    }
}
