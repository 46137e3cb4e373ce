//! Live namespace labels: a kube-rs watch on the cluster's Namespaces, so the
//! webhook honours `pod-security.kubernetes.io/*` labels (and the policy's
//! `modes[].matchLabels`) as they are set in the cluster. Labels from the
//! cluster take precedence over `admission.namespaceLabels` in the policy
//! file, which remains the source out of cluster.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::Api;

/// Labels by namespace name.
type LabelMap = HashMap<String, BTreeMap<String, String>>;

/// The labels of every namespace, as last seen in the cluster.
#[derive(Debug, Default)]
pub struct LiveNamespaces {
    map: RwLock<LabelMap>,
    synced: AtomicBool,
}

impl LiveNamespaces {
    /// The labels of `namespace`, if the cluster has it.
    pub fn labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(namespace)
            .cloned()
    }

    /// Whether the first full list has been received.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }

    fn apply(&self, ns: Namespace) {
        let Some(name) = ns.metadata.name else { return };
        let labels = ns.metadata.labels.unwrap_or_default();
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, labels);
    }

    fn delete(&self, ns: &Namespace) {
        if let Some(name) = &ns.metadata.name {
            self.map
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(name);
        }
    }

    fn replace(&self, all: LabelMap) {
        *self.map.write().unwrap_or_else(|e| e.into_inner()) = all;
        self.synced.store(true, Ordering::Relaxed);
    }
}

/// Keeps `live` up to date from the cluster until the task is dropped.
/// Errors (the API server unreachable, a watch expiring) are logged and
/// retried with backoff; the last known labels stay in use meanwhile.
pub async fn watch(client: kube::Client, live: Arc<LiveNamespaces>) {
    let api: Api<Namespace> = Api::all(client);
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut pending: Option<LabelMap> = None;
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Init) => pending = Some(HashMap::new()),
            Ok(Event::InitApply(ns)) => {
                if let (Some(p), Some(name)) = (pending.as_mut(), ns.metadata.name.clone()) {
                    p.insert(name, ns.metadata.labels.unwrap_or_default());
                }
            }
            Ok(Event::InitDone) => {
                live.replace(pending.take().unwrap_or_default());
                tracing::info!("namespace labels synchronised from the cluster");
            }
            Ok(Event::Apply(ns)) => live.apply(ns),
            Ok(Event::Delete(ns)) => live.delete(&ns),
            Err(e) => tracing::warn!("namespace watch: {e}; retrying"),
        }
    }
}
