//! Bundles in an S3-compatible bucket (AWS S3, MinIO, Ceph, s3s-fs…) through `object_store`:
//! key `<prefix>/<shard>/<id>.zip`. A bundle is first written to a local temporary file (hashed
//! and checked), then uploaded, in parts above a few megabytes so memory stays flat; S3
//! answers a PUT only once the object is stored, which is when the request is committed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path as Key;
use object_store::{ClientOptions, ObjectStore, RetryConfig};
use tokio::io::AsyncWriteExt;

use super::{relative_key, valid_id, Blob, BlobStore};
use crate::settings::S3Settings;

/// Parts of a multipart upload; also the size below which a bundle goes up in one PUT.
const PART_BYTES: usize = 5 * 1024 * 1024;

/// The object store could not be reached or refused the operation: the caller answers 503.
#[derive(Debug, thiserror::Error)]
#[error("object storage unavailable")]
pub struct StoreUnavailable;

pub struct S3Store {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    scratch: PathBuf,
}

impl S3Store {
    /// A client for the configured bucket; temporary files go to `<data dir>/attachments-tmp`.
    pub fn new(s: &S3Settings, data_dir: &Path) -> anyhow::Result<Self> {
        let plain_http = s.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            // The client options carry `allow_http` too: set them whole, before anything else.
            .with_client_options(
                ClientOptions::new().with_timeout(Duration::from_secs(60)).with_allow_http(plain_http),
            );
        if let Some(endpoint) = &s.endpoint {
            b = b.with_endpoint(endpoint);
        }
        if let Some(k) = &s.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &s.secret_access_key {
            b = b.with_secret_access_key(k.expose());
        }
        let store = b
            .with_retry(RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(15), ..Default::default() })
            .build()
            .context("configurazione dello storage S3 (CASSETTO_S3_*)")?;
        let scratch = data_dir.join("attachments-tmp");
        std::fs::create_dir_all(&scratch).context("cartella temporanea degli allegati")?;
        Ok(Self { store: Arc::new(store), prefix: s.prefix.trim_matches('/').to_owned(), scratch })
    }

    fn key(&self, id: &str) -> Key {
        let (shard, name) = relative_key(id);
        Key::from(format!("{}/{shard}/{name}", self.prefix))
    }

    async fn upload(&self, key: &Key, tmp: &Path) -> anyhow::Result<()> {
        let mut file = tokio::fs::File::open(tmp).await.context("open bundle")?;
        let mut w = BufWriter::with_capacity(self.store.clone(), key.clone(), PART_BYTES).with_max_concurrency(2);
        if let Err(e) = tokio::io::copy(&mut file, &mut w).await {
            if let Err(abort) = w.abort().await {
                tracing::warn!(error = %abort, "could not abort a multipart upload");
            }
            return Err(anyhow::Error::new(e).context(StoreUnavailable));
        }
        // A failed completion cannot be aborted any more: the bucket's lifecycle rule for
        // incomplete multipart uploads removes the parts (docs/OPERATIONS.md).
        w.shutdown().await.map_err(|e| anyhow::Error::new(e).context(StoreUnavailable))
    }
}

fn unavailable(e: object_store::Error) -> anyhow::Error {
    anyhow::Error::new(e).context(StoreUnavailable)
}

#[async_trait]
impl BlobStore for S3Store {
    async fn put_file(&self, id: &str, tmp: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(valid_id(id), "invalid bundle id");
        self.upload(&self.key(id), tmp).await?;
        if let Err(e) = tokio::fs::remove_file(tmp).await {
            tracing::warn!(error = %e, "could not remove an uploaded temporary bundle");
        }
        Ok(())
    }

    async fn open(&self, id: &str) -> anyhow::Result<Option<Blob>> {
        if !valid_id(id) {
            return Ok(None);
        }
        match self.store.get(&self.key(id)).await {
            Ok(got) => {
                let size = got.meta.size;
                let body = got.into_stream().map_err(std::io::Error::other).boxed();
                Ok(Some(Blob::Stream { size, body }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        if !valid_id(id) {
            return Ok(());
        }
        match self.store.delete(&self.key(id)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn list_older_than(&self, older_than: SystemTime) -> anyhow::Result<Vec<String>> {
        let cutoff: chrono::DateTime<chrono::Utc> = older_than.into();
        let prefix = Key::from(self.prefix.as_str());
        let mut listing = self.store.list(Some(&prefix));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(unavailable)?;
            if meta.last_modified >= cutoff {
                continue;
            }
            if let Some(id) = meta.location.filename().and_then(|f| f.strip_suffix(".zip")) {
                if valid_id(id) {
                    out.push(id.to_owned());
                }
            }
        }
        Ok(out)
    }

    fn temp_path(&self) -> PathBuf {
        self.scratch.join(format!("{}.zip.part", uuid::Uuid::new_v4()))
    }
}
