//! A real etcd (Debian's `etcd-server`) on loopback for the tests: TLS
//! with client-certificate auth, as a kubeadm control plane runs it, with
//! certificates made for the test. Values are written with palisade-etcd's
//! test-only Put in exactly the formats the API server writes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use palisade_etcd::{Etcd, EtcdOptions};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// Where the etcd binary is.
pub const ETCD: &str = "/usr/bin/etcd";

/// A CA and a certificate it signed, written to `dir` as `<name>-ca.crt`,
/// `<name>.crt`, `<name>.key`.
pub fn pki(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, format!("{name} CA"));
    let ca = CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, name);
    let cert = p.signed_by(&key, &ca).unwrap();
    let paths = (
        dir.join(format!("{name}-ca.crt")),
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running etcd; stopped when dropped.
pub struct Server {
    child: Child,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The CA of etcd's serving certificate (it signed the client's too).
    pub ca: PathBuf,
    /// A client certificate etcd accepts.
    pub cert: PathBuf,
    /// Its key.
    pub key: PathBuf,
    /// Holds the data directory and certificates.
    pub dir: tempfile::TempDir,
}

impl Server {
    /// Starts etcd with TLS and client-certificate auth and waits until it answers.
    pub fn start() -> Server {
        assert!(
            Path::new(ETCD).exists(),
            "{ETCD} is needed (scripts/test.sh installs Debian's etcd-server)"
        );
        let dir = tempfile::tempdir().unwrap();
        let (ca, server_cert, server_key) = pki(dir.path(), "etcd");
        // The serving certificate doubles as the client's (same CA, no
        // extended key usage restricting it).
        let (client, peer) = (free_port(), free_port());
        let url = format!("https://127.0.0.1:{client}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = Command::new(ETCD)
            .args([
                "--name",
                "test",
                "--data-dir",
                dir.path().join("data").to_str().unwrap(),
                "--listen-client-urls",
                &url,
                "--advertise-client-urls",
                &url,
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-cluster",
                &format!("test=http://127.0.0.1:{peer}"),
                "--cert-file",
                server_cert.to_str().unwrap(),
                "--key-file",
                server_key.to_str().unwrap(),
                "--trusted-ca-file",
                ca.to_str().unwrap(),
                "--client-cert-auth",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        let server = Server {
            child,
            url,
            ca: ca.clone(),
            cert: server_cert,
            key: server_key,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let rt = runtime();
        loop {
            if rt.block_on(async { server.client().await.is_ok() }) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "etcd did not start: {}",
                std::fs::read_to_string(server.dir.path().join("etcd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The options palisade needs to read it.
    pub fn options(&self) -> EtcdOptions {
        EtcdOptions {
            endpoints: vec![self.url.clone()],
            cacert: Some(self.ca.clone()),
            cert: Some(self.cert.clone()),
            key: Some(self.key.clone()),
            timeout: Duration::from_secs(5),
            ..EtcdOptions::default()
        }
    }

    /// A connected client that answers a Range.
    pub async fn client(&self) -> Result<Etcd, String> {
        let mut c = Etcd::connect(&self.options()).await?;
        c.range(palisade_etcd::client::RangeRequest {
            key: b"/".to_vec(),
            limit: 1,
            ..Default::default()
        })
        .await?;
        Ok(c)
    }

    /// Writes `values` (key, value).
    pub fn put_all(&self, values: &[(String, Vec<u8>)]) {
        let rt = runtime();
        rt.block_on(async {
            let mut c = self.client().await.unwrap();
            for (k, v) in values {
                c.put(k.as_bytes(), v).await.unwrap();
            }
        });
    }

    /// `--endpoints … --cacert … --cert … --key …` for the command line.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--endpoints".into(),
            self.url.clone(),
            "--cacert".into(),
            self.ca.display().to_string(),
            "--cert".into(),
            self.cert.display().to_string(),
            "--key".into(),
            self.key.display().to_string(),
        ]
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A runtime for the client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
