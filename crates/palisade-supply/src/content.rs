//! Gating on what is inside images (`images.content`): the stored result of
//! `palisade image` for an image's digest, turned into `image/vulnerable`,
//! `image/secrets` and `image/unscanned` findings at the workload's image
//! field.
//!
//! Two ways to get a result that is not stored yet: `scan --images` scans
//! the image there and then ([`Mode::Inline`], two at a time); the webhook
//! never scans on the admission path ([`Mode::Queue`]): it reports the image
//! as unscanned and queues it for a background thread, whose result the
//! next request reads.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use palisade_core::{ContentPolicy, Severity};
use palisade_image::cache::{CachedScan, ResultCache};
use palisade_image::scan::{scan_image, ScanOptions, SECRETS, SECRET_RULES, UNSCANNED, VULNERABLE};
use palisade_image::source::Source;

/// Images waiting for the background scanner; more are reported unscanned
/// and queued again by a later request.
const QUEUE: usize = 64;
/// Image scans run at once by `scan --images`.
const INLINE_SCANS: usize = 2;
/// Examples named in an aggregated finding.
const EXAMPLES: usize = 3;

/// How results that are not stored yet are produced.
pub enum Mode {
    /// Scan now (the CLI).
    Inline,
    /// Queue for the background scanner (the webhook).
    Queue,
}

/// What is known of an image's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentState {
    /// The stored result.
    Scanned(CachedScan),
    /// No result yet; queued (or the queue was full).
    Unscanned,
    /// The scan failed.
    Failed(String),
}

struct Queue {
    sender: SyncSender<(String, Vec<String>)>,
    pending: Arc<Mutex<HashSet<String>>>,
}

/// The content gate of one policy.
pub struct ContentGate {
    policy: ContentPolicy,
    cache: ResultCache,
    scan: ScanOptions,
    queue: Option<Queue>,
    inline: tokio::sync::Semaphore,
}

impl std::fmt::Debug for ContentGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentGate")
            .field("policy", &self.policy)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl ContentGate {
    /// A gate reading and writing results under `cache`; in [`Mode::Queue`]
    /// a background thread scans queued images (it ends with the gate).
    pub fn new(policy: ContentPolicy, cache: ResultCache, scan: ScanOptions, mode: Mode) -> Self {
        let queue = match mode {
            Mode::Inline => None,
            Mode::Queue => {
                let (sender, receiver) = sync_channel::<(String, Vec<String>)>(QUEUE);
                let pending = Arc::new(Mutex::new(HashSet::new()));
                let (cache, opts, done) = (cache.clone(), scan.clone(), pending.clone());
                std::thread::Builder::new()
                    .name("palisade-image-scan".into())
                    .spawn(move || {
                        for (image, digests) in receiver {
                            if let Err(e) = scan_and_store(&image, &digests, &opts, &cache) {
                                tracing::warn!(image, error = %e, "background image scan failed");
                            }
                            if let Ok(mut p) = done.lock() {
                                for d in &digests {
                                    p.remove(d);
                                }
                            }
                        }
                    })
                    .ok()
                    .map(|_| Queue { sender, pending })
            }
        };
        ContentGate {
            policy,
            cache,
            scan,
            queue,
            inline: tokio::sync::Semaphore::new(INLINE_SCANS),
        }
    }

    /// What is known of `image`, whose reference resolves to `digest`.
    pub async fn state(&self, image: &str, digest: &str) -> ContentState {
        if let Some(hit) = self.cache.get(digest).filter(|hit| !self.stale(hit)) {
            return ContentState::Scanned(hit);
        }
        match &self.queue {
            Some(q) => {
                let fresh = q
                    .pending
                    .lock()
                    .is_ok_and(|mut p| p.insert(digest.to_string()));
                if fresh {
                    let job = (pinned(image, digest), vec![digest.to_string()]);
                    if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                        q.sender.try_send(job)
                    {
                        if let Ok(mut p) = q.pending.lock() {
                            p.remove(digest);
                        }
                    }
                }
                ContentState::Unscanned
            }
            None => {
                let Ok(_permit) = self.inline.acquire().await else {
                    return ContentState::Unscanned;
                };
                let (image, digests) = (pinned(image, digest), vec![digest.to_string()]);
                let (opts, cache) = (self.scan.clone(), self.cache.clone());
                let outcome = tokio::task::spawn_blocking(move || {
                    scan_and_store(&image, &digests, &opts, &cache)
                })
                .await;
                match outcome {
                    Ok(Ok(scanned)) => ContentState::Scanned(scanned),
                    Ok(Err(e)) => ContentState::Failed(e),
                    Err(e) => ContentState::Failed(e.to_string()),
                }
            }
        }
    }

    /// Whether a stored result made without a vulnerability database (or
    /// without the lookup) should be made again: the policy gates
    /// vulnerabilities and a database exists now.
    fn stale(&self, hit: &CachedScan) -> bool {
        let unchecked = hit
            .notes
            .iter()
            .any(|n| n.starts_with("vulnerabilities not checked: no vulnerability database"));
        unchecked
            && self.policy.vulnerabilities.is_some()
            && self
                .scan
                .db
                .clone()
                .or_else(|| palisade_vulndb::Db::default_path().ok())
                .is_some_and(|p| p.is_file())
    }

    /// The findings of a content state, as (rule, severity, message) for
    /// the image `who` describes.
    pub fn findings(
        &self,
        state: &ContentState,
        who: &str,
    ) -> Vec<(&'static str, Severity, &'static str, String)> {
        let unscanned_severity = if self.policy.deny_unscanned {
            Severity::High
        } else {
            UNSCANNED.severity
        };
        match state {
            ContentState::Unscanned => vec![(
                UNSCANNED.id,
                unscanned_severity,
                UNSCANNED.remediation,
                format!("{who} has not been scanned yet; it is queued for a background scan"),
            )],
            ContentState::Failed(e) => vec![(
                UNSCANNED.id,
                unscanned_severity,
                UNSCANNED.remediation,
                format!("{who} could not be scanned: {e}"),
            )],
            ContentState::Scanned(scan) => {
                let mut out = Vec::new();
                if let Some(threshold) = self.policy.vulnerabilities {
                    let vulns: Vec<_> = scan
                        .findings
                        .iter()
                        .filter(|f| f.rule == VULNERABLE.id && f.severity() >= threshold)
                        .collect();
                    if let Some(worst) = vulns.iter().map(|f| f.severity()).max() {
                        out.push((
                            VULNERABLE.id,
                            worst,
                            VULNERABLE.remediation,
                            format!(
                                "{who} has {} known vulnerabilities at or above {threshold}: {}",
                                vulns.len(),
                                examples(vulns.iter().map(|f| f.message.as_str()))
                            ),
                        ));
                    }
                }
                if self.policy.vulnerabilities.is_some() {
                    // A result without vulnerability data must not pass for a clean one.
                    for note in scan
                        .notes
                        .iter()
                        .filter(|n| n.starts_with("vulnerabilities not checked"))
                    {
                        out.push((
                            UNSCANNED.id,
                            Severity::Info,
                            UNSCANNED.remediation,
                            format!("{who}: {note}"),
                        ));
                    }
                }
                if self.policy.secrets {
                    let secrets: Vec<_> = scan
                        .findings
                        .iter()
                        .filter(|f| SECRET_RULES.contains(&f.rule.as_str()))
                        .collect();
                    if !secrets.is_empty() {
                        out.push((
                            SECRETS.id,
                            SECRETS.severity,
                            SECRETS.remediation,
                            format!(
                                "{who} contains {} secrets: {}",
                                secrets.len(),
                                examples(distinct(secrets.iter().map(|f| f.path.as_str())))
                            ),
                        ));
                    }
                }
                out
            }
        }
    }
}

/// The reference to scan: pinned to the digest that was checked, so the
/// scan reads exactly that content.
fn pinned(image: &str, digest: &str) -> String {
    match image.split_once('@') {
        Some((name, _)) => format!("{name}@{digest}"),
        None => format!("{image}@{digest}"),
    }
}

fn scan_and_store(
    image: &str,
    digests: &[String],
    opts: &ScanOptions,
    cache: &ResultCache,
) -> Result<CachedScan, String> {
    let source = Source::parse(image).map_err(|e| e.to_string())?;
    let scan = scan_image(&source, opts, None).map_err(|e| e.to_string())?;
    let mut all: Vec<&str> = digests.iter().map(String::as_str).collect();
    all.push(&scan.manifest_digest);
    cache
        .put(&all, &scan)
        .map_err(|e| format!("cannot store the result in {}: {e}", cache.dir().display()))?;
    Ok(CachedScan::of(&digests[0], &scan))
}

/// The items in order, each once.
fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> impl Iterator<Item = &'a str> {
    let mut seen = HashSet::new();
    items.filter(move |i| seen.insert(*i))
}

fn examples<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = items.collect();
    let mut s = all
        .iter()
        .take(EXAMPLES)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if all.len() > EXAMPLES {
        s.push_str(&format!("; and {} more", all.len() - EXAMPLES));
    }
    s
}

/// The cache directory of image results (see [`ResultCache::default_dir`]).
pub fn default_cache() -> Option<ResultCache> {
    ResultCache::default_dir().map(ResultCache::new)
}

/// The database path of a content policy (relative to the policy file),
/// else `$PALISADE_VULN_DB`, else `None` (the database's default path).
pub fn database_path(policy: &palisade_core::Policy, content: &ContentPolicy) -> Option<PathBuf> {
    content
        .database
        .as_deref()
        .map(|d| policy.relative_path(d))
        .or_else(|| std::env::var_os("PALISADE_VULN_DB").map(PathBuf::from))
}
