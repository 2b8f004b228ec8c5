//! One sea-orm entity per table.

pub mod ambito;
pub mod ambito_field;
pub mod api_client;
pub mod attachment;
pub mod audit_log;
pub mod azienda;
pub mod comment;
pub mod delega;
pub mod idempotency_key;
pub mod login_throttle;
pub mod notification;
pub mod protocol_counter;
pub mod request;
pub mod request_history;
pub mod sede;
pub mod user;
pub mod webhook;
