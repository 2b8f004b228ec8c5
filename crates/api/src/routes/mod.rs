//! One module per resource, each with its `configure`.

pub mod admin;
pub mod ambiti;
pub mod auth;
pub mod aziende;
pub mod me;
pub mod quesiti;
pub mod requests;
pub mod service;
pub mod stats;
pub mod webhooks;
