//! Bundles as files in a directory (local, or shared by several instances over NFS and the like):
//! `<root>/bundles/<shard>/<id>.zip`, written under `<root>/tmp` and renamed into place, so a
//! bundle is either whole or absent.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use async_trait::async_trait;

use super::{relative_key, valid_id, Blob, BlobStore};

pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    /// A store under `root` (created when missing).
    pub fn new(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root.join("tmp")).context("cartella degli allegati")?;
        std::fs::create_dir_all(root.join("bundles")).context("cartella degli allegati")?;
        Ok(Self { root: root.to_owned() })
    }

    /// Where the bundle of `id` is (or would be) stored.
    pub fn file_path(&self, id: &str) -> PathBuf {
        let (shard, name) = relative_key(id);
        self.root.join("bundles").join(shard).join(name)
    }
}

/// A stored bundle is on disk (its writer synced it) and is read seldom, later, by one
/// operator: its pages leave the page cache now. The cache keeps the database's pages instead,
/// and the next bundle is written into memory just freed rather than into memory the system
/// has to find (on a virtual machine, pages touched for the first time cost the host a fault
/// each). Only advice: a failure changes nothing but speed.
#[cfg(target_os = "linux")]
fn release_cached_pages(path: &Path) {
    if let Ok(file) = std::fs::File::open(path) {
        if let Err(e) = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed) {
            tracing::debug!(error = %e, "bundle pages kept in the page cache");
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn release_cached_pages(_: &Path) {}

#[async_trait]
impl BlobStore for LocalDirStore {
    async fn put_file(&self, id: &str, tmp: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(valid_id(id), "invalid bundle id");
        let dest = self.file_path(id);
        let tmp = tmp.to_owned();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            let dir = dest.parent().context("bundle dir")?;
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&tmp, &dest).context("rename bundle")?;
            // The rename is durable once the directory entry is on disk.
            std::fs::File::open(dir)?.sync_all()?;
            release_cached_pages(&dest);
            Ok(())
        })
        .await?
    }

    async fn open(&self, id: &str) -> anyhow::Result<Option<Blob>> {
        if !valid_id(id) {
            return Ok(None);
        }
        let p = self.file_path(id);
        Ok(tokio::fs::try_exists(&p).await?.then_some(Blob::File(p)))
    }

    async fn delete(&self, id: &str) -> anyhow::Result<()> {
        if !valid_id(id) {
            return Ok(());
        }
        match tokio::fs::remove_file(self.file_path(id)).await {
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
