//! The users' side: sending requests, the archive, a request's detail, history, comments and
//! attachments. Only aziende and intermediari, and only for the matricole they may act for.

use actix_files::NamedFile;
use actix_multipart::Multipart;
use actix_web::{
    get,
    http::header::{ContentDisposition, DispositionParam, DispositionType},
    post, web, HttpRequest, HttpResponse,
};
use cassetto_dto::{
    requests::{Comment, HistoryEntry, NewComment, NewRequest, NewRequestForm, NotificationLog, Request, RequestPage},
    Problem,
};
use cassetto_storage::requests::{self as store, Scope};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::{Caller, Reader, Sending};
use crate::blobs::Blob;
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json, read_limited, ValidJson};
use crate::requests::{self, archive, upload, Created};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(history)
        .service(list_comments)
        .service(add_comment)
        .service(bundle)
        .service(notifications);
}

fn idempotency_key(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(v) = req.headers().get("Idempotency-Key") else { return Ok(None) };
    let s = v.to_str().map(str::trim).unwrap_or("");
    if s.is_empty() || s.len() > 200 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::field("Idempotency-Key", "deve avere da 1 a 200 caratteri ASCII visibili"));
    }
    Ok(Some(s.to_owned()))
}

/// Send a request to the competent sede.
///
/// `multipart/form-data` with a JSON part `request` and up to three parts `files` (PDF, P7M,
/// XML, TXT, CSV, images, office documents; type checked by content), or `application/json`
/// with the request alone. The request is registered in the protocol of the matricola's sede
/// and becomes its quesito. With `Idempotency-Key`, a retry returns the first answer
/// (header `Idempotent-Replayed: true`); the same key with a different request is refused.
#[utoipa::path(
    tag = "Richieste",
    params(("Idempotency-Key" = Option<String>, Header, description = "Chiave scelta dal client per ripetere l'invio senza duplicati")),
    request_body(
        description = "La richiesta, con o senza allegati",
        content(
            (NewRequestForm = "multipart/form-data"),
            (NewRequest = "application/json"),
        )
    ),
    responses(
        (status = 201, description = "Richiesta protocollata", body = Request,
            headers(("Location" = String, description = "URL della richiesta"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Matricola non delegata, o sede non abilitata (`sede-not-enabled`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File troppo grande", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Tipo di file non ammesso", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Campi non validi, o più di tre file", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Spazio per gli allegati esaurito o base dati non raggiungibile", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/requests")]
async fn create(
    state: web::Data<AppState>,
    sending: Sending,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let caller = sending.caller(&state).await?;
    if !caller.role.is_sender() {
        return Err(ApiError::Forbidden("solo aziende e intermediari inviano richieste".into()));
    }
    let key = idempotency_key(&req)?;
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (input, files) = if content_type.starts_with("multipart/form-data") {
        let mp = Multipart::new(req.headers(), payload.into_inner());
        let up = upload::read_multipart(mp, state.settings.max_file_bytes, state.blobs.temp_path()).await?;
        (up.request, up.bundle)
    } else if content_type.starts_with("application/json") {
        let mut payload = payload.into_inner();
        let bytes = read_limited(&mut payload, 64 * 1024).await?;
        (parse_json::<NewRequest>(&bytes)?, None)
    } else {
        return Err(ApiError::UnsupportedMediaType(
            "inviare la richiesta come multipart/form-data (con allegati) o application/json".into(),
        ));
    };
    match requests::create(&state, &caller, input, files, key).await? {
        Created::New(r) => {
            Ok(HttpResponse::Created().insert_header(("Location", format!("/api/v1/requests/{}", r.id))).json(r))
        }
        Created::Replayed(body) => {
            let id = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["id"].as_str().map(str::to_owned))
                .unwrap_or_default();
            Ok(HttpResponse::Created()
                .insert_header(("Location", format!("/api/v1/requests/{id}")))
                .insert_header(("Idempotent-Replayed", "true"))
                .content_type("application/json")
                .body(body))
        }
    }
}

/// The caller's archive: the requests of the matricole it may act for.
///
/// Filters combine with AND; `status` may repeat (OR among its values). Dates are days of the
/// Italian calendar, bounds included. Paging by cursor: pass `next_cursor` back as `cursor`.
#[utoipa::path(
    tag = "Richieste",
    params(archive::ArchiveParams),
    responses(
        (status = 200, body = RequestPage),
        (status = 400, description = "Parametro sconosciuto o non valido", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requests")]
async fn list(state: web::Data<AppState>, reader: Reader, req: HttpRequest) -> ApiResult<web::Json<RequestPage>> {
    reader.run(&state, |caller| archive_page(&state, caller, req.query_string())).await.map(web::Json)
}

async fn archive_page(state: &AppState, caller: Caller, query: &str) -> ApiResult<RequestPage> {
    if !caller.role.is_sender() {
        return Err(ApiError::Forbidden(
            "l'archivio delle richieste è riservato ad aziende e intermediari: usare /quesiti".into(),
        ));
    }
    let q = archive::parse(query, false)?;
    let holding = requests::holding(state, &caller).await?;
    let scope = Scope::DelegatedTo(caller.user.id, holding);
    page(state, &caller, &scope, q).await
}

/// Runs an archive query and builds the page (shared with the back office).
pub async fn page(
    state: &AppState,
    caller: &Caller,
    scope: &Scope,
    q: archive::ArchiveQuery,
) -> ApiResult<RequestPage> {
    let (rows, total, total_exact) =
        store::search(&state.db, scope, &q.filters, q.sort, q.cursor.as_ref(), q.limit + 1).await?;
    let has_more = rows.len() as u64 > q.limit;
    let rows: Vec<_> = rows.into_iter().take(q.limit as usize).collect();
    let next_cursor = if has_more {
        rows.last().map(|r| {
            let at = match q.sort.key {
                store::SortKey::UpdatedAt => r.updated_at,
                store::SortKey::CreatedAt => r.created_at,
            };
            archive::encode_cursor(q.sort, at, &r.id)
        })
    } else {
        None
    };
    let sedi = requests::sede_names(state, caller).await?;
    let items = rows.into_iter().map(|r| requests::summary(r, &sedi)).collect::<ApiResult<Vec<_>>>()?;
    Ok(RequestPage { items, total, total_exact, next_cursor })
}

/// A request with its status history, attachments and public comments.
#[utoipa::path(
    tag = "Richieste",
    params(("id" = String, Path, description = "Id della richiesta")),
    responses(
        (status = 200, body = Request),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requests/{id}")]
async fn get_one(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> ApiResult<web::Json<Request>> {
    let r = requests::visible_to_sender(&state, &caller, &id).await?;
    requests::detail(&state.db, &r.id, false).await.map(web::Json)
}

/// The status history of a request, oldest first.
#[utoipa::path(
    tag = "Richieste",
    params(("id" = String, Path, description = "Id della richiesta")),
    responses(
        (status = 200, body = Vec<HistoryEntry>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requests/{id}/history")]
async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<HistoryEntry>>> {
    let r = requests::visible_to_sender(&state, &caller, &id).await?;
    let rows = store::history_of(&state.db, &r.id).await?;
    rows.into_iter().map(requests::history_dto).collect::<ApiResult<Vec<_>>>().map(web::Json)
}

/// The public comments of a request, oldest first.
#[utoipa::path(
    tag = "Richieste",
    params(("id" = String, Path, description = "Id della richiesta")),
    responses(
        (status = 200, body = Vec<Comment>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requests/{id}/comments")]
async fn list_comments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<Comment>>> {
    let r = requests::visible_to_sender(&state, &caller, &id).await?;
    let rows = store::comments_of(&state.db, &r.id, false).await?;
    Ok(web::Json(rows.into_iter().map(requests::comment_dto).collect()))
}

/// Add a follow-up comment while the request is not closed.
#[utoipa::path(
    tag = "Richieste",
    params(("id" = String, Path, description = "Id della richiesta")),
    request_body = NewComment,
    responses(
        (status = 201, body = Comment),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Richiesta chiusa", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/requests/{id}/comments")]
async fn add_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: ValidJson<NewComment>,
) -> ApiResult<HttpResponse> {
    let r = requests::visible_to_sender(&state, &caller, &id).await?;
    let c = requests::add_comment(&state, &caller, &r, &body.value()?.body, false).await?;
    Ok(HttpResponse::Created().json(c))
}

/// The attached files, as the zip bundle stored with the request.
#[utoipa::path(
    tag = "Richieste",
    params(("id" = String, Path, description = "Id della richiesta")),
    responses(
        (status = 200, description = "Archivio zip degli allegati", content_type = "application/zip", body = Vec<u8>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Richiesta non visibile o senza allegati", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requests/{id}/attachments.zip")]
async fn bundle(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let r = requests::visible_to_sender(&state, &caller, &id).await?;
    serve_bundle(&state, &r, &req).await
}

/// Streams a request's bundle (shared with the back office).
pub async fn serve_bundle(
    state: &AppState,
    r: &cassetto_storage::entities::request::Model,
    req: &HttpRequest,
) -> ApiResult<HttpResponse> {
    if r.bundle_sha256.is_none() {
        return Err(ApiError::NotFound("la richiesta non ha allegati".into()));
    }
    let blob = state
        .blobs
        .open(&r.id)
        .await
        .map_err(upload::storage_error)?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("bundle of {} missing from the store", r.id)))?;
    let name = format!("richiesta-{}.zip", r.protocollo.replace(['/', '.'], "-"));
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![DispositionParam::Filename(name)],
    };
    let zip = mime_zip()?;
    let mut res = match blob {
        Blob::File(path) => {
            let file = NamedFile::open_async(&path).await.map_err(|e| ApiError::Internal(e.into()))?;
            file.set_content_type(zip).set_content_disposition(disposition).into_response(req)
        }
        Blob::Stream { size, body } => {
            HttpResponse::Ok().content_type(zip).insert_header(disposition).no_chunking(size).streaming(body)
        }
    };
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

fn mime_zip() -> ApiResult<actix_web::mime::Mime> {
    "application/zip".parse().map_err(|_| ApiError::Internal(anyhow::anyhow!("mime")))
}

/// The delivery log of a request's e-mails and SMS, recipients partly masked.
#[utoipa::path(
    tag = "Richieste",
    params(("id" = String, Path, description = "Id della richiesta")),
    responses(
        (status = 200, body = Vec<NotificationLog>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/requests/{id}/notifications")]
async fn notifications(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<web::Json<Vec<NotificationLog>>> {
    let r = requests::visible_to_sender(&state, &caller, &id).await?;
    delivery_log(&state, &r.id).await.map(web::Json)
}

/// The outbox rows of a request as its delivery log (shared with the back office).
pub async fn delivery_log(state: &AppState, id: &str) -> ApiResult<Vec<NotificationLog>> {
    let rows = cassetto_storage::outbox::for_request(&state.db, id).await?;
    Ok(rows
        .into_iter()
        .map(|n| NotificationLog {
            recipient: if n.channel == "sms" {
                cassetto_domain::mask_middle(&n.recipient, 6, 2)
            } else {
                cassetto_domain::mask_email(&n.recipient)
            },
            event: n.event,
            channel: n.channel,
            status: n.status,
            attempts: n.attempts,
            created_at: n.created_at,
            sent_at: n.sent_at,
            last_error: n.last_error.map(|e| e.chars().take(300).collect()),
        })
        .collect())
}
