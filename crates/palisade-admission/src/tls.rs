//! Serving certificates: loaded from PEM files, checked (the key must match
//! the certificate, which must be valid now), and reloaded without a restart
//! when the files change (cert-manager rotates them in place). New TLS
//! handshakes pick up the new certificate; connections already open keep
//! theirs, so no request fails during a rotation.
//!
//! Changes are found by polling the files' modification times and sizes:
//! Kubernetes Secret volumes swap a `..data` symlink, which file-change
//! notifications handle poorly. Files are read through
//! [`crate::files::read_limited`], so a file over the size limit or one
//! that never answers is refused and the previous certificate stays.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

use crate::files::{read_limited, MAX_FILE_BYTES, READ_TIMEOUT};

/// Why certificates could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The key does not belong to the certificate, or rustls refused the pair.
    #[error("{0}")]
    Config(String),
}

/// The bytes of a certificate, key or CA file, within the size and time limits.
fn read_pem(path: &Path, what: &str) -> Result<Vec<u8>, TlsError> {
    read_limited(path, MAX_FILE_BYTES, READ_TIMEOUT)
        .map_err(|e| file_err(path, format!("cannot read {what}: {e}")))
}

fn file_err(path: &Path, message: impl Into<String>) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// The crypto provider used everywhere (aws-lc-rs).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A certificate chain and key read from disk, with the leaf's validity.
struct Loaded {
    key: Arc<CertifiedKey>,
    not_after: i64,
}

fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<Loaded, TlsError> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&read_pem(cert, "certificates")?)
            .collect::<Result<_, _>>()
            .map_err(|e| file_err(cert, format!("invalid PEM: {e}")))?;
    let Some(leaf) = chain.first() else {
        return Err(file_err(cert, "no CERTIFICATE block"));
    };
    let (not_before, not_after) = validity(leaf).map_err(|m| file_err(cert, m))?;
    let now = unix_now();
    if now < not_before {
        return Err(file_err(cert, "the certificate is not valid yet"));
    }
    if now > not_after {
        return Err(file_err(cert, "the certificate has expired"));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read_pem(key, "a private key")?)
        .map_err(|e| file_err(key, format!("no usable private key: {e}")))?;
    let certified = CertifiedKey::from_der(chain, key_der, provider)
        .map_err(|e| TlsError::Config(format!("certificate and key do not match: {e}")))?;
    Ok(Loaded {
        key: Arc::new(certified),
        not_after,
    })
}

/// `notBefore` and `notAfter` of a certificate, in Unix seconds.
fn validity(der: &CertificateDer<'_>) -> Result<(i64, i64), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("invalid certificate: {e}"))?;
    let v = cert.validity();
    Ok((v.not_before.timestamp(), v.not_after.timestamp()))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What identifies a version of the files on disk.
type Stamp = Option<(SystemTime, u64, SystemTime, u64)>;

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let c = std::fs::metadata(cert).ok()?;
    let k = std::fs::metadata(key).ok()?;
    Some((c.modified().ok()?, c.len(), k.modified().ok()?, k.len()))
}

/// The current serving certificate, swapped atomically on reload.
pub struct CertStore {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    not_after: AtomicI64,
    last: Mutex<Stamp>,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish()
    }
}

impl CertStore {
    /// Loads the certificate chain and key; fails if they are unusable.
    pub fn open(cert: &Path, key: &Path) -> Result<CertStore, TlsError> {
        let provider = provider();
        let before = stamp(cert, key);
        let loaded = load(cert, key, &provider)?;
        Ok(CertStore {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            current: ArcSwap::new(loaded.key),
            not_after: AtomicI64::new(loaded.not_after),
            last: Mutex::new(before),
        })
    }

    /// Re-reads the files if they changed. `Ok(true)`: a new certificate is
    /// in use; `Ok(false)`: nothing changed; `Err`: the new files are
    /// unusable (half-written, mismatched) and the old certificate stays;
    /// the next call tries again.
    pub fn reload_if_changed(&self) -> Result<bool, TlsError> {
        let now = stamp(&self.cert, &self.key);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if now == *last {
            return Ok(false);
        }
        let loaded = load(&self.cert, &self.key, &self.provider)?;
        self.current.store(loaded.key);
        self.not_after.store(loaded.not_after, Ordering::Relaxed);
        *last = now;
        Ok(true)
    }

    /// `notAfter` of the serving certificate, in Unix seconds.
    pub fn not_after(&self) -> i64 {
        self.not_after.load(Ordering::Relaxed)
    }

    /// Whether the serving certificate is valid now.
    pub fn valid_now(&self) -> bool {
        unix_now() <= self.not_after()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The rustls server configuration: TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1,
/// certificates from `store`, and client certificates required when
/// `client_ca` is given (the API server can present one).
pub fn server_config(
    store: Arc<CertStore>,
    client_ca: Option<&Path>,
) -> Result<ServerConfig, TlsError> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            let pem = read_pem(ca, "CA certificates")?;
            for c in CertificateDer::pem_slice_iter(&pem) {
                let c = c.map_err(|e| file_err(ca, format!("invalid PEM: {e}")))?;
                roots
                    .add(c)
                    .map_err(|e| file_err(ca, format!("unusable CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(file_err(ca, "no CERTIFICATE block"));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
