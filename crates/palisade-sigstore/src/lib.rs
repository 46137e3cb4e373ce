//! Sigstore bundle verification, offline: keyless signatures (a Fulcio
//! certificate bound to an OIDC identity, the signing time proven by a
//! Rekor entry or an RFC 3161 timestamp) and keyed ones, for bundles v0.1
//! to v0.3 with message signatures or DSSE envelopes.
//!
//! Built on `sigstore-verify` with its default features off: no HTTP, no
//! TUF; the trusted root is a `trusted_root.json` file or the Sigstore
//! production root embedded in the binary ([`PRODUCTION_ROOT_DATE`]).
//!
//! [`verify_blob`] gives either what was verified or one [`Failure`] whose
//! reason names the step that failed (`certificate not issued by a trusted
//! Fulcio`, `signed outside the certificate's validity`, `no transparency
//! proof`, `identity mismatch: got …`, ...).

pub use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT;

mod attestation;
mod claims;

pub use attestation::{check_condition, check_statement, statement, AttestationCheck};
pub use claims::{claims, Claims, ClaimsPolicy};
use sigstore_verify::types::{Artifact, ArtifactDigest, Bundle, DerPublicKey, HashAlgorithm};
use sigstore_verify::{
    CertificateError, Error, IdentityMatcher, PublicKeyVerificationPolicy, TimestampError,
    TransparencyLogError, VerificationPolicy, Verifier,
};

/// The newest `validFor.start` of the embedded production root: when it
/// was last changed upstream. To update it, update the `sigstore-verify`
/// crates (the root is theirs), or give `--trusted-root` a newer
/// `trusted_root.json` (from `tuf-repo-cdn.sigstore.dev`).
pub const PRODUCTION_ROOT_DATE: &str = "2025-09-23";

/// The largest bundle read, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 8 << 20;

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum Signer {
    /// A keyless signature: the certificate's OIDC issuer (exact) and its
    /// subject (the SAN: exact, or a regular expression matched whole).
    Keyless {
        /// The OIDC issuer (`https://token.actions.githubusercontent.com`).
        issuer: String,
        /// The subject.
        subject: Subject,
        /// Workflow claims the certificate must carry (GitHub's
        /// repository, ref, workflow, trigger).
        claims: ClaimsPolicy,
    },
    /// A signature by this public key (PEM).
    Key(String),
}

/// A certificate subject to match.
#[derive(Debug, Clone)]
pub enum Subject {
    /// Equal to this.
    Exact(String),
    /// Matched whole by this regular expression.
    Regex(String),
}

/// What was signed: the bytes, or their digest (`sha256:<hex>`,
/// `sha384:<hex>`, `sha512:<hex>`) when only that is known.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// The artifact's bytes.
    Blob(&'a [u8]),
    /// `algorithm:hex`.
    Digest(&'a str),
}

fn digest(text: &str) -> Result<ArtifactDigest, Failure> {
    let bad = || {
        Failure::Input(format!(
            "{text:?} is not sha256:<hex>, sha384:<hex> or sha512:<hex>"
        ))
    };
    let (alg, hex) = text.split_once(':').ok_or_else(bad)?;
    let (algorithm, len) = match alg {
        "sha256" => (HashAlgorithm::Sha2256, 32),
        "sha384" => (HashAlgorithm::Sha2384, 48),
        "sha512" => (HashAlgorithm::Sha2512, 64),
        _ => return Err(bad()),
    };
    if hex.len() != len * 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let bytes: Vec<u8> = (0..len)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect();
    ArtifactDigest::new(algorithm, bytes).map_err(|_| bad())
}

/// What was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The certificate's SAN (keyless).
    pub identity: Option<String>,
    /// The certificate's OIDC issuer (keyless).
    pub issuer: Option<String>,
    /// The signing time the transparency log or a timestamp proves, as RFC 3339.
    pub signed_at: Option<String>,
    /// Whether a transparency log entry was verified.
    pub tlog: bool,
    /// The workflow claims of the certificate (keyless).
    pub claims: Claims,
}

/// Why a bundle did not verify, or could not be checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The input cannot be used (bad trusted root, bad key, bad regex,
    /// unreadable bundle): a usage error.
    #[error("{0}")]
    Input(String),
    /// The bundle does not verify: the reason names the step.
    #[error("{0}")]
    NotVerified(String),
}

/// The embedded Sigstore production trusted root.
pub fn production_root() -> Result<TrustedRoot, Failure> {
    TrustedRoot::from_json(SIGSTORE_PRODUCTION_TRUSTED_ROOT)
        .map_err(|e| Failure::Input(format!("the embedded trusted root: {e}")))
}

/// A `trusted_root.json`.
pub fn trusted_root(json: &str) -> Result<TrustedRoot, Failure> {
    TrustedRoot::from_json(json).map_err(|e| Failure::Input(format!("trusted root: {e}")))
}

/// The reason a verification error gives, in palisade's words.
fn reason(e: &Error) -> String {
    match e {
        Error::IdentityMismatch { actual, .. } => format!(
            "identity mismatch: got {}",
            actual
                .as_ref()
                .map_or("no identity".to_string(), |a| a.to_string())
        ),
        Error::IssuerMismatch { actual, .. } => format!(
            "issuer mismatch: got {}",
            actual.as_deref().unwrap_or("no issuer")
        ),
        // The chain is checked at the signing time: an expired or not yet
        // valid certificate there is a validity failure, not a trust one.
        Error::Certificate(CertificateError::ChainInvalid(m))
            if m.contains("CertExpired") || m.contains("CertNotValidYet") =>
        {
            format!("signed outside the certificate's validity: {m}")
        }
        Error::Certificate(CertificateError::ChainInvalid(m)) => {
            format!("certificate not issued by a trusted Fulcio: {m}")
        }
        Error::Certificate(CertificateError::NoValidAuthority { time }) => {
            format!("certificate not issued by a trusted Fulcio: no Fulcio of the trusted root was valid at {time}")
        }
        Error::Certificate(
            c @ (CertificateError::Expired { .. } | CertificateError::NotYetValid { .. }),
        ) => {
            format!("signed outside the certificate's validity: {c}")
        }
        Error::Certificate(c) => format!("certificate rejected: {c}"),
        Error::TransparencyLog(
            t @ (TransparencyLogError::InclusionProof(_)
            | TransparencyLogError::InclusionPromise(_)
            | TransparencyLogError::Checkpoint(_)),
        ) => format!("no transparency proof: {t}"),
        Error::TransparencyLog(t) => format!("transparency log entry rejected: {t}"),
        Error::Timestamp(t @ TimestampError::Invalid(_)) => format!("timestamp rejected: {t}"),
        Error::Timestamp(t) => format!("no trusted signing time: {t}"),
        Error::Bundle(b) if b.to_string().contains("inclusion") => {
            format!("no transparency proof: {b}")
        }
        Error::SignatureInvalid(m) => format!("signature does not verify: {m}"),
        Error::ArtifactMismatch(m) => format!("the bundle is not for this artifact: {m}"),
        other => other.to_string(),
    }
}

/// Verifies `bundle_json` over what was `signed`, for `signer`, against `root`.
pub fn verify_blob(
    signed: Signed<'_>,
    bundle_json: &str,
    signer: &Signer,
    root: &TrustedRoot,
) -> Result<Verified, Failure> {
    if bundle_json.len() > MAX_BUNDLE_BYTES {
        return Err(Failure::NotVerified(format!(
            "the bundle is {} bytes, over the limit of {MAX_BUNDLE_BYTES}",
            bundle_json.len()
        )));
    }
    let bundle = Bundle::from_json(bundle_json)
        .map_err(|e| Failure::NotVerified(format!("not a Sigstore bundle: {e}")))?;
    let verifier = Verifier::new(root).map_err(|e| Failure::Input(format!("trusted root: {e}")))?;
    let artifact = match signed {
        Signed::Blob(b) => Artifact::from_blob(b),
        Signed::Digest(d) => Artifact::from_digest(digest(d)?),
    };
    let result = match signer {
        Signer::Key(pem) => {
            let key =
                DerPublicKey::from_pem(pem).map_err(|e| Failure::Input(format!("--key: {e}")))?;
            verifier.verify(artifact, &bundle, &PublicKeyVerificationPolicy::new(key))
        }
        Signer::Keyless {
            issuer, subject, ..
        } => {
            let mut policy = VerificationPolicy::any_identity().require_issuer(issuer.clone());
            // SCTs are checked where the root lists CT logs (a private
            // Fulcio without a CT log issues certificates without them).
            if root.ctlogs.is_empty() {
                policy = policy.skip_sct();
            }
            if let Subject::Exact(s) = subject {
                policy = policy.require_identity(IdentityMatcher::Exact(s.clone()));
            }
            verifier.verify(artifact, &bundle, &policy)
        }
    };
    let result = result.map_err(|e| Failure::NotVerified(reason(&e)))?;
    let identity = result.identity().map(|i| i.to_string());
    if let Signer::Keyless {
        subject: Subject::Regex(re),
        ..
    } = signer
    {
        let re = regex::Regex::new(&format!("^(?:{re})$"))
            .map_err(|e| Failure::Input(format!("--certificate-identity-regexp: {e}")))?;
        let got = identity.as_deref().unwrap_or("");
        if !re.is_match(got) {
            return Err(Failure::NotVerified(format!(
                "identity mismatch: got {}",
                if got.is_empty() { "no identity" } else { got }
            )));
        }
    }
    let claims = bundle
        .signing_certificate()
        .map(|c| claims::claims(c.as_bytes()))
        .unwrap_or_default();
    if let Signer::Keyless { claims: want, .. } = signer {
        want.check(&claims).map_err(Failure::NotVerified)?;
    }
    Ok(Verified {
        identity,
        claims,
        issuer: result.issuer().map(str::to_string),
        signed_at: result.integrated_time().map(|t| t.to_string()),
        tlog: result.tlog_verified(),
    })
}
