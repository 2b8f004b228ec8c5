//! The HTTP API of Cassetto (actix-web), its authentication, its OpenAPI document and the
//! registry operations shared with the command line.

pub mod auth;
pub mod blobs;
pub mod cors;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod quesiti;
pub mod registry;
pub mod requests;
pub mod route_table;
pub mod routes;
pub mod seed;
pub mod settings;
pub mod spa;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use settings::Settings;
pub use startup::Application;
pub use utoipa::openapi as openapi_types;
