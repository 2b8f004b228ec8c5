//! The operators' desk: the sede's queue with filters, and a quesito with its actions (take
//! charge, release, comment public or internal, close with esito, reroute). A conflict (412)
//! is explained and resolved by reloading.

use cassetto_dto::{
    backoffice::{EsitoInput, QuesitoComment, RerouteRequest, TransitionRequest},
    registry::Sede,
    requests::{Comment, NotificationLog, Quesito, RequestPage},
    EsitoCode, Status,
};
use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_params_map, use_query_map},
};

use crate::pages::archive::query_string;
use crate::pages::detail::{attachments, comment_list, details_list, timeline};
use crate::{api, pages::require_session, ui};

#[component]
pub fn Desk() -> impl IntoView {
    let _ = require_session();
    let query = use_query_map();
    let navigate = use_navigate();
    let status = RwSignal::new(query.get_untracked().get("status").unwrap_or_default());
    let assigned = RwSignal::new(query.get_untracked().get("assigned").unwrap_or_default());
    let subject = RwSignal::new(query.get_untracked().get("subject").unwrap_or_default());
    let protocollo = RwSignal::new(query.get_untracked().get("protocollo").unwrap_or_default());
    let page = RwSignal::new(None::<Result<RequestPage, api::ApiError>>);
    Effect::new(move |_| {
        let q = query.get().to_query_string();
        page.set(None);
        leptos::task::spawn_local(async move {
            let url = format!("/api/v1/quesiti{}", if q == "?" { String::new() } else { q });
            page.set(Some(api::get::<RequestPage>(&url).await));
        });
    });
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let qs = query_string(&[
            ("status".into(), status.get_untracked()),
            ("assigned".into(), assigned.get_untracked()),
            ("subject".into(), subject.get_untracked()),
            ("protocollo".into(), protocollo.get_untracked()),
        ]);
        navigate(&if qs.is_empty() { "/sportello".to_owned() } else { format!("/sportello?{qs}") }, Default::default());
    };
    view! {
        <h1 class="h2 mb-3">"Quesiti della sede"</h1>
        <form class="row align-items-end mb-3" on:submit=search aria-label="Filtri dei quesiti">
            <div class="col-12 col-md-3 form-group">
                <label for="q-status" class="active">"Stato"</label>
                <select id="q-status" class="form-select" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="" selected=move || status.get().is_empty()>"Tutti"</option>
                    {Status::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=move || status.get() == s.as_str()>{ui::status_label(s)}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="col-12 col-md-3 form-group">
                <label for="q-assigned" class="active">"Assegnazione"</label>
                <select id="q-assigned" class="form-select" on:change=move |ev| assigned.set(event_target_value(&ev))>
                    {[("", "Tutti"), ("me", "In carico a me"), ("none", "Non assegnati")].into_iter().map(|(v, l)| view! {
                        <option value=v selected=move || assigned.get() == v>{l}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="col-12 col-md-2 form-group">
                <label for="q-subject" class="active">"Oggetto"</label>
                <input id="q-subject" class="form-control" type="text" prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev))/>
            </div>
            <div class="col-12 col-md-2 form-group">
                <label for="q-protocollo" class="active">"Protocollo"</label>
                <input id="q-protocollo" class="form-control" type="text" prop:value=protocollo on:input=move |ev| protocollo.set(event_target_value(&ev))/>
            </div>
            <div class="col-12 col-md-2 mb-3"><button class="btn btn-primary" type="submit">"Filtra"</button></div>
        </form>
        {move || match page.get() {
            None => ui::loading().into_any(),
            Some(Err(e)) => ui::error_alert(e.detail).into_any(),
            Some(Ok(p)) if p.items.is_empty() => view! { <div class="alert alert-info" role="status">"Nessun quesito da mostrare."</div> }.into_any(),
            Some(Ok(p)) => view! {
                <p data-testid="totale">{if p.total_exact { format!("{} quesiti", p.total) } else { format!("Più di {} quesiti", ui::thousands(p.total)) }}</p>
                <table class="table table-hover" data-testid="coda">
                    <caption class="visually-hidden">"Coda dei quesiti"</caption>
                    <thead><tr><th scope="col">"Protocollo"</th><th scope="col">"Matricola"</th><th scope="col">"Oggetto"</th><th scope="col">"Stato"</th><th scope="col">"Sede"</th><th scope="col">"Aperto"</th></tr></thead>
                    <tbody>{p.items.into_iter().map(|r| view! {
                        <tr>
                            <td><A href=format!("/sportello/{}", r.id)>{r.protocollo.clone()}</A></td>
                            <td>{r.matricola.clone()}</td><td>{r.subject.clone()}</td>
                            <td>{ui::status_badge(r.status)}</td><td>{r.sede.name.clone()}</td><td>{ui::when(&r.created_at)}</td>
                        </tr>
                    }).collect_view()}</tbody>
                </table>
            }.into_any(),
        }}
    }
}

#[component]
pub fn QuesitoPage() -> impl IntoView {
    let _ = require_session();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let quesito = RwSignal::new(None::<Result<Quesito, api::ApiError>>);
    let etag = RwSignal::new(None::<String>);
    let log = RwSignal::new(Vec::<NotificationLog>::new());
    let sedi = RwSignal::new(Vec::<Sede>::new());
    let message = RwSignal::new(None::<(bool, String)>);
    let conflict = RwSignal::new(false);
    let reload = move || {
        let id = id();
        conflict.set(false);
        leptos::task::spawn_local(async move {
            match api::get_tagged::<Quesito>(&format!("/api/v1/quesiti/{}", api::enc(&id))).await {
                Ok((q, tag)) => {
                    etag.set(tag);
                    quesito.set(Some(Ok(q)));
                }
                Err(e) => quesito.set(Some(Err(e))),
            }
            if let Ok(l) = api::get::<Vec<NotificationLog>>(&format!("/api/v1/quesiti/{}/notifications", api::enc(&id))).await {
                log.set(l);
            }
        });
    };
    Effect::new(move |_| reload());
    leptos::task::spawn_local(async move {
        if let Ok(s) = api::get::<Vec<Sede>>("/api/v1/admin/sedi").await {
            sedi.set(s.into_iter().filter(|s| s.pilot).collect());
        }
    });

    let outcome = move |r: Result<(Quesito, Option<String>), api::ApiError>, ok: &str| match r {
        Ok((q, tag)) => {
            etag.set(tag);
            quesito.set(Some(Ok(q)));
            message.set(Some((true, ok.to_owned())));
            reload();
        }
        Err(e) if e.status == 412 => {
            conflict.set(true);
            message.set(None);
        }
        Err(e) => message.set(Some((false, e.detail))),
    };
    let transition = move |to: Status, comment: Option<String>, esito: Option<EsitoInput>, ok: &'static str| {
        let id = id();
        let tag = etag.get_untracked();
        leptos::task::spawn_local(async move {
            let body = TransitionRequest { to, comment, esito };
            let r = api::post_if_match::<_, Quesito>(&format!("/api/v1/quesiti/{}/transitions", api::enc(&id)), &body, tag.as_deref()).await;
            outcome(r, ok);
        });
    };

    let comment = RwSignal::new(String::new());
    let internal = RwSignal::new(false);
    let esito_code = RwSignal::new("evasa".to_owned());
    let esito_text = RwSignal::new(String::new());
    let target = RwSignal::new(String::new());
    let reroute_reason = RwSignal::new(String::new());

    let send_comment = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = id();
        let body = QuesitoComment { body: comment.get_untracked(), internal: internal.get_untracked() };
        leptos::task::spawn_local(async move {
            match api::post::<_, Comment>(&format!("/api/v1/quesiti/{}/comments", api::enc(&id)), &body).await {
                Ok(_) => {
                    comment.set(String::new());
                    message.set(Some((true, "Commento aggiunto.".into())));
                    reload();
                }
                Err(e) => message.set(Some((false, e.detail))),
            }
        });
    };
    let close = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = match esito_code.get_untracked().as_str() {
            "accolta" => EsitoCode::Accolta,
            "respinta" => EsitoCode::Respinta,
            "non_di_competenza" => EsitoCode::NonDiCompetenza,
            _ => EsitoCode::Evasa,
        };
        transition(Status::Chiusa, None, Some(EsitoInput { code, text: esito_text.get_untracked() }), "Quesito chiuso.");
    };
    let reroute = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = id();
        let tag = etag.get_untracked();
        let body = RerouteRequest { sede: target.get_untracked(), comment: reroute_reason.get_untracked() };
        leptos::task::spawn_local(async move {
            let r = api::post_if_match::<_, Quesito>(&format!("/api/v1/quesiti/{}/reroute", api::enc(&id)), &body, tag.as_deref()).await;
            outcome(r, "Quesito smistato.");
        });
    };

    view! {
        <p><a href="/sportello">"← Torna alla coda"</a></p>
        {move || conflict.get().then(|| view! {
            <div class="alert alert-warning" role="alert" data-testid="conflitto">
                "Il quesito è stato modificato da un altro operatore mentre lo consultavi: la tua modifica non è stata applicata. "
                <button class="btn btn-sm btn-warning ms-2" on:click=move |_| reload()>"Ricarica il quesito"</button>
            </div>
        })}
        {move || message.get().map(|(ok, m)| view! {
            <div class=if ok { "alert alert-success" } else { "alert alert-danger" } role="status" data-testid="esito-azione">{m}</div>
        })}
        {move || match quesito.get() {
            None => ui::loading().into_any(),
            Some(Err(e)) => ui::error_alert(e.detail).into_any(),
            Some(Ok(q)) => {
                let r = q.request.clone();
                let status = r.status;
                view! {
                    <h1 class="h3">{r.subject.clone()}</h1>
                    <p class="lead">"Protocollo " <strong>{r.protocollo.clone()}</strong> " " {ui::status_badge(status)}
                        {q.assigned_to.clone().map(|a| view! { <span class="ms-2 small">"in carico a " {a}</span> })}</p>
                    <p class="small text-muted">"Inviata da " {q.sent_by.display_name.clone()} " (" {q.sent_by.role.clone()} ") · versione " {q.version}</p>
                    {r.esito.as_ref().map(ui::esito_view)}
                    <div class="row">
                        <div class="col-12 col-lg-7">
                            {details_list(&r)}
                            <h2 class="h5">"Testo"</h2>
                            <p style="white-space: pre-wrap">{r.body.clone()}</p>
                            <h2 class="h5">"Allegati"</h2>
                            {attachments(&r, format!("/api/v1/quesiti/{}/attachments.zip", r.id))}
                            <h2 class="h5 mt-4">"Commenti"</h2>
                            {comment_list(r.comments.clone())}
                        </div>
                        <div class="col-12 col-lg-5">
                            {(status != Status::Chiusa).then(|| view! {
                                <section class="card card-bg mb-4" aria-labelledby="azioni"><div class="card-body">
                                    <h2 id="azioni" class="h5">"Lavorazione"</h2>
                                    <div class="d-flex gap-2 mb-3">
                                        {(status == Status::Aperta).then(|| view! {
                                            <button class="btn btn-primary btn-sm" on:click=move |_| transition(Status::InCarico, None, None, "Quesito preso in carico.")>"Prendi in carico"</button>
                                        })}
                                        {(status == Status::InCarico).then(|| view! {
                                            <button class="btn btn-outline-primary btn-sm" on:click=move |_| transition(Status::Aperta, None, None, "Quesito rilasciato.")>"Rilascia"</button>
                                        })}
                                    </div>
                                    <form on:submit=send_comment class="mb-3">
                                        <label for="q-commento" class="active">"Commento"</label>
                                        <textarea id="q-commento" class="form-control" rows="3" prop:value=comment on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                                        <div class="form-check mt-2">
                                            <input id="q-interno" type="checkbox" prop:checked=internal on:change=move |ev| internal.set(event_target_checked(&ev))/>
                                            <label for="q-interno">"Commento interno (non visibile all'azienda)"</label>
                                        </div>
                                        <button class="btn btn-outline-primary btn-sm mt-2" type="submit">"Aggiungi il commento"</button>
                                    </form>
                                    <form on:submit=close class="mb-3">
                                        <h3 class="h6">"Chiusura con esito"</h3>
                                        <label for="q-esito" class="active">"Esito"</label>
                                        <select id="q-esito" class="form-select" on:change=move |ev| esito_code.set(event_target_value(&ev))>
                                            {EsitoCode::ALL.into_iter().map(|e| view! { <option value=e.as_str()>{ui::esito_label(e)}</option> }).collect_view()}
                                        </select>
                                        <label for="q-esito-testo" class="active mt-2">"Motivazione per l'azienda"</label>
                                        <textarea id="q-esito-testo" class="form-control" rows="3" prop:value=esito_text on:input=move |ev| esito_text.set(event_target_value(&ev))></textarea>
                                        <button class="btn btn-success btn-sm mt-2" type="submit">"Chiudi il quesito"</button>
                                    </form>
                                    <form on:submit=reroute>
                                        <h3 class="h6">"Smistamento ad altra sede"</h3>
                                        <label for="q-sede" class="active">"Sede"</label>
                                        <select id="q-sede" class="form-select" on:change=move |ev| target.set(event_target_value(&ev))>
                                            <option value="">"Scegli la sede"</option>
                                            {move || sedi.get().into_iter().map(|s| view! { <option value=s.code.clone()>{format!("{} ({})", s.name, s.code)}</option> }).collect_view()}
                                        </select>
                                        <label for="q-motivo" class="active mt-2">"Motivo"</label>
                                        <input id="q-motivo" class="form-control" type="text" prop:value=reroute_reason on:input=move |ev| reroute_reason.set(event_target_value(&ev))/>
                                        <button class="btn btn-outline-primary btn-sm mt-2" type="submit">"Smista"</button>
                                    </form>
                                </div></section>
                            })}
                            <h2 class="h5">"Cronologia"</h2>
                            {timeline(r.history.clone())}
                            <h2 class="h5 mt-4">"Notifiche"</h2>
                            <ul class="small">{move || log.get().into_iter().map(|n| view! {
                                <li>{format!("{} · {} · {} · {}", n.event, n.channel, n.recipient, n.status)}</li>
                            }).collect_view()}</ul>
                        </div>
                    </div>
                }.into_any()
            }
        }}
    }
}
