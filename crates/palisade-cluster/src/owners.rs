//! Controllers and the pods they own: a Deployment's pods are reported
//! once, at the Deployment, with the number of pods running it.
//!
//! The source records every object's controller (`ownerReferences` with
//! `controller: true`) as it lists them: Pods first, then ReplicaSets and
//! Jobs, then their owners. [`Folding`] sits in front of the report
//! writer: a finding about an owned object (a Pod of a ReplicaSet of a
//! Deployment) is folded into its top controller. When the controller's
//! own template gives the same finding, the pods add nothing but their
//! count; when it does not (a sidecar injected at admission, an image tag
//! that resolved to a digest only the pods show), the finding is reported
//! once at the controller, with how many of its pods have it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::io;
use std::sync::{Arc, Mutex};

use palisade_core::object::WorkloadKind;
use palisade_core::{Finding, ObjectRef, ScanReport, Severity, Summary};
use palisade_report::ReportWriter;

/// `group/Kind/namespace/name`: the group tells an OpenKruise StatefulSet
/// from an apps one of the same name.
type Key = String;

fn key(api_version: &str, kind: &str, namespace: &str, name: &str) -> Key {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    format!("{group}/{kind}/{namespace}/{name}")
}

fn key_of(id: &ObjectRef) -> Key {
    key(
        &id.api_version,
        &id.kind,
        id.namespace.as_deref().unwrap_or(""),
        &id.name,
    )
}

/// What is known of the cluster's controllers.
#[derive(Debug, Default)]
pub struct Owners {
    /// Object → its controller, in the same namespace.
    owner: HashMap<Key, Key>,
    /// Objects that hold pods, as listed: their identity and location.
    listed: HashMap<Key, (Arc<ObjectRef>, Arc<str>)>,
    /// Controller → objects it owns.
    children: HashMap<Key, Vec<Key>>,
    /// Pods owned directly by each object, as listed.
    pods: HashMap<Key, u32>,
    /// Pods each controller runs, as its status reports them.
    running: HashMap<Key, u32>,
}

impl Owners {
    /// Records an object that was listed, with its controller's
    /// `apiVersion`, kind and name.
    pub fn record(
        &mut self,
        id: &Arc<ObjectRef>,
        file: &Arc<str>,
        running: Option<u32>,
        controller: Option<(&str, &str, &str)>,
    ) {
        let ns = id.namespace.as_deref().unwrap_or("");
        let me = key_of(id);
        if let Some(n) = running {
            self.running.insert(me.clone(), n);
        }
        if let Some((api_version, kind, name)) = controller {
            let parent = key(api_version, kind, ns, name);
            if id.kind == "Pod" {
                *self.pods.entry(parent.clone()).or_default() += 1;
            }
            self.children
                .entry(parent.clone())
                .or_default()
                .push(me.clone());
            self.owner.insert(me.clone(), parent);
        }
        self.listed.insert(me, (id.clone(), file.clone()));
    }

    /// The top controller of `k` that was listed (itself when it has none).
    fn root(&self, k: &Key) -> Key {
        let mut at = k.clone();
        // Owner chains are short (Pod → ReplicaSet → Deployment); a cycle
        // in hostile data stops here.
        for _ in 0..8 {
            match self.owner.get(&at) {
                Some(parent) if self.listed.contains_key(parent) => at = parent.clone(),
                _ => break,
            }
        }
        at
    }

    /// Pods running under `k`: as its status reports them, else those
    /// listed under it.
    pub fn pod_count(&self, k: &Key) -> u32 {
        if let Some(n) = self.running.get(k) {
            return *n;
        }
        self.listed_pods(k)
    }

    /// Pods listed under `k`, through the objects it owns.
    fn listed_pods(&self, k: &Key) -> u32 {
        let mut n = 0;
        let mut stack = vec![(k.clone(), 0)];
        let mut seen = HashSet::new();
        while let Some((at, depth)) = stack.pop() {
            if depth > 8 || !seen.insert(at.clone()) {
                continue;
            }
            n += self.pods.get(&at).copied().unwrap_or(0);
            for c in self.children.get(&at).into_iter().flatten() {
                stack.push((c.clone(), depth + 1));
            }
        }
        n
    }
}

/// The owners, shared by the source (which fills them) and the writer.
pub type SharedOwners = Arc<Mutex<Owners>>;

/// A finding of owned objects that their top controller's template does
/// not give, held (once per controller) until the end of the run, when
/// the number of pods that gave it is known.
struct Folded {
    finding: Finding,
    /// The top controller.
    owner: Key,
    /// Pods that gave it.
    pods: u32,
}

/// Folds findings of owned objects into their top controller (see the
/// module documentation), then passes everything on to `inner`.
pub struct Folding<'w> {
    inner: Box<dyn ReportWriter + 'w>,
    owners: SharedOwners,
    /// Fold keys of the findings top-level objects gave themselves.
    own: HashSet<u64>,
    folded: Vec<Folded>,
    /// Fold key → index in `folded`.
    index: HashMap<u64, usize>,
    counts: BTreeMap<Severity, usize>,
    summary: Arc<Mutex<Option<Summary>>>,
}

impl<'w> Folding<'w> {
    /// A folding writer in front of `inner`; the summary it passes on (with
    /// the counts of what was reported) is also left in `summary`.
    pub fn new(
        inner: Box<dyn ReportWriter + 'w>,
        owners: SharedOwners,
        summary: Arc<Mutex<Option<Summary>>>,
    ) -> Self {
        Folding {
            inner,
            owners,
            own: HashSet::new(),
            folded: Vec::new(),
            index: HashMap::new(),
            counts: BTreeMap::new(),
            summary,
        }
    }
}

/// The part of a finding's path inside the pod (`containers[web].image`),
/// with the container's index replaced by its name, so that a pod whose
/// containers were reordered or added to still matches its template.
fn pod_relative(f: &Finding) -> Option<String> {
    let prefix = WorkloadKind::of(&f.object.api_version, &f.object.kind)?
        .template_path()
        .join(".");
    let rest = if prefix.is_empty() {
        f.path.as_str()
    } else {
        f.path.strip_prefix(&prefix)?.strip_prefix('.')?
    };
    Some(match &f.container {
        Some(name) => {
            let mut out = String::with_capacity(rest.len());
            let mut done = false;
            let mut s = rest;
            while let Some(open) = s.find("ontainers[") {
                let (head, tail) = s.split_at(open + "ontainers[".len());
                out.push_str(head);
                match tail.find(']') {
                    Some(close) if !done && tail[..close].bytes().all(|b| b.is_ascii_digit()) => {
                        out.push_str(name);
                        done = true;
                        s = &tail[close..];
                    }
                    _ => s = tail,
                }
            }
            out.push_str(s);
            out
        }
        None => rest.to_string(),
    })
}

fn fold_key(root: &Key, f: &Finding, relative: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (root, f.rule, f.container.as_deref(), relative).hash(&mut h);
    h.finish()
}

impl ReportWriter for Folding<'_> {
    fn findings(&mut self, findings: &[Finding]) -> io::Result<()> {
        let mut out = Vec::with_capacity(findings.len());
        {
            let owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
            for f in findings {
                let me = key_of(&f.object);
                let relative = pod_relative(f);
                // Controllers are listed before what they own.
                let root = owners.root(&me);
                let listed_root = owners.listed.get(&root).filter(|_| root != me);
                let (Some(rel), Some((root_id, root_file))) = (relative.as_ref(), listed_root)
                else {
                    // A top-level object (or a finding outside the pod).
                    let mut f = f.clone();
                    if let Some(rel) = &relative {
                        self.own.insert(fold_key(&me, &f, rel));
                        let pods = owners.pod_count(&me);
                        if f.object.kind != "Pod" && pods > 0 {
                            f.message.push_str(&format!(" ({pods} running pods)"));
                        }
                    }
                    out.push(f);
                    continue;
                };
                let k = fold_key(&root, f, rel);
                // The controller's template gives it too.
                if self.own.contains(&k) {
                    continue;
                }
                let from_pod = u32::from(f.object.kind == "Pod");
                match self.index.get(&k) {
                    Some(&i) => self.folded[i].pods += from_pod,
                    None => {
                        let mut g = f.clone();
                        let prefix = WorkloadKind::of(&root_id.api_version, &root_id.kind)
                            .map(|w| w.template_path().join("."))
                            .unwrap_or_default();
                        let local = pod_relative_with_index(f).unwrap_or_else(|| rel.clone());
                        g.path = if prefix.is_empty() {
                            local
                        } else {
                            format!("{prefix}.{local}")
                        };
                        g.object = root_id.clone();
                        g.file = root_file.clone();
                        self.index.insert(k, self.folded.len());
                        self.folded.push(Folded {
                            finding: g,
                            owner: root.clone(),
                            pods: from_pod,
                        });
                    }
                }
            }
        }
        for f in &out {
            *self.counts.entry(f.severity).or_default() += 1;
        }
        self.inner.findings(&out)
    }

    fn finish(mut self: Box<Self>, rest: &ScanReport) -> io::Result<()> {
        let folded = std::mem::take(&mut self.folded);
        self.index = HashMap::new();
        let mut out: Vec<Finding> = Vec::new();
        {
            let owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
            for Folded {
                mut finding,
                owner,
                pods,
            } in folded
            {
                // Only an old revision with no running pod (a ReplicaSet
                // scaled to zero) had it.
                if pods == 0 {
                    continue;
                }
                let all = owners.pod_count(&owner).max(pods);
                if finding.rule.starts_with("image/running-") {
                    finding
                        .message
                        .push_str(&format!(" ({pods} of {all} running pods)"));
                } else {
                    finding.message.push_str(&format!(
                        " ({pods} of {all} running pods; not in the {}'s template: added after it was written, e.g. by a mutating webhook)",
                        finding.object.kind
                    ));
                }
                out.push(finding);
            }
        }
        for f in &out {
            *self.counts.entry(f.severity).or_default() += 1;
        }
        self.inner.findings(&out)?;
        let mut summary = rest.summary.clone();
        summary.findings = std::mem::take(&mut self.counts);
        let corrected = ScanReport {
            findings: Vec::new(),
            errors: rest.errors.clone(),
            skipped: rest.skipped.clone(),
            summary: summary.clone(),
            kept: Vec::new(),
            pods: Vec::new(),
        };
        *self.summary.lock().unwrap_or_else(|e| e.into_inner()) = Some(summary);
        self.inner.finish(&corrected)
    }
}

/// The path inside the pod with the container's index kept (where the
/// finding is shown).
fn pod_relative_with_index(f: &Finding) -> Option<String> {
    let prefix = WorkloadKind::of(&f.object.api_version, &f.object.kind)?
        .template_path()
        .join(".");
    if prefix.is_empty() {
        Some(f.path.clone())
    } else {
        Some(f.path.strip_prefix(&prefix)?.strip_prefix('.')?.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(api: &str, kind: &str, name: &str) -> Arc<ObjectRef> {
        Arc::new(ObjectRef {
            api_version: api.into(),
            kind: kind.into(),
            namespace: Some("shop".into()),
            name: name.into(),
        })
    }

    fn finding(object: &Arc<ObjectRef>, path: &str, container: &str) -> Finding {
        Finding {
            rule: "pss/privileged",
            severity: Severity::High,
            message: "privileged".into(),
            object: object.clone(),
            container: Some(container.into()),
            path: path.into(),
            file: "f".into(),
            line: 0,
            column: 0,
            remediation: "",
        }
    }

    struct Collect(Arc<Mutex<Vec<Finding>>>);
    impl ReportWriter for Collect {
        fn findings(&mut self, f: &[Finding]) -> io::Result<()> {
            self.0.lock().unwrap().extend_from_slice(f);
            Ok(())
        }
        fn finish(self: Box<Self>, _: &ScanReport) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn pods_fold_into_their_deployment_and_only_what_the_template_lacks_is_reported() {
        let owners: SharedOwners = Arc::default();
        let deploy = id("apps/v1", "Deployment", "web");
        let rs = id("apps/v1", "ReplicaSet", "web-5d8");
        let pods: Vec<_> = (0..3)
            .map(|i| id("v1", "Pod", &format!("web-5d8-{i}")))
            .collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let summary = Arc::new(Mutex::new(None));
        let mut w = Box::new(Folding::new(
            Box::new(Collect(seen.clone())),
            owners.clone(),
            summary.clone(),
        ));
        let privileged = "spec.template.spec.containers[0].securityContext.privileged";
        // As the cluster is listed: the Deployment (its status counts 3
        // pods), then its ReplicaSet, then the pods.
        let file: Arc<str> = "/apis/apps/v1/namespaces/shop/deployments/web".into();
        owners.lock().unwrap().record(&deploy, &file, Some(3), None);
        w.findings(&[finding(&deploy, privileged, "app")]).unwrap();
        owners.lock().unwrap().record(
            &rs,
            &"rs".into(),
            Some(3),
            Some(("apps/v1", "Deployment", "web")),
        );
        w.findings(&[finding(&rs, privileged, "app")]).unwrap();
        for p in &pods {
            owners.lock().unwrap().record(
                p,
                &"p".into(),
                None,
                Some(("apps/v1", "ReplicaSet", "web-5d8")),
            );
        }
        // Every pod has the template's privileged container; two also run an
        // injected privileged sidecar at index 0 (the app moved to 1).
        for (i, p) in pods.iter().enumerate() {
            let app = if i < 2 {
                "spec.containers[1].securityContext.privileged"
            } else {
                "spec.containers[0].securityContext.privileged"
            };
            w.findings(&[finding(p, app, "app")]).unwrap();
            if i < 2 {
                w.findings(&[finding(
                    p,
                    "spec.containers[0].securityContext.privileged",
                    "proxy",
                )])
                .unwrap();
            }
        }
        w.finish(&ScanReport::default()).unwrap();
        let got = seen.lock().unwrap();
        assert_eq!(got.len(), 2, "{got:#?}");
        assert_eq!(got[0].object.kind, "Deployment");
        assert!(
            got[0].message.ends_with("(3 running pods)"),
            "{}",
            got[0].message
        );
        assert_eq!(got[1].object.kind, "Deployment");
        assert_eq!(got[1].container.as_deref(), Some("proxy"));
        assert_eq!(got[1].path, privileged);
        assert_eq!(&*got[1].file, &*file);
        assert!(
            got[1]
                .message
                .contains("(2 of 3 running pods; not in the Deployment's template"),
            "{}",
            got[1].message
        );
        let s = summary.lock().unwrap().clone().unwrap();
        assert_eq!(s.findings.get(&Severity::High), Some(&2));
    }

    #[test]
    fn an_orphan_pod_is_reported_at_itself_and_an_owner_cycle_ends() {
        let owners: SharedOwners = Arc::default();
        let a = id("apps/v1", "ReplicaSet", "a");
        let b = id("apps/v1", "ReplicaSet", "b");
        let mut o = owners.lock().unwrap();
        o.record(&a, &"a".into(), None, Some(("apps/v1", "ReplicaSet", "b")));
        o.record(&b, &"b".into(), None, Some(("apps/v1", "ReplicaSet", "a")));
        let root = o.root(&key("apps/v1", "ReplicaSet", "shop", "a"));
        assert!(root.starts_with("apps/ReplicaSet/shop/"));
        let orphan = key("v1", "Pod", "shop", "lonely");
        assert_eq!(o.root(&orphan), orphan);
    }
}
