//! Downloading OSV archives: `<base>/<ecosystem>/all.zip`, as OSV serves
//! them from its public bucket, streamed into a temporary file and then
//! imported with [`Db::import`].

use std::io::Write;

use crate::db::{Db, DbError, ImportStats};

/// Where OSV publishes its per-ecosystem archives.
pub const DEFAULT_OSV_URL: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The environment variable that overrides [`DEFAULT_OSV_URL`] (a mirror,
/// an air-gapped copy served over HTTP).
pub const OSV_URL_ENV: &str = "PALISADE_OSV_URL";

/// The archive URL of one ecosystem under `base` (`Red Hat` is
/// percent-encoded as a path segment).
pub fn archive_url(base: &str, ecosystem: &str) -> Result<reqwest::Url, DbError> {
    let bad = |message: String| DbError::Download {
        url: base.to_string(),
        message,
    };
    let mut url = reqwest::Url::parse(base).map_err(|e| bad(format!("invalid base URL: {e}")))?;
    url.path_segments_mut()
        .map_err(|()| bad("base URL cannot have a path".into()))?
        .pop_if_empty()
        .push(ecosystem)
        .push("all.zip");
    Ok(url)
}

/// An HTTPS client for [`Db::update`]: rustls, a connect timeout of 30 s
/// and an overall timeout of 30 minutes per archive (the Debian archive is
/// a few hundred MB).
pub fn http_client() -> Result<reqwest::Client, DbError> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(30 * 60))
        .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DbError::Download {
            url: String::new(),
            message: chain(&e),
        })
}

/// An error and its causes on one line: reqwest's own message ("error
/// sending request") says little without them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl Db {
    /// Downloads the OSV archive of each ecosystem (`Debian`, `Alpine`,
    /// `Ubuntu`, `Red Hat` — the bucket's top-level names) from
    /// `$PALISADE_OSV_URL` or [`DEFAULT_OSV_URL`], and imports it. The
    /// client decides timeouts and proxies; it should use rustls (this
    /// crate's `reqwest` has no other TLS). Import runs on the calling
    /// thread and blocks it for the few seconds it takes.
    pub async fn update(
        &mut self,
        ecosystems: &[&str],
        client: &reqwest::Client,
    ) -> Result<ImportStats, DbError> {
        let base = std::env::var(OSV_URL_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_OSV_URL.to_string());
        self.update_from(&base, ecosystems, client).await
    }

    /// [`Db::update`] from an explicit base URL.
    pub async fn update_from(
        &mut self,
        base: &str,
        ecosystems: &[&str],
        client: &reqwest::Client,
    ) -> Result<ImportStats, DbError> {
        let mut total = ImportStats::default();
        for eco in ecosystems {
            let url = archive_url(base, eco)?;
            let file = download(client, &url).await?;
            total += self.import(file.path())?;
        }
        Ok(total)
    }
}

/// Streams `url` into a temporary file (removed when dropped).
async fn download(
    client: &reqwest::Client,
    url: &reqwest::Url,
) -> Result<tempfile::NamedTempFile, DbError> {
    let fail = |message: String| DbError::Download {
        url: url.to_string(),
        message,
    };
    let mut resp = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| fail(chain(&e.without_url())))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP {}", resp.status())));
    }
    let mut file = tempfile::Builder::new()
        .prefix("palisade-osv-")
        .suffix(".zip")
        .tempfile()
        .map_err(|e| fail(format!("creating a temporary file: {e}")))?;
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| fail(chain(&e.without_url())))?
    {
        file.write_all(&chunk)
            .map_err(|e| fail(format!("writing {}: {e}", file.path().display())))?;
    }
    file.flush()
        .map_err(|e| fail(format!("writing {}: {e}", file.path().display())))?;
    Ok(file)
}
