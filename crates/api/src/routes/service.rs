//! Liveness, readiness and metrics, for the balancer and the monitoring.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::metrics::Metrics;
use crate::state::AppState;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "Servizio", responses((status = 200, body = Health)), security(()))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok", detail: None })
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(
    tag = "Servizio",
    responses((status = 200, body = Health), (status = 503, body = Health)),
    security(())
)]
#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if cassetto_storage::ping(&state.db).await.is_err() {
        return HttpResponse::ServiceUnavailable()
            .json(Health { status: "unavailable", detail: Some("base dati non raggiungibile".into()) });
    }
    match cassetto_storage::pending_migrations(&state.db).await {
        Ok(0) => HttpResponse::Ok().json(Health { status: "ok", detail: None }),
        Ok(n) => HttpResponse::ServiceUnavailable()
            .json(Health { status: "unavailable", detail: Some(format!("{n} migrazioni da applicare")) }),
        Err(_) => HttpResponse::ServiceUnavailable()
            .json(Health { status: "unavailable", detail: Some("stato delle migrazioni non leggibile".into()) }),
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(
    tag = "Servizio",
    responses((status = 200, content_type = "text/plain", body = String)),
    security(())
)]
#[get("/metrics")]
async fn metrics(m: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(m.render())
}
