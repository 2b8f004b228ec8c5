//! The back office: who may see and work which quesiti, status changes, rerouting.
//!
//! Reading: an operatore sees its sede's quesiti, supervisore and admin every sede. Working
//! (transitions, comments, rerouting): the operatori of the quesito's sede and admin; the
//! supervisore monitors. A quesito in charge is changed only by its assignee (or admin).

use cassetto_domain::{EsitoCode, Role, SedeCode, Status};
use cassetto_dto::{
    backoffice::{RerouteRequest, TransitionRequest},
    requests::{ActorRef, Quesito},
};
use cassetto_storage::{
    audit,
    entities::{request, request_history},
    registry,
    requests::{self as store, Change, Scope},
};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::requests::{detail_of, now};
use crate::state::AppState;

/// The quesiti the caller may read.
pub fn scope(caller: &Caller) -> ApiResult<Scope> {
    match caller.role {
        Role::Admin | Role::Supervisore => Ok(Scope::All),
        Role::Operatore => caller
            .user
            .sede_code
            .clone()
            .map(Scope::Sede)
            .ok_or_else(|| ApiError::Forbidden("l'operatore non è assegnato a una sede".into())),
        Role::Azienda | Role::Intermediario => {
            Err(ApiError::Forbidden("il back-office è riservato agli operatori INPS: usare /requests".into()))
        }
    }
}

/// The quesito `id` if the caller may read it; 404 otherwise.
pub async fn visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<request::Model> {
    let scope = scope(caller)?;
    let r = store::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    match scope {
        Scope::Sede(s) if s != r.sede_code => Err(ApiError::not_found()),
        _ => Ok(r),
    }
}

fn require_worker(caller: &Caller) -> ApiResult<()> {
    match caller.role {
        Role::Operatore | Role::Admin => Ok(()),
        _ => Err(ApiError::Forbidden("il supervisore consulta i quesiti ma non li lavora".into())),
    }
}

/// Parses `If-Match` (`"7"`, `W/"7"`, `7` or `*`) against the current version.
pub fn check_if_match(header: Option<&str>, version: i32) -> ApiResult<()> {
    let Some(h) = header.map(str::trim) else { return Ok(()) };
    if h == "*" {
        return Ok(());
    }
    let matches = h.split(',').any(|tag| {
        let tag = tag.trim().trim_start_matches("W/").trim_matches('"');
        tag.parse::<i32>().ok() == Some(version)
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(format!(
            "il quesito è stato modificato da un altro utente (versione attuale {version}): ricaricarlo e riprovare"
        )))
    }
}

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

fn status_of(r: &request::Model) -> ApiResult<Status> {
    Status::parse(&r.status).map_err(|e| ApiError::Internal(anyhow::anyhow!("stored status: {e}")))
}

/// The back-office view: the request with internal comments, assignment and version.
pub async fn quesito(state: &AppState, id: &str) -> ApiResult<Quesito> {
    let row = store::get(&state.db, id).await?.ok_or_else(ApiError::not_found)?;
    let (version, assignee_id, sender_id) = (row.version, row.assigned_to, row.created_by);
    // The view, the assignee and the sender: independent reads, at once.
    let assignee = async {
        Ok::<_, ApiError>(match assignee_id {
            Some(uid) => registry::user_by_id(&state.db, uid).await?,
            None => None,
        })
    };
    let sender = async { Ok::<_, ApiError>(registry::user_by_id(&state.db, sender_id).await?) };
    let (request, assignee, sender) = tokio::try_join!(detail_of(&state.db, row, true), assignee, sender)?;
    let assigned_to = assignee.map(|u| u.username);
    Ok(Quesito {
        request,
        assigned_to,
        version,
        sent_by: ActorRef {
            role: sender.as_ref().map(|u| u.role.clone()).unwrap_or_default(),
            display_name: sender.map(|u| u.display_name).unwrap_or_default(),
        },
    })
}

fn clean_comment(c: Option<&str>, errs: &mut FieldErrors, field: &str) -> Option<String> {
    let c = c.map(str::trim).filter(|c| !c.is_empty())?;
    if c.chars().any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) {
        errs.push(field, "non può contenere caratteri di controllo");
        return None;
    }
    Some(c.to_owned())
}

fn history(
    caller: &Caller,
    r: &request::Model,
    from: Status,
    to: Status,
    comment: Option<String>,
    at: chrono::DateTime<chrono::Utc>,
) -> request_history::Model {
    request_history::Model {
        id: 0,
        request_id: r.id.clone(),
        from_status: Some(from.as_str().to_owned()),
        to_status: to.as_str().to_owned(),
        from_sede: None,
        to_sede: None,
        at,
        actor_user_id: Some(caller.user.id),
        actor_role: caller.role.as_str().to_owned(),
        actor_display_name: caller.user.display_name.clone(),
        comment,
    }
}

/// The assignee (or admin) works a quesito in charge; others get a 403 naming the assignee.
async fn check_assignee(state: &AppState, caller: &Caller, r: &request::Model) -> ApiResult<()> {
    match r.assigned_to {
        Some(uid) if uid != caller.user.id && caller.role != Role::Admin => {
            let name = registry::user_by_id(&state.db, uid).await?.map(|u| u.display_name).unwrap_or_default();
            Err(ApiError::Forbidden(format!(
                "il quesito è in carico a {name}: solo chi lo ha in carico può modificarlo"
            )))
        }
        _ => Ok(()),
    }
}

/// A quesito the caller works on and sees, as read when that was checked
/// ([`authorize_change`]): what a change starts from.
pub struct ToChange(request::Model);

/// The quesito about to be changed, and its status: `If-Match` is current, and a quesito in
/// charge is changed only by its assignee. (A change made since it was read still fails, on
/// the version, when it is applied.)
async fn for_change(
    state: &AppState,
    caller: &Caller,
    ToChange(r): ToChange,
    if_match: Option<&str>,
) -> ApiResult<(request::Model, Status)> {
    check_if_match(if_match, r.version)?;
    let status = status_of(&r)?;
    if status == Status::InCarico {
        check_assignee(state, caller, &r).await?;
    }
    Ok((r, status))
}

/// Applies a change unless someone else changed the quesito since it was read (412).
async fn apply_or_stale(
    txn: &impl cassetto_storage::ConnectionTrait,
    r: &request::Model,
    change: Change,
    at: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    if store::apply_change(txn, &r.id, r.version, change, at).await? {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed(
            "il quesito è stato modificato da un altro utente nel frattempo: ricaricarlo e riprovare".into(),
        ))
    }
}

/// Applies a status change, with its history entry and audit record, in one transaction.
pub async fn transition(
    state: &AppState,
    caller: &Caller,
    changing: ToChange,
    input: TransitionRequest,
    if_match: Option<&str>,
) -> ApiResult<Quesito> {
    let (r, from) = for_change(state, caller, changing, if_match).await?;
    let to = from.transition(input.to).map_err(|e| ApiError::Conflict(e.to_string()))?;
    let mut errs = FieldErrors::default();
    errs.validate(&input);
    let comment = clean_comment(input.comment.as_deref(), &mut errs, "comment");
    let esito = match (&input.esito, to) {
        (Some(e), Status::Chiusa) => {
            let text = e.text.trim();
            if text.is_empty() && !errs.0.iter().any(|x| x.field == "esito.text") {
                errs.push("esito.text", "spiegare l'esito al richiedente");
            }
            Some((e.code, text.to_owned()))
        }
        (None, Status::Chiusa) => {
            errs.push("esito", "per chiudere il quesito indicare l'esito (codice e testo)");
            None
        }
        (Some(_), _) => {
            errs.push("esito", "l'esito si indica solo alla chiusura");
            None
        }
        (None, _) => None,
    };
    errs.into_result()?;
    let at = now();
    let change = match to {
        Status::InCarico => Change {
            status: Some(to.as_str().into()),
            assigned_to: Some(Some(caller.user.id)),
            taken_at: r.taken_at.is_none().then_some(at),
            ..Default::default()
        },
        Status::Aperta => Change { status: Some(to.as_str().into()), assigned_to: Some(None), ..Default::default() },
        Status::Chiusa => {
            let (code, text): (EsitoCode, String) =
                esito.clone().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("esito checked")))?;
            Change {
                status: Some(to.as_str().into()),
                assigned_to: r.assigned_to.is_none().then_some(Some(caller.user.id)),
                esito: Some((code.as_str().into(), text)),
                taken_at: r.taken_at.is_none().then_some(at),
                closed_at: Some(at),
                ..Default::default()
            }
        }
    };
    let txn = cassetto_storage::begin_write(&state.db).await?;
    apply_or_stale(&txn, &r, change, at).await?;
    store::add_history(&txn, history(caller, &r, from, to, comment.clone(), at)).await?;
    let event = match to {
        Status::InCarico => Some(cassetto_notifications::Event::TakenInCharge),
        Status::Chiusa => Some(cassetto_notifications::Event::Closed),
        Status::Aperta => None,
    };
    if let Some(e) = event {
        crate::notify::event(&txn, e, &r.id, comment, None).await?;
    }
    audit::record(
        &txn,
        &caller.actor(),
        "quesito.transition",
        "request",
        &r.id,
        serde_json::json!({"from": from.as_str(), "to": to.as_str(), "esito": esito.map(|e| e.0.as_str())}),
    )
    .await?;
    txn.commit().await?;
    if event.is_some() {
        state.wake.notify_one();
    }
    quesito(state, &r.id).await
}

/// Moves a quesito to another sede in pilot: it becomes `aperta` there, unassigned.
pub async fn reroute(
    state: &AppState,
    caller: &Caller,
    changing: ToChange,
    input: RerouteRequest,
    if_match: Option<&str>,
) -> ApiResult<Quesito> {
    let (r, from) = for_change(state, caller, changing, if_match).await?;
    if from.is_closed() {
        return Err(ApiError::Conflict("il quesito è chiuso: non può essere smistato".into()));
    }
    let mut errs = FieldErrors::default();
    errs.validate(&input);
    let comment = clean_comment(Some(&input.comment), &mut errs, "comment");
    let target = match SedeCode::parse(&input.sede) {
        Ok(code) if code.as_str() == r.sede_code => {
            errs.push("sede", "il quesito è già assegnato a questa sede");
            None
        }
        Ok(code) => match registry::get_sede(&state.db, code.as_str()).await? {
            Some(s) if s.pilot => Some(s),
            Some(s) => {
                errs.push(
                    "sede",
                    format!("la sede {} ({}) non è abilitata alla comunicazione bidirezionale", s.name, s.code),
                );
                None
            }
            None => {
                errs.push("sede", format!("la sede {code} non esiste"));
                None
            }
        },
        Err(e) => {
            errs.push("sede", e.to_string());
            None
        }
    };
    errs.into_result()?;
    let target = target.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("target checked")))?;
    let at = now();
    let txn = cassetto_storage::begin_write(&state.db).await?;
    let change = Change {
        status: Some(Status::Aperta.as_str().into()),
        assigned_to: Some(None),
        sede_code: Some(target.code.clone()),
        ..Default::default()
    };
    apply_or_stale(&txn, &r, change, at).await?;
    let mut entry = history(caller, &r, from, Status::Aperta, comment.clone(), at);
    entry.from_sede = Some(r.sede_code.clone());
    entry.to_sede = Some(target.code.clone());
    store::add_history(&txn, entry).await?;
    audit::record(
        &txn,
        &caller.actor(),
        "quesito.reroute",
        "request",
        &r.id,
        serde_json::json!({"from_sede": r.sede_code, "to_sede": target.code}),
    )
    .await?;
    crate::notify::event(&txn, cassetto_notifications::Event::Rerouted, &r.id, comment, Some(&r.sede_code)).await?;
    txn.commit().await?;
    state.wake.notify_one();
    quesito(state, &r.id).await
}

/// The caller works quesiti and sees this one (checked before reading the body of a change):
/// the quesito to change.
pub async fn authorize_change(state: &AppState, caller: &Caller, id: &str) -> ApiResult<ToChange> {
    require_worker(caller)?;
    visible(state, caller, id).await.map(ToChange)
}

/// Who may comment from the back office.
pub fn require_commenter(caller: &Caller) -> ApiResult<()> {
    require_worker(caller)
}
