//! [`EtcdStorage`]: the scan pipeline's analysis that reads etcd and
//! reports how each object is stored (`encryption/*` findings), with a
//! summary of the storage forms. The values are judged page by page and
//! dropped; memory follows one page, not the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use palisade_core::{Finding, InputError, ObjectRef, RuleMeta};
use palisade_scan::analyses::storage::{
    KEY_MISSING, SECRET_PLAINTEXT, STALE_KEY, STORED_PLAINTEXT, UNDECRYPTABLE,
};
use palisade_scan::{Analysis, Needs, Out, Run};

use crate::client::{prefix_end, Etcd, EtcdOptions, RangeRequest};
use crate::judge::{judge, Verdict};
use crate::keyring::{ConfigError, Keyring};

/// Called with the resource being read and the number of values read so far.
pub type Progress = Arc<dyn Fn(&str, usize) + Send + Sync>;

/// Reads etcd and judges every stored Secret (and every core resource the
/// configuration names).
pub struct EtcdStorage {
    options: EtcdOptions,
    ring: Option<Keyring>,
    config_errors: Vec<ConfigError>,
    /// The EncryptionConfiguration given could not be read: its file and why.
    broken: Option<(String, ConfigError)>,
    /// `--etcd-prefix` of the API server (`/registry`).
    prefix: String,
    page_size: i64,
    progress: Option<Progress>,
}

impl EtcdStorage {
    /// Reads etcd with `options`; `ring` is the EncryptionConfiguration
    /// (and the problems found reading it), when given.
    pub fn new(options: EtcdOptions, ring: Option<(Keyring, Vec<ConfigError>)>) -> Self {
        let (ring, config_errors) = match ring {
            Some((r, e)) => (Some(r), e),
            None => (None, Vec::new()),
        };
        EtcdStorage {
            options,
            ring,
            config_errors,
            broken: None,
            prefix: "/registry".into(),
            page_size: 500,
            progress: None,
        }
    }

    /// The EncryptionConfiguration at `file` could not be read: an error at
    /// its position, and etcd is still read (without keys).
    pub fn broken_config(mut self, file: &str, e: ConfigError) -> Self {
        self.broken = Some((file.to_string(), e));
        self
    }

    /// The API server's `--etcd-prefix`.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.trim_end_matches('/').to_string();
        self
    }

    /// Keys per Range request.
    pub fn page_size(mut self, n: i64) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Reports progress.
    pub fn progress(mut self, p: Progress) -> Self {
        self.progress = Some(p);
        self
    }

    /// What is read: (resource, kind).
    fn resources(&self) -> Vec<(String, String)> {
        let mut out = vec![("secrets".to_string(), "Secret".to_string())];
        if let Some(ring) = &self.ring {
            for r in ring.named_core_resources() {
                let kind = kind_of(&r);
                out.push((r, kind));
            }
        }
        out
    }
}

/// `configmaps` → `ConfigMap` for the core kinds an EncryptionConfiguration
/// names; others by their plural's singular, capitalised.
fn kind_of(resource: &str) -> String {
    let known = [
        ("configmaps", "ConfigMap"),
        ("serviceaccounts", "ServiceAccount"),
        ("persistentvolumeclaims", "PersistentVolumeClaim"),
        ("persistentvolumes", "PersistentVolume"),
        ("events", "Event"),
        ("endpoints", "Endpoints"),
        ("pods", "Pod"),
        ("services", "Service"),
        ("namespaces", "Namespace"),
        ("nodes", "Node"),
    ];
    if let Some((_, k)) = known.iter().find(|(r, _)| *r == resource) {
        return k.to_string();
    }
    let singular = resource.strip_suffix('s').unwrap_or(resource);
    let mut c = singular.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Counts of the storage forms, per resource.
type Forms = BTreeMap<String, BTreeMap<String, usize>>;

impl Analysis for EtcdStorage {
    fn needs(&self) -> Needs {
        Needs::default()
    }

    fn run(&self, _: &Run<'_>, out: &mut Out<'_>) -> Result<(), String> {
        if let Some(ring) = &self.ring {
            for e in &self.config_errors {
                out.error(InputError {
                    file: ring.file.as_str().into(),
                    line: e.pos.line,
                    column: e.pos.col,
                    message: e.message.clone(),
                });
            }
        }
        if let Some((file, e)) = &self.broken {
            out.error(InputError {
                file: file.as_str().into(),
                line: e.pos.line,
                column: e.pos.col,
                message: format!(
                    "not a usable EncryptionConfiguration ({}): etcd is read without its keys",
                    e.message
                ),
            });
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let mut etcd = match runtime.block_on(Etcd::connect(&self.options)) {
            Ok(c) => c,
            Err(e) => {
                out.error(InputError {
                    file: self.options.endpoints.join(",").into(),
                    line: 0,
                    column: 0,
                    message: e,
                });
                return Ok(());
            }
        };
        let mut forms = Forms::new();
        for (resource, kind) in self.resources() {
            self.read_resource(&runtime, &mut etcd, &resource, &kind, out, &mut forms);
        }
        for (resource, by_form) in &forms {
            let total: usize = by_form.values().sum();
            let list: Vec<String> = by_form.iter().map(|(f, n)| format!("{n} {f}")).collect();
            out.note(format!(
                "etcd {}: {total} {resource}: {}",
                etcd.endpoint,
                list.join(", ")
            ));
        }
        if self.ring.is_none() {
            out.note("no --encryption-config: encrypted values were not decrypted, nor their keys compared with the configuration".into());
        }
        Ok(())
    }
}

impl EtcdStorage {
    fn read_resource(
        &self,
        runtime: &tokio::runtime::Runtime,
        etcd: &mut Etcd,
        resource: &str,
        kind: &str,
        out: &mut Out<'_>,
        forms: &mut Forms,
    ) {
        let prefix = format!("{}/{resource}/", self.prefix);
        let end = prefix_end(prefix.as_bytes());
        let mut next = prefix.as_bytes().to_vec();
        let mut read = 0usize;
        let mut limit = self.page_size;
        let counts = forms.entry(resource.to_string()).or_default();
        // The keys first, in one request (keys only: a few dozen bytes
        // each), then the values in pages bounded by those keys: etcd
        // before 3.5 walks the whole rest of a range for every page asked
        // with a limit, so paging by limit alone costs time quadratic in
        // the number of keys. When the keys alone are over the page size
        // accepted, pages go by limit.
        let listing = runtime.block_on(etcd.range(RangeRequest {
            key: next.clone(),
            range_end: end.clone(),
            keys_only: true,
            ..RangeRequest::default()
        }));
        let (keys, mut revision) = match listing {
            Ok(page) => (
                Some(page.kvs.into_iter().map(|kv| kv.key).collect::<Vec<_>>()),
                page.header.map_or(0, |h| h.revision),
            ),
            Err(e) if e.contains("too large") => (None, 0),
            Err(e) => {
                self.read_failed(e, resource, &prefix, 0, &next, out);
                return;
            }
        };
        let mut at = 0usize;
        loop {
            let req = match &keys {
                Some(keys) => {
                    if at >= keys.len() {
                        break;
                    }
                    let chunk = &keys[at..keys.len().min(at + limit as usize)];
                    let mut last = chunk[chunk.len() - 1].clone();
                    last.push(0);
                    RangeRequest {
                        key: chunk[0].clone(),
                        range_end: last,
                        revision,
                        ..RangeRequest::default()
                    }
                }
                None => RangeRequest {
                    key: next.clone(),
                    range_end: end.clone(),
                    limit,
                    revision,
                    ..RangeRequest::default()
                },
            };
            let page = match runtime.block_on(etcd.range(req)) {
                Ok(p) => p,
                // Large values: the page is over the size accepted. Fewer
                // keys per page, the same snapshot.
                Err(e) if limit > 1 && e.contains("too large") => {
                    limit = (limit / 2).max(1);
                    continue;
                }
                Err(e) => {
                    self.read_failed(e, resource, &prefix, read, &next, out);
                    return;
                }
            };
            if revision == 0 {
                revision = page.header.as_ref().map_or(0, |h| h.revision);
            }
            for kv in &page.kvs {
                read += 1;
                let verdict = judge(resource, kind, &kv.key, &kv.value, self.ring.as_ref());
                *counts.entry(verdict.form()).or_default() += 1;
                self.report(resource, kind, &kv.key, verdict, out);
            }
            if let Some(p) = &self.progress {
                p(resource, read);
            }
            if let Some(last) = page.kvs.last() {
                next = last.key.clone();
            }
            match &keys {
                Some(keys) => at = (at + limit as usize).min(keys.len()),
                None => match page.kvs.last() {
                    Some(_) if page.more => next.push(0),
                    _ => break,
                },
            }
        }
    }

    /// A request failed after `read` values (the last at `last`).
    fn read_failed(
        &self,
        mut e: String,
        resource: &str,
        prefix: &str,
        read: usize,
        last: &[u8],
        out: &mut Out<'_>,
    ) {
        if read == 0 && self.options.cert.is_some() && closed_at_once(&e) {
            e.push_str(" (etcd closes the connection this way when it does not accept the client certificate: check --cert and --key against its --trusted-ca-file)");
        }
        let after = if read == 0 {
            String::new()
        } else {
            format!(
                " after {read} {resource} (the last one read: {})",
                String::from_utf8_lossy(last)
            )
        };
        out.error(InputError {
            file: prefix.into(),
            line: 0,
            column: 0,
            message: format!("{e}{after}; what was read is reported"),
        });
    }

    fn report(&self, resource: &str, kind: &str, key: &[u8], verdict: Verdict, out: &mut Out<'_>) {
        let key_text = String::from_utf8_lossy(key).into_owned();
        let rest = key_text
            .strip_prefix(&format!("{}/{resource}/", self.prefix))
            .unwrap_or(&key_text);
        let (namespace, name) = match rest.split_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (None, rest.to_string()),
        };
        let who = match &namespace {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        let rewrite = format!("kubectl get {resource} -A -o json | kubectl replace -f -");
        let (meta, message): (&RuleMeta, String) = match verdict {
            Verdict::Current(_) | Verdict::Encrypted(_) => return,
            Verdict::Plaintext(form) if resource == "secrets" => (
                &SECRET_PLAINTEXT,
                format!("{who} is stored unencrypted in etcd ({form}): anyone with etcd's data, a snapshot or a backup reads its values"),
            ),
            Verdict::Plaintext(form) => {
                // Only a finding where the configuration asks for encryption.
                let write = self.ring.as_ref().and_then(|r| r.entry_for(resource, "")).and_then(|e| e.providers.first());
                match write {
                    Some(p) if !matches!(p, crate::keyring::ProviderConfig::Identity) => (
                        &STORED_PLAINTEXT,
                        format!("{who} is stored unencrypted ({form}) although the configuration writes {resource} with {}; rewrite it: {rewrite}", p.describe()),
                    ),
                    _ => return,
                }
            }
            Verdict::Missing(form) => (
                &KEY_MISSING,
                format!("{who} is encrypted with {form}, which the configuration does not have: an API server started with it cannot read this {kind} (data loss at the next restart)"),
            ),
            Verdict::Stale { form, write } => (
                &STALE_KEY,
                format!("{who} is encrypted with {form}, not the write key ({write}); rewrite it: {rewrite}"),
            ),
            Verdict::Undecryptable { form, why } => (&UNDECRYPTABLE, format!("{who} is stored with {form}, but {why}")),
            Verdict::Unrecognised(why) => {
                out.error(InputError {
                    file: key_text.as_str().into(),
                    line: 0,
                    column: 0,
                    message: format!("not a stored {kind}: {why}"),
                });
                return;
            }
        };
        out.finding(Finding {
            rule: meta.id,
            severity: meta.severity,
            message,
            object: Arc::new(ObjectRef {
                api_version: "v1".into(),
                kind: kind.to_string(),
                namespace,
                name,
            }),
            container: None,
            path: String::new(),
            file: key_text.as_str().into(),
            line: 0,
            column: 0,
            remediation: meta.remediation,
        });
    }
}

/// Whether a request failed because the peer closed the connection as it
/// was made (TLS 1.3 refuses a client certificate after the handshake, so
/// the client sees only that).
fn closed_at_once(e: &str) -> bool {
    [
        "transport error",
        "broken pipe",
        "connection reset",
        "connection closed",
        "stream closed",
        "BadCertificate",
        "UnknownCA",
    ]
    .iter()
    .any(|w| e.contains(w))
}

#[cfg(test)]
mod tests {
    use super::kind_of;

    #[test]
    fn resources_name_their_kinds() {
        assert_eq!(kind_of("configmaps"), "ConfigMap");
        assert_eq!(kind_of("widgets"), "Widget");
    }
}
