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
use palisade_core::{Finding, ObjectRef, PodInfo, ScanReport, Severity, Summary};
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

/// No index (an `Entry` field that is unset).
const NONE: u32 = u32::MAX;

/// One object the source saw: listed, or named as a controller.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Listed (not only named as a controller).
    listed: bool,
    /// Its controller (in the same namespace), or [`NONE`].
    owner: u32,
    /// Pods listed directly under it.
    pods: u32,
    /// Pods it runs as its status reports them, or [`NONE`].
    running: u32,
}

/// What is known of the cluster's controllers: a small entry per object,
/// its key stored once (a large cluster's 100,000 pods cost a few
/// megabytes); identities and children only for the objects other than
/// Pods (nothing folds into a Pod).
#[derive(Debug, Default)]
pub struct Owners {
    index: HashMap<Key, u32>,
    entries: Vec<Entry>,
    /// Identity and location of each listed object other than a Pod.
    at: HashMap<u32, (Arc<ObjectRef>, Arc<str>)>,
    /// The objects other than Pods each object owns, as listed.
    children: HashMap<u32, Vec<u32>>,
}

impl Owners {
    fn slot(&mut self, k: Key) -> u32 {
        let next = u32::try_from(self.entries.len()).unwrap_or(NONE);
        let i = *self.index.entry(k).or_insert(next);
        if i == next {
            self.entries.push(Entry {
                listed: false,
                owner: NONE,
                pods: 0,
                running: NONE,
            });
        }
        i
    }

    /// The entry of an object that was recorded.
    fn find(&self, id: &ObjectRef) -> Option<u32> {
        self.index.get(&key_of(id)).copied()
    }

    fn entry(&self, i: u32) -> Option<&Entry> {
        self.entries.get(i as usize)
    }

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
        let me = self.slot(key_of(id));
        let parent =
            controller.map(|(api_version, kind, name)| self.slot(key(api_version, kind, ns, name)));
        let pod = id.kind == "Pod";
        if !pod {
            self.at.insert(me, (id.clone(), file.clone()));
        }
        if let Some(e) = self.entries.get_mut(me as usize) {
            e.listed = true;
            if let Some(n) = running {
                e.running = n.min(NONE - 1);
            }
            if let Some(p) = parent {
                e.owner = p;
            }
        }
        match parent {
            Some(p) if pod => {
                if let Some(e) = self.entries.get_mut(p as usize) {
                    e.pods = e.pods.saturating_add(1);
                }
            }
            Some(p) => self.children.entry(p).or_default().push(me),
            None => {}
        }
    }

    /// The top controller of `i` that was listed (itself when it has none).
    fn root(&self, i: u32) -> u32 {
        let mut at = i;
        // Owner chains are short (Pod → ReplicaSet → Deployment); a cycle
        // in hostile data stops here.
        for _ in 0..8 {
            match self.entry(at).map(|e| e.owner) {
                Some(parent) if self.entry(parent).is_some_and(|p| p.listed) => at = parent,
                _ => break,
            }
        }
        at
    }

    /// Pods running under `i`: as its status reports them, else those
    /// listed under it.
    fn pod_count(&self, i: u32) -> u32 {
        match self.entry(i) {
            Some(e) if e.running != NONE => e.running,
            _ => self.listed_pods(i),
        }
    }

    /// Pods listed under `i`, through the objects it owns.
    fn listed_pods(&self, i: u32) -> u32 {
        let mut n = 0u32;
        let mut stack = vec![(i, 0)];
        let mut seen = HashSet::new();
        while let Some((at, depth)) = stack.pop() {
            if depth > 8 || !seen.insert(at) {
                continue;
            }
            n = n.saturating_add(self.entry(at).map_or(0, |e| e.pods));
            if let Some(children) = self.children.get(&at) {
                stack.extend(children.iter().map(|c| (*c, depth + 1)));
            }
        }
        n
    }
}

/// What of a pod identity the whole-input analyses use beyond its
/// location: its ServiceAccount, whether the token is mounted, and its
/// images (with the digests that run, when the pods report them).
type Identity = (String, bool, Vec<(String, String, Option<String>)>);

fn identity(p: &PodInfo) -> Identity {
    (
        p.service_account.clone(),
        p.token_mounted,
        p.images
            .iter()
            .map(|u| (u.container.clone(), u.image.clone(), u.running.clone()))
            .collect(),
    )
}

/// Whether `p` has identity `id` (compared in place: every owned pod of a
/// large cluster passes here).
fn same(id: &Identity, p: &PodInfo) -> bool {
    id.0 == p.service_account
        && id.1 == p.token_mounted
        && id.2.len() == p.images.len()
        && id.2.iter().zip(&p.images).all(|((c, i, r), u)| {
            *c == u.container && *i == u.image && r.as_deref() == u.running.as_deref()
        })
}

/// The pod filter of an audit ([`palisade_scan::Scan::with_pod_filter`]):
/// a controller's pod identity is kept, and an owned object's (a Pod, a
/// ReplicaSet of a Deployment) only where it differs from every identity
/// of its top controller — a ServiceAccount changed at admission, an
/// image whose running digest the whole-input analyses must check. The
/// template's labels stand for its pods' (the pods add only the
/// controller's `pod-template-hash`).
pub fn pod_filter(owners: SharedOwners) -> palisade_scan::PodFilter {
    let mut roots: HashMap<u32, Vec<Identity>> = HashMap::new();
    Box::new(move |p: &PodInfo| {
        let owners = owners.lock().unwrap_or_else(|e| e.into_inner());
        let Some(me) = owners.find(&p.object) else {
            return true;
        };
        let root = owners.root(me);
        if root == me {
            if p.object.kind != "Pod" {
                roots.entry(me).or_default().push(identity(p));
            }
            return true;
        }
        !roots
            .get(&root)
            .is_some_and(|ids| ids.iter().any(|id| same(id, p)))
    })
}

/// The owners, shared by the source (which fills them) and the writer.
pub type SharedOwners = Arc<Mutex<Owners>>;

/// A finding of owned objects that their top controller's template does
/// not give, held (once per controller) until the end of the run, when
/// the number of pods that gave it is known.
struct Folded {
    finding: Finding,
    /// The top controller.
    owner: u32,
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

fn fold_key(root: u32, f: &Finding, relative: &str) -> u64 {
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
                let me = owners.find(&f.object);
                let relative = pod_relative(f);
                // Controllers are listed before what they own.
                let root = me.map(|i| owners.root(i));
                let listed_root = root
                    .filter(|r| Some(*r) != me)
                    .and_then(|r| Some((r, owners.at.get(&r)?)));
                let (Some(rel), Some((root, (root_id, root_file)))) =
                    (relative.as_ref(), listed_root)
                else {
                    // A top-level object (or a finding outside the pod).
                    let mut f = f.clone();
                    if let (Some(rel), Some(me)) = (&relative, me) {
                        self.own.insert(fold_key(me, &f, rel));
                        let pods = owners.pod_count(me);
                        if f.object.kind != "Pod" && pods > 0 {
                            f.message.push_str(&format!(" ({pods} running pods)"));
                        }
                    }
                    out.push(f);
                    continue;
                };
                let k = fold_key(root, f, rel);
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
                            owner: root,
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
                let all = owners.pod_count(owner).max(pods);
                if finding.rule.starts_with("image/running-") || !reviews_templates(finding.rule) {
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

/// Whether `rule` reviews every controller's pod template, so that a pod
/// finding its controller did not give was added after the template was
/// written. Built-in rules do; a Gatekeeper constraint (`rego/…`) reviews
/// only the kinds it matches, and one that matches Pods never asked the
/// controller.
fn reviews_templates(rule: &str) -> bool {
    !rule.starts_with("rego/")
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
    fn a_constraint_on_pods_folds_into_the_controller_without_blaming_its_template() {
        let owners: SharedOwners = Arc::default();
        let deploy = id("apps/v1", "Deployment", "web");
        let rs = id("apps/v1", "ReplicaSet", "web-5d8");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut w = Box::new(Folding::new(
            Box::new(Collect(seen.clone())),
            owners.clone(),
            Arc::new(Mutex::new(None)),
        ));
        {
            let mut o = owners.lock().unwrap();
            o.record(&deploy, &"d".into(), Some(2), None);
            o.record(
                &rs,
                &"rs".into(),
                Some(2),
                Some(("apps/v1", "Deployment", "web")),
            );
        }
        for i in 0..2 {
            let p = id("v1", "Pod", &format!("web-5d8-{i}"));
            owners.lock().unwrap().record(
                &p,
                &"p".into(),
                None,
                Some(("apps/v1", "ReplicaSet", "web-5d8")),
            );
            let mut f = finding(&p, "", "");
            f.rule = "rego/K8sRequiredLabels/pods-need-team";
            f.container = None;
            f.message = "you must provide labels: team".into();
            w.findings(&[f]).unwrap();
        }
        w.finish(&ScanReport::default()).unwrap();
        let got = seen.lock().unwrap();
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].object.kind, "Deployment");
        assert_eq!(
            got[0].message,
            "you must provide labels: team (2 of 2 running pods)"
        );
    }

    #[test]
    fn an_orphan_pod_is_reported_at_itself_and_an_owner_cycle_ends() {
        let owners: SharedOwners = Arc::default();
        let a = id("apps/v1", "ReplicaSet", "a");
        let b = id("apps/v1", "ReplicaSet", "b");
        let mut o = owners.lock().unwrap();
        o.record(&a, &"a".into(), None, Some(("apps/v1", "ReplicaSet", "b")));
        o.record(&b, &"b".into(), None, Some(("apps/v1", "ReplicaSet", "a")));
        let a = o.find(&a).unwrap();
        let root = o.root(a);
        assert!(o.at.contains_key(&root));
        let orphan = id("v1", "Pod", "lonely");
        o.record(&orphan, &"p".into(), None, None);
        let orphan = o.find(&orphan).unwrap();
        assert_eq!(o.root(orphan), orphan);
    }

    fn pod(object: &Arc<ObjectRef>, sa: &str, running: Option<&str>) -> PodInfo {
        PodInfo {
            object: object.clone(),
            file: "f".into(),
            line: 0,
            column: 0,
            namespace: "shop".into(),
            service_account: sa.into(),
            token_mounted: true,
            images: running
                .map(|r| palisade_core::ImageUse {
                    container: "app".into(),
                    image: "nginx:1.27".into(),
                    running: Some(r.into()),
                    path: String::new(),
                    pointer: String::new(),
                    line: 0,
                    column: 0,
                })
                .into_iter()
                .collect(),
            labels: Vec::new(),
            labels_pos: (0, 0),
        }
    }

    #[test]
    fn owned_pod_identities_are_kept_only_where_they_differ_from_the_controllers() {
        let owners: SharedOwners = Arc::default();
        let deploy = id("apps/v1", "Deployment", "web");
        let rs = id("apps/v1", "ReplicaSet", "web-5d8");
        let same = id("v1", "Pod", "web-5d8-a");
        let other_sa = id("v1", "Pod", "web-5d8-b");
        let orphan = id("v1", "Pod", "debug");
        {
            let mut o = owners.lock().unwrap();
            o.record(&deploy, &"d".into(), Some(2), None);
            o.record(
                &rs,
                &"rs".into(),
                None,
                Some(("apps/v1", "Deployment", "web")),
            );
            for p in [&same, &other_sa] {
                o.record(
                    p,
                    &"p".into(),
                    None,
                    Some(("apps/v1", "ReplicaSet", "web-5d8")),
                );
            }
            o.record(&orphan, &"p".into(), None, None);
        }
        let mut keep = pod_filter(owners);
        assert!(keep(&pod(&deploy, "web", None)));
        assert!(
            !keep(&pod(&rs, "web", None)),
            "the ReplicaSet's pods are the Deployment's"
        );
        assert!(!keep(&pod(&same, "web", None)));
        assert!(
            keep(&pod(&other_sa, "admin", None)),
            "its ServiceAccount was changed"
        );
        assert!(
            keep(&pod(&same, "web", Some("nginx@sha256:1"))),
            "it reports what runs"
        );
        assert!(keep(&pod(&orphan, "default", None)));
    }
}
