//! Writes a generated cluster as YAML for the RBAC benchmark: at scale 1.0,
//! 10,000 namespaces (each with 3 ServiceAccounts and a Role),
//! 50,000 RoleBindings, 2,000 ClusterRoles (some aggregated, some risky),
//! 500 ClusterRoleBindings and 100,000 pods.
//!
//! Usage: `gen_cluster [--scale F] OUT_DIR` writes `OUT_DIR/rbac.yaml` and
//! `OUT_DIR/pods.yaml`. Every count scales with F (rounded, at least one).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

const NAMESPACES: f64 = 10_000.0;
const ROLE_BINDINGS_PER_NS: usize = 5;
const CLUSTER_ROLES: f64 = 2_000.0;
const CLUSTER_ROLE_BINDINGS: f64 = 500.0;
const PODS_PER_NS: usize = 10;

fn main() -> ExitCode {
    let mut scale = 1.0f64;
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--scale" => match args.next().and_then(|s| s.parse().ok()) {
                Some(s) if s > 0.0 => scale = s,
                _ => {
                    eprintln!("gen_cluster: --scale needs a positive number");
                    return ExitCode::from(2);
                }
            },
            _ => out = Some(PathBuf::from(a)),
        }
    }
    let Some(out) = out else {
        eprintln!("usage: gen_cluster [--scale F] OUT_DIR");
        return ExitCode::from(2);
    };
    match write(&out, scale) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_cluster: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn size(n: f64, scale: f64) -> usize {
    ((n * scale).round() as usize).max(1)
}

/// The rules of ClusterRole `cr-k`: mostly harmless reads of custom
/// resources, with a share of risky ones, so findings are realistic.
fn cluster_role(k: usize, out: &mut String) {
    let _ = writeln!(out, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: cr-{k}\n  labels:\n    bench.palisade.dev/aggregate-to: agg-{}", k / 100);
    if k.is_multiple_of(100) {
        let _ = writeln!(out, "aggregationRule:\n  clusterRoleSelectors:\n  - matchLabels:\n      bench.palisade.dev/aggregate-to: agg-{}", k / 100 + 1);
    }
    out.push_str("rules:\n");
    let _ = writeln!(out, "- apiGroups: [g{k}.example.com]\n  resources: [widgets, gadgets, widgets/status]\n  verbs: [get, list, watch]");
    let _ = writeln!(
        out,
        "- apiGroups: [\"\"]\n  resources: [configmaps, services, endpoints]\n  verbs: [get, list]"
    );
    let risky = match k % 20 {
        0 => "- apiGroups: [\"\"]\n  resources: [secrets]\n  verbs: [get, list, watch]",
        1 => "- apiGroups: [\"\", apps]\n  resources: [pods, deployments]\n  verbs: [create, update, patch]",
        2 => "- apiGroups: [\"\"]\n  resources: [pods/exec, pods/attach]\n  verbs: [create]",
        3 => "- apiGroups: [\"\"]\n  resources: [serviceaccounts/token]\n  verbs: [create]",
        4 => "- apiGroups: [rbac.authorization.k8s.io]\n  resources: [clusterroles]\n  verbs: [bind]\n  resourceNames: [view]",
        5 => "- apiGroups: [g.example.com]\n  resources: [\"*\"]\n  verbs: [\"*\"]",
        _ => "- apiGroups: [\"\"]\n  resources: [secrets]\n  resourceNames: [app-config]\n  verbs: [get]",
    };
    out.push_str(risky);
    out.push('\n');
}

fn write(dir: &PathBuf, scale: f64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let namespaces = size(NAMESPACES, scale);
    let cluster_roles = size(CLUSTER_ROLES, scale);
    let crbs = size(CLUSTER_ROLE_BINDINGS, scale);
    let mut rbac = std::io::BufWriter::new(std::fs::File::create(dir.join("rbac.yaml"))?);
    let mut pods = std::io::BufWriter::new(std::fs::File::create(dir.join("pods.yaml"))?);
    let mut buf = String::new();
    for k in 0..cluster_roles {
        cluster_role(k, &mut buf);
    }
    for j in 0..crbs {
        let subject = if j.is_multiple_of(5) {
            format!(
                "{{kind: ServiceAccount, name: ci, namespace: ns-{}}}",
                j * 13 % namespaces
            )
        } else {
            format!("{{kind: Group, name: g-{j}, apiGroup: rbac.authorization.k8s.io}}")
        };
        let _ = writeln!(
            buf,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: crb-{j}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: cr-{}\nsubjects:\n- {subject}",
            (j * 7 + 10) % cluster_roles
        );
    }
    rbac.write_all(buf.as_bytes())?;
    let mut role_bindings = 0;
    for i in 0..namespaces {
        buf.clear();
        let ns = format!("ns-{i}");
        let _ = writeln!(
            buf,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}"
        );
        for sa in ["default", "app", "ci"] {
            let _ = writeln!(buf, "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {sa}\n  namespace: {ns}");
        }
        let _ = writeln!(buf, "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: app\n  namespace: {ns}\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list, watch]\n- apiGroups: [\"\"]\n  resources: [secrets]\n  resourceNames: [app-config]\n  verbs: [get]");
        for r in 0..ROLE_BINDINGS_PER_NS {
            let (kind, role, subject) = match r {
                0 => ("Role", "app".to_string(), "{kind: ServiceAccount, name: app}".to_string()),
                1 => ("ClusterRole", format!("cr-{}", (i * 7 + 3) % cluster_roles), "{kind: ServiceAccount, name: ci}".to_string()),
                2 => ("ClusterRole", "view".to_string(), format!("{{kind: Group, name: team-{}, apiGroup: rbac.authorization.k8s.io}}", i % 500)),
                3 if i.is_multiple_of(10) => ("ClusterRole", "edit".to_string(), format!("{{kind: User, name: user-{i}, apiGroup: rbac.authorization.k8s.io}}")),
                3 => ("ClusterRole", format!("cr-{}", (i * 11 + 7) % cluster_roles), format!("{{kind: Group, name: team-{}, apiGroup: rbac.authorization.k8s.io}}", i % 500)),
                _ if i.is_multiple_of(50) => ("ClusterRole", "view".to_string(), "{kind: ServiceAccount, name: ghost}".to_string()),
                _ if i.is_multiple_of(25) => ("ClusterRole", format!("cr-{}", i % cluster_roles), "{kind: ServiceAccount, name: default}".to_string()),
                _ => ("ClusterRole", format!("cr-{}", (i * 3 + 1) % cluster_roles), format!("{{kind: Group, name: \"system:serviceaccounts:{ns}\", apiGroup: rbac.authorization.k8s.io}}")),
            };
            role_bindings += 1;
            let _ = writeln!(
                buf,
                "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: rb-{r}\n  namespace: {ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {kind}\n  name: {role}\nsubjects:\n- {subject}"
            );
        }
        rbac.write_all(buf.as_bytes())?;
        buf.clear();
        for p in 0..PODS_PER_NS {
            let sa = match p {
                0..=4 => "app",
                5 | 6 => "ci",
                _ => "default",
            };
            let automount = if p == 9 {
                "\n  automountServiceAccountToken: false"
            } else {
                ""
            };
            let _ = writeln!(
                buf,
                "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{p}\n  namespace: {ns}\nspec:\n  serviceAccountName: {sa}{automount}\n  containers:\n  - name: app\n    image: registry.example.com/app:1.{p}"
            );
        }
        pods.write_all(buf.as_bytes())?;
    }
    rbac.flush()?;
    pods.flush()?;
    println!(
        "namespaces={namespaces} rolebindings={role_bindings} clusterroles={cluster_roles} clusterrolebindings={crbs} pods={}",
        namespaces * PODS_PER_NS
    );
    Ok(())
}
