//! The back office: status changes, comments, rerouting, monitoring.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use cassetto_domain::{EsitoCode, Status};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct EsitoInput {
    pub code: EsitoCode,
    /// The outcome explained to the sender.
    #[validate(length(min = 1, max = 5000, message = "il testo dell'esito deve avere da 1 a 5.000 caratteri"))]
    pub text: String,
}

/// A status change. Closing (`to: chiusa`) needs an `esito`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"to": "chiusa", "comment": "Verificati i versamenti.", "esito": {"code": "accolta", "text": "La posizione risulta regolare."}}))]
pub struct TransitionRequest {
    pub to: Status,
    /// Recorded in the history and shown to the sender.
    #[validate(length(max = 5000, message = "il commento può avere al massimo 5.000 caratteri"))]
    pub comment: Option<String>,
    #[validate(nested)]
    pub esito: Option<EsitoInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct QuesitoComment {
    #[validate(length(min = 1, max = 5000, message = "il commento deve avere da 1 a 5.000 caratteri"))]
    pub body: String,
    /// Internal comments are never shown to the sender.
    #[serde(default)]
    pub internal: bool,
}

/// Moves a quesito to another sede (smistamento).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
#[schema(example = json!({"sede": "2300", "comment": "Competenza della sede di Catanzaro."}))]
pub struct RerouteRequest {
    pub sede: String,
    #[validate(length(
        min = 1,
        max = 5000,
        message = "indicare il motivo dello smistamento (massimo 5.000 caratteri)"
    ))]
    pub comment: String,
}

/// Open quesiti by age.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Backlog {
    pub under_1_day: u64,
    pub from_1_to_7_days: u64,
    pub from_7_to_30_days: u64,
    pub over_30_days: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct Stats {
    pub total: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_ambito: BTreeMap<String, u64>,
    pub by_sede: BTreeMap<String, u64>,
    /// Median seconds from registration to the first handling; `null` with no data.
    pub median_time_to_take_charge_s: Option<f64>,
    /// Median seconds from registration to closing; `null` with no data.
    pub median_time_to_close_s: Option<f64>,
    pub backlog_by_age: Backlog,
}

/// An entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
pub struct AuditEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_username: String,
    pub actor_role: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}
