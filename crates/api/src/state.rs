//! What every handler shares, registered once as `web::Data<AppState>`.

use cassetto_storage::DatabaseConnection;

use crate::settings::Settings;

pub struct AppState {
    pub db: DatabaseConnection,
    pub settings: Settings,
}
