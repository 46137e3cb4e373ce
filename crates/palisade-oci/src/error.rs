//! Errors of registry operations, sorted into what a user can act on:
//! not found, unauthorized, unreachable, tampered content.

use std::path::PathBuf;

use oci_client::errors::{DigestError, OciDistributionError, OciErrorCode};

/// What went wrong while talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The reference does not parse.
    #[error("{reference}: invalid image reference: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The registry has no such repository, tag or digest.
    #[error("{reference}: not found in the registry")]
    NotFound {
        /// The normalised reference.
        reference: String,
    },
    /// The registry refused the credentials (or their absence).
    #[error("{reference}: unauthorized: {reason}")]
    Unauthorized {
        /// The normalised reference.
        reference: String,
        /// The registry's answer.
        reason: String,
    },
    /// The registry could not be reached, timed out or kept failing (429/5xx).
    #[error("{reference}: registry unreachable: {reason}")]
    Unreachable {
        /// The normalised reference.
        reference: String,
        /// The transport error or last status.
        reason: String,
    },
    /// Fetched bytes do not hash to the digest they were served under.
    #[error("{reference}: digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        /// The normalised reference.
        reference: String,
        /// The digest the content was requested or served under.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// A blob is larger than the caller allows.
    #[error("{reference}: blob is larger than the limit of {limit} bytes{}", size.map(|s| format!(" ({s} bytes)")).unwrap_or_default())]
    TooLarge {
        /// The blob, as `registry/repository@digest`.
        reference: String,
        /// The limit in bytes.
        limit: u64,
        /// The size the registry announced, when it did.
        size: Option<u64>,
    },
    /// An image index has no manifest for the requested platform.
    #[error("{reference}: no manifest for platform {platform} (index has: {available})")]
    NoPlatform {
        /// The normalised reference.
        reference: String,
        /// The requested platform.
        platform: String,
        /// Platforms the index lists.
        available: String,
    },
    /// Any other registry answer this client cannot use.
    #[error("{reference}: registry error: {reason}")]
    Registry {
        /// The normalised reference.
        reference: String,
        /// The registry's answer.
        reason: String,
    },
    /// A local file (CA bundle, registry config) could not be used.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// Why it could not be used.
        reason: String,
    },
    /// An HTTP status kept as-is so that the retry logic can see it.
    #[error("{reference}: registry answered HTTP {code}: {message}")]
    Status {
        /// The normalised reference.
        reference: String,
        /// The HTTP status code.
        code: u16,
        /// The response body, as text.
        message: String,
    },
}

impl OciError {
    /// Whether trying the same request again may succeed (429, 5xx, transport errors).
    pub fn is_retryable(&self) -> bool {
        match self {
            // A certificate the client does not trust stays untrusted.
            OciError::Unreachable { reason, .. } => !reason.contains("invalid peer certificate"),
            OciError::Status { code, .. } => *code == 429 || *code >= 500,
            _ => false,
        }
    }

    /// The error after the last attempt: a registry that kept answering
    /// 429/5xx is unreachable for the caller.
    pub(crate) fn gave_up(self, attempts: u32) -> Self {
        match self {
            OciError::Status {
                reference,
                code,
                message,
            } => OciError::Unreachable {
                reference,
                reason: format!("HTTP {code} on all {attempts} attempts: {message}"),
            },
            other => other,
        }
    }

    /// Fills in the reference of an error made without one (see [`crate::verify_digest`]).
    pub(crate) fn for_reference(self, reference: &str) -> Self {
        match self {
            OciError::DigestMismatch {
                expected, actual, ..
            } => OciError::DigestMismatch {
                reference: reference.to_string(),
                expected,
                actual,
            },
            other => other,
        }
    }

    /// Sorts an error met while reading a blob body: `oci-client` reports
    /// a digest mismatch at the end of the stream as an I/O error wrapping
    /// its `DigestError`; anything else is the connection failing midway.
    pub(crate) fn from_blob_stream(reference: &str, err: std::io::Error) -> Self {
        let reference = reference.to_string();
        match err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<DigestError>())
        {
            Some(DigestError::VerificationError { expected, actual }) => OciError::DigestMismatch {
                reference,
                expected: expected.clone(),
                actual: actual.clone(),
            },
            Some(other) => OciError::Registry {
                reference,
                reason: other.to_string(),
            },
            None => OciError::Unreachable {
                reference,
                reason: error_chain(&err),
            },
        }
    }

    /// Sorts an `oci-client` error into the cases above.
    pub(crate) fn from_distribution(reference: &str, err: OciDistributionError) -> Self {
        let reference = reference.to_string();
        match err {
            OciDistributionError::ImageManifestNotFoundError(_) => OciError::NotFound { reference },
            OciDistributionError::UnauthorizedError { url } => OciError::Unauthorized {
                reference,
                reason: format!("{url} answered 401"),
            },
            OciDistributionError::AuthenticationFailure(reason) => {
                OciError::Unauthorized { reference, reason }
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                let any = |f: &dyn Fn(&OciErrorCode) -> bool| codes.iter().any(|c| f(c));
                if any(&|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::NotFound
                            | OciErrorCode::BlobUnknown
                    )
                }) {
                    OciError::NotFound { reference }
                } else if any(&|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                    OciError::Unauthorized {
                        reference,
                        reason: envelope.to_string(),
                    }
                } else if any(&|c| matches!(c, OciErrorCode::Toomanyrequests)) {
                    OciError::Status {
                        reference,
                        code: 429,
                        message: envelope.to_string(),
                    }
                } else {
                    OciError::Registry {
                        reference,
                        reason: envelope.to_string(),
                    }
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                404 => OciError::NotFound { reference },
                401 | 403 => OciError::Unauthorized {
                    reference,
                    reason: format!("HTTP {code}"),
                },
                _ => OciError::Status {
                    reference,
                    code,
                    message: truncate(&message),
                },
            },
            OciDistributionError::RequestError(e) => OciError::Unreachable {
                reference,
                reason: error_chain(&e),
            },
            OciDistributionError::DigestError(e) => OciError::DigestMismatch {
                reference,
                expected: "the served digest".to_string(),
                actual: e.to_string(),
            },
            other => OciError::Registry {
                reference,
                reason: other.to_string(),
            },
        }
    }
}

/// The error and its sources on one line (reqwest hides the cause, e.g. "connection refused").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// Keeps error bodies (often HTML pages) to one readable line.
fn truncate(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}
