//! Test harness shared by the registry tests of palisade-oci and the CLI:
//! a real `docker-registry` on a free loopback port (plain HTTP, or TLS with
//! a freshly generated CA and htpasswd basic auth), and OCI image layouts
//! written by hand and pushed with `skopeo`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
const INSTALL_HINT: &str =
    "install them with: apt-get install -y docker-registry skopeo (CI installs them)";
const SECURE_INSTALL_HINT: &str =
    "install them with: apt-get install -y openssl apache2-utils (CI installs them)";

/// A running `docker-registry`, killed on drop.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// How skopeo reaches it: plain HTTP, or TLS with a CA and credentials.
    access: Access,
    _dir: tempfile::TempDir,
}

/// How skopeo talks to a test registry.
enum Access {
    /// Plain HTTP, no credentials.
    Plain,
    /// TLS verified against the CA in `cert_dir` (skopeo reads `*.crt` there as
    /// roots), with basic-auth credentials `user:password`.
    Secure { cert_dir: PathBuf, creds: String },
}

impl Access {
    /// skopeo flags for a `copy` destination.
    fn dest_flags(&self) -> Vec<String> {
        match self {
            Access::Plain => vec!["--dest-tls-verify=false".into()],
            Access::Secure { cert_dir, creds } => vec![
                "--dest-cert-dir".into(),
                cert_dir.display().to_string(),
                "--dest-creds".into(),
                creds.clone(),
            ],
        }
    }

    /// skopeo flags for `inspect`.
    fn inspect_flags(&self) -> Vec<String> {
        match self {
            Access::Plain => vec!["--tls-verify=false".into()],
            Access::Secure { cert_dir, creds } => vec![
                "--cert-dir".into(),
                cert_dir.display().to_string(),
                "--creds".into(),
                creds.clone(),
            ],
        }
    }
}

/// A `docker-registry` that serves TLS with a certificate for `IP:127.0.0.1`
/// signed by a CA made for this run, and asks for HTTP basic auth from an
/// htpasswd file; killed on drop. Its `registry`'s `push` and `skopeo_*`
/// helpers log in and verify the certificate against that CA.
pub struct SecureRegistry {
    /// The running registry (`registry.host` is `127.0.0.1:PORT`).
    pub registry: Registry,
    /// PEM file of the CA that signed the server certificate.
    pub ca_file: PathBuf,
    /// The one user in the htpasswd file.
    pub user: String,
    /// Its password.
    pub password: String,
}

impl SecureRegistry {
    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.registry.host
    }

    /// A Docker `config.json` holding `user:password` for this registry.
    pub fn docker_config(&self, user: &str, password: &str) -> DockerConfig {
        DockerConfig::with_auth(self.host(), user, password)
    }
}

/// A Docker `config.json` in its own temporary directory.
pub struct DockerConfig {
    /// The `config.json` file.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl DockerConfig {
    /// `{"auths": {HOST: {"auth": base64(user:password)}}}`, as `docker login` writes it.
    pub fn with_auth(host: &str, user: &str, password: &str) -> Self {
        let auth = base64(format!("{user}:{password}").as_bytes());
        Self::write(&serde_json::json!({"auths": {host: {"auth": auth}}}))
    }

    /// A config with no credentials at all (so the test does not read `~/.docker`).
    pub fn empty() -> Self {
        Self::write(&serde_json::json!({"auths": {}}))
    }

    fn write(config: &serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        Self { path, _dir: dir }
    }
}

impl Registry {
    /// Starts a registry with filesystem storage; panics (fails the test) when
    /// the binaries are missing. The port is picked free and then handed to
    /// the registry, so another process can take it in between: a registry
    /// that exits at once is started again on a fresh port (five tries), and
    /// its own error output is shown when every try fails.
    pub fn start() -> Self {
        require_tools(&[REGISTRY_BIN, "/usr/bin/skopeo"], INSTALL_HINT);
        Self::launch(tempfile::tempdir().unwrap(), "", Access::Plain)
    }

    /// Starts a registry that speaks only TLS (certificate for `IP:127.0.0.1`
    /// from a CA generated with the `openssl` CLI) and accepts only `user`
    /// with `password` (htpasswd bcrypt entry made by `htpasswd -B`, the only
    /// hash docker-registry accepts).
    pub fn start_secure(user: &str, password: &str) -> SecureRegistry {
        require_tools(&[REGISTRY_BIN, "/usr/bin/skopeo"], INSTALL_HINT);
        require_tools(
            &["/usr/bin/openssl", "/usr/bin/htpasswd"],
            SECURE_INSTALL_HINT,
        );
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        let (ca_file, cert, key) = make_certificates(&certs);
        let htpasswd = dir.path().join("htpasswd");
        run(Command::new("htpasswd")
            .args(["-B", "-b", "-c"])
            .arg(&htpasswd)
            .args([user, password]));
        // The `http:` section is open (its last line is `addr:`), so `tls:`
        // indented by two joins it; `auth:` starts a new top-level section.
        let extra = format!(
            "  tls:\n    certificate: {}\n    key: {}\nauth:\n  htpasswd:\n    realm: palisade-test\n    path: {}\n",
            cert.display(),
            key.display(),
            htpasswd.display()
        );
        // skopeo trusts every `*.crt` in its cert dir; give it only the CA.
        let cert_dir = dir.path().join("skopeo-certs");
        std::fs::create_dir_all(&cert_dir).unwrap();
        std::fs::copy(&ca_file, cert_dir.join("ca.crt")).unwrap();
        let access = Access::Secure {
            cert_dir,
            creds: format!("{user}:{password}"),
        };
        SecureRegistry {
            registry: Self::launch(dir, &extra, access),
            ca_file,
            user: user.to_string(),
            password: password.to_string(),
        }
    }

    /// Runs `docker-registry serve` with `extra` appended to the config (see
    /// [`Registry::start`] for the port retries).
    fn launch(dir: tempfile::TempDir, extra: &str, access: Access) -> Self {
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let tls = matches!(access, Access::Secure { .. });
        let mut last_error = String::new();
        for attempt in 0..5 {
            let host = format!("127.0.0.1:{}", free_port());
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n{extra}",
                    storage.display()
                ),
            )
            .unwrap();
            let log_path = dir.path().join(format!("registry-{attempt}.log"));
            let log = std::fs::File::create(&log_path).unwrap();
            let mut child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {REGISTRY_BIN}: {e}; {INSTALL_HINT}"));
            match wait_ready(&mut child, &host, tls) {
                Ok(()) => {
                    return Self {
                        child,
                        host,
                        access,
                        _dir: dir,
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
                    last_error = format!("{e}: {}", output.trim());
                }
            }
        }
        panic!("docker-registry did not start: {last_error}");
    }

    /// Pushes the layout's `tag` to `REPO:TAG` (`dest`) in this registry.
    pub fn push(&self, layout: &Path, tag: &str, dest: &str) {
        let dest = format!("docker://{}/{dest}", self.host);
        let out = Command::new("skopeo")
            .args(["--insecure-policy", "copy", "--all"])
            .args(self.access.dest_flags())
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(&dest)
            .output()
            .unwrap_or_else(|e| panic!("cannot run skopeo: {e}; {INSTALL_HINT}"));
        assert!(
            out.status.success(),
            "skopeo copy to {dest} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The digest skopeo reports for `REPO:TAG` (of the top-level manifest).
    pub fn skopeo_digest(&self, repo_tag: &str) -> String {
        let raw = self.skopeo_raw(repo_tag);
        format!("sha256:{}", hex::encode(Sha256::digest(&raw)))
    }

    /// `skopeo inspect --raw`: the manifest bytes as the registry serves them.
    pub fn skopeo_raw(&self, repo_tag: &str) -> Vec<u8> {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw"])
            .args(self.access.inspect_flags())
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .unwrap_or_else(|e| panic!("cannot run skopeo: {e}; {INSTALL_HINT}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `Digest` from plain `skopeo inspect` (single-platform images).
    pub fn skopeo_inspect_digest(&self, repo_tag: &str) -> String {
        let out = Command::new("skopeo")
            .arg("inspect")
            .args(self.access.inspect_flags())
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .unwrap_or_else(|e| panic!("cannot run skopeo: {e}; {INSTALL_HINT}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["Digest"].as_str().unwrap().to_string()
    }
}

/// Writes a CA and a server certificate for `IP:127.0.0.1` signed by it into
/// `dir` with the `openssl` CLI; returns (CA PEM, server cert PEM, server key).
/// The extensions are the ones webpki (rustls) insists on: a CA marked as one,
/// and a leaf with the IP in its SAN and `serverAuth` usage.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = dir.join("ca.key");
    let ca = dir.join("ca.pem");
    let key = dir.join("server.key");
    let csr = dir.join("server.csr");
    let cert = dir.join("server.pem");
    let ext = dir.join("server.ext");
    run(Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-days", "2"])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-subj", "/CN=palisade test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca));
    run(Command::new("openssl")
        .args(["req", "-new", "-nodes"])
        .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-CAserial"])
        .arg(dir.join("ca.srl"))
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    (ca, cert, key)
}

/// Runs a helper tool to completion; its stderr is shown when it fails.
fn run(command: &mut Command) -> Vec<u8> {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}; {SECURE_INSTALL_HINT}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Standard base64 with padding, through `openssl base64` (already needed for
/// the certificates) rather than a dev-dependency shared with the CLI's tests.
fn base64(data: &[u8]) -> String {
    let mut child = Command::new("openssl")
        .args(["base64", "-A"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run openssl: {e}; {SECURE_INSTALL_HINT}"));
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl base64 failed");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Waits until the registry answers; an error when it exits first. A plain
/// registry must answer `GET /v2/` with 200; a TLS one is probed with the
/// same plain-HTTP request, which Go's TLS server answers with 400 ("Client
/// sent an HTTP request to an HTTPS server") once it is serving.
fn wait_ready(child: &mut Child, host: &str, tls: bool) -> Result<(), String> {
    let ready = if tls { 400 } else { 200 };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("docker-registry on {host} exited early ({status})"));
        }
        if http_status(host, "/v2/") == Some(ready) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "docker-registry on {host} did not answer GET /v2/ within 20 s"
    ))
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require_tools(tools: &[&str], hint: &str) {
    for tool in tools {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: these tests need a real registry; {hint}"
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A free port with nothing listening (for "unreachable" tests).
pub fn closed_port() -> u16 {
    free_port()
}

fn http_status(host: &str, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

/// An OCI image layout being written by hand.
pub struct Layout {
    /// The layout directory.
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
    index_entries: Vec<serde_json::Value>,
}

/// A descriptor of a blob written into a layout.
#[derive(Clone, Debug)]
pub struct Blob {
    /// `sha256:...`.
    pub digest: String,
    /// Length in bytes.
    pub size: usize,
}

impl Layout {
    /// An empty layout.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("layout");
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let layout = Self {
            dir,
            _tmp: tmp,
            index_entries: Vec::new(),
        };
        layout.write_index();
        layout
    }

    /// Writes `bytes` as a blob named by its sha256.
    pub fn blob(&self, bytes: &[u8]) -> Blob {
        let hex = hex::encode(Sha256::digest(bytes));
        std::fs::write(self.dir.join("blobs/sha256").join(&hex), bytes).unwrap();
        Blob {
            digest: format!("sha256:{hex}"),
            size: bytes.len(),
        }
    }

    /// Writes a single-platform image (config + one gzip layer holding a file
    /// with `content`) and returns its manifest blob.
    pub fn image(&self, os: &str, arch: &str, content: &str) -> Blob {
        let (tar, tar_gz) = layer_bytes(content);
        let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
        let layer = self.blob(&tar_gz);
        let config = serde_json::json!({
            "architecture": arch,
            "os": os,
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        });
        let config = self.blob(&serde_json::to_vec(&config).unwrap());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.digest, "size": config.size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer.digest, "size": layer.size}],
        });
        self.blob(&serde_json::to_vec(&manifest).unwrap())
    }

    /// Writes an image index of `(os, arch, manifest)` entries and returns its blob.
    pub fn index(&self, entries: &[(&str, &str, &Blob)]) -> Blob {
        let manifests: Vec<serde_json::Value> = entries
            .iter()
            .map(|(os, arch, m)| {
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": m.digest, "size": m.size,
                    "platform": {"os": os, "architecture": arch},
                })
            })
            .collect();
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        self.blob(&serde_json::to_vec(&index).unwrap())
    }

    /// Names `blob` (a manifest or index of `media_type`) `tag` in index.json.
    pub fn tag(&mut self, tag: &str, blob: &Blob, media_type: &str) {
        self.index_entries.push(serde_json::json!({
            "mediaType": media_type, "digest": blob.digest, "size": blob.size,
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
        self.write_index();
    }

    fn write_index(&self) {
        let index = serde_json::json!({"schemaVersion": 2, "manifests": self.index_entries});
        std::fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
    }
}

/// A one-file tar and its gzip, made with the system `tar` and `gzip`.
fn layer_bytes(content: &str) -> (Vec<u8>, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("hello.txt"), content).unwrap();
    let tar = Command::new("tar")
        .args(["-C"])
        .arg(tmp.path())
        .args(["-cf", "-", "hello.txt"])
        .output()
        .unwrap();
    assert!(tar.status.success());
    let mut gzip = Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    gzip.stdin.take().unwrap().write_all(&tar.stdout).unwrap();
    let gz = gzip.wait_with_output().unwrap();
    assert!(gz.status.success());
    (tar.stdout, gz.stdout)
}

/// Media types used in index.json.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A registry holding `test/app:v1` (single linux/amd64 image) and
/// `test/multi:v1` (index of linux/amd64 and linux/arm64).
pub struct Fixture {
    /// The running registry.
    pub registry: Registry,
    /// Manifest of `test/app:v1`.
    pub app: Blob,
    /// Index of `test/multi:v1`.
    pub multi: Blob,
    /// Its linux/amd64 manifest.
    pub multi_amd64: Blob,
    /// Its linux/arm64 manifest.
    pub multi_arm64: Blob,
}

impl Fixture {
    /// Starts a registry and pushes the images.
    pub fn new() -> Self {
        let registry = Registry::start();
        let mut layout = Layout::new();
        let app = layout.image("linux", "amd64", "app");
        layout.tag("v1", &app, OCI_MANIFEST);
        let multi_amd64 = layout.image("linux", "amd64", "multi amd64");
        let multi_arm64 = layout.image("linux", "arm64", "multi arm64");
        let multi = layout.index(&[
            ("linux", "amd64", &multi_amd64),
            ("linux", "arm64", &multi_arm64),
        ]);
        layout.tag("multi", &multi, OCI_INDEX);
        registry.push(&layout.dir, "v1", "test/app:v1");
        registry.push(&layout.dir, "multi", "test/multi:v1");
        Self {
            registry,
            app,
            multi,
            multi_amd64,
            multi_arm64,
        }
    }
}
