//! Findings, severities and the scan report that every front door fills and
//! every reporter reads.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

use crate::object::ObjectRef;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no risk by itself.
    Info,
    /// Defence in depth.
    Low,
    /// Weakens isolation.
    Medium,
    /// A known path to privilege or data.
    High,
    /// Direct access to the node or cluster.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown severity {s:?}: expected info, low, medium, high or critical")
            })
    }
}

/// `text` with every credential-shaped substring replaced by its preview
/// ([`palisade_secrets::redact`]): every finding kept and every input
/// error passes through it, so no output quotes a credential from the
/// input (an image tag that is a token, a URL with a password).
pub fn redacted(text: String) -> String {
    match palisade_secrets::redact(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(clean) => clean,
    }
}

/// Whether a finding's `file` is an API location (`/api/v1/namespaces/shop/pods/web`,
/// from `palisade audit`) rather than a file: such findings have no line,
/// and SARIF gives them logical locations.
pub fn is_api_location(file: &str) -> bool {
    file.starts_with("/api/") || file.starts_with("/apis/")
}

/// One rule violated by one object, located at the offending field.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable rule id (`pss/privileged`).
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What is wrong, naming the container and field.
    pub message: String,
    /// The object (shared by all findings about it).
    pub object: Arc<ObjectRef>,
    /// The container concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Field path in the object's own kind (`spec.template.spec.containers[0].securityContext.privileged`).
    pub path: String,
    /// File (`-` for stdin).
    pub file: Arc<str>,
    /// 1-based line of the field (or of its nearest written parent).
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// How to fix it.
    pub remediation: &'static str,
}

impl Finding {
    /// The finding with every text it quotes from the input passed through
    /// [`redacted`]: the message, the field path (map keys come from the
    /// input), the container and the object's name and namespace.
    pub fn redact(mut self) -> Finding {
        self.message = redacted(self.message);
        self.path = redacted(self.path);
        self.container = self.container.map(redacted);
        let clean = |s: &str| palisade_secrets::redact(s).into_owned();
        let name_dirty = !matches!(
            palisade_secrets::redact(&self.object.name),
            std::borrow::Cow::Borrowed(_)
        );
        let ns_dirty =
            self.object.namespace.as_deref().is_some_and(|n| {
                !matches!(palisade_secrets::redact(n), std::borrow::Cow::Borrowed(_))
            });
        if name_dirty || ns_dirty {
            let mut object = (*self.object).clone();
            object.name = clean(&object.name);
            object.namespace = object.namespace.as_deref().map(clean);
            self.object = Arc::new(object);
        }
        self
    }
}

/// Input that could not be checked: unreadable, malformed or over a limit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InputError {
    /// File (`-` for stdin).
    pub file: Arc<str>,
    /// 1-based line (0 when the file could not be read at all).
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub column: u32,
    /// What went wrong.
    pub message: String,
}

/// A document that is not a Kubernetes object, listed rather than checked.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// File.
    pub file: Arc<str>,
    /// 1-based line where the document starts.
    pub line: u32,
    /// Why it was skipped.
    pub reason: String,
}

/// Counts over a whole scan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Files read (stdin counts as one).
    pub files: usize,
    /// Non-empty documents parsed.
    pub documents: usize,
    /// Kubernetes objects found (List items counted one by one).
    pub objects: usize,
    /// Objects checked as workloads (Pod, Deployment, CronJob, ...).
    pub workloads: usize,
    /// Objects of other kinds, by kind (no rule pack checks them yet).
    pub other_kinds: BTreeMap<String, usize>,
    /// Documents skipped because they are not Kubernetes objects.
    pub skipped: usize,
    /// Findings by severity.
    pub findings: BTreeMap<Severity, usize>,
    /// Input errors.
    pub errors: usize,
    /// Findings not reported because an exemption or an inline suppression covers them.
    pub suppressed: usize,
    /// What the scan did not check and why (`--offline`: network rules skipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Everything a scan produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// Findings, in input order.
    pub findings: Vec<Finding>,
    /// Input errors, in input order.
    pub errors: Vec<InputError>,
    /// Documents that are not Kubernetes objects.
    pub skipped: Vec<Skipped>,
    /// Counts.
    pub summary: Summary,
    /// Objects kept for whole-input analysis (RBAC), when the engine
    /// collects them ([`crate::Engine::with_collection`]).
    #[serde(skip)]
    pub kept: Vec<crate::Object>,
    /// Every workload's pod identity, when the engine collects them.
    #[serde(skip)]
    pub pods: Vec<PodInfo>,
}

/// A rule id made at run time (`rego/<ConstraintKind>/<name>`), as the
/// `'static` string findings carry. Each distinct id is stored once for the
/// life of the process; ids come from loaded policies, so there are few.
pub fn intern_rule_id(id: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static IDS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut ids = IDS
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(known) = ids.get(id) {
        return known;
    }
    let leaked: &'static str = Box::leak(id.to_string().into_boxed_str());
    ids.insert(leaked);
    leaked
}

/// Which ServiceAccount a workload's pods run as, and whether its token is
/// in the pods: what RBAC analysis joins to permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    /// The workload.
    pub object: Arc<ObjectRef>,
    /// Its file.
    pub file: Arc<str>,
    /// Line of the pod spec's ServiceAccount field (or of the pod spec).
    pub line: u32,
    /// Column of the same.
    pub column: u32,
    /// Namespace (empty when the object names none).
    pub namespace: String,
    /// The ServiceAccount (`default` when unset).
    pub service_account: String,
    /// Whether an API token for it is mounted: automounted (the pod's
    /// setting, else the ServiceAccount's when in the scan, else yes), or
    /// projected explicitly through a `serviceAccountToken` volume source.
    pub token_mounted: bool,
    /// Every container image, for the rules that ask the registry.
    pub images: Vec<ImageUse>,
    /// The pod's labels (what NetworkPolicies select).
    pub labels: Vec<(String, String)>,
    /// Line and column of the pod's `metadata.labels` (or nearest parent).
    pub labels_pos: (u32, u32),
}

/// One container's image, where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// The container's name.
    pub container: String,
    /// The image reference as written.
    pub image: String,
    /// What runs, for a Pod that reports it: `name@sha256:…` from its
    /// status (see [`crate::Object::running_image`]). The registry rules
    /// check this digest, not the written reference.
    pub running: Option<String>,
    /// Field path in the object's kind (`spec.template.spec.containers[0].image`).
    pub path: String,
    /// The same as a JSON pointer (`/spec/template/spec/containers/0/image`).
    pub pointer: String,
    /// 1-based line of the field.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// `dst` followed by `src`; an empty `dst` without room for `src` takes
/// `src`'s buffer rather than copying it (merging one file's million
/// findings into an empty report costs nothing).
fn append<T>(dst: &mut Vec<T>, src: Vec<T>) {
    if dst.is_empty() && dst.capacity() < src.len() {
        *dst = src;
    } else {
        dst.extend(src);
    }
}

impl ScanReport {
    /// Appends another report (of later input) to this one.
    pub fn merge(&mut self, other: ScanReport) {
        append(&mut self.findings, other.findings);
        append(&mut self.errors, other.errors);
        append(&mut self.skipped, other.skipped);
        append(&mut self.kept, other.kept);
        append(&mut self.pods, other.pods);
        let s = &mut self.summary;
        let o = other.summary;
        s.files += o.files;
        s.documents += o.documents;
        s.objects += o.objects;
        s.workloads += o.workloads;
        for (k, v) in o.other_kinds {
            *s.other_kinds.entry(k).or_default() += v;
        }
        s.skipped += o.skipped;
        for (k, v) in o.findings {
            *s.findings.entry(k).or_default() += v;
        }
        s.errors += o.errors;
        s.suppressed += o.suppressed;
        s.notes.extend(o.notes);
    }

    /// Whether any finding is at or above `threshold`.
    pub fn has_findings_at(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }
}
