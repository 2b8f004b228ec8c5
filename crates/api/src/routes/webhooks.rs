//! Webhooks for payroll software: an API client registers endpoints and the events it wants;
//! deliveries go through the notification outbox (never lost, retried with back-off), signed
//! with HMAC-SHA256; the client reads the delivery log and replays a delivery.

use actix_web::{delete, get, post, web, HttpResponse};
use cassetto_dto::{
    webhooks::{NewWebhook, Webhook, WebhookCreated, WebhookDelivery},
    Problem,
};
use cassetto_storage::{audit, entities::webhook, outbox, registry, webhooks as store};
use rand::RngCore;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::extract::JsonBody;
use crate::requests::now;
use crate::state::AppState;

pub const EVENTS: [&str; 5] = ["registered", "taken_in_charge", "commented", "rerouted", "closed"];

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create).service(list).service(remove).service(deliveries).service(replay);
}

/// The API client of the caller's token; webhooks belong to API clients.
async fn client_id(state: &AppState, caller: &Caller) -> ApiResult<i32> {
    let Some(cid) = &caller.client_id else {
        return Err(ApiError::Forbidden(
            "i webhook si gestiscono con un token del client API (POST /api/v1/auth/token)".into(),
        ));
    };
    registry::api_client_by_client_id(&state.db, cid)
        .await?
        .map(|c| c.id)
        .ok_or_else(|| ApiError::Unauthorized("il client API non è più attivo".into()))
}

async fn own(state: &AppState, caller: &Caller, id: i32) -> ApiResult<webhook::Model> {
    let client = client_id(state, caller).await?;
    store::get(&state.db, id).await?.filter(|w| w.api_client_id == client).ok_or_else(ApiError::not_found)
}

fn dto(w: webhook::Model) -> Webhook {
    Webhook { id: w.id, url: w.url, events: w.events.split(',').map(str::to_owned).collect(), created_at: w.created_at }
}

fn check_url(raw: &str, errs: &mut FieldErrors) {
    match url::Url::parse(raw.trim()) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
        Ok(u) if u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) => {}
        Ok(_) => errs.push("url", "l'indirizzo deve essere https:// (http:// solo per 127.0.0.1 e localhost)"),
        Err(_) => errs.push("url", "indirizzo non valido"),
    }
}

/// Register a webhook. The answer carries the signing secret, shown only here.
#[utoipa::path(
    tag = "Webhook",
    request_body = NewWebhook,
    responses(
        (status = 201, body = WebhookCreated),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token non di un client API", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks")]
async fn create(state: web::Data<AppState>, caller: Caller, body: JsonBody<NewWebhook>) -> ApiResult<HttpResponse> {
    let client = client_id(&state, &caller).await?;
    let input = body.value()?;
    let mut errs = FieldErrors::default();
    errs.validate(&input);
    check_url(&input.url, &mut errs);
    let mut events: Vec<&str> = Vec::new();
    for (i, e) in input.events.iter().enumerate() {
        match EVENTS.iter().find(|x| **x == e.as_str()) {
            Some(x) if !events.contains(x) => events.push(x),
            Some(_) => {}
            None => errs.push(format!("events[{i}]"), format!("evento sconosciuto: ammessi {}", EVENTS.join(", "))),
        }
    }
    errs.into_result()?;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let secret = format!("whsec_{}", hex::encode(raw));
    let txn = cassetto_storage::begin_write(&state.db).await?;
    let w = store::insert(&txn, client, input.url.trim(), &events.join(","), &secret).await?;
    audit::record(
        &txn,
        &caller.actor(),
        "webhook.create",
        "webhook",
        &w.id.to_string(),
        serde_json::json!({"url": w.url, "events": w.events}),
    )
    .await?;
    txn.commit().await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/webhooks/{}", w.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(WebhookCreated { webhook: dto(w), secret }))
}

/// The client's webhooks.
#[utoipa::path(
    tag = "Webhook",
    responses(
        (status = 200, body = Vec<Webhook>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks")]
async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<web::Json<Vec<Webhook>>> {
    let client = client_id(&state, &caller).await?;
    Ok(web::Json(store::of_client(&state.db, client).await?.into_iter().map(dto).collect()))
}

/// Remove a webhook: no further deliveries.
#[utoipa::path(
    tag = "Webhook",
    params(("id" = i32, Path, description = "Id del webhook")),
    responses(
        (status = 204, description = "Webhook rimosso"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/webhooks/{id}")]
async fn remove(state: web::Data<AppState>, caller: Caller, id: web::Path<i32>) -> ApiResult<HttpResponse> {
    let w = own(&state, &caller, *id).await?;
    let txn = cassetto_storage::begin_write(&state.db).await?;
    store::deactivate(&txn, w.id).await?;
    audit::record(&txn, &caller.actor(), "webhook.delete", "webhook", &w.id.to_string(), serde_json::json!({})).await?;
    txn.commit().await?;
    Ok(HttpResponse::NoContent().finish())
}

fn delivery_dto(n: cassetto_storage::entities::notification::Model) -> WebhookDelivery {
    WebhookDelivery {
        id: n.id,
        delivery: n.message_id,
        event: n.event,
        request_id: n.request_id,
        status: n.status,
        attempts: n.attempts,
        created_at: n.created_at,
        sent_at: n.sent_at,
        last_error: n.last_error,
    }
}

/// The delivery log of a webhook, newest first (at most 200).
#[utoipa::path(
    tag = "Webhook",
    params(("id" = i32, Path, description = "Id del webhook")),
    responses(
        (status = 200, body = Vec<WebhookDelivery>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/webhooks/{id}/deliveries")]
async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i32>,
) -> ApiResult<web::Json<Vec<WebhookDelivery>>> {
    let w = own(&state, &caller, *id).await?;
    Ok(web::Json(outbox::for_webhook(&state.db, w.id, 200).await?.into_iter().map(delivery_dto).collect()))
}

/// Deliver an event again (same `Cassetto-Delivery` id, fresh signature).
#[utoipa::path(
    tag = "Webhook",
    params(
        ("id" = i32, Path, description = "Id del webhook"),
        ("delivery_id" = i64, Path, description = "Id della consegna"),
    ),
    responses(
        (status = 202, body = WebhookDelivery),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/webhooks/{id}/deliveries/{delivery_id}/replay")]
async fn replay(state: web::Data<AppState>, caller: Caller, path: web::Path<(i32, i64)>) -> ApiResult<HttpResponse> {
    let (id, delivery_id) = path.into_inner();
    let w = own(&state, &caller, id).await?;
    let original = outbox::get(&state.db, delivery_id)
        .await?
        .filter(|n| n.webhook_id == Some(w.id))
        .ok_or_else(ApiError::not_found)?;
    let at = now();
    let txn = cassetto_storage::begin_write(&state.db).await?;
    outbox::enqueue(
        &txn,
        vec![outbox::NewMessage {
            request_id: original.request_id.clone(),
            event: original.event.clone(),
            channel: "webhook".into(),
            recipient: w.url.clone(),
            message_id: original.message_id.clone(),
            subject: None,
            body: original.body.clone(),
            body_html: None,
            webhook_id: Some(w.id),
        }],
        at,
    )
    .await?;
    audit::record(
        &txn,
        &caller.actor(),
        "webhook.replay",
        "webhook",
        &w.id.to_string(),
        serde_json::json!({"delivery": original.id}),
    )
    .await?;
    txn.commit().await?;
    state.wake.notify_one();
    let fresh = outbox::for_webhook(&state.db, w.id, 1).await?.into_iter().next().ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Accepted().json(delivery_dto(fresh)))
}
