//! Webhooks for payroll software.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

/// An endpoint to be told of events about the matricole the client's owner acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"url": "https://paghe.example/cassetto/eventi", "events": ["registered", "closed"]}))]
pub struct NewWebhook {
    /// `https://…` (plain `http://` only for 127.0.0.1 and localhost).
    #[validate(length(min = 8, max = 500, message = "l'indirizzo deve avere da 8 a 500 caratteri"))]
    pub url: String,
    /// Any of `registered`, `taken_in_charge`, `commented`, `rerouted`, `closed`.
    #[validate(length(min = 1, max = 5, message = "indicare da 1 a 5 eventi"))]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Webhook {
    pub id: i32,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// Returned once, at registration: the secret that signs every delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct WebhookCreated {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Key of `Cassetto-Signature: v1=HMAC-SHA256(secret, "<Cassetto-Timestamp>.<body>")`.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct WebhookDelivery {
    /// Id of this attempt series (use it to replay).
    pub id: i64,
    /// Stable id of the event for this webhook (header `Cassetto-Delivery`).
    pub delivery: String,
    pub event: String,
    pub request_id: Option<String>,
    /// `pending`, `sending`, `sent`, `failed`.
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}
