//! `/mutate`: the safe defaults the policy file turns on, as a JSON Patch
//! (RFC 6902) over the pod template of any workload kind. A field the user
//! wrote is never changed, whatever its value; only missing fields are added.
//! Pure: no I/O.
//!
//! Fields Kubernetes forbids on Windows pods (`spec.os.name: windows`:
//! seccomp, capabilities, privilege escalation) are not added to them, and
//! `allowPrivilegeEscalation: false` is not added where the API server would
//! reject it (a privileged container, or one adding `CAP_SYS_ADMIN`).
//! <https://kubernetes.io/docs/concepts/security/pod-security-standards/>

use json_patch::jsonptr::PointerBuf;
use json_patch::{AddOperation, Patch, PatchOperation, ReplaceOperation};
use palisade_core::{ImageUse, Mutations, WorkloadKind};
use serde_json::{json, Map, Value};

/// Replaces every image written with a tag only by the same reference
/// pinned to the digest the registry gave (`nginx:1.27` becomes
/// `nginx:1.27@sha256:...`): what runs is what was verified. An image
/// whose signature did not verify is not pinned (it is denied or warned
/// about by `/validate`; a pin would only hide which tag was refused).
pub fn pin_digests(uses: &[ImageUse], online: &crate::review::Online) -> Vec<PatchOperation> {
    uses.iter()
        .filter_map(|at| {
            let checked = online.get(&at.image)?;
            if !checked.signature_holds() {
                return None;
            }
            let pinned = checked.pinned()?;
            let path = PointerBuf::parse(&at.pointer).ok()?;
            Some(PatchOperation::Replace(ReplaceOperation {
                path,
                value: Value::String(pinned),
            }))
        })
        .collect()
}

/// The patch that applies `m` to `object`, a workload of kind `kind`.
/// Empty when nothing is missing (or the object has no pod spec).
pub fn patch(object: &Value, kind: WorkloadKind, m: &Mutations) -> Patch {
    let mut ops = Vec::new();
    if !m.any() {
        return Patch(ops);
    }
    let mut base: Vec<String> = kind.template_path().iter().map(|s| s.to_string()).collect();
    base.push("spec".into());
    let Some(spec) = walk(object, &base).and_then(Value::as_object) else {
        return Patch(ops);
    };
    let windows = spec
        .get("os")
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str)
        == Some("windows");

    if m.automount_service_account_token && !spec.contains_key("automountServiceAccountToken") {
        ops.push(add(&base, &["automountServiceAccountToken"], json!(false)));
    }
    let pod_sc = spec.get("securityContext").and_then(Value::as_object);
    if m.seccomp_profile && !windows {
        match pod_sc {
            None => ops.push(add(
                &base,
                &["securityContext"],
                json!({"seccompProfile": {"type": "RuntimeDefault"}}),
            )),
            Some(sc) if !sc.contains_key("seccompProfile") => ops.push(add(
                &base,
                &["securityContext", "seccompProfile"],
                json!({"type": "RuntimeDefault"}),
            )),
            Some(_) => {}
        }
    }
    let pod_sets_user =
        pod_sc.is_some_and(|sc| sc.contains_key("runAsUser") || sc.contains_key("runAsNonRoot"));
    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in containers.iter().enumerate() {
            let Some(c) = c.as_object() else { continue };
            let idx = i.to_string();
            let at = [list, idx.as_str()];
            container_ops(&base, &at, c, m, windows, pod_sets_user, &mut ops);
        }
    }
    Patch(ops)
}

/// The additions for one container.
fn container_ops(
    base: &[String],
    at: &[&str; 2],
    c: &Map<String, Value>,
    m: &Mutations,
    windows: bool,
    pod_sets_user: bool,
    ops: &mut Vec<PatchOperation>,
) {
    let sc = c.get("securityContext").and_then(Value::as_object);
    let has = |k: &str| sc.is_some_and(|sc| sc.contains_key(k));
    let privileged = sc
        .and_then(|sc| sc.get("privileged"))
        .and_then(Value::as_bool)
        == Some(true);
    let caps = sc.and_then(|sc| sc.get("capabilities"));
    let adds_sys_admin = caps
        .and_then(|c| c.get("add"))
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|s| s == "SYS_ADMIN" || s == "CAP_SYS_ADMIN")
        });
    // What to add, as (key, value) under the container's securityContext.
    let mut fields: Vec<(&str, Value)> = Vec::new();
    if m.allow_privilege_escalation
        && !windows
        && !privileged
        && !adds_sys_admin
        && !has("allowPrivilegeEscalation")
    {
        fields.push(("allowPrivilegeEscalation", json!(false)));
    }
    if m.run_as_non_root && !pod_sets_user && !has("runAsUser") && !has("runAsNonRoot") {
        fields.push(("runAsNonRoot", json!(true)));
    }
    let mut drop_all = None;
    if m.drop_all_capabilities && !windows {
        match caps.and_then(Value::as_object) {
            None if !has("capabilities") => {
                fields.push(("capabilities", json!({"drop": ["ALL"]})));
            }
            Some(cap) if !cap.contains_key("drop") => drop_all = Some(()),
            _ => {}
        }
    }
    let mut path: Vec<&str> = at.to_vec();
    path.push("securityContext");
    if sc.is_none() {
        if !fields.is_empty() {
            let obj: Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            ops.push(add(base, &path, Value::Object(obj)));
        }
        return;
    }
    for (k, v) in fields {
        let mut p = path.clone();
        p.push(k);
        ops.push(add(base, &p, v));
    }
    if drop_all.is_some() {
        let mut p = path.clone();
        p.extend(["capabilities", "drop"]);
        ops.push(add(base, &p, json!(["ALL"])));
    }
}

fn walk<'v>(v: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k.as_str()))
}

fn add(base: &[String], rel: &[&str], value: Value) -> PatchOperation {
    let path = PointerBuf::from_tokens(base.iter().map(String::as_str).chain(rel.iter().copied()));
    PatchOperation::Add(AddOperation { path, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Mutations {
        Mutations {
            automount_service_account_token: true,
            seccomp_profile: true,
            allow_privilege_escalation: true,
            drop_all_capabilities: true,
            run_as_non_root: true,
        }
    }

    fn apply(mut doc: Value, p: &Patch) -> Value {
        json_patch::patch(&mut doc, p).expect("patch applies");
        doc
    }

    #[test]
    fn bare_pod_gets_every_default() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}});
        let p = patch(&pod, WorkloadKind::Pod, &all());
        let out = apply(pod, &p);
        assert_eq!(out["spec"]["automountServiceAccountToken"], json!(false));
        assert_eq!(
            out["spec"]["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let sc = &out["spec"]["containers"][0]["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], json!(false));
        assert_eq!(sc["runAsNonRoot"], json!(true));
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    }

    #[test]
    fn explicit_fields_are_never_changed() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"automountServiceAccountToken": true,
              "securityContext": {"seccompProfile": {"type": "Unconfined"}},
              "containers": [{"name": "app", "image": "nginx", "securityContext": {
                "allowPrivilegeEscalation": true, "runAsUser": 0,
                "capabilities": {"drop": ["NET_RAW"]}}}]}});
        let p = patch(&pod, WorkloadKind::Pod, &all());
        assert!(p.0.is_empty(), "{p:?}");
    }

    #[test]
    fn deployment_template_is_patched_and_missing_parts_are_added_inside_existing_ones() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"securityContext": {"runAsUser": 1000},
              "containers": [{"name": "a", "image": "x", "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}]}}}});
        let p = patch(&d, WorkloadKind::Template, &all());
        let out = apply(d, &p);
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(spec["securityContext"]["runAsUser"], 1000);
        assert_eq!(
            spec["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let sc = &spec["containers"][0]["securityContext"];
        assert_eq!(sc["capabilities"]["add"], json!(["NET_BIND_SERVICE"]));
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
        // The pod sets a user: runAsNonRoot is not added.
        assert!(sc.get("runAsNonRoot").is_none());
    }

    #[test]
    fn privileged_and_windows_containers_are_left_valid() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x", "securityContext": {"privileged": true}}]}});
        let out = apply(pod.clone(), &patch(&pod, WorkloadKind::Pod, &all()));
        assert!(out["spec"]["containers"][0]["securityContext"]
            .get("allowPrivilegeEscalation")
            .is_none());
        let win = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"os": {"name": "windows"}, "containers": [{"name": "a", "image": "x"}]}});
        let out = apply(win.clone(), &patch(&win, WorkloadKind::Pod, &all()));
        assert!(out["spec"].get("securityContext").is_none());
        assert_eq!(
            out["spec"]["containers"][0]["securityContext"],
            json!({"runAsNonRoot": true})
        );
    }

    #[test]
    fn nothing_on_means_no_patch_and_keys_are_escaped() {
        let pod = json!({"spec": {"containers": [{"name": "a"}]}});
        assert!(patch(&pod, WorkloadKind::Pod, &Mutations::default())
            .0
            .is_empty());
        let cron = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}}});
        let p = patch(&cron, WorkloadKind::CronJob, &all());
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("/spec/jobTemplate/spec/template/spec/automountServiceAccountToken"));
    }
}
