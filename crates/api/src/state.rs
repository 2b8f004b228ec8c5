//! What every handler shares, registered once as `web::Data<AppState>`.

use std::sync::Arc;

use cassetto_storage::DatabaseConnection;

use crate::blobs::BlobStore;
use crate::settings::Settings;

pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub blobs: Arc<dyn BlobStore>,
}

impl AppState {
    /// The state over an open database, with the attachment store of the settings.
    pub fn new(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let blobs: Arc<dyn BlobStore> = Arc::new(crate::blobs::LocalDirStore::new(&settings.data_dir)?);
        Ok(Self { db, settings, blobs })
    }
}
