//! `application/problem+json` (RFC 9457).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An error: `detail` says in Italian what went wrong; `errors` names each invalid field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Dati non validi",
    "status": 422,
    "detail": "Alcuni campi non sono validi.",
    "errors": [{"field": "matricola", "message": "la matricola deve essere di 10 cifre"}]
}))]
pub struct Problem {
    /// A URI reference identifying the problem type; its last segment is stable.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's name or path (`details.period_from`, `files[3]`).
    pub field: String,
    pub message: String,
}
