//! The registry, for `admin`: sedi, aziende (with CSV import), users, deleghe, API clients.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use cassetto_domain::{Role, SedeCode};
use cassetto_dto::{registry as dto, Problem};
use cassetto_storage::{audit, registry as store};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{read_limited, JsonBody, ValidJson};
use crate::registry::{self, azienda_dto, sede_dto};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(list_sedi)
        .service(create_sede)
        .service(patch_sede)
        .service(list_aziende)
        .service(create_azienda)
        .service(import_aziende)
        .service(patch_azienda)
        .service(create_user)
        .service(create_delega)
        .service(delete_delega)
        .service(create_api_client);
}

fn admin(caller: &Caller) -> ApiResult<()> {
    caller.require(&[Role::Admin])
}

fn created<T: serde::Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header(("Location", location)).json(body)
}

/// Every sede, with its pilot flag (also for operatori, who choose where to reroute).
#[utoipa::path(
    tag = "Anagrafiche",
    responses(
        (status = 200, body = Vec<dto::Sede>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/sedi")]
async fn list_sedi(state: web::Data<AppState>, caller: Caller) -> ApiResult<web::Json<Vec<dto::Sede>>> {
    caller.require(&[Role::Admin, Role::Supervisore, Role::Operatore])?;
    Ok(web::Json(store::list_sedi(&state.db).await?.into_iter().map(sede_dto).collect()))
}

/// Register a sede (INPS office, an AOO of the protocol register).
#[utoipa::path(
    tag = "Anagrafiche",
    request_body = dto::Sede,
    responses(
        (status = 201, body = dto::Sede),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Codice già esistente", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/sedi")]
async fn create_sede(state: web::Data<AppState>, caller: Caller, body: JsonBody<dto::Sede>) -> ApiResult<HttpResponse> {
    admin(&caller)?;
    let sede = registry::create_sede(&state.db, &caller.actor(), body.value()?).await?;
    Ok(created(format!("/api/v1/admin/sedi/{}", sede.code), &sede))
}

/// Change a sede's name or pilot flag (enabling or disabling its companies' requests).
#[utoipa::path(
    tag = "Anagrafiche",
    params(("code" = String, Path, description = "Codice sede (4 cifre)")),
    request_body = dto::SedePatch,
    responses(
        (status = 200, body = dto::Sede),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/sedi/{code}")]
async fn patch_sede(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: ValidJson<dto::SedePatch>,
) -> ApiResult<web::Json<dto::Sede>> {
    admin(&caller)?;
    let code = SedeCode::parse(&code).map_err(|_| ApiError::not_found())?;
    let current = store::get_sede(&state.db, code.as_str()).await?.ok_or_else(ApiError::not_found)?;
    let before = (current.name.clone(), current.pilot);
    let patch = body.value()?;
    let txn = cassetto_storage::begin_write(&state.db).await?;
    let updated = store::update_sede(&txn, current, patch.name.as_deref().map(str::trim), patch.pilot).await?;
    audit::record(
        &txn,
        &caller.actor(),
        "sede.update",
        "sede",
        code.as_str(),
        serde_json::json!({"name_from": before.0, "pilot_from": before.1, "name": updated.name, "pilot": updated.pilot}),
    )
    .await?;
    txn.commit().await?;
    Ok(web::Json(sede_dto(updated)))
}

#[derive(Debug, Deserialize, IntoParams)]
struct AziendeQuery {
    /// Only the aziende of this sede.
    sede: Option<String>,
    /// 1 to 500, default 100.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The registry of aziende, by matricola, paged.
#[utoipa::path(
    tag = "Anagrafiche",
    params(AziendeQuery),
    responses(
        (status = 200, body = dto::AziendePage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/aziende")]
async fn list_aziende(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<AziendeQuery>,
) -> ApiResult<web::Json<dto::AziendePage>> {
    caller.require(&[Role::Admin, Role::Supervisore])?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::InvalidQuery(vec![cassetto_dto::FieldError {
            field: "limit".into(),
            message: "deve essere un numero da 1 a 500".into(),
        }]));
    }
    let (items, total) = store::list_aziende(&state.db, q.sede.as_deref(), q.cursor.as_deref(), limit).await?;
    let next_cursor = (items.len() as u64 == limit).then(|| items.last().map(|a| a.matricola.clone())).flatten();
    Ok(web::Json(dto::AziendePage { items: items.into_iter().map(azienda_dto).collect(), total, next_cursor }))
}

/// Register an azienda with its competent sede.
#[utoipa::path(
    tag = "Anagrafiche",
    request_body = dto::Azienda,
    responses(
        (status = 201, body = dto::Azienda),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Matricola già registrata", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/aziende")]
async fn create_azienda(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<dto::Azienda>,
) -> ApiResult<HttpResponse> {
    admin(&caller)?;
    let a = registry::create_azienda(&state.db, &caller.actor(), body.value()?).await?;
    Ok(created(format!("/api/v1/admin/aziende/{}", a.matricola), &a))
}

/// Change an azienda: only the fields sent change; `null` clears a contact.
#[utoipa::path(
    tag = "Anagrafiche",
    params(("matricola" = String, Path, description = "Matricola (10 cifre)")),
    request_body = dto::AziendaPatch,
    responses(
        (status = 200, body = dto::Azienda),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/aziende/{matricola}")]
async fn patch_azienda(
    state: web::Data<AppState>,
    caller: Caller,
    matricola: web::Path<String>,
    body: JsonBody<dto::AziendaPatch>,
) -> ApiResult<web::Json<dto::Azienda>> {
    admin(&caller)?;
    registry::update_azienda(&state.db, &caller.actor(), &matricola, body.value()?)
        .await?
        .map(web::Json)
        .ok_or_else(ApiError::not_found)
}

/// Largest CSV accepted by the import.
const MAX_CSV_BYTES: usize = 5 * 1024 * 1024;

/// Import aziende from CSV (`text/csv`).
///
/// Header: `matricola,codice_fiscale,ragione_sociale,sede,email,pec,mobile` (`;` also accepted as
/// separator, as spreadsheets write it in Italy). Each good line creates or updates its azienda;
/// each bad line is reported with its number and reason and changes nothing.
#[utoipa::path(
    tag = "Anagrafiche",
    request_body(content = String, content_type = "text/csv", example = "matricola,codice_fiscale,ragione_sociale,sede,email,pec,mobile\n7000123456,01234567897,Rossi S.r.l.,7000,info@rossi.example,,\n"),
    responses(
        (status = 200, body = dto::ImportReport),
        (status = 400, description = "Intestazione mancante o errata", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/aziende/import")]
async fn import_aziende(
    state: web::Data<AppState>,
    caller: Caller,
    _req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<web::Json<dto::ImportReport>> {
    admin(&caller)?;
    let mut payload = payload.into_inner();
    let body = read_limited(&mut payload, MAX_CSV_BYTES).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("il file CSV deve essere codificato in UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() { b';' } else { b',' };
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|_| ApiError::BadRequest("il file CSV non ha un'intestazione leggibile".into()))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let required = ["matricola", "codice_fiscale", "ragione_sociale", "sede"];
    let missing: Vec<&str> = required.iter().copied().filter(|c| col(c).is_none()).collect();
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "l'intestazione del CSV non contiene le colonne: {}",
            missing.join(", ")
        )));
    }
    let idx = |name: &str| col(name);
    let actor = caller.actor();
    let mut report = dto::ImportReport { created: 0, updated: 0, errors: vec![] };
    let txn = cassetto_storage::begin_write(&state.db).await?;
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(_) => {
                report.errors.push(dto::ImportError { line, message: "riga non leggibile".into() });
                continue;
            }
        };
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        let get = |name: &str| idx(name).and_then(|i| record.get(i)).unwrap_or("").to_owned();
        let opt = |name: &str| Some(get(name)).filter(|s| !s.is_empty());
        let input = dto::Azienda {
            matricola: get("matricola"),
            codice_fiscale: get("codice_fiscale"),
            ragione_sociale: get("ragione_sociale"),
            sede: get("sede"),
            email: opt("email"),
            pec: opt("pec"),
            mobile: opt("mobile"),
        };
        match registry::upsert_azienda(&txn, &actor, &input).await {
            Ok(true) => report.created += 1,
            Ok(false) => report.updated += 1,
            Err(ApiError::Validation(errs)) => report.errors.push(dto::ImportError {
                line,
                message: errs.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
            }),
            Err(other) => return Err(other),
        }
    }
    txn.commit().await?;
    Ok(web::Json(report))
}

/// Create a user of any role. An operatore needs a sede; an azienda at least one matricola.
#[utoipa::path(
    tag = "Anagrafiche",
    request_body = dto::NewUser,
    responses(
        (status = 201, body = dto::User),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nome utente già in uso", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/users")]
async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<dto::NewUser>,
) -> ApiResult<HttpResponse> {
    admin(&caller)?;
    let u = registry::create_user(&state.db, &caller.actor(), body.value()?).await?;
    Ok(created(format!("/api/v1/admin/users/{}", u.username), &u))
}

/// Let a user act for a matricola: a delega to an intermediario, or an azienda's own matricola.
#[utoipa::path(
    tag = "Anagrafiche",
    request_body = dto::Delega,
    responses(
        (status = 201, body = dto::Delega),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Delega già presente", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/deleghe")]
async fn create_delega(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<dto::Delega>,
) -> ApiResult<HttpResponse> {
    admin(&caller)?;
    let d = registry::add_delega(&state.db, &caller.actor(), body.value()?).await?;
    Ok(created(format!("/api/v1/admin/deleghe/{}/{}", d.username, d.matricola), &d))
}

/// Revoke a delega.
#[utoipa::path(
    tag = "Anagrafiche",
    params(
        ("username" = String, Path, description = "Nome utente"),
        ("matricola" = String, Path, description = "Matricola (10 cifre)"),
    ),
    responses(
        (status = 204, description = "Delega revocata"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/admin/deleghe/{username}/{matricola}")]
async fn delete_delega(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    admin(&caller)?;
    let (username, matricola) = path.into_inner();
    if registry::remove_delega(&state.db, &caller.actor(), &username, &matricola).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found())
    }
}

/// Create client credentials for payroll software acting as an azienda or intermediario.
/// The secret is returned only in this answer.
#[utoipa::path(
    tag = "Anagrafiche",
    request_body = dto::NewApiClient,
    responses(
        (status = 201, body = dto::ApiClientCreated),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/api-clients")]
async fn create_api_client(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<dto::NewApiClient>,
) -> ApiResult<HttpResponse> {
    admin(&caller)?;
    let c = registry::create_api_client(&state.db, &caller.actor(), body.value()?).await?;
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(c))
}
