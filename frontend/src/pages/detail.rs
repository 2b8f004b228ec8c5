//! A request's detail: the status timeline with the operators' comments, the esito, the public
//! comments and the follow-up form, the attachments, the notification log.

use cassetto_dto::requests::{Comment, HistoryEntry, NewComment, NotificationLog, Request};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{api, pages::require_session, ui};

pub fn timeline(history: Vec<HistoryEntry>) -> impl IntoView {
    view! {
        <ol class="list-unstyled border-start border-primary ps-3" data-testid="cronologia">
            {history.into_iter().map(|h| {
                let what = match (&h.from_status, &h.from_sede, &h.to_sede) {
                    (_, Some(from), Some(to)) => format!("Trasferita dalla sede {from} alla sede {to}"),
                    (None, _, _) => "Richiesta protocollata e smistata alla sede".to_owned(),
                    (Some(_), _, _) => format!("Stato: {}", ui::status_label(h.to_status)),
                };
                view! {
                    <li class="mb-3">
                        <div class="fw-semibold">{what}</div>
                        <div class="small text-muted">{ui::when(&h.at)} " · " {h.actor.display_name.clone()}</div>
                        {h.comment.clone().map(|c| view! { <p class="mb-0" style="white-space: pre-wrap">{c}</p> })}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

pub fn comment_list(comments: Vec<Comment>) -> impl IntoView {
    if comments.is_empty() {
        return view! { <p class="text-muted">"Nessun commento."</p> }.into_any();
    }
    view! {
        <ul class="list-unstyled" data-testid="commenti">
            {comments.into_iter().map(|c| view! {
                <li class="card card-bg mb-2"><div class="card-body p-3">
                    <div class="small text-muted">
                        {ui::when(&c.created_at)} " · " {c.author.display_name.clone()}
                        {c.internal.then(|| view! { " " <span class="badge bg-secondary">"interno"</span> })}
                    </div>
                    <p class="mb-0" style="white-space: pre-wrap">{c.body.clone()}</p>
                </div></li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

pub fn details_list(r: &Request) -> impl IntoView {
    let rows: Vec<(String, String)> = r
        .details
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))).collect())
        .unwrap_or_default();
    view! {
        <dl class="row">
            <dt class="col-sm-3">"Matricola"</dt><dd class="col-sm-9">{r.matricola.clone()}</dd>
            <dt class="col-sm-3">"Ambito"</dt><dd class="col-sm-9">{r.ambito.clone()}</dd>
            <dt class="col-sm-3">"Sede"</dt><dd class="col-sm-9" data-testid="sede">{format!("{} ({})", r.sede.name, r.sede.code)}</dd>
            <dt class="col-sm-3">"Aperta il"</dt><dd class="col-sm-9">{ui::when(&r.created_at)}</dd>
            <dt class="col-sm-3">"Ultimo aggiornamento"</dt><dd class="col-sm-9">{ui::when(&r.updated_at)}</dd>
            {rows.into_iter().map(|(k, v)| view! { <dt class="col-sm-3">{k}</dt><dd class="col-sm-9">{v}</dd> }).collect_view()}
        </dl>
    }
}

pub fn attachments(r: &Request, download_path: String) -> impl IntoView {
    if r.attachments.is_empty() {
        return view! { <p class="text-muted">"Nessun allegato."</p> }.into_any();
    }
    let name = format!("richiesta-{}.zip", r.protocollo.replace(['/', '.'], "-"));
    let error = RwSignal::new(None::<String>);
    let download = move |_| {
        let (path, name) = (download_path.clone(), name.clone());
        leptos::task::spawn_local(async move {
            if let Err(e) = api::download(&path, &name).await {
                error.set(Some(e.detail));
            }
        });
    };
    view! {
        <ul data-testid="allegati">
            {r.attachments.iter().map(|a| view! { <li>{a.name.clone()} <span class="text-muted small">{format!(" ({} byte)", a.size)}</span></li> }).collect_view()}
        </ul>
        <button class="btn btn-outline-primary btn-sm" on:click=download>"Scarica gli allegati (zip)"</button>
        {move || error.get().map(ui::error_alert)}
    }
    .into_any()
}

#[component]
pub fn Detail() -> impl IntoView {
    let _ = require_session();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let request = RwSignal::new(None::<Result<Request, api::ApiError>>);
    let log = RwSignal::new(Vec::<NotificationLog>::new());
    let reload = move || {
        let id = id();
        leptos::task::spawn_local(async move {
            request.set(Some(api::get::<Request>(&format!("/api/v1/requests/{}", api::enc(&id))).await));
            if let Ok(l) = api::get::<Vec<NotificationLog>>(&format!("/api/v1/requests/{}/notifications", api::enc(&id))).await {
                log.set(l);
            }
        });
    };
    Effect::new(move |_| reload());
    let comment = RwSignal::new(String::new());
    let comment_error = RwSignal::new(None::<String>);
    let send_comment = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = id();
        let body = comment.get_untracked();
        leptos::task::spawn_local(async move {
            match api::post::<_, Comment>(&format!("/api/v1/requests/{}/comments", api::enc(&id)), &NewComment { body }).await {
                Ok(_) => {
                    comment.set(String::new());
                    comment_error.set(None);
                    reload();
                }
                Err(e) => comment_error.set(Some(e.detail)),
            }
        });
    };
    view! {
        {move || match request.get() {
            None => ui::loading().into_any(),
            Some(Err(e)) => ui::error_alert(e.detail).into_any(),
            Some(Ok(r)) => {
                let closed = r.status == cassetto_dto::Status::Chiusa;
                view! {
                    <p><a href="/richieste">"← Torna all'archivio"</a></p>
                    <h1 class="h3">{r.subject.clone()}</h1>
                    <p class="lead">"Protocollo " <strong data-testid="protocollo">{r.protocollo.clone()}</strong> " " {ui::status_badge(r.status)}</p>
                    {r.esito.as_ref().map(ui::esito_view)}
                    <div class="row">
                        <div class="col-12 col-lg-7">
                            <h2 class="h5">"Dati della richiesta"</h2>
                            {details_list(&r)}
                            <h2 class="h5">"Testo"</h2>
                            <p style="white-space: pre-wrap">{r.body.clone()}</p>
                            <h2 class="h5">"Allegati"</h2>
                            {attachments(&r, format!("/api/v1/requests/{}/attachments.zip", r.id))}
                            <h2 class="h5 mt-4">"Commenti"</h2>
                            {comment_list(r.comments.clone())}
                            {(!closed).then(|| view! {
                                <form on:submit=send_comment class="mt-3">
                                    <div class="form-group">
                                        <label for="commento" class="active">"Aggiungi un'integrazione"</label>
                                        <textarea id="commento" class="form-control" rows="3"
                                            prop:value=comment on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                                    </div>
                                    {move || comment_error.get().map(ui::error_alert)}
                                    <button class="btn btn-primary btn-sm" type="submit">"Invia il commento"</button>
                                </form>
                            })}
                        </div>
                        <div class="col-12 col-lg-5">
                            <h2 class="h5">"Cronologia"</h2>
                            {timeline(r.history.clone())}
                            <h2 class="h5 mt-4">"Notifiche inviate"</h2>
                            {move || {
                                let rows = log.get();
                                if rows.is_empty() {
                                    view! { <p class="text-muted">"Nessuna notifica."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="table table-sm" data-testid="notifiche">
                                            <thead><tr><th scope="col">"Evento"</th><th scope="col">"Canale"</th><th scope="col">"Destinatario"</th><th scope="col">"Stato"</th></tr></thead>
                                            <tbody>{rows.into_iter().map(|n| view! {
                                                <tr><td>{n.event}</td><td>{n.channel}</td><td>{n.recipient}</td><td>{n.status}</td></tr>
                                            }).collect_view()}</tbody>
                                        </table>
                                    }.into_any()
                                }
                            }}
                        </div>
                    </div>
                }.into_any()
            }
        }}
    }
}
