//! Sign-in with a password (people) or with client credentials (payroll software).

use actix_web::{post, web, HttpResponse};
use cassetto_domain::Role;
use cassetto_dto::{
    auth::{ClientCredentials, LoginRequest, TokenResponse},
    Problem,
};
use cassetto_storage::{registry, throttle};
use chrono::Utc;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::auth::{client_secret_matches, issue_token, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::extract::ValidJson;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(login).service(token);
}

fn bad_credentials() -> ApiError {
    ApiError::Unauthorized("credenziali non valide".into())
}

fn locked(until: chrono::DateTime<Utc>) -> ApiError {
    let secs = (until - Utc::now()).num_seconds().max(1) as u64;
    ApiError::TooManyRequests {
        detail: format!("troppi tentativi di accesso non riusciti: riprovare tra {} minuti", secs.div_ceil(60)),
        retry_after_s: secs,
    }
}

/// Checks the throttle, runs `verify`, records the outcome; the same path for known and
/// unknown names.
async fn guarded<F, Fut, T>(state: &AppState, key: &str, verify: F) -> ApiResult<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ApiResult<Option<T>>>,
{
    let now = Utc::now();
    if let Some(until) = throttle::locked_until(&state.db, key, now).await? {
        return Err(locked(until));
    }
    match verify().await? {
        Some(v) => {
            throttle::reset(&state.db, key).await?;
            Ok(v)
        }
        None => match throttle::record_failure(&state.db, key, now).await? {
            Some(until) => Err(locked(until)),
            None => Err(bad_credentials()),
        },
    }
}

/// Sign in with username and password.
///
/// Returns a bearer token for the other endpoints. After 5 failed attempts within 15 minutes
/// the account name is locked for 15 minutes (429), whether or not it exists.
#[utoipa::path(
    tag = "Autenticazione",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Accesso riuscito", body = TokenResponse),
        (status = 401, description = "Credenziali non valide", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Campi mancanti", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Troppi tentativi", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/login")]
async fn login(state: web::Data<AppState>, body: ValidJson<LoginRequest>) -> ApiResult<HttpResponse> {
    let req = body.value()?;
    let key = format!("user:{}", req.username.trim().to_lowercase());
    let username = req.username.trim().to_lowercase();
    let access_token = guarded(&state, &key, || async {
        let user = registry::user_by_username(&state.db, &username).await?.filter(|u| u.active);
        let ok = verify_password(req.password.clone(), user.as_ref().map(|u| u.password_hash.clone())).await?;
        match (ok, user) {
            (true, Some(u)) => {
                let role = Role::parse(&u.role).map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
                Ok(Some(issue_token(&state, &u, role, None)?))
            }
            _ => Ok(None),
        }
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.settings.token_ttl_s,
    }))
}

/// OAuth 2 client-credentials grant, for payroll software.
///
/// Form-encoded `grant_type=client_credentials&client_id=…&client_secret=…`. The token acts as
/// the API client's owner user.
#[utoipa::path(
    tag = "Autenticazione",
    request_body(content = ClientCredentials, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Token emesso", body = TokenResponse),
        (status = 400, description = "grant_type non supportato", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Credenziali del client non valide", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Troppi tentativi", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
#[post("/auth/token")]
async fn token(state: web::Data<AppState>, form: web::Form<ClientCredentials>) -> ApiResult<HttpResponse> {
    let form = form.into_inner();
    if form.grant_type != "client_credentials" {
        return Err(ApiError::BadRequest("grant_type deve essere «client_credentials»".into()));
    }
    form.validate()?;
    let key = format!("client:{}", form.client_id);
    let access_token = guarded(&state, &key, || async {
        let Some(client) = registry::api_client_by_client_id(&state.db, &form.client_id).await? else {
            return Ok(None);
        };
        if !client_secret_matches(&form.client_secret, &client.secret_hash) {
            return Ok(None);
        }
        let Some(user) = registry::user_by_id(&state.db, client.user_id).await?.filter(|u| u.active) else {
            return Ok(None);
        };
        let role = Role::parse(&user.role).map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
        Ok(Some(issue_token(&state, &user, role, Some(client.client_id))?))
    })
    .await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.settings.token_ttl_s,
    }))
}
