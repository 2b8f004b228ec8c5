//! One sea-orm entity per table.

pub mod ambito;
pub mod ambito_field;
pub mod api_client;
pub mod audit_log;
pub mod azienda;
pub mod delega;
pub mod login_throttle;
pub mod sede;
pub mod user;
