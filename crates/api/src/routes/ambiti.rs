//! The catalogue of ambiti.

use actix_web::{get, web};
use cassetto_domain::FieldType;
use cassetto_dto::{
    registry::{Ambito, AmbitoField},
    Problem,
};
use cassetto_storage::ambiti;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list);
}

/// The ambiti a request can be about, each with the detail fields it asks for.
#[utoipa::path(
    tag = "Richieste",
    responses(
        (status = 200, body = Vec<Ambito>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/ambiti")]
async fn list(state: web::Data<AppState>, _caller: Caller) -> ApiResult<web::Json<Vec<Ambito>>> {
    let rows = ambiti::list(&state.db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (a, fields) in rows {
        let fields = fields
            .into_iter()
            .map(|f| {
                Ok(AmbitoField {
                    field_type: FieldType::parse(&f.field_type)
                        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?,
                    name: f.name,
                    label: f.label,
                    required: f.required,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        out.push(Ambito { code: a.code, label: a.label, fields });
    }
    Ok(web::Json(out))
}
