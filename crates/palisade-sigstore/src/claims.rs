//! The claims a Fulcio certificate carries about the workflow that signed:
//! its extensions under OID 1.3.6.1.4.1.57264.1, read from the leaf.
//!
//! OIDs: <https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md>.
//! The first GitHub extensions (`.1.2` to `.1.6`) hold the raw string;
//! the later ones (`.1.8` on) a DER UTF8String. Where both name the same
//! thing, the later one is read first and the earlier one is the fallback.

use x509_cert::der::asn1::Utf8StringRef;
use x509_cert::der::{Decode, Encode};

/// What the certificate says about the signing workflow (any may be absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// Repository, `owner/name` (`.1.5`, or `.1.12` without its
    /// `https://github.com/` prefix).
    pub repository: Option<String>,
    /// Git ref, `refs/heads/main` (`.1.14`, else `.1.6`).
    pub git_ref: Option<String>,
    /// Workflow name (`.1.4`).
    pub workflow: Option<String>,
    /// The event that ran it, `push` (`.1.20`, else `.1.2`).
    pub trigger: Option<String>,
    /// Commit SHA (`.1.13`, else `.1.3`).
    pub sha: Option<String>,
}

/// Claims to require, each compared exactly (absent: not checked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsPolicy {
    /// `owner/name`.
    pub repository: Option<String>,
    /// `refs/heads/main`.
    pub git_ref: Option<String>,
    /// The workflow name.
    pub workflow: Option<String>,
    /// `push`, `release`, `workflow_dispatch`...
    pub trigger: Option<String>,
}

impl ClaimsPolicy {
    /// Whether nothing is required.
    pub fn is_empty(&self) -> bool {
        self == &ClaimsPolicy::default()
    }

    /// `Err(reason)` naming the first claim that differs.
    pub fn check(&self, got: &Claims) -> Result<(), String> {
        let pairs = [
            ("repository", &self.repository, &got.repository),
            ("ref", &self.git_ref, &got.git_ref),
            ("workflow", &self.workflow, &got.workflow),
            ("trigger", &self.trigger, &got.trigger),
        ];
        for (name, want, got) in pairs {
            if let Some(want) = want {
                if got.as_deref() != Some(want.as_str()) {
                    return Err(format!(
                        "identity mismatch: workflow {name} is {}, not {want:?}",
                        got.as_deref()
                            .map_or("absent".to_string(), |g| format!("{g:?}"))
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The Fulcio arc, 1.3.6.1.4.1.57264.1, as DER OID content bytes.
const FULCIO_ARC: &[u8] = &[0x2b, 6, 1, 4, 1, 0x83, 0xbf, 0x30, 1];

/// The claims of a DER certificate (none when it does not parse).
pub fn claims(cert_der: &[u8]) -> Claims {
    let Ok(cert) = x509_cert::Certificate::from_der(cert_der) else {
        return Claims::default();
    };
    let mut raw: [Option<String>; 21] = Default::default();
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let Ok(oid) = ext.extn_id.to_der() else {
            continue;
        };
        // tag, length, then the arc and one last component under 128.
        let Some(rest) = oid.get(2..).and_then(|o| o.strip_prefix(FULCIO_ARC)) else {
            continue;
        };
        let [n] = rest else { continue };
        let n = usize::from(*n);
        if n >= raw.len() {
            continue;
        }
        let bytes = ext.extn_value.as_bytes();
        raw[n] = if n >= 8 {
            Utf8StringRef::from_der(bytes)
                .ok()
                .map(|s| s.as_str().to_string())
        } else {
            std::str::from_utf8(bytes).ok().map(str::to_string)
        };
    }
    let take = |later: usize, earlier: usize| raw[later].clone().or_else(|| raw[earlier].clone());
    Claims {
        repository: raw[12]
            .as_deref()
            .and_then(|u| u.strip_prefix("https://github.com/"))
            .map(str::to_string)
            .or_else(|| raw[5].clone()),
        git_ref: take(14, 6),
        workflow: raw[4].clone(),
        trigger: take(20, 2),
        sha: take(13, 3),
    }
}
