//! Where attachment bundles live. A bundle is written to a temporary file, made durable, and
//! only then is its request committed; a crash in between leaves at worst an orphan bundle,
//! which `sweep_orphans` removes. So a request never lacks its bundle, and no bundle outlives
//! a request that was not committed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use async_trait::async_trait;

/// The storage of bundles, keyed by request id.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Moves a finished, synced temporary file to `id`'s place, durably.
    async fn put_file(&self, id: &str, tmp: &Path) -> anyhow::Result<()>;
    /// A local path to read the bundle from, or `None` when absent.
    async fn path(&self, id: &str) -> anyhow::Result<Option<PathBuf>>;
    async fn delete(&self, id: &str) -> anyhow::Result<()>;
    /// Ids of the bundles last modified before `older_than`.
    async fn list_older_than(&self, older_than: SystemTime) -> anyhow::Result<Vec<String>>;
    /// A fresh temporary path for a bundle being written.
    fn temp_path(&self) -> PathBuf;
}

/// Bundles as files under `<data dir>/attachments/bundles/<xx>/<id>.zip`.
pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    pub fn new(data_dir: &Path) -> anyhow::Result<Self> {
        let root = data_dir.join("attachments");
        std::fs::create_dir_all(root.join("tmp")).context("cartella degli allegati")?;
        std::fs::create_dir_all(root.join("bundles")).context("cartella degli allegati")?;
        Ok(Self { root })
    }

    fn final_path(&self, id: &str) -> PathBuf {
        let shard: String = id.chars().rev().take(2).collect();
        self.root.join("bundles").join(shard).join(format!("{id}.zip"))
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

#[async_trait]
impl BlobStore for LocalDirStore {
    async fn put_file(&self, id: &str, tmp: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(valid_id(id), "invalid bundle id");
        let dest = self.final_path(id);
        let tmp = tmp.to_owned();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let dir = dest.parent().context("bundle dir")?;
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&tmp, &dest).context("rename bundle")?;
            // The rename is durable once the directory entry is on disk.
            std::fs::File::open(dir)?.sync_all()?;
            Ok(())
        })
        .await?
    }

    async fn path(&self, id: &str) -> anyhow::Result<Option<PathBuf>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let p = self.final_path(id);
        Ok(tokio::fs::try_exists(&p).await?.then_some(p))
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        if !valid_id(id) {
            return Ok(());
        }
        match tokio::fs::remove_file(self.final_path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_older_than(&self, older_than: SystemTime) -> anyhow::Result<Vec<String>> {
        let root = self.root.join("bundles");
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
            let mut out = Vec::new();
            for shard in std::fs::read_dir(&root)? {
                let shard = shard?;
                if !shard.file_type()?.is_dir() {
                    continue;
                }
                for f in std::fs::read_dir(shard.path())? {
                    let f = f?;
                    let modified = f.metadata()?.modified()?;
                    let name = f.file_name().to_string_lossy().into_owned();
                    if let Some(id) = name.strip_suffix(".zip") {
                        if modified < older_than {
                            out.push(id.to_owned());
                        }
                    }
                }
            }
            Ok(out)
        })
        .await?
    }

    fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!("{}.zip.part", uuid::Uuid::new_v4()))
    }
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
