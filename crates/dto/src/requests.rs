//! Requests as the sender sees them: sending, the archive, the detail, comments.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::registry::SedeRef;
use cassetto_domain::{EsitoCode, Status};

/// What a company or intermediario sends. In `multipart/form-data` this is the JSON part
/// `request`; the files are up to three parts named `files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({
    "matricola": "7002000011", "ambito": "REGOLARITA_CONTRIBUTIVA",
    "subject": "DURC non regolare", "body": "Chiediamo la verifica dei versamenti del periodo indicato.",
    "details": {"period_from": "2026-01", "period_to": "2026-03"}
}))]
pub struct NewRequest {
    /// The matricola the request is about (10 digits); it decides the competent sede.
    pub matricola: String,
    /// An ambito code from `GET /api/v1/ambiti`.
    pub ambito: String,
    #[validate(length(min = 1, max = 200, message = "l'oggetto deve avere da 1 a 200 caratteri"))]
    pub subject: String,
    #[validate(length(min = 1, max = 10000, message = "il testo deve avere da 1 a 10.000 caratteri"))]
    pub body: String,
    /// The ambito's detail fields (see `fields` of the ambito); `{}` for GENERICA.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// Multipart form of `POST /api/v1/requests` (for the OpenAPI document).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct NewRequestForm {
    /// JSON of `NewRequest`.
    #[schema(value_type = NewRequest)]
    pub request: String,
    /// Up to 3 files: PDF, P7M, XML, TXT, CSV, images, office documents.
    #[schema(value_type = Vec<String>, format = Binary)]
    pub files: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Esito {
    pub code: EsitoCode,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Attachment {
    pub name: String,
    pub size: i64,
    pub content_type: String,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

/// The zip of the attached files, as downloaded from `attachments.zip`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Bundle {
    pub size: i64,
    pub sha256: String,
}

/// Who did something, as the sender may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct ActorRef {
    /// A role, or `sistema`.
    pub role: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct HistoryEntry {
    /// `null` for the registration.
    pub from_status: Option<Status>,
    pub to_status: Status,
    /// Set when the quesito moved to another sede (smistamento).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_sede: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_sede: Option<String>,
    pub at: DateTime<Utc>,
    pub actor: ActorRef,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Comment {
    pub id: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub author: ActorRef,
    /// Only in the back office: internal comments are never shown to the sender.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct NewComment {
    #[validate(length(min = 1, max = 5000, message = "il commento deve avere da 1 a 5.000 caratteri"))]
    pub body: String,
}

/// A request in the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct RequestSummary {
    pub id: String,
    pub protocollo: String,
    pub matricola: String,
    pub ambito: String,
    pub subject: String,
    pub status: Status,
    pub sede: SedeRef,
    pub esito: Option<Esito>,
    pub attachment_count: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// One page of the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct RequestPage {
    pub items: Vec<RequestSummary>,
    /// How many requests match the filters, across all pages, counted up to 10,000: past that
    /// `total` is 10000 and `total_exact` is false («more than 10,000»).
    pub total: u64,
    /// False when `total` stopped at the 10,000 cap.
    #[serde(default = "yes")]
    pub total_exact: bool,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn yes() -> bool {
    true
}

/// A request with everything its sender may see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Request {
    pub id: String,
    /// `INPS.<sede>.<dd/mm/yyyy>.<progressive>`
    pub protocollo: String,
    pub matricola: String,
    pub ambito: String,
    pub subject: String,
    pub body: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub status: Status,
    pub sede: SedeRef,
    pub esito: Option<Esito>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub attachments: Vec<Attachment>,
    pub bundle: Option<Bundle>,
    pub history: Vec<HistoryEntry>,
    /// Public comments only.
    pub comments: Vec<Comment>,
}

/// A quesito as the back office sees it: the request plus assignment, version and internal comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Quesito {
    #[serde(flatten)]
    pub request: Request,
    /// Username of the operatore who took charge of it.
    pub assigned_to: Option<String>,
    /// Increases with every change; send it back in `If-Match` to change the quesito.
    pub version: i32,
    /// Role of whoever sent it (azienda or intermediario) and its name.
    pub sent_by: ActorRef,
}

/// One message of a request's delivery log; the recipient is partly masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct NotificationLog {
    /// `registered`, `taken_in_charge`, `commented`, `rerouted`, `closed`.
    pub event: String,
    /// `email` or `sms`.
    pub channel: String,
    pub recipient: String,
    /// `pending`, `sending`, `sent`, `failed`.
    pub status: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}
