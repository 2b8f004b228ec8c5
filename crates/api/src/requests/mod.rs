//! Requests: sending (validation, routing, protocol, bundle, idempotency), visibility and the
//! views of a request for its sender and for the back office.

pub mod archive;
pub mod upload;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use cassetto_domain::{ambito as rules, italian_date, EsitoCode, FieldType, Matricola, Protocollo, SedeCode, Status};
use cassetto_dto::{
    registry::SedeRef,
    requests::{self as dto, NewRequest},
};
use cassetto_storage::{
    audit,
    entities::{ambito_field, comment, idempotency_key, request, request_history},
    is_unique_violation, registry, requests as store, ConnectionTrait,
};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::state::AppState;
use upload::{storage_error, TempBundle};

/// Now, to the microsecond (the precision both databases keep, so cursors compare exactly).
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

fn no_controls(s: &str, allow_newlines: bool) -> bool {
    s.chars().all(|c| !c.is_control() || (allow_newlines && matches!(c, '\n' | '\r' | '\t')))
}

/// Checks the ambito's detail fields; returns the normalised details.
fn check_details(fields: &[ambito_field::Model], details: &Value, errs: &mut FieldErrors) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(given) = details.as_object() else {
        errs.push("details", "deve essere un oggetto JSON con i campi dell'ambito");
        return out;
    };
    for key in given.keys() {
        if !fields.iter().any(|f| &f.name == key) {
            errs.push(format!("details.{key}"), "campo non previsto per questo ambito");
        }
    }
    let today = italian_date(Utc::now());
    for f in fields {
        let path = format!("details.{}", f.name);
        match given.get(&f.name).filter(|v| !v.is_null() && v.as_str() != Some("")) {
            None if f.required => errs.push(path, "campo obbligatorio"),
            None => {}
            Some(v) => match FieldType::parse(&f.field_type) {
                Ok(kind) => match rules::check_value(kind, v, today) {
                    Ok(norm) => {
                        out.insert(f.name.clone(), norm);
                    }
                    Err(msg) => errs.push(path, msg),
                },
                Err(e) => errs.push(path, e.to_string()),
            },
        }
    }
    // A `<x>_to` may not precede its `<x>_from` (periods and dates compare as text).
    for f in fields {
        if let Some(prefix) = f.name.strip_suffix("_to") {
            let from = out.get(&format!("{prefix}_from")).and_then(Value::as_str);
            let to = out.get(&f.name).and_then(Value::as_str);
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    errs.push(format!("details.{}", f.name), "la fine del periodo precede l'inizio");
                }
            }
        }
    }
    out
}

/// The stored subject: the ambito's label and, for Regolarità contributiva, the period.
fn stored_subject(ambito_code: &str, label: &str, details: &Map<String, Value>, subject: &str) -> String {
    if ambito_code == rules::GENERICA {
        return subject.to_owned();
    }
    let period = |k: &str| details.get(k).and_then(Value::as_str).and_then(rules::Period::parse).map(|p| p.italian());
    if ambito_code == rules::REGOLARITA_CONTRIBUTIVA {
        if let (Some(from), Some(to)) = (period("period_from"), period("period_to")) {
            return format!("{label} - periodo {from}-{to}: {subject}");
        }
    }
    format!("{label}: {subject}")
}

struct Checked {
    /// The registry's version the checks were made under.
    registry_version: i64,
    matricola: String,
    /// The registry's e-mail of the azienda (notified of registration).
    azienda_email: Option<String>,
    sede: cassetto_storage::entities::sede::Model,
    ambito: String,
    subject: String,
    body: String,
    details: Map<String, Value>,
}

async fn check_new(state: &AppState, caller: &Caller, input: &NewRequest) -> ApiResult<Checked> {
    if !caller.role.is_sender() {
        return Err(ApiError::Forbidden("solo aziende e intermediari inviano richieste".into()));
    }
    let mut errs = FieldErrors::default();
    errs.validate(input);
    let matricola = errs.parse("matricola", &input.matricola, Matricola::parse);
    let subject = input.subject.trim().to_owned();
    if subject.is_empty() && !errs.0.iter().any(|e| e.field == "subject") {
        errs.push("subject", "l'oggetto non può essere vuoto");
    } else if !no_controls(&subject, false) {
        errs.push("subject", "l'oggetto non può contenere caratteri di controllo");
    }
    let body = input.body.trim().to_owned();
    if body.is_empty() && !errs.0.iter().any(|e| e.field == "body") {
        errs.push("body", "il testo non può essere vuoto");
    } else if !no_controls(&body, true) {
        errs.push("body", "il testo non può contenere caratteri di controllo");
    }
    let ambito = state.ambiti.get(&state.db, input.ambito.trim()).await?;
    let details = match &ambito {
        Some((_, fields)) => check_details(fields, &input.details, &mut errs),
        None => {
            errs.push("ambito", format!("ambito sconosciuto: {}", short(&input.ambito)));
            Map::new()
        }
    };
    errs.into_result()?;
    let (Some(matricola), Some((ambito, _))) = (matricola, ambito) else {
        return Err(ApiError::Internal(anyhow::anyhow!("validated request without values")));
    };
    // The delega, the azienda and its sede, as of the registry's version of this request.
    let version = match caller.registry_version {
        Some(v) => v,
        None => cassetto_storage::registry_cache::version(&state.db).await?,
    };
    let Some((azienda, sede)) = state.registry.sender(&state.db, version, caller.user.id, matricola.as_str()).await?
    else {
        return Err(ApiError::Forbidden(format!(
            "l'utente non è autorizzato ad agire per la matricola {matricola}: serve una delega registrata"
        )));
    };
    let sede = sede.ok_or_else(ApiError::not_found)?;
    if !sede.pilot {
        return Err(ApiError::SedeNotEnabled(format!(
            "la sede competente per la matricola {matricola}, {} ({}), non è ancora abilitata alla comunicazione \
             bidirezionale: la richiesta va presentata con i canali ordinari",
            sede.name, sede.code
        )));
    }
    let subject = stored_subject(&ambito.code, &ambito.label, &details, &subject);
    Ok(Checked {
        registry_version: version,
        matricola: matricola.into_inner(),
        azienda_email: azienda.email,
        sede,
        ambito: ambito.code,
        subject,
        body,
        details,
    })
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// Fingerprint of a create, to recognise a retry with the same `Idempotency-Key`.
fn fingerprint(input: &NewRequest, bundle: Option<&TempBundle>) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(input).unwrap_or_default());
    for f in bundle.map(|b| b.files.as_slice()).unwrap_or_default() {
        h.update(f.name.as_bytes());
        h.update(f.sha256.as_bytes());
    }
    hex::encode(h.finalize())
}

pub enum Created {
    New(Box<dto::Request>),
    /// A retry: the first answer, as it was.
    Replayed(String),
}

/// Sends a request: checks it, publishes the bundle, then registers the request, its protocol
/// number, history, audit entry and idempotency record in one transaction.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: NewRequest,
    bundle: Option<TempBundle>,
    idempotency_key: Option<String>,
) -> ApiResult<Created> {
    let result = create_inner(state, caller, &input, bundle.as_ref(), idempotency_key).await;
    if let Some(b) = bundle {
        // Published bundles were renamed away; whatever is left here is discarded.
        b.discard().await;
    }
    result
}

async fn replay_or_conflict(row: idempotency_key::Model, hash: &str) -> ApiResult<Created> {
    if row.request_hash != hash {
        return Err(ApiError::field(
            "Idempotency-Key",
            "la chiave è già stata usata per una richiesta diversa: usarne una nuova",
        ));
    }
    row.response_body
        .map(Created::Replayed)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("idempotency row without body")))
}

async fn create_inner(
    state: &AppState,
    caller: &Caller,
    input: &NewRequest,
    bundle: Option<&TempBundle>,
    idempotency_key: Option<String>,
) -> ApiResult<Created> {
    let hash = fingerprint(input, bundle);
    if let Some(key) = &idempotency_key {
        if let Some(row) = store::idempotency_get(&state.db, caller.user.id, key).await? {
            // A replay writes nothing that would confirm a caller taken from the cache.
            if caller.unconfirmed {
                caller.authenticated_again(state).await?;
            }
            return replay_or_conflict(row, &hash).await;
        }
    }
    // A caller taken from the registry cache (see `auth::Sending`) is confirmed before it is
    // refused: the refusal may come from a registry that changed since.
    let (mut who, checked) = match check_new(state, caller, input).await {
        Ok(checked) => (Cow::Borrowed(caller), checked),
        Err(_) if caller.unconfirmed => {
            let again = caller.authenticated_again(state).await?;
            let checked = check_new(state, &again, input).await?;
            (Cow::Owned(again), checked)
        }
        Err(e) => return Err(e),
    };
    let id = uuid::Uuid::now_v7().to_string();
    if let Some(b) = bundle {
        state.blobs.put_file(&id, &b.path).await.map_err(storage_error)?;
    }
    let registered = async {
        let mut checked = checked;
        loop {
            match register(state, &who, &id, checked, bundle, idempotency_key.as_deref(), &hash).await {
                // The registry changed since the cached caller's version: everything checked
                // against it is checked again, for the caller authenticated now (which the
                // write does not confirm again, so this happens once).
                Err(RegisterError::Stale) => {
                    who = Cow::Owned(who.authenticated_again(state).await.map_err(RegisterError::Api)?);
                    checked = check_new(state, &who, input).await.map_err(RegisterError::Api)?;
                }
                other => return other,
            }
        }
    };
    match registered.await {
        Ok(dto) => Ok(Created::New(Box::new(dto))),
        Err(e) => {
            if bundle.is_some() {
                if let Err(del) = state.blobs.delete(&id).await {
                    tracing::error!(error = ?del, bundle = %id, "could not remove the bundle of a failed create");
                }
            }
            // Two retries with the same key raced: the loser answers like a retry.
            if let (RegisterError::Db(db), Some(key)) = (&e, &idempotency_key) {
                if is_unique_violation(db) {
                    // The winner may be in a group not committed yet: let it land first.
                    cassetto_storage::settle(&state.db).await;
                    if let Some(row) = store::idempotency_get(&state.db, caller.user.id, key).await? {
                        return replay_or_conflict(row, &hash).await;
                    }
                }
            }
            Err(match e {
                RegisterError::Db(db) => db.into(),
                RegisterError::Api(api) => api,
                RegisterError::Stale => ApiError::Internal(anyhow::anyhow!("registry changed during a confirmed send")),
            })
        }
    }
}

enum RegisterError {
    Db(cassetto_storage::DbErr),
    Api(ApiError),
    /// The caller was unconfirmed and the registry's version read by the write is not the one
    /// it was checked against: nothing was written.
    Stale,
}

impl From<cassetto_storage::DbErr> for RegisterError {
    fn from(e: cassetto_storage::DbErr) -> Self {
        RegisterError::Db(e)
    }
}

async fn register(
    state: &AppState,
    caller: &Caller,
    id: &str,
    c: Checked,
    bundle: Option<&TempBundle>,
    idempotency_key: Option<&str>,
    hash: &str,
) -> Result<dto::Request, RegisterError> {
    let at = now();
    let day = italian_date(at);
    let sede_code = SedeCode::parse(&c.sede.code).map_err(|e| RegisterError::Api(ApiError::Internal(e.into())))?;
    // Everything that only reads happens before the write transaction, which on SQLite holds
    // the database's single write turn: who will be notified, here; the answer, from the rows
    // as written.
    let event = cassetto_notifications::Event::Registered;
    // Two independent reads (when not cached): on a pool they run at once.
    let (holders, hooks) = tokio::join!(
        state.registry.holders(&state.db, c.registry_version, &c.matricola),
        state.registry.hooks(&state.db, c.registry_version, &c.matricola, event.as_str())
    );
    let audience = cassetto_notifications::enqueue::audience_of(
        event,
        holders?,
        hooks?,
        Some(&caller.user),
        c.azienda_email.clone(),
    );
    let files: Vec<store::NewAttachment> = bundle
        .map(|b| {
            b.files
                .iter()
                .map(|f| store::NewAttachment {
                    name: f.name.clone(),
                    size: f.size,
                    content_type: f.content_type.clone(),
                    sha256: f.sha256.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let new = NewRow {
        id: id.to_owned(),
        at,
        day,
        sede_code,
        caller: caller.clone(),
        checked: c,
        files,
        bundle_sha256: bundle.map(|b| b.sha256.clone()),
        bundle_size: bundle.map(|b| b.size),
        audience,
        idempotency: idempotency_key.map(|k| (k.to_owned(), hash.to_owned())),
    };
    let db = state.db.clone();
    let created = cassetto_storage::on_writer(&state.db, async move { write_new(&db, new).await }).await??;
    state.wake.notify_one();
    Ok(created)
}

/// What [`write_new`] writes: a checked request, owned, to be written on the writer thread.
struct NewRow {
    id: String,
    at: DateTime<Utc>,
    day: chrono::NaiveDate,
    sede_code: SedeCode,
    caller: Caller,
    checked: Checked,
    files: Vec<store::NewAttachment>,
    bundle_sha256: Option<String>,
    bundle_size: Option<i64>,
    audience: cassetto_notifications::enqueue::Audience,
    /// The idempotency key and the fingerprint of the request.
    idempotency: Option<(String, String)>,
}

/// The write transaction of a new request: its protocol number, then the request, its
/// attachments and first history entry, the audit entry, the notifications and the
/// idempotency record in one batch.
async fn write_new(db: &cassetto_storage::DatabaseConnection, n: NewRow) -> Result<dto::Request, RegisterError> {
    let NewRow { id, at, day, sede_code, caller, checked: c, files, bundle_sha256, bundle_size, audience, idempotency } =
        n;
    let event = cassetto_notifications::Event::Registered;
    let txn = cassetto_storage::begin_write(db).await?;
    let numbered = store::next_protocol_number(&txn, sede_code.as_str(), chrono::Datelike::year(&day)).await?;
    if caller.unconfirmed && numbered.registry_version != c.registry_version {
        txn.rollback().await?;
        return Err(RegisterError::Stale);
    }
    let progressive = numbered.progressive;
    let protocollo = Protocollo::new(sede_code, day, progressive as u64).to_string();
    let stored_subject = c.subject.clone();
    let row = request::Model {
        id: id.clone(),
        protocollo: protocollo.clone(),
        sede_code: c.sede.code.clone(),
        matricola: c.matricola.clone(),
        ambito_code: c.ambito.clone(),
        subject_search: c.subject.to_lowercase(),
        subject: c.subject,
        body: c.body,
        details: Value::Object(c.details).to_string(),
        status: Status::Aperta.as_str().to_owned(),
        esito_code: None,
        esito_text: None,
        created_by: caller.user.id,
        assigned_to: None,
        version: 1,
        attachment_count: files.len() as i32,
        bundle_sha256,
        bundle_size,
        created_at: at,
        updated_at: at,
        taken_at: None,
        closed_at: None,
    };
    let first = request_history::Model {
        id: 0,
        request_id: id.clone(),
        from_status: None,
        to_status: Status::Aperta.as_str().to_owned(),
        from_sede: None,
        to_sede: Some(c.sede.code.clone()),
        at,
        actor_user_id: Some(caller.user.id),
        actor_role: caller.role.as_str().to_owned(),
        actor_display_name: caller.user.display_name.clone(),
        comment: Some(format!("Richiesta protocollata {protocollo} e smistata alla sede di {}", c.sede.name)),
    };
    // The answer, from the rows as written (what a read after commit would return).
    let attachments = files
        .iter()
        .enumerate()
        .map(|(i, f)| cassetto_storage::entities::attachment::Model {
            id: 0,
            request_id: id.clone(),
            position: i as i32,
            name: f.name.clone(),
            size: f.size,
            content_type: f.content_type.clone(),
            sha256: f.sha256.clone(),
        })
        .collect::<Vec<_>>();
    let created = request_dto(row.clone(), c.sede.name.clone(), attachments, vec![first.clone()], vec![])
        .map_err(RegisterError::Api)?;
    // Every insert after the protocol number in one round trip (see `cassetto_storage::Batch`).
    let mut batch = cassetto_storage::Batch::new(txn.get_database_backend());
    store::insert_into(&mut batch, row, files, first);
    audit::record_into(
        &mut batch,
        &caller.actor(),
        "request.create",
        "request",
        &id,
        serde_json::json!({"protocollo": protocollo, "matricola": c.matricola, "sede": c.sede.code, "api_client": caller.client_id}),
    );
    let notice = cassetto_notifications::Notice {
        event,
        version: 1,
        protocollo,
        matricola: c.matricola,
        subject: stored_subject,
        status_label: Status::Aperta.label().to_owned(),
        status_code: Status::Aperta.as_str().to_owned(),
        sede_code: c.sede.code,
        sede_name: c.sede.name,
        previous_sede_name: None,
        comment: None,
        esito_code: None,
        esito_label: None,
        esito_text: None,
        sender_user_id: caller.user.id,
        request_id: id.clone(),
    };
    cassetto_notifications::enqueue::enqueue_into(&mut batch, &notice, audience, at);
    // With an idempotency key the answer is stored with the request, in its transaction.
    if let Some((key, hash)) = idempotency {
        store::idempotency_put_into(
            &mut batch,
            idempotency_key::Model {
                user_id: caller.user.id,
                key,
                request_hash: hash,
                response_status: Some(201),
                response_body: Some(serde_json::to_string(&created).unwrap_or_default()),
                request_id: Some(id),
                created_at: at,
            },
        );
    }
    txn.run_and_commit(batch).await?;
    Ok(created)
}

/// The request `id` if the caller may see it from the users' side; 404 otherwise (never reveal
/// that another company's request exists).
pub async fn visible_to_sender(state: &AppState, caller: &Caller, id: &str) -> ApiResult<request::Model> {
    if !caller.role.is_sender() {
        return Err(ApiError::Forbidden("questa funzione è riservata ad aziende e intermediari".into()));
    }
    let r = store::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    if caller.may_act_for(&state.db, &r.matricola).await? {
        Ok(r)
    } else {
        Err(ApiError::not_found())
    }
}

pub fn esito_of(r: &request::Model) -> Option<dto::Esito> {
    let code = EsitoCode::parse(r.esito_code.as_deref()?).ok()?;
    Some(dto::Esito { code, text: r.esito_text.clone().unwrap_or_default() })
}

fn status_of(s: &str) -> ApiResult<Status> {
    Status::parse(s).map_err(|e| ApiError::Internal(anyhow::anyhow!("stored status: {e}")))
}

pub fn history_dto(h: request_history::Model) -> ApiResult<dto::HistoryEntry> {
    Ok(dto::HistoryEntry {
        from_status: h.from_status.as_deref().map(status_of).transpose()?,
        to_status: status_of(&h.to_status)?,
        from_sede: h.from_sede,
        to_sede: if h.from_status.is_none() { None } else { h.to_sede },
        at: h.at,
        actor: dto::ActorRef { role: h.actor_role, display_name: h.actor_display_name },
        comment: h.comment,
    })
}

pub fn comment_dto(c: comment::Model) -> dto::Comment {
    dto::Comment {
        id: c.id,
        body: c.body,
        created_at: c.created_at,
        author: dto::ActorRef { role: c.author_role, display_name: c.author_display_name },
        internal: c.internal,
    }
}

/// The full view of a request; internal comments only when `internal`.
pub async fn detail(db: &impl ConnectionTrait, id: &str, internal: bool) -> ApiResult<dto::Request> {
    let r = store::get(db, id).await?.ok_or_else(ApiError::not_found)?;
    detail_of(db, r, internal).await
}

/// The full view of a request already read. Its sede, attachments, history and comments are
/// independent reads: on a pool they run at once, each on a connection of its own (as the
/// sequence did, each sees the database as it is when it runs).
pub async fn detail_of(db: &impl ConnectionTrait, r: request::Model, internal: bool) -> ApiResult<dto::Request> {
    let (sede, attachments, history, comments) = tokio::try_join!(
        registry::get_sede(db, &r.sede_code),
        store::attachments_of(db, &r.id),
        store::history_of(db, &r.id),
        store::comments_of(db, &r.id, internal),
    )?;
    request_dto(r, sede.map(|s| s.name).unwrap_or_default(), attachments, history, comments)
}

/// A request's full view from its rows.
fn request_dto(
    r: request::Model,
    sede_name: String,
    attachments: Vec<cassetto_storage::entities::attachment::Model>,
    history: Vec<request_history::Model>,
    comments: Vec<comment::Model>,
) -> ApiResult<dto::Request> {
    Ok(dto::Request {
        esito: esito_of(&r),
        status: status_of(&r.status)?,
        sede: SedeRef { code: r.sede_code.clone(), name: sede_name },
        details: serde_json::from_str(&r.details).unwrap_or(Value::Object(Map::new())),
        bundle: r.bundle_sha256.clone().map(|sha256| dto::Bundle { size: r.bundle_size.unwrap_or(0), sha256 }),
        attachments: attachments
            .into_iter()
            .map(|a| dto::Attachment { name: a.name, size: a.size, content_type: a.content_type, sha256: a.sha256 })
            .collect(),
        history: history.into_iter().map(history_dto).collect::<ApiResult<_>>()?,
        comments: comments.into_iter().map(comment_dto).collect(),
        id: r.id,
        protocollo: r.protocollo,
        matricola: r.matricola,
        ambito: r.ambito_code,
        subject: r.subject,
        body: r.body,
        created_at: r.created_at,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
    })
}

/// The caller's registry version, read now for a caller built without one.
async fn registry_version(state: &AppState, caller: &Caller) -> ApiResult<i64> {
    Ok(match caller.registry_version {
        Some(v) => v,
        None => cassetto_storage::registry_cache::version(&state.db).await?,
    })
}

/// Every sede's name by code, for the archive's rows: from the registry cache, under the
/// caller's registry version.
pub async fn sede_names(state: &AppState, caller: &Caller) -> ApiResult<Arc<HashMap<String, String>>> {
    let version = registry_version(state, caller).await?;
    Ok(state.registry.sede_names(&state.db, version).await?)
}

/// How many matricole the caller holds, of the registry's: from the registry cache, under the
/// caller's registry version.
pub async fn holding(state: &AppState, caller: &Caller) -> ApiResult<store::Holding> {
    let version = registry_version(state, caller).await?;
    Ok(state.registry.holding(&state.db, version, caller.user.id).await?)
}

pub fn summary(r: request::Model, sedi: &HashMap<String, String>) -> ApiResult<dto::RequestSummary> {
    Ok(dto::RequestSummary {
        esito: esito_of(&r),
        status: status_of(&r.status)?,
        sede: SedeRef { name: sedi.get(&r.sede_code).cloned().unwrap_or_default(), code: r.sede_code },
        id: r.id,
        protocollo: r.protocollo,
        matricola: r.matricola,
        ambito: r.ambito_code,
        subject: r.subject,
        attachment_count: r.attachment_count,
        created_at: r.created_at,
        updated_at: r.updated_at,
        closed_at: r.closed_at,
    })
}

/// A follow-up or operator comment: refused once the request is closed; bumps the version.
pub async fn add_comment(
    state: &AppState,
    caller: &Caller,
    r: &request::Model,
    body: &str,
    internal: bool,
) -> ApiResult<dto::Comment> {
    if status_of(&r.status)?.is_closed() {
        return Err(ApiError::Conflict("la richiesta è chiusa: non si possono aggiungere commenti".into()));
    }
    let body = body.trim();
    if body.is_empty() {
        return Err(ApiError::field("body", "il commento non può essere vuoto"));
    }
    if !no_controls(body, true) {
        return Err(ApiError::field("body", "il commento non può contenere caratteri di controllo"));
    }
    let at = now();
    let txn = cassetto_storage::begin_write(&state.db).await?;
    if !store::touch(&txn, &r.id, r.version, at).await? {
        // Someone else changed it meanwhile: re-read and retry once against the fresh version.
        let fresh = store::get(&txn, &r.id).await?.ok_or_else(ApiError::not_found)?;
        if status_of(&fresh.status)?.is_closed() {
            return Err(ApiError::Conflict("la richiesta è chiusa: non si possono aggiungere commenti".into()));
        }
        if !store::touch(&txn, &r.id, fresh.version, at).await? {
            return Err(ApiError::Conflict("la richiesta è stata modificata nel frattempo: riprovare".into()));
        }
    }
    let saved = store::insert_comment(
        &txn,
        comment::Model {
            id: 0,
            request_id: r.id.clone(),
            body: body.to_owned(),
            internal,
            author_user_id: Some(caller.user.id),
            author_role: caller.role.as_str().to_owned(),
            author_display_name: caller.user.display_name.clone(),
            created_at: at,
        },
    )
    .await?;
    audit::record(
        &txn,
        &caller.actor(),
        if internal { "comment.internal" } else { "comment.public" },
        "request",
        &r.id,
        serde_json::json!({"comment_id": saved.id}),
    )
    .await?;
    let notifies = !internal && caller.role.is_back_office();
    if notifies {
        crate::notify::event(&txn, cassetto_notifications::Event::Commented, &r.id, Some(body.to_owned()), None)
            .await?;
    }
    txn.commit().await?;
    if notifies {
        state.wake.notify_one();
    }
    Ok(comment_dto(saved))
}
