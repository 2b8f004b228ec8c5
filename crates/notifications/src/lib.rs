//! Notifications of Cassetto: the Italian templates, the recipients and their consent, the
//! transactional outbox (rows written with the change that causes them) and the worker that
//! delivers them by e-mail (SMTP or `.eml` files) and SMS (HTTP gateway or `.json` files).

pub mod enqueue;
pub mod templates;
pub mod transport;
pub mod webhook;
pub mod worker;

pub use enqueue::{enqueue, Notice};
pub use templates::{Event, Vars};
pub use worker::{Worker, WorkerConfig};
