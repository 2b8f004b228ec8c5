//! Where attachment bundles live. A bundle is written to a temporary file, made durable, and
//! only then is its request committed; a crash in between leaves at worst an orphan bundle,
//! which `sweep_orphans` removes. So a request never lacks its bundle, and no bundle outlives
//! a request that was not committed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use actix_web::web::Bytes;
use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::settings::AttachmentStore;

mod local;
mod s3;

pub use local::LocalDirStore;
pub use s3::{S3Store, StoreUnavailable};

/// The storage of bundles, keyed by request id: a shared directory ([`LocalDirStore`]) or an
/// S3-compatible bucket ([`S3Store`]). Several instances may share one store.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Moves a finished, synced temporary file to `id`'s place, durably (the temporary file is
    /// gone afterwards).
    async fn put_file(&self, id: &str, tmp: &Path) -> anyhow::Result<()>;
    /// The bundle of `id` for reading, or `None` when absent.
    async fn open(&self, id: &str) -> anyhow::Result<Option<Blob>>;
    async fn delete(&self, id: &str) -> anyhow::Result<()>;
    /// Ids of the bundles last modified before `older_than`.
    async fn list_older_than(&self, older_than: SystemTime) -> anyhow::Result<Vec<String>>;
    /// A fresh temporary path for a bundle being written.
    fn temp_path(&self) -> PathBuf;
}

/// A stored bundle, ready to be streamed.
pub enum Blob {
    /// A local file (served with range support).
    File(PathBuf),
    /// A byte stream of known length (object storage).
    Stream { size: u64, body: BoxStream<'static, std::io::Result<Bytes>> },
}

/// The store the settings ask for.
pub fn from_settings(settings: &crate::settings::Settings) -> anyhow::Result<std::sync::Arc<dyn BlobStore>> {
    Ok(match &settings.attachments {
        AttachmentStore::Dir(dir) => std::sync::Arc::new(LocalDirStore::new(dir)?),
        AttachmentStore::S3(s3) => std::sync::Arc::new(S3Store::new(s3, &settings.data_dir)?),
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// `<shard>/<id>.zip`, the shard being the id's last two characters reversed, so bundles
/// spread evenly over 256 folders (or key prefixes).
fn relative_key(id: &str) -> (String, String) {
    let shard: String = id.chars().rev().take(2).collect();
    (shard, format!("{id}.zip"))
}

/// Removes bundles whose request was never committed (a crash between the two writes) and
/// temporary files left by interrupted uploads. Only files older than `grace` are touched, so
/// uploads in flight on other instances are safe.
pub async fn sweep_orphans(
    store: &dyn BlobStore,
    db: &cassetto_storage::DatabaseConnection,
    temp_dir: Option<&Path>,
    grace: Duration,
) -> anyhow::Result<usize> {
    let cutoff = SystemTime::now() - grace;
    let candidates = store.list_older_than(cutoff).await?;
    let mut removed = 0;
    for chunk in candidates.chunks(500) {
        let existing = cassetto_storage::requests::existing_ids(db, chunk.to_vec()).await?;
        for id in chunk.iter().filter(|id| !existing.contains(id)) {
            store.delete(id).await?;
            tracing::warn!(bundle = %id, "removed an orphan attachment bundle");
            removed += 1;
        }
    }
    if let Some(dir) = temp_dir {
        if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
            while let Ok(Some(e)) = entries.next_entry().await {
                let old = e.metadata().await.and_then(|m| m.modified()).map(|m| m < cutoff).unwrap_or(false);
                if old {
                    let _ = tokio::fs::remove_file(e.path()).await;
                }
            }
        }
    }
    Ok(removed)
}
