//! Image supply-chain checks: the rules that ask the registry.
//!
//! For each image a policy cares about, [`Supply::check`] resolves its tag
//! to the digest it names now (through `palisade-oci`) and verifies the
//! cosign signatures of that digest against the keys of the matching
//! `images.verify` entry. [`Supply::findings`] turns the outcome into
//! `image/signature`, `image/registry-error` and `image/resolved-digest`
//! findings at the image field; `scan`, `/validate`, `/mutate` and
//! `/imagereview` share this one implementation.

pub mod content;
pub mod rules;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use palisade_core::policy::glob_match;
use palisade_core::{ContentPolicy, FailurePolicy, Finding, ImageUse, ObjectRef, Policy, Severity};
use palisade_image::model::Limits;
use palisade_image::scan::ScanOptions;
use palisade_image::source::OpenOptions;
use palisade_secrets::detector_for;

pub use content::{ContentGate, ContentState, Mode};
use palisade_oci::{registry_pattern, ImageRef};
use palisade_oci::{Client, ClientOptions, Identity, KeylessPolicy, PublicKey, SignatureCheck};
use rules::{REGISTRY_ERROR, RESOLVED_DIGEST, SIGNATURE};

/// Registry lookups run at once for one scan or request.
const CONCURRENCY: usize = 16;

/// One `images.verify` entry with its keys parsed.
#[derive(Debug)]
struct Entry {
    patterns: Vec<String>,
    keys: Vec<PublicKey>,
    /// Keyless signers and attestations, when the entry has any.
    keyless: Option<KeylessPolicy>,
    required: bool,
    line: u32,
}

/// The supply-chain checks of one policy, with the registry client (and its
/// caches) they share.
#[derive(Debug)]
pub struct Supply {
    client: Client,
    entries: Vec<Entry>,
    resolve_tags: bool,
    failure: FailurePolicy,
    /// Time allowed for all the registry checks of one scan or request.
    deadline: Option<Duration>,
    /// Report `image/resolved-digest` for tags (`scan --resolve`).
    report_resolved: bool,
    /// Gate on image content (`images.content`, `scan --images`).
    content: Option<ContentGate>,
}

/// What the registry said about one image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// The image as written.
    pub image: String,
    /// The digest it names: its own when pinned, else what its tag points to now.
    pub digest: Option<String>,
    /// Whether it was written with a tag only (no digest).
    pub by_tag: bool,
    /// The signature check, when an `images.verify` entry matches: the
    /// entry's index and the outcome.
    pub signature: Option<(usize, SignatureCheck)>,
    /// Why the registry could not answer.
    pub error: Option<String>,
    /// What is known of its content, when the content gate is on.
    pub content: Option<ContentState>,
}

impl Checked {
    /// The reference pinned to the digest (`nginx:1.27@sha256:...`), for
    /// an image written with a tag only.
    pub fn pinned(&self) -> Option<String> {
        let digest = self.digest.as_ref()?;
        self.by_tag.then(|| format!("{}@{digest}", self.image))
    }

    /// Whether no signature was asked for or the one asked for verified:
    /// `/mutate` pins a tag to its digest only then.
    pub fn signature_holds(&self) -> bool {
        self.signature
            .as_ref()
            .is_none_or(|(_, c)| matches!(c, SignatureCheck::Verified { .. }))
    }
}

impl Supply {
    /// The checks `policy` asks for: signature verification for its
    /// `images.verify` entries, plus tag resolution for every image when
    /// `resolve_tags` (`scan --resolve`, `images.mutateDigest`). `None` when
    /// there is nothing to ask the registry. Errors name the verify entry
    /// and key that cannot be read.
    pub fn from_policy(
        policy: &Policy,
        options: ClientOptions,
        resolve_tags: bool,
    ) -> Result<Option<Supply>, String> {
        let entries = verify_entries(policy)?;
        if entries.is_empty() && !resolve_tags {
            return Ok(None);
        }
        let client = Client::new(options).map_err(|e| e.to_string())?;
        Ok(Some(Supply {
            client,
            entries,
            resolve_tags,
            failure: policy.images.failure_policy,
            deadline: None,
            report_resolved: false,
            content: None,
        }))
    }

    /// The checks `policy` asks for plus the content gate, when
    /// `content` is given (`images.content`, or `scan --images`): the tag of
    /// every image is then resolved so its stored result can be found.
    pub fn for_policy(
        policy: &Policy,
        options: ClientOptions,
        resolve_tags: bool,
        content: Option<(ContentPolicy, Mode)>,
    ) -> Result<Option<Supply>, String> {
        let Some((content, mode)) = content else {
            return Self::from_policy(policy, options, resolve_tags);
        };
        let cache = content::default_cache().ok_or(
            "images.content: no cache directory for image results (set PALISADE_CACHE_DIR)",
        )?;
        let scan = ScanOptions {
            open: OpenOptions {
                platform: options.platform.clone(),
                registry: options.clone(),
            },
            limits: Limits::default(),
            detector: detector_for(&policy.secrets),
            db: content::database_path(policy, &content),
            // Always: the result is stored by digest and read by any later
            // policy, and one stored without the lookup would pass for an
            // image without vulnerabilities under a policy that gates them.
            vulnerabilities: true,
            applications: true,
        };
        let gate = ContentGate::new(content, cache, scan, mode);
        let supply = Self::from_policy(policy, options, true)?.map(|mut s| {
            s.resolve_tags = resolve_tags;
            s.content = Some(gate);
            s
        });
        Ok(supply)
    }

    /// Reports `image/resolved-digest` for every tag (`scan --resolve`).
    pub fn reporting_resolved(mut self) -> Self {
        self.report_resolved = true;
        self.resolve_tags = true;
        self
    }

    /// Bounds the time [`Supply::check_all`] may take: an image without an
    /// answer by then is a registry error (so the failure policy decides,
    /// not the API server's webhook timeout).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Whether `image` needs the registry at all under this policy.
    pub fn wants(&self, image: &str) -> bool {
        let Ok(parsed) = ImageRef::parse_cached(image) else {
            return false;
        };
        self.resolve_tags || self.content.is_some() || self.entry_for(&parsed).is_some()
    }

    /// Checks one image. An image whose reference does not parse is left to
    /// the static rule `image/invalid-reference` (an empty outcome).
    pub async fn check(&self, image: &str) -> Checked {
        let mut out = Checked {
            image: image.to_string(),
            ..Checked::default()
        };
        let Ok(parsed) = ImageRef::parse_cached(image) else {
            return out;
        };
        let entry = self.entry_for(&parsed);
        if entry.is_none() && !self.resolve_tags && self.content.is_none() {
            return out;
        }
        let digest = match parsed.digest() {
            Some(d) => d.to_string(),
            None => match self.client.resolve(image).await {
                Ok(r) => {
                    out.by_tag = true;
                    r.digest
                }
                Err(e) => {
                    out.error = Some(e.to_string());
                    return out;
                }
            },
        };
        out.digest = Some(digest.clone());
        if let Some(gate) = &self.content {
            out.content = Some(gate.state(image, &digest).await);
        }
        if let Some(i) = entry {
            match self.verify(image, &digest, &self.entries[i]).await {
                Ok(check) => out.signature = Some((i, check)),
                Err(e) => out.error = Some(e.to_string()),
            }
        }
        out
    }

    /// The signature verdict of one entry for `digest`: a keyed signature
    /// or a keyless one (its index counts after the keys), and the
    /// entry's attestations.
    async fn verify(
        &self,
        image: &str,
        digest: &str,
        entry: &Entry,
    ) -> Result<SignatureCheck, palisade_oci::OciError> {
        let keyed = match entry.keys.is_empty() {
            true => None,
            false => Some(
                self.client
                    .verify_cosign(image, digest, &entry.keys)
                    .await?,
            ),
        };
        let Some(keyless) = &entry.keyless else {
            return Ok(keyed.unwrap_or(SignatureCheck::Missing));
        };
        let signed = matches!(keyed, Some(SignatureCheck::Verified { .. }));
        if signed && keyless.attestations.is_empty() {
            return Ok(keyed.unwrap_or(SignatureCheck::Missing));
        }
        let mut policy = keyless.clone();
        policy.require_signature = !signed && !policy.identities.is_empty();
        let other = self.client.verify_keyless(image, digest, &policy).await?;
        Ok(match (keyed, other) {
            (Some(k @ SignatureCheck::Verified { .. }), SignatureCheck::Verified { .. }) => k,
            (
                _,
                SignatureCheck::Verified {
                    key,
                    signature_digest,
                },
            ) => SignatureCheck::Verified {
                key: entry.keys.len() + key,
                signature_digest,
            },
            (None | Some(SignatureCheck::Missing), other) => other,
            (Some(SignatureCheck::Invalid { reasons }), SignatureCheck::Missing) => {
                SignatureCheck::Invalid { reasons }
            }
            (
                Some(SignatureCheck::Invalid { mut reasons }),
                SignatureCheck::Invalid { reasons: more },
            ) => {
                reasons.extend(more);
                SignatureCheck::Invalid { reasons }
            }
            // A verified key with attestations missing or failing.
            (Some(SignatureCheck::Verified { .. }), SignatureCheck::Missing) => {
                SignatureCheck::Invalid {
                    reasons: keyless
                        .attestations
                        .iter()
                        .map(|a| {
                            format!(
                                "no attestation of type {}",
                                a.predicate_type.as_deref().unwrap_or("(any)")
                            )
                        })
                        .collect(),
                }
            }
            (Some(SignatureCheck::Verified { .. }), invalid) => invalid,
        })
    }

    /// Checks every distinct image of `images` that needs the registry,
    /// several at a time.
    pub async fn check_all(
        &self,
        images: impl IntoIterator<Item = String>,
    ) -> HashMap<String, Checked> {
        let until = self.deadline.map(|d| tokio::time::Instant::now() + d);
        let mut distinct: Vec<String> = images.into_iter().filter(|i| self.wants(i)).collect();
        distinct.sort_unstable();
        distinct.dedup();
        stream::iter(distinct)
            .map(|image: String| async move {
                let checked = match until {
                    None => self.check(&image).await,
                    Some(until) => match tokio::time::timeout_at(until, self.check(&image)).await {
                        Ok(checked) => checked,
                        Err(_) => Checked {
                            error: Some(format!(
                                "no answer from the registry within {:?}",
                                self.deadline.unwrap_or_default()
                            )),
                            image: image.clone(),
                            ..Checked::default()
                        },
                    },
                };
                (image, checked)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await
    }

    /// The findings of every image use of one object that `checked` has an
    /// answer for (see [`Supply::findings`]).
    pub fn findings_of(
        &self,
        checked: &HashMap<String, Checked>,
        uses: &[ImageUse],
        object: &Arc<ObjectRef>,
        file: &Arc<str>,
    ) -> Vec<(Finding, Option<String>)> {
        uses.iter()
            .filter_map(|at| {
                Some(self.findings(checked.get(checked_reference(at))?, at, object, file))
            })
            .flatten()
            .collect()
    }

    /// The findings of one checked image at one place it is used, each with
    /// the image (for exemptions that match images).
    pub fn findings(
        &self,
        checked: &Checked,
        at: &ImageUse,
        object: &Arc<ObjectRef>,
        file: &Arc<str>,
    ) -> Vec<(Finding, Option<String>)> {
        let finding = |rule: &'static str, severity, remediation, message: String| {
            let f = Finding {
                rule,
                severity,
                message,
                object: object.clone(),
                container: Some(at.container.clone()),
                path: at.path.clone(),
                file: file.clone(),
                line: at.line,
                column: at.column,
                remediation,
            };
            (f, Some(at.image.clone()))
        };
        let who = format!(
            "container {:?} image {:?}{}",
            at.container,
            at.image,
            if at.running.is_some() {
                " as it runs"
            } else {
                ""
            }
        );
        let mut out = Vec::new();
        if let Some(error) = &checked.error {
            let severity = match self.failure {
                FailurePolicy::Fail => REGISTRY_ERROR.severity,
                FailurePolicy::Ignore => Severity::Low,
            };
            out.push(finding(
                REGISTRY_ERROR.id,
                severity,
                REGISTRY_ERROR.remediation,
                format!("{who} could not be checked: {error}"),
            ));
        }
        if let Some((i, check)) = &checked.signature {
            let entry = &self.entries[*i];
            let digest = checked.digest.as_deref().unwrap_or_default();
            let problem = match check {
                SignatureCheck::Verified { .. } => None,
                SignatureCheck::Missing if entry.required => Some(match &entry.keyless {
                    None => format!(
                        "has no cosign signature (nothing at the {} tag)",
                        signature_tag(digest)
                    ),
                    Some(_) => format!(
                        "has no signature (nothing at the {} or {} tags, and no Sigstore bundle among its referrers)",
                        signature_tag(digest),
                        signature_tag(digest).replace(".sig", ".att")
                    ),
                }),
                SignatureCheck::Missing => None,
                SignatureCheck::Invalid { reasons } => Some(format!(
                    "has no valid cosign signature: {}",
                    reasons.join("; ")
                )),
            };
            if let Some(problem) = problem {
                let mut keys: Vec<String> = entry.keys.iter().map(PublicKey::describe).collect();
                if let Some(k) = &entry.keyless {
                    keys.extend(k.identities.iter().map(Identity::describe));
                    keys.extend(k.attestations.iter().map(|a| {
                        format!(
                            "and requires a {} attestation",
                            a.predicate_type.as_deref().unwrap_or("(any)")
                        )
                    }));
                }
                out.push(finding(
                    SIGNATURE.id,
                    SIGNATURE.severity,
                    SIGNATURE.remediation,
                    format!(
                        "{who} ({digest}) {problem}; images.verify entry at line {} trusts {}",
                        entry.line,
                        keys.join(", ")
                    ),
                ));
            }
        }
        if let (Some(gate), Some(state)) = (&self.content, &checked.content) {
            let digest = checked.digest.as_deref().unwrap_or_default();
            for (rule, severity, remediation, message) in
                gate.findings(state, &format!("{who} ({digest})"))
            {
                out.push(finding(rule, severity, remediation, message));
            }
        }
        if self.report_resolved {
            if let Some(pinned) = checked.pinned() {
                let digest = checked.digest.as_deref().unwrap_or_default();
                out.push(finding(
                    RESOLVED_DIGEST.id,
                    RESOLVED_DIGEST.severity,
                    RESOLVED_DIGEST.remediation,
                    format!("{who}: the tag points to {digest}; pin it as {pinned}"),
                ));
            }
        }
        out
    }

    fn entry_for(&self, image: &ImageRef) -> Option<usize> {
        let name = image.name();
        self.entries
            .iter()
            .position(|e| e.patterns.iter().any(|p| glob_match(p, &name)))
    }
}

/// What the registry is asked about for one image use: the digest that
/// runs, when a Pod reports it (signatures and content are those of what
/// runs, whatever the spec's tag points to today), else the reference as
/// written.
pub fn checked_reference(at: &ImageUse) -> &str {
    at.running.as_deref().unwrap_or(&at.image)
}

/// The tag cosign stores the signatures of `digest` under.
pub fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// The policy's verify entries with their keys read and parsed: a key is
/// inline PEM, or a PEM file relative to the policy file.
fn verify_entries(policy: &Policy) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut roots = Roots::default();
    for rule in &policy.images.verify {
        let mut keys = Vec::new();
        for key in &rule.keys {
            let (pem, name) = if key.contains("-----BEGIN") {
                (key.clone(), "inline key".to_string())
            } else {
                let path = policy.relative_path(key);
                let pem = std::fs::read_to_string(&path).map_err(|e| {
                    format!(
                        "images.verify entry at line {}: cannot read key {}: {e}",
                        rule.line,
                        path.display()
                    )
                })?;
                (pem, key.clone())
            };
            let parsed = PublicKey::from_pem(&pem)
                .map_err(|e| format!("images.verify entry at line {}: {name}: {e}", rule.line))?;
            keys.push(parsed);
        }
        let keyless = keyless_policy(policy, rule, &mut roots)?;
        out.push(Entry {
            patterns: rule.images.iter().map(|p| registry_pattern(p)).collect(),
            keys,
            keyless,
            required: rule.required,
            line: rule.line,
        });
    }
    Ok(out)
}

/// Trusted roots read so far, by the path they came from (`None`: the
/// embedded production root), with the id that names them in cache keys.
#[derive(Default)]
struct Roots(HashMap<Option<std::path::PathBuf>, (Arc<palisade_sigstore::TrustedRoot>, u64)>);

impl Roots {
    fn get(
        &mut self,
        path: Option<std::path::PathBuf>,
    ) -> Result<(Arc<palisade_sigstore::TrustedRoot>, u64), String> {
        if let Some(hit) = self.0.get(&path) {
            return Ok(hit.clone());
        }
        let (root, id) = match &path {
            None => (
                palisade_sigstore::production_root().map_err(|e| e.to_string())?,
                0,
            ),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read trusted root {}: {e}", p.display()))?;
                let root = palisade_sigstore::trusted_root(&text)
                    .map_err(|e| format!("{}: {e}", p.display()))?;
                (root, hash_of(&text))
            }
        };
        let got = (Arc::new(root), id);
        self.0.insert(path, got.clone());
        Ok(got)
    }
}

fn hash_of(value: &impl std::hash::Hash) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(value)
}

/// The keyless part of a verify entry: its signers, attestations and trusted root.
fn keyless_policy(
    policy: &Policy,
    rule: &palisade_core::VerifyRule,
    roots: &mut Roots,
) -> Result<Option<KeylessPolicy>, String> {
    if rule.keyless.is_empty() && rule.attestations.is_empty() {
        return Ok(None);
    }
    let at = |e: String| format!("images.verify entry at line {}: {e}", rule.line);
    let root_file = rule
        .trusted_root
        .as_ref()
        .or(policy.images.trusted_root.as_ref())
        .map(|f| policy.relative_path(f));
    let (root, root_id) = roots.get(root_file).map_err(at)?;
    let identities = rule
        .keyless
        .iter()
        .map(|k| Identity {
            issuer: k.issuer.clone(),
            subject: match (&k.subject, &k.subject_regexp) {
                (Some(s), _) => palisade_sigstore::Subject::Exact(s.clone()),
                (None, Some(r)) => palisade_sigstore::Subject::Regex(r.clone()),
                (None, None) => palisade_sigstore::Subject::Regex(".*".into()),
            },
            claims: palisade_sigstore::ClaimsPolicy {
                repository: k.repository.clone(),
                git_ref: k.git_ref.clone(),
                workflow: k.workflow.clone(),
                trigger: k.trigger.clone(),
            },
        })
        .collect();
    let attestations = rule
        .attestations
        .iter()
        .map(|a| palisade_sigstore::AttestationCheck {
            predicate_type: Some(a.predicate_type.clone()),
            conditions: a.conditions.clone(),
        })
        .collect();
    for a in &rule.attestations {
        for c in &a.conditions {
            palisade_cel_check(c).map_err(|e| at(format!("attestation condition {c:?}: {e}")))?;
        }
    }
    let id = hash_of(&(&rule.keyless, &rule.attestations, root_id));
    Ok(Some(KeylessPolicy {
        identities,
        require_signature: !rule.keyless.is_empty(),
        attestations,
        root,
        id: format!("{id:016x}"),
    }))
}

/// Whether a condition compiles, so that a typo is an error when the
/// policy is read rather than a rejected image later.
fn palisade_cel_check(src: &str) -> Result<(), String> {
    palisade_sigstore::check_condition(src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_tag_is_cosigns() {
        assert_eq!(signature_tag("sha256:abc"), "sha256-abc.sig");
    }

    #[test]
    fn pinned_keeps_the_written_reference() {
        let c = Checked {
            image: "nginx:1.27".into(),
            digest: Some("sha256:abc".into()),
            by_tag: true,
            ..Checked::default()
        };
        assert_eq!(c.pinned().as_deref(), Some("nginx:1.27@sha256:abc"));
        let pinned = Checked { by_tag: false, ..c };
        assert_eq!(pinned.pinned(), None);
    }

    #[test]
    fn unreadable_keys_name_the_entry() {
        let mut p = Policy::default();
        p.images.verify.push(palisade_core::VerifyRule {
            images: vec!["registry.example.com/**".into()],
            keys: vec!["no-such-key.pub".into()],
            keyless: Vec::new(),
            attestations: Vec::new(),
            trusted_root: None,
            required: true,
            line: 7,
        });
        let err = Supply::from_policy(&p, ClientOptions::default(), false)
            .err()
            .unwrap();
        assert!(
            err.contains("line 7") && err.contains("no-such-key.pub"),
            "{err}"
        );
        p.images.verify[0].keys =
            vec!["-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n".into()];
        let err = Supply::from_policy(&p, ClientOptions::default(), false)
            .err()
            .unwrap();
        assert!(
            err.contains("line 7") && err.contains("inline key"),
            "{err}"
        );
    }

    #[test]
    fn nothing_to_ask_without_entries_or_resolution() {
        let p = Policy::default();
        assert!(Supply::from_policy(&p, ClientOptions::default(), false)
            .unwrap()
            .is_none());
        assert!(Supply::from_policy(&p, ClientOptions::default(), true)
            .unwrap()
            .is_some());
    }
}
