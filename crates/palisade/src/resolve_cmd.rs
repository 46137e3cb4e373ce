//! `palisade resolve`: image tags to pinned `repo:tag@sha256:...` references
//! through the registry client in `palisade-oci`.

use std::io::Write;

use anyhow::{Context, Result};
use palisade_oci::Client;
use palisade_report::ResolveFormat;

use crate::cli::ResolveArgs;

/// Resolves every image; returns 0 when all resolved, 2 when any failed (each
/// failure is reported on stderr and the others are still resolved).
pub fn run(args: ResolveArgs) -> Result<i32> {
    let client = Client::new(args.registry.client_options()?)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;

    let mut out = std::io::stdout().lock();
    let mut status = 0;
    let mut json = Vec::new();
    for image in &args.images {
        match runtime.block_on(client.resolve(image)) {
            Ok(resolved) => {
                if args.format == ResolveFormat::Json {
                    json.push(serde_json::json!({
                        "image": image,
                        "reference": resolved.reference,
                        "pinned": resolved.pinned(),
                        "digest": resolved.digest,
                        "mediaType": resolved.media_type,
                        "platformDigest": resolved.platform_digest,
                    }));
                } else {
                    writeln!(out, "{}", resolved.pinned())?;
                }
            }
            Err(e) => {
                eprintln!("palisade: {e}");
                if args.format == ResolveFormat::Json {
                    json.push(serde_json::json!({"image": image, "error": e.to_string()}));
                }
                status = 2;
            }
        }
    }
    if args.format == ResolveFormat::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
    }
    Ok(status)
}
