//! The public contract of Cassetto's API, written once: the server (native) and the SPA (wasm32)
//! compile these same types. Every DTO derives `ToSchema` (OpenAPI) and `Validate` (checks whose
//! messages are Italian, shown to the user as they are).

pub mod auth;
pub mod backoffice;
pub mod problem;
pub mod registry;
pub mod requests;
pub mod webhooks;

pub use cassetto_domain::{EsitoCode, FieldType, Role, Status};
pub use problem::{FieldError, Problem};
