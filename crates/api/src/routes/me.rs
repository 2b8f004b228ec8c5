//! The caller's identity and notification preferences.

use actix_web::{get, put, web};
use cassetto_domain::Mobile;
use cassetto_dto::{
    auth::{Me, Preferences},
    registry::SedeRef,
    Problem,
};
use cassetto_storage::{audit, registry};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::error::{ApiResult, FieldErrors};
use crate::extract::ValidJson;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(me).service(get_preferences).service(put_preferences);
}

/// Who am I: role, sede and the matricole I may act for.
#[utoipa::path(
    tag = "Autenticazione",
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<web::Json<Me>> {
    let sede = match &caller.user.sede_code {
        Some(code) => registry::get_sede(&state.db, code).await?.map(|s| SedeRef { code: s.code, name: s.name }),
        None => None,
    };
    Ok(web::Json(Me {
        id: caller.user.id,
        username: caller.user.username.clone(),
        role: caller.role,
        display_name: caller.user.display_name.clone(),
        sede,
        matricole: caller.matricole(&state.db).await?,
    }))
}

fn preferences_of(u: &cassetto_storage::entities::user::Model) -> Preferences {
    Preferences {
        email: u.email.clone(),
        mobile: u.mobile.clone(),
        email_enabled: u.email_enabled,
        sms_enabled: u.sms_enabled,
    }
}

/// My notification preferences: where and whether to receive e-mail and SMS.
#[utoipa::path(
    tag = "Autenticazione",
    responses(
        (status = 200, body = Preferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/preferences")]
async fn get_preferences(caller: Caller) -> ApiResult<web::Json<Preferences>> {
    Ok(web::Json(preferences_of(&caller.user)))
}

/// Replace my notification preferences.
///
/// The mobile number is normalised to E.164 (`+39…`). A channel cannot be enabled without its
/// address.
#[utoipa::path(
    tag = "Autenticazione",
    request_body = Preferences,
    responses(
        (status = 200, body = Preferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/preferences")]
async fn put_preferences(
    state: web::Data<AppState>,
    caller: Caller,
    body: ValidJson<Preferences>,
) -> ApiResult<web::Json<Preferences>> {
    let p = body.value()?;
    let mut errs = FieldErrors::default();
    let email = p.email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty());
    let mobile = match p.mobile.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => errs.parse("mobile", m, Mobile::parse).map(Mobile::into_inner),
        None => None,
    };
    if p.email_enabled && email.is_none() {
        errs.push("email", "indicare un indirizzo e-mail per ricevere le notifiche via e-mail");
    }
    if p.sms_enabled && mobile.is_none() && !errs.0.iter().any(|e| e.field == "mobile") {
        errs.push("mobile", "indicare un numero di cellulare per ricevere gli SMS");
    }
    errs.into_result()?;
    let txn = cassetto_storage::begin_write(&state.db).await?;
    let updated =
        registry::update_preferences(&txn, caller.user.clone(), email, mobile, p.email_enabled, p.sms_enabled).await?;
    audit::record(
        &txn,
        &caller.actor(),
        "preferences.update",
        "user",
        &updated.id.to_string(),
        serde_json::json!({"email_enabled": updated.email_enabled, "sms_enabled": updated.sms_enabled}),
    )
    .await?;
    txn.commit().await?;
    Ok(web::Json(preferences_of(&updated)))
}
