//! Images in a registry, through `palisade_oci::Client`: resolve the
//! reference (choosing the platform in an index), fetch the manifest and
//! config, and stream each layer blob.
//!
//! The walker reads layers synchronously (the tar and decompression crates
//! are `Read`-based), while the registry client is async. Each image owns a
//! one-worker tokio runtime; a layer download runs there as a task that
//! pushes chunks into a channel, and the walker's side reads them with
//! `blocking_recv`. The download keeps going while the walker decompresses,
//! and memory stays at [`BUFFERED_BYTES`] per layer.

use std::io::{self, Read};
use std::sync::Arc;

use futures_util::StreamExt as _;
use palisade_oci::Client;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use super::verify::VerifyingReader;
use super::{
    manifest_parts, parse_config, Image, ImageError, LayerDesc, LayerOpener, OpenOptions,
    MAX_DOCUMENT_BYTES,
};

/// Bytes buffered between the download and the walker. The channel is
/// bounded by bytes, not chunks: hyper hands out chunks of anything from a
/// few KiB to several hundred KiB (on loopback, ~400 KiB), so a count of
/// chunks bounds nothing in particular.
const BUFFERED_BYTES: u32 = 4 << 20;

/// Opens `reference` in its registry.
pub(super) fn open(reference: &str, options: &OpenOptions) -> Result<Image, ImageError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("palisade-image-pull")
        .enable_all()
        .build()
        .map_err(|e| ImageError::Registry(format!("cannot start the download runtime: {e}")))?;
    let mut client_options = options.registry.clone();
    client_options.platform = options.platform.clone();
    let client = Arc::new(Client::new(client_options).map_err(registry_error)?);
    let (name, top_digest, manifest_digest, config_digest, config, layers) =
        runtime.block_on(async {
            let resolved = client.resolve(reference).await.map_err(registry_error)?;
            let digest = resolved
                .platform_digest
                .clone()
                .unwrap_or_else(|| resolved.digest.clone());
            let base = resolved
                .reference
                .split_once('@')
                .map_or(resolved.reference.as_str(), |(b, _)| b)
                .to_string();
            let (manifest, _, _) = client
                .fetch_manifest(&format!("{base}@{digest}"))
                .await
                .map_err(registry_error)?;
            let (config_desc, layers) = manifest_parts(&manifest, &format!("manifest {digest}"))?;
            let config_bytes = client
                .fetch_blob(&base, &config_desc.digest, MAX_DOCUMENT_BYTES)
                .await
                .map_err(registry_error)?;
            let config = parse_config(&config_bytes).map_err(|reason| ImageError::Malformed {
                what: format!("config {}", config_desc.digest),
                reason,
            })?;
            Ok::<_, ImageError>((
                base,
                resolved.digest,
                digest,
                config_desc.digest,
                config,
                layers,
            ))
        })?;
    let mut image = Image::new(
        reference.to_string(),
        manifest_digest,
        config_digest,
        config,
        layers,
        Box::new(RegistryLayers {
            runtime: Some(runtime),
            client,
            repository: name,
        }),
    );
    image.reference_digest = Some(top_digest);
    Ok(image)
}

fn registry_error(e: palisade_oci::OciError) -> ImageError {
    ImageError::Registry(e.to_string())
}

/// The layers of one registry image.
struct RegistryLayers {
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    client: Arc<Client>,
    /// `registry/repository[:tag]` the blobs are fetched from.
    repository: String,
}

impl LayerOpener for RegistryLayers {
    fn open(&mut self, layer: &LayerDesc) -> Result<Box<dyn Read + Send>, ImageError> {
        // Unbounded in chunks, bounded in bytes: a chunk holds permits for
        // its bytes until the walker has read it all.
        let (tx, rx) = mpsc::unbounded_channel();
        let budget = Arc::new(Semaphore::new(BUFFERED_BYTES as usize));
        let client = Arc::clone(&self.client);
        let repository = self.repository.clone();
        let digest = layer.digest.clone();
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| ImageError::Registry("the download runtime is gone".to_string()))?;
        runtime.spawn(async move {
            let mut stream = match client.blob_stream(&repository, &digest).await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = tx.send(Err(registry_error(e)));
                    return;
                }
            };
            while let Some(chunk) = stream.next().await {
                let chunk = match chunk {
                    Ok(chunk) => chunk,
                    Err(e) => {
                        let _ = tx.send(Err(registry_error(e)));
                        return;
                    }
                };
                // A chunk larger than the whole budget waits for all of it.
                let want =
                    u32::try_from(chunk.len()).map_or(BUFFERED_BYTES, |n| n.min(BUFFERED_BYTES));
                let Ok(permit) = Arc::clone(&budget).acquire_many_owned(want).await else {
                    return;
                };
                // A closed channel means the walker stopped reading: stop downloading.
                if tx.send(Ok((chunk, permit))).is_err() {
                    return;
                }
            }
        });
        Ok(Box::new(VerifyingReader::new(
            ChannelReader {
                rx,
                chunk: bytes::Bytes::new(),
                permit: None,
            },
            format!("layer {}", layer.digest),
            Some(layer.digest.clone()),
            Some(layer.size),
        )))
    }
}

impl Drop for RegistryLayers {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside async code: an
        // image dropped there must not take the program down with it.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The walker's end of a layer download.
struct ChannelReader {
    rx: mpsc::UnboundedReceiver<Result<(bytes::Bytes, OwnedSemaphorePermit), ImageError>>,
    chunk: bytes::Bytes,
    /// The current chunk's share of [`BUFFERED_BYTES`], given back when it is read.
    permit: Option<OwnedSemaphorePermit>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            // Free the chunk read to its end before its permit goes back.
            self.chunk = bytes::Bytes::new();
            self.permit = None;
            match self.rx.blocking_recv() {
                Some(Ok((chunk, permit))) => {
                    self.chunk = chunk;
                    self.permit = Some(permit);
                }
                Some(Err(e)) => return Err(e.into_io()),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let _ = self.chunk.split_to(n);
        Ok(n)
    }
}
