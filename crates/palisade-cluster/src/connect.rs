//! Connecting: the in-cluster service account, else a kubeconfig.

use std::path::PathBuf;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// A kubeconfig file (else `KUBECONFIG`, `~/.kube/config`, then the
    /// in-cluster service account).
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig (else its current context).
    pub context: Option<String>,
}

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    /// The client (authentication, TLS and the server's address).
    pub client: Client,
    /// What to call the cluster in reports: the context name, or
    /// `in-cluster`.
    pub name: String,
    /// The API server's URL.
    pub server: String,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("server", &self.server)
            .finish()
    }
}

/// Builds a client as kubectl would find its configuration: `--kubeconfig`,
/// else `KUBECONFIG` / `~/.kube/config`, else the in-cluster service
/// account. Retries are left to the lister, which honours `Retry-After`
/// and says what it did.
pub async fn connect(opts: &ConnectOptions) -> Result<Cluster, String> {
    let kopts = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    let (mut config, name) = match &opts.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
            let name = context_name(&kc, opts.context.as_deref());
            let config = Config::from_custom_kubeconfig(kc, &kopts)
                .await
                .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
            (config, name)
        }
        None => match Kubeconfig::read() {
            Ok(kc) => {
                let name = context_name(&kc, opts.context.as_deref());
                let config = Config::from_custom_kubeconfig(kc, &kopts)
                    .await
                    .map_err(|e| format!("kubeconfig: {e}"))?;
                (config, name)
            }
            Err(read) => {
                if opts.context.is_some() {
                    return Err(format!("--context needs a kubeconfig: {read}"));
                }
                let config = Config::incluster().map_err(|e| {
                    format!("no kubeconfig ({read}) and not in a cluster ({e}): pass --kubeconfig")
                })?;
                (config, "in-cluster".to_string())
            }
        },
    };
    config.default_retry = false;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| format!("cannot build a client: {e}"))?;
    Ok(Cluster {
        client,
        name,
        server,
    })
}

fn context_name(kc: &Kubeconfig, asked: Option<&str>) -> String {
    asked
        .map(str::to_string)
        .or_else(|| kc.current_context.clone())
        .unwrap_or_else(|| "default".to_string())
}
