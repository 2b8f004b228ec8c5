//! The companies the caller may act for.

use actix_web::{get, web};
use cassetto_dto::{
    registry::{AziendaRef, SedeRef},
    Problem,
};
use cassetto_storage::registry;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list);
}

/// The companies the caller may send requests for: its own (azienda) or delegated
/// (intermediario), with their competent sede. Empty for INPS roles.
#[utoipa::path(
    tag = "Richieste",
    responses(
        (status = 200, body = Vec<AziendaRef>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/aziende")]
async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<web::Json<Vec<AziendaRef>>> {
    if !caller.role.is_sender() {
        return Ok(web::Json(vec![]));
    }
    let rows = registry::aziende_of_user(&state.db, caller.user.id).await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|(a, s)| AziendaRef {
                sede: SedeRef { name: s.map(|s| s.name).unwrap_or_default(), code: a.sede_code },
                matricola: a.matricola,
                ragione_sociale: a.ragione_sociale,
            })
            .collect(),
    ))
}
