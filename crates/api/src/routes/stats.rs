//! Monitoring: the figures of the "Back Office Contact Center".

use actix_web::{get, web};
use cassetto_domain::{italian_day_start, Role, SedeCode};
use cassetto_dto::{
    backoffice::{Backlog, Stats},
    Problem,
};
use cassetto_storage::stats::{self, StatsFilter};
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(get_stats);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// Only this sede (an operatore always sees its own).
    sede: Option<String>,
    /// Quesiti opened on or after this day (`YYYY-MM-DD`).
    from: Option<String>,
    /// Quesiti opened on or before this day.
    to: Option<String>,
}

/// Totals by status, ambito and sede, median times to take charge and to close, open backlog
/// by age. An operatore sees its own sede.
#[utoipa::path(
    tag = "Back office",
    params(StatsQuery),
    responses(
        (status = 200, body = Stats),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats")]
async fn get_stats(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<StatsQuery>,
) -> ApiResult<web::Json<Stats>> {
    let mut errs = FieldErrors::default();
    let sede = match caller.role {
        Role::Operatore => caller.user.sede_code.clone(),
        Role::Admin | Role::Supervisore => {
            q.sede.as_deref().and_then(|s| errs.parse("sede", s, SedeCode::parse)).map(SedeCode::into_inner)
        }
        _ => return Err(ApiError::Forbidden("le statistiche sono riservate agli operatori INPS".into())),
    };
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "deve essere una data AAAA-MM-GG");
    let from = q.from.as_deref().and_then(|s| errs.parse("from", s, date));
    let to = q.to.as_deref().and_then(|s| errs.parse("to", s, date));
    if !errs.0.is_empty() {
        return Err(ApiError::InvalidQuery(errs.0));
    }
    let filter = StatsFilter {
        sede,
        created_from: from.map(italian_day_start),
        created_before: to.and_then(|d| d.checked_add_days(Days::new(1))).map(italian_day_start),
    };
    let s = stats::compute(&state.db, &filter, chrono::Utc::now()).await?;
    Ok(web::Json(Stats {
        total: s.total,
        by_status: s.by_status,
        by_ambito: s.by_ambito,
        by_sede: s.by_sede,
        median_time_to_take_charge_s: s.median_time_to_take_charge_s,
        median_time_to_close_s: s.median_time_to_close_s,
        backlog_by_age: Backlog {
            under_1_day: s.backlog_by_age[0],
            from_1_to_7_days: s.backlog_by_age[1],
            from_7_to_30_days: s.backlog_by_age[2],
            over_30_days: s.backlog_by_age[3],
        },
    }))
}
