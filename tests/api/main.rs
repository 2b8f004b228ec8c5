//! The integration tests of Cassetto: one binary, one module per capability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cassetto_testkit as fakes;
mod helpers;

mod auth;
mod authorization;
mod hostile;
mod migrations;
mod notifications;
mod object_storage;
mod processes;
mod quesiti;
mod registry;
mod requests;
mod scale_out;
mod service;
mod startup;
mod webhooks;
