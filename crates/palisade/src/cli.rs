//! Command-line arguments as typed (the raw parse). [`crate::config`] turns
//! them into a validated configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use palisade_report::{
    Format, ImageFormat, RbacFormat, RbacPathsFormat, ResolveFormat, RulesFormat, VerifyFormat,
};

/// Kubernetes workload security: Pod Security Standards for manifests.
#[derive(Debug, Parser)]
#[command(name = "palisade", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests (files, directories, or - for stdin).
    Scan(ScanArgs),
    /// Check what runs in a cluster (kubeconfig or in-cluster service
    /// account): the same rules as scan, plus running images and owners.
    Audit(AuditArgs),
    /// Prove from etcd's own data how every Secret is stored: plaintext,
    /// or which provider and key (decrypted in memory with
    /// --encryption-config; values are never printed).
    Etcd(EtcdArgs),
    /// List the rule catalog, or show one rule.
    Rules(RulesArgs),
    /// Write or validate a policy file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the admission webhook (HTTPS): /validate, /mutate, /imagereview.
    Serve(ServeArgs),
    /// Run gator test suites (test.gatekeeper.sh/v1alpha1 Suite) for Gatekeeper policies (Rego or CEL).
    Verify(VerifyArgs),
    /// Query RBAC: who can do what, a subject's rights, escalation paths.
    #[command(subcommand)]
    Rbac(RbacCommand),
    /// Resolve image tags to digests and print pinned references.
    Resolve(ResolveArgs),
    /// Scan what is inside an image: secrets, root user, needless tools,
    /// packages and known vulnerabilities.
    Image(ImageArgs),
    /// Manage the vulnerability database (OSV advisories in SQLite).
    #[command(subcommand)]
    Db(DbCommand),
    /// Write palisade's policy in another enforcer's form (`export vap`:
    /// a ValidatingAdmissionPolicy the API server runs itself).
    #[command(subcommand)]
    Export(crate::export_cmd::ExportCommand),
    /// Verify a Sigstore bundle over a file (keyless or keyed), offline.
    VerifyBundle(crate::verify_bundle_cmd::VerifyBundleArgs),
}

/// `palisade image`.
#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image: a registry reference (`alpine:3.20`), `oci:DIR[:tag]`
    /// (an OCI image layout) or `docker-archive:FILE` (`docker save`).
    pub image: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: ImageFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 when a finding is at or above this severity.
    #[arg(long = "fail-on", default_value = "high", env = "PALISADE_FAIL_ON")]
    pub fail_on: String,
    /// Policy file (secrets tuning; default .palisade.yaml if present).
    #[arg(long, short = 'c', value_name = "FILE", env = "PALISADE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The vulnerability database (default: the user cache directory).
    #[arg(long, value_name = "FILE", env = "PALISADE_VULN_DB")]
    pub db: Option<PathBuf>,
    /// Do not look packages up in the vulnerability database.
    #[arg(long)]
    pub skip_vulnerabilities: bool,
    /// Read only the OS package databases, not what the application brings
    /// (Go and Rust binaries, Python, npm, Java, Composer and Ruby packages).
    #[arg(long)]
    pub skip_applications: bool,
    /// Do not store the result by digest for scan --images and serve.
    #[arg(long)]
    pub no_cache: bool,
    /// Print only the summary line (table format).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Limit: total uncompressed bytes of all layers.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 30)]
    pub max_bytes: u64,
    /// Limit: tar entries of all layers.
    #[arg(long, value_name = "N", default_value_t = 2_000_000)]
    pub max_entries: u64,
    /// Limit: largest file whose content is scanned for secrets.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_file_bytes: u64,
    /// Registries.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `palisade db`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import OSV advisories from an archive (`all.zip`) or a directory of JSON files.
    Import {
        /// Archives or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// The database (default: the user cache directory).
        #[arg(long, value_name = "FILE", env = "PALISADE_VULN_DB")]
        db: Option<PathBuf>,
    },
    /// Download the OSV archives of the given ecosystems and import them
    /// (base address from PALISADE_OSV_URL, else OSV's public bucket).
    Update {
        /// OSV ecosystems: the distributions' and the application ecosystems'.
        #[arg(long = "ecosystem", default_values_t = ["Debian", "Ubuntu", "Alpine", "Red Hat", "Go", "PyPI", "npm", "Maven", "crates.io", "RubyGems", "Packagist"].map(String::from))]
        ecosystems: Vec<String>,
        /// The database (default: the user cache directory).
        #[arg(long, value_name = "FILE", env = "PALISADE_VULN_DB")]
        db: Option<PathBuf>,
    },
    /// Where the database is and how many advisories it holds.
    Status {
        /// The database (default: the user cache directory).
        #[arg(long, value_name = "FILE", env = "PALISADE_VULN_DB")]
        db: Option<PathBuf>,
    },
}

/// `palisade resolve`.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Image references (`alpine:3.20`, `ghcr.io/org/app:1.2`, `REPO@sha256:...`).
    #[arg(required = true)]
    pub images: Vec<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ResolveFormat,
}

/// How network commands reach registries (`resolve`, `scan`, `serve`).
#[derive(Debug, Args, Clone)]
pub struct RegistryArgs {
    /// Registry (`HOST:PORT`) to reach over plain HTTP; repeatable.
    #[arg(
        long = "insecure-registry",
        value_name = "HOST:PORT",
        env = "PALISADE_INSECURE_REGISTRIES",
        value_delimiter = ','
    )]
    pub insecure_registries: Vec<String>,
    /// Platform chosen from multi-arch images: `os/arch[/variant]`.
    #[arg(long, default_value = "linux/amd64", env = "PALISADE_PLATFORM")]
    pub platform: String,
    /// Docker `config.json` with registry credentials (default: `$DOCKER_CONFIG` or `~/.docker`).
    #[arg(long, value_name = "FILE", env = "PALISADE_REGISTRY_CONFIG")]
    pub registry_config: Option<PathBuf>,
    /// PEM file of extra CA certificates for registries.
    #[arg(long, value_name = "FILE", env = "PALISADE_REGISTRY_CA")]
    pub registry_ca: Option<PathBuf>,
    /// Timeout of each registry request, in seconds.
    #[arg(
        long = "registry-timeout",
        alias = "timeout",
        default_value_t = 30,
        env = "PALISADE_REGISTRY_TIMEOUT"
    )]
    pub timeout: u64,
}

/// `palisade verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Suite files or directories (`DIR/...` as in gator: recursive).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: VerifyFormat,
    /// The engine of templates that carry both Rego and CEL code.
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
    /// Run only the tests and cases REGEX selects, as gator does:
    /// `TEST//CASE` (either side may be empty), or one regex matching a
    /// case's name or its test's name.
    #[arg(long, short = 'r', value_name = "REGEX")]
    pub run: Option<String>,
}

/// `palisade rbac`. Each reads the same inputs as `scan` (files,
/// directories, `-`): RBAC objects, ServiceAccounts and workloads, or a
/// cluster dump (`kubectl get -A -o yaml ...`).
#[derive(Debug, Subcommand)]
pub enum RbacCommand {
    /// Subjects that may VERB RESOURCE, with the binding, role and rule that grant it.
    WhoCan {
        /// Verb (`get`, `create`, `impersonate`, ...).
        verb: String,
        /// Resource: `secrets`, `pods/exec`, `deployments.apps`, or a URL such as `/metrics`.
        resource: String,
        /// Only grants that apply in this namespace (default: every namespace and cluster-wide).
        #[arg(long, short = 'n')]
        namespace: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: RbacFormat,
        /// Files, directories, or - for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The effective rules of SUBJECT: `User:alice`, `Group:devs`,
    /// `ServiceAccount:NS:NAME` or `system:serviceaccount:NS:NAME`.
    Can {
        /// The subject.
        subject: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: RbacFormat,
        /// Files, directories, or - for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Privilege-escalation paths (pod → ServiceAccount → binding → role → rule).
    Paths {
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: RbacPathsFormat,
        /// Files, directories, or - for stdin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

/// `palisade serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PALISADE_LISTEN", default_value = "0.0.0.0:8443")]
    pub listen: String,
    /// Serving certificate chain (PEM); reloaded when it changes.
    #[arg(long, env = "PALISADE_TLS_CERT", value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// Private key of the certificate (PEM); reloaded when it changes.
    #[arg(long, env = "PALISADE_TLS_KEY", value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Require client certificates signed by this CA bundle (PEM).
    #[arg(long, env = "PALISADE_CLIENT_CA", value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// The policy file (default: .palisade.yaml if present); reloaded when it changes.
    #[arg(long, short = 'c', env = "PALISADE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the decision log (one JSON line per decision) to FILE instead of stdout.
    #[arg(long, env = "PALISADE_DECISION_LOG", value_name = "FILE")]
    pub decision_log: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "PALISADE_MAX_BODY_BYTES", default_value_t = 3 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Requests evaluated at once (more wait).
    #[arg(long, env = "PALISADE_MAX_CONCURRENT", default_value_t = 256)]
    pub max_concurrent: usize,
    /// Seconds allowed to receive a request body (and its headers).
    #[arg(long, env = "PALISADE_REQUEST_TIMEOUT", default_value_t = 10)]
    pub request_timeout: u64,
    /// Seconds between checks of the certificate and policy files.
    #[arg(long, env = "PALISADE_RELOAD_INTERVAL", default_value_t = 2.0)]
    pub reload_interval: f64,
    /// Seconds in-flight requests may take to finish on SIGTERM.
    #[arg(long, env = "PALISADE_SHUTDOWN_GRACE", default_value_t = 25)]
    pub shutdown_grace: u64,
    /// Worker threads (default: one per core).
    #[arg(long, env = "PALISADE_THREADS")]
    pub threads: Option<usize>,
    /// Watch the cluster's Namespaces for their labels (pod-security.kubernetes.io/*),
    /// connecting with the in-cluster service account or KUBECONFIG.
    #[arg(long, env = "PALISADE_WATCH_NAMESPACES")]
    pub watch_namespaces: bool,
    /// Registries, for images.verify and images.mutateDigest.
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Seconds allowed for all registry checks of one request (keep it under
    /// the webhook's timeoutSeconds); images without an answer by then are
    /// registry errors, decided by images.failurePolicy.
    #[arg(long, env = "PALISADE_REGISTRY_DEADLINE", default_value_t = 4.0)]
    pub registry_deadline: f64,
    /// Connection and memory limits.
    #[command(flatten)]
    pub connections: crate::serve_cmd::ConnectionArgs,
}

/// `palisade config`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented default policy (to stdout, or to FILE).
    Init {
        /// Where to write it (refuses to overwrite an existing file).
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Validate a policy file; errors give file:line:col and exit status 2.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

/// What `scan` and `audit` share: the policy, the output and the exit status.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Policy file (default: .palisade.yaml in the working directory, if present).
    #[arg(long, short = 'c', value_name = "FILE", env = "PALISADE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Pod Security Standards level: privileged, baseline or restricted
    /// [default: the policy file's, else restricted].
    #[arg(long, env = "PALISADE_LEVEL")]
    pub level: Option<String>,

    /// Pod Security Standards version: v1.0 .. v1.37, or latest
    /// [default: the policy file's, else latest].
    #[arg(long = "pss-version", env = "PALISADE_PSS_VERSION")]
    pub pss_version: Option<String>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with status 1 when a finding is at or above this severity:
    /// info, low, medium, high or critical.
    #[arg(long = "fail-on", default_value = "low", env = "PALISADE_FAIL_ON")]
    pub fail_on: String,

    /// Print only the summary line and errors (table format).
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Worker threads (default: one per core; 1 checks everything in order on one thread).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Gatekeeper ConstraintTemplates and Constraints to evaluate (files or
    /// directories; repeatable; added to the policy file's `constraints`).
    #[arg(long = "policy", value_name = "PATH")]
    pub policy: Vec<PathBuf>,
    /// The engine of ConstraintTemplates that carry both Rego and
    /// K8sNativeValidation (CEL) code: auto runs the CEL, as Gatekeeper does.
    #[arg(long, value_enum, default_value = "auto")]
    pub engine: EngineArg,
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// CEL where a template has it, else Rego (Gatekeeper's precedence).
    Auto,
    /// Rego where a template has it.
    Rego,
    /// CEL where a template has it.
    Cel,
}

impl From<EngineArg> for palisade_rego::EnginePreference {
    fn from(e: EngineArg) -> Self {
        match e {
            EngineArg::Auto => palisade_rego::EnginePreference::Auto,
            EngineArg::Rego => palisade_rego::EnginePreference::Rego,
            EngineArg::Cel => palisade_rego::EnginePreference::Cel,
        }
    }
}

/// `palisade scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan (directories recursively: .yaml, .yml,
    /// .json); `-` reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Policy, output and exit status.
    #[command(flatten)]
    pub check: CheckArgs,
    /// Extra objects for the constraints' `data.inventory` (files or directories; repeatable).
    #[arg(long, value_name = "PATH")]
    pub inventory: Vec<PathBuf>,
    /// Report, for every image written with a tag, the digest the tag points
    /// to now (image/resolved-digest, info), asking the registry.
    #[arg(long, conflicts_with = "offline")]
    pub resolve: bool,
    /// Render each directory tree holding a kustomization with
    /// `kubectl kustomize` (kubectl must be on PATH) and scan what it
    /// renders, located in the source files the objects come from.
    #[arg(long)]
    pub kustomize: bool,
    /// Check what is inside every image (image/vulnerable, image/secrets):
    /// the stored result of palisade image for the image's digest, or a scan
    /// now when there is none (images.content in the policy sets thresholds).
    #[arg(long, conflicts_with = "offline")]
    pub images: bool,
    /// Never ask a registry: the network rules (image/signature,
    /// image/resolved-digest) are skipped, and the summary says so.
    #[arg(long, env = "PALISADE_OFFLINE")]
    pub offline: bool,
    /// Registries, for images.verify and --resolve.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `palisade audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// kubeconfig file (default: KUBECONFIG, ~/.kube/config, else the
    /// in-cluster service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context (default: its current context).
    #[arg(long)]
    pub context: Option<String>,
    /// Read one namespace only (cluster-scoped objects are still read).
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// List Secrets as metadata only (names, annotations, type): listing
    /// Secrets whole returns every value, so palisade does not by default.
    #[arg(long)]
    pub secrets: bool,
    /// List Secrets whole and check their values in memory for hardcoded
    /// credentials (never printed). Needs `list` on secrets.
    #[arg(long)]
    pub secret_values: bool,
    /// Write the findings to the cluster as PolicyReports (server-side
    /// apply, field manager `palisade`; one per namespace and a
    /// ClusterPolicyReport) and delete palisade's stale ones.
    #[arg(long)]
    pub apply_reports: bool,
    /// Objects per LIST page.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub page_size: u32,
    /// Seconds allowed for each API request.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub request_timeout: u64,
    /// Policy, output and exit status.
    #[command(flatten)]
    pub check: CheckArgs,
    /// Never ask a registry (image/signature is not checked).
    #[arg(long, env = "PALISADE_OFFLINE")]
    pub offline: bool,
    /// Registries, for images.verify.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

impl AuditArgs {
    /// The scan flags of an audit (its input is the cluster).
    pub fn scan_args(&self) -> ScanArgs {
        ScanArgs {
            paths: vec![PathBuf::from("cluster")],
            check: self.check.clone(),
            inventory: Vec::new(),
            resolve: false,
            kustomize: false,
            images: false,
            offline: self.offline,
            registry: self.registry.clone(),
        }
    }
}

/// `palisade etcd`.
#[derive(Debug, Args)]
pub struct EtcdArgs {
    /// etcd client URLs, tried in order (comma-separated or repeated).
    #[arg(
        long,
        value_name = "URL",
        value_delimiter = ',',
        default_value = "https://127.0.0.1:2379"
    )]
    pub endpoints: Vec<String>,
    /// CA certificate etcd's serving certificate is checked against
    /// (the API server's --etcd-cafile).
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Client certificate (the API server's --etcd-certfile).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Client key (the API server's --etcd-keyfile).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The name etcd's certificate must carry, when not the endpoint's host.
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// The API server's EncryptionConfiguration: its keys decrypt each
    /// value in memory, and it is checked with the encryption rules too.
    #[arg(long, value_name = "FILE")]
    pub encryption_config: Option<PathBuf>,
    /// The API server's --etcd-prefix.
    #[arg(long, value_name = "PREFIX", default_value = "/registry")]
    pub prefix: String,
    /// Keys per Range request (halved while a page is over 64 MiB). etcd
    /// before 3.5 walks the whole rest of the range for every page, so
    /// small pages cost time quadratic in the number of Secrets.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub page_size: u32,
    /// Seconds allowed to connect and for each request.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,
    /// Largest page held in memory, in bytes (pages over it are read again
    /// with fewer keys).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_page_bytes: usize,
    /// Policy, output and exit status.
    #[command(flatten)]
    pub check: CheckArgs,
}

impl EtcdArgs {
    /// The scan flags of `palisade etcd`: the input is the EncryptionConfiguration.
    pub fn scan_args(&self) -> ScanArgs {
        ScanArgs {
            paths: vec![self
                .encryption_config
                .clone()
                .unwrap_or_else(|| PathBuf::from("etcd"))],
            check: self.check.clone(),
            inventory: Vec::new(),
            resolve: false,
            kustomize: false,
            images: false,
            offline: true,
            registry: RegistryArgs::default_for_offline(),
        }
    }
}

/// `palisade rules`.
#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id (`pss/privileged`) to show in full.
    pub id: Option<String>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: RulesFormat,
}

impl RegistryArgs {
    /// The defaults, for commands that never ask a registry.
    pub fn default_for_offline() -> Self {
        RegistryArgs {
            insecure_registries: Vec::new(),
            platform: "linux/amd64".into(),
            registry_config: None,
            registry_ca: None,
            timeout: 30,
        }
    }

    /// The registry client's options.
    pub fn client_options(&self) -> anyhow::Result<palisade_oci::ClientOptions> {
        let platform: palisade_oci::Platform = self
            .platform
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--platform: {e}"))?;
        Ok(palisade_oci::ClientOptions {
            insecure_registries: self.insecure_registries.clone(),
            ca_file: self.registry_ca.clone(),
            registry_config: self.registry_config.clone(),
            platform,
            timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            ..palisade_oci::ClientOptions::default()
        })
    }
}
