//! Enqueues the notifications of an event in the transaction of the change, from the
//! request as it is after the change.

use cassetto_domain::{EsitoCode, Status};
use cassetto_notifications::{enqueue, Event, Notice};
use cassetto_storage::{registry, requests as store, ConnectionTrait};

use crate::error::{ApiError, ApiResult};
use crate::requests::now;

pub async fn event(
    txn: &impl ConnectionTrait,
    event: Event,
    request_id: &str,
    comment: Option<String>,
    previous_sede: Option<&str>,
) -> ApiResult<()> {
    let r = store::get(txn, request_id).await?.ok_or_else(ApiError::not_found)?;
    let sede_name = registry::get_sede(txn, &r.sede_code).await?.map(|s| s.name).unwrap_or_default();
    let previous_sede_name = match previous_sede {
        Some(code) => registry::get_sede(txn, code).await?.map(|s| s.name),
        None => None,
    };
    let notice = Notice {
        event,
        version: r.version,
        protocollo: r.protocollo.clone(),
        matricola: r.matricola.clone(),
        subject: r.subject.clone(),
        status_label: Status::parse(&r.status).map(|s| s.label().to_owned()).unwrap_or_default(),
        status_code: r.status.clone(),
        esito_code: r.esito_code.clone(),
        sede_code: r.sede_code.clone(),
        sede_name,
        previous_sede_name,
        comment,
        esito_label: r.esito_code.as_deref().and_then(|c| EsitoCode::parse(c).ok()).map(|e| e.label().to_owned()),
        esito_text: r.esito_text.clone(),
        sender_user_id: r.created_by,
        request_id: r.id,
    };
    enqueue(txn, &notice, now()).await?;
    Ok(())
}
