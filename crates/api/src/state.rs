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
