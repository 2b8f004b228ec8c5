//! The back office: the sede's quesiti, status changes, comments, rerouting, the audit trail.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use cassetto_domain::Role;
use cassetto_dto::{
    backoffice::{AuditEntry, QuesitoComment, RerouteRequest, TransitionRequest},
    requests::{Comment, NotificationLog, Quesito, RequestPage},
    Problem,
};
use cassetto_storage::{audit, registry};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, Reader};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::quesiti::{self, etag};
use crate::requests::{self, archive};
use crate::routes::requests::{delivery_log, page, serve_bundle};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list)
        .service(get_one)
        .service(transition)
        .service(comment)
        .service(reroute)
        .service(bundle)
        .service(audit_trail)
        .service(notifications);
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers().get(actix_web::http::header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn with_etag(q: Quesito) -> HttpResponse {
    HttpResponse::Ok().insert_header(("ETag", etag(q.version))).json(q)
}

/// The quesiti of the caller's sede (operatore) or of every sede (supervisore, admin).
///
/// The archive's filters, plus `sede` and `assigned` (`me`, `none` or a username).
#[utoipa::path(
    tag = "Back office",
    params(archive::ArchiveParams, archive::QuesitiParams),
    responses(
        (status = 200, body = RequestPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/quesiti")]
async fn list(state: web::Data<AppState>, reader: Reader, req: HttpRequest) -> ApiResult<web::Json<RequestPage>> {
    reader.run(&state, |caller| back_office_page(&state, caller, req.query_string())).await.map(web::Json)
}

async fn back_office_page(state: &AppState, caller: Caller, query: &str) -> ApiResult<RequestPage> {
    let scope = quesiti::scope(&caller)?;
    let mut q = archive::parse(query, true)?;
    if q.assigned_me {
        q.filters.assigned = Some(Some(caller.user.id));
    }
    if let Some(name) = &q.assigned_username {
        match registry::user_by_username(&state.db, name).await? {
            Some(u) => q.filters.assigned = Some(Some(u.id)),
            None => {
                return Ok(RequestPage { items: vec![], total: 0, total_exact: true, next_cursor: None });
            }
        }
    }
    page(state, &caller, &scope, q).await
}

/// A quesito with internal comments, assignment and `version` (also in `ETag`).
#[utoipa::path(
    tag = "Back office",
    params(("id" = String, Path, description = "Id del quesito")),
    responses(
        (status = 200, body = Quesito, headers(("ETag" = String, description = "Versione del quesito"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/quesiti/{id}")]
async fn get_one(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> ApiResult<HttpResponse> {
    let r = quesiti::visible(&state, &caller, &id).await?;
    Ok(with_etag(quesiti::quesito(&state, &r.id).await?))
}

/// Change the status: take charge (`in_carico`), release (`aperta`), close (`chiusa`, with esito).
///
/// The comment is recorded in the history and shown to the sender. With `If-Match` and a stale
/// version the change is refused (412), so two operators never overwrite each other.
#[utoipa::path(
    tag = "Back office",
    params(
        ("id" = String, Path, description = "Id del quesito"),
        ("If-Match" = Option<String>, Header, description = "La versione letta (ETag)"),
    ),
    request_body = TransitionRequest,
    responses(
        (status = 200, body = Quesito),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Transizione non ammessa dallo stato attuale", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Versione non aggiornata", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Esito mancante o campi non validi", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/quesiti/{id}/transitions")]
async fn transition(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: JsonBody<TransitionRequest>,
) -> ApiResult<HttpResponse> {
    let quesito = quesiti::authorize_change(&state, &caller, &id).await?;
    let q = quesiti::transition(&state, &caller, quesito, body.value()?, if_match(&req).as_deref()).await?;
    Ok(with_etag(q))
}

/// Comment on a quesito: public (the sender sees it) or internal (never shown to the sender).
#[utoipa::path(
    tag = "Back office",
    params(("id" = String, Path, description = "Id del quesito")),
    request_body = QuesitoComment,
    responses(
        (status = 201, body = Comment),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Quesito chiuso", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/quesiti/{id}/comments")]
async fn comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: crate::extract::ValidJson<QuesitoComment>,
) -> ApiResult<HttpResponse> {
    quesiti::require_commenter(&caller)?;
    let r = quesiti::visible(&state, &caller, &id).await?;
    let input = body.value()?;
    let c = requests::add_comment(&state, &caller, &r, &input.body, input.internal).await?;
    Ok(HttpResponse::Created().json(c))
}

/// Reroute (smistamento) to another sede in pilot: the quesito becomes `aperta` there,
/// unassigned; the history and the sender show the move.
#[utoipa::path(
    tag = "Back office",
    params(
        ("id" = String, Path, description = "Id del quesito"),
        ("If-Match" = Option<String>, Header, description = "La versione letta (ETag)"),
    ),
    request_body = RerouteRequest,
    responses(
        (status = 200, body = Quesito),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Quesito chiuso", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/quesiti/{id}/reroute")]
async fn reroute(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: JsonBody<RerouteRequest>,
) -> ApiResult<HttpResponse> {
    let quesito = quesiti::authorize_change(&state, &caller, &id).await?;
    let q = quesiti::reroute(&state, &caller, quesito, body.value()?, if_match(&req).as_deref()).await?;
    Ok(with_etag(q))
}

/// The attached files of a quesito, as the zip bundle.
#[utoipa::path(
    tag = "Back office",
    params(("id" = String, Path, description = "Id del quesito")),
    responses(
        (status = 200, content_type = "application/zip", body = Vec<u8>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/quesiti/{id}/attachments.zip")]
async fn bundle(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let r = quesiti::visible(&state, &caller, &id).await?;
    serve_bundle(&state, &r, &req).await
}

/// Who did what and when to a quesito (admin).
#[utoipa::path(
    tag = "Back office",
    params(("id" = String, Path, description = "Id del quesito")),
    responses(
        (status = 200, body = Vec<AuditEntry>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/quesiti/{id}/audit")]
async fn audit_trail(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<AuditEntry>>> {
    caller.require(&[Role::Admin])?;
    let r = quesiti::visible(&state, &caller, &id).await?;
    let rows = audit::for_entity(&state.db, "request", &r.id).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(web::Json(
        rows.into_iter()
            .map(|e| AuditEntry {
                at: e.at,
                actor_username: e.actor_username,
                actor_role: e.actor_role,
                action: e.action,
                detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
            })
            .collect(),
    ))
}

/// The delivery log of a quesito's e-mails and SMS to the sender, recipients partly masked.
#[utoipa::path(
    tag = "Back office",
    params(("id" = String, Path, description = "Id del quesito")),
    responses(
        (status = 200, body = Vec<NotificationLog>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/quesiti/{id}/notifications")]
async fn notifications(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<NotificationLog>>> {
    let r = quesiti::visible(&state, &caller, &id).await?;
    delivery_log(&state, &r.id).await.map(web::Json)
}
