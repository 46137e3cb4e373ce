//! `palisade verify-bundle`: a Sigstore bundle checked against a blob, with
//! the verifier palisade uses for images, offline.

use std::path::PathBuf;

use anyhow::{anyhow, Context as _, Result};
use clap::Args;
use palisade_sigstore::{verify_blob, ClaimsPolicy, Failure, Signed, Signer, Subject};

/// `palisade verify-bundle`.
#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The signed file, or its digest (`sha256:<hex>`, `sha512:<hex>`).
    pub artifact: String,
    /// The Sigstore bundle (`.sigstore.json`, v0.1 to v0.3).
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The certificate's subject (SAN), exactly.
    #[arg(long, value_name = "SUBJECT", conflicts_with = "key")]
    pub certificate_identity: Option<String>,
    /// The certificate's subject, as a regular expression matched whole.
    #[arg(long, value_name = "REGEX", conflicts_with_all = ["key", "certificate_identity"])]
    pub certificate_identity_regexp: Option<String>,
    /// The certificate's OIDC issuer, exactly.
    #[arg(long, value_name = "URL", conflicts_with = "key")]
    pub certificate_oidc_issuer: Option<String>,
    /// The certificate's GitHub workflow repository (`owner/name`), exactly.
    #[arg(long, value_name = "OWNER/NAME", conflicts_with = "key")]
    pub certificate_github_workflow_repository: Option<String>,
    /// The certificate's GitHub workflow ref (`refs/heads/main`), exactly.
    #[arg(long, value_name = "REF", conflicts_with = "key")]
    pub certificate_github_workflow_ref: Option<String>,
    /// The certificate's GitHub workflow name, exactly.
    #[arg(long, value_name = "NAME", conflicts_with = "key")]
    pub certificate_github_workflow_name: Option<String>,
    /// The certificate's GitHub workflow trigger (`push`), exactly.
    #[arg(long, value_name = "EVENT", conflicts_with = "key")]
    pub certificate_github_workflow_trigger: Option<String>,
    /// Verify a keyed signature with this public key (PEM) instead.
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// A Sigstore `trusted_root.json` (default: the Sigstore production
    /// root embedded in palisade, newest key 2025-09-23).
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// For an attestation: its in-toto `predicateType`, exactly
    /// (`https://slsa.dev/provenance/v1`).
    #[arg(long, value_name = "URI")]
    pub predicate_type: Option<String>,
    /// For an attestation: a CEL expression that must be true, over
    /// `predicate`, `predicateType`, `subject` and `statement` (repeatable).
    #[arg(long = "condition", value_name = "CEL")]
    pub conditions: Vec<String>,
}

/// 0 verified, 1 not verified, 2 usage or unreadable input.
pub fn run(args: VerifyBundleArgs) -> Result<i32> {
    let signer = match (&args.key, &args.certificate_oidc_issuer) {
        (Some(key), _) => Signer::Key(
            std::fs::read_to_string(key).with_context(|| format!("cannot read {}", key.display()))?,
        ),
        (None, Some(issuer)) => Signer::Keyless {
            issuer: issuer.clone(),
            subject: match (&args.certificate_identity, &args.certificate_identity_regexp) {
                (Some(s), _) => Subject::Exact(s.clone()),
                (None, Some(r)) => Subject::Regex(r.clone()),
                (None, None) => {
                    return Err(anyhow!(
                        "give --certificate-identity or --certificate-identity-regexp with --certificate-oidc-issuer"
                    ))
                }
            },
            claims: ClaimsPolicy {
                repository: args.certificate_github_workflow_repository.clone(),
                git_ref: args.certificate_github_workflow_ref.clone(),
                workflow: args.certificate_github_workflow_name.clone(),
                trigger: args.certificate_github_workflow_trigger.clone(),
            },
        },
        (None, None) => {
            return Err(anyhow!(
                "give --certificate-oidc-issuer and an identity (keyless), or --key (keyed)"
            ))
        }
    };
    let root = match &args.trusted_root {
        Some(p) => palisade_sigstore::trusted_root(
            &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => palisade_sigstore::production_root(),
    }
    .map_err(|e| anyhow!("{e}"))?;
    let bundle = std::fs::read(&args.bundle)
        .with_context(|| format!("cannot read {}", args.bundle.display()))?;
    if bundle.len() > palisade_sigstore::MAX_BUNDLE_BYTES {
        println!(
            "not verified: the bundle is {} bytes, over the limit of {}",
            bundle.len(),
            palisade_sigstore::MAX_BUNDLE_BYTES
        );
        return Ok(1);
    }
    let bundle = String::from_utf8_lossy(&bundle);
    let blob;
    let signed = if args.artifact.contains(':') && !std::path::Path::new(&args.artifact).exists() {
        Signed::Digest(&args.artifact)
    } else {
        blob = std::fs::read(&args.artifact)
            .with_context(|| format!("cannot read {}", args.artifact))?;
        Signed::Blob(&blob)
    };
    let check = palisade_sigstore::AttestationCheck {
        predicate_type: args.predicate_type.clone(),
        conditions: args.conditions.clone(),
    };
    let result = verify_blob(signed, &bundle, &signer, &root)
        .and_then(|v| palisade_sigstore::check_statement(&bundle, &check).map(|()| v));
    match result {
        Ok(v) => {
            let who = match (&v.identity, &v.issuer) {
                (Some(i), Some(iss)) => format!("{i} (issuer {iss})"),
                _ => "the key".to_string(),
            };
            let when = v
                .signed_at
                .map(|t| format!(", signed at {t}"))
                .unwrap_or_default();
            println!("verified: signed by {who}{when}");
            Ok(0)
        }
        Err(Failure::NotVerified(reason)) => {
            println!("not verified: {reason}");
            Ok(1)
        }
        Err(Failure::Input(e)) => Err(anyhow!("{e}")),
    }
}
