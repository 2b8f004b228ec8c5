//! The one error type of the API, mapped once to `application/problem+json` (RFC 9457).
//!
//! Internal causes (`anyhow`, database errors) are logged with their context and never sent to
//! the client, which gets a generic Italian message instead.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use cassetto_dto::{FieldError, Problem};
use cassetto_storage::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    SedeNotEnabled(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{detail}")]
    MethodNotAllowed { detail: String, allow: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("dati non validi")]
    Validation(Vec<FieldError>),
    #[error("parametri di ricerca non validi")]
    InvalidQuery(Vec<FieldError>),
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after_s: u64 },
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// A 422 for a single field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError { field: field.into(), message: message.into() }])
    }

    pub fn not_found() -> Self {
        ApiError::NotFound("la risorsa richiesta non esiste o non è visibile con le credenziali usate".into())
    }

    pub fn forbidden() -> Self {
        ApiError::Forbidden("il ruolo dell'utente non consente questa operazione".into())
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => ("bad-request", "Richiesta malformata"),
            ApiError::Unauthorized(_) => ("unauthorized", "Autenticazione necessaria"),
            ApiError::Forbidden(_) => ("forbidden", "Operazione non consentita"),
            ApiError::SedeNotEnabled(_) => ("sede-not-enabled", "Sede non abilitata"),
            ApiError::NotFound(_) => ("not-found", "Risorsa non trovata"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Metodo non consentito"),
            ApiError::Conflict(_) => ("conflict", "Conflitto con lo stato attuale"),
            ApiError::PreconditionFailed(_) => ("precondition-failed", "Versione non aggiornata"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Contenuto troppo grande"),
            ApiError::UnsupportedMediaType(_) => ("unsupported-media-type", "Tipo di file non ammesso"),
            ApiError::Validation(_) => ("validation", "Dati non validi"),
            ApiError::InvalidQuery(_) => ("invalid-query", "Parametri di ricerca non validi"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Troppe richieste"),
            ApiError::Unavailable(_) => ("unavailable", "Servizio temporaneamente non disponibile"),
            ApiError::Internal(_) => ("internal", "Errore interno"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let (detail, errors) = match self {
            ApiError::Validation(errors) => {
                let detail = match errors.as_slice() {
                    [one] => format!("Il campo «{}» non è valido: {}.", one.field, one.message),
                    _ => "Alcuni campi non sono validi: vedere l'elenco degli errori.".to_owned(),
                };
                (detail, errors.clone())
            }
            ApiError::InvalidQuery(errors) => (
                format!(
                    "Parametri di ricerca non validi: {}.",
                    errors.iter().map(|e| format!("{} ({})", e.field, e.message)).collect::<Vec<_>>().join(", ")
                ),
                errors.clone(),
            ),
            ApiError::Internal(_) => (
                "Si è verificato un errore interno. Riprovare più tardi; se il problema persiste contattare l'assistenza.".to_owned(),
                vec![],
            ),
            other => (other.to_string(), vec![]),
        };
        Problem {
            problem_type: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::SedeNotEnabled(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                res.insert_header((header::ALLOW, allow.clone()));
            }
            ApiError::TooManyRequests { retry_after_s, .. } => {
                res.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
            }
            ApiError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        match e {
            e if cassetto_storage::is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable(
                    "la base dati non è raggiungibile in questo momento; riprovare tra qualche secondo".into(),
                )
            }
            other => ApiError::Internal(anyhow::Error::new(other).context("database")),
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errs: validator::ValidationErrors) -> Self {
        let mut out = Vec::new();
        flatten_validation("", &errs, &mut out);
        out.sort_by(|a, b| a.field.cmp(&b.field));
        ApiError::Validation(out)
    }
}

fn flatten_validation(prefix: &str, errs: &validator::ValidationErrors, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind;
    for (field, kind) in errs.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message =
                        e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| "valore non valido".to_owned());
                    out.push(FieldError { field: path.clone(), message });
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten_validation(&path, inner, out),
            ValidationErrorsKind::List(map) => {
                for (i, inner) in map {
                    flatten_validation(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

/// Collects field errors so a handler can report them all at once.
#[derive(Default)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), message: message.into() });
    }

    /// Parses `value` with `parse`, recording the error under `field`.
    pub fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        value: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match parse(value) {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }

    /// Records the DTO's own `validator` rules.
    pub fn validate(&mut self, input: &impl validator::Validate) {
        if let Err(e) = input.validate() {
            if let ApiError::Validation(list) = ApiError::from(e) {
                self.0.extend(list);
            }
        }
    }

    pub fn into_result(self) -> ApiResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}
