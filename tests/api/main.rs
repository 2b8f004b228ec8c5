//! The integration tests of Cassetto: one binary, one module per capability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fakes;
mod helpers;

mod auth;
mod authorization;
mod migrations;
mod notifications;
mod quesiti;
mod registry;
mod requests;
mod service;
mod startup;
mod webhooks;
