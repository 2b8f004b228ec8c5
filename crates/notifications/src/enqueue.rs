//! Turning an event into outbox rows, inside the transaction of the change that causes it.
//!
//! Recipients: the user who sent the request and the azienda's own users (so a company hears
//! of what its intermediario sent), each by the channels it enabled in its preferences; and,
//! for registration and closing, the e-mail address of the azienda's registry entry.

use cassetto_storage::{outbox, registry, webhooks, Batch, ConnectionTrait, DbErr};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::templates::{self, Event, Vars};

/// What happened to which request, with the values the texts need.
pub struct Notice {
    pub event: Event,
    pub request_id: String,
    /// The request's version after the change: with the event it identifies the message.
    pub version: i32,
    pub protocollo: String,
    pub matricola: String,
    pub subject: String,
    pub status_label: String,
    /// `aperta`, `in_carico`, `chiusa`.
    pub status_code: String,
    pub sede_code: String,
    pub sede_name: String,
    pub previous_sede_name: Option<String>,
    pub comment: Option<String>,
    pub esito_code: Option<String>,
    pub esito_label: Option<String>,
    pub esito_text: Option<String>,
    pub sender_user_id: i32,
}

fn message_id(n: &Notice, channel: &str, recipient: &str) -> String {
    let h = hex::encode(Sha256::digest(recipient.to_lowercase().as_bytes()));
    format!("<{}.v{}.{}.{}.{}@cassetto>", n.request_id, n.version, n.event.as_str(), channel, &h[..12])
}

fn vars(n: &Notice) -> Vars {
    let mut v = Vars::new();
    v.insert("protocollo", n.protocollo.clone());
    v.insert("matricola", n.matricola.clone());
    v.insert("oggetto", n.subject.clone());
    v.insert("stato", n.status_label.clone());
    v.insert("sede", n.sede_name.clone());
    v.insert("sede_codice", n.sede_code.clone());
    v.insert("sede_precedente", n.previous_sede_name.clone().unwrap_or_default());
    v.insert("commento", n.comment.clone().unwrap_or_default());
    v.insert("esito", n.esito_label.clone().unwrap_or_default());
    v.insert("esito_testo", n.esito_text.clone().unwrap_or_default());
    v
}

/// Who hears of an event on a matricola's request: e-mail addresses, mobile numbers, webhooks.
pub struct Audience {
    emails: Vec<String>,
    mobiles: Vec<String>,
    hooks: Vec<cassetto_storage::entities::webhook::Model>,
}

/// Reads the audience of `event` on a request of `matricola` sent by `sender_user_id`. It only
/// reads: a writer may call it before its transaction, to keep the transaction short.
pub async fn audience(
    db: &impl ConnectionTrait,
    event: Event,
    matricola: &str,
    sender_user_id: i32,
) -> Result<Audience, DbErr> {
    let sender = registry::user_by_id(db, sender_user_id).await?;
    let azienda_email = match event {
        Event::Registered | Event::Closed => registry::get_azienda(db, matricola).await?.and_then(|a| a.email),
        _ => None,
    };
    audience_with(db, event, matricola, sender.as_ref(), azienda_email).await
}

/// [`audience`], for a caller that already holds the sender and the azienda's registry e-mail.
pub async fn audience_with(
    db: &impl ConnectionTrait,
    event: Event,
    matricola: &str,
    sender: Option<&cassetto_storage::entities::user::Model>,
    azienda_email: Option<String>,
) -> Result<Audience, DbErr> {
    // Two independent reads: on a pool they run at once, on two connections.
    let (users, hooks) = tokio::join!(
        registry::users_for_matricola(db, matricola, "azienda"),
        webhooks::subscribed(db, matricola, event.as_str())
    );
    Ok(audience_of(event, users?, hooks?, sender, azienda_email))
}

/// The audience of `event` from what [`audience_with`] reads: the aziende's users holding the
/// matricola (`registry::users_for_matricola`) and its webhooks (`webhooks::subscribed`).
pub fn audience_of(
    event: Event,
    mut users: Vec<cassetto_storage::entities::user::Model>,
    hooks: Vec<cassetto_storage::entities::webhook::Model>,
    sender: Option<&cassetto_storage::entities::user::Model>,
    azienda_email: Option<String>,
) -> Audience {
    let mut emails: Vec<String> = Vec::new();
    let mut mobiles: Vec<String> = Vec::new();
    if let Some(sender) = sender.filter(|u| u.active) {
        if !users.iter().any(|u| u.id == sender.id) {
            users.insert(0, sender.clone());
        }
    }
    for u in &users {
        if u.email_enabled {
            if let Some(e) = u.email.as_deref().filter(|e| !e.is_empty()) {
                emails.push(e.to_owned());
            }
        }
        if u.sms_enabled && event.has_sms() {
            if let Some(m) = u.mobile.as_deref().filter(|m| !m.is_empty()) {
                mobiles.push(m.to_owned());
            }
        }
    }
    if matches!(event, Event::Registered | Event::Closed) {
        emails.extend(azienda_email);
    }
    let mut seen = Vec::new();
    emails.retain(|e| {
        let k = e.to_lowercase();
        let fresh = !seen.contains(&k);
        seen.push(k);
        fresh
    });
    mobiles.sort();
    mobiles.dedup();
    Audience { emails, mobiles, hooks }
}

/// Writes the rows of `notice`; returns how many.
pub async fn enqueue(db: &impl ConnectionTrait, notice: &Notice, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let audience = audience(db, notice.event, &notice.matricola, notice.sender_user_id).await?;
    enqueue_for(db, notice, audience, now).await
}

/// Writes the rows of `notice` for an audience read beforehand; returns how many.
pub async fn enqueue_for(
    db: &impl ConnectionTrait,
    notice: &Notice,
    audience: Audience,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let mut batch = Batch::new(db.get_database_backend());
    let n = enqueue_into(&mut batch, notice, audience, now);
    batch.run(db).await?;
    Ok(n)
}

/// Adds to `batch` the rows of `notice` for an audience read beforehand, to run in the
/// transaction of the change; returns how many.
pub fn enqueue_into(batch: &mut Batch, notice: &Notice, audience: Audience, now: DateTime<Utc>) -> usize {
    let Audience { emails, mobiles, hooks } = audience;
    let v = vars(notice);
    let mut rows = Vec::new();
    if !emails.is_empty() {
        let mail = templates::email(notice.event, &v);
        for to in emails {
            rows.push(outbox::NewMessage {
                request_id: Some(notice.request_id.clone()),
                event: notice.event.as_str().into(),
                channel: "email".into(),
                message_id: message_id(notice, "email", &to),
                recipient: to,
                subject: Some(mail.subject.clone()),
                body: mail.text.clone(),
                body_html: Some(mail.html.clone()),
                webhook_id: None,
            });
        }
    }
    if let Some(text) = templates::sms(notice.event, &v) {
        for to in mobiles {
            rows.push(outbox::NewMessage {
                request_id: Some(notice.request_id.clone()),
                event: notice.event.as_str().into(),
                channel: "sms".into(),
                message_id: message_id(notice, "sms", &to),
                recipient: to,
                subject: None,
                body: text.clone(),
                body_html: None,
                webhook_id: None,
            });
        }
    }
    for hook in hooks {
        let delivery = format!("{}.v{}.{}.{}", notice.request_id, notice.version, notice.event.as_str(), hook.id);
        let payload = serde_json::json!({
            "id": delivery,
            "event": notice.event.as_str(),
            "occurred_at": now,
            "request": {
                "id": notice.request_id,
                "protocollo": notice.protocollo,
                "matricola": notice.matricola,
                "subject": notice.subject,
                "status": notice.status_code,
                "sede": {"code": notice.sede_code, "name": notice.sede_name},
                "esito": notice.esito_code.as_ref().map(|c| serde_json::json!({"code": c, "text": notice.esito_text})),
                "comment": notice.comment,
            }
        });
        rows.push(outbox::NewMessage {
            request_id: Some(notice.request_id.clone()),
            event: notice.event.as_str().into(),
            channel: "webhook".into(),
            recipient: hook.url.clone(),
            message_id: delivery,
            subject: None,
            body: payload.to_string(),
            body_html: None,
            webhook_id: Some(hook.id),
        });
    }
    let n = rows.len();
    outbox::enqueue_into(batch, rows, now);
    n
}
