//! What every handler shares, registered once as `web::Data<AppState>`.

use std::sync::Arc;

use cassetto_storage::DatabaseConnection;

use crate::blobs::BlobStore;
use crate::settings::Settings;

pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub blobs: Arc<dyn BlobStore>,
    /// Wakes the in-process notification worker after a commit that enqueued messages.
    pub wake: Arc<tokio::sync::Notify>,
    /// The ambiti catalogue, read by every send.
    pub ambiti: cassetto_storage::ambiti::Cached,
    /// What sends need of the registry, checked against its version at every request.
    pub registry: cassetto_storage::registry_cache::RegistryCache,
}

impl AppState {
    /// The state over an open database, with the attachment store of the settings.
    pub fn new(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        let blobs: Arc<dyn BlobStore> = crate::blobs::from_settings(&settings)?;
        Ok(Self {
            db,
            settings,
            blobs,
            wake: Arc::new(tokio::sync::Notify::new()),
            ambiti: Default::default(),
            registry: Default::default(),
        })
    }
}

impl AppState {
    /// The notification worker over this state's database, as configured.
    pub fn worker(&self) -> anyhow::Result<cassetto_notifications::Worker> {
        let s = &self.settings;
        let channels = cassetto_notifications::worker::Channels::from_config(
            s.smtp_url.as_deref(),
            &s.mail_from,
            s.sms_url.as_deref(),
            &s.data_dir,
            s.notify_concurrency,
        )?;
        let cfg = cassetto_notifications::WorkerConfig {
            poll: std::time::Duration::from_millis(s.worker_poll_ms),
            max_attempts: s.notify_max_attempts,
            concurrency: s.notify_concurrency,
            lease: std::time::Duration::from_secs(s.notify_lease_secs),
            base_backoff: std::time::Duration::from_millis(s.notify_backoff_ms),
            ..Default::default()
        };
        Ok(cassetto_notifications::Worker::new(self.db.clone(), channels, cfg, self.wake.clone()))
    }
}
